"""The fund on one page: capital by source, and per bank the capital placed, the
guarantee exposure, the leverage cap and what is left of it, the loans outstanding and
overdue; the compensation paid and recovered; what awaits approval.

Each figure comes from the function that computes it for the operations and the other
reports: capital from :func:`~ledger.fund.capital.capital_by_source`, the cap from
:func:`~ledger.fund.leverage.capacity_as_of` (never computed here), claims paid from
:func:`~ledger.fund.leverage.compensation_totals`, the loans outstanding and overdue from
:func:`~ledger.fund.positions.outstanding_loans` (each loan's stored installments: equal
to :func:`~ledger.fund.schedule.position`, tested over a whole demo city).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.fund.capital import SourceCapital, capital_by_source
from ledger.fund.funds import check_fund
from ledger.fund.leverage import (
    Capacity,
    compensation_totals,
    placements_as_of,
)
from ledger.fund.models import (
    AllocationStatus,
    CapitalAllocation,
    Claim,
    ClaimStatus,
    Loan,
    Recovery,
    WriteOff,
    WriteOffStatus,
)
from ledger.fund.policy import rules_on
from ledger.fund.positions import outstanding_loans
from ledger.fund.reference import banks

__all__ = ["Awaiting", "BankLine", "Dashboard", "LoanTally", "awaiting", "dashboard"]


@dataclass(frozen=True)
class LoanTally:
    """Some loans: how many, and their principal outstanding (fen)."""

    count: int = 0
    principal: int = 0

    def __add__(self, other: LoanTally) -> LoanTally:
        return LoanTally(self.count + other.count, self.principal + other.principal)


@dataclass(frozen=True)
class BankLine:
    code: str
    name: str
    #: The capacity of the line's fund at the bank on the date
    #: (:func:`~ledger.fund.leverage.capacity_as_of`); ``capacity.fund`` is the fund.
    capacity: Capacity
    #: Loans the bank lent and still holds on the date (compensated ones are the fund's).
    outstanding: LoanTally
    #: Those of them overdue on the date.
    overdue: LoanTally

    @property
    def fund(self) -> str:
        return self.capacity.fund

    @property
    def placed(self) -> int:
        """The special account's balance, fen."""
        return self.capacity.special

    @property
    def exposure(self) -> int:
        return self.capacity.exposure

    @property
    def cap(self) -> int:
        return self.capacity.cap

    @property
    def remaining(self) -> int:
        return self.capacity.remaining


@dataclass(frozen=True)
class Awaiting:
    """Records waiting for an approver now: allocations pending, claims filed, write-offs
    requested."""

    allocations: int
    claims: int
    write_offs: int


@dataclass(frozen=True)
class Dashboard:
    on: dt.date
    capital: tuple[SourceCapital, ...]
    banks: tuple[BankLine, ...]
    #: Compensation paid up to ``on``, fen.
    claims_paid: int
    #: Recovered on compensated loans up to ``on``: in all, and the fund's share, fen.
    recovered: int
    recovered_fund_share: int
    awaiting: Awaiting
    #: The fund it shows; None: every fund, consolidated for the city (a line per fund
    #: at each bank where that fund has money, exposure or loans).
    fund: str | None = None

    @property
    def placed(self) -> int:
        return sum(b.placed for b in self.banks)

    @property
    def exposure(self) -> int:
        return sum(b.exposure for b in self.banks)

    @property
    def outstanding(self) -> LoanTally:
        return sum((b.outstanding for b in self.banks), LoanTally())

    @property
    def overdue(self) -> LoanTally:
        return sum((b.overdue for b in self.banks), LoanTally())


def dashboard(session: Session, on: dt.date, fund: str | None = None) -> Dashboard:
    """``fund`` as of ``on`` (the postings and records dated then or before), or every
    fund consolidated when None; what awaits approval is counted as it stands now."""
    fund = check_fund(session, fund)
    rules = rules_on(session, on)
    outstanding, overdue = _loans(session, on, fund)
    recovered_query = select(
        func.coalesce(func.sum(Recovery.total), 0),
        func.coalesce(func.sum(Recovery.fund_share), 0),
    ).where(Recovery.recovered_on <= on)
    if fund is not None:
        recovered_query = recovered_query.join(Loan, Loan.id == Recovery.loan_id).where(
            Loan.fund_code == fund
        )
    recovered, fund_share = session.execute(recovered_query).one()
    names = {b.code: b.name for b in banks(session)}
    lines = [
        BankLine(
            code=cap.bank,
            name=names[cap.bank],
            capacity=cap,
            outstanding=outstanding.get((cap.bank, cap.fund), LoanTally()),
            overdue=overdue.get((cap.bank, cap.fund), LoanTally()),
        )
        for cap in placements_as_of(session, on, fund, rules)
    ]
    return Dashboard(
        on=on,
        capital=tuple(capital_by_source(session, on, fund)),
        banks=tuple(lines),
        claims_paid=compensation_totals(session, None, on, fund)[0],
        recovered=int(recovered),
        recovered_fund_share=int(fund_share),
        awaiting=awaiting(session),
        fund=fund,
    )


def _loans(
    session: Session, on: dt.date, fund: str | None
) -> tuple[dict[tuple[str, str], LoanTally], dict[tuple[str, str], LoanTally]]:
    """Per (bank, fund), the loans outstanding on ``on`` and those of them overdue then
    (:func:`~ledger.fund.positions.outstanding_loans`: disbursed by then, not compensated
    by then and not repaid in full by then; the same loans and principal as the banks'
    report, :func:`~ledger.fund.queries.banks_as_of`)."""
    outstanding: dict[tuple[str, str], LoanTally] = defaultdict(LoanTally)
    overdue: dict[tuple[str, str], LoanTally] = defaultdict(LoanTally)
    for f in outstanding_loans(session, on, fund=fund):
        one = LoanTally(1, f.principal_outstanding)
        outstanding[(f.bank, f.fund)] += one
        if f.days_overdue:
            overdue[(f.bank, f.fund)] += one
    return outstanding, overdue


def awaiting(session: Session) -> Awaiting:
    def count(model, status):
        return select(func.count()).select_from(model).where(model.status == status)

    allocations, claims, write_offs = session.execute(
        select(
            count(CapitalAllocation, AllocationStatus.PENDING).scalar_subquery(),
            count(Claim, ClaimStatus.FILED).scalar_subquery(),
            count(WriteOff, WriteOffStatus.REQUESTED).scalar_subquery(),
        )
    ).one()
    return Awaiting(allocations, claims, write_offs)
