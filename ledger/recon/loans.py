"""The fund's loans as of a date, as the banks report them: principal outstanding, overdue
principal, days overdue and bucket, for every loan outstanding then. Shared by the
loan-level reconciliation and the ageing.

A loan is outstanding on ``as_of`` when it was disbursed by then, not compensated by
then, and not repaid in full by then (the dashboard's rule). The principal outstanding
comes from the loan's running totals, corrected set-based by the effective repayments
dated after ``as_of`` (only loans that moved after it have any); the overdue position,
of the loans that can be overdue (one with a due date before ``as_of``), from their
stored installments in one query (``ledger.fund.dues.overdue_positions``, equal to
``ledger.fund.schedule.position``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledger.fund.dues import overdue_positions
from ledger.fund.leverage import effective_repayments
from ledger.fund.models import Claim, ClaimStatus, Loan, Repayment
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
    session: Session, as_of: dt.date, *, bank: str | None = None
) -> dict[str, LoanFigures] | list[LoanFigures]:
    """Every loan (of ``bank``) outstanding at the end of ``as_of``, by contract number
    when a bank is given, else as a list."""
    compensated = select(Claim.loan_id).where(
        Claim.status == ClaimStatus.PAID, Claim.paid_on <= as_of
    )
    later = (
        select(Repayment.loan_id, func.sum(Repayment.principal).label("later"))
        .where(Repayment.paid_on > as_of, effective_repayments())
        .group_by(Repayment.loan_id)
    )
    if bank is not None:
        later = later.where(Repayment.bank_code == bank)
    later = later.subquery()
    query = (
        select(
            Loan.id,
            Loan.bank_code,
            Loan.fund_code,
            Loan.contract_no,
            Loan.principal - Loan.repaid_principal + func.coalesce(later.c.later, 0),
            Loan.disbursed_on,
            Loan.maturity_on,
        )
        .outerjoin(later, later.c.loan_id == Loan.id)
        .where(
            Loan.disbursed_on <= as_of,
            Loan.id.not_in(compensated),
            or_(Loan.repaid_principal < Loan.principal, Loan.last_paid_on > as_of),
        )
    )
    if bank is not None:
        query = query.where(Loan.bank_code == bank)
    rows = [r for r in session.execute(query) if r[4] > 0]
    # Only a loan with an installment due before as_of can be overdue: its first due
    # date is a month after disbursement (or the maturity, if sooner).
    cutoff = as_of - dt.timedelta(days=28)
    maybe = [r[0] for r in rows if r[5] < cutoff or r[6] < as_of]
    overdue = overdue_positions(session, as_of, maybe)
    figures = [
        LoanFigures(r[0], r[1], r[2], r[3], int(r[4]), *overdue.get(r[0], (0, 0))) for r in rows
    ]
    if bank is not None:
        return {f.contract_no: f for f in figures}
    return figures
