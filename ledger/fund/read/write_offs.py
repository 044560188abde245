"""Write-offs (核销) as values: a keyset-paged list with filters, and one in full."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.fund.models import Borrower, Claim, Loan, WriteOff, WriteOffStatus
from ledger.fund.personal import mask_name
from ledger.paging import Page, keyset_page, one_of

__all__ = ["WriteOffRow", "write_off_detail", "write_offs_page"]


@dataclass(frozen=True)
class WriteOffRow:
    """A write-off with its loan's bank, contract, fund and borrower and its claim."""

    id: int
    bank_code: str
    contract_no: str
    fund: str
    borrower_name: str
    claim_number: str
    #: Fen: the receivable left when requested; once approved, what was written off.
    amount: int
    reason: str
    #: requested, approved or rejected.
    status: str
    requested_by: str
    requested_on: dt.date
    decided_by: str | None
    decided_on: dt.date | None
    #: pro_rata or first_loss, once approved.
    rule: str | None
    #: {capital source: fen}, once approved.
    allocation: dict[str, int] | None
    entry_id: int | None

    def masked(self) -> WriteOffRow:
        return replace(self, borrower_name=mask_name(self.borrower_name))


def _select():
    return (
        select(WriteOff.id, WriteOff, Loan.bank_code, Loan.contract_no, Loan.fund_code,
               Borrower.name, Claim.number)
        .join(Loan, Loan.id == WriteOff.loan_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .join(Claim, Claim.id == WriteOff.claim_id)
    )  # fmt: skip


def write_offs_page(
    session: Session,
    *,
    bank: str | None = None,
    status: str | None = None,
    fund: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[WriteOffRow]:
    """Write-offs newest first, on loans of a bank, in a status
    (:class:`~ledger.fund.models.WriteOffStatus`) and on loans of a fund."""
    one_of(status, WriteOffStatus, "write-off status", "核销申请状态")
    stmt = _select()
    if bank is not None:
        stmt = stmt.where(Loan.bank_code == bank)
    if status is not None:
        stmt = stmt.where(WriteOff.status == status)
    if fund is not None:
        stmt = stmt.where(Loan.fund_code == fund)
    return keyset_page(
        session, stmt, WriteOff.id, before=before, limit=limit,
        values=lambda rows: map(_row, rows),
    )  # fmt: skip


def write_off_detail(session: Session, write_off_id: int) -> WriteOffRow | None:
    """Write-off ``write_off_id``, or None if there is none."""
    r = session.execute(_select().where(WriteOff.id == write_off_id)).one_or_none()
    return None if r is None else _row(r)


def _row(r) -> WriteOffRow:
    w = r.WriteOff
    return WriteOffRow(
        id=w.id, bank_code=r.bank_code, contract_no=r.contract_no, fund=r.fund_code,
        borrower_name=r.name, claim_number=r.number, amount=w.amount, reason=w.reason,
        status=w.status, requested_by=w.requested_by, requested_on=w.requested_on,
        decided_by=w.decided_by, decided_on=w.decided_on, rule=w.rule,
        allocation=dict(w.allocation) if w.allocation else None, entry_id=w.entry_id,
    )  # fmt: skip
