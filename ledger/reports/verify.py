"""``verify-report``: read a report file back, produce the same report from the books
again, and compare them figure by figure.

A reader, chosen by the file's type from a registry (:func:`register_reader`; CSV and
XLSX are this module's, a PDF reader registers itself the same way, or through the
``fundledger.report_readers`` entry-point group), gives the file's kind, parameters,
anchor, fingerprint and each section's cells as the file shows them. Rows are matched by
their label — their text and date cells, and which occurrence of that label they are —
and every figure (money, ratio, count) is compared. The verdict:

- **matches**: every row and figure the file shows is the books' (the anchor may have
  moved on for an open period, with nothing it reports changed);
- **differs**: each differing figure (section, row, column: file vs books), the rows only
  one side has; whether the file's own figures still give its fingerprint (if not, it was
  changed after it was produced; an XLSX also names the cells that differ from the
  content it embeds); and the entries posted since the file's anchor (``seq`` above it,
  or not yet sealed) dated on or before the period's end — the changes to the books
  that can explain a difference. For a closed period there are none: a difference is
  then the file's.

A file that is not a report this program wrote, or is damaged, is
:class:`~ledger.reports.errors.UnreadableReportError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledger.models import JournalEntry, Posting
from ledger.money import format_percent, format_yuan
from ledger.reports import registry
from ledger.reports.document import Anchor, Cell, Column, Report, Row, Section, canonical_chunks
from ledger.reports.errors import ReportError, UnreadableReportError

FIGURES = ("money", "ratio", "count")


@dataclass(frozen=True)
class FileSection:
    key: str
    #: The rows' cells as the file holds them (text for CSV, numbers for XLSX).
    rows: tuple[tuple[object, ...], ...]
    #: The cells the file embeds for the section (canonical: what was produced), if any.
    embedded: tuple[tuple[Cell, ...], ...] | None = None


@dataclass(frozen=True)
class FileReport:
    """What a reader takes from a report file."""

    kind: str
    params: tuple[tuple[str, str], ...]
    anchor: Anchor
    fingerprint: str
    sections: tuple[FileSection, ...]
    #: Turns a cell as the file holds it into the report's figure, given its column.
    convert: Callable[[object, Column], Cell]
    #: The file type, for messages: csv, xlsx …
    format: str


Reader = Callable[[bytes], FileReport]

#: Suffix → (module, reader) of this package's readers.
BUILT_IN: dict[str, tuple[str, str]] = {
    ".csv": ("ledger.reports.verify", "read_csv"),
    ".xlsx": ("ledger.reports.verify", "read_xlsx"),
}
_READERS: dict[str, Reader] = {}
_plugins_loaded = False


def register_reader(suffix: str, reader: Reader) -> None:
    """Read files whose name ends in ``suffix`` (``.pdf``) with ``reader``."""
    _READERS[suffix.lower()] = reader


def reader_for(name: str, data: bytes) -> Reader:
    """The reader of a file by its name's suffix, else by its first bytes."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        from importlib.metadata import entry_points

        for point in entry_points(group="fundledger.report_readers"):
            point.load()
    suffix = Path(name).suffix.lower()
    if suffix not in _READERS and suffix not in BUILT_IN:
        suffix = ".xlsx" if data[:2] == b"PK" else ".csv" if data[:3] == b"\xef\xbb\xbf" else ""
    if suffix in _READERS:
        return _READERS[suffix]
    if suffix in BUILT_IN:
        module, attribute = BUILT_IN[suffix]
        return getattr(importlib.import_module(module), attribute)
    known = ", ".join(sorted({*BUILT_IN, *_READERS}))
    raise UnreadableReportError(
        f"{name}: not a report file this program reads ({known})",
        zh=f"{name}：无法识别的报表文件",
    )


def read_file(path: Path) -> FileReport:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableReportError(f"{path}: {exc.strerror}", zh=f"{path}：无法读取") from None
    return reader_for(str(path), data)(data)


