"""What the bureau, the banks and the auditors ask of the fund: capital by source,
capital placed per bank, exposure and capacity per bank, compensation and repayment
rates, a loan's full state as of a date, and a bank's quarterly interest-subsidy claim.

``SourceCapital`` and ``capital_by_source`` live in ``ledger.fund.capital`` and are
re-exported here. Everything is read from the books and the fund's tables; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.fund.books import balances_as_of, loan_exposure_account
from ledger.fund.capital import SourceCapital, capital_by_source  # noqa: F401 (re-exported)
from ledger.fund.funds import fund_codes
from ledger.fund.leverage import (
    Capacity,
    capacity,
    compensation_rate_ppm,
    principal_outstanding,
    repayment_rate_ppm,
)
from ledger.fund.loans import loan_payments, loan_rules, loan_schedule
from ledger.fund.models import (
    Bank,
    Borrower,
    Commitment,
    Loan,
)
from ledger.fund.policy import reference_rate_ppm, rules_on
from ledger.fund.subsidy import SubsidyLine, quarter_bounds, quarter_subsidy


@dataclass(frozen=True)
class BankPosition:
    code: str
    name: str
    #: Special account balance on the date, fen.
    placed: int
    #: Guarantee exposure on the date, fen.
    exposure: int
    #: Loans outstanding (principal) on the date, fen.
    outstanding: int


def banks_as_of(session: Session, as_of: dt.date, fund: str | None = None) -> list[BankPosition]:
    """Capital placed, exposure and principal outstanding per bank on ``as_of``: of
    ``fund``, or of every fund together when None."""
    banks = list(session.scalars(select(Bank).order_by(Bank.code)))
    funds = [fund] if fund is not None else fund_codes(session)
    result = []
    for bank in banks:
        query = select(Loan.id, Loan.fund_code).where(
            Loan.bank_code == bank.code, Loan.disbursed_on <= as_of
        )
        if fund is not None:
            query = query.where(Loan.fund_code == fund)
        specials = [chart.special_account(bank.code, f) for f in funds]
        exposures = [
            loan_exposure_account(bank.code, loan_id, loan_fund)
            for loan_id, loan_fund in session.execute(query)
        ]
        b = balances_as_of(session, specials + exposures, as_of)
        result.append(
            BankPosition(
                bank.code,
                bank.name,
                sum(b[a] for a in specials),
                sum(b[a] for a in exposures),
                principal_outstanding(session, bank.code, as_of, fund),
            )
        )
    return result


@dataclass(frozen=True)
class BankRisk:
    code: str
    capacity: Capacity
    compensation_rate_ppm: int | None
    repayment_rate_ppm: int | None


def bank_risk(
    session: Session, bank: str, on: dt.date, period: tuple[dt.date, dt.date]
) -> BankRisk:
    """Exposure, cap and capacity now; compensation rate up to ``on``; repayment rate at
    maturity over ``period``."""
    return BankRisk(
        bank,
        capacity(session, bank, on, rules_on(session, on)),
        compensation_rate_ppm(session, bank, on),
        repayment_rate_ppm(session, bank, *period),
    )


def loan_subsidy(session: Session, loan: Loan, year: int, quarter: int) -> SubsidyLine:
    """The interest subsidy due on one loan for a quarter, under the loan's own rules, for
    the project and trade its guarantee recorded."""
    rules = loan_rules(loan)
    rule = dict(rules["subsidy"])
    lpr = reference_rate_ppm("lpr", loan.disbursed_on) if rule["method"] == "lpr_minus" else None
    benchmark = None
    if "benchmark" in dict(rule.get("rate_basis", {})).values():
        benchmark = reference_rate_ppm("benchmark", loan.disbursed_on)
    borrower_type = session.scalar(
        select(Borrower.borrower_type).where(Borrower.id == loan.borrower_id)
    )
    project_kind, trade = session.execute(
        select(Commitment.project_kind, Commitment.trade).where(Commitment.id == loan.commitment_id)
    ).one()
    return quarter_subsidy(
        subsidy_rule=_plain(rule),
        borrower_type=borrower_type,
        principal=loan.principal,
        annual_rate_ppm=loan.annual_rate_ppm,
        disbursed_on=loan.disbursed_on,
        original_maturity=loan.maturity_on,
        schedule=loan_schedule(loan),
        payments=loan_payments(session, loan.id),
        year=year,
        quarter=quarter,
        lpr_ppm=lpr,
        benchmark_ppm=benchmark,
        project_kind=project_kind,
        trade=trade,
    )


def subsidy_claim(
    session: Session, bank: str, year: int, quarter: int
) -> list[tuple[str, SubsidyLine]]:
    """Every loan of ``bank`` outstanding in the quarter with the subsidy it earned."""
    start, end = quarter_bounds(year, quarter)
    loans = session.scalars(
        select(Loan)
        .where(Loan.bank_code == bank, Loan.disbursed_on < end)
        .order_by(Loan.contract_no)
    )
    lines = []
    for loan in loans:
        if loan.repaid_on is not None and loan.repaid_on < start:
            continue
        line = loan_subsidy(session, loan, year, quarter)
        if line.days_in_quarter:
            lines.append((loan.contract_no, line))
    return lines


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
