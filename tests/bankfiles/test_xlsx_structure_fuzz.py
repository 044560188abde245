"""Structural fuzzing of XLSX bank files: whatever happens to a workbook's insides — its
zip, its XML, its shared strings and styles, its cell references and types —
``import_file`` gives a receipt within seconds, never an exception, and an accepted file
holds exactly the rows its worksheet holds.

Valid repayment workbooks for the loan ICBC-001 (:func:`make_base`: written by openpyxl,
or part by part by hand, with shared, inline and formula strings, cells and rows without
``r``, gaps in the row numbers, a ``<dimension>`` or none, dates as date-styled numbers or
as text, amounts as numbers or as text, Chinese or English headers in any order) are
mutated deterministically: :data:`CASES` cases in each of the four :data:`FAMILIES`, and
case ``family:n`` is the same bytes on every run (``make_case(family, n).data``), so a
failure names the case and its mutations. Every row of a base posts cleanly and leaves the
loan's principal as it was (interest only, or a repayment of principal and its reversal):
the first of a base's cases to be accepted posts its rows, later ones skip them. For every
case the receipt must be

1. returned: no exception of any kind escapes;
2. returned within :data:`BOUND` seconds: nothing hangs;
3. accepted, rejected or duplicate; a rejected or duplicate file leaves the books as they
   were, a rejected one has an error line, and no message names the temporary folder;
4. if accepted, a reading of exactly the rows the worksheet holds: ``posted + skipped ==
   rows == N``, where :func:`oracle` counts N from the zip's XML with the standard library
   alone (never openpyxl, never ``ledger.bankfiles``): the rows in which some cell holds
   a value (``<v>`` text, an inline string, a shared string) that is not blank, but the
   header. The totals of the amount columns are those of the cells as the oracle reads
   them, and every bank reference in the sheet is in the books;
5. accepted (or a duplicate) when the mutation leaves the data as it was (``same`` in
   :data:`FAMILIES`: a wrong, garbage or missing dimension, blank cells far out, lying
   counts, rich-text and phonetic runs, strings moved between the shared table, inline
   and formula strings, styles past the end on text or amounts, a custom date format,
   cells and rows without ``r``, a formula with its value, parts stored, not deflated),
   unless an earlier case posted other rows under the base's references.

The oracle's rule: damage to the data must not be accepted, for whatever a reader made of
it would be a guess. That is: the worksheet, or the shared strings the sheet refers to,
cannot be read (a zip error, a missing part, XML not well-formed or not UTF-8); an entity
or DTD declaration in the sheet, the shared strings, the styles or the workbook part (to
be refused, never expanded); a shared-string index that is not a plain number within the
table; a number or a truth value that is not one, or an unknown cell type; a value whose
cell or row reference is off the grid (past XFD or row 1,048,576, or naming another row);
two values in one cell, or two rows with values under one number; a formula saved
without its value. Rows merely out of order may be accepted, in the order of their
numbers, or rejected. Damage elsewhere (styles, the workbook part and its relationships,
content types, document properties, a zip's local headers) may be accepted or rejected,
but an accepted file still holds the sheet's N rows.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import io
import random
import re
import signal
import struct
import tempfile
import threading
import time
import traceback
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

import openpyxl
import pytest
from sqlalchemy import func, select

from ledger.bankfiles.imports import error_lines, import_file
from ledger.bankfiles.models import BankBalanceLine, BankStatementLine
from ledger.fund import loans
from ledger.fund.models import Loan, Repayment
from ledger.fund.repayments import reverse_repayment
from ledger.models import JournalEntry, Posting
from tests.bankfiles.conftest import (
    ONE_LOAN_BORROWER,
    ONE_LOAN_CONTRACT,
    ONE_LOAN_DISBURSED_ON,
    ONE_LOAN_PRINCIPAL,
)
from tests.fund.conftest import D, run

TODAY = D(2026, 11, 30)
BORROWER = ONE_LOAN_BORROWER
CONTRACT = ONE_LOAN_CONTRACT
PRINCIPAL = ONE_LOAN_PRINCIPAL
DISBURSED_ON = ONE_LOAN_DISBURSED_ON
#: The loan's principal outstanding in yuan, before and after every base's rows.
BALANCE = Decimal("100000.00")

#: Seconds an import may take: a two-row workbook takes milliseconds.
BOUND = 10.0
#: Cases per family, and cases per base (its first slot is the base itself, unmutated).
CASES = 500
PER_BASE = 20
#: A family's loop stops after this many failures, or this many imports over BOUND.
MAX_FAILURES = 40
MAX_OVERTIME = 2

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
STYLES = "xl/styles.xml"
WORKBOOK = "xl/workbook.xml"
TYPES = "[Content_Types].xml"

#: The repayment file's columns (bank interface v1): field and Chinese header; the
#: English header is the field.
COLUMNS = {
    "bank_ref": "银行流水号",
    "contract_no": "贷款合同号",
    "id_number": "身份证号",
    "paid_on": "还款日期",
    "principal": "归还本金",
    "interest": "归还利息",
    "penalty": "罚息",
    "balance_after": "本金余额",
    "reversal_of": "冲正原流水号",
}
REQUIRED = ("bank_ref", "contract_no", "paid_on", "principal", "interest", "balance_after")
MONEY = ("principal", "interest", "penalty", "balance_after")


# ------------------------------------------------------------------------ the fund


def books(factory) -> tuple:
    """What a rejected or duplicate file must leave unchanged (in one query)."""
    counts = [
        select(func.count()).select_from(table).scalar_subquery()
        for table in (JournalEntry, Posting, Repayment, BankBalanceLine, BankStatementLine)
    ]
    loan = select(Loan.repaid_principal, Loan.last_paid_on, Loan.status, *counts).where(
        Loan.bank_code == "ICBC", Loan.contract_no == CONTRACT
    )
    with factory() as s:
        return tuple(s.execute(loan).one())


# ------------------------------------------------------------------------ a workbook's model


@dataclass
class Cell:
    """A ``<c>`` element; ``field`` (not written) is the column it was written under."""

    r: str | None = None
    t: str | None = None
    s: str | None = None
    v: str | None = None
    #: The XML inside ``<is>`` (an inline string).
    inline: str | None = None
    f: str | None = None
    field: str | None = None

    def xml(self) -> str:
        attrs = "".join(
            f" {name}={quoteattr(value)}"
            for name, value in (("r", self.r), ("s", self.s), ("t", self.t))
            if value is not None
        )
        inner = ""
        if self.f is not None:
            inner += f"<f>{escape(self.f)}</f>"
        if self.v is not None:
            inner += f"<v>{escape(self.v)}</v>"
        if self.inline is not None:
            inner += f"<is>{self.inline}</is>"
        return f"<c{attrs}>{inner}</c>" if inner else f"<c{attrs}/>"

    @property
    def valued(self) -> bool:
        return self.v is not None or self.inline is not None


@dataclass
class Row:
    r: str | None
    cells: list[Cell]
    #: ``header``, ``data`` or ``blank`` (not written).
    kind: str = "data"

    def xml(self) -> str:
        attrs = "" if self.r is None else f" r={quoteattr(self.r)}"
        if not self.cells:
            return f"<row{attrs}/>"
        return f"<row{attrs}>{''.join(c.xml() for c in self.cells)}</row>"


@dataclass
class Sheet:
    """A worksheet: the XML before ``<sheetData>`` (with the ``<dimension>``, if any),
    its rows, and the XML after it."""

    head: str
    rows: list[Row]
    tail: str

    def xml(self) -> bytes:
        rows = "".join(row.xml() for row in self.rows)
        return f"{self.head}<sheetData>{rows}</sheetData>{self.tail}".encode()


@dataclass
class Book:
    """A workbook's parts, the worksheet and shared strings as models rendered last."""

    parts: dict[str, bytes]
    sheet: Sheet
    #: The XML inside each ``<si>``; None: the workbook has no shared strings.
    strings: list[str] | None
    #: The ``<sst>`` element's attributes (its counts).
    sst: dict[str, str] = field(default_factory=dict)
    stored: set[str] = field(default_factory=set)
    #: Cell styles (``s``) that show a number as a date.
    date_styles: set[str] = field(default_factory=set)

    def files(self) -> dict[str, bytes]:
        parts = dict(self.parts)
        if SHEET in parts:
            parts[SHEET] = self.sheet.xml()
        if STRINGS in parts and self.strings is not None:
            attrs = "".join(f" {k}={quoteattr(v)}" for k, v in self.sst.items())
            items = "".join(f"<si>{item}</si>" for item in self.strings)
            parts[STRINGS] = f'<sst xmlns="{MAIN}"{attrs}>{items}</sst>'.encode()
        return parts

    def shared(self, text: str) -> str:
        """The index of ``text`` in the shared strings (added if new)."""
        item = _t(text)
        if item in self.strings:
            return str(self.strings.index(item))
        self.strings.append(item)
        return str(len(self.strings) - 1)


