"""Compensation claims (代偿): filed once a loan is overdue long enough, approved by an
approver other than the filer, paid from the bank's special account.

Approval posts receivable[loan] ↑ and claims payable[bank] ↑; payment posts payable ↓,
special[bank] ↓ and releases the loan's remaining exposure in the same entry.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.entries import credit, debit
from ledger.fund.books import (
    balance_now,
    claims_payable_account,
    loan_exposure_account,
    post,
    receivable_account,
    share,
)
from ledger.fund.errors import ClaimError
from ledger.fund.loans import get_loan, loan_position, loan_rules
from ledger.fund.models import CLAIM_LIFECYCLE, Claim, ClaimStatus, Loan, LoanStatus, set_status
from ledger.fund.reference import (
    Role,
    check_maker_checker,
    get_bank,
    refuse_future,
    require_bank_access,
    require_role,
)
from ledger.money import format_yuan

STATUS_ZH = CLAIM_LIFECYCLE.names_zh


def file_claim(
    session: Session,
    *,
    bank: str,
    contract_no: str,
    on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> Claim:
    """File a claim for coverage × the loss on a loan overdue at least the policy's days."""
    require_bank_access(session, actor, bank, Role.CLERK, Role.BANK)
    refuse_future(on, today, "claim date", "代偿申请日期", ClaimError)
    loan = get_loan(session, bank, contract_no, for_update=True)
    if loan.status != "active":
        raise ClaimError(
            f"loan {loan.contract_no} is {loan.status}; only an outstanding loan can be claimed",
            zh=f"贷款 {loan.contract_no} 不是在贷状态，不能申请代偿",
        )
    open_claim = session.scalar(
        select(Claim.number).where(Claim.loan_id == loan.id, Claim.status != "rejected")
    )
    if open_claim is not None:
        raise ClaimError(
            f"loan {loan.contract_no} already has claim {open_claim}",
            zh=f"贷款 {loan.contract_no} 已有代偿申请 {open_claim}",
        )
    rules = loan_rules(loan)
    pos = loan_position(session, loan, on)
    needed = rules["claim_after_days_overdue"]
    if pos.days_overdue < needed:
        raise ClaimError(
            f"loan {loan.contract_no} is {pos.days_overdue} days overdue on {on}; a claim needs "
            f"at least {needed} days under the loan's rules",
            zh=f"贷款 {loan.contract_no} 在 {on} 逾期 {pos.days_overdue} 天，"
            f"逾期满 {needed} 天方可申请代偿",
        )
    interest = pos.overdue_interest if rules["claim_basis"] == "principal_and_interest" else 0
    loss = pos.principal_outstanding + interest
    claim = Claim(
        number=_next_number(session, bank, on),
        loan_id=loan.id,
        filed_on=on,
        filed_by=actor,
        days_overdue=pos.days_overdue,
        principal_outstanding=pos.principal_outstanding,
        interest_outstanding=interest,
        loss=loss,
        coverage_ppm=loan.coverage_ppm,
        amount=share(loss, loan.coverage_ppm),
        status="filed",
    )
    session.add(claim)
    session.flush()
    return claim


def approve_claim(
    session: Session, number: str, *, on: dt.date, actor: str, today: dt.date | None = None
) -> Claim:
    """An approver other than the filer approves: the fund now owes the bank the amount."""
    require_role(session, actor, Role.APPROVER)
    refuse_future(on, today, "claim approval date", "代偿审核日期", ClaimError)
    claim = get_claim(session, number, for_update=True)
    _expect(claim, "filed", "approved")
    check_maker_checker(claim.filed_by, actor, f"claim {claim.number}", f"代偿申请 {claim.number}")
    _not_before(on, claim.filed_on, claim.number, "filed")
    loan = session.get(Loan, claim.loan_id)
    claim.approve_entry_id = post(
        session,
        on,
        "claim.approval",
        [
            debit(receivable_account(loan.id), claim.amount),
            credit(claims_payable_account(loan.bank_code, loan.fund_code), claim.amount),
        ],
        f"代偿审核 {claim.number}：{loan.bank_code} 贷款 {loan.contract_no}",
        actor=actor,
        key=f"claim-approval:{claim.id}",
    )
    set_status(claim, ClaimStatus.APPROVED)
    claim.decided_by = actor
    claim.decided_on = on
    session.flush()
    return claim


