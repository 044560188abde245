"""The rows of an XLSX workbook's first worksheet, bounded by the cells it holds.

A workbook is a zip of XML parts. This module reads exactly the parts a bank file
needs — the package and workbook relationships, ``xl/workbook.xml`` (which sheet is
first, and whether dates count from 1904), ``xl/styles.xml`` (which cell styles are
dates), the shared strings and the first worksheet — and streams the worksheet with an
XML pull parser (defusedxml: no DTDs that declare entities, no external references).

What it does not trust:

* **The stored dimension** (``<dimension ref="A1:H20">``): spreadsheet tools and bank
  systems write wrong ones. Rows and columns come from the cells that are there, never
  from the dimension, so a row or a column beyond it is read like any other.
* **Row and cell positions as an invitation to pad**: a cell far out (``XFD1048576``)
  that holds no value costs nothing; rows missing between two rows are not made up.
  The work is bounded by the size of the XML, and a row is as wide as its last cell
  that holds a value.
* **The zip directory**: the parts are read through :mod:`zipfile`, which stops each
  part at the size its directory entry states and checks its CRC-32, so a part can
  never unpack past the limits checked beforehand; a lying size or CRC, a flipped byte
  or a truncated file is found and the workbook refused as damaged.

Every way a workbook can be damaged ends in :class:`WorkbookDamaged` (or
:class:`~ledger.bankfiles.reading.FileRejected` for a limit), with a message that
names the part and the cell but never a path on this machine. Cell values come out as
openpyxl would give them in read-only mode: ``str``, ``int``, ``float``, ``bool``,
``datetime`` (a number in a date style), ``time``/``timedelta`` (time styles), or
:class:`Uncomputed` for a formula saved without its value.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ledger.fund.errors import FundError

#: Excel's own grid: 1,048,576 rows by 16,384 columns (A … XFD).
SHEET_ROWS = 1_048_576
SHEET_COLUMNS = 16_384
#: Parts a workbook's zip may hold; Excel writes a dozen or two.
MAX_PARTS = 10_000
#: Shared strings: a million rows of a dozen distinct texts at most, and their XML.
MAX_SHARED_STRINGS = 12_000_000
MAX_SHARED_STRINGS_BYTES = 1024 * 1024 * 1024
#: Styles and the workbook part are small; anything larger is not a bank export.
MAX_SMALL_PART_BYTES = 64 * 1024 * 1024

_ZH_DAMAGED = "文件已损坏，请重新导出后上传"
_RELATIONSHIPS = ("officeDocument/2006/relationships", "officeDocument/relationships")
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
_INT = re.compile(r"[+-]?[0-9]+")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() takes "١" and "³" too
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SUPPORTED = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class Uncomputed(str):
    """A formula cell the workbook holds no computed value for (never opened in Excel)."""


class WorkbookRefused(FundError):
    """The workbook is beyond a limit: too many parts, too large unpacked, a bomb."""

    code = "file-rejected"


class WorkbookDamaged(WorkbookRefused):
    """The workbook cannot be read as it is: damaged in transit, or not a valid XLSX."""

    def __init__(self, detail: str, zh: str = _ZH_DAMAGED):
        super().__init__(f"the XLSX workbook is damaged: {detail}; export it again", zh=zh)


#: What reading a damaged zip or its XML can raise: all of it is the file's fault.
#: (zipfile raises NotImplementedError for a version or a feature it does not know.)
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    ParseError,
    DefusedXmlException,
)


def rows(archive: zipfile.ZipFile) -> Iterator[tuple[int, tuple]]:
    """Yield ``(row number, cells)`` for every row of the first worksheet that has a cell.

    ``archive`` has passed :func:`check_directory`. Rows come in sheet order, numbered
    as the sheet numbers them; ``cells`` ends at the row's last cell holding a value.
    """
    try:
        book = _Book(archive)
        yield from _sheet_rows(book)
    except _DAMAGE as error:
        raise WorkbookDamaged(_detail(error)) from None


def named_rows(archive: zipfile.ZipFile, name: str) -> Iterator[tuple[int, tuple]]:
    """:func:`rows` of the worksheet named ``name`` (a workbook of several sheets, such
    as an onboarding workbook); :class:`MissingSheet` when it has none of that name."""
    try:
        book = _Book(archive, name)
        yield from _sheet_rows(book)
    except _DAMAGE as error:
        raise WorkbookDamaged(_detail(error)) from None


class MissingSheet(WorkbookRefused):
    """The workbook has no worksheet of the name asked for."""

    code = "missing-sheet"

    def __init__(self, name: str):
        super().__init__(f"the workbook has no sheet named {name}", zh=f"工作簿缺少工作表“{name}”")
        self.name = name


def check_directory(archive: zipfile.ZipFile, max_total: int, max_ratio: int) -> None:
    """Refuse a zip whose directory promises too much: too many parts, a total beyond
    ``max_total`` bytes, a part over 1 MB compressed more than ``max_ratio`` : 1, or
    a compression method or encryption that no spreadsheet program writes."""
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise WorkbookRefused(
            f"the workbook holds {len(infos):,} parts, over the limit of {MAX_PARTS:,}",
            zh="工作簿内部文件过多，疑为异常文件，请导出为 CSV 后上传",
        )
    total = sum(info.file_size for info in infos)
    if total > max_total:
        raise WorkbookRefused(
            f"the workbook unpacks to {total:,} bytes, over the {max_total:,} limit",
            zh="工作簿解压后过大，疑为异常文件，请导出为 CSV 后上传",
        )
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise WorkbookRefused(
                f"workbook part {info.filename} is compressed more than {max_ratio}:1 "
                "(a decompression bomb?)",
                zh="工作簿压缩比异常，疑为异常文件，请导出为 CSV 后上传",
            )


# ------------------------------------------------------------------------ the package


def _local(tag: str) -> str:
    """An element's name without its namespace (transitional and strict OOXML alike)."""
    return tag.rpartition("}")[2]