# --------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Difference:
    section: str
    #: The row's label: its text and date cells (and "#2" for a second row of that label).
    row: str
    column: str
    #: The figure as the file shows it and as the books give it now, formatted.
    file: str
    books: str


@dataclass(frozen=True)
class SinceEntry:
    id: int
    seq: int | None
    effective_date: dt.date
    kind: str
    description: str
    amount: int


@dataclass(frozen=True)
class Verdict:
    file: FileReport
    books: Report
    differences: tuple[Difference, ...]
    #: Rows the file has that the books do not, and the other way round (labels).
    only_in_file: tuple[str, ...]
    only_in_books: tuple[str, ...]
    #: Whether the file's figures still give the fingerprint it carries.
    fingerprint_holds: bool
    #: Cells that differ from the content an XLSX embeds: changed in the file itself.
    edited: tuple[Difference, ...]
    #: Entries since the file's anchor dated on or before the period's end (the first
    #: 50), and how many there are.
    since: tuple[SinceEntry, ...] = field(default=())
    since_count: int = 0
    figures: int = 0

    @property
    def matches(self) -> bool:
        return not (self.differences or self.only_in_file or self.only_in_books)


def verify_file(session: Session, path: Path) -> Verdict:
    return verify(session, read_file(path))


def verify(session: Session, found: FileReport) -> Verdict:
    params = registry.params_of(found.params)
    try:
        kind = registry.get(found.kind)
        books = kind.build(session, params)
        _start, end = kind.period(params)
    except ReportError as exc:
        raise UnreadableReportError(
            f"the file's report cannot be produced again: {exc}", zh=exc.zh
        ) from None
    differences: list[Difference] = []
    only_file: list[str] = []
    only_books: list[str] = []
    edited: list[Difference] = []
    file_sections: list[tuple[Section, list[tuple[Cell, ...]]]] = []
    figures = 0
    by_key = {s.key: s for s in found.sections}
    for section in books.sections:
        theirs = by_key.pop(section.key, None)
        ours = list(section.iter_rows())
        if theirs is None:
            only_books += [f"{section.key}: {_label(section, r.cells)}" for r in ours]
            continue
        rows = [_convert(found, section, raw) for raw in theirs.rows]
        file_sections.append((section, rows))
        if theirs.embedded is not None:
            edited += _compare(section, rows, [tuple(r) for r in theirs.embedded])
        mine = {lbl: r.cells for lbl, r in _labelled(section, [r.cells for r in ours])}
        for lbl, row in _labelled(section, rows):
            cells = row.cells
            if lbl not in mine:
                only_file.append(f"{section.key}: {lbl}")
                continue
            books_cells = mine.pop(lbl)
            for value, expected, column in zip(cells, books_cells, section.columns, strict=True):
                if column.kind not in FIGURES:
                    continue
                figures += 1
                if value != expected:
                    differences.append(
                        Difference(section.key, lbl, f"{column.key} {column.zh}",
                                   _show(value, column), _show(expected, column))
                    )  # fmt: skip
        only_books += [f"{section.key}: {lbl}" for lbl in mine]
    for key, rest in by_key.items():
        only_file += [f"{key}: row {n + 1}" for n in range(len(rest.rows))]
    holds = _fingerprint(found, file_sections) == found.fingerprint
    since, count = _since(session, found.anchor, end)
    return Verdict(
        found, books, tuple(differences), tuple(only_file), tuple(only_books), holds,
        tuple(edited), since, count, figures,
    )  # fmt: skip


def _convert(found: FileReport, section: Section, raw: Sequence[object]) -> tuple[Cell, ...]:
    width = len(section.columns)
    if len(raw) > width and any(v not in (None, "") for v in raw[width:]):
        raise UnreadableReportError(
            f"section {section.key}: a row has {len(raw)} cells, the report {width} columns",
            zh=f"区段 {section.key} 的列数与报表不符",
        )
    padded = list(raw[:width]) + [None] * (width - len(raw))
    return tuple(found.convert(v, c) for v, c in zip(padded, section.columns, strict=True))


