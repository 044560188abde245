"""Named leases: one holder at a time, until the lease expires or is released.

The scheduler holds the ``scheduler`` lease while it runs jobs and renews it well before
it expires; a second scheduler process finds it held and idles, and takes it over only
once the first has stopped renewing it (crashed, or released it on shutdown). One row
per lease, taken by one conditional UPDATE, works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.ops.models import Lease


@dataclass(frozen=True)
class LeaseView:
    name: str
    holder: str
    acquired_at: dt.datetime
    expires_at: dt.datetime


def acquire_lease(
    session: Session,
    name: str,
    holder: str,
    ttl: dt.timedelta,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Take (or keep) lease ``name`` for ``holder`` until ``now + ttl``: True if it now
    holds it, False if another holder's lease has not expired.

    A holder that already holds the lease renews it. Two processes acquiring at once:
    PostgreSQL makes the second UPDATE wait for the first and re-check its condition
    on the row the first left, SQLite runs one writer at a time; either way one wins.
    """
    now = now or utcnow()
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at <= now))
        .values(
            holder=holder,
            expires_at=now + ttl,
            # Kept when the holder renews: taken over, it starts again.
            acquired_at=_acquired_case(holder, now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        return True
    if session.get(Lease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
    except IntegrityError:
        return False  # another process created it first and holds it
    return True


def _acquired_case(holder: str, now: dt.datetime):
    return case((Lease.holder == holder, Lease.acquired_at), else_=now)


def renew_lease(
    session: Session,
    name: str,
    holder: str,
    ttl: dt.timedelta,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Extend ``holder``'s lease to ``now + ttl``; False if it no longer holds it (it
    expired and another took it over)."""
    now = now or utcnow()
    return bool(
        session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def release_lease(
    session: Session, name: str, holder: str, *, now: dt.datetime | None = None
) -> bool:
    """Give the lease up at once (it expires now), if ``holder`` holds it."""
    now = now or utcnow()
    return bool(
        session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def lease_holder(
    session: Session, name: str, *, now: dt.datetime | None = None
) -> LeaseView | None:
    """The lease while it is held (None when free or expired)."""
    now = now or utcnow()
    row = session.scalars(select(Lease).where(Lease.name == name)).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    return LeaseView(row.name, row.holder, row.acquired_at, row.expires_at)
