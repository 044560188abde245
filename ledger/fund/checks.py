"""Cross-checks between the fund's records and the books, run by ``fundledger verify``.

The operations keep these true; a check that fails means something bypassed them:
each loan's exposure is coverage × its outstanding principal (zero once compensated)
and its running totals are its repayments',
each compensation receivable is what was paid less the fund's recoveries and write-off,
each source's capital is the sum of its approved allocations, the counter-guarantees
registered at a bank are the ones still held, and no claim was over-recovered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.fund.books import (
    counter_guarantee_accounts,
    loan_exposure_account,
    receivable_account,
    share,
)
from ledger.fund.leverage import effective_repayments
from ledger.fund.models import (
    CITY_FUND,
    Bank,
    CapitalAllocation,
    CapitalSource,
    Claim,
    Commitment,
    CounterGuarantee,
    DepositInterest,
    Fund,
    Loan,
    Recovery,
    Repayment,
    WriteOff,
)
from ledger.models import Account
from ledger.money import format_yuan


def check_fund(session: Session, problem: Callable[[str], None]) -> None:
    """Report every disagreement between the fund's tables and the account balances."""
    balance = dict(session.execute(select(Account.code, Account.balance)).all())
    _check_exposure(session, balance, problem)
    _check_receivables(session, balance, problem)
    _check_capital(session, balance, problem)
    _check_counter_guarantees(session, balance, problem)
    _check_funds(session, problem)


def _placements(session: Session) -> list[tuple[str, str, str]]:
    """(bank, fund, label) for every fund at every bank: ``ICBC`` or ``ICBC/D01``."""
    funds = [CITY_FUND, *session.scalars(select(Fund.code).order_by(Fund.code))]
    return [
        (bank, fund, bank if fund == CITY_FUND else f"{bank}/{fund}")
        for bank in session.scalars(select(Bank.code).order_by(Bank.code))
        for fund in funds
    ]


def _check_funds(session: Session, problem) -> None:
    """Every record names a fund that exists, and a loan draws on its commitment's."""
    known = {CITY_FUND, *session.scalars(select(Fund.code))}
    for table in (CapitalSource, Commitment, Loan, DepositInterest):
        for code in session.scalars(select(table.fund_code).distinct()):
            if code not in known:
                problem(f"{table.__tablename__}: fund {code} does not exist")
    mismatched = session.execute(
        select(Loan.bank_code, Loan.contract_no, Loan.fund_code, Commitment.fund_code)
        .join(Commitment, Commitment.id == Loan.commitment_id)
        .where(Loan.fund_code != Commitment.fund_code)
        .order_by(Loan.id)
    )
    for bank, contract, loan_fund, commitment_fund in mismatched:
        problem(
            f"loan {bank}/{contract}: draws on fund {loan_fund} but its commitment is "
            f"of fund {commitment_fund}"
        )


def _check_exposure(session: Session, balance: dict, problem) -> None:
    repaid = {
        loan_id: (int(total), int(interest), last)
        for loan_id, total, interest, last in session.execute(
            select(
                Repayment.loan_id,
                func.sum(Repayment.principal),
                func.sum(Repayment.interest),
                func.max(Repayment.paid_on),
            )
            .where(effective_repayments())
            .group_by(Repayment.loan_id)
        )
    }
    for bank, fund, label in _placements(session):
        prefix = chart.exposure_account(bank, fund) + ":"
        loans = sum(v for code, v in balance.items() if code.startswith(prefix))
        contra = balance.get(chart.exposure_contra_account(bank, fund), 0)
        if loans != contra:
            problem(
                f"bank {label}: its loans' exposure adds up to {format_yuan(loans)} yuan but its "
                f"exposure contra account holds {format_yuan(contra)} yuan"
            )
    for loan in session.scalars(select(Loan).order_by(Loan.id)):
        total, interest, last = repaid.get(loan.id, (0, 0, None))
        outstanding = loan.principal - total
        if (loan.repaid_principal, loan.repaid_interest, loan.last_paid_on) != (
            total,
            interest,
            last,
        ):
            problem(
                f"loan {loan.bank_code}/{loan.contract_no}: its running totals say "
                f"{format_yuan(loan.repaid_principal)} yuan principal and "
                f"{format_yuan(loan.repaid_interest)} yuan interest repaid, last on "
                f"{loan.last_paid_on}; its repayments say {format_yuan(total)} and "
                f"{format_yuan(interest)} yuan, last on {last}"
            )
        live = loan.status in ("active", "repaid")
        expected = share(outstanding, loan.coverage_ppm) if live else 0
        actual = balance.get(loan_exposure_account(loan.bank_code, loan.id, loan.fund_code), 0)
        if outstanding < 0:
            problem(f"loan {loan.bank_code}/{loan.contract_no}: repaid more than its principal")
        if actual != expected:
            problem(
                f"loan {loan.bank_code}/{loan.contract_no}: exposure is {format_yuan(actual)} "
                f"yuan, expected {format_yuan(expected)} yuan (status {loan.status}, "
                f"outstanding {format_yuan(outstanding)} yuan)"
            )


