"""Reading a bank file: what it is (CSV or XLSX, which encoding), then its rows, streamed.

:func:`sniff` reads the bytes once: their SHA-256 and size, whether they are an XLSX
workbook (a zip) or CSV text, and for CSV the encoding. UTF-8 (with or without a BOM) is
tried over the whole file first, then GB18030 (a superset of GBK); a file that decodes
as neither, or that holds control characters no text export contains, is refused with
:class:`FileRejected`: never a guess. :func:`rows` then yields ``(row number, cells)``
one row at a time, numbered as a spreadsheet shows them (the header is row 1), so memory
does not grow with the file.

XLSX files are opened with openpyxl in read-only mode (with defusedxml against entity
expansion) after the zip's directory is checked against decompression bombs: a bounded
total uncompressed size and compression ratio.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger.fund.errors import FundError

#: The contract's limits: 1,000,000 data rows and 200 MB per file.
MAX_ROWS = 1_000_000
MAX_BYTES = 200 * 1024 * 1024
#: Columns a row may have; a real export has a dozen.
MAX_COLUMNS = 200
#: Decompression-bomb limits for XLSX: the sheet XML of a million rows of a dozen
#: columns is about 1 GB; a real workbook compresses 5-20 times.
MAX_UNCOMPRESSED = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200

_READ = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"
_BOMS = {
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
    codecs.BOM_UTF32_LE: "UTF-32",
}
# C0 controls other than tab, LF and CR, and DEL: a text export never contains them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FileRejected(FundError):
    """The file as a whole cannot be read: format, encoding, size, or header row."""

    code = "file-rejected"


@dataclass(frozen=True)
class Sniffed:
    sha256: str
    size: int
    #: ``csv`` or ``xlsx``.
    format: str
    #: ``utf-8``, ``utf-8-sig`` or ``gb18030`` for CSV; None for XLSX.
    encoding: str | None


def sniff(path: Path) -> Sniffed:
    """Hash and size the file and tell its format and encoding, or raise FileRejected."""
    digest, size = hashlib.sha256(), 0
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_ok, head = True, b""
    with open(path, "rb") as f:
        while block := f.read(_READ):
            size += len(block)
            if size > MAX_BYTES:
                raise FileRejected(
                    f"the file is larger than {MAX_BYTES // 2**20} MB",
                    zh=f"文件超过 {MAX_BYTES // 2**20} MB 的上限，请分成多个文件上传",
                )
            digest.update(block)
            if not head:
                head = block[:4]
            if utf8_ok:
                try:
                    _check_text(utf8.decode(block))
                except UnicodeDecodeError:
                    utf8_ok = False
    if size == 0:
        raise FileRejected("the file is empty", zh="文件为空")
    if head.startswith(_ZIP_MAGIC):
        return Sniffed(digest.hexdigest(), size, "xlsx", None)
    for bom, name in _BOMS.items():
        if head.startswith(bom):
            raise FileRejected(
                f"the file is {name} text; save it as UTF-8 or GBK CSV",
                zh=f"文件编码为 {name}，请另存为 UTF-8 或 GBK 编码的 CSV",
            )
    if utf8_ok:
        try:
            _check_text(utf8.decode(b"", final=True))
        except UnicodeDecodeError:
            utf8_ok = False
    if utf8_ok:
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    elif _decodes(path, "gb18030"):
        encoding = "gb18030"
    else:
        raise FileRejected(
            "the file is neither UTF-8 nor GB18030/GBK text, nor an XLSX workbook",
            zh="无法识别文件：既不是 UTF-8 或 GBK（GB18030）编码的 CSV，也不是 XLSX 工作簿",
        )
    return Sniffed(digest.hexdigest(), size, "csv", encoding)


def _check_text(text: str) -> None:
    match = _CONTROL.search(text)
    if match:
        # Reported like an undecodable byte: the caller tries the next encoding.
        raise UnicodeDecodeError("text", b"", 0, 1, f"control character {match.group()!r}")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as f:
            while block := f.read(_READ):
                _check_text(decoder.decode(block))
        _check_text(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return False
    return True


def rows(path: Path, sniffed: Sniffed) -> Iterator[tuple[int, tuple]]:
    """Yield ``(row number, cells)`` for every row, the header (row 1) included.

    Cells are strings for CSV; for XLSX whatever the cell holds (str, int, float,
    datetime, bool or None). Raises FileRejected past :data:`MAX_ROWS` data rows or
    :data:`MAX_COLUMNS` columns.
    """
    source = _xlsx_rows(path) if sniffed.format == "xlsx" else _csv_rows(path, sniffed.encoding)
    data = -1  # the header is not a data row
    for number, cells in source:
        if any(cells):  # a row of empty cells is blank and does not count
            data += 1
        if data > MAX_ROWS:
            raise FileRejected(
                f"the file has more than {MAX_ROWS:,} data rows",
                zh=f"文件超过 {MAX_ROWS:,} 行数据的上限，请分成多个文件上传",
            )
        if len(cells) > MAX_COLUMNS:
            cells = _trim(cells, number)
        yield number, cells


def _trim(cells: tuple, number: int) -> tuple:
    # Spreadsheets pad rows with empty cells; only a real value past the limit is refused.
    end = len(cells)
    while end > MAX_COLUMNS and (cells[end - 1] is None or cells[end - 1] == ""):
        end -= 1
    if end > MAX_COLUMNS:
        raise FileRejected(
            f"row {number} has more than {MAX_COLUMNS} columns",
            zh=f"第 {number} 行超过 {MAX_COLUMNS} 列",
        )
    return cells[:end]


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, tuple]]:
    number = 0
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, strict=True)
        try:
            for cells in reader:
                number += 1
                yield number, tuple(cells)
        except csv.Error as error:
            # Numbered by record, as a spreadsheet shows rows (a quoted field may hold
            # line breaks); the text line where reading stopped is given too.
            raise FileRejected(
                f"CSV row {number + 1} cannot be read (text line {reader.line_num}): {error}",
                zh=f"CSV 第 {number + 1} 行（文本第 {reader.line_num} 行）格式错误"
                f"（引号不成对或字段过长）：{error}",
            ) from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, tuple]]:
    import openpyxl  # imported here: only XLSX uploads pay for it

    _check_zip(path)
    # Opened as files, not by name: openpyxl refuses a name without an Excel extension
    # (an upload saved under a temporary name), and the content was checked already.
    with contextlib.ExitStack() as files:
        values_file = files.enter_context(open(path, "rb"))
        # The formulas are read beside the values only when the sheets have any: it
        # doubles the reading, and only tells a formula without a computed value.
        formulas_file = files.enter_context(open(path, "rb")) if _has_formulas(path) else None
        yield from _workbook_rows(openpyxl, values_file, formulas_file)


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet's XML holds a formula element (streamed, not unpacked)."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.startswith("xl/worksheets/"):
                continue
            with archive.open(info) as part:
                tail = b""
                while block := part.read(_READ):
                    if _FORMULA.search(tail + block):
                        return True
                    tail = block[-16:]
    return False


def _workbook_rows(openpyxl, values_file, formulas_file) -> Iterator[tuple[int, tuple]]:
    try:
        values = openpyxl.load_workbook(values_file, read_only=True, data_only=True)
        formulas = (
            openpyxl.load_workbook(formulas_file, read_only=True, data_only=False)
            if formulas_file is not None
            else None
        )
    except Exception as error:  # openpyxl raises many kinds on a damaged workbook
        raise _damaged(error) from None
    try:
        if not values.worksheets:
            raise FileRejected("the workbook has no worksheet", zh="工作簿中没有工作表")
        try:
            if formulas is None:
                rows = values.worksheets[0].iter_rows(values_only=True)
                for number, cells in enumerate(rows, start=1):
                    yield number, tuple(cells)
                return
            pairs = zip(
                values.worksheets[0].iter_rows(values_only=True),
                formulas.worksheets[0].iter_rows(values_only=True),
                strict=False,
            )
            for number, (cells, sources) in enumerate(pairs, start=1):
                yield number, tuple(_cell(v, s) for v, s in zip(cells, sources, strict=False))
        except FileRejected:
            raise
        except Exception as error:
            raise _damaged(error) from None
    finally:
        values.close()
        if formulas is not None:
            formulas.close()


class Uncomputed(str):
    """A formula cell the workbook holds no computed value for (never opened in Excel)."""


def _cell(value, source):
    if value is None and isinstance(source, str) and source.startswith("="):
        return Uncomputed(source)
    return value


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise _damaged(error) from None
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED:
        raise FileRejected(
            f"the workbook unpacks to {total:,} bytes, over the {MAX_UNCOMPRESSED:,} limit",
            zh="工作簿解压后过大，疑为异常文件，请导出为 CSV 后上传",
        )
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise FileRejected(
                f"workbook part {info.filename} is compressed more than {MAX_RATIO}:1 "
                "(a decompression bomb?)",
                zh="工作簿压缩比异常，疑为异常文件，请导出为 CSV 后上传",
            )


def _damaged(error: Exception) -> FileRejected:
    return FileRejected(
        f"the XLSX workbook cannot be read: {type(error).__name__}: {error}",
        zh="XLSX 工作簿已损坏或格式不受支持，请用 Excel 重新保存，或导出为 CSV",
    )
