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
    banks = list(session.scalars(select(Bank).order_by(Bank.code)))
    # The treasury, the special and exposure contra accounts and claims payable are
    # postable accounts named by code: read in one pass over their own postings.
    leaves = {"treasury": [chart.treasury_account(f) for f in scope]}
    for bank in banks:
        leaves[f"special:{bank.code}"] = [chart.special_account(bank.code, f) for f in scope]
        # A bank's exposure is the one balance of its exposure contra accounts (every
        # exposure posting pairs with it; verify checks it against its loans'): a few
        # postings a day, where the loans' own accounts hold one for every loan moved.
        leaves[f"exposure:{bank.code}"] = [
            chart.exposure_contra_account(bank.code, f) for f in scope
        ]
    leaves["payable"] = [chart.claims_payable_account(b.code, f) for b in banks for f in scope]
    pairs = _leaf_pairs(session, leaves, before, end)
    assets = [AssetLine(chart.TREASURY, "财政待拨付资金", *pairs["treasury"])]
    for bank in banks:
        code = chart.special_account(bank.code, scope[0])
        assets.append(AssetLine(code, f"专户-{bank.name}", *pairs[f"special:{bank.code}"]))
    assets.append(
        AssetLine(
            chart.RECEIVABLE, "代偿应收款", *_pair(session, [chart.RECEIVABLE], before, end, fund)
        )
    )
    payable = AssetLine(chart.CLAIMS_PAYABLE, "应付代偿款", *pairs["payable"])
    exposures = [
        AssetLine(
            chart.exposure_account(bank.code, scope[0]),
            f"在保责任余额-{bank.name}",
            *pairs[f"exposure:{bank.code}"],
        )
        for bank in banks
    ]
    moved, flows = _movements(session, start, end, fund)
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
        moved,
        fund,
        tuple(exposures),
        flows,
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


def _leaf_pairs(
    session: Session, lines: dict[str, list[str]], before: dt.date, end: dt.date
) -> dict[str, tuple[int, int]]:
    """For each line, the balance of its postable accounts at the end of ``before`` and of
    ``end``, in their normal direction (a line's accounts share it): one query."""
    codes = sorted({code for named in lines.values() for code in named})
    by_code: dict[str, tuple[int, int]] = {}
    if codes:
        signed = case((Posting.side == Account.normal_side, Posting.amount),
                      else_=-Posting.amount)  # fmt: skip
        rows = session.execute(
            select(
                Account.code,
                func.coalesce(
                    func.sum(case((Posting.effective_date <= before, signed), else_=0)), 0
                ),
                func.coalesce(func.sum(signed), 0),
            )
            .join(Posting, Posting.account_id == Account.id)
            .where(Account.code.in_(codes), Posting.effective_date <= end)
            .group_by(Account.code)
        )
        by_code = {code: (int(opening), int(closing)) for code, opening, closing in rows}
    return {
        line: (
            sum(by_code.get(code, (0, 0))[0] for code in named),
            sum(by_code.get(code, (0, 0))[1] for code in named),
        )
        for line, named in lines.items()
    }


def _pair(
    session: Session, codes: list[str], before: dt.date, end: dt.date, fund: str | None = None
) -> tuple[int, int]:
    """Balance of ``codes``' subtrees (their accounts of ``fund`` only, when given) at the
    end of ``before`` and of ``end``, in the normal direction of the first.

    A postable account has no children: those named are read by their ids (the postings'
    index by account and date), only a group by its subtree."""
    named = session.execute(
        select(Account.id, Account.code, Account.is_group, Account.normal_side, Account.fund)
        .where(Account.code.in_(codes))
    ).all()  # fmt: skip
    normal = next((a.normal_side for a in named if a.code == codes[0]), None)
    if normal is None:
        return 0, 0
    leaves = [a.id for a in named if not a.is_group and (fund is None or a.fund == fund)]
    groups = [a.code for a in named if a.is_group]
    which = [Posting.account_id.in_(leaves)] if leaves else []
    if groups:
        under = select(Account.id).where(or_(*(subtree_filter(code) for code in groups)))
        if fund is not None:
            under = under.where(Account.fund == fund)
        which.append(Posting.account_id.in_(under))
    if not which:
        return 0, 0
    signed = case((Posting.side == normal, Posting.amount), else_=-Posting.amount)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((Posting.effective_date <= before, signed), else_=0)), 0),
            func.coalesce(func.sum(signed), 0),
        ).where(or_(*which), Posting.effective_date <= end)
    ).one()
    return int(row[0]), int(row[1])


def _movements(
    session: Session, start: dt.date, end: dt.date, fund: str | None = None
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """In one pass over the period's postings on the books' own (not memorandum) accounts:
    fen moved per entry kind (its debits), and what each kind did to each of
    :data:`FLOW_LINES` (signed in the line's normal direction)."""
    query = (
        select(
            JournalEntry.kind, _LINE, Posting.side, Account.normal_side, func.sum(Posting.amount)
        )
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            JournalEntry.effective_date.between(start, end),
            Account.type != "memorandum",
        )
        .group_by(JournalEntry.kind, _LINE, Posting.side, Account.normal_side)
    )
    if fund is not None:
        query = query.where(Account.fund == fund)
    moved: dict[str, int] = {}
    flows: dict[str, dict[str, int]] = {}
    for kind, line, side, normal, fen in session.execute(query):
        fen = int(fen)
        if side == "D":
            moved[kind] = moved.get(kind, 0) + fen
        if line:
            lines = flows.setdefault(kind, dict.fromkeys(FLOW_LINES, 0))
            lines[line] += fen if side == normal else -fen
    flows = {k: v for k, v in sorted(flows.items()) if any(v.values())}
    return dict(sorted(moved.items())), flows
