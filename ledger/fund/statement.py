"""The fund statement for a period: opening capital by source, every movement, closing
capital; and the assets that hold it. What auditors and the joint conference office read.

Built from balances by effective date only, so the statement of a closed period is the
same tomorrow as today. Net capital always equals assets minus liabilities.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.accounts import subtree_filter
from ledger.fund.funds import fund_codes
from ledger.fund.models import Bank
from ledger.fund.reference import all_sources
from ledger.models import Account, JournalEntry, Posting


@dataclass(frozen=True)
class SourceLine:
    code: str
    name: str
    opening: int
    contributed: int
    income: int
    losses: int

    @property
    def closing(self) -> int:
        return self.opening + self.contributed + self.income - self.losses


@dataclass(frozen=True)
class AssetLine:
    code: str
    name: str
    opening: int
    closing: int


@dataclass(frozen=True)
class FundStatement:
    start: dt.date
    end: dt.date
    sources: list[SourceLine]
    #: Treasury, each bank's special account, compensation receivable; minus claims payable.
    assets: list[AssetLine]
    liabilities: AssetLine
    #: Guarantee exposure outstanding (memorandum), opening and closing.
    exposure: AssetLine
    #: Fen moved in the period per entry kind (debit side of each entry).
    movements: dict[str, int]
    #: The fund it is of; None: every fund, consolidated for the city.
    fund: str | None = None

    @property
    def opening(self) -> int:
        return sum(s.opening for s in self.sources)

    @property
    def closing(self) -> int:
        return sum(s.closing for s in self.sources)


def fund_statement(
    session: Session, start: dt.date, end: dt.date, fund: str | None = None
) -> FundStatement:
    """The statement of ``fund`` for [start, end], or of every fund consolidated for the
    city when None (each line then sums the funds' accounts of its kind)."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    before = start - dt.timedelta(days=1)
    scope = [fund] if fund is not None else fund_codes(session)
    sources = all_sources(session, fund)
    lines = []
    for s in sources:
        cap = _pair(session, [chart.capital_account(s.code)], before, end)
        inc = _pair(session, list(chart.source_income_accounts(s.code)), before, end)
        loss = _pair(session, [chart.loss_account(s.code)], before, end)
        lines.append(
            SourceLine(
                s.code,
                s.name,
                cap[0] + inc[0] - loss[0],
                cap[1] - cap[0],
                inc[1] - inc[0],
                loss[1] - loss[0],
            )
        )
    treasuries = [chart.treasury_account(f) for f in scope]
    assets = [AssetLine(chart.TREASURY, "财政待拨付资金", *_pair(session, treasuries, before, end))]
    for bank in session.scalars(select(Bank).order_by(Bank.code)):
        codes = [chart.special_account(bank.code, f) for f in scope]
        pair = _pair(session, codes, before, end)
        assets.append(AssetLine(codes[0], f"专户-{bank.name}", *pair))
    assets.append(
        AssetLine(
            chart.RECEIVABLE, "代偿应收款", *_pair(session, [chart.RECEIVABLE], before, end, fund)
        )
    )
    payable = AssetLine(
        chart.CLAIMS_PAYABLE,
        "应付代偿款",
        *_pair(session, [chart.CLAIMS_PAYABLE], before, end, fund),
    )
    exposure = AssetLine(
        chart.EXPOSURE, "在保责任余额", *_pair(session, [chart.EXPOSURE], before, end, fund)
    )
    return FundStatement(
        start, end, lines, assets, payable, exposure, _movements(session, start, end, fund), fund
    )


def _pair(
    session: Session, codes: list[str], before: dt.date, end: dt.date, fund: str | None = None
) -> tuple[int, int]:
    """Balance of ``codes``' subtrees (their accounts of ``fund`` only, when given) at the
    end of ``before`` and of ``end``."""
    normal = session.scalar(select(Account.normal_side).where(Account.code == codes[0]))
    if normal is None:
        return 0, 0
    signed = case((Posting.side == normal, Posting.amount), else_=-Posting.amount)
    query = (
        select(
            func.coalesce(func.sum(case((Posting.effective_date <= before, signed), else_=0)), 0),
            func.coalesce(func.sum(signed), 0),
        )
        .join(Account, Account.id == Posting.account_id)
        .where(or_(*(subtree_filter(code) for code in codes)), Posting.effective_date <= end)
    )
    if fund is not None:
        query = query.where(Account.fund == fund)
    row = session.execute(query).one()
    return int(row[0]), int(row[1])


def _movements(
    session: Session, start: dt.date, end: dt.date, fund: str | None = None
) -> dict[str, int]:
    query = (
        select(JournalEntry.kind, func.sum(Posting.amount))
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            JournalEntry.effective_date.between(start, end),
            Posting.side == "D",
            Account.type != "memorandum",
        )
        .group_by(JournalEntry.kind)
        .order_by(JournalEntry.kind)
    )
    if fund is not None:
        query = query.where(Account.fund == fund)
    rows = session.execute(query)
    return {kind: int(total) for kind, total in rows}