def _check_receivables(session: Session, balance: dict, problem) -> None:
    recovered = defaultdict(lambda: (0, 0, 0))
    # The fund's share of a recovery after write-off reduces losses, not the receivable.
    before_write_off = case((Recovery.after_write_off_id.is_(None), Recovery.fund_share), else_=0)
    rows = session.execute(
        select(
            Recovery.claim_id,
            func.sum(Recovery.total),
            func.sum(Recovery.fund_share),
            func.sum(before_write_off),
        ).group_by(Recovery.claim_id)
    )
    for claim_id, total, fund, receivable_fund in rows:
        recovered[claim_id] = (int(total), int(fund), int(receivable_fund))
    written = dict(
        session.execute(
            select(WriteOff.claim_id, WriteOff.amount).where(WriteOff.status == "approved")
        ).all()
    )
    for claim in session.scalars(
        select(Claim).where(Claim.status.in_(("approved", "paid"))).order_by(Claim.id)
    ):
        total, fund, receivable_fund = recovered[claim.id]
        if total > claim.loss or fund > claim.amount:
            problem(f"claim {claim.number}: recovered more than the loss")
        expected = claim.amount - receivable_fund - int(written.get(claim.id, 0))
        actual = balance.get(receivable_account(claim.loan_id), 0)
        if actual != expected:
            problem(
                f"claim {claim.number}: receivable is {format_yuan(actual)} yuan, expected "
                f"{format_yuan(expected)} yuan"
            )


def _check_capital(session: Session, balance: dict, problem) -> None:
    approved = dict(
        session.execute(
            select(CapitalAllocation.source_code, func.sum(CapitalAllocation.amount))
            .where(CapitalAllocation.status == "approved")
            .group_by(CapitalAllocation.source_code)
        ).all()
    )
    for code in session.scalars(select(CapitalSource.code).order_by(CapitalSource.code)):
        actual = balance.get(chart.capital_account(code), 0)
        expected = int(approved.get(code, 0))
        if actual != expected:
            problem(
                f"capital source {code}: capital is {format_yuan(actual)} yuan, approved "
                f"allocations total {format_yuan(expected)} yuan"
            )


def _check_counter_guarantees(session: Session, balance: dict, problem) -> None:
    held_rows = session.execute(
        select(Commitment.bank_code, Commitment.fund_code, func.sum(CounterGuarantee.value))
        .join(Commitment, Commitment.id == CounterGuarantee.commitment_id)
        .where(CounterGuarantee.status == "held")
        .group_by(Commitment.bank_code, Commitment.fund_code)
    ).all()
    held = {(bank, fund): value for bank, fund, value in held_rows}
    for bank, fund, label in _placements(session):
        account, _contra = counter_guarantee_accounts(bank, fund)
        actual = balance.get(account, 0)
        expected = int(held.get((bank, fund), 0))
        if actual != expected:
            problem(
                f"bank {label}: counter-guarantees registered {format_yuan(actual)} yuan, held "
                f"{format_yuan(expected)} yuan"
            )