def _t(text: str) -> str:
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<t{space}>{escape(text)}</t>"


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def pack(parts: dict[str, bytes], stored: set[str]) -> bytes:
    """A zip of ``parts`` in order; the same parts always give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 30, 9, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


# ------------------------------------------------------------------------ valid bases


@dataclass(frozen=True)
class Layout:
    writer: str  # openpyxl or hand
    columns: tuple[str, ...]
    headers: tuple[str, ...]
    strings: str  # hand: shared, inline, str or mixed; openpyxl: inline or shared
    dates: str  # number or text
    amounts: str  # number or text
    row_r: bool
    cell_r: bool
    gaps: bool
    dimension: bool


def base_rows(rng: random.Random, prefix: str) -> list[dict]:
    """One to five repayment rows of ICBC-001 that post cleanly and leave its principal
    as it was: interest only, and at times a repayment of principal and its reversal."""
    count = rng.randint(1, 5)
    pair = count >= 2 and rng.random() < 0.5
    span = (TODAY - DISBURSED_ON).days
    days = rng.sample(range(span + 1), count)
    refs = [f"{prefix}{n:02d}" for n in range(count)]
    rows = []
    for n in range(count - 2 if pair else count):
        rows.append(
            {
                "bank_ref": refs[n],
                "paid_on": DISBURSED_ON + dt.timedelta(days=days[n]),
                "principal": Decimal("0.00"),
                "interest": Decimal(rng.randint(1, 99_999)) / 100,
                "penalty": rng.choice([None, None, Decimal("0.00"), Decimal(rng.randint(1, 999))]),
                "balance_after": BALANCE,
                "reversal_of": None,
            }
        )
    if pair:
        on = DISBURSED_ON + dt.timedelta(days=days[-1])
        principal = Decimal(rng.randint(1, 500_000)) / 100
        repaid = {
            "bank_ref": refs[-2],
            "paid_on": on,
            "principal": principal,
            "interest": Decimal(rng.randint(0, 9_999)) / 100,
            "penalty": None,
            "balance_after": BALANCE - principal,
            "reversal_of": None,
        }
        reversal = repaid | {
            "bank_ref": refs[-1],
            "balance_after": BALANCE,
            "reversal_of": refs[-2],
        }
        at = rng.randint(0, len(rows))
        rows[at:at] = [repaid, reversal]  # adjacent: nothing else dated then comes between
    for row in rows:
        row["contract_no"] = CONTRACT
        row["id_number"] = rng.choice([BORROWER, BORROWER, None])
    return rows


def make_layout(rng: random.Random, rows: list[dict]) -> Layout:
    optional = [
        name
        for name in ("id_number", "penalty", "reversal_of")
        if any(row[name] is not None for row in rows) or rng.random() < 0.5
    ]
    columns = [c for c in COLUMNS if c in REQUIRED or c in optional]
    if rng.random() < 0.3:
        rng.shuffle(columns)
    language = rng.choice(["zh", "en", "mixed"])
    headers = []
    for name in columns:
        zh = language == "zh" or (language == "mixed" and rng.random() < 0.5)
        text = COLUMNS[name] if zh else name
        headers.append(rng.choice([text, text, text.upper(), f"\u3000{text} "]))
    writer = rng.choice(["openpyxl", "hand", "hand"])
    return Layout(
        writer=writer,
        columns=tuple(columns),
        headers=tuple(headers),
        strings=rng.choice(
            ["inline", "shared"] if writer == "openpyxl" else ["shared", "inline", "str", "mixed"]
        ),
        dates=rng.choice(["number", "text"]),
        amounts=rng.choice(["number", "text"]),
        row_r=writer == "openpyxl" or rng.random() < 0.7,
        cell_r=writer == "openpyxl" or rng.random() < 0.6,
        gaps=rng.random() < 0.4,
        dimension=writer == "openpyxl" or rng.random() < 0.5,
    )


def cell_values(rng: random.Random, layout: Layout, row: dict) -> list:
    """The row's cells as written: text (str), a number (Decimal), a date, or None."""
    out = []
    for name in layout.columns:
        value = row[name]
        if isinstance(value, dt.date) and layout.dates == "text":
            value = rng.choice(
                [
                    value.isoformat(),
                    f"{value.year}/{value.month}/{value.day}",
                    f"{value:%Y%m%d}",
                    f"{value.year}年{value.month}月{value.day}日",
                ]
            )
        elif isinstance(value, Decimal) and (layout.amounts == "text" or rng.random() < 0.1):
            value = rng.choice([f"{value:.2f}", f"{value:,.2f}", str(value)])
        out.append(value)
    return out


def excel_number(value: Decimal) -> str:
    text = repr(float(value))
    return text.removesuffix(".0")


def excel_serial(day: dt.date) -> int:
    return (day - dt.date(1899, 12, 30)).days


@functools.lru_cache(maxsize=64)
def make_base(family: str, number: int) -> Book:
    """Base ``number`` of ``family``: a valid workbook with bank references of its own."""
    rng = random.Random(f"base:{family}:{number}")
    rows = base_rows(rng, f"{family[0].upper()}{number:03d}R")
    layout = make_layout(rng, rows)
    sheet_rows: list[list | None] = [list(layout.headers)]
    for row in rows:
        if layout.gaps and rng.random() < 0.4:
            sheet_rows.append(None)  # a gap, or a row that looks blank
        sheet_rows.append(cell_values(rng, layout, row))
    if layout.writer == "openpyxl":
        return _openpyxl_book(rng, layout, sheet_rows)
    return _hand_book(rng, layout, sheet_rows)


def _openpyxl_book(rng: random.Random, layout: Layout, sheet_rows: list) -> Book:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "还款明细"
    date_format = rng.choice(["yyyy-mm-dd", "yyyy/m/d", 'yyyy"年"m"月"d"日"'])
    for values in sheet_rows:
        if values is None:
            sheet.append(rng.choice([[], [" "], ["\u3000", None, ""]]))
            continue
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, dt.date):
                cell.number_format = date_format
    out = io.BytesIO()
    workbook.save(out)
    with zipfile.ZipFile(out) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    text = parts[SHEET].decode()
    head, rest = text.split("<sheetData>", 1)
    body, tail = rest.split("</sheetData>", 1)
    book = Book(parts, Sheet(head, _parse_rows(body, layout.columns), tail), None)
    for row in book.sheet.rows:
        # openpyxl writes 16 significant digits (604.68 as 604.6799999999999), a different
        # number; Excel writes the shortest text that reads as the same double.
        values = sheet_rows[int(row.r) - 1] or []
        for cell in row.cells:
            column = column_number(_letters(cell.r))
            if column <= len(values) and isinstance(values[column - 1], Decimal):
                cell.v = excel_number(values[column - 1])
    book.date_styles = _date_styles(parts[STYLES].decode())
    if layout.strings == "shared":
        _add_shared_strings(book)
        for row in book.sheet.rows:
            for cell in row.cells:
                if cell.t == "inlineStr":
                    _to_shared(book, cell)
    return book


def _parse_rows(body: str, columns: tuple[str, ...]) -> list[Row]:
    root = ElementTree.fromstring(f'<sheetData xmlns="{MAIN}">{body}</sheetData>')
    rows = []
    for element in root:
        cells = []
        for c in element:
            v, f, inline = (c.find(f"{{{MAIN}}}{name}") for name in ("v", "f", "is"))
            number = column_number(re.match(r"[A-Z]+", c.get("r"))[0])
            cells.append(
                Cell(
                    r=c.get("r"),
                    t=c.get("t"),
                    s=c.get("s"),
                    v=None if v is None else v.text or "",
                    inline=None if inline is None else _t(_plain(inline)),
                    f=None if f is None else f.text,
                    field=columns[number - 1] if number <= len(columns) else None,
                )
            )
        rows.append(Row(element.get("r"), cells, "data"))
    rows[0].kind = "header"
    for row in rows:
        if not any(_cell_text(c).strip() for c in row.cells):
            row.kind = "blank"
    return rows


def _cell_text(cell: Cell) -> str:
    if cell.inline is not None:
        return _plain(ElementTree.fromstring(f'<is xmlns="{MAIN}">{cell.inline}</is>'))
    return cell.v or ""


def _date_styles(styles: str) -> set[str]:
    """The cellXfs indexes whose number format is a date (numFmt 14-22 or a custom one
    with y, m and d)."""
    custom = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles))
    body = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.DOTALL)[1]
    found = set()
    for n, number in enumerate(re.findall(r'<xf [^>]*?numFmtId="(\d+)"', body)):
        code = custom.get(number, "")
        if 14 <= int(number) <= 22 or "yy" in code:
            found.add(str(n))
    return found


def _add_shared_strings(book: Book) -> None:
    """Give an openpyxl workbook the shared-strings part Excel would write."""
    book.strings, book.sst = [], {"count": "0", "uniqueCount": "0"}
    book.parts[STRINGS] = b""
    rels = "xl/_rels/workbook.xml.rels"
    book.parts[rels] = book.parts[rels].replace(
        b"</Relationships>",
        f'<Relationship Type="{DOC_REL}/sharedStrings" Target="sharedStrings.xml" '
        f'Id="rId99"/></Relationships>'.encode(),
    )
    book.parts[TYPES] = book.parts[TYPES].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )


def _to_shared(book: Book, cell: Cell) -> None:
    text = _cell_text(cell)
    cell.t, cell.v, cell.inline = "s", book.shared(text), None
    _recount(book)


def _recount(book: Book) -> None:
    if book.strings is not None and set(book.sst) == {"count", "uniqueCount"}:
        book.sst = {"count": str(len(book.strings)), "uniqueCount": str(len(book.strings))}


