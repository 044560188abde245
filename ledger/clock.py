"""The books' one source of the current time: naive UTC with microseconds, and the
bureau's business date."""

from __future__ import annotations

import datetime as dt

#: The bureau works on China time (UTC+8, no daylight saving).
CHINA_OFFSET = dt.timedelta(hours=8)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def business_today() -> dt.date:
    """Today's date in China: what "not in the future" and "today" mean for the fund."""
    return (utcnow() + CHINA_OFFSET).date()
