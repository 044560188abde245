"""The fund statement for a period: opening capital by source, every movement, closing
capital; and the assets that hold it. What auditors and the joint conference office read.

Built from balances by effective date only, so the statement of a closed period is the
same tomorrow as today. Net capital always equals assets minus liabilities.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select
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
    #: Deposit interest and guarantee fees attributed in the period.
    income: int
    #: Losses attributed in the period, net: written off less recovered after write-off.
    losses: int
    #: ``income`` by kind: deposit interest, guarantee fees.
    interest: int = 0
    fees: int = 0
    #: ``losses`` by side: written off (debits of the source's loss account), and
    #: recovered after write-off (its credits), so ``losses = written_off - recovered``.
    written_off: int = 0
    recovered: int = 0

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
    #: Guarantee exposure per bank (every fund of the statement's at the bank), opening
    #: and closing; they add up to ``exposure``.
    exposures: tuple[AssetLine, ...] = ()
    #: How each entry kind moved the assets and the liability in the period:
    #: ``{kind: {line: fen}}``, a line one of :data:`FLOW_LINES`, fen signed in the
    #: line's normal direction (an asset up, claims payable up). Per line, the kinds add
    #: up to closing − opening; per kind, assets − liabilities is what it did to net
    #: capital.
    flows: dict[str, dict[str, int]] = field(default_factory=dict)

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
    accounts = _source_accounts(session, [s.code for s in sources], start, end)
    for s in sources:
        cap = accounts.get(chart.capital_account(s.code), _NOTHING)
        interest = accounts.get(chart.interest_income_account(s.code), _NOTHING)
        fees = accounts.get(chart.guarantee_fee_income_account(s.code), _NOTHING)
        loss = accounts.get(chart.loss_account(s.code), _NOTHING)
        lines.append(
            SourceLine(
                s.code,
                s.name,
                cap.opening + interest.opening + fees.opening - loss.opening,
                cap.change,
                interest.change + fees.change,
                loss.change,
                interest=interest.change,
                fees=fees.change,
                written_off=loss.debits,
                recovered=loss.credits,
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
    # A bank's exposure is the one balance of its exposure contra accounts (every exposure
    # posting pairs with it; verify checks it against its loans'): a few postings a day,
    # where the loans' own accounts hold one for every loan a bank file moved.
    exposures = []
    for bank in session.scalars(select(Bank).order_by(Bank.code)):
        codes = [chart.exposure_contra_account(bank.code, f) for f in scope]
        exposures.append(
            AssetLine(
                chart.exposure_account(bank.code, scope[0]),
                f"在保责任余额-{bank.name}",
                *_pair(session, codes, before, end),
            )
        )
    exposure = AssetLine(
        chart.EXPOSURE,
        "在保责任余额",
        sum(x.opening for x in exposures),
        sum(x.closing for x in exposures),
    )
    return FundStatement(
        start,
        end,
        lines,
        assets,
        payable,
        exposure,
        _movements(session, start, end, fund),
        fund,
        tuple(exposures),
        _flows(session, start, end, fund),
    )


@dataclass(frozen=True)
class _Activity:
    """One account's balance the day before the period, and its debits and credits in it,
    in its normal direction."""

    opening: int
    debits: int
    credits: int
    normal: str

    @property
    def change(self) -> int:
        net = self.debits - self.credits
        return net if self.normal == "D" else -net


_NOTHING = _Activity(0, 0, 0, "C")


def _source_accounts(
    session: Session, sources: list[str], start: dt.date, end: dt.date
) -> dict[str, _Activity]:
    """Every capital source's own accounts (capital, deposit interest, guarantee fees,
    losses) in one query: {code: activity}."""
    codes = []
    for code in sources:
        codes += [chart.capital_account(code), *chart.source_income_accounts(code)]
        codes.append(chart.loss_account(code))
    if not codes:
        return {}
    signed = case((Posting.side == Account.normal_side, Posting.amount), else_=-Posting.amount)
    in_period = Posting.effective_date >= start
    rows = session.execute(
        select(
            Account.code,
            Account.normal_side,
            func.coalesce(func.sum(case((Posting.effective_date < start, signed), else_=0)), 0),
            func.coalesce(
                func.sum(case((and_(in_period, Posting.side == "D"), Posting.amount), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case((and_(in_period, Posting.side == "C"), Posting.amount), else_=0)), 0
            ),
        )
        .join(Posting, Posting.account_id == Account.id)
        .where(Account.code.in_(codes), Posting.effective_date <= end)
        .group_by(Account.code, Account.normal_side)
    )
    return {
        code: _Activity(int(opening), int(debits), int(credits), normal)
        for code, normal, opening, debits, credits in rows
    }


#: The lines of the statement's assets and liability whose movements ``flows`` gives.
FLOW_LINES = ("treasury", "special", "receivable", "payable")

_LINE = case(
    (func.substr(Account.code, 1, len(chart.TREASURY)) == chart.TREASURY, "treasury"),
    (func.substr(Account.code, 1, len(chart.SPECIAL) + 1) == chart.SPECIAL + ":", "special"),
    (
        func.substr(Account.code, 1, len(chart.RECEIVABLE) + 1) == chart.RECEIVABLE + ":",
        "receivable",
    ),
    (
        func.substr(Account.code, 1, len(chart.CLAIMS_PAYABLE) + 1) == chart.CLAIMS_PAYABLE + ":",
        "payable",
    ),
    else_="",
)


def _flows(
    session: Session, start: dt.date, end: dt.date, fund: str | None
) -> dict[str, dict[str, int]]:
    """{entry kind: {line: fen}}: what each kind did to the treasury, the special accounts,
    the receivables and claims payable in the period (of ``fund``'s accounts, or every
    fund's)."""
    signed = case((Posting.side == Account.normal_side, Posting.amount), else_=-Posting.amount)
    query = (
        select(JournalEntry.kind, _LINE, func.sum(signed))
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            JournalEntry.effective_date.between(start, end),
            Account.type.in_(("asset", "liability")),
        )
        .group_by(JournalEntry.kind, _LINE)
    )
    if fund is not None:
        query = query.where(Account.fund == fund)
    flows: dict[str, dict[str, int]] = {}
    for kind, line, fen in session.execute(query):
        if line and fen:
            flows.setdefault(kind, dict.fromkeys(FLOW_LINES, 0))[line] = int(fen)
    return dict(sorted(flows.items()))


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
