"""Loans: disbursement against a commitment, repayments and their reversal, extension,
and a loan's schedule and position as of any date.

The fund's exposure on a loan is always ``coverage × outstanding principal`` rounded
half up to the fen: a disbursement posts it, each repayment posts the decrease, so the
exposure reaches exactly zero when the loan is repaid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.clock import utcnow
from ledger.entries import credit, debit
from ledger.fund.books import loan_exposure_account, open_loan_accounts, post, share
from ledger.fund.errors import (
    CommitmentError,
    DuplicateReferenceError,
    ExtensionError,
    LimitError,
    StateError,
)
from ledger.fund.guarantees import (
    get_commitment,
)
from ledger.fund.identity import normalize_id_number
from ledger.fund.leverage import check_new_exposure, effective_repayments
from ledger.fund.models import Borrower, Commitment, Extension, Loan, Repayment
from ledger.fund.policy import RuleSet, rules_on
from ledger.fund.reference import Role, get_bank, require_bank_access, require_role
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
from ledger.money import format_yuan


@dataclass(frozen=True)
class Disbursed:
    loan: Loan
    #: False when the same contract was posted before with identical content.
    created: bool


def disburse(
    session: Session,
    *,
    bank: str,
    contract_no: str,
    guarantee_no: str,
    borrower_name: str,
    id_number: str,
    disbursed_on: dt.date,
    maturity_on: dt.date,
    principal: int,
    annual_rate_ppm: int,
    method: Method | str,
    actor: str,
    today: dt.date | None = None,
) -> Disbursed:
    """Record a loan the bank disbursed against an approved commitment; exposure ↑."""
    require_bank_access(session, actor, bank, Role.CLERK, Role.APPROVER, Role.BANK)
    get_bank(session, bank, for_update=True)
    contract_no = contract_no.strip()
    method = Method(method)
    existing = session.scalar(
        select(Loan).where(Loan.bank_code == bank, Loan.contract_no == contract_no)
    )
    if existing is not None:
        return Disbursed(
            _same_loan(
                session,
                existing,
                guarantee_no,
                disbursed_on,
                maturity_on,
                principal,
                annual_rate_ppm,
                method,
            ),
            False,
        )
    commitment = get_commitment(session, guarantee_no, for_update=True)
    borrower = _check_commitment(session, commitment, bank, borrower_name, id_number, principal)
    _check_dates(commitment, disbursed_on, maturity_on, today)
    rules = rules_on(session, disbursed_on)
    _check_term_and_rate(rules, commitment, disbursed_on, maturity_on, annual_rate_ppm)
    if not 0 < principal <= commitment.amount:
        raise CommitmentError(
            f"principal {format_yuan(principal)} yuan is over the {format_yuan(commitment.amount)}"
            f" yuan approved by commitment {commitment.number}",
            zh=f"放款金额 {format_yuan(principal)} 元超过担保承诺 {commitment.number} 批准的 "
            f"{format_yuan(commitment.amount)} 元",
        )
    coverage = rules["coverage_ppm"]
    exposure = share(principal, coverage)
    check_new_exposure(session, bank, exposure, disbursed_on)
    build_schedule(principal, annual_rate_ppm, method, disbursed_on, maturity_on)  # validates
    loan = Loan(
        bank_code=bank,
        contract_no=contract_no,
        commitment_id=commitment.id,
        borrower_id=borrower.id,
        principal=principal,
        annual_rate_ppm=annual_rate_ppm,
        method=method.value,
        disbursed_on=disbursed_on,
        maturity_on=maturity_on,
        coverage_ppm=coverage,
        status="active",
        rules=rules.to_json(),
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(loan)
    session.flush()
    open_loan_accounts(session, bank, loan.id, contract_no)
    loan.entry_id = post(
        session,
        disbursed_on,
        "loan.disbursement",
        [
            debit(loan_exposure_account(bank, loan.id), exposure),
            credit(chart.exposure_contra_account(bank), exposure),
        ],
        f"{bank} 放款 {contract_no}（{borrower.name}），本金 {format_yuan(principal)} 元",
        actor=actor,
        key=f"disbursement:{bank}:{contract_no}",
    )
    commitment.status = "used"
    session.flush()
    return Disbursed(loan, True)


def extend_loan(
    session: Session, *, bank: str, contract_no: str, new_maturity: dt.date, on: dt.date, actor: str
) -> Extension:
    """Extend (展期) an active loan that is not overdue, once, within the loan's rules."""
    require_role(session, actor, Role.APPROVER)
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
    return RuleSet.from_json(loan.rules)


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