HAND_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/m/d"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
HAND_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _hand_parts(shared: bool) -> dict[str, bytes]:
    overrides = [
        ("/xl/workbook.xml", f"{CT}.sheet.main+xml"),
        ("/xl/worksheets/sheet1.xml", f"{CT}.worksheet+xml"),
        ("/xl/styles.xml", f"{CT}.styles+xml"),
    ]
    rels = [("rId1", "worksheet", "worksheets/sheet1.xml"), ("rId2", "styles", "styles.xml")]
    if shared:
        overrides.append(("/xl/sharedStrings.xml", f"{CT}.sharedStrings+xml"))
        rels.append(("rId3", "sharedStrings", "sharedStrings.xml"))
    types = (
        f'{HAND_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        'ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
        + "</Types>"
    )
    return {
        TYPES: types.encode(),
        "_rels/.rels": (
            f'{HAND_DECLARATION}<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        WORKBOOK: (
            f'{HAND_DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{DOC_REL}"><sheets>'
            '<sheet name="还款明细" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'{HAND_DECLARATION}<Relationships xmlns="{PKG_REL}">'
            + "".join(
                f'<Relationship Id="{i}" Type="{DOC_REL}/{kind}" Target="{target}"/>'
                for i, kind, target in rels
            )
            + "</Relationships>"
        ).encode(),
        STYLES: HAND_STYLES.encode(),
        STRINGS: b"",
        SHEET: b"",
    }


def _hand_book(rng: random.Random, layout: Layout, sheet_rows: list) -> Book:
    shared = layout.strings in ("shared", "mixed")
    parts = _hand_parts(shared)
    if not shared:
        del parts[STRINGS]
    book = Book(parts, Sheet("", [], ""), [] if shared else None, date_styles={"1", "2"})
    if shared:
        book.sst = {"count": "0", "uniqueCount": "0"}

    def text_cell(text: str) -> Cell:
        kind = layout.strings
        if kind == "mixed":
            kind = rng.choice(["shared", "inline", "str"])
        if kind == "shared":
            return Cell(t="s", v=book.shared(text))
        if kind == "inline":
            return Cell(t="inlineStr", inline=_t(text))
        return Cell(t="str", v=text)

    number = 0
    rows: list[Row] = []
    if layout.gaps and rng.random() < 0.3:
        rows.append(Row(None, [], "blank"))  # a blank row above the header
        number += 1
    for values in sheet_rows:
        number += 1 + (layout.gaps and layout.row_r and rng.random() < 0.3)
        r = str(number) if layout.row_r else None
        if values is None:
            blank = rng.choice([[], [Cell(t="inlineStr", inline=_t(" "))], [Cell(s="3")]])
            rows.append(Row(r, blank, "blank"))
            continue
        cells = []
        for column, value in enumerate(values, start=1):
            if value is None:
                if layout.cell_r and rng.random() < 0.7:
                    continue  # an empty cell is simply not there
                cell = Cell(s="3" if layout.cell_r else None)  # <c/> keeps the places
            elif isinstance(value, str):
                cell = text_cell(value)
            elif isinstance(value, dt.date):
                cell = Cell(s=rng.choice(["1", "2"]), v=str(excel_serial(value)))
            else:
                text = rng.choice([str(value), excel_number(value)])
                cell = Cell(s=rng.choice([None, "3"]), v=text)
            cell.field = layout.columns[column - 1]
            if layout.cell_r:
                cell.r = f"{column_letters(column)}{number}"
            cells.append(cell)
        header = not any(row.kind == "header" for row in rows)
        rows.append(Row(r, cells, "header" if header else "data"))
    dimension = ""
    if layout.dimension:
        dimension = f'<dimension ref="A1:{column_letters(len(layout.columns))}{number}"/>'
    book.sheet = Sheet(
        f'{HAND_DECLARATION}<worksheet xmlns="{MAIN}" xmlns:r="{DOC_REL}">{dimension}'
        '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="13.5"/>',
        rows,
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        'footer="0.3"/></worksheet>',
    )
    _recount(book)
    if rng.random() < 0.3:
        book.stored = set(rng.sample(sorted(parts), rng.randint(1, len(parts))))
    return book


# ------------------------------------------------------------------------ the oracle


class Damage(Exception):
    """The worksheet's data cannot be read without a guess."""


@dataclass
class Reading:
    """What the oracle read: ``damage`` is why the file must not be accepted."""

    damage: str | None = None
    #: The worksheet's data rows (its non-blank rows but the header); None if unread.
    rows: int | None = None
    #: Fen of each amount column over the data rows; None where a cell is no plain amount.
    totals: dict[str, int | None] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _plain(element) -> str:
    """The text of a string item or an inline string: its ``<t>`` and its rich-text
    runs' ``<t>``, not the phonetic guide (``<rPh>``)."""
    parts = []
    for child in element:
        if _local(child.tag) == "t":
            parts.append(child.text or "")
        elif _local(child.tag) == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _xml(data: bytes, name: str):
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Damage(f"{name} declares a DTD")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise Damage(f"{name} is not well-formed XML ({error})") from None


def _locate(archive: zipfile.ZipFile) -> tuple[str, str | None]:
    """The first worksheet and the shared strings, as the workbook names them; the
    usual names where the workbook cannot say."""
    sheet, strings = SHEET, STRINGS if STRINGS in archive.namelist() else None
    with contextlib.suppress(Exception):
        workbook = ElementTree.fromstring(archive.read(WORKBOOK))
        first = next(e for e in workbook.iter() if _local(e.tag) == "sheet")
        wanted = first.get(f"{{{DOC_REL}}}id")
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        for rel in rels:
            target = rel.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if rel.get("Id") == wanted:
                sheet = target
            elif rel.get("Type", "").endswith("/sharedStrings"):
                strings = target
    return sheet, strings


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")


def oracle(data: bytes) -> Reading:
    """Read the first worksheet's rows from the zip with the standard library alone."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as error:
        return Reading(f"the zip cannot be opened ({type(error).__name__})")
    with archive:
        try:
            return _read(archive)
        except Damage as damage:
            return Reading(str(damage))


def _read(archive: zipfile.ZipFile) -> Reading:
    sheet_name, strings_name = _locate(archive)
    for name in (WORKBOOK, STYLES, strings_name):
        data = b""
        with contextlib.suppress(Exception):
            data = archive.read(name) if name else b""
        if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
            raise Damage(f"{name} declares a DTD")
    try:
        sheet_xml = archive.read(sheet_name)
    except Exception as error:
        raise Damage(f"{sheet_name} cannot be read ({type(error).__name__})") from None
    root = _xml(sheet_xml, sheet_name)
    strings = _Strings(archive, strings_name)
    data = next((e for e in root if _local(e.tag) == "sheetData"), None)
    valued: dict[int, dict[int, str]] = {}
    number: int | None = 0
    for row in [] if data is None else data:
        if _local(row.tag) != "row":
            continue
        given = row.get("r")
        if given is None:
            number = None if number is None else number + 1
        elif re.fullmatch(r"[0-9]+", given) and 1 <= int(given) <= 1_048_576:
            number = int(given)
        else:
            number = None
        values = _row_values(row, number, strings)
        if not values:
            continue
        if number is None:
            raise Damage(f"a row with values has no place on the sheet (r={given!r})")
        if number in valued:
            raise Damage(f"row {number} is there twice")
        valued[number] = values
    return _rows_read([valued[n] for n in sorted(valued)])


class _Strings:
    """The shared strings, read when a cell first needs one: a table that cannot be read
    is damage to the data only if the sheet uses it."""

    def __init__(self, archive: zipfile.ZipFile, name: str | None):
        self.archive, self.name, self.items = archive, name, None

    def __getitem__(self, text: str) -> str:
        if self.items is None:
            self.items = self._load()
        if not re.fullmatch(r"[0-9]+", text) or int(text) >= len(self.items):
            raise Damage(f"shared string {text!r} is not in the table of {len(self.items)}")
        return self.items[int(text)]

    def _load(self) -> list[str]:
        if self.name is None:
            raise Damage("a cell refers to a shared string, and there is no table")
        try:
            data = self.archive.read(self.name)
        except Exception as error:
            raise Damage(f"{self.name} cannot be read ({type(error).__name__})") from None
        return [_plain(item) for item in _xml(data, self.name) if _local(item.tag) == "si"]


def _row_values(row, number: int | None, strings: _Strings) -> dict[int, str]:
    values: dict[int, str] = {}
    column: int | None = 0
    for cell in row:
        if _local(cell.tag) != "c":
            continue
        ref = cell.get("r")
        if ref is None:
            column = None if column is None else column + 1
        else:
            match = _REF.fullmatch(ref)
            ok = match and column_number(match[1]) <= 16_384 and int(match[2]) == number
            column = column_number(match[1]) if ok else None
        value = _cell_value(cell, strings)
        if value is None or not value.strip():
            continue
        if column is None or number is None:
            raise Damage(f"a value in a cell off the sheet's grid (r={ref!r})")
        if column in values:
            raise Damage(f"two values in cell {column_letters(column)}{number}")
        values[column] = value
    return values


def _cell_value(cell, strings: _Strings) -> str | None:
    kind = cell.get("t", "n")
    children = {_local(child.tag): child for child in cell}
    text = children["v"].text if "v" in children else None
    if kind == "inlineStr":
        value = _plain(children["is"]) if "is" in children else None
    elif not text:
        value = None
    elif kind == "s":
        value = strings[text]
    elif kind == "n":
        if not _NUMBER.fullmatch(text):
            raise Damage(f"{text!r} is not a number")
        value = text
    elif kind == "b":
        if text not in ("0", "1"):
            raise Damage(f"{text!r} is not a truth value")
        value = text
    elif kind in ("str", "e"):
        value = text
    else:
        raise Damage(f"a cell of unknown type {kind!r}")
    if "f" in children and value is None:
        raise Damage("a formula saved without its value")
    return value


def _header_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "").strip().casefold()


_HEADERS = {_header_key(k): k for k in COLUMNS} | {_header_key(v): k for k, v in COLUMNS.items()}


def _rows_read(rows: list[dict[int, str]]) -> Reading:
    reading = Reading(rows=max(len(rows) - 1, 0))
    if not rows:
        return reading
    where = {}
    for column, text in rows[0].items():
        name = _HEADERS.get(_header_key(text))
        if name is not None:
            where.setdefault(name, column)
    for name in MONEY:
        if name in where:
            cells = [row.get(where[name]) for row in rows[1:]]
            fen = [_fen(cell) for cell in cells]
            reading.totals[name] = None if None in fen else sum(fen)
    if "bank_ref" in where:
        reading.refs = [
            unicodedata.normalize("NFKC", row[where["bank_ref"]]).strip()
            for row in rows[1:]
            if row.get(where["bank_ref"], "").strip()
        ]
    return reading


def _fen(text: str | None) -> int | None:
    """Fen of a plain amount (``1234.5``, ``1,234.50``, a number cell); None otherwise."""
    if text is None or not text.strip():
        return 0
    text = text.strip()
    if re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?", text):
        text = text.replace(",", "")
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return None
    try:
        fen = Decimal(text) * 100
    except InvalidOperation:
        return None
    return int(fen) if fen == fen.to_integral_value() else None


# ------------------------------------------------------------------------ mutations


@dataclass
class Draft:
    """A base being mutated: its model, then edits of the rendered parts, then of the
    zip's bytes."""

    book: Book
    part_edits: list[Callable[[dict[str, bytes]], None]] = field(default_factory=list)
    zip_edits: list[Callable[[bytearray], None]] = field(default_factory=list)

    def data(self) -> bytes:
        parts = self.book.files()
        for edit in self.part_edits:
            edit(parts)
        data = bytearray(pack(parts, self.book.stored))
        for edit in self.zip_edits:
            edit(data)
        return bytes(data)


