"""What the reports share: reading their parameters, columns, making the value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ledger.clock import utcnow
from ledger.reports.document import Anchor, Column, Report, Section
from ledger.reports.errors import ReportError


def money(key: str, zh: str, en: str) -> Column:
    return Column(key, zh, en, "money")


def text(key: str, zh: str, en: str) -> Column:
    return Column(key, zh, en, "text")


def date(key: str, zh: str, en: str) -> Column:
    return Column(key, zh, en, "date")


def report(
    kind: str,
    zh: str,
    en: str,
    params: Mapping[str, str | Sequence[str] | None],
    sections: Sequence[Section],
    anchor: Anchor,
) -> Report:
    """The report value: its parameters as sorted (key, text) pairs (a list of values
    gives one pair each; None is left out), produced now."""
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        values = [value] if isinstance(value, str) else list(value)
        pairs += [(key, str(v)) for v in values]
    return Report(kind, zh, en, tuple(sorted(pairs)), tuple(sections), anchor, utcnow())


def parse_date(params: Mapping[str, object], key: str, *, required: bool = True) -> dt.date | None:
    """The date parameter ``key`` (``YYYY-MM-DD``)."""
    value = params.get(key)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value in (None, ""):
        if required:
            raise ReportError(f"the report needs --{key.replace('_', '-')} (YYYY-MM-DD)",
                              zh=f"报表缺少参数 {key}（YYYY-MM-DD）")  # fmt: skip
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ReportError(
            f"{key}: {value!r} is not a date (YYYY-MM-DD)",
            zh=f"参数 {key} 不是日期：{value!r}（应为 YYYY-MM-DD）",
        ) from None


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ReportError(
            f"the period ends ({end}) before it starts ({start})",
            zh=f"报表期间的结束日期（{end}）早于开始日期（{start}）",
        )


def one(params: Mapping[str, object], key: str) -> str | None:
    """A parameter given at most once, as text (None: not given)."""
    value = params.get(key)
    if isinstance(value, list | tuple):
        if len(value) > 1:
            raise ReportError(f"{key} is given {len(value)} times", zh=f"参数 {key} 重复")
        value = value[0] if value else None
    return None if value in (None, "") else str(value)


def many(params: Mapping[str, object], key: str) -> list[str]:
    value = params.get(key)
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
