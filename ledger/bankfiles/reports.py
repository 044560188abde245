"""A rejected file's error report, as CSV or XLSX, from the errors stored with its receipt.

One line per error: the row number as a spreadsheet shows it (empty: the file as a
whole), the column's English header, the value as given, the message in Chinese and in
English, and the error's stable code. CSV is written in UTF-8 with a BOM, so that Excel
opens the Chinese text correctly; XLSX with openpyxl in write-only mode. Both stream.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # the command line names FORMATS without loading the database layer
    from sqlalchemy.orm import Session, sessionmaker

    from ledger.bankfiles.receipts import Problem

HEADER = ("行号 row", "列 column", "原值 value", "错误说明", "message", "code")
FORMATS = ("csv", "xlsx")


#: What a spreadsheet program takes for the start of a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _line(problem: Problem) -> tuple:
    row = "" if problem.row is None else problem.row
    return (row, problem.column, problem.value, problem.zh, problem.message, problem.code)


def inert(text: str) -> str:
    """``text`` as a CSV cell that a spreadsheet shows and never runs: a value that
    begins like a formula gets a leading apostrophe, and stays visible as given."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(problems: Iterable[Problem], out: IO[str]) -> None:
    """Write the report to a text stream opened with ``newline=""``; every text cell is
    made :func:`inert`, since the values as given are whatever the bank's file held."""
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for problem in problems:
        row, *rest = _line(problem)
        writer.writerow([row, *(inert(text) for text in rest)])


def write_xlsx(problems: Iterable[Problem], path: Path) -> None:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("错误报告 errors")
    sheet.append(HEADER)
    for problem in problems:
        row, *rest = _line(problem)
        cells = [row]
        for value in rest:
            # Text cells, always: a value as given such as "=0" stays what the bank sent.
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    book.save(path)


def write_receipt_report(
    factory: sessionmaker[Session], import_id: int, path: Path, fmt: str | None = None
) -> list[Problem]:
    """Write the error report of receipt ``import_id`` to ``path``; returns its lines."""
    from ledger.bankfiles.receipts import error_lines
    from ledger.db import run_in_transaction

    problems = run_in_transaction(factory, lambda s: list(error_lines(s, import_id)))
    write_report(problems, path, fmt)
    return problems


def write_report(problems: Iterable[Problem], path: Path, fmt: str | None = None) -> Path:
    """Write the report to ``path`` in ``fmt`` (default: by the path's suffix)."""
    fmt = (fmt or path.suffix.lstrip(".") or "csv").lower()
    if fmt == "xlsx":
        write_xlsx(problems, path)
    elif fmt == "csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as out:
            write_csv(problems, out)
    else:
        raise ValueError(f"unknown report format {fmt!r}: one of {', '.join(FORMATS)}")
    return path