def _label(section: Section, cells: Sequence[Cell]) -> str:
    parts = [
        v.isoformat() if isinstance(v, dt.date) else str(v)
        for v, c in zip(cells, section.columns, strict=True)
        if c.kind not in FIGURES and v not in (None, "")
    ]
    return " ".join(parts) or "—"


def _labelled(section: Section, rows: Sequence[Sequence[Cell]]):
    """(label, row) for each row; a label seen before gets "#2", "#3" …"""
    seen: Counter[str] = Counter()
    out = []
    for cells in rows:
        base = _label(section, cells)
        seen[base] += 1
        label = base if seen[base] == 1 else f"{base} #{seen[base]}"
        out.append((label, Row(tuple(cells))))
    return out


def _compare(section, rows, embedded) -> list[Difference]:
    """The cells of ``rows`` (as the file shows them) that differ from ``embedded``."""
    found = []
    canon = [tuple(_canonical(v) for v in r) for r in rows]
    for n, (shown, made) in enumerate(zip(canon, embedded, strict=False)):
        for value, produced, column in zip(shown, made, section.columns, strict=False):
            if value != produced:
                found.append(
                    Difference(section.key, _label(section, rows[n]),
                               f"{column.key} {column.zh}", str(value), str(produced))
                )  # fmt: skip
    if len(canon) != len(embedded):
        found.append(Difference(section.key, "—", "rows", str(len(canon)), str(len(embedded))))
    return found


def _canonical(value: Cell):
    return value.isoformat() if isinstance(value, dt.date) else value


def _show(value: Cell, column: Column) -> str:
    if value is None:
        return "—"
    if column.kind == "money":
        return format_yuan(value)
    if column.kind == "ratio":
        return format_percent(value)
    return str(value)


def _fingerprint(found: FileReport, sections: list[tuple[Section, list[tuple[Cell, ...]]]]) -> str:
    """The fingerprint of the file's own figures with its kind, parameters and anchor."""
    shown = Report(
        found.kind, "", "", found.params,
        tuple(Section(s.key, s.zh, s.en, s.columns, tuple(Row(r) for r in rows))
              for s, rows in sections),
        found.anchor, dt.datetime(2000, 1, 1), fingerprint="-",
    )  # fmt: skip
    digest = hashlib.sha256()
    for chunk in canonical_chunks(shown):
        digest.update(chunk)
    return digest.hexdigest()