def _numbers(sheet: Sheet) -> list[int]:
    """Each row's number: its ``r``, or the one after the row before's."""
    numbers, number = [], 0
    for row in sheet.rows:
        number = int(row.r) if row.r is not None and row.r.isdigit() else number + 1
        numbers.append(number)
    return numbers


def _columns(row: Row) -> list[int]:
    """Each cell's column: from its ``r``, or the one after the cell before's."""
    columns, column = [], 0
    for cell in row.cells:
        match = _REF.fullmatch(cell.r or "")
        column = column_number(match[1]) if match else column + 1
        columns.append(column)
    return columns


def _letters(ref: str | None) -> str:
    match = re.match(r"[A-Z]+", ref or "")
    return match[0] if match else "A"


def _explicit(sheet: Sheet) -> None:
    """Give every row and cell that has none its ``r``, as they are placed already."""
    for row, number in zip(sheet.rows, _numbers(sheet), strict=True):
        row.r = row.r or str(number)
        for cell, column in zip(row.cells, _columns(row), strict=True):
            cell.r = cell.r or f"{column_letters(column)}{row.r}"


def _text_of(book: Book, cell: Cell) -> str:
    """What a text cell says (for a shared string: the table's item)."""
    if cell.t != "s":
        return _cell_text(cell)
    index = int(cell.v) if re.fullmatch(r"[0-9]+", cell.v or "") else None
    if book.strings is not None and index is not None and index < len(book.strings):
        return _plain_item(book.strings[index])
    return cell.v or ""


def _width(sheet: Sheet) -> int:
    return max((max(_columns(row), default=0) for row in sheet.rows), default=1)


def _valued(sheet: Sheet, *, data_only: bool = False) -> list[tuple[Row, Cell]]:
    return [
        (row, cell)
        for row in sheet.rows
        if row.kind == "data" or (not data_only and row.kind == "header")
        for cell in row.cells
        if cell.valued
    ]


def _set_dimension(sheet: Sheet, ref: str | None) -> None:
    pattern = re.compile(r"<dimension [^>]*?/>")
    element = "" if ref is None else f"<dimension ref={quoteattr(ref)}/>"
    if pattern.search(sheet.head):
        sheet.head = pattern.sub(lambda _: element, sheet.head, count=1)
    elif element:
        after = re.search(r"</sheetPr>|<sheetPr[^>]*/>|<worksheet[^>]*>", sheet.head)
        sheet.head = sheet.head[: after.end()] + element + sheet.head[after.end() :]


def _has_dimension(sheet: Sheet) -> bool:
    return "<dimension " in sheet.head


# -- the sheet: dimension, far-out cells, references, rows, formulas, types


def dimension_understated(d: Draft, rng: random.Random) -> str:
    numbers, width = _numbers(d.book.sheet), _width(d.book.sheet)
    ref = rng.choice(
        [
            "A1:B2",
            "A1",
            f"A1:{column_letters(width)}{max(numbers[-1] - 1, 1)}",
            f"A1:{column_letters(max(width - 1, 1))}{numbers[-1]}",
            f"A1:{column_letters(width)}2",
        ]
    )
    _set_dimension(d.book.sheet, ref)
    return f"dimension {ref}"


def dimension_overstated(d: Draft, rng: random.Random) -> str:
    numbers = _numbers(d.book.sheet)
    ref = rng.choice(["A1:XFD1048576", "A1:XFD1048576", f"A1:XFD{numbers[-1]}", "A1:I1048576"])
    _set_dimension(d.book.sheet, ref)
    return f"dimension {ref}"


def dimension_garbage(d: Draft, rng: random.Random) -> str:
    ref = rng.choice(
        ["", "garbage", "B2:A1", "A0:I0", "A1:XFE1048577", "1:2", "A1:-5", "A1:I6:J7", "€", " "]
    )
    _set_dimension(d.book.sheet, ref)
    return f"dimension {ref!r}"


def dimension_removed(d: Draft, rng: random.Random) -> str | None:
    if not _has_dimension(d.book.sheet):
        return None
    _set_dimension(d.book.sheet, None)
    return "dimension removed"


def _far_dimension(d: Draft, rng: random.Random, honest: str) -> str:
    choice = rng.choice(["kept", "honest", "removed"])
    if choice == "honest":
        _set_dimension(d.book.sheet, honest)
    elif choice == "removed":
        _set_dimension(d.book.sheet, None)
    return f"dimension {honest}" if choice == "honest" else f"dimension {choice}"


def far_blank_in_every_row(d: Draft, rng: random.Random) -> str | None:
    sheet = d.book.sheet
    if any(cell.r and cell.r.startswith("XFD") for row in sheet.rows for cell in row.cells):
        return None
    for row, number in zip(sheet.rows, _numbers(sheet), strict=True):
        row.cells.append(Cell(r=f"XFD{number}", s=rng.choice([None, "0"])))
    honest = f"A1:XFD{_numbers(sheet)[-1]}"
    return "blank <c r=XFD{row}/> in every row, " + _far_dimension(d, rng, honest)


def far_blank_corner(d: Draft, rng: random.Random) -> str | None:
    if _numbers(d.book.sheet)[-1] >= 1_048_576:
        return None
    d.book.sheet.rows.append(
        Row("1048576", [Cell(r="XFD1048576", s=rng.choice([None, "0"]))], "blank")
    )
    return "blank <c r=XFD1048576/>, " + _far_dimension(d, rng, "A1:XFD1048576")


def cell_r_removed(d: Draft, rng: random.Random) -> str:
    removed = 0
    for row in d.book.sheet.rows:
        if rng.random() < 0.5:
            continue
        previous = 0
        for cell, column in zip(row.cells, _columns(row), strict=True):
            if column == previous + 1 and cell.r is not None:
                cell.r = None
                removed += 1
            previous = column
    return f"r removed from {removed} cells"


def row_r_removed(d: Draft, rng: random.Random) -> str:
    sheet = d.book.sheet
    contiguous = all(_columns(row) == list(range(1, len(row.cells) + 1)) for row in sheet.rows)
    if contiguous and rng.random() < 0.4:
        for row in sheet.rows:
            row.r = None
            for cell in row.cells:
                cell.r = None
        return "every r removed (rows and cells)"
    removed, previous = 0, 0
    for row, number in zip(sheet.rows, _numbers(sheet), strict=True):
        if number == previous + 1 and row.r is not None and rng.random() < 0.7:
            row.r = None
            removed += 1
        previous = number
    return f"r removed from {removed} rows"


