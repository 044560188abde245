"""Option values every ``fundledger`` command group parses the same way: the actor and
dates, shared by every command module of ``ledger.cli``."""

from __future__ import annotations

import datetime as dt
import os

import click


def actor_of(value: str | None) -> str:
    """Who the command acts as: ``--actor``, else ``FUNDLEDGER_ACTOR``. The operation
    authenticates the name against the users table and checks its roles; a command that
    changes the books without either is a usage error."""
    actor = value or os.environ.get("FUNDLEDGER_ACTOR")
    if not actor:
        raise click.UsageError(
            "say who acts: --actor USER or FUNDLEDGER_ACTOR=USER (a user of the books)"
        )
    return actor


def parse_date(_ctx, _param, value):
    """Click callback: a ``YYYY-MM-DD`` date, or None."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
