"""Guarantee approvals (承诺担保): a numbered commitment after eligibility, limit,
repeat-loan, counter-guarantee and suspension checks; cancellation of an unused one.

The commitment freezes the rule set in force on its approval date. Counter-guarantees
given with it are registered in the memorandum accounts at their assessed value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.entries import credit, debit
from ledger.fund.books import PPM, counter_guarantee_accounts, post
from ledger.fund.borrowers import borrower_categories, get_borrower
from ledger.fund.eligibility import BORROWER_TYPE_NAMES_ZH, check_eligible
from ledger.fund.errors import (
    BankSuspendedError,
    CounterGuaranteeError,
    LimitError,
    RepeatLoanError,
    StateError,
)
from ledger.fund.identity import parse_resident_id
from ledger.fund.leverage import compensation_totals
from ledger.fund.models import Borrower, Commitment, CounterGuarantee, Loan
from ledger.fund.policy import RuleSet, rules_on
from ledger.fund.reference import Role, get_bank, require_role
from ledger.models import JournalEntry
from ledger.money import format_yuan

KINDS = ("guarantor", "mortgage", "pledge", "joint_group", "credit_community")
KIND_NAMES_ZH = {
    "guarantor": "保证人",
    "mortgage": "抵押",
    "pledge": "质押",
    "joint_group": "联保小组",
    "credit_community": "信用社区免担保",
}
EMPLOYER_TYPES = ("civil_servant", "public_institution", "state_enterprise", "enterprise", "other")


@dataclass(frozen=True)
class CounterGuaranteeSpec:
    """A counter-guarantee offered with an application."""

    kind: str
    value: int = 0
    guarantor_name: str = ""
    guarantor_id_number: str | None = None
    employer_type: str | None = None
    description: str = ""


def approve_guarantee(
    session: Session,
    *,
    id_number: str,
    bank: str,
    amount: int,
    term_months: int,
    on: dt.date,
    actor: str,
    counter_guarantees: tuple[CounterGuaranteeSpec, ...] = (),
) -> Commitment:
    """Approve a guarantee for a registered borrower at a bank and number the commitment."""
    require_role(session, actor, Role.APPROVER)
    bank_row = get_bank(session, bank, for_update=True)
    borrower = get_borrower(session, id_number)
    rules = rules_on(session, on)
    if not bank_row.active:
        raise BankSuspendedError(
            f"bank {bank} is inactive and takes no new guarantees",
            zh=f"{bank} 已停用，不再新增担保",
        )
    categories = borrower_categories(borrower, on)
    check_eligible(
        categories=categories,
        eligible=rules["eligible_categories"],
        birth_date=borrower.birth_date,
        on=on,
        min_age=rules["min_age"],
        max_age=rules["max_age"],
    )
    _check_limits(rules, borrower, amount, term_months, on)
    _check_repeat(session, rules, borrower)
    _check_suspension(session, rules, bank, on)
    _check_counter_guarantees(rules, amount, counter_guarantees)
    commitment = Commitment(
        number=_next_number(session, bank, on),
        borrower_id=borrower.id,
        bank_code=bank,
        amount=amount,
        term_months=term_months,
        approved_on=on,
        approved_by=actor,
        categories=",".join(sorted(c.value for c in categories)),
        status="approved",
        rules=rules.to_json(),
        created_at=utcnow(),
    )
    session.add(commitment)
    session.flush()
    for spec in counter_guarantees:
        register_counter_guarantee(session, commitment, spec, on, actor)
    session.flush()
    return commitment


def cancel_commitment(
    session: Session, number: str, reason: str, on: dt.date, *, actor: str
) -> Commitment:
    """Cancel an approved commitment no loan was disbursed against; release its collateral."""
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    commitment = get_commitment(session, number, for_update=True)
    if commitment.status != "approved":
        raise StateError(
            f"commitment {number} is {commitment.status}; only an unused one can be cancelled",
            zh=f"担保承诺 {number} 状态为{_STATUS_ZH[commitment.status]}，只有未使用的承诺可以撤销",
        )
    if not reason.strip():
        raise StateError("a cancellation needs a reason", zh="撤销须注明原因")
    if on < commitment.approved_on:
        raise StateError(
            f"commitment {number} was approved on {commitment.approved_on}; it cannot be "
            f"cancelled on {on}",
            zh=f"担保承诺 {number} 于 {commitment.approved_on} 批准，撤销日期不能早于该日",
        )
    commitment.status = "cancelled"
    commitment.cancelled_on = on
    commitment.cancelled_by = actor
    commitment.cancel_reason = reason.strip()
    release_counter_guarantees(session, commitment, on, actor, "commitment cancelled")
    session.flush()
    return commitment


def get_commitment(session: Session, number: str, *, for_update: bool = False) -> Commitment:
    query = select(Commitment).where(Commitment.number == number.strip())
    if for_update:
        query = query.with_for_update()
    commitment = session.scalar(query)
    if commitment is None:
        raise StateError(f"no commitment {number}", zh=f"担保承诺号 {number} 不存在")
    return commitment


def commitment_rules(commitment: Commitment) -> RuleSet:
    return RuleSet.from_json(commitment.rules)


def release_counter_guarantees(
    session: Session, commitment: Commitment, on: dt.date, actor: str, why: str
) -> list[CounterGuarantee]:
    """Release every counter-guarantee still held for the commitment (memo entries back)."""
    held = list(
        session.scalars(
            select(CounterGuarantee)
            .where(
                CounterGuarantee.commitment_id == commitment.id,
                CounterGuarantee.status == "held",
            )
            .order_by(CounterGuarantee.id)
        )
    )
    for item in held:
        close_counter_guarantee(session, commitment, item, "released", on, actor, why)
    return held


def close_counter_guarantee(
    session: Session,
    commitment: Commitment,
    item: CounterGuarantee,
    status: str,
    on: dt.date,
    actor: str,
    why: str,
) -> None:
    held_on = item.recorded_on
    if item.entry_id is not None:
        held_on = session.scalar(
            select(JournalEntry.effective_date).where(JournalEntry.id == item.entry_id)
        )
    on = max(on, held_on)
    if item.value > 0:
        account, contra = counter_guarantee_accounts(commitment.bank_code)
        item.close_entry_id = post(
            session,
            on,
            "counter-guarantee.release",
            [debit(contra, item.value), credit(account, item.value)],
            f"{commitment.number} 反担保{KIND_NAMES_ZH[item.kind]}解除：{why}",
            actor=actor,
            key=f"counter-guarantee-close:{item.id}",
        )
    item.status = status
    item.closed_on = on


def register_counter_guarantee(
    session: Session, commitment: Commitment, spec: CounterGuaranteeSpec, on: dt.date, actor: str
) -> CounterGuarantee:
    item = CounterGuarantee(
        commitment_id=commitment.id,
        kind=spec.kind,
        guarantor_name=spec.guarantor_name.strip(),
        guarantor_id_number=(
            parse_resident_id(spec.guarantor_id_number).number if spec.guarantor_id_number else None
        ),
        employer_type=spec.employer_type,
        description=spec.description.strip(),
        value=spec.value,
        status="held",
        recorded_by=actor,
        recorded_on=on,
    )
    session.add(item)
    session.flush()
    if spec.value > 0:
        account, contra = counter_guarantee_accounts(commitment.bank_code)
        item.entry_id = post(
            session,
            on,
            "counter-guarantee.register",
            [debit(account, spec.value), credit(contra, spec.value)],
            f"{commitment.number} 反担保{KIND_NAMES_ZH[spec.kind]}登记",
            actor=actor,
            key=f"counter-guarantee:{item.id}",
        )
    return item


def _check_limits(
    rules: RuleSet, borrower: Borrower, amount: int, term_months: int, on: dt.date
) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise LimitError(
            "the guarantee amount must be a positive number of fen", zh="担保金额必须大于零"
        )
    limit = rules.loan_limit(borrower.borrower_type, borrower.head_count)
    if amount > limit:
        kind = borrower.borrower_type
        heads = f" of {borrower.head_count} partners" if kind == "partnership" else ""
        article = "an" if kind == "individual" else "a"
        raise LimitError(
            f"{format_yuan(amount)} yuan is over the limit for {article} {kind}{heads} under the "
            f"rules in force on {on}: at most {format_yuan(limit)} yuan",
            zh=f"{format_yuan(amount)} 元超过 {on} 适用政策对"
            f"{BORROWER_TYPE_NAMES_ZH[kind]}的贷款上限 {format_yuan(limit)} 元",
        )
    max_term = rules["max_term_months"]
    if not 1 <= term_months <= max_term:
        raise LimitError(
            f"a term of {term_months} months is outside 1 to {max_term} months allowed by the "
            f"rules in force on {on}",
            zh=f"期限 {term_months} 个月不在 {on} 适用政策允许的 1–{max_term} 个月之内",
        )


def _check_repeat(session: Session, rules: RuleSet, borrower: Borrower) -> None:
    unused = session.scalar(
        select(Commitment.number).where(
            Commitment.borrower_id == borrower.id, Commitment.status == "approved"
        )
    )
    if unused is not None:
        raise RepeatLoanError(
            f"borrower {borrower.id_number} already has an unused commitment {unused}",
            zh=f"借款人 {borrower.id_number} 已有未使用的担保承诺 {unused}",
        )
    loans = list(session.scalars(select(Loan).where(Loan.borrower_id == borrower.id)))
    active = [ln for ln in loans if ln.status == "active"]
    if active:
        raise RepeatLoanError(
            f"borrower {borrower.id_number} still owes on loan {active[0].contract_no}; a new "
            "guarantee needs it repaid first",
            zh=f"借款人 {borrower.id_number} 的贷款 {active[0].contract_no} 尚未还清，不能再次担保",
        )
    repeat = rules["repeat_loans"]
    if len(loans) >= repeat["max_loans"]:
        raise RepeatLoanError(
            f"borrower {borrower.id_number} has had {len(loans)} guaranteed loans; the rules "
            f"allow at most {repeat['max_loans']}",
            zh=f"借款人 {borrower.id_number} 已获得 {len(loans)} 次担保贷款，"
            f"政策规定最多 {repeat['max_loans']} 次",
        )
    if repeat["require_on_time"]:
        for loan in loans:
            final = loan.extended_to or loan.maturity_on
            if loan.status != "repaid" or loan.repaid_on is None or loan.repaid_on > final:
                raise RepeatLoanError(
                    f"borrower {borrower.id_number} did not repay loan {loan.contract_no} on "
                    "time; only borrowers who repaid on time may borrow again",
                    zh=f"借款人 {borrower.id_number} 的贷款 {loan.contract_no} 未按期还清，"
                    "不能再次担保",
                )


def _check_suspension(session: Session, rules: RuleSet, bank: str, on: dt.date) -> None:
    threshold = rules["suspend_above_compensation_rate_ppm"]
    paid, guaranteed = compensation_totals(session, bank, on)
    if guaranteed and paid * PPM > threshold * guaranteed:
        rate = paid * PPM // guaranteed
        raise BankSuspendedError(
            f"new guarantees at bank {bank} are suspended: its compensation rate is "
            f"{_percent(rate)}, over the {_percent(threshold)} threshold "
            f"(claims paid {format_yuan(paid)} yuan of {format_yuan(guaranteed)} "
            "yuan guaranteed)",
            zh=f"{bank} 代偿率 {_percent(rate)} 超过 {_percent(threshold)}，暂停新增担保"
            f"（已代偿 {format_yuan(paid)} 元，累计担保 {format_yuan(guaranteed)} 元）",
        )


def _check_counter_guarantees(
    rules: RuleSet, amount: int, specs: tuple[CounterGuaranteeSpec, ...]
) -> None:
    policy = rules["counter_guarantee"]
    for n, spec in enumerate(specs, 1):
        _check_spec(n, spec, policy["waiver_kinds"])
    if amount > policy["required_above_fen"] and not specs:
        raise CounterGuaranteeError(
            f"a guarantee over {format_yuan(policy['required_above_fen'])} yuan needs a "
            "counter-guarantee (guarantor, mortgage, pledge, joint group) or a waiver "
            f"({', '.join(policy['waiver_kinds']) or 'none allowed'})",
            zh=f"担保金额超过 {format_yuan(policy['required_above_fen'])} 元须提供反担保"
            "（保证人、抵押、质押、联保小组）或免担保资格",
        )


def _check_spec(n: int, spec: CounterGuaranteeSpec, waivers) -> None:
    where = f"counter-guarantee {n}"
    if spec.kind not in KINDS:
        raise CounterGuaranteeError(
            f"{where}: kind {spec.kind!r} is not one of {', '.join(KINDS)}",
            zh=f"第 {n} 项反担保类型 {spec.kind!r} 无效",
        )
    if isinstance(spec.value, bool) or not isinstance(spec.value, int) or spec.value < 0:
        raise CounterGuaranteeError(
            f"{where}: the value must be a number of fen, not negative",
            zh=f"第 {n} 项反担保价值不能为负",
        )
    if spec.kind == "credit_community":
        if spec.kind not in waivers:
            raise CounterGuaranteeError(
                f"{where}: the rules in force do not allow a credit-community waiver",
                zh=f"第 {n} 项：现行政策不允许信用社区免担保",
            )
        if spec.value != 0:
            raise CounterGuaranteeError(
                f"{where}: a waiver has no value", zh=f"第 {n} 项：免担保不登记价值"
            )
        return
    if spec.kind == "guarantor":
        if not spec.guarantor_name.strip() or not spec.guarantor_id_number:
            raise CounterGuaranteeError(
                f"{where}: a guarantor needs a name and an ID number",
                zh=f"第 {n} 项：保证人须填写姓名和身份证号",
            )
        if spec.employer_type not in EMPLOYER_TYPES:
            raise CounterGuaranteeError(
                f"{where}: the guarantor's employer type must be one of "
                f"{', '.join(EMPLOYER_TYPES)}",
                zh=f"第 {n} 项：保证人单位性质无效",
            )
        parse_resident_id(spec.guarantor_id_number)
    elif not spec.description.strip():
        raise CounterGuaranteeError(
            f"{where}: describe the {spec.kind.replace('_', ' ')} (what it is, its registration)",
            zh=f"第 {n} 项：须说明{KIND_NAMES_ZH[spec.kind]}的内容",
        )
    if spec.kind in ("mortgage", "pledge") and spec.value <= 0:
        raise CounterGuaranteeError(
            f"{where}: a {spec.kind} needs its assessed value", zh=f"第 {n} 项：须填写评估价值"
        )


def _next_number(session: Session, bank: str, on: dt.date) -> str:
    prefix = f"G{on.year}-{bank}-"
    count = session.scalar(
        select(func.count()).select_from(Commitment).where(Commitment.number.startswith(prefix))
    )
    return f"{prefix}{int(count) + 1:05d}"


def _percent(ppm: int | None) -> str:
    if ppm is None:
        return "n/a"
    return f"{ppm // 10_000}.{ppm % 10_000 // 100:02d}%"


_STATUS_ZH = {"approved": "已批准", "used": "已放款", "cancelled": "已撤销"}
