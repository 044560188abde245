"""Capital: allocations from sources (maker-checker), placement at and withdrawal from a
bank's special account, deposit interest, and attribution of income and losses to sources.

Posts: allocation approved → treasury ↑, capital[source] ↑; placement → special[bank] ↑,
treasury ↓; withdrawal → the reverse; deposit interest → special[bank] ↑,
income[source] ↑ pro rata to contributed capital on the date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.clock import utcnow
from ledger.entries import credit, debit
from ledger.fund.books import balance_now, balances_as_of, post, pro_rata
from ledger.fund.errors import DuplicateReferenceError, FundError, StateError
from ledger.fund.funds import FundView, get_fund
from ledger.fund.leverage import check_withdrawal
from ledger.fund.models import (
    CITY_FUND,
    AllocationStatus,
    CapitalAllocation,
    DepositInterest,
    set_status,
)
from ledger.fund.reference import (
    Role,
    all_sources,
    check_maker_checker,
    get_bank,
    get_source,
    refuse_future,
    require_bank_access,
    require_role,
)
from ledger.money import format_yuan


def record_allocation(
    session: Session,
    source: str,
    amount: int,
    received_on: dt.date,
    *,
    actor: str,
    reference: str = "",
    note: str = "",
    today: dt.date | None = None,
) -> CapitalAllocation:
    """A clerk records money received from a capital source; nothing is posted yet."""
    require_role(session, actor, Role.CLERK)
    refuse_future(received_on, today, "receipt date", "资金到位日期", FundError)
    get_source(session, source)
    _positive(amount, "allocation")
    allocation = CapitalAllocation(
        source_code=source,
        amount=amount,
        received_on=received_on,
        reference=reference.strip(),
        note=note,
        status="pending",
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    session.add(allocation)
    session.flush()
    return allocation


def approve_allocation(
    session: Session, allocation_id: int, *, actor: str, today: dt.date | None = None
) -> CapitalAllocation:
    """An approver other than the recording clerk approves it: the capital is posted,
    dated the day it was received."""
    require_role(session, actor, Role.APPROVER)
    allocation = _pending(session, allocation_id)
    check_maker_checker(allocation.recorded_by, actor, "this allocation", "该笔资金拨付")
    refuse_future(allocation.received_on, today, "receipt date", "资金到位日期", FundError)
    source = get_source(session, allocation.source_code)
    allocation.entry_id = post(
        session,
        allocation.received_on,
        "capital.allocation",
        [
            debit(chart.treasury_account(source.fund_code), allocation.amount),
            credit(chart.capital_account(source.code), allocation.amount),
        ],
        f"{source.name}到位 {allocation.reference}".strip(),
        actor=actor,
        key=f"capital-allocation:{allocation.id}",
    )
    set_status(allocation, AllocationStatus.APPROVED)
    allocation.decided_by = actor
    allocation.decided_at = utcnow()
    session.flush()
    return allocation


def reject_allocation(
    session: Session, allocation_id: int, reason: str, *, actor: str
) -> CapitalAllocation:
    require_role(session, actor, Role.APPROVER)
    allocation = _pending(session, allocation_id)
    check_maker_checker(allocation.recorded_by, actor, "this allocation", "该笔资金拨付")
    if not reason.strip():
        raise FundError("a rejection needs a reason", zh="退回须注明原因")
    set_status(allocation, AllocationStatus.REJECTED)
    allocation.decided_by = actor
    allocation.decided_at = utcnow()
    allocation.reject_reason = reason.strip()
    session.flush()
    return allocation


def place_capital(
    session: Session,
    bank: str,
    amount: int,
    on: dt.date,
    *,
    actor: str,
    today: dt.date | None = None,
    fund: str = CITY_FUND,
) -> int:
    """Move a fund's treasury money into its special account at the bank; returns the
    entry id."""
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    refuse_future(on, today, "placement date", "存入日期", FundError)
    bank_row = get_bank(session, bank)
    owner = get_fund(session, fund)
    _positive(amount, "placement")
    treasury = chart.treasury_account(fund)
    available = balance_now(session, treasury)
    if amount > available:
        of, of_zh = _of(owner)
        raise FundError(
            f"the treasury{of} holds {format_yuan(available)} yuan; cannot place "
            f"{format_yuan(amount)} yuan at {bank}",
            zh=f"{of_zh}财政待拨付资金余额 {format_yuan(available)} 元，不足以存入 {bank} "
            f"{format_yuan(amount)} 元",
        )
    return post(
        session,
        on,
        "capital.placement",
        [debit(chart.special_account(bank, fund), amount), credit(treasury, amount)],
        f"{_of(owner)[1]}存入{bank_row.name}担保基金专户",
        actor=actor,
    )


def withdraw_capital(
    session: Session,
    bank: str,
    amount: int,
    on: dt.date,
    *,
    actor: str,
    today: dt.date | None = None,
    fund: str = CITY_FUND,
) -> int:
    """Move money from a fund's special account at the bank back to its treasury.

    Refused when the special account does not hold it or when what stays would no longer
    carry the bank's guarantee exposure under the leverage cap, now or (when later
    postings exist) on ``on``.
    """
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    refuse_future(on, today, "withdrawal date", "调回日期", FundError)
    bank_row = get_bank(session, bank, for_update=True)
    owner = get_fund(session, fund)
    _positive(amount, "withdrawal")
    check_withdrawal(session, bank, amount, on, fund)
    return post(
        session,
        on,
        "capital.withdrawal",
        [
            debit(chart.treasury_account(fund), amount),
            credit(chart.special_account(bank, fund), amount),
        ],
        f"{_of(owner)[1]}从{bank_row.name}担保基金专户调回",
        actor=actor,
    )


def record_deposit_interest(
    session: Session,
    bank: str,
    amount: int,
    credited_on: dt.date,
    bank_ref: str,
    *,
    actor: str,
    today: dt.date | None = None,
    fund: str = CITY_FUND,
) -> DepositInterest:
    """Interest credited to a fund's special account at the bank; income attributed to
    that fund's sources."""
    require_bank_access(session, actor, bank, Role.CLERK, Role.APPROVER, Role.BANK)
    refuse_future(credited_on, today, "interest date", "结息日期", FundError)
    bank_row = get_bank(session, bank)
    owner = get_fund(session, fund)
    _positive(amount, "deposit interest")
    bank_ref = bank_ref.strip()
    if not bank_ref:
        raise FundError(
            "deposit interest needs the statement's reference", zh="利息入账须填写银行流水号"
        )
    earlier = session.scalar(
        select(DepositInterest).where(
            DepositInterest.bank_code == bank, DepositInterest.bank_ref == bank_ref
        )
    )
    if earlier is not None:
        if (earlier.amount, earlier.credited_on, earlier.fund_code) == (
            amount,
            credited_on,
            fund,
        ):
            return earlier
        raise DuplicateReferenceError(
            f"bank reference {bank_ref} of {bank} was already recorded as interest of "
            f"{format_yuan(earlier.amount)} yuan on {earlier.credited_on}",
            zh=f"{bank} 流水号 {bank_ref} 已登记为 {earlier.credited_on} 利息 "
            f"{format_yuan(earlier.amount)} 元",
        )
    allocation = attribute_pro_rata(session, amount, credited_on, fund)
    legs = [debit(chart.special_account(bank, fund), amount)]
    legs += [credit(chart.interest_income_account(src), fen) for src, fen in allocation.items()]
    entry_id = post(
        session,
        credited_on,
        "interest.deposit",
        legs,
        f"{_of(owner)[1]}{bank_row.name}专户结息 {bank_ref}",
        actor=actor,
        key=f"interest:{bank}:{bank_ref}",
    )
    row = DepositInterest(
        bank_code=bank,
        fund_code=fund,
        credited_on=credited_on,
        amount=amount,
        bank_ref=bank_ref,
        allocation=allocation,
        entry_id=entry_id,
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def contributed_as_of(session: Session, on: dt.date, fund: str | None = None) -> dict[str, int]:
    """Capital contributed by each source of ``fund`` (every fund's when None) up to
    ``on`` (effective date), in fen."""
    sources = [s.code for s in all_sources(session, fund)]
    by_account = balances_as_of(session, [chart.capital_account(s) for s in sources], on)
    return {s: by_account[chart.capital_account(s)] for s in sources}


@dataclass(frozen=True)
class SourceCapital:
    code: str
    name: str
    kind: str
    #: Capital contributed (allocations approved), fen.
    contributed: int
    #: Income attributed to the source (deposit interest, guarantee fees), fen.
    income: int
    #: Guarantee losses written off and attributed to the source, fen.
    losses: int
    #: What the source was required or pledged to contribute, fen (None: open-ended).
    committed: int | None
    #: The date the committed money is due by (None: no date set).
    due_on: dt.date | None = None
    #: The district of a district's matching money.
    district: str | None = None
    #: The date the figures are as of.
    as_of: dt.date | None = None
    #: The fund the source contributes to.
    fund: str = CITY_FUND

    @property
    def net(self) -> int:
        return self.contributed + self.income - self.losses

    @property
    def unpaid(self) -> int | None:
        """Matching money still to come in; None for an open-ended source."""
        return None if self.committed is None else max(self.committed - self.contributed, 0)

    @property
    def overdue(self) -> int:
        """Matching money unpaid after its due date (fen; 0 when none is overdue)."""
        if self.due_on is None or self.as_of is None or self.as_of <= self.due_on:
            return 0
        return self.unpaid or 0

    @property
    def days_overdue(self) -> int:
        """Days since the due date, while money is overdue."""
        return (self.as_of - self.due_on).days if self.overdue else 0


def capital_by_source(
    session: Session, as_of: dt.date, fund: str | None = None
) -> list[SourceCapital]:
    """Each source's capital on ``as_of``: of ``fund``, or of every fund when None."""
    sources = all_sources(session, fund)
    codes = []
    for s in sources:
        codes += [
            chart.capital_account(s.code),
            *chart.source_income_accounts(s.code),
            chart.loss_account(s.code),
        ]
    b = balances_as_of(session, codes, as_of)
    return [
        SourceCapital(
            s.code,
            s.name,
            s.kind,
            b[chart.capital_account(s.code)],
            sum(b[code] for code in chart.source_income_accounts(s.code)),
            b[chart.loss_account(s.code)],
            s.committed,
            s.committed_due_on,
            s.district_code,
            as_of,
            s.fund_code,
        )
        for s in sources
    ]


@dataclass(frozen=True)
class DistrictMatching:
    """A district's (county's) matching money: "which counties have not paid"."""

    district: str
    committed: int
    contributed: int
    unpaid: int
    overdue: int
    #: The earliest due date of its sources with money overdue (None: nothing overdue).
    overdue_since: dt.date | None


def matching_by_district(session: Session, as_of: dt.date) -> list[DistrictMatching]:
    """Per district with committed matching money: committed, contributed, unpaid and
    overdue on ``as_of``; the districts with money overdue first, then by code."""
    by: dict[str, list[SourceCapital]] = {}
    for source in capital_by_source(session, as_of):
        if source.district is not None and source.committed is not None:
            by.setdefault(source.district, []).append(source)
    rows = []
    for district, sources in by.items():
        late = [s.due_on for s in sources if s.overdue]
        rows.append(
            DistrictMatching(
                district,
                sum(s.committed or 0 for s in sources),
                sum(s.contributed for s in sources),
                sum(s.unpaid or 0 for s in sources),
                sum(s.overdue for s in sources),
                min(late) if late else None,
            )
        )
    return sorted(rows, key=lambda r: (r.overdue == 0, r.district))


def net_capital_as_of(session: Session, on: dt.date, fund: str | None = None) -> dict[str, int]:
    """Contributed + attributed income − attributed losses of each source up to ``on``."""
    return {s.code: s.net for s in capital_by_source(session, on, fund)}


def attribute_pro_rata(
    session: Session, amount: int, on: dt.date, fund: str = CITY_FUND
) -> dict[str, int]:
    """Split ``amount`` over ``fund``'s sources in proportion to their contributed
    capital."""
    allocation = pro_rata(amount, contributed_as_of(session, on, fund))
    if not allocation:
        raise _nothing_contributed(on, fund)
    return allocation


def _nothing_contributed(on: dt.date, fund: str) -> FundError:
    of, of_zh = ("", "") if fund == CITY_FUND else (f" to fund {fund}", f"担保基金 {fund} ")
    return FundError(
        f"no capital has been contributed{of} by {on}: nothing to attribute to",
        zh=f"截至 {on} {of_zh}尚无到位资本金，无法分摊",
    )


def _of(fund: FundView) -> tuple[str, str]:
    """How a message names a district's fund (" of fund D01", "鼓楼区担保基金"); the
    city-level fund goes unnamed, as it did when it was the only one."""
    return ("", "") if fund.is_city else (f" of fund {fund.code}", fund.name)


def attribute_first_loss(
    session: Session, amount: int, on: dt.date, order: list[str], fund: str = CITY_FUND
) -> dict[str, int]:
    """Losses borne by ``fund``'s sources in ``order`` of kind (e.g. city first), each up
    to its net capital; whatever is left falls on the last source that has any capital."""
    by_source = capital_by_source(session, on, fund)
    net = {s.code: s.net for s in by_source}
    contributed = {s.code: s.contributed for s in by_source}
    kinds = {s.code: s.kind for s in by_source}
    rank = {kind: n for n, kind in enumerate(order)}
    ranked = sorted(
        (s for s in net if net[s] > 0 or contributed[s] > 0),
        key=lambda s: (rank.get(kinds[s], len(rank)), s),
    )
    if not ranked:
        raise _nothing_contributed(on, fund)
    left, allocation = amount, {}
    for code in ranked:
        take = min(left, max(net[code], 0))
        if take:
            allocation[code] = take
            left -= take
    if left:
        allocation[ranked[-1]] = allocation.get(ranked[-1], 0) + left
    return allocation


def attribute(
    session: Session, amount: int, on: dt.date, rule: Mapping, fund: str = CITY_FUND
) -> tuple[str, dict[str, int]]:
    """Attribute a loss of ``fund`` to its sources under the ``loss_attribution`` rule;
    returns (rule name, parts)."""
    name = rule.get("rule", "pro_rata")
    if name == "first_loss":
        order = list(rule["first_loss_order"])
        return name, attribute_first_loss(session, amount, on, order, fund)
    return "pro_rata", attribute_pro_rata(session, amount, on, fund)


def _pending(session: Session, allocation_id: int) -> CapitalAllocation:
    allocation = session.scalar(
        select(CapitalAllocation).where(CapitalAllocation.id == allocation_id).with_for_update()
    )
    if allocation is None:
        raise StateError(
            f"no capital allocation {allocation_id}", zh=f"资金拨付记录 {allocation_id} 不存在"
        )
    if allocation.status != "pending":
        raise StateError(
            f"capital allocation {allocation_id} is already {allocation.status}",
            zh=f"资金拨付记录 {allocation_id} 已处理（{allocation.status}）",
        )
    return allocation


def _positive(amount: int, what: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise FundError(f"the {what} amount must be a positive number of fen", zh="金额必须大于零")
