"""Month-end: what the bureau reviews before closing (the trial balance and the month's
fund statement), kept as a snapshot with the hash chain's head when it was prepared, and
the guard: a period closes only when no break found in it is open and unexplained
(explained and resolved ones do not hold it)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.balances import TrialBalance, trial_balance
from ledger.chain import seal_pending
from ledger.clock import utcnow
from ledger.db import run_in_transaction
from ledger.fund.closing import close_books
from ledger.fund.reference import Role, require_role
from ledger.fund.statement import FundStatement, fund_statement
from ledger.models import LedgerHead
from ledger.recon.errors import OpenBreaksError, ReconError
from ledger.recon.models import Break, BreakStatus, MonthEndSnapshot


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``month`` (YYYY-MM)."""
    try:
        year, m = (int(x) for x in month.split("-"))
        return dt.date(year, m, 1), dt.date(year, m, calendar.monthrange(year, m)[1])
    except (ValueError, calendar.IllegalMonthError):
        raise ReconError(
            f"not a month: {month!r} (YYYY-MM)", zh=f"月份格式不正确：{month!r}（应为 YYYY-MM）"
        ) from None


@dataclass(frozen=True)
class MonthEnd:
    month: str
    trial_balance: TrialBalance
    statement: FundStatement
    open_breaks: tuple[int, ...]


def open_breaks_through(session: Session, through: dt.date) -> tuple[int, ...]:
    """Ids of the breaks found on or before ``through`` still open and unexplained."""
    return tuple(
        session.scalars(
            select(Break.id)
            .where(Break.status == BreakStatus.OPEN.value, Break.found_on <= through)
            .order_by(Break.id)
        )
    )


def require_no_open_breaks(session: Session, through: dt.date) -> None:
    """Refuse closing through ``through`` while a break found by then is open."""
    ids = open_breaks_through(session, through)
    if ids:
        shown = ", ".join(map(str, ids[:10])) + (" …" if len(ids) > 10 else "")
        raise OpenBreaksError(
            f"{len(ids)} reconciliation breaks found by {through} are open and unexplained "
            f"({shown}); explain or resolve them before closing",
            zh=f"截至 {through} 发现的 {len(ids)} 项对账差异尚未处理（{shown}），"
            "须先说明或解决才能结账",
        )


def prepare_month_end(session: Session, month: str) -> MonthEnd:
    start, end = month_bounds(month)
    return MonthEnd(
        month, trial_balance(session, as_of=end), fund_statement(session, start, end),
        open_breaks_through(session, end),
    )  # fmt: skip


@dataclass(frozen=True)
class Snapshot:
    """A stored month-end snapshot, as values."""

    month: str
    as_of: dt.date
    prepared_at: dt.datetime
    prepared_by: str
    chain_seq: int
    chain_hash: str
    #: (account code, debit, credit) of every account with a balance.
    lines: tuple[tuple[str, int, int], ...]
    opening: int
    closing: int
    #: {source code: (opening, closing)}.
    sources: dict[str, tuple[int, int]]
    movements: dict[str, int]
    open_breaks: int

    @property
    def totals(self) -> tuple[int, int]:
        return sum(ln[1] for ln in self.lines), sum(ln[2] for ln in self.lines)


