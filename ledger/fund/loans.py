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
from ledger.entries import credit, debit, reverse_entry
from ledger.fund.books import balance_now, loan_exposure_account, open_loan_accounts, post, share
from ledger.fund.errors import (
    BalanceMismatchError,
    CommitmentError,
    DuplicateReferenceError,
    ExtensionError,
    LimitError,
    RepaymentError,
    StateError,
)
from ledger.fund.guarantees import (
    CounterGuaranteeSpec,
    get_commitment,
    register_counter_guarantee,
    release_counter_guarantees,
)
from ledger.fund.identity import normalize_id_number
from ledger.fund.leverage import check_new_exposure, effective_repayments
from ledger.fund.models import Borrower, Commitment, CounterGuarantee, Extension, Loan, Repayment
from ledger.fund.policy import RuleSet, rules_on
from ledger.fund.reference import Role, get_bank, require_bank_access, require_role
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

STATUS_ZH = {
    "active": "正常",
    "repaid": "已结清",
    "claimed": "已代偿",
    "written_off": "已核销",
    "recovered": "已追回",
}


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


@dataclass(frozen=True)
class Repaid:
    repayment: Repayment
    created: bool


def repay(
    session: Session,
    *,
    bank: str,
    bank_ref: str,
    contract_no: str,
    paid_on: dt.date,
    principal: int,
    interest: int,
    penalty: int = 0,
    id_number: str | None = None,
    balance_after: int | None = None,
    actor: str,
    today: dt.date | None = None,
) -> Repaid:
    """Record a repayment the bank reported; the exposure falls with the principal."""
    require_bank_access(session, actor, bank, Role.CLERK, Role.APPROVER, Role.BANK)
    bank_ref = _ref(bank_ref)
    loan = get_loan(session, bank, contract_no, for_update=True)
    earlier = _by_ref(session, bank, bank_ref)
    if earlier is not None:
        content = (loan.id, paid_on, principal, interest, penalty, None)
        if _repayment_content(earlier) == content:
            return Repaid(earlier, False)
        raise _ref_conflict(bank, bank_ref, earlier)
    if id_number is not None:
        _check_id(session, loan, id_number)
    for name, value in (("principal", principal), ("interest", interest), ("penalty", penalty)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RepaymentError(f"the repaid {name} must be 0 or more fen", zh="还款金额不能为负")
    if principal == interest == penalty == 0:
        raise RepaymentError("a repayment of nothing", zh="还款金额全部为零")
    _check_active(loan, "repayment")
    if paid_on < loan.disbursed_on or paid_on > (today or dt.date.today()):
        raise RepaymentError(
            f"repayment date {paid_on} is before the disbursement on {loan.disbursed_on} "
            "or in the future",
            zh=f"还款日期 {paid_on} 早于放款日 {loan.disbursed_on} 或晚于今天",
        )
    outstanding = loan.principal - repaid_principal(session, loan.id)
    if principal > outstanding:
        raise RepaymentError(
            f"loan {loan.contract_no}: principal repaid {format_yuan(principal)} yuan is more "
            f"than the {format_yuan(outstanding)} yuan outstanding",
            zh=f"贷款 {loan.contract_no} 归还本金 {format_yuan(principal)} 元超过本金余额 "
            f"{format_yuan(outstanding)} 元",
        )
    if balance_after is not None:
        expected = loan.principal - repaid_principal(session, loan.id, through=paid_on) - principal
        if balance_after != expected:
            raise BalanceMismatchError(
                f"loan {loan.contract_no}: the bank's balance after this repayment is "
                f"{format_yuan(balance_after)} yuan but the fund's is {format_yuan(expected)} yuan",
                zh=f"贷款 {loan.contract_no} 还款后本金余额："
                f"银行为 {format_yuan(balance_after)} 元，"
                f"基金为 {format_yuan(expected)} 元，不一致",
            )
    row = Repayment(
        loan_id=loan.id,
        bank_code=bank,
        bank_ref=bank_ref,
        paid_on=paid_on,
        principal=principal,
        interest=interest,
        penalty=penalty,
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    row.entry_id = _move_exposure(
        session,
        loan,
        outstanding - principal,
        paid_on,
        actor,
        f"{bank} 还款 {loan.contract_no} 流水 {bank_ref}",
    )
    if outstanding - principal == 0:
        loan.status = "repaid"
        loan.repaid_on = max(paid_on, _last_paid_on(session, loan.id))
        release_counter_guarantees(
            session, _commitment(session, loan), loan.repaid_on, actor, "贷款结清"
        )
    session.flush()
    return Repaid(row, True)


def reverse_repayment(
    session: Session,
    *,
    bank: str,
    bank_ref: str,
    reversal_of: str,
    on: dt.date,
    actor: str,
    contract_no: str | None = None,
) -> Repaid:
    """Cancel an earlier repayment (冲正) with a new reversal row and a reversing entry."""
    require_bank_access(session, actor, bank, Role.CLERK, Role.APPROVER, Role.BANK)
    bank_ref, reversal_of = _ref(bank_ref), _ref(reversal_of)
    original = _by_ref(session, bank, reversal_of)
    if original is None or original.reversal_of_id is not None:
        raise RepaymentError(
            f"bank {bank} has no repayment with reference {reversal_of} to reverse",
            zh=f"{bank} 没有流水号为 {reversal_of} 的还款，无法冲正",
        )
    loan = session.scalar(select(Loan).where(Loan.id == original.loan_id).with_for_update())
    if contract_no is not None and contract_no.strip() != loan.contract_no:
        raise RepaymentError(
            f"repayment {reversal_of} belongs to loan {loan.contract_no}, not {contract_no}",
            zh=f"流水号 {reversal_of} 属于贷款 {loan.contract_no}，不是 {contract_no}",
        )
    earlier = _by_ref(session, bank, bank_ref)
    if earlier is not None:
        if earlier.reversal_of_id == original.id and earlier.paid_on == on:
            return Repaid(earlier, False)
        raise _ref_conflict(bank, bank_ref, earlier)
    done = session.scalar(select(Repayment).where(Repayment.reversal_of_id == original.id))
    if done is not None:
        raise RepaymentError(
            f"repayment {reversal_of} was already reversed by {done.bank_ref}",
            zh=f"还款 {reversal_of} 已被流水 {done.bank_ref} 冲正",
        )
    if loan.status not in ("active", "repaid"):
        raise RepaymentError(
            f"loan {loan.contract_no} is {loan.status}; its repayments can no longer be reversed",
            zh=f"贷款 {loan.contract_no} 状态为{STATUS_ZH[loan.status]}，不能再冲正还款",
        )
    if on < original.paid_on:
        raise RepaymentError(
            f"the reversal date {on} is before the repayment's date {original.paid_on}",
            zh=f"冲正日期 {on} 早于原还款日期 {original.paid_on}",
        )
    row = Repayment(
        loan_id=loan.id,
        bank_code=bank,
        bank_ref=bank_ref,
        paid_on=on,
        principal=original.principal,
        interest=original.interest,
        penalty=original.penalty,
        reversal_of_id=original.id,
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if original.entry_id is not None:
        row.entry_id = reverse_entry(
            session,
            original.entry_id,
            actor=actor,
            effective_date=on,
            description=f"{bank} 冲正还款 {reversal_of}（流水 {bank_ref}）",
            idempotency_key=f"repayment-reversal:{bank}:{bank_ref}",
        ).entry_id
    # Reversing an earlier repayment than the last can leave a rounding fen: true it up.
    _move_exposure(
        session,
        loan,
        loan.principal - repaid_principal(session, loan.id),
        on,
        actor,
        f"{bank} 冲正还款 {reversal_of} 在保余额尾差调整",
    )
    if loan.status == "repaid":
        loan.status = "active"
        loan.repaid_on = None
        _hold_again(session, loan, on, actor)
    session.flush()
    return Repaid(row, True)


def extend_loan(
    session: Session, *, bank: str, contract_no: str, new_maturity: dt.date, on: dt.date, actor: str
) -> Extension:
    """Extend (展期) an active loan that is not overdue, once, within the loan's rules."""
    require_role(session, actor, Role.APPROVER)
    loan = get_loan(session, bank, contract_no, for_update=True)
    _check_active(loan, "extension")
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


def _move_exposure(
    session: Session, loan: Loan, outstanding_after: int, on: dt.date, actor: str, text: str
) -> int | None:
    account = loan_exposure_account(loan.bank_code, loan.id)
    drop = balance_now(session, account) - share(outstanding_after, loan.coverage_ppm)
    contra = chart.exposure_contra_account(loan.bank_code)
    if drop == 0:
        return None
    legs = (
        [debit(contra, drop), credit(account, drop)]
        if drop > 0
        else [debit(account, -drop), credit(contra, -drop)]
    )
    return post(session, on, "loan.repayment", legs, text, actor=actor)


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


def _check_active(loan: Loan, what: str) -> None:
    if loan.status == "active":
        return
    hint = {
        "repaid": "it is repaid in full",
        "claimed": "the fund has paid compensation on it; record money received as a recovery",
        "written_off": "it was written off",
        "recovered": "it was recovered in full",
    }[loan.status]
    raise RepaymentError(
        f"loan {loan.contract_no} takes no {what}: {hint}",
        zh=f"贷款 {loan.contract_no} 状态为{STATUS_ZH[loan.status]}，不能办理此业务",
    )


def _check_id(session: Session, loan: Loan, id_number: str) -> None:
    borrower = session.get(Borrower, loan.borrower_id)
    if normalize_id_number(id_number) != borrower.id_number:
        raise RepaymentError(
            f"ID number {normalize_id_number(id_number)} is not the borrower of loan "
            f"{loan.contract_no}",
            zh=f"身份证号 {normalize_id_number(id_number)} 与贷款 {loan.contract_no} 的借款人不符",
        )


def _ref(value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 60:
        raise RepaymentError(
            "a bank reference of 1-60 characters is required", zh="银行流水号应为 1-60 个字符"
        )
    return value


def _by_ref(session: Session, bank: str, bank_ref: str) -> Repayment | None:
    return session.scalar(
        select(Repayment).where(Repayment.bank_code == bank, Repayment.bank_ref == bank_ref)
    )


def _repayment_content(row: Repayment) -> tuple:
    return (row.loan_id, row.paid_on, row.principal, row.interest, row.penalty, row.reversal_of_id)


def _ref_conflict(bank: str, bank_ref: str, earlier: Repayment) -> DuplicateReferenceError:
    return DuplicateReferenceError(
        f"bank reference {bank_ref} of {bank} was already used on {earlier.paid_on} with "
        "different content",
        zh=f"{bank} 流水号 {bank_ref} 已于 {earlier.paid_on} 使用，内容与本次不同",
    )


def _last_paid_on(session: Session, loan_id: int) -> dt.date:
    return max(p.paid_on for p in loan_payments(session, loan_id))


def _commitment(session: Session, loan: Loan) -> Commitment:
    return session.get(Commitment, loan.commitment_id)


def _hold_again(session: Session, loan: Loan, on: dt.date, actor: str) -> None:
    """A reversal re-opened a repaid loan: what was released on repayment is held again."""
    commitment = _commitment(session, loan)
    rows = session.scalars(
        select(CounterGuarantee)
        .where(CounterGuarantee.commitment_id == commitment.id)
        .order_by(CounterGuarantee.id)
    ).all()

    def content(item: CounterGuarantee) -> tuple:
        return (item.kind, item.value, item.guarantor_name, item.guarantor_id_number,
                item.employer_type, item.description)  # fmt: skip

    # Only the latest copy of each: one re-held by an earlier reversal was released again.
    released = [
        item
        for n, item in enumerate(rows)
        if item.status == "released" and all(content(x) != content(item) for x in rows[n + 1 :])
    ]
    for item in released:
        spec = CounterGuaranteeSpec(
            item.kind,
            item.value,
            item.guarantor_name,
            item.guarantor_id_number,
            item.employer_type,
            item.description,
        )
        register_counter_guarantee(session, commitment, spec, on, actor)