class _Book:
    """The parts of the workbook that the first worksheet's values depend on."""

    def __init__(self, archive: zipfile.ZipFile, name: str | None = None):
        self.archive = archive
        package = _relations(self, "_rels/.rels") if self.has("_rels/.rels") else {}
        workbook = _target(package, "", "officeDocument")
        if workbook is None and self.has("xl/workbook.xml"):
            workbook = "xl/workbook.xml"
        if workbook is None:
            raise WorkbookRefused(
                "the file is a zip archive but not an XLSX workbook (it has no xl/workbook.xml)",
                zh="文件不是 XLSX 工作簿，请用 Excel 另存为 .xlsx 格式，或导出为 CSV 后上传",
            )
        first, self.date1904 = self._first_sheet(workbook, name)
        # The workbook's relationships, read once: the first sheet, the strings, the styles.
        relations = _relations(self, _rels_name(workbook))
        if first not in relations:
            raise WorkbookDamaged(f"the first sheet's relationship {first} is missing")
        kind, target = relations[first]
        if not kind.endswith("/worksheet"):
            raise WorkbookDamaged(
                "the first sheet is not a worksheet (a chart sheet?)",
                zh="工作簿的第一个工作表不是数据表，请把数据放在第一个工作表后重新上传",
            )
        self.sheet = _resolve(workbook, target)
        strings = _target(relations, workbook, "sharedStrings")
        styles = _target(relations, workbook, "styles")
        self.strings = _shared_strings(self, strings) if strings else []
        self.dates, self.durations = _date_styles(self, styles) if styles else (set(), set())

    def open(self, name: str, limit: int | None = None):
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise WorkbookDamaged(f"part {name} is missing") from None
        if info.flag_bits & 0x41:  # encrypted, or strongly encrypted
            raise WorkbookDamaged(
                f"part {name} is encrypted",
                zh="工作簿已加密，请取消密码保护后重新导出上传",
            )
        if info.compress_type not in _SUPPORTED:
            raise WorkbookDamaged(f"part {name} uses compression method {info.compress_type}")
        if limit is not None and info.file_size > limit:
            raise WorkbookRefused(
                f"workbook part {name} unpacks to {info.file_size:,} bytes, "
                f"over the {limit:,} limit",
                zh="工作簿内部文件过大，疑为异常文件，请导出为 CSV 后上传",
            )
        return self.archive.open(info)

    def has(self, name: str) -> bool:
        try:
            self.archive.getinfo(name)
        except KeyError:
            return False
        return True

    def _first_sheet(self, workbook: str, wanted: str | None = None) -> tuple[str, bool]:
        """The relationship id of the workbook's first sheet (or of the sheet named
        ``wanted``), and whether its dates count from 1904."""
        first, date1904, found = None, False, False
        with self.open(workbook, MAX_SMALL_PART_BYTES) as part:
            for _, element in iterparse(part):
                name = _local(element.tag)
                if name == "workbookPr":
                    date1904 = element.get("date1904", "").lower() in ("1", "true")
                elif name == "sheet" and first is None:
                    if wanted is not None and element.get("name") != wanted:
                        found = True
                        continue
                    first = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        if first is None and wanted is not None and found:
            raise MissingSheet(wanted)
        if first is None:
            raise WorkbookDamaged(
                "the workbook has no worksheet", zh="工作簿中没有工作表，请重新导出后上传"
            )
        return first, date1904


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _relations(book: _Book, rels: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target) of a ``.rels`` part."""
    found = {}
    with book.open(rels, MAX_SMALL_PART_BYTES) as part:
        for _, element in iterparse(part):
            if _local(element.tag) == "Relationship":
                found[element.get("Id", "")] = (element.get("Type", ""), element.get("Target", ""))
    return found


def _target(relations: dict[str, tuple[str, str]], source: str, kind: str) -> str | None:
    """The part that ``source``'s relationships name as ``kind``, if any."""
    for rel_type, target in relations.values():
        if rel_type.endswith("/" + kind) and any(r in rel_type for r in _RELATIONSHIPS):
            return _resolve(source, target)
    return None


