"""Closing the books through a date: afterwards no entry may be dated on or before it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ledger.chain import seal_and_hold
from ledger.clock import business_today, utcnow
from ledger.errors import PeriodError
from ledger.models import PeriodClose


def closed_through(session: Session) -> dt.date | None:
    return session.scalar(select(func.max(PeriodClose.closed_through)))


def close_period(
    session: Session, through: dt.date, *, actor: str, today: dt.date | None = None
) -> PeriodClose:
    """Close the books through ``through``. A close only moves forward and is never undone.

    The close records the hash chain's head it covers (``chain_seq``, ``chain_hash``):
    what is committed and awaits its seal is sealed first, in this transaction, which
    holds the head until it commits — every entry dated in the period is at or before it.

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
    if session.get_bind().dialect.name == "postgresql":
        # Wait for every transaction writing entries to end, and hold back new ones until
        # this close commits (their triggers then see it and refuse an entry dated in the
        # period): the head recorded below covers every entry dated in the period. Readers
        # are not held. (SQLite's BEGIN IMMEDIATE already made this the only writer.)
        session.execute(text("LOCK TABLE journal_entries IN SHARE MODE"))
    seq, head_hash = seal_and_hold(session)
    close = PeriodClose(
        closed_through=through, closed_at=utcnow(), actor=actor, chain_seq=seq, chain_hash=head_hash
    )
    session.add(close)
    session.flush()
    return close
