"""Compensation claims as values: a keyset-paged list with filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.fund.models import Borrower, Claim, ClaimStatus, Loan
from ledger.fund.personal import mask_name
from ledger.fund.read.views import ClaimView, claim_view
from ledger.paging import Cursor, Page, SortKey, check_range, keyset_page, one_of

__all__ = ["CLAIM_SORTS", "ClaimDetail", "ClaimRow", "claim_detail", "claims_page"]

#: The orders the claim list may be sorted in: the filing date, the fund's share.
CLAIM_SORTS = (SortKey("filed_on", Claim.filed_on, dt.date), SortKey("amount", Claim.amount, int))


@dataclass(frozen=True)
class ClaimRow(ClaimView):
    """A claim's line in a list: the claim, with its loan's bank, contract and borrower."""

    bank_code: str
    contract_no: str
    borrower_name: str

    def masked(self) -> ClaimRow:
        """The line with the borrower's name masked."""
        return replace(self, borrower_name=mask_name(self.borrower_name))


def claims_page(
    session: Session,
    *,
    bank: str | None = None,
    status: str | None = None,
    filed_from: dt.date | None = None,
    filed_to: dt.date | None = None,
    fund: str | None = None,
    sort: str | None = None,
    after: Cursor | str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[ClaimRow]:
    """Claims newest first, or sorted by one of :data:`CLAIM_SORTS` (``ledger.paging``),
    on loans of a bank, in a status
    (:class:`~ledger.fund.models.ClaimStatus`), filed in a date range (both ends
    included) and on loans of a fund."""
    one_of(status, ClaimStatus, "claim status", "代偿申请状态")
    check_range(filed_from, filed_to, "filing date", "申请日期")
    stmt = (
        select(Claim.id, Claim, Loan.bank_code, Loan.contract_no, Borrower.name)
        .join(Loan, Loan.id == Claim.loan_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
    )
    if bank is not None:
        stmt = stmt.where(Loan.bank_code == bank)
    if status is not None:
        stmt = stmt.where(Claim.status == status)
    if filed_from is not None:
        stmt = stmt.where(Claim.filed_on >= filed_from)
    if filed_to is not None:
        stmt = stmt.where(Claim.filed_on <= filed_to)
    if fund is not None:
        stmt = stmt.where(Loan.fund_code == fund)
    return keyset_page(
        session, stmt, Claim.id, before=before, limit=limit, sort=sort, sorts=CLAIM_SORTS,
        after=after, values=lambda rows: map(_row, rows),
    )  # fmt: skip


def _row(r) -> ClaimRow:
    return ClaimRow(
        **asdict(claim_view(r.Claim)),
        bank_code=r.bank_code,
        contract_no=r.contract_no,
        borrower_name=r.name,
    )


@dataclass(frozen=True)
class ClaimDetail(ClaimRow):
    """One claim in full: its line, the loan's fund and the entries its approval and its
    payment posted (None until they are made)."""

    fund: str
    approve_entry_id: int | None
    pay_entry_id: int | None

    def masked(self) -> ClaimDetail:
        return replace(self, borrower_name=mask_name(self.borrower_name))


def claim_detail(session: Session, number: str) -> ClaimDetail | None:
    """Claim ``number`` (e.g. ``C2025-ICBC-00003``), or None if there is none."""
    r = session.execute(
        select(Claim.id, Claim, Loan.bank_code, Loan.contract_no, Loan.fund_code, Borrower.name)
        .join(Loan, Loan.id == Claim.loan_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .where(Claim.number == number.strip())
    ).one_or_none()
    if r is None:
        return None
    return ClaimDetail(
        **asdict(_row(r)), fund=r.fund_code, approve_entry_id=r.Claim.approve_entry_id,
        pay_entry_id=r.Claim.pay_entry_id,
    )  # fmt: skip