# ------------------------------------------------------------------------ strings and styles


def _shared_strings(book: _Book, name: str) -> list[str]:
    strings: list[str] = []
    with book.open(name, MAX_SHARED_STRINGS_BYTES) as part:
        parser = iterparse(part, events=("start", "end"))
        table = None
        for event, element in parser:
            if event == "start":
                if table is None:
                    table = element
                continue
            if _local(element.tag) != "si":
                continue
            strings.append(_text(element))
            if len(strings) > MAX_SHARED_STRINGS:
                raise WorkbookRefused(
                    f"the workbook holds more than {MAX_SHARED_STRINGS:,} shared strings",
                    zh="工作簿中的文本过多，疑为异常文件，请导出为 CSV 后上传",
                )
            table.clear()
    return strings


def _text(element) -> str:
    """The text of a string item: its ``<t>``, or its rich-text runs' ``<t>``, without
    the phonetic guide (``<rPh>``) that East Asian spreadsheets add."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _date_styles(book: _Book, name: str) -> tuple[set[int], set[int]]:
    """The indexes of the cell styles (``cellXfs``) that show a number as a date or time,
    and of those that show it as a duration, decided the way openpyxl decides them."""
    from openpyxl.styles.numbers import (
        BUILTIN_FORMATS,
        is_date_format,
        is_timedelta_format,
    )

    custom: dict[str, str] = {}
    formats: list[str | None] = []
    with book.open(name, MAX_SMALL_PART_BYTES) as part:
        in_xfs = False
        for event, element in iterparse(part, events=("start", "end")):
            tag = _local(element.tag)
            if tag == "cellXfs":
                in_xfs = event == "start"
            elif event == "end" and tag == "numFmt":
                custom[element.get("numFmtId", "")] = element.get("formatCode", "")
            elif event == "end" and tag == "xf" and in_xfs:
                number = element.get("numFmtId", "0")
                code = custom.get(number)
                if code is None and _DIGITS.fullmatch(number):
                    code = BUILTIN_FORMATS.get(int(number))
                formats.append(code)
    dates = {n for n, code in enumerate(formats) if is_date_format(code)}
    durations = {n for n, code in enumerate(formats) if is_timedelta_format(code)}
    return dates, durations


# ------------------------------------------------------------------------ the worksheet


def _sheet_rows(book: _Book) -> Iterator[tuple[int, tuple]]:
    from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH

    epoch = MAC_EPOCH if book.date1904 else WINDOWS_EPOCH
    cell_value = _CellReader(book, epoch)
    previous = 0
    with book.open(book.sheet) as part:
        data = None
        for event, element in iterparse(part, events=("start", "end")):
            if event == "start":
                if data is None and _local(element.tag) == "sheetData":
                    data = element
                continue
            if _local(element.tag) != "row":
                continue
            given = element.get("r")
            if given is None:
                # No number on the row: its first cell's reference says, else the next.
                first = next((c.get("r") for c in element if _local(c.tag) == "c"), None)
                match = _CELL_REF.fullmatch(first) if first else None
                given = match[2] if match else str(previous + 1)
            number = _row_number(given)
            if number <= previous:
                raise WorkbookDamaged(
                    f"row {number} comes after row {previous} in {book.sheet}: rows out of order"
                )
            previous = number
            cells: dict[int, object] = {}
            column = 0
            for cell in element:
                if _local(cell.tag) != "c":
                    continue
                column = _column(cell.get("r"), number, column)
                value = cell_value(cell, number, column)
                if value is not None and value != "":
                    cells[column] = value
            element.clear()
            if data is not None:
                data.clear()
            if not cells:
                yield number, ()
                continue
            row = [None] * max(cells)
            for position, value in cells.items():
                row[position - 1] = value
            yield number, tuple(row)


def _row_number(given: str) -> int:
    if not _DIGITS.fullmatch(given) or not 1 <= int(given) <= SHEET_ROWS:
        raise WorkbookDamaged(f"row number {given!r} is not one a worksheet can have")
    return int(given)


def _column(ref: str | None, row: int, previous: int) -> int:
    """The column (1 = A) of a cell: from its reference, or the one after the last."""
    if ref is None:
        column = previous + 1
    else:
        match = _CELL_REF.fullmatch(ref)
        if match is None:
            raise WorkbookDamaged(f"cell reference {ref!r} in row {row} is not valid")
        column = 0
        for letter in match[1]:
            column = column * 26 + ord(letter) - 64
        if int(match[2]) != row:
            raise WorkbookDamaged(f"cell {ref} is stored in row {row}")
    if column > SHEET_COLUMNS:
        raise WorkbookDamaged(f"cell {ref or column} in row {row} is beyond column XFD")
    if column <= previous:
        raise WorkbookDamaged(f"cell {ref or column} in row {row} is out of order or repeated")
    return column


class _CellReader:
    """A cell element's value, typed as openpyxl types it."""

    def __init__(self, book: _Book, epoch):
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        self.strings, self.dates, self.durations = book.strings, book.dates, book.durations
        self.epoch, self.from_excel, self.from_iso = epoch, from_excel, from_ISO8601

    def __call__(self, cell, row: int, column: int):
        kind = cell.get("t", "n")
        text = formula = inline = None
        for child in cell:
            name = _local(child.tag)
            if name == "v":
                text = child.text
            elif name == "f":
                formula = child
            elif name == "is":
                inline = child
        if kind == "inlineStr":
            value = None if inline is None else _text(inline)
        elif not text:
            value = None
        elif kind == "n":
            value = self._number(cell, text, row, column)
        elif kind == "s":
            value = self._shared(text, row, column)
        elif kind in ("str", "e"):
            value = text
        elif kind == "b":
            if text not in ("0", "1"):
                raise WorkbookDamaged(f"{_where(row, column)} holds {text!r} as true/false")
            value = text == "1"
        elif kind == "d":
            try:
                value = self.from_iso(text)
            except ValueError:
                value = text
        else:
            raise WorkbookDamaged(f"{_where(row, column)} has an unknown type {kind!r}")
        if value is None and formula is not None:
            return Uncomputed("=" + (formula.text or ""))
        return value

    def _number(self, cell, text: str, row: int, column: int):
        if _INT.fullmatch(text):
            value = int(text)
        elif _FLOAT.fullmatch(text):
            value = float(text)
        else:
            raise WorkbookDamaged(f"{_where(row, column)} holds {text[:40]!r} as a number")
        style = cell.get("s")
        if style is None or not _DIGITS.fullmatch(style):
            return value
        style = int(style)
        if style in self.dates:
            try:
                return self.from_excel(value, self.epoch, timedelta=style in self.durations)
            except (OverflowError, ValueError):
                return value  # not a date a calendar has: read as the number it is
        return value

    def _shared(self, text: str, row: int, column: int) -> str:
        if not _DIGITS.fullmatch(text) or int(text) >= len(self.strings):
            raise WorkbookDamaged(
                f"{_where(row, column)} refers to shared string {text[:20]!r}, "
                f"but the workbook has {len(self.strings):,}"
            )
        return self.strings[int(text)]


def _where(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"cell {get_column_letter(column)}{row}"


def _detail(error: Exception) -> str:
    if isinstance(error, ParseError):
        return f"its XML cannot be read ({error})"
    if isinstance(error, DefusedXmlException):
        return "its XML declares entities or external references, which a workbook never needs"
    return f"{type(error).__name__}: {error}"
