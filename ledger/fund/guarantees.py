"""Guarantee approvals (承诺担保): a numbered commitment after eligibility, limit,
repeat-loan, counter-guarantee and suspension checks; cancellation of an unused one.

The commitment freezes the rule set in force on its approval date. Counter-guarantees
given with it are registered in the memorandum accounts at their assessed value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ledger.entries import credit, debit
from ledger.fund.books import counter_guarantee_accounts, post
from ledger.fund.errors import (
    CounterGuaranteeError,
    RowsRejectedError,
    StateError,
)
from ledger.fund.identity import parse_resident_id
from ledger.fund.models import (
    COMMITMENT_LIFECYCLE,
    Commitment,
    CommitmentStatus,
    CounterGuarantee,
    set_status,
)
from ledger.fund.policy import RuleSet, stored_rules
from ledger.fund.reference import Role, refuse_future, require_role
from ledger.fund.trades import check_project
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
EMPLOYER_TYPE_NAMES_ZH = {
    "civil_servant": "公务员",
    "public_institution": "事业单位",
    "state_enterprise": "国有企业",
    "enterprise": "企业",
    "other": "其他",
}


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
    today: dt.date | None = None,
    fund: str | None = None,
    project_kind: str | None = None,
    trade: str | None = None,
) -> Commitment:
    """Approve a guarantee for a registered borrower at a bank and number the commitment:
    a one-request list of :func:`ledger.fund.approvals.approve_guarantees`.

    ``fund``: the fund that guarantees it (default: the borrower's district's, else the
    city's). ``project_kind`` (``micro_profit`` 微利项目 or ``other``) and ``trade`` (a
    code of the policy file's trade catalogue) record what the loan is for; the interest
    subsidy of the rules that name them depends on them. None: not recorded.
    """
    from ledger.fund.approvals import GuaranteeRequest, approve_guarantees

    request = GuaranteeRequest(
        id_number, bank, amount, term_months, on, tuple(counter_guarantees), fund=fund,
        project_kind=project_kind, trade=trade,
    )  # fmt: skip
    try:
        (approved,) = approve_guarantees(session, [request], actor=actor, today=today)
    except RowsRejectedError as rejected:
        raise rejected.errors[0].error from None
    return session.get(Commitment, approved.id)


def record_project(
    session: Session,
    number: str,
    *,
    project_kind: str,
    trade: str,
    actor: str,
) -> Commitment:
    """Record the project and trade of commitment ``number`` approved without them (one
    approved before they were recorded): once, by an approver; never changed after.

    Nothing is posted: the subsidy of the commitment's loan is computed from them when it
    is asked for.
    """
    require_role(session, actor, Role.APPROVER)
    if project_kind is None or trade is None:
        raise StateError(
            "record both the project kind and the trade", zh="须同时登记项目类型和所属行业"
        )
    check_project(project_kind, trade)
    commitment = get_commitment(session, number, for_update=True)
    if commitment.project_kind is not None or commitment.trade is not None:
        raise StateError(
            f"commitment {commitment.number} already records its project "
            f"({commitment.project_kind or '-'}, trade {commitment.trade or '-'}); it is not "
            "changed",
            zh=f"担保承诺 {commitment.number} 已登记项目（{commitment.project_kind or '-'}，"
            f"行业 {commitment.trade or '-'}），不能更改",
        )
    commitment.project_kind, commitment.trade = project_kind, trade
    session.flush()
    return commitment


def cancel_commitment(
    session: Session,
    number: str,
    reason: str,
    on: dt.date,
    *,
    actor: str,
    today: dt.date | None = None,
) -> Commitment:
    """Cancel an approved commitment no loan was disbursed against; release its collateral."""
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    refuse_future(on, today, "cancellation date", "撤销日期", StateError)
    commitment = get_commitment(session, number, for_update=True)
    if commitment.status != "approved":
        raise StateError(
            f"commitment {number} is {commitment.status}; only an unused one can be cancelled",
            zh=f"担保承诺 {number} 状态为{COMMITMENT_LIFECYCLE.names_zh[commitment.status]}，"
            "只有未使用的承诺可以撤销",
        )
    if not reason.strip():
        raise StateError("a cancellation needs a reason", zh="撤销须注明原因")
    if on < commitment.approved_on:
        raise StateError(
            f"commitment {number} was approved on {commitment.approved_on}; it cannot be "
            f"cancelled on {on}",
            zh=f"担保承诺 {number} 于 {commitment.approved_on} 批准，撤销日期不能早于该日",
        )
    set_status(commitment, CommitmentStatus.CANCELLED)
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
    return stored_rules(object_session(commitment), commitment.rule_set_id)


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
        account, contra = counter_guarantee_accounts(commitment.bank_code, commitment.fund_code)
        item.close_entry_id = post(
            session,
            on,
            "counter-guarantee.release",
            [debit(contra, item.value), credit(account, item.value)],
            f"{commitment.number} 反担保{KIND_NAMES_ZH[item.kind]}解除：{why}",
            actor=actor,
            key=f"counter-guarantee-close:{item.id}",
        )
    set_status(item, status)
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
        account, contra = counter_guarantee_accounts(commitment.bank_code, commitment.fund_code)
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


def check_counter_guarantees(
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