def cell_r_repeated(d: Draft, rng: random.Random) -> str | None:
    rows = [row for row in d.book.sheet.rows if len(row.cells) >= 2 and row.kind != "blank"]
    if not rows:
        return None
    _explicit(d.book.sheet)
    row = rng.choice(rows)
    n = rng.randrange(1, len(row.cells))
    row.cells[n].r = row.cells[n - 1].r
    return f"cell {row.cells[n].r} twice"


def cells_out_of_order(d: Draft, rng: random.Random) -> str | None:
    rows = [row for row in d.book.sheet.rows if len(row.cells) >= 2 and row.kind != "blank"]
    if not rows:
        return None
    _explicit(d.book.sheet)
    row = rng.choice(rows)
    n = rng.randrange(1, len(row.cells))
    row.cells[n - 1], row.cells[n] = row.cells[n], row.cells[n - 1]
    return f"cells {row.cells[n].r} and {row.cells[n - 1].r} swapped"


def reference_off_grid(d: Draft, rng: random.Random) -> str:
    sheet = d.book.sheet
    _explicit(sheet)
    row, cell = rng.choice(_valued(sheet))
    letters = _letters(cell.r)
    choice = rng.choice(["column", "cell row", "row", "row"])
    if choice == "column":
        cell.r = f"{rng.choice(['XFE', 'ZZZ', 'AAAA'])}{row.r}"
        return f"cell reference {cell.r}"
    if choice == "cell row":
        cell.r = f"{letters}{rng.choice(['1048577', '0', '99999999'])}"
        return f"cell reference {cell.r} in row {row.r}"
    given = rng.choice(["1048577", "0", "-1", "1.5", "x", "", "\u0662"])
    row.r = given
    for other in row.cells:
        other.r = f"{_letters(other.r)}{given}"
    return f"row number {given!r}"


def rows_out_of_order(d: Draft, rng: random.Random) -> str | None:
    sheet = d.book.sheet
    places = [n for n in range(1, len(sheet.rows)) if sheet.rows[n].kind != "blank"]
    if not places:
        return None
    _explicit(sheet)
    n = rng.choice(places)
    sheet.rows[n - 1], sheet.rows[n] = sheet.rows[n], sheet.rows[n - 1]
    return f"rows {sheet.rows[n].r} and {sheet.rows[n - 1].r} swapped"


def row_number_repeated(d: Draft, rng: random.Random) -> str | None:
    sheet = d.book.sheet
    places = [n for n in range(1, len(sheet.rows)) if sheet.rows[n].kind == "data"]
    if not places:
        return None
    _explicit(sheet)
    n = rng.choice(places)
    if rng.random() < 0.3:
        sheet.rows.insert(n, copy.deepcopy(sheet.rows[n]))
        return f"row {sheet.rows[n].r} written twice"
    number = sheet.rows[n - 1].r
    sheet.rows[n].r = number
    for cell in sheet.rows[n].cells:
        cell.r = f"{_letters(cell.r)}{number}"
    return f"row number {number} twice"


def _formula(d: Draft, rng: random.Random, *, cached: bool) -> str:
    chosen = rng.sample(_valued(d.book.sheet, data_only=True), rng.randint(1, 3))
    for _row, cell in chosen:
        if cell.t in (None, "n") and cell.v is not None:
            cell.f = rng.choice([f"{cell.v}*1", f"ROUND({cell.v},2)", f"{cell.v}+0"])
        else:
            text = _text_of(d.book, cell)
            cell.t, cell.v, cell.inline = "str", text, None
            cell.f = f'"{text}"' if rng.random() < 0.5 else f'TRIM("{text}")'
        if not cached:
            cell.v = None
    return f"formula in {len(chosen)} cells, {'with' if cached else 'without'} its value"


def formula_with_value(d: Draft, rng: random.Random) -> str:
    return _formula(d, rng, cached=True)


def formula_without_value(d: Draft, rng: random.Random) -> str:
    return _formula(d, rng, cached=False)


def type_changed(d: Draft, rng: random.Random) -> str:
    row, cell = rng.choice(_valued(d.book.sheet))
    was = cell.t or "n"
    cell.t = rng.choice([t for t in ("s", "n", "str", "inlineStr", "b", "e") if t != was])
    if cell.t == "n" and rng.random() < 0.5:
        cell.t = None
    return f"type of a {cell.field or row.kind} cell {was} -> {cell.t or 'n (no t)'}"


# -- shared strings and styles


def _shared_cells(book: Book) -> list[Cell]:
    return [cell for row in book.sheet.rows for cell in row.cells if cell.t == "s"]


def _ensure_shared(d: Draft, rng: random.Random) -> list[Cell]:
    """The cells holding shared strings, after moving some text there if none do."""
    book = d.book
    if book.strings is None:
        book.strings, book.sst = [], {"count": "0", "uniqueCount": "0"}
        book.parts[STRINGS] = b""
        book.parts["xl/_rels/workbook.xml.rels"] = book.parts["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>",
            f'<Relationship Id="rId98" Type="{DOC_REL}/sharedStrings" '
            f'Target="sharedStrings.xml"/></Relationships>'.encode(),
        )
        book.parts[TYPES] = book.parts[TYPES].replace(
            b"</Types>",
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
            "</Types>".encode(),
        )
    if not _shared_cells(book):
        for _row, cell in _valued(book.sheet):
            if cell.t in ("inlineStr", "str") and rng.random() < 0.7:
                _to_shared(book, cell)
    return _shared_cells(book)


def shared_index_out_of_range(d: Draft, rng: random.Random) -> str | None:
    cells = _ensure_shared(d, rng)
    if not cells:
        return None
    cell = rng.choice(cells)
    cell.v = str(len(d.book.strings) + rng.choice([0, 1, 7, 10**6, 2**32]))
    return f"shared string index {cell.v} of {len(d.book.strings)}"


def shared_index_negative(d: Draft, rng: random.Random) -> str | None:
    cells = _ensure_shared(d, rng)
    if not cells:
        return None
    cell = rng.choice(cells)
    cell.v = rng.choice(["-1", "-2", f"-{len(d.book.strings)}"])
    return f"shared string index {cell.v}"


def shared_index_not_a_number(d: Draft, rng: random.Random) -> str | None:
    cells = _ensure_shared(d, rng)
    if not cells:
        return None
    cell = rng.choice(cells)
    cell.v = rng.choice(["x", "1.0", "1e0", "0x1", "\u0661", "one", "NaN", "٣"])
    return f"shared string index {cell.v!r}"


def shared_counts_lying(d: Draft, rng: random.Random) -> str | None:
    if not _ensure_shared(d, rng):
        return None
    sst = {}
    for name in ("count", "uniqueCount"):
        value = rng.choice([None, "0", "1", "999999999", "-3", "abc", str(len(d.book.strings))])
        if value is not None:
            sst[name] = value
    d.book.sst = sst
    return f"shared strings counts {sst}"


def shared_item_removed(d: Draft, rng: random.Random) -> str | None:
    if not _ensure_shared(d, rng):
        return None
    n = rng.randrange(len(d.book.strings))
    del d.book.strings[n]
    _recount(d.book)
    return f"shared string {n} of {len(d.book.strings) + 1} removed"


_RUN_PROPERTIES = [
    "",
    '<rPr><b/><sz val="11"/><rFont val="宋体"/></rPr>',
    '<rPr><i/><color rgb="FFFF0000"/><rFont val="Calibri"/><family val="2"/></rPr>',
]


def _runs(rng: random.Random, text: str) -> str:
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 2))))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return "".join(
        f'<r>{rng.choice(_RUN_PROPERTIES)}<t xml:space="preserve">{escape(p)}</t></r>'
        for p in pieces
    )


def _phonetic(rng: random.Random, text: str) -> str:
    guide = rng.choice(["ぎんこう", "ｲﾝﾀﾚｽﾄ", "pinyin", "リュウスイ"])
    return (
        f'<rPh sb="0" eb="{len(text)}"><t>{guide}</t></rPh>'
        '<phoneticPr fontId="1" type="noConversion"/>'
    )


def shared_rich_text(d: Draft, rng: random.Random) -> str | None:
    if not _ensure_shared(d, rng):
        return None
    chosen = [
        n
        for n, item in enumerate(d.book.strings)
        if item.startswith("<t") and len(_plain_item(item)) >= 2
    ]
    if not chosen:
        return None
    chosen = rng.sample(chosen, rng.randint(1, len(chosen)))
    for n in chosen:
        d.book.strings[n] = _runs(rng, _plain_item(d.book.strings[n]))
    return f"{len(chosen)} shared strings as rich-text runs"


def _plain_item(item: str) -> str:
    return _plain(ElementTree.fromstring(f'<si xmlns="{MAIN}">{item}</si>'))


def shared_phonetic(d: Draft, rng: random.Random) -> str | None:
    if not _ensure_shared(d, rng):
        return None
    chosen = rng.sample(range(len(d.book.strings)), rng.randint(1, len(d.book.strings)))
    for n in chosen:
        item = d.book.strings[n]
        text = _plain_item(item)
        if rng.random() < 0.5 and len(text) >= 2:
            item = _runs(rng, text)
        d.book.strings[n] = item + _phonetic(rng, text)
    return f"phonetic runs in {len(chosen)} shared strings"


