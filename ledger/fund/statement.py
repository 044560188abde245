"""The fund statement for a period: opening capital by source, every movement, closing
capital; and the assets that hold it. What auditors and the joint conference office read.

Built from balances by effective date only, so the statement of a closed period is the
same tomorrow as today. Net capital always equals assets minus liabilities.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.accounts import subtree_filter
from ledger.fund.models import Bank, CapitalSource
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

    @property
    def opening(self) -> int:
        return sum(s.opening for s in self.sources)

    @property
    def closing(self) -> int:
        return sum(s.closing for s in self.sources)


def fund_statement(session: Session, start: dt.date, end: dt.date) -> FundStatement:
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    before = start - dt.timedelta(days=1)
    sources = list(session.scalars(select(CapitalSource).order_by(CapitalSource.code)))
    lines = []
    for s in sources:
        cap = _pair(session, chart.capital_account(s.code), before, end)
        inc = _pair(session, chart.interest_income_account(s.code), before, end)
        loss = _pair(session, chart.loss_account(s.code), before, end)
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
    assets = [
        AssetLine(chart.TREASURY, "财政待拨付资金", *_pair(session, chart.TREASURY, before, end))
    ]
    for bank in session.scalars(select(Bank).order_by(Bank.code)):
        code = chart.special_account(bank.code)
        assets.append(AssetLine(code, f"专户-{bank.name}", *_pair(session, code, before, end)))
    assets.append(
        AssetLine(chart.RECEIVABLE, "代偿应收款", *_pair(session, chart.RECEIVABLE, before, end))
    )
    payable = AssetLine(
        chart.CLAIMS_PAYABLE, "应付代偿款", *_pair(session, chart.CLAIMS_PAYABLE, before, end)
    )
    exposure = AssetLine(
        chart.EXPOSURE, "在保责任余额", *_pair(session, chart.EXPOSURE, before, end)
    )
    return FundStatement(
        start, end, lines, assets, payable, exposure, _movements(session, start, end)
    )


def _pair(session: Session, code: str, before: dt.date, end: dt.date) -> tuple[int, int]:
    """Balance of ``code``'s subtree at the end of ``before`` and of ``end``."""
    normal = session.scalar(select(Account.normal_side).where(Account.code == code))
    if normal is None:
        return 0, 0
    signed = case((Posting.side == normal, Posting.amount), else_=-Posting.amount)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((Posting.effective_date <= before, signed), else_=0)), 0),
            func.coalesce(func.sum(signed), 0),
        )
        .join(Account, Account.id == Posting.account_id)
        .where(subtree_filter(code), Posting.effective_date <= end)
    ).one()
    return int(row[0]), int(row[1])


def _movements(session: Session, start: dt.date, end: dt.date) -> dict[str, int]:
    rows = session.execute(
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
    return {kind: int(total) for kind, total in rows}
