"""Borrowers as values: a keyset-paged list with filters, and one borrower with their
commitments and loans."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.fund.borrowers import get_borrower
from ledger.fund.credentials import CredentialView, credentials_of
from ledger.fund.eligibility import Category
from ledger.fund.models import Borrower, Commitment, Loan
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

__all__ = ["BorrowerDetail", "BorrowerView", "borrower_detail", "borrowers_page"]

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


def borrower_detail(session: Session, id_number: str) -> BorrowerDetail:
    """The borrower with resident ID number ``id_number``; ReferenceDataError if none."""
    borrower = get_borrower(session, id_number)
    commitments = session.scalars(
        select(Commitment).where(Commitment.borrower_id == borrower.id).order_by(Commitment.id)
    )
    lent = session.execute(loan_rows().where(Loan.borrower_id == borrower.id).order_by(Loan.id))
    return BorrowerDetail(
        borrower_view(borrower),
        tuple(map(commitment_view, commitments)),
        tuple(map(loan_row, lent)),
        tuple(credentials_of(session, [borrower.id])[borrower.id]),
    )
