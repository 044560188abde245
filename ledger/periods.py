"""Closing the books through a date: afterwards no entry may be dated on or before it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.clock import business_today, utcnow
from ledger.errors import PeriodError
from ledger.models import PeriodClose


def closed_through(session: Session) -> dt.date | None:
    return session.scalar(select(func.max(PeriodClose.closed_through)))


def close_period(
    session: Session, through: dt.date, *, actor: str, today: dt.date | None = None
) -> PeriodClose:
    """Close the books through ``through``. A close only moves forward and is never undone.

    ``today`` is the business date (China time) like every other operation's: from
    00:00 to 08:00 in Beijing the UTC date is still yesterday's.
    """
    today = today or business_today()
    if through >= today:
        raise PeriodError(
            f"cannot close through {through}: only days before today ({today}) can be closed"
        )
    current = closed_through(session)
    if current is not None and through <= current:
        raise PeriodError(f"the books are already closed through {current}")
    close = PeriodClose(closed_through=through, closed_at=utcnow(), actor=actor)
    session.add(close)
    session.flush()
    return close