def strings_moved(d: Draft, rng: random.Random) -> str | None:
    """Text cells moved between the shared table, inline strings (plain, rich, with a
    phonetic guide) and formula strings, as different writers keep them."""
    _ensure_shared(d, rng)
    moved = 0
    for _row, cell in _valued(d.book.sheet):
        if cell.t not in ("s", "inlineStr", "str") or rng.random() < 0.5:
            continue
        text = _text_of(d.book, cell)
        target = rng.choice(["s", "inlineStr", "str", "rich", "phonetic"])
        cell.v = cell.inline = None
        if target == "s":
            cell.t, cell.v = "s", d.book.shared(text)
        elif target == "str":
            cell.t, cell.v = "str", text
        else:
            cell.t = "inlineStr"
            cell.inline = _t(text)
            if target == "rich" and len(text) >= 2:
                cell.inline = _runs(rng, text)
            elif target == "phonetic":
                cell.inline += _phonetic(rng, text)
        moved += 1
    _recount(d.book)
    return f"{moved} text cells moved between shared, inline and formula strings"


def _xf_count(parts: dict[str, bytes]) -> int:
    body = re.search(rb"<cellXfs[^>]*>(.*?)</cellXfs>", parts.get(STYLES, b""), re.DOTALL)
    return 0 if body is None else len(re.findall(rb"<xf[ >/]", body[1]))


def _past_styles(d: Draft, rng: random.Random, which: Callable[[Cell], bool], what: str):
    cells = [cell for _row, cell in _valued(d.book.sheet) if which(cell)]
    if not cells:
        return None
    chosen = rng.sample(cells, rng.randint(1, len(cells)))
    beyond = _xf_count(d.book.files()) + rng.choice([0, 1, 50, 65_000])
    for cell in chosen:
        cell.s = str(beyond)
    return f"style {beyond} (past cellXfs) on {len(chosen)} {what} cells"


def _is_date(book: Book, cell: Cell) -> bool:
    return cell.field == "paid_on" and cell.t in (None, "n") and cell.s in book.date_styles


def style_past_end_on_text(d: Draft, rng: random.Random):
    return _past_styles(d, rng, lambda c: c.t in ("s", "inlineStr", "str"), "text")


def style_past_end_on_numbers(d: Draft, rng: random.Random):
    return _past_styles(
        d, rng, lambda c: c.t in (None, "n") and c.field in MONEY and c.v is not None, "amount"
    )


def style_past_end_on_dates(d: Draft, rng: random.Random):
    return _past_styles(d, rng, lambda c: _is_date(d.book, c), "date")


_DATE_CODES = [
    'yyyy"年"m"月"d"日"',
    "[$-804]yyyy-mm-dd",
    "yyyy-mm-dd;@",
    "dd/mm/yyyy",
    "m/d/yy",
    "[$-F800]dddd, mmmm dd, yyyy",
    "yyyy\\-mm\\-dd",
]


def custom_date_format(d: Draft, rng: random.Random) -> str | None:
    cells = [c for _r, c in _valued(d.book.sheet) if c.field == "paid_on"]
    xfs = _xf_count(d.book.parts)
    past = [c for _r, c in _valued(d.book.sheet) if c.s and c.s.isdigit() and int(c.s) >= xfs]
    if not cells or STYLES not in d.book.parts or past:
        return None  # (a style past the end would become the new date style)
    code = rng.choice(_DATE_CODES)
    styles = d.book.parts[STYLES].decode()
    ids = [int(n) for n in re.findall(r'numFmtId="(\d+)"', styles)]
    number = max([180, *ids]) + 1
    element = f'<numFmt numFmtId="{number}" formatCode={quoteattr(code)}/>'
    if "<numFmts" in styles:
        styles = re.sub(r"(<numFmts[^>]*>)", lambda m: m[1] + element, styles, count=1)
        styles = re.sub(
            r'<numFmts count="(\d+)"', lambda m: f'<numFmts count="{int(m[1]) + 1}"', styles
        )
    else:
        styles = re.sub(
            r"(<styleSheet[^>]*>)", lambda m: f'{m[1]}<numFmts count="1">{element}</numFmts>',
            styles, count=1,
        )  # fmt: skip
    index = _xf_count({STYLES: styles.encode()})
    styles = styles.replace(
        "</cellXfs>",
        f'<xf numFmtId="{number}" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/></cellXfs>',
    )
    styles = re.sub(r'<cellXfs count="\d+"', f'<cellXfs count="{index + 1}"', styles)
    d.book.parts[STYLES] = styles.encode()
    d.book.date_styles = d.book.date_styles | {str(index)}
    for cell in cells:
        cell.s = str(index)
    return f"date cells in a custom number format {code}"


def styles_removed(d: Draft, rng: random.Random) -> str | None:
    if STYLES not in d.book.parts:
        return None
    del d.book.parts[STYLES]
    if rng.random() < 0.5:
        d.book.parts[TYPES] = re.sub(
            rb'<Override PartName="/xl/styles.xml"[^>]*/>', b"", d.book.parts[TYPES]
        )
        rels = "xl/_rels/workbook.xml.rels"
        d.book.parts[rels] = re.sub(rb'<Relationship [^>]*styles"[^>]*/>', b"", d.book.parts[rels])
        return "xl/styles.xml removed, and its relationship"
    return "xl/styles.xml removed"


def styles_garbled(d: Draft, rng: random.Random) -> str | None:
    if STYLES not in d.book.parts:
        return None
    styles = d.book.parts[STYLES]
    choice = rng.choice(["empty", "bytes", "root", "cut", "numFmtId", "no xfs", "count"])
    if choice == "empty":
        styles = b""
    elif choice == "bytes":
        styles = bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    elif choice == "root":
        styles = b"<styleSheet/>"
    elif choice == "cut":
        styles = styles[: rng.randrange(1, len(styles))]
    elif choice == "numFmtId":
        styles = re.sub(rb'numFmtId="\d+"', b'numFmtId="x"', styles)
    elif choice == "no xfs":
        styles = re.sub(rb"<cellXfs.*?</cellXfs>", b"", styles, flags=re.DOTALL)
    else:
        styles = re.sub(rb'<cellXfs count="\d+"', b'<cellXfs count="-7"', styles)
    d.book.parts[STYLES] = styles
    return f"xl/styles.xml garbled ({choice})"


# -- the zip


def _records(data: bytes) -> dict[str, tuple[int, int]]:
    """Each part's central directory record and local header: their offsets (none if
    the zip's end record is gone)."""
    found: dict[str, tuple[int, int]] = {}
    end = data.rfind(b"PK\x05\x06")
    with contextlib.suppress(struct.error, UnicodeDecodeError):
        count, _size, at = struct.unpack_from("<HII", data, end + 10) if end >= 0 else (0, 0, 0)
        for _ in range(count):
            name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, at + 28)
            (local,) = struct.unpack_from("<I", data, at + 42)
            found[data[at + 46 : at + 46 + name_length].decode()] = (at, local)
            at += 46 + name_length + extra_length + comment_length
    return found


def _pick_part(rng: random.Random, names) -> str:
    names = sorted(names)
    weighted = names + [n for n in names if n in (SHEET, STRINGS)] * 3
    return rng.choice(weighted)


#: A field of a part's zip records: its offset in the central directory record and in
#: the local header.
_ZIP_FIELDS = {"crc": (16, 14), "compressed size": (20, 18), "uncompressed size": (24, 22)}
_CHANGES: dict[str, Callable[[int], int]] = {
    "zero": lambda n: 0,
    "half": lambda n: n // 2,
    "minus 1": lambda n: max(n - 1, 0),
    "minus 100": lambda n: max(n - 100, 0),
    "plus 1": lambda n: n + 1,
    "doubled": lambda n: 2 * n + 1,
    "plus 10**6": lambda n: n + 10**6,
    "0xFFFFFFFF": lambda n: 0xFFFFFFFF,
}
_UNDER = ("zero", "half", "minus 1", "minus 100")
_OVER = ("plus 1", "doubled", "plus 10**6", "0xFFFFFFFF")


def _zip_field(where: str, name: str, changes: tuple[str, ...] = _UNDER + _OVER):
    def mutation(d: Draft, rng: random.Random) -> str:
        part = _pick_part(rng, d.book.files())
        change = rng.choice(changes) if name != "crc" else f"bit {rng.randrange(32)}"

        def edit(data: bytearray) -> None:
            records = _records(bytes(data))
            if part not in records:
                return  # another mutation removed the part
            central, local = records[part]
            at = central + _ZIP_FIELDS[name][0] if where == "central" else (
                local + _ZIP_FIELDS[name][1]
            )  # fmt: skip
            (value,) = struct.unpack_from("<I", data, at)
            crc = name == "crc"
            new = value ^ (1 << int(change.split()[1])) if crc else _CHANGES[change](value)
            struct.pack_into("<I", data, at, new)

        d.zip_edits.append(edit)
        return f"{where} {name} of {part}: {change}"

    return mutation


#: Header fields a zip reader must check before it trusts a part: their offsets in the
#: central record and the local header, and values no spreadsheet program writes.
_HEADER_FIELDS = {
    "version needed": (6, 4, (64, 0xFF, 0xFFFF)),
    "flags": (8, 6, (0x1, 0x40, 0x8)),
    "compression method": (10, 8, (1, 12, 14, 99, 0xFFFF)),
}


