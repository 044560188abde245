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
import csv
import hashlib
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger.bankfiles import workbook
from ledger.bankfiles.workbook import Uncomputed
from ledger.fund.errors import FundError

__all__ = ["FileRejected", "Sniffed", "Uncomputed", "rows", "sniff"]

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
    utf8, head = _TextScan("utf-8"), b""
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
                head = block[:8]
            utf8.feed(block)
    if size == 0:
        raise FileRejected("the file is empty", zh="文件为空")
    if head.startswith(_ZIP_MAGIC):
        return Sniffed(digest.hexdigest(), size, "xlsx", None)
    if head.startswith(_OLE_MAGIC):
        raise FileRejected(
            "the file is an Excel 97-2003 workbook (.xls) or a password-protected one; "
            "save it as .xlsx without a password, or as CSV",
            zh="文件为旧版 Excel 工作簿（.xls）或设有密码的工作簿，"
            "请另存为不设密码的 .xlsx，或导出为 CSV 后上传",
        )
    for bom, name in _BOMS.items():
        if head.startswith(bom):
            raise FileRejected(
                f"the file is {name} text; save it as UTF-8 or GBK CSV",
                zh=f"文件编码为 {name}，请另存为 UTF-8 或 GBK 编码的 CSV",
            )
    utf8.feed(b"", final=True)
    if utf8.ok:
        text, encoding = utf8, "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    else:
        text, encoding = _TextScan("gb18030"), "gb18030"
        with open(path, "rb") as f:
            while text.ok and (block := f.read(_READ)):
                text.feed(block)
        text.feed(b"", final=True)
    if not text.ok:
        raise FileRejected(
            "the file is neither UTF-8 nor GB18030/GBK text, nor an XLSX workbook",
            zh="无法识别文件：既不是 UTF-8 或 GBK（GB18030）编码的 CSV，也不是 XLSX 工作簿",
        )
    if text.control is not None:
        char, line = text.control
        name = _CONTROL_NAMES.get(char, "")
        code = f"U+{ord(char):04X}{f' ({name})' if name else ''}"
        zh_code = f"U+{ord(char):04X}{f'（{name}）' if name else ''}"
        raise FileRejected(
            f"line {line} of the file holds the control character {code}, which no CSV "
            "export contains (is it a text file?); export it again as UTF-8 or GBK CSV",
            zh=f"文件第 {line} 行含有控制字符 {zh_code}，CSV 导出文件不会含有此字符"
            "（是否上传了非文本文件？），请重新导出为 UTF-8 或 GBK 编码的 CSV 后上传",
        )
    return Sniffed(digest.hexdigest(), size, "csv", encoding)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTROL_NAMES = {"\x00": "NUL", "\x1a": "SUB", "\x7f": "DEL", "\x1b": "ESC"}


class _TextScan:
    """Decodes a file block by block: whether every byte decodes, and the first control
    character found, with its line number."""

    def __init__(self, encoding: str):
        self.decoder = codecs.getincrementaldecoder(encoding)("strict")
        self.ok = True
        self.control: tuple[str, int] | None = None
        self.lines = 1

    def feed(self, block: bytes, final: bool = False) -> None:
        if not self.ok:
            return
        try:
            text = self.decoder.decode(block, final)
        except UnicodeDecodeError:
            self.ok = False
            return
        if self.control is None:
            match = _CONTROL.search(text)
            if match is None:
                self.lines += text.count("\n")
            else:
                line = self.lines + text.count("\n", 0, match.start())
                self.control = (match.group(), line)


def rows(path: Path, sniffed: Sniffed) -> Iterator[tuple[int, tuple]]:
    """Yield ``(row number, cells)`` for every row, the header (row 1) included.

    Cells are strings for CSV; for XLSX whatever the cell holds (str, int, float,
    datetime, bool or None). Raises FileRejected past :data:`MAX_ROWS` data rows or
    :data:`MAX_COLUMNS` columns.
    """
    source = _xlsx_rows(path) if sniffed.format == "xlsx" else _csv_rows(path, sniffed.encoding)
    data = -1  # the header is not a data row
    for number, cells in source:
        # A row of empty cells is blank and does not count; a workbook's row ends at its
        # last cell holding a value, which may be a 0 or a FALSE.
        if any(cells) or (cells and cells[-1] is not None and cells[-1] != ""):
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
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, OverflowError, NotImplementedError) as error:
        # ValueError: a name in the directory that is not the UTF-8 it claims, and the like;
        # NotImplementedError: a zip version or feature that no spreadsheet program writes.
        raise FileRejected(
            f"the XLSX workbook is damaged: {type(error).__name__}: {error}; export it again",
            zh="文件已损坏，请重新导出后上传",
        ) from None
    with archive:
        try:
            workbook.check_directory(archive, MAX_UNCOMPRESSED, MAX_RATIO)
            yield from workbook.rows(archive)
        except workbook.WorkbookRefused as error:
            raise FileRejected(str(error), zh=error.zh) from None
