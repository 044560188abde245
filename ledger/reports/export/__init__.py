"""A report as a file: the formats, by name, and what writes each.

``text`` (the command line's tables), ``csv`` and ``xlsx`` are this package's; another
module adds a format with :func:`register_format` — the PDF renderer of the web
application does, and a program that cannot import it (the command line: ``ledger``
never imports ``web``) finds it through the ``fundledger.report_formats`` entry-point
group, whose entries are modules that register their formats when imported.

A writer takes the report and a binary stream, and reads the report's rows once, through
``Section.iter_rows`` (a register's rows may be produced as they are written).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from ledger.reports.document import Report
from ledger.reports.errors import ReportError

Writer = Callable[[Report, BinaryIO], None]


@dataclass(frozen=True)
class Format:
    name: str
    #: The file name's suffix, with its dot.
    suffix: str
    media_type: str
    write: Writer


#: This package's formats: name → (suffix, media type, module, writer).
BUILT_IN: dict[str, tuple[str, str, str, str]] = {
    "text": (".txt", "text/plain; charset=utf-8", "ledger.reports.export.text", "write_text"),
    "csv": (".csv", "text/csv; charset=utf-8", "ledger.reports.export.csv", "write_csv"),
    "xlsx": (
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ledger.reports.export.xlsx",
        "write_xlsx",
    ),
}

_REGISTERED: dict[str, Format] = {}
_plugins_loaded = False


def register_format(name: str, suffix: str, media_type: str, write: Writer) -> None:
    """Add a format (or replace one of the same name)."""
    _REGISTERED[name] = Format(name, suffix, media_type, write)


def _plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group="fundledger.report_formats"):
        point.load()


def formats() -> list[str]:
    """Every format's name: this package's, those registered, those installed."""
    _plugins()
    return sorted({*BUILT_IN, *_REGISTERED})


def get_format(name: str) -> Format:
    if name not in _REGISTERED and name not in BUILT_IN:
        _plugins()
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in BUILT_IN:
        raise ReportError(
            f"no report format {name!r}: one of {', '.join(formats())}",
            zh=f"没有报表格式 {name!r}",
        )
    suffix, media_type, module, writer = BUILT_IN[name]
    return Format(name, suffix, media_type, getattr(importlib.import_module(module), writer))


def export(report: Report, name: str, out: BinaryIO) -> None:
    """Write ``report`` to ``out`` in format ``name``."""
    get_format(name).write(report, out)
