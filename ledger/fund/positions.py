"""The fund's loans as of a date, as the banks report them: principal outstanding, overdue
principal, days overdue and bucket, for every loan outstanding then. Shared by the
loan-level reconciliation, the ageing and the dashboard.

A loan is outstanding on ``as_of`` when it was disbursed by then, not compensated by
then, and not repaid in full by then (the dashboard's rule). The principal outstanding
comes from the loan's running totals, corrected set-based by the effective repayments
dated after ``as_of`` (only loans that moved after it have any); the overdue position
from their stored installments, in one query that returns the overdue loans only
(``ledger.fund.dues.overdue_positions``, equal to ``ledger.fund.schedule.position``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledger.fund.dues import overdue_positions, repaid_after
from ledger.fund.models import Claim, ClaimStatus, Loan
from ledger.fund.schedule import bucket


@dataclass(frozen=True)
class LoanFigures:
    loan_id: int
    bank: str
    fund: str
    contract_no: str
    principal_outstanding: int
    overdue_principal: int
    days_overdue: int

    @property
    def bucket(self) -> str:
        return bucket(self.days_overdue)


def outstanding_loans(
    session: Session, as_of: dt.date, *, bank: str | None = None, fund: str | None = None
) -> dict[str, LoanFigures] | list[LoanFigures]:
    """Every loan (of ``bank``, of ``fund``) outstanding at the end of ``as_of``, by
    contract number when a bank is given, else as a list."""
    compensated = select(Claim.loan_id).where(
        Claim.status == ClaimStatus.PAID, Claim.paid_on <= as_of
    )
    scope = []
    if bank is not None:
        scope.append(Loan.bank_code == bank)
    if fund is not None:
        scope.append(Loan.fund_code == fund)
    later = repaid_after(as_of, *scope)
    query = (
        select(
            Loan.id,
            Loan.bank_code,
            Loan.fund_code,
            Loan.contract_no,
            Loan.principal - Loan.repaid_principal + func.coalesce(later.c.p, 0),
        )
        .outerjoin(later, later.c.loan_id == Loan.id)
        .where(
            Loan.disbursed_on <= as_of,
            Loan.id.not_in(compensated),
            or_(Loan.repaid_principal < Loan.principal, Loan.last_paid_on > as_of),
            *scope,
        )
    )
    # A Core read on the session's connection: plain tuples, no ORM row processing.
    session.flush()
    rows = [r for r in session.connection().execute(query) if r[4] > 0]
    overdue = overdue_positions(session, as_of, bank=bank, fund=fund)
    figures = [
        LoanFigures(r[0], r[1], r[2], r[3], int(r[4]), *overdue.get(r[0], (0, 0))) for r in rows
    ]
    if bank is not None:
        return {f.contract_no: f for f in figures}
    return figures
