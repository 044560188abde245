"""Option values every ``fundledger`` command group parses the same way: the actor and
dates. Its own module so that ``ledger.cli`` and ``ledger.fund.cli`` share it without
importing each other."""

from __future__ import annotations

import datetime as dt
import getpass
import os

import click


def actor_of(value: str | None) -> str:
    """The actor to record: the option, else ``FUNDLEDGER_ACTOR``, else ``cli:<login>``."""
    return value or os.environ.get("FUNDLEDGER_ACTOR") or f"cli:{getpass.getuser()}"


def parse_date(_ctx, _param, value):
    """Click callback: a ``YYYY-MM-DD`` date, or None."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
