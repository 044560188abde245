"""Loans: disbursement against a commitment, repayments and their reversal, extension,
and a loan's schedule and position as of any date.

The fund's exposure on a loan is always ``coverage × outstanding principal`` rounded
half up to the fen: a disbursement posts it, each repayment posts the decrease, so the
exposure reaches exactly zero when the loan is repaid.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, object_session

from ledger.clock import utcnow
from ledger.fund.disbursements import Disbursed, disburse  # noqa: F401 - re-exported
from ledger.fund.errors import (
    ExtensionError,
    StateError,
)
from ledger.fund.leverage import effective_repayments
from ledger.fund.models import Extension, Loan, LoanDue, LoanDueState, Repayment
from ledger.fund.policy import RuleSet, stored_rules
from ledger.fund.reference import Role, refuse_future, require_role
from ledger.fund.repayments import (  # noqa: F401 - re-exported: loans.repay etc.
    STATUS_ZH,
    Repaid,
    check_active,
    repay,
    reverse_repayment,
)
from ledger.fund.schedule import (
    Installment,
    Method,
    Payment,
    Position,
    add_months,
    build_schedule,
    extend_schedule,
    position,
)


def extend_loan(
    session: Session,
    *,
    bank: str,
    contract_no: str,
    new_maturity: dt.date,
    on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> Extension:
    """Extend (展期) an active loan that is not overdue, once, within the loan's rules.
    ``on``, the day the extension is agreed, may not be after the business date."""
    require_role(session, actor, Role.APPROVER)
    refuse_future(on, today, "extension date", "展期日期", ExtensionError)
    loan = get_loan(session, bank, contract_no, for_update=True)
    check_active(loan.status, loan.contract_no, "extension")
    rules = loan_rules(loan)
    done = session.scalars(select(Extension).where(Extension.loan_id == loan.id)).all()
    if len(done) >= rules["max_extensions"]:
        raise ExtensionError(
            f"loan {loan.contract_no} was already extended; its rules allow "
            f"{rules['max_extensions']} extension(s)",
            zh=f"贷款 {loan.contract_no} 已展期，政策只允许展期 {rules['max_extensions']} 次",
        )
    final = loan.extended_to or loan.maturity_on
    if not loan.disbursed_on <= on <= final:
        raise ExtensionError(
            f"an extension must be agreed between disbursement and maturity ({final}), not {on}",
            zh=f"展期须在到期日 {final} 前办理",
        )
    pos = loan_position(session, loan, on)
    if pos.overdue:
        raise ExtensionError(
            f"loan {loan.contract_no} is {pos.days_overdue} days overdue on {on}; an overdue "
            "loan cannot be extended",
            zh=f"贷款 {loan.contract_no} 在 {on} 已逾期 {pos.days_overdue} 天，不能展期",
        )
    latest = add_months(loan.maturity_on, rules["max_extension_months"])
    if not final < new_maturity <= latest:
        raise ExtensionError(
            f"the new maturity {new_maturity} must be after {final} and no later than {latest} "
            f"({rules['max_extension_months']} months after the contract's maturity)",
            zh=f"展期后到期日 {new_maturity} 须晚于 {final} 且不晚于 {latest}",
        )
    extension = Extension(
        loan_id=loan.id,
        extended_on=on,
        old_maturity=final,
        new_maturity=new_maturity,
        approved_by=actor,
        created_at=utcnow(),
    )
    session.add(extension)
    loan.extended_to = new_maturity
    loan.extended_on = on
    session.flush()
    # Its stored installments are of the old schedule (ledger.fund.dues writes the new).
    session.execute(delete(LoanDueState).where(LoanDueState.loan_id == loan.id))
    session.execute(delete(LoanDue).where(LoanDue.loan_id == loan.id))
    return extension


# ----------------------------------------------------------------------------- reading


def get_loan(session: Session, bank: str, contract_no: str, *, for_update: bool = False) -> Loan:
    query = select(Loan).where(Loan.bank_code == bank, Loan.contract_no == contract_no.strip())
    if for_update:
        query = query.with_for_update()
    loan = session.scalar(query)
    if loan is None:
        raise StateError(
            f"bank {bank} has no loan with contract number {contract_no}",
            zh=f"{bank} 没有合同号为 {contract_no} 的贷款",
        )
    return loan


def loan_rules(loan: Loan) -> RuleSet:
    return stored_rules(object_session(loan), loan.rule_set_id)


def loan_schedule(loan: Loan) -> tuple[Installment, ...]:
    """The repayment schedule, after the extension if there was one."""
    method = Method(loan.method)
    schedule = build_schedule(
        loan.principal, loan.annual_rate_ppm, method, loan.disbursed_on, loan.maturity_on
    )
    if loan.extended_to is not None:
        schedule = extend_schedule(
            schedule,
            extended_on=loan.extended_on,
            new_maturity=loan.extended_to,
            annual_rate_ppm=loan.annual_rate_ppm,
            method=method,
            disbursed_on=loan.disbursed_on,
        )
    return schedule


def loan_payments(session: Session, loan_id: int) -> list[Payment]:
    rows = session.execute(
        select(Repayment.paid_on, Repayment.principal, Repayment.interest)
        .where(Repayment.loan_id == loan_id, effective_repayments())
        .order_by(Repayment.paid_on, Repayment.id)
    )
    return [Payment(paid_on, p, i) for paid_on, p, i in rows]


def loan_position(session: Session, loan: Loan, as_of: dt.date) -> Position:
    return position(loan_schedule(loan), loan_payments(session, loan.id), as_of)


def repaid_principal(session: Session, loan_id: int, *, through: dt.date | None = None) -> int:
    return sum(
        p.principal
        for p in loan_payments(session, loan_id)
        if through is None or p.paid_on <= through
    )