def snapshot_month_end(session: Session, month: str, *, actor: str) -> Snapshot:
    """Prepare ``month``'s month-end and store it (replacing an earlier preparation of the
    same month): the trial balance as of its last day, its fund statement, the breaks
    holding the close and the chain head now. What the month-end job does; an approver
    or a clerk may prepare it again before closing."""
    require_role(session, actor, Role.SYSTEM, Role.CLERK, Role.APPROVER, Role.ADMIN)
    prepared = prepare_month_end(session, month)
    head = session.get(LedgerHead, 1)
    row = session.scalar(select(MonthEndSnapshot).where(MonthEndSnapshot.month == month))
    if row is None:
        row = MonthEndSnapshot(month=month)
        session.add(row)
    st = prepared.statement
    row.as_of = prepared.trial_balance.as_of
    row.prepared_at = utcnow()
    row.prepared_by = str(actor)
    row.chain_seq, row.chain_hash = (head.seq, head.hash) if head else (0, "")
    row.trial_balance = {
        "lines": [[ln.code, ln.debit, ln.credit] for ln in prepared.trial_balance.lines
                  if ln.debit or ln.credit]
    }  # fmt: skip
    row.statement = {
        "opening": st.opening,
        "closing": st.closing,
        "sources": {s.code: [s.opening, s.closing] for s in st.sources},
        "movements": dict(st.movements),
    }
    row.open_breaks = len(prepared.open_breaks)
    session.flush()
    return _snapshot(row)


#: Who may read a month-end snapshot: the bureau and its auditors, not a bank.
READERS = (Role.CLERK, Role.APPROVER, Role.AUDITOR, Role.ADMIN, Role.SYSTEM)


def prepare_snapshot(factory: sessionmaker[Session], month: str, *, actor: str) -> Snapshot:
    """Seal what awaits its place in the hash chain (on PostgreSQL the sealer may not
    have reached the last commits yet), then prepare and store ``month``'s snapshot in a
    transaction of its own: its chain head then covers every entry it counts. What the
    month-end job, ``fundledger month-end prepare`` and the app call."""
    seal_pending(factory.kw["bind"])
    return run_in_transaction(factory, lambda s: snapshot_month_end(s, month, actor=actor))


def month_end_snapshot(session: Session, month: str, *, actor: str) -> Snapshot:
    """The stored snapshot of ``month``; refuses a month never prepared."""
    require_role(session, actor, *READERS)
    month_bounds(month)
    row = session.scalar(select(MonthEndSnapshot).where(MonthEndSnapshot.month == month))
    if row is None:
        raise ReconError(
            f"month-end of {month} has not been prepared",
            zh=f"{month} 月末尚未生成试算平衡快照",
        )
    return _snapshot(row)


def changed_since_snapshot(
    session: Session, month: str, *, actor: str
) -> tuple[tuple[str, int, int, int, int], ...]:
    """The accounts whose balance as of the month's last day is not what the snapshot
    holds (an entry backdated into the month since it was prepared): (code, debit then,
    credit then, debit now, credit now)."""
    snap = month_end_snapshot(session, month, actor=actor)
    then = {code: (d, c) for code, d, c in snap.lines}
    now = {
        ln.code: (ln.debit, ln.credit)
        for ln in trial_balance(session, as_of=snap.as_of).lines
        if ln.debit or ln.credit
    }
    return tuple(
        (code, *then.get(code, (0, 0)), *now.get(code, (0, 0)))
        for code in sorted(then.keys() | now.keys())
        if then.get(code, (0, 0)) != now.get(code, (0, 0))
    )


def _snapshot(row: MonthEndSnapshot) -> Snapshot:
    st = row.statement
    return Snapshot(
        row.month, row.as_of, row.prepared_at, row.prepared_by, row.chain_seq, row.chain_hash,
        tuple((code, d, c) for code, d, c in row.trial_balance["lines"]),
        st["opening"], st["closing"],
        {code: (o, c) for code, (o, c) in st["sources"].items()},
        dict(st["movements"]), row.open_breaks,
    )  # fmt: skip


def close_through(session: Session, through: dt.date, *, actor: str, today: dt.date | None = None):
    """Close the books through ``through`` if no break found by then is open and
    unexplained: what ``fundledger close-period``, the month-end job and the app call."""
    require_no_open_breaks(session, through)
    return close_books(session, through, actor=actor, today=today)


def close_month(session: Session, month: str, *, actor: str, today: dt.date | None = None):
    """Close the books through the month's last day, if no break of it is open."""
    return close_through(session, month_bounds(month)[1], actor=actor, today=today)
