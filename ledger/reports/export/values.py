"""A report's figures as a file shows them, and back: the one place that converts.

Money is fen in the report; a file shows yuan with two decimals (``1234.50``, exact:
``ledger.money``). A ratio is ppm; a file shows it as a percentage with at least two
decimals (``4.35%``, exact). Counts are integers, dates ISO, text as it is.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from ledger.money import fen_to_yuan, format_percent, yuan_to_fen
from ledger.reports.document import Cell, Column, Report
from ledger.reports.errors import UnreadableReportError

#: What a spreadsheet program takes for the start of a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: The unit of money in every file.
UNIT = ("元", "yuan")


def heading(column: Column) -> str:
    return f"{column.zh} {column.en}"


def params_line(report: Report) -> str:
    """The parameters as one line of text, for a title block or a footer."""
    return "，".join(f"{k}={v}" for k, v in report.params) or "—"


def anchor_text(report: Report) -> str:
    a = report.anchor
    state = f"closed through {a.closed_through}" if a.closed else "open"
    return f"{a.seq} {a.hash} {state}"


def to_text(value: Cell, column: Column) -> str:
    """A cell as a CSV (or a table) shows it."""
    if value is None:
        return ""
    if column.kind == "money":
        return str(fen_to_yuan(value))
    if column.kind == "ratio":
        return format_percent(value)
    if column.kind == "count":
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def inert(value: str) -> str:
    """A text cell a spreadsheet shows and never runs: one that begins like a formula gets
    a leading apostrophe (taken off again by :func:`from_text`)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def from_text(value: str, column: Column) -> Cell:
    """A cell as a CSV holds it, back as the report's figure (an empty text cell is "":
    a report's text cells are never None)."""
    if value == "":
        return "" if column.kind == "text" else None
    try:
        if column.kind == "money":
            return yuan_to_fen(value.replace(",", ""))
        if column.kind == "ratio":
            return percent_to_ppm(value)
        if column.kind == "count":
            return int(value)
        if column.kind == "date":
            return dt.date.fromisoformat(value)
    except (ValueError, InvalidOperation) as exc:
        raise UnreadableReportError(
            f"{column.key}: {value!r} is not a {column.kind} figure ({exc})",
            zh=f"{column.zh}：{value!r} 不是有效的数值",
        ) from None
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def percent_to_ppm(value: str) -> int:
    ppm = Decimal(value.strip().rstrip("%")) * 10_000
    if ppm != ppm.to_integral_value():
        raise ValueError("more than four decimals of a percent")
    return int(ppm)


def to_number(value: Cell, column: Column):
    """A cell as a workbook stores it: money as Decimal yuan, a ratio as a fraction (4.35%
    is 0.0435), counts as int, dates as dates, text as text."""
    if value is None:
        return None
    if column.kind == "money":
        return fen_to_yuan(value)
    if column.kind == "ratio":
        return Decimal(value).scaleb(-6)
    return value


def from_number(value, column: Column) -> Cell:
    """A cell as openpyxl reads it back (a float, an int, a datetime, text), as the
    report's figure; exact for every amount a report holds."""
    if value is None or value == "":
        return "" if column.kind == "text" else None
    try:
        if column.kind == "money":
            return yuan_to_fen(_decimal(value).quantize(Decimal("0.01")))
        if column.kind == "ratio":
            return int(_decimal(value).scaleb(6).to_integral_value())
        if column.kind == "count":
            return int(_decimal(value))
    except (ValueError, InvalidOperation, ArithmeticError) as exc:
        raise UnreadableReportError(
            f"{column.key}: {value!r} is not a {column.kind} figure ({exc})",
            zh=f"{column.zh}：{value!r} 不是有效的数值",
        ) from None
    if column.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value))
    return str(value)


def _decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a yes/no cell")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    return Decimal(str(value).replace(",", ""))