def _since(session: Session, anchor: Anchor, end: dt.date) -> tuple[tuple[SinceEntry, ...], int]:
    later = or_(JournalEntry.seq > anchor.seq, JournalEntry.seq.is_(None))
    where = (later, JournalEntry.effective_date <= end)
    count = session.scalar(select(func.count()).select_from(JournalEntry).where(*where)) or 0
    amount = (
        select(func.coalesce(func.sum(Posting.amount), 0))
        .where(Posting.entry_id == JournalEntry.id, Posting.side == "D")
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            JournalEntry.id, JournalEntry.seq, JournalEntry.effective_date, JournalEntry.kind,
            JournalEntry.description, amount,
        )
        .where(*where)
        .order_by(JournalEntry.id)
        .limit(50)
    )  # fmt: skip
    return tuple(SinceEntry(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in rows), count


# ---------------------------------------------------------------------------- readers


def read_csv(data: bytes) -> FileReport:
    import csv
    import io

    from ledger.reports.export import csv as layout
    from ledger.reports.export.values import from_text

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableReportError(
            "not UTF-8: not a report file this program wrote", zh="文件不是 UTF-8 编码的报表"
        ) from None
    lines = list(csv.reader(io.StringIO(text, newline="")))
    kind = fingerprint = None
    anchor = None
    params: list[tuple[str, str]] = []
    sections: list[FileSection] = []
    n = 0
    while n < len(lines):
        line = lines[n]
        first = line[0] if line else ""
        if first == layout.KIND and len(line) > 1:
            kind = line[1]
        elif first == layout.PARAM and len(line) > 2:
            params.append((line[1], from_text(line[2], Column("p", "", "", "text"))))
        elif first == layout.SECTION and len(line) > 1:
            key, rows = line[1], []
            n += 2  # past the headings
            while n < len(lines) and any(c.strip() for c in lines[n]):
                rows.append(tuple(lines[n]))
                n += 1
            sections.append(FileSection(key, tuple(rows)))
            continue
        elif first == layout.FINGERPRINT and len(line) > 1:
            fingerprint = line[1]
        elif first == layout.ANCHOR and len(line) > 3:
            anchor = _anchor(line[1], line[2], None if line[3] == layout.OPEN else line[3])
        n += 1
    if not kind or not fingerprint or anchor is None:
        raise UnreadableReportError(
            "no report kind, fingerprint or anchor: not a report file this program wrote",
            zh="文件中没有报表类型、指纹或锚点，不是本系统导出的报表",
        )
    return FileReport(kind, tuple(params), anchor, fingerprint, tuple(sections), _from_text, "csv")


def _from_text(value: object, column: Column) -> Cell:
    from ledger.reports.export.values import from_text

    text = "" if value is None else str(value)
    if column.kind == "date" and "/" in text:  # a spreadsheet saved it as 2025/1/31
        y, m, d = (int(x) for x in text.split(" ")[0].split("/"))
        return dt.date(y, m, d)
    return from_text(text, column)


def _anchor(seq: object, digest: object, closed: object) -> Anchor:
    try:
        return Anchor(int(seq), str(digest), dt.date.fromisoformat(str(closed)) if closed else None)
    except (TypeError, ValueError):
        raise UnreadableReportError(
            f"the anchor {seq!r} {digest!r} {closed!r} is not one", zh="锚点格式不正确"
        ) from None


def read_xlsx(data: bytes) -> FileReport:
    import io
    import json
    import zipfile

    from openpyxl import load_workbook

    from ledger.reports.export import xlsx as layout
    from ledger.reports.export.values import from_number

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableReportError(
            f"not a workbook this program reads: {exc}", zh="无法读取该工作簿"
        ) from None
    try:
        if layout.CONTENT_SHEET not in book.sheetnames:
            raise UnreadableReportError(
                "the workbook holds no report content: not a report file this program wrote",
                zh="工作簿中没有报表内容，不是本系统导出的报表",
            )
        lines = book[layout.CONTENT_SHEET].iter_rows(values_only=True)
        first = next(lines, None)
        if not first or first[0] != layout.MARKER or first[1] != layout.VERSION:
            raise UnreadableReportError(
                "the workbook's report content is not this program's", zh="工作簿的报表内容无法识别"
            )
        try:
            head = json.loads(first[2])
            anchor = head["anchor"]
            embedded: dict[str, list[tuple]] = {s["key"]: [] for s in head["sections"]}
            for line in lines:  # a workbook saved again may pad its lines with empty cells
                if line and line[0] not in (None, ""):
                    embedded[line[0]] += [tuple(cells) for cells in json.loads(line[1])]
            sections = []
            for s in head["sections"]:
                rows = []
                for row in book[s["sheet"]].iter_rows(min_row=2, values_only=True):
                    if all(v in (None, "") for v in row):
                        break
                    rows.append(tuple(row))
                sections.append(FileSection(s["key"], tuple(rows), tuple(embedded[s["key"]])))
            result = FileReport(
                head["kind"], tuple((k, v) for k, v in head["params"]),
                _anchor(anchor["seq"], anchor["hash"], anchor["closed_through"]),
                head["fingerprint"], tuple(sections), from_number, "xlsx",
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise UnreadableReportError(
                f"the workbook's report content is damaged: {exc!r}", zh="工作簿的报表内容已损坏"
            ) from None
    finally:
        book.close()
    return result
