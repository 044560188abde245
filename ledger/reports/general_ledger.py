"""General-ledger detail (明细账) of an account or a subtree — or several — for a period:
the opening balance, every posting with its running balance, and the closing balance.
Each posting links to its entry and to the entry's source (``ledger.reports.sources``).

This is also the ``postings`` list the other reports drill into: its filters are the
accounts (``account``, repeatable: each with the accounts below it), the period (``from``,
``to``; no ``from``: from the first posting, the opening then 0), the fund (``fund``:
only the accounts of that fund), the entry kind (``kind``) and the side (``side``, D or
C: the debits or the credits only). Amounts are signed in the normal direction of the
first account named, so a list of a source's capital, income and loss accounts adds up
to its net capital.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from ledger.accounts import get_account, subtree_filter
from ledger.models import Account, JournalEntry, Posting
from ledger.reports.anchor import anchor_for
from ledger.reports.common import check_period, date, many, money, one, parse_date, report, text
from ledger.reports.document import Drill, Report, Row, Section
from ledger.reports.errors import ReportError
from ledger.reports.sources import entry_sources

KIND = "ledger"
ZH, EN = "明细分类账", "General-ledger detail"

COLUMNS = (
    date("date", "日期", "Date"),
    text("entry", "分录号", "Entry"),
    text("kind", "业务类型", "Kind"),
    text("account", "科目", "Account"),
    text("description", "摘要", "Description"),
    text("source", "来源", "Source"),
    money("debit", "借方", "Debit"),
    money("credit", "贷方", "Credit"),
    money("balance", "余额", "Balance"),
)

OPENING, CLOSING = "期初余额", "本期合计及期末余额"


def drill(
    accounts: Sequence[str],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    fund: str | None = None,
    kind: str | None = None,
    side: str | None = None,
) -> Drill:
    """The ``postings`` list behind a figure: these filters of this report."""
    params = [("account", a) for a in accounts]
    for key, value in (("from", start), ("to", end), ("fund", fund), ("kind", kind),
                       ("side", side)):  # fmt: skip
        if value is not None:
            params.append((key, str(value)))
    return Drill("postings", tuple(params))


def general_ledger(
    session: Session,
    accounts: Sequence[str],
    start: dt.date | None,
    end: dt.date,
    *,
    fund: str | None = None,
    kind: str | None = None,
    side: str | None = None,
) -> Report:
    if not accounts:
        raise ReportError("name at least one account", zh="请指定至少一个科目")
    if start is not None:
        check_period(start, end)
    if side not in (None, "D", "C"):
        raise ReportError(f"side is D or C, not {side!r}", zh=f"借贷方向应为 D 或 C，不是 {side!r}")
    roots = [get_account(session, code) for code in accounts]
    normal = roots[0].normal_side
    anchor = anchor_for(session, end)
    signed = case((Posting.side == normal, Posting.amount), else_=-Posting.amount)
    where = [or_(*(subtree_filter(a) for a in accounts)), Posting.effective_date <= end]
    if fund is not None:
        where.append(Account.fund == fund)
    if side is not None:
        where.append(Posting.side == side)
    if kind is not None:
        where.append(JournalEntry.kind == kind)
    opening = 0
    if start is not None:
        query = (
            select(func.coalesce(func.sum(signed), 0))
            .select_from(Posting)
            .join(Account, Account.id == Posting.account_id)
            .where(*where, Posting.effective_date < start)
        )
        if kind is not None:
            query = query.join(JournalEntry, JournalEntry.id == Posting.entry_id)
        opening = int(session.scalar(query))
    query = (
        select(
            Posting.effective_date, Posting.entry_id, JournalEntry.kind, Account.code,
            Account.loan, JournalEntry.description, Posting.side, Posting.amount,
        )
        .join(Account, Account.id == Posting.account_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(*where)
        .order_by(Posting.effective_date, Posting.entry_id, Posting.id)
    )  # fmt: skip
    if start is not None:
        query = query.where(Posting.effective_date >= start)
    lines = session.execute(query).all()
    sources = entry_sources(session, [(x.entry_id, _loan_id(x.loan)) for x in lines])
    filters = {"fund": fund, "kind": kind, "side": side}
    before = start - dt.timedelta(days=1) if start is not None else None
    rows = [
        Row(
            (start, "", "", "", OPENING, "", None, None, opening),
            (None,) * 8 + (drill(accounts, end=before, **filters) if before else None,),
        )
    ]
    balance, debits, credits = opening, 0, 0
    for x in lines:
        amount = int(x.amount)
        balance += amount if x.side == normal else -amount
        debits += amount if x.side == "D" else 0
        credits += amount if x.side == "C" else 0
        source = sources[(x.entry_id, _loan_id(x.loan))]
        rows.append(
            Row(
                (
                    x.effective_date, str(x.entry_id), x.kind, x.code, x.description, source.zh,
                    amount if x.side == "D" else None, amount if x.side == "C" else None,
                    balance,
                ),
                (None, Drill("entry", (("id", str(x.entry_id)),)), None, None, None,
                 source.drill, None, None, None),
            )
        )  # fmt: skip
    sides = {key: value for key, value in filters.items() if key != "side"}
    rows.append(
        Row(
            (end, "", "", "", CLOSING, "", debits, credits, balance),
            (None,) * 6 + (
                drill(accounts, start=start, end=end, **sides, side=side or "D"),
                drill(accounts, start=start, end=end, **sides, side=side or "C"),
                drill(accounts, end=end, **filters),
            ),
            total=True,
        )
    )  # fmt: skip
    title = "、".join(f"{r.code} {r.name}" for r in roots)
    section = Section("postings", f"明细账：{title}", f"Ledger: {', '.join(accounts)}",
                      COLUMNS, tuple(rows))  # fmt: skip
    params = {"account": list(accounts), "from": start and start.isoformat(),
              "to": end.isoformat(), **filters}  # fmt: skip
    return report(KIND, ZH, EN, params, [section], anchor)


def _loan_id(loan: str | None) -> int | None:
    """The loan id of an account's loan dimension (``L12``)."""
    if loan and loan.startswith("L") and loan[1:].isdigit():
        return int(loan[1:])
    return None


def from_params(session: Session, params: Mapping[str, object]) -> Report:
    return general_ledger(
        session,
        many(params, "account"),
        parse_date(params, "from", required=False),
        parse_date(params, "to"),
        fund=one(params, "fund"),
        kind=one(params, "kind"),
        side=one(params, "side"),
    )


def period(params: Mapping[str, object]) -> tuple[dt.date | None, dt.date]:
    return parse_date(params, "from", required=False), parse_date(params, "to")