# ----------------------------------------------------------------------------- helpers


def _check_commitment(
    session: Session,
    commitment: Commitment,
    bank: str,
    borrower_name: str,
    id_number: str,
    principal: int,
) -> Borrower:
    if commitment.bank_code != bank:
        raise CommitmentError(
            f"commitment {commitment.number} was approved for bank {commitment.bank_code}, "
            f"not {bank}",
            zh=f"担保承诺 {commitment.number} 属于 {commitment.bank_code}，不属于 {bank}",
        )
    if commitment.status != "approved":
        used_by = session.scalar(
            select(Loan.contract_no).where(Loan.commitment_id == commitment.id)
        )
        what = f"used by loan {used_by}" if used_by else commitment.status
        raise CommitmentError(
            f"commitment {commitment.number} is not available: {what}",
            zh=f"担保承诺 {commitment.number} 不可用："
            + (f"已被贷款 {used_by} 使用" if used_by else "已撤销"),
        )
    borrower = session.get(Borrower, commitment.borrower_id)
    if normalize_id_number(id_number) != borrower.id_number:
        raise CommitmentError(
            f"ID number {normalize_id_number(id_number)} is not the borrower of commitment "
            f"{commitment.number}",
            zh=f"身份证号 {normalize_id_number(id_number)} "
            f"与担保承诺 {commitment.number} 的借款人不符",
        )
    if borrower_name.strip() != borrower.name:
        raise CommitmentError(
            f"borrower name {borrower_name.strip()} does not match commitment "
            f"{commitment.number} ({borrower.name})",
            zh=f"借款人姓名 {borrower_name.strip()} 与担保承诺 {commitment.number} 不符",
        )
    if isinstance(principal, bool) or not isinstance(principal, int):
        raise CommitmentError("principal must be a number of fen", zh="放款金额无效")
    return borrower


def _check_dates(
    commitment: Commitment, disbursed_on: dt.date, maturity_on: dt.date, today: dt.date | None
) -> None:
    if disbursed_on < commitment.approved_on:
        raise CommitmentError(
            f"disbursement date {disbursed_on} is before commitment {commitment.number} was "
            f"approved on {commitment.approved_on}",
            zh=f"放款日期 {disbursed_on} 早于担保承诺 {commitment.number} 的批准日 "
            f"{commitment.approved_on}",
        )
    if disbursed_on > (today or dt.date.today()):
        raise CommitmentError(
            f"disbursement date {disbursed_on} is in the future",
            zh=f"放款日期 {disbursed_on} 晚于今天",
        )
    if maturity_on <= disbursed_on:
        raise LimitError(
            f"maturity {maturity_on} must be after the disbursement date {disbursed_on}",
            zh=f"到期日期 {maturity_on} 须晚于放款日期 {disbursed_on}",
        )


def _check_term_and_rate(
    rules: RuleSet, commitment: Commitment, disbursed_on: dt.date, maturity_on: dt.date, rate: int
) -> None:
    months = min(commitment.term_months, rules["max_term_months"])
    latest = add_months(disbursed_on, months)
    if maturity_on > latest:
        raise LimitError(
            f"maturity {maturity_on} is more than {months} months after disbursement "
            f"({disbursed_on}); the commitment and the rules allow up to {latest}",
            zh=f"到期日期 {maturity_on} 超过放款后 {months} 个月（最迟 {latest}）",
        )
    cap = rules.rate_cap_on(disbursed_on)
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= cap:
        raise LimitError(
            f"annual rate {_pct(rate)} is over the cap of {_pct(cap)} in force on {disbursed_on}",
            zh=f"年利率 {_pct(rate)} 超过 {disbursed_on} 适用的利率上限 {_pct(cap)}",
        )


def _pct(ppm: int) -> str:
    return f"{ppm // 10_000}.{ppm % 10_000:04d}".rstrip("0").rstrip(".") + "%"


def _same_loan(session, loan, guarantee_no, disbursed_on, maturity_on, principal, rate, method):
    commitment = session.get(Commitment, loan.commitment_id)
    same = (
        commitment.number == guarantee_no.strip()
        and (loan.disbursed_on, loan.maturity_on, loan.principal, loan.annual_rate_ppm)
        == (disbursed_on, maturity_on, principal, rate)
        and loan.method == method.value
    )
    if not same:
        raise DuplicateReferenceError(
            f"contract {loan.contract_no} of bank {loan.bank_code} was already disbursed with "
            "different content",
            zh=f"{loan.bank_code} 合同号 {loan.contract_no} 已放款，内容与本次不同",
        )
    return loan