def zip_header_field(d: Draft, rng: random.Random) -> str:
    part = _pick_part(rng, d.book.files())
    where = rng.choice(["central", "local"])
    name = rng.choice(sorted(_HEADER_FIELDS))
    central_at, local_at, values = _HEADER_FIELDS[name]
    value = rng.choice(values)

    def edit(data: bytearray) -> None:
        records = _records(bytes(data))
        if part in records:
            at = records[part][0] + central_at if where == "central" else (
                records[part][1] + local_at
            )  # fmt: skip
            (old,) = struct.unpack_from("<H", data, at)
            struct.pack_into("<H", data, at, old | value if name == "flags" else value)

    d.zip_edits.append(edit)
    return f"{where} {name} of {part}: {'| ' if name == 'flags' else ''}{value:#x}"


def zip_truncated(d: Draft, rng: random.Random) -> str:
    cut = rng.random()

    def edit(data: bytearray) -> None:
        del data[int(len(data) * cut) :]

    d.zip_edits.append(edit)
    return f"zip truncated at {cut:.1%}"


def zip_bytes_flipped(d: Draft, rng: random.Random) -> str:
    flips = [(rng.random(), rng.randrange(1, 256)) for _ in range(rng.randint(1, 4))]

    def edit(data: bytearray) -> None:
        for where, mask in flips:
            data[int(len(data) * where)] ^= mask

    d.zip_edits.append(edit)
    return "zip bytes flipped at " + ", ".join(f"{w:.2%}^{m:#04x}" for w, m in flips)


def parts_stored_or_deflated(d: Draft, rng: random.Random) -> str:
    names = sorted(d.book.files())
    flipped = rng.sample(names, rng.randint(1, len(names)))
    d.book.stored = d.book.stored ^ set(flipped)
    return f"stored/deflated switched for {len(flipped)} parts"


def part_missing(d: Draft, rng: random.Random) -> str | None:
    name = rng.choice([SHEET, SHEET, TYPES, WORKBOOK])
    if name not in d.book.parts:
        return None
    del d.book.parts[name]
    return f"{name} missing"


# -- XML


def _part_edit(d: Draft, name: str, edit: Callable[[bytes], bytes]) -> None:
    def apply(parts: dict[str, bytes]) -> None:
        if name in parts:
            parts[name] = edit(parts[name])

    d.part_edits.append(apply)


def xml_truncated(d: Draft, rng: random.Random) -> str:
    name = _pick_part(
        rng, [n for n in d.book.files() if n.endswith((".xml", ".rels")) and n != SHEET] + [SHEET]
    )
    cut = rng.random()
    _part_edit(d, name, lambda data: data[: int(len(data) * cut)])
    return f"{name} truncated at {cut:.0%}"


def _doctype(rng: random.Random, root: str) -> tuple[bytes, bytes, str]:
    """A DTD and an entity reference to use in the part, and what it is."""
    choice = rng.choice(["laughs", "laughs", "external", "parameter"])
    if choice == "laughs":
        levels = rng.choice([3, 5, 9])
        entities = '<!ENTITY lol "lol">' + "".join(
            f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
            for n in range(1, levels + 1)
        )
        return f"<!DOCTYPE {root} [{entities}]>".encode(), f"&lol{levels};".encode(), choice
    if choice == "external":
        dtd = f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        return dtd.encode(), b"&xxe;", choice
    dtd = f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
    return dtd.encode(), b"", choice


def _declare(data: bytes, dtd: bytes) -> bytes:
    end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
    return data[:end] + dtd + data[end:] if end >= 2 else dtd + data


def xml_entities(d: Draft, rng: random.Random) -> str:
    name = rng.choice([SHEET, SHEET, STRINGS, STYLES, WORKBOOK])
    if name not in d.book.files():
        name = SHEET
    root = {SHEET: "worksheet", STRINGS: "sst", STYLES: "styleSheet", WORKBOOK: "workbook"}[name]
    dtd, reference, what = _doctype(rng, root)

    def edit(data: bytes) -> bytes:
        if reference and name == SHEET:
            data = data.replace(
                b"</sheetData>",
                b'<row r="1048000"><c r="A1048000" t="inlineStr"><is><t>' + reference
                + b"</t></is></c></row></sheetData>",
            )  # fmt: skip
        elif reference and name == STRINGS:
            data = data.replace(b"</sst>", b"<si><t>" + reference + b"</t></si></sst>")
        return _declare(data, dtd)

    _part_edit(d, name, edit)
    return f"{name} declares entities ({what})"


_BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe4\xb8", b"\xf8\x88\x80\x80"]


