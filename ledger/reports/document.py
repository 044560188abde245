"""A report as one immutable value: what the page, the API, the command line and every
export (CSV, XLSX, PDF) render, and what ``fundledger verify-report`` recomputes.

A :class:`Report` is a kind (``fund-statement``, ``monthly``, …), the parameters it was
asked with, its sections (each a table: columns and rows of figures) and the chain
anchor it was produced against. Figures are integers — money in fen, ratios in parts
per million, counts — or text and dates; never floats. Its **fingerprint** is the
SHA-256 of its canonical content (:func:`canonical`): the kind, the parameters, every
section's column keys and cells, and the anchor — not the time it was produced, the
titles or the language, so the same figures against the same anchor give the same
fingerprint whoever produces them and whenever.

The anchor (:class:`Anchor`) is the hash chain's position the figures stand on: for a
period the books have closed, the chain head recorded when it was closed; for an open
period, the head when the report was produced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

#: What a column holds: money in fen, a ratio in ppm, a count, text or an ISO date.
Kind = Literal["money", "ratio", "count", "text", "date"]
Cell = int | str | dt.date | None


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: Kind = "money"


@dataclass(frozen=True)
class Drill:
    """The list behind a figure, which adds up to it: a list (``entries``, ``postings``,
    ``loans``, …) and its filters, as the list page and the API take them."""

    list: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    #: The drill of each cell (None where a cell has none); empty: no drill at all.
    drills: tuple[Drill | None, ...] = ()
    #: A total (or subtotal) line: shown bold, added by nothing.
    total: bool = False

    def drill(self, index: int) -> Drill | None:
        return self.drills[index] if index < len(self.drills) else None


@dataclass(frozen=True)
class Section:
    key: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Anchor:
    """The chain position the figures stand on."""

    #: ``seq`` and ``hash`` of the chain head.
    seq: int
    hash: str
    #: The date the books were closed through when the anchor is a close's; None: an
    #: open period, anchored at the head when produced.
    closed_through: dt.date | None = None

    @property
    def closed(self) -> bool:
        return self.closed_through is not None


@dataclass(frozen=True)
class Report:
    kind: str
    zh: str
    en: str
    #: What it was asked with (``from``, ``to``, ``fund`` …), values as strings, sorted.
    params: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    anchor: Anchor
    #: When it was produced (UTC); not part of the fingerprint.
    produced_at: dt.datetime
    fingerprint: str = field(default="")

    def __post_init__(self):
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint(self))

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def param(self, key: str) -> str | None:
        return dict(self.params).get(key)


def _cell(value: Cell) -> int | str | None:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):  # a bool is an int to Python; never a figure here
        raise TypeError("a report cell is never a bool")
    if value is not None and not isinstance(value, (int, str)):
        raise TypeError(f"a report cell is an int, a str, a date or None, not {value!r}")
    return value


def content(report: Report) -> dict:
    """The canonical content of ``report``: what its fingerprint is taken over, and what
    an exported file carries for ``verify-report`` to compare."""
    return {
        "kind": report.kind,
        "params": [list(p) for p in sorted(report.params)],
        "sections": [
            {
                "key": s.key,
                "columns": [c.key for c in s.columns],
                "rows": [[_cell(v) for v in r.cells] for r in s.rows],
            }
            for s in report.sections
        ],
        "anchor": {
            "seq": report.anchor.seq,
            "hash": report.anchor.hash,
            "closed_through": report.anchor.closed_through.isoformat()
            if report.anchor.closed_through
            else None,
        },
    }


def canonical(doc: dict) -> bytes:
    """``doc`` as canonical JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(report: Report) -> str:
    return hashlib.sha256(canonical(content(report))).hexdigest()
