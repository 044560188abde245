"""A report as an XLSX workbook (openpyxl, write-only: rows stream to the file as they
are produced, so a register of 100,000 loans is never held).

- ``报表信息``: the title, the kind, the parameters, the unit, when it was produced, the
  anchor and the fingerprint;
- one sheet a section, its headings on the first row (frozen), then its rows: money as
  numbers of yuan with the format ``#,##0.00`` (stored exactly: fen → ``Decimal``),
  ratios as percentages (``0.00##%``), counts as integers, dates as dates, text as text
  (never a formula); total lines bold; after a blank line, the fingerprint and the
  anchor; the fingerprint in every page's footer too, with the page number;
- ``_content`` (hidden): the report's canonical content (``document.content``) for
  ``verify-report`` — ``A1`` a marker, ``B1`` the version, ``C1`` JSON of the kind,
  parameters, anchor, fingerprint and each section's key, columns and sheet; then lines
  of a section's key and, in ``B``, a JSON list of its next rows' cells (as many rows as
  fit in a cell: a line per row would double what is written). The fingerprint is also
  the document's custom property ``fundledger.fingerprint``.

openpyxl writes a cell at a time through ``et_xmlfile`` in pure Python, or through lxml
when it is installed (several times faster: docs/reports.md has the figures).
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from ledger.reports.document import Report, cells, content
from ledger.reports.export.values import UNIT, anchor_text, heading, to_number

MARKER, VERSION = "fundledger-report", 1
CONTENT_SHEET, COVER_SHEET = "_content", "报表信息"
PROPERTY = "fundledger.fingerprint"
FORMATS = {"money": "#,##0.00", "ratio": "0.00##%", "count": "0", "date": "yyyy-mm-dd"}
WIDTHS = {"money": 18, "ratio": 12, "count": 10, "date": 12, "text": 24}
FINGERPRINT, ANCHOR = "指纹 fingerprint", "锚点 anchor"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
#: The most text a cell of the hidden content holds (Excel's limit is 32,767 characters).
CELL_TEXT = 30_000


def sheet_names(report: Report) -> list[str]:
    """A sheet name for each section: its Chinese title, at most 31 characters, unique."""
    names: list[str] = []
    taken = {CONTENT_SHEET, COVER_SHEET}
    for section in report.sections:
        base = _BAD_SHEET_CHARS.sub("_", section.zh)[:28] or section.key[:28]
        name, n = base, 2
        while name in taken:
            name, n = f"{base[:26]}-{n}", n + 1
        taken.add(name)
        names.append(name)
    return names


def header(report: Report, names: list[str]) -> dict:
    """What ``_content`` holds besides the rows."""
    doc = content_head(report)
    doc["fingerprint"] = report.fingerprint
    doc["sections"] = [
        {"key": s.key, "columns": [c.key for c in s.columns], "sheet": name}
        for s, name in zip(report.sections, names, strict=True)
    ]
    return doc


def content_head(report: Report) -> dict:
    """``document.content`` without its sections (which may be too many rows to hold)."""
    bare = Report(report.kind, report.zh, report.en, report.params, (), report.anchor,
                  report.produced_at, fingerprint="-")  # fmt: skip
    doc = content(bare)
    del doc["sections"]
    return doc


def write_xlsx(report: Report, out: BinaryIO) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    book = Workbook(write_only=True)
    names = sheet_names(report)

    def cell(sheet, value, *, fmt=None, strong=False, text=False):
        c = WriteOnlyCell(sheet, value=value)
        if text and isinstance(value, str):
            c.data_type = "s"  # never a formula, whatever it begins with
        if fmt:
            c.number_format = fmt
        if strong:
            c.font = bold
        return c

    cover = book.create_sheet(COVER_SHEET)
    cover.column_dimensions["A"].width = 26
    cover.column_dimensions["B"].width = 70
    cover.append([cell(cover, report.zh, strong=True), cell(cover, report.en, strong=True)])
    cover.append(["报表类型 kind", report.kind])
    for key, value in report.params:
        cover.append([f"参数 {key}", cell(cover, value, text=True)])
    cover.append(["单位 unit", f"{UNIT[0]} {UNIT[1]}"])
    cover.append(["生成时间 produced (UTC)", report.produced_at.isoformat(timespec="seconds")])
    cover.append([ANCHOR, anchor_text(report)])
    cover.append([FINGERPRINT, report.fingerprint])

    sheets = [book.create_sheet(name) for name in names]
    hidden = book.create_sheet(CONTENT_SHEET)
    hidden.sheet_state = "hidden"
    hidden.append([MARKER, VERSION, cell(hidden, _dumps(header(report, names)), text=True)])
    footer_left = f"{report.zh} {report.kind}"[:80]
    for section, sheet in zip(report.sections, sheets, strict=True):
        kinds = [c.kind for c in section.columns]
        for i, kind in enumerate(kinds, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = WIDTHS.get(kind, 16)
        sheet.freeze_panes = "A2"
        sheet.append([cell(sheet, heading(c), strong=True, text=True) for c in section.columns])
        batch: list[str] = []
        size = 0
        for row in section.iter_rows():
            sheet.append(
                [
                    cell(sheet, to_number(v, c), fmt=FORMATS.get(c.kind), strong=row.total,
                         text=c.kind == "text")
                    for v, c in zip(row.cells, section.columns, strict=True)
                ]
            )  # fmt: skip
            line = _dumps(cells(row))
            if batch and size + len(line) + 1 > CELL_TEXT:
                hidden.append([section.key, cell(hidden, f"[{','.join(batch)}]", text=True)])
                batch, size = [], 0
            batch.append(line)
            size += len(line) + 1
        if batch:
            hidden.append([section.key, cell(hidden, f"[{','.join(batch)}]", text=True)])
        sheet.append([])
        sheet.append([FINGERPRINT, report.fingerprint])
        sheet.append([ANCHOR, anchor_text(report)])
        sheet.oddFooter.left.text = footer_left
        sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
        sheet.oddFooter.right.text = f"指纹 {report.fingerprint}"
    book.custom_doc_props.append(StringProperty(name=PROPERTY, value=report.fingerprint))
    book.save(out)


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