def reject_claim(
    session: Session,
    number: str,
    reason: str,
    *,
    on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> Claim:
    require_role(session, actor, Role.APPROVER)
    refuse_future(on, today, "claim rejection date", "代偿驳回日期", ClaimError)
    claim = get_claim(session, number, for_update=True)
    _expect(claim, "filed", "rejected")
    check_maker_checker(claim.filed_by, actor, f"claim {claim.number}", f"代偿申请 {claim.number}")
    if not reason.strip():
        raise ClaimError("a rejection needs a reason", zh="驳回须注明原因")
    set_status(claim, ClaimStatus.REJECTED)
    claim.decided_by = actor
    claim.decided_on = on
    claim.reject_reason = reason.strip()
    session.flush()
    return claim


def pay_claim(
    session: Session, number: str, *, on: dt.date, actor: str, today: dt.date | None = None
) -> Claim:
    """Pay an approved claim from the bank's special account and release the exposure."""
    require_role(session, actor, Role.APPROVER, Role.CLERK)
    refuse_future(on, today, "claim payment date", "代偿支付日期", ClaimError)
    claim = get_claim(session, number, for_update=True)
    _expect(claim, "approved", "paid")
    _not_before(on, claim.decided_on, claim.number, "approved")
    loan = session.scalar(select(Loan).where(Loan.id == claim.loan_id).with_for_update())
    get_bank(session, loan.bank_code, for_update=True)
    special = chart.special_account(loan.bank_code, loan.fund_code)
    available = balance_now(session, special)
    if claim.amount > available:
        raise ClaimError(
            f"the special account at {loan.bank_code} holds {format_yuan(available)} yuan; "
            f"claim {claim.number} needs {format_yuan(claim.amount)} yuan — place capital first",
            zh=f"{loan.bank_code} 专户余额 {format_yuan(available)} 元，不足以支付代偿 "
            f"{claim.number} 的 {format_yuan(claim.amount)} 元，请先补充存入资金",
        )
    exposure_account = loan_exposure_account(loan.bank_code, loan.id, loan.fund_code)
    exposure = balance_now(session, exposure_account)
    legs = [
        debit(claims_payable_account(loan.bank_code, loan.fund_code), claim.amount),
        credit(special, claim.amount),
    ]
    if exposure > 0:
        legs += [
            debit(chart.exposure_contra_account(loan.bank_code, loan.fund_code), exposure),
            credit(exposure_account, exposure),
        ]
    claim.pay_entry_id = post(
        session,
        on,
        "claim.payment",
        legs,
        f"代偿支付 {claim.number}：{loan.bank_code} 贷款 {loan.contract_no}，解除在保责任",
        actor=actor,
        key=f"claim-payment:{claim.id}",
    )
    set_status(claim, ClaimStatus.PAID)
    claim.paid_on = on
    claim.paid_by = actor
    set_status(loan, LoanStatus.CLAIMED)
    session.flush()
    return claim


def get_claim(session: Session, number: str, *, for_update: bool = False) -> Claim:
    query = select(Claim).where(Claim.number == number.strip())
    if for_update:
        query = query.with_for_update()
    claim = session.scalar(query)
    if claim is None:
        raise ClaimError(f"no claim {number}", zh=f"代偿申请 {number} 不存在")
    return claim


def paid_claim(session: Session, loan: Loan) -> Claim:
    claim = session.scalar(
        select(Claim).where(Claim.loan_id == loan.id, Claim.status == "paid").with_for_update()
    )
    if claim is None:
        raise ClaimError(
            f"loan {loan.contract_no} has no paid claim", zh=f"贷款 {loan.contract_no} 尚未代偿"
        )
    return claim


def _expect(claim: Claim, status: str, action: str) -> None:
    if claim.status != status:
        raise ClaimError(
            f"claim {claim.number} is {claim.status}; "
            f"only {_a(status)} {status} claim can be {action}",
            zh=f"代偿申请 {claim.number} 状态为{STATUS_ZH[claim.status]}，"
            f"只有{STATUS_ZH[status]}的申请可以办理",
        )


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _not_before(on: dt.date, earlier: dt.date, number: str, what: str) -> None:
    if on < earlier:
        raise ClaimError(
            f"claim {number} was {what} on {earlier}; {on} is before that",
            zh=f"代偿申请 {number} 的办理日期 {on} 早于 {earlier}",
        )


def _next_number(session: Session, bank: str, on: dt.date) -> str:
    prefix = f"C{on.year}-{bank}-"
    count = session.scalar(
        select(func.count()).select_from(Claim).where(Claim.number.startswith(prefix))
    )
    return f"{prefix}{int(count) + 1:05d}"
