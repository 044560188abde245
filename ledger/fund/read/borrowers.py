"""Borrowers as values: a keyset-paged list with filters, one borrower with their
commitments, loans, certificates and corrections, and the borrowers whose personal data
may be erased."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.clock import business_today
from ledger.fund.borrowers import get_borrower
from ledger.fund.corrections import CorrectionView, corrections_of
from ledger.fund.credentials import CredentialView, credentials_of
from ledger.fund.eligibility import Category
from ledger.fund.erasure import add_years, business_date, erasable_query
from ledger.fund.errors import ReferenceDataError
from ledger.fund.models import Borrower, Commitment, Loan
from ledger.fund.policy import rules_on
from ledger.fund.read.views import (
    BorrowerView,
    CommitmentView,
    LoanRow,
    borrower_view,
    commitment_view,
    loan_row,
    loan_rows,
)
from ledger.paging import Page, keyset_page, one_of

__all__ = [
    "BorrowerDetail",
    "BorrowerView",
    "ErasableRow",
    "borrower_detail",
    "borrowers_page",
    "erasable_page",
]

#: The categories a borrower declares, and so may be listed by.
DECLARED = tuple(c.value for c in Category)


def borrowers_page(
    session: Session,
    *,
    district: str | None = None,
    category: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[BorrowerView]:
    """Borrowers newest first (by registration), of a district, who declared a category."""
    one_of(category, DECLARED, "borrower category", "人员类别")
    stmt = select(Borrower)
    if district is not None:
        stmt = stmt.where(Borrower.district_code == district)
    if category is not None:
        # Stored comma-separated: match a whole item, never a part of another.
        stmt = stmt.where(("," + Borrower.categories + ",").contains(f",{category},"))
    return keyset_page(
        session,
        stmt,
        Borrower.id,
        before=before,
        limit=limit,
        values=lambda rows: map(borrower_view, rows),
        scalars=True,
    )


@dataclass(frozen=True)
class BorrowerDetail:
    """A borrower with their commitments and loans, oldest first."""

    borrower: BorrowerView
    commitments: tuple[CommitmentView, ...]
    loans: tuple[LoanRow, ...]
    #: Certificates the labour office issued them (再就业优惠证), oldest first.
    credentials: tuple[CredentialView, ...] = ()
    #: Corrections of their name and ID number, oldest first.
    corrections: tuple[CorrectionView, ...] = ()

    def masked(self) -> BorrowerDetail:
        """The borrower with names, ID numbers and certificate numbers masked."""
        return replace(
            self,
            borrower=self.borrower.masked(),
            loans=tuple(ln.masked() for ln in self.loans),
            credentials=tuple(c.masked() for c in self.credentials),
            corrections=tuple(c.masked() for c in self.corrections),
        )


def borrower_detail(session: Session, key: str | int) -> BorrowerDetail:
    """The borrower with resident ID number ``key`` (a text), or with id ``key`` (an int);
    ReferenceDataError if none. A borrower whose personal data was erased is found by id
    or by its ``ERASED…`` stand-in, and shows as erased."""
    if isinstance(key, int):
        borrower = session.get(Borrower, key)
        if borrower is None:
            raise ReferenceDataError(f"no borrower #{key}", zh=f"借款人 #{key} 不存在")
    else:
        borrower = get_borrower(session, key, erased=True)
    commitments = session.scalars(
        select(Commitment).where(Commitment.borrower_id == borrower.id).order_by(Commitment.id)
    )
    lent = session.execute(loan_rows().where(Loan.borrower_id == borrower.id).order_by(Loan.id))
    return BorrowerDetail(
        borrower_view(borrower),
        tuple(map(commitment_view, commitments)),
        tuple(map(loan_row, lent)),
        tuple(credentials_of(session, [borrower.id])[borrower.id]),
        corrections_of(session, borrower.id),
    )


@dataclass(frozen=True)
class ErasableRow:
    """A borrower whose personal data may be erased: nothing of theirs is open and the
    retention period has ended."""

    borrower: BorrowerView
    #: The day their last loan or commitment closed; the registration day (China time)
    #: for one never given a guarantee (``from_registration``).
    closed_on: dt.date
    from_registration: bool
    #: The first day the data could be erased: ``closed_on`` + the retention period.
    erasable_from: dt.date

    def masked(self) -> ErasableRow:
        return replace(self, borrower=self.borrower.masked())


def erasable_page(
    session: Session,
    *,
    today: dt.date | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[ErasableRow]:
    """Borrowers whose personal data may be erased on ``today`` (default: today), newest
    registration first, under ``personal_data.retention_years`` in force that day."""
    today = today or business_today()
    years = rules_on(session, today)["personal_data"]["retention_years"]

    def rows(found):
        for r in found:
            closed_on = r.closed_on or business_date(r.Borrower.registered_at)
            yield ErasableRow(
                borrower_view(r.Borrower), closed_on, r.closed_on is None,
                add_years(closed_on, years),
            )  # fmt: skip

    return keyset_page(
        session, erasable_query(today, years), Borrower.id, before=before, limit=limit,
        values=rows,
    )  # fmt: skip
