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

**Rows too many to hold.** A section's ``rows`` is normally a tuple. A register of
100,000 loans may instead give a *row source*: a callable, taking nothing, that returns
a fresh iterable of the same rows each time it is called (e.g. a keyset walk over the
loans in chunks). The report stays immutable — the callable is its value — and every
consumer reads rows through :meth:`Section.iter_rows`: the fingerprint (computed when
the report is made, by :func:`canonical_chunks`, without holding the rows), each
export, ``verify-report``. A row source reads through the session the report was built
with: render the report before that session closes. :func:`content` holds every row
and is for reports small enough to hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

#: What a column holds: money in fen, a ratio in ppm, a count, text or an ISO date. A
#: figure (money, ratio, count) or a date may be None (no figure); a text cell is never
#: None — an empty one is "" (a file cannot tell the two apart).
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


#: A section's rows produced on demand: each call returns a fresh iterable of the same rows.
RowSource = Callable[[], Iterable[Row]]


@dataclass(frozen=True)
class Section:
    key: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    #: The rows, or a :data:`RowSource` for a section too long to hold.
    rows: tuple[Row, ...] | RowSource

    @property
    def lazy(self) -> bool:
        """Whether the rows come from a row source (read them with :meth:`iter_rows`)."""
        return callable(self.rows)

    def iter_rows(self) -> Iterator[Row]:
        """The rows, whether held or produced on demand."""
        return iter(self.rows()) if callable(self.rows) else iter(self.rows)


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
        "params": _params(report),
        "sections": [
            {
                "key": s.key,
                "columns": [c.key for c in s.columns],
                "rows": [cells(r) for r in s.iter_rows()],
            }
            for s in report.sections
        ],
        "anchor": _anchor(report.anchor),
    }


def cells(row: Row) -> list[int | str | None]:
    """A row's cells as the canonical content holds them (a date as its ISO text)."""
    return [_cell(v) for v in row.cells]


def _params(report: Report) -> list[list[str]]:
    return [list(p) for p in sorted(report.params)]


def _anchor(anchor: Anchor) -> dict:
    return {
        "seq": anchor.seq,
        "hash": anchor.hash,
        "closed_through": anchor.closed_through.isoformat() if anchor.closed_through else None,
    }


def canonical_chunks(report: Report) -> Iterator[bytes]:
    """``canonical(content(report))`` in pieces, a row at a time: the same bytes, without
    holding every row (a register's row source is read once, as it goes)."""
    yield (
        f'{{"anchor":{_dumps(_anchor(report.anchor))},"kind":{_dumps(report.kind)},'
        f'"params":{_dumps(_params(report))},"sections":['
    ).encode()
    for n, s in enumerate(report.sections):
        columns = _dumps([c.key for c in s.columns])
        yield f'{"," if n else ""}{{"columns":{columns},"key":{_dumps(s.key)},"rows":['.encode()
        for m, row in enumerate(s.iter_rows()):
            yield (("," if m else "") + _dumps(cells(row))).encode()
        yield b"]}"
    yield b"]}"


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(doc: dict) -> bytes:
    """``doc`` as canonical JSON: sorted keys, no whitespace, UTF-8."""
    return _dumps(doc).encode()


def fingerprint(report: Report) -> str:
    """SHA-256 of ``canonical(content(report))``, taken a row at a time."""
    digest = hashlib.sha256()
    for chunk in canonical_chunks(report):
        digest.update(chunk)
    return digest.hexdigest()
