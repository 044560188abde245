"""How a page shows a figure: every amount in yuan with thousands separators, every
rate as a percentage, every date in ISO form, every moment in China time — the same
functions the command line uses (``ledger.money``)."""

from __future__ import annotations

import datetime as dt

from flask import Flask, request, url_for
from markupsafe import Markup

from ledger.clock import CHINA_OFFSET
from ledger.money import format_percent, format_yuan


def yuan(fen: int | None) -> str:
    return "—" if fen is None else format_yuan(int(fen))


def percent(ppm: int | None) -> str:
    return format_percent(ppm)


def iso(day: dt.date | dt.datetime | None) -> str:
    if day is None:
        return "—"
    if isinstance(day, dt.datetime):
        return (day + CHINA_OFFSET).strftime("%Y-%m-%d %H:%M:%S")
    return day.isoformat()


def signed(fen: int | None) -> Markup:
    """An amount with a class saying its sign, for a table cell."""
    if fen is None:
        return Markup('<span class="muted">—</span>')
    cls = "neg" if fen < 0 else "pos" if fen > 0 else "zero"
    return Markup('<span class="{}">{}</span>').format(cls, format_yuan(int(fen)))


def page_url(**changes) -> str:
    """The current page's URL with ``changes`` to its query (None drops a key)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(yuan=yuan, percent=percent, iso=iso, signed=signed)
    app.jinja_env.globals.update(page_url=page_url)
