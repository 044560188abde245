"""Month-end: what the bureau reviews before closing (the trial balance and the month's
fund statement) and the guard: a period closes only when no break found in it is open
and unexplained (explained and resolved ones do not hold it)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.balances import TrialBalance, trial_balance
from ledger.fund.closing import close_books
from ledger.fund.statement import FundStatement, fund_statement
from ledger.recon.errors import OpenBreaksError
from ledger.recon.models import Break, BreakStatus


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    year, m = (int(x) for x in month.split("-"))
    return dt.date(year, m, 1), dt.date(year, m, calendar.monthrange(year, m)[1])


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


def close_through(session: Session, through: dt.date, *, actor: str, today: dt.date | None = None):
    """Close the books through ``through`` if no break found by then is open and
    unexplained: what ``fundledger close-period``, the month-end job and the app call."""
    require_no_open_breaks(session, through)
    return close_books(session, through, actor=actor, today=today)


def close_month(session: Session, month: str, *, actor: str, today: dt.date | None = None):
    """Close the books through the month's last day, if no break of it is open."""
    return close_through(session, month_bounds(month)[1], actor=actor, today=today)