def xml_invalid_utf8(d: Draft, rng: random.Random) -> str:
    name = rng.choice([SHEET, SHEET, STRINGS, STYLES, WORKBOOK])
    if name not in d.book.files():
        name = SHEET
    bad = rng.choice(_BAD_UTF8)

    def edit(data: bytes) -> bytes:
        texts = [m.start() + 1 for m in re.finditer(rb">[^<]+<", data)] or [len(data) // 2]
        at = rng.choice(texts)
        return data[:at] + bad + data[at:]

    _part_edit(d, name, edit)
    return f"invalid UTF-8 {bad!r} in {name}"


# ------------------------------------------------------------------------ families


@dataclass(frozen=True)
class Mutation:
    name: str
    apply: Callable[[Draft, random.Random], str | None]
    #: The data stays as it was: the mutated file must be accepted like its base.
    same: bool


FAMILIES: dict[str, list[Mutation]] = {
    "sheet": [
        Mutation("dimension understated", dimension_understated, True),
        Mutation("dimension overstated", dimension_overstated, True),
        Mutation("dimension garbage", dimension_garbage, True),
        Mutation("dimension removed", dimension_removed, True),
        Mutation("far blank cell in every row", far_blank_in_every_row, True),
        Mutation("far blank cell XFD1048576", far_blank_corner, True),
        Mutation("cell r removed", cell_r_removed, True),
        Mutation("row r removed", row_r_removed, True),
        Mutation("cell r repeated", cell_r_repeated, False),
        Mutation("cells out of order", cells_out_of_order, False),
        Mutation("reference off the grid", reference_off_grid, False),
        Mutation("rows out of order", rows_out_of_order, False),
        Mutation("row number repeated", row_number_repeated, False),
        Mutation("formula with its value", formula_with_value, True),
        Mutation("formula without its value", formula_without_value, False),
        Mutation("cell type changed", type_changed, False),
    ],
    "strings": [
        Mutation("shared string index out of range", shared_index_out_of_range, False),
        Mutation("shared string index negative", shared_index_negative, False),
        Mutation("shared string index not a number", shared_index_not_a_number, False),
        Mutation("shared strings counts lying", shared_counts_lying, True),
        Mutation("shared string removed", shared_item_removed, False),
        Mutation("shared strings as rich text", shared_rich_text, True),
        Mutation("phonetic runs", shared_phonetic, True),
        Mutation("strings moved", strings_moved, True),
        Mutation("style past cellXfs on text", style_past_end_on_text, True),
        Mutation("style past cellXfs on amounts", style_past_end_on_numbers, True),
        Mutation("style past cellXfs on dates", style_past_end_on_dates, False),
        Mutation("custom date format", custom_date_format, True),
        Mutation("styles removed", styles_removed, False),
        Mutation("styles garbled", styles_garbled, False),
    ],
    "zip": [
        Mutation("central uncompressed size understated",
                 _zip_field("central", "uncompressed size", _UNDER), False),
        Mutation("central uncompressed size overstated",
                 _zip_field("central", "uncompressed size", _OVER), False),
        Mutation("local uncompressed size wrong", _zip_field("local", "uncompressed size"), False),
        Mutation("central compressed size wrong", _zip_field("central", "compressed size"), False),
        Mutation("local compressed size wrong", _zip_field("local", "compressed size"), False),
        Mutation("central CRC wrong", _zip_field("central", "crc"), False),
        Mutation("local CRC wrong", _zip_field("local", "crc"), False),
        Mutation("header field unsupported", zip_header_field, False),
        Mutation("truncated", zip_truncated, False),
        Mutation("bytes flipped", zip_bytes_flipped, False),
        Mutation("stored or deflated", parts_stored_or_deflated, True),
        Mutation("part missing", part_missing, False),
    ],
    "xml": [
        Mutation("part truncated", xml_truncated, False),
        Mutation("entities declared", xml_entities, False),
        Mutation("invalid UTF-8", xml_invalid_utf8, False),
        # The harmless ones too, so that damage meets every layout of the data.
        Mutation("strings moved", strings_moved, True),
        Mutation("cell r removed", cell_r_removed, True),
    ],
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    id: str
    family: str
    base: int
    data: bytes
    mutations: tuple[str, ...]
    #: The data is the base's: the file must be accepted (or be a duplicate).
    same: bool


def make_case(family: str, number: int) -> Case:
    """Case ``number`` of ``family``: the same bytes on every run.

    To look at a failing case: ``Path("case.xlsx").write_bytes(make_case("sheet",
    123).data)``.
    """
    base, slot = divmod(number, PER_BASE)
    draft = Draft(copy.deepcopy(make_base(family, base)))
    rng = random.Random(f"case:{family}:{number}")
    # Every other base is imported as it is first; the rest post with a mutation.
    if slot == 0 and base % 2 == 0:
        return Case(f"{family}:{number}", family, base, draft.data(), ("none: the base",), True)
    mutations = FAMILIES[family]
    wanted = 1 if rng.random() < 0.75 else rng.randint(2, 3)
    done, same = [], True
    for _attempt in range(20):
        if len(done) == wanted:
            break
        mutation = rng.choice(mutations)
        what = mutation.apply(draft, rng)
        if what is not None:
            done.append(f"{mutation.name}: {what}")
            same = same and mutation.same
    return Case(f"{family}:{number}", family, base, draft.data(), tuple(done), same)


@functools.lru_cache(maxsize=64)
def base_data(family: str, base: int) -> tuple:
    """What the oracle reads in a base: its bank references and totals."""
    book = make_base(family, base)
    reading = oracle(pack(book.files(), book.stored))
    return sorted(reading.refs), reading.totals


# ------------------------------------------------------------------------ checking a case


class Overtime(BaseException):
    """Raised in an import that runs past BOUND (not an Exception: nothing may catch it)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Interrupt the block after ``seconds`` (a POSIX timer, on the main thread; elsewhere
    the import is only timed)."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def stop(_signum, _frame):
        raise Overtime

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Loop:
    """One family's cases against one database: what failed, and counts."""

    factory: object
    folder: object
    failures: list[str] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)
    #: Bases whose rows can no longer all post (a repair reversed one of them).
    tainted: set[int] = field(default_factory=set)
    overtime: int = 0
    slowest: float = 0.0
    importing: float = 0.0
    #: The books as the last case left them (None: to be read).
    books: tuple | None = None


def check_case(loop: Loop, case: Case) -> None:
    path = loop.folder / f"ICBC_repayment_{case.id.replace(':', '_')}.xlsx"
    path.write_bytes(case.data)
    before = loop.books if loop.books is not None else books(loop.factory)
    failed = []
    receipt = None
    started = time.monotonic()
    try:
        with time_limit(BOUND):
            receipt = import_file(
                loop.factory, bank="ICBC", kind="repayment", path=path, actor="icbc", today=TODAY
            )
    except Overtime:
        loop.overtime += 1
        failed.append(f"still importing after {BOUND:.0f} s: stopped")
    except Exception as error:
        where = traceback.extract_tb(error.__traceback__)[-1]
        failed.append(
            f"raised {type(error).__name__}: {error} "
            f"(at {where.filename.rpartition('/')[2]}:{where.lineno})"
        )
    took = time.monotonic() - started
    loop.slowest = max(loop.slowest, took)
    loop.importing += took
    if receipt is not None:
        if took > BOUND:
            failed.append(f"took {took:.1f} s")
        failed += _check_receipt(loop, case, receipt, before)
    elif case.same:
        loop.stats["same, no receipt"] += 1
    loop.stats[receipt.status if receipt is not None else "no receipt"] += 1
    loop.stats["same"] += case.same
    path.unlink()
    for problem in failed:
        text = f"case {case.id} [{'; '.join(case.mutations)}]: {problem}"
        loop.failures.append(" ".join(text.split()))
    if receipt is None:
        loop.books = None
    elif receipt.posted:
        _repair(loop, case)


def _check_receipt(loop: Loop, case: Case, receipt, before) -> list[str]:
    failed = []
    status = receipt.status
    loop.books = None
    if status not in ("accepted", "rejected", "duplicate"):
        return [f"status {status!r}"]
    if status == "rejected":
        with loop.factory() as s:
            problems = list(error_lines(s, receipt.id))
        if not problems:
            failed.append("rejected without an error line")
        if (receipt.posted, receipt.skipped, receipt.entry_ids) != (0, 0, ()):
            failed.append(f"rejected but posted {receipt.posted}, skipped {receipt.skipped}")
        texts = [receipt.message or "", receipt.message_zh or ""]
        texts += [text for p in problems[:20] for text in (p.message, p.zh)]
        for text in texts:
            if str(loop.folder) in text or tempfile.gettempdir() + "/" in text:
                failed.append(f"a message names the temporary folder: {text!r}")
                break
    loop.books = books(loop.factory)  # the next case's "before" too
    if status in ("rejected", "duplicate") and loop.books != before:
        failed.append(f"{status}, yet the books changed")
    if status == "duplicate" and (receipt.duplicate_of is None or receipt.posted):
        failed.append(f"a duplicate of {receipt.duplicate_of} that posted {receipt.posted}")
    if case.same and status == "rejected" and case.base not in loop.tainted:
        failed.append(f"rejected, though the data is the base's: {_why(loop, receipt)}")
    if status != "accepted":
        return failed
    if receipt.errors:
        failed.append(f"accepted with {receipt.errors} error lines")
    loop.stats["posting"] += receipt.posted > 0
    reading = oracle(case.data)
    if receipt.posted and (
        reading.damage
        or (sorted(reading.refs), reading.totals) != base_data(case.family, case.base)
    ):
        # Rows that differ from the base's were posted: the base's own may now clash.
        loop.tainted.add(case.base)
    if reading.damage is not None:
        failed.append(f"accepted, though {reading.damage}")
    if reading.rows is None:
        return failed
    if not receipt.posted + receipt.skipped == receipt.rows == reading.rows:
        failed.append(
            f"rows {receipt.rows}, posted {receipt.posted}, skipped {receipt.skipped}; "
            f"the sheet holds {reading.rows}"
        )
        return failed
    if reading.damage is None:
        wrong = [
            f"{name} {receipt.totals.get(name)} (the sheet's {fen})"
            for name, fen in reading.totals.items()
            if fen is not None and receipt.totals.get(name) != fen
        ]
        if wrong:
            failed.append(f"totals in fen: {', '.join(wrong)}")
        loop.stats["totals checked"] += reading.totals.get("principal") is not None
    if reading.refs and reading.damage is None:
        with loop.factory() as s:
            stored = set(
                s.scalars(
                    select(Repayment.bank_ref).where(
                        Repayment.bank_code == "ICBC", Repayment.bank_ref.in_(reading.refs)
                    )
                )
            )
        if missing := sorted(set(reading.refs) - stored):
            failed.append(f"bank references {missing} are not in the books")
    return failed


def _why(loop: Loop, receipt) -> str:
    if receipt.message:
        return receipt.message
    with loop.factory() as s:
        problems = list(error_lines(s, receipt.id))[:2]
    return "; ".join(f"row {p.row} {p.column} {p.value!r}: {p.message}" for p in problems)


def _repair(loop: Loop, case: Case) -> None:
    """Every base leaves the loan's principal as it was; if an import posted a
    repayment without its reversal, reverse it here so that later cases still post."""
    with loop.factory() as s:
        if loans.get_loan(s, "ICBC", CONTRACT).repaid_principal == 0:
            return
        reversed_ids = select(Repayment.reversal_of_id).where(Repayment.reversal_of_id.is_not(None))
        stray = s.scalars(
            select(Repayment.bank_ref).where(
                Repayment.principal > 0,
                Repayment.reversal_of_id.is_(None),
                Repayment.id.not_in(reversed_ids),
            )
        ).all()
    for n, ref in enumerate(stray):
        fix = f"FIX{case.id.replace(':', '')}{n}"
        run(
            loop.factory,
            lambda s, ref=ref, fix=fix: reverse_repayment(
                s, bank="ICBC", bank_ref=fix, reversal_of=ref, on=TODAY, actor="icbc",
                contract_no=CONTRACT, today=TODAY,
            ),
        )  # fmt: skip
    loop.tainted.add(case.base)
    loop.books = None
    loop.failures.append(f"case {case.id}: repayments {stray} posted without their reversal")


# ------------------------------------------------------------------------ the tests


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_mutated_workbook_gives_a_receipt_and_an_accepted_one_holds_every_row(
    fund, tmp_path, family
):
    loop = Loop(fund, tmp_path)
    stopped = ""
    for number in range(CASES):
        check_case(loop, make_case(family, number))
        if len(loop.failures) >= MAX_FAILURES or loop.overtime >= MAX_OVERTIME:
            stopped = f" (stopped after case {family}:{number})"
            break
    stats = loop.stats
    cases = sum(stats[s] for s in ("accepted", "rejected", "duplicate", "no receipt"))
    print(
        f"{family}: {cases} cases{stopped}: {stats['accepted']} accepted "
        f"({stats['posting']} posting), {stats['duplicate']} duplicate, "
        f"{stats['rejected']} rejected, {stats['no receipt']} without a receipt; "
        f"{stats['same']} keep the data; totals checked {stats['totals checked']}; "
        f"slowest {loop.slowest:.2f} s, {loop.importing:.1f} s importing in all"
    )
    if loop.failures:
        pytest.fail(
            f"{len(loop.failures)} failures{stopped}:\n" + "\n".join(loop.failures), pytrace=False
        )
    # Not vacuous: a good share of the files were read and posted or skipped.
    assert stats["accepted"] + stats["duplicate"] >= cases // 5


def test_every_base_is_a_valid_workbook_the_oracle_reads():
    for family in FAMILIES:
        for base in range(CASES // PER_BASE):
            book = make_base(family, base)
            reading = oracle(pack(book.files(), book.stored))
            assert reading.damage is None, (family, base, reading.damage)
            assert 1 <= reading.rows <= 5
            assert reading.totals["balance_after"] is not None
