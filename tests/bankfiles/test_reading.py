"""Reading a bank file: format and encoding sniffing, CSV and XLSX rows, the limits, and
matching a header row to a kind's columns (bank-interface.md, "Common rules")."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import zipfile

import openpyxl
import pytest

from ledger.bankfiles import reading
from ledger.bankfiles.kinds import KINDS
from ledger.bankfiles.reading import FileRejected, Sniffed, Uncomputed, rows, sniff

NEITHER = "the file is neither UTF-8 nor GB18030/GBK text, nor an XLSX workbook"
NEITHER_ZH = "无法识别文件：既不是 UTF-8 或 GBK（GB18030）编码的 CSV，也不是 XLSX 工作簿"
DAMAGED_ZH = "文件已损坏，请重新导出后上传"
HEADER_ZH = "银行流水号,贷款合同号,还款日期,归还本金,归还利息,本金余额"


def write(tmp_path, data: bytes, name: str = "file.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(path) -> tuple[Sniffed, list[tuple[int, tuple]]]:
    sniffed = sniff(path)
    return sniffed, list(rows(path, sniffed))


def rejected(fn, *args) -> FileRejected:
    with pytest.raises(FileRejected) as info:
        fn(*args)
    assert type(info.value) is FileRejected
    assert info.value.code == "file-rejected"
    return info.value


def read_rejected(path) -> FileRejected:
    return rejected(lambda: read(path))


# ------------------------------------------------------------------------ sniffing CSV text


def test_utf8_csv(tmp_path):
    data = f"{HEADER_ZH}\nR1,ICBC-001,2026-01-05,100.00,5.00,900.00\n".encode()
    path = write(tmp_path, data)
    sniffed, got = read(path)
    assert sniffed == Sniffed(hashlib.sha256(data).hexdigest(), len(data), "csv", "utf-8")
    assert got == [
        (1, ("银行流水号", "贷款合同号", "还款日期", "归还本金", "归还利息", "本金余额")),
        (2, ("R1", "ICBC-001", "2026-01-05", "100.00", "5.00", "900.00")),
    ]


def test_utf8_with_bom_reads_the_header_without_the_bom(tmp_path):
    data = codecs.BOM_UTF8 + "银行流水号,金额\r\nR1,１２３４．５０\r\n".encode()
    sniffed, got = read(write(tmp_path, data))
    assert (sniffed.format, sniffed.encoding, sniffed.size) == ("csv", "utf-8-sig", len(data))
    assert got == [(1, ("银行流水号", "金额")), (2, ("R1", "１２３４．５０"))]
    assert got[0][1][0] == "银行流水号"


def test_gbk_csv_is_read_as_gb18030(tmp_path):
    data = f"{HEADER_ZH}\r\nR1,工行-001,2026年1月5日,100.00,5.00,900.00\r\n".encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    sniffed, got = read(write(tmp_path, data))
    assert sniffed == Sniffed(hashlib.sha256(data).hexdigest(), len(data), "csv", "gb18030")
    assert got[0] == (
        1,
        ("银行流水号", "贷款合同号", "还款日期", "归还本金", "归还利息", "本金余额"),
    )
    assert got[1] == (2, ("R1", "工行-001", "2026年1月5日", "100.00", "5.00", "900.00"))


def test_gbk_bytes_after_the_first_megabyte_are_not_misread_as_utf8(tmp_path):
    ascii_rows = [f"R{n:07d},ICBC-{n:07d},2026-01-05,1.00,0.00,0.00\r\n" for n in range(30_000)]
    head = b"bank_ref,contract_no,x,y,z,w\r\n"
    body = "".join(ascii_rows).encode("ascii")
    assert len(head + body) > 2**20
    tail = "R-中文,工商银行贷款,2026年1月5日,1.00,0.00,0.00\r\n".encode("gbk")
    data = head + body + tail
    (head + body).decode("utf-8")  # the first megabyte and more is valid UTF-8
    sniffed, got = read(write(tmp_path, data))
    assert (sniffed.encoding, sniffed.size) == ("gb18030", len(data))
    assert len(got) == 30_002
    assert got[1] == (2, ("R0000000", "ICBC-0000000", "2026-01-05", "1.00", "0.00", "0.00"))
    assert got[-1] == (30_002, ("R-中文", "工商银行贷款", "2026年1月5日", "1.00", "0.00", "0.00"))


def test_a_utf8_character_across_the_read_block_boundary_stays_utf8(tmp_path):
    prefix = b"bank_ref\n"
    full = (2**20 - 1 - len(prefix)) // 100
    rest = 2**20 - 1 - len(prefix) - full * 100
    data = prefix + (b"a" * 99 + b"\n") * full + b"b" * rest + "中\n".encode()
    assert data[2**20 - 1 : 2**20 + 2] == "中".encode()
    sniffed, got = read(write(tmp_path, data))
    assert sniffed.encoding == "utf-8"
    assert len(got) == full + 2
    assert got[-1] == (full + 2, ("b" * rest + "中",))


def test_bytes_that_are_neither_utf8_nor_gb18030_are_refused(tmp_path):
    error = rejected(sniff, write(tmp_path, b"\x80\xff\xfe,abc\r\n1,2\r\n"))
    assert str(error) == NEITHER
    assert error.zh == NEITHER_ZH


def test_gbk_file_with_an_invalid_byte_late_is_refused_not_guessed(tmp_path):
    data = "银行流水号,金额\r\n".encode("gbk") + b"R1,\xff\r\n"
    assert str(rejected(sniff, write(tmp_path, data))) == NEITHER


@pytest.mark.parametrize(
    "bom",
    [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE],
)
def test_utf16_text_is_refused(tmp_path, bom):
    encoding = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
    data = bom + "银行流水号,金额\r\nR1,1.00\r\n".encode(encoding)
    error = rejected(sniff, write(tmp_path, data))
    assert str(error) == "the file is UTF-16 text; save it as UTF-8 or GBK CSV"
    assert error.zh == "文件编码为 UTF-16，请另存为 UTF-8 或 GBK 编码的 CSV"


def test_empty_file_is_refused(tmp_path):
    error = rejected(sniff, write(tmp_path, b""))
    assert (str(error), error.zh) == ("the file is empty", "文件为空")


@pytest.mark.parametrize(
    ("data", "line", "char", "char_zh"),
    [
        (b"bank_ref,amount\nR1,1\x00.00\n", 2, "U+0000 (NUL)", "U+0000（NUL）"),
        (b"\x00\x00\x00", 1, "U+0000 (NUL)", "U+0000（NUL）"),
        (b"a,b\n\x1b[31m,1\n", 2, "U+001B (ESC)", "U+001B（ESC）"),
        (b"a\x7f,b\n", 1, "U+007F (DEL)", "U+007F（DEL）"),
        ("还款\n明细\n\x02".encode("gbk"), 3, "U+0002", "U+0002"),
    ],
)
def test_control_characters_are_refused_by_name_and_line(tmp_path, data, line, char, char_zh):
    # Said as what it is, not as "neither UTF-8 nor GB18030": the text decodes.
    error = rejected(sniff, write(tmp_path, data))
    assert str(error) == (
        f"line {line} of the file holds the control character {char}, which no CSV export "
        "contains (is it a text file?); export it again as UTF-8 or GBK CSV"
    )
    assert error.zh == (
        f"文件第 {line} 行含有控制字符 {char_zh}，CSV 导出文件不会含有此字符"
        "（是否上传了非文本文件？），请重新导出为 UTF-8 或 GBK 编码的 CSV 后上传"
    )


def test_an_old_excel_workbook_is_named_as_such(tmp_path):
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4
    error = rejected(sniff, write(tmp_path, data, "book.xls"))
    assert str(error) == (
        "the file is an Excel 97-2003 workbook (.xls) or a password-protected one; "
        "save it as .xlsx without a password, or as CSV"
    )
    assert error.zh == (
        "文件为旧版 Excel 工作簿（.xls）或设有密码的工作簿，"
        "请另存为不设密码的 .xlsx，或导出为 CSV 后上传"
    )


def test_tabs_and_line_ends_are_text(tmp_path):
    data = b"bank_ref,memo\r\nR1,a\tb\rc\n"
    sniffed, got = read(write(tmp_path, data))
    assert sniffed.encoding == "utf-8"
    assert got == [(1, ("bank_ref", "memo")), (2, ("R1", "a\tb")), (3, ("c",))]


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_BYTES", 2**20)
    path = write(tmp_path, b"a" * 2**20)
    assert sniff(path).size == 2**20
    path = write(tmp_path, b"a" * (2**20 + 1))
    error = rejected(sniff, path)
    assert str(error) == "the file is larger than 1 MB"
    assert error.zh == "文件超过 1 MB 的上限，请分成多个文件上传"


# ------------------------------------------------------------------------ CSV records


def test_quoted_fields_with_commas_quotes_and_newlines_are_one_record(tmp_path):
    data = (
        b'bank_ref,memo,amount\r\n"R1","a, b","1,234.50"\r\n'
        b'"R2","line one\r\nline two",5\r\n"R3","say ""hi""",6\r\nR4,,7\r\n'
    )
    _, got = read(write(tmp_path, data))
    assert got == [
        (1, ("bank_ref", "memo", "amount")),
        (2, ("R1", "a, b", "1,234.50")),
        (3, ("R2", "line one\r\nline two", "5")),
        (4, ("R3", 'say "hi"', "6")),
        (5, ("R4", "", "7")),
    ]


def test_blank_lines_are_rows_of_no_cells(tmp_path):
    _, got = read(write(tmp_path, b"a,b\n\n1,2\n,\n"))
    assert got == [(1, ("a", "b")), (2, ()), (3, ("1", "2")), (4, ("", ""))]


def test_unterminated_quote_is_refused(tmp_path):
    path = write(tmp_path, b'bank_ref,memo\nR1,"open\nmore\n')
    error = read_rejected(path)
    assert str(error) == "CSV row 2 cannot be read (text line 3): unexpected end of data"
    assert error.zh == (
        "CSV 第 2 行（文本第 3 行）格式错误（引号不成对或字段过长）：unexpected end of data"
    )


def test_a_malformed_record_is_reported_by_its_row_number_not_its_line(tmp_path):
    # Rows are numbered as a spreadsheet shows them: record 2 spans lines 2-3, so the
    # malformed record on line 4 is row 3.
    path = write(tmp_path, b'bank_ref,memo\nR1,"two\nlines"\nR2,"x"y\n')
    error = read_rejected(path)
    assert str(error) == "CSV row 3 cannot be read (text line 4): ',' expected after '\"'"


# ------------------------------------------------------------------------ limits


def test_more_data_rows_than_the_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    ok = write(tmp_path, b"a\n1\n2\n3\n", "ok.csv")
    assert [n for n, _ in read(ok)[1]] == [1, 2, 3, 4]
    path = write(tmp_path, b"a\n1\n2\n3\n4\n")
    error = read_rejected(path)
    assert str(error) == "the file has more than 3 data rows"
    assert error.zh == "文件超过 3 行数据的上限，请分成多个文件上传"


def test_blank_rows_do_not_count_against_the_row_limit(tmp_path, monkeypatch):
    # "Blank rows are ignored"; the limit is on data rows.
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    path = write(tmp_path, b"a\n1\n\n2\n3\n\n")
    _, got = read(path)
    assert [cells for _, cells in got if cells] == [("a",), ("1",), ("2",), ("3",)]


def test_row_limit_in_a_workbook(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    path = xlsx(tmp_path, [["a"], [1], [2], [3], [4]])
    assert str(read_rejected(path)) == "the file has more than 3 data rows"


def test_trailing_empty_cells_past_the_column_limit_are_trimmed(tmp_path):
    cells = [f"c{n}" for n in range(200)]
    data = (",".join(cells) + ",,,,,\n" + ",".join(cells) + "\n").encode()
    _, got = read(write(tmp_path, data))
    assert got == [(1, tuple(cells)), (2, tuple(cells))]


def test_a_value_past_the_column_limit_is_refused(tmp_path):
    data = ("a,b\n" + "," * 200 + "x\n").encode()
    error = read_rejected(write(tmp_path, data))
    assert str(error) == "row 2 has more than 200 columns"
    assert error.zh == "第 2 行超过 200 列"


def test_workbook_rows_padded_past_the_column_limit_are_trimmed(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b"])
    ws.append([1, 2])
    ws.cell(row=3, column=250, value=None).number_format = "0.00"
    ws.cell(row=4, column=250, value="far")
    path = tmp_path / "wide.xlsx"
    wb.save(path)
    sniffed = sniff(path)
    got = []
    with pytest.raises(FileRejected) as info:
        for number, cells in rows(path, sniffed):
            got.append((number, cells))
    assert str(info.value) == "row 4 has more than 200 columns"
    # A row ends at its last cell holding a value: the far-out empty cell of row 3
    # pads nothing, and no row is widened to the sheet's widest.
    assert got == [(1, ("a", "b")), (2, (1, 2)), (3, ())]


# ------------------------------------------------------------------------ XLSX


def xlsx(tmp_path, data: list[list], name: str = "file.xlsx"):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in data:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def test_workbook_cells_come_out_typed(tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["银行流水号", "还款日期", "归还本金", "归还利息", "备注"],
            ["R1", dt.datetime(2026, 1, 5), 1234.5, 0, "工行"],
            [],
            ["R2", dt.date(2026, 2, 5), 100, 12.34, None],
        ],
    )
    sniffed, got = read(path)
    data = path.read_bytes()
    assert sniffed == Sniffed(hashlib.sha256(data).hexdigest(), len(data), "xlsx", None)
    assert got == [
        (1, ("银行流水号", "还款日期", "归还本金", "归还利息", "备注")),
        (2, ("R1", dt.datetime(2026, 1, 5), 1234.5, 0, "工行")),
        (4, ("R2", dt.datetime(2026, 2, 5), 100, 12.34)),
    ]
    assert type(got[1][1][2]) is float and type(got[2][1][2]) is int


def _with_formulas(tmp_path, cached: dict[str, str] | None):
    path = xlsx(
        tmp_path,
        [["a", "b", "c"], [2, "=A2*2", '=A2&"x"'], [3.5, "=A3*2", "text"]],
        "formulas.xlsx",
    )
    if cached is None:
        return path
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for formula, value in cached.items():
        # openpyxl writes a formula cell as <c r="B2"><f>A2*2</f><v /></c>.
        before = f"<f>{formula}</f><v />"
        assert before in sheet, sheet
        sheet = sheet.replace(before, f"<f>{formula}</f><v>{value}</v>")
    sheet = sheet.replace('<c r="C2">', '<c r="C2" t="str">')
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    patched = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return patched


def test_formula_cells_give_their_cached_values(tmp_path):
    path = _with_formulas(tmp_path, {"A2*2": "4", 'A2&amp;"x"': "2x", "A3*2": "7"})
    _, got = read(path)
    assert got == [(1, ("a", "b", "c")), (2, (2, 4, "2x")), (3, (3.5, 7, "text"))]
    assert not any(isinstance(cell, Uncomputed) for _, cells in got for cell in cells)


def test_formula_cells_without_cached_values_are_uncomputed(tmp_path):
    _, got = read(_with_formulas(tmp_path, None))
    assert got == [(1, ("a", "b", "c")), (2, (2, "=A2*2", '=A2&"x"')), (3, (3.5, "=A3*2", "text"))]
    assert [type(cell) for cell in got[1][1]] == [int, Uncomputed, Uncomputed]
    assert [type(cell) for cell in got[2][1]] == [float, Uncomputed, str]


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 2**20))
    sniffed = sniff(path)
    assert sniffed.format == "xlsx"
    error = rejected(lambda: list(rows(path, sniffed)))
    assert str(error) == (
        "workbook part xl/worksheets/sheet1.xml is compressed more than 200:1 "
        "(a decompression bomb?)"
    )
    assert error.zh == "工作簿压缩比异常，疑为异常文件，请导出为 CSV 后上传"
    assert "decompression" in str(error)


def test_a_workbook_that_unpacks_past_the_total_limit_is_refused(tmp_path, monkeypatch):
    path = xlsx(tmp_path, [["a"], [1]])
    with zipfile.ZipFile(path) as archive:
        total = sum(info.file_size for info in archive.infolist())
    monkeypatch.setattr(reading, "MAX_UNCOMPRESSED", total - 1)
    error = read_rejected(path)
    assert str(error) == f"the workbook unpacks to {total:,} bytes, over the {total - 1:,} limit"
    assert error.zh == "工作簿解压后过大，疑为异常文件，请导出为 CSV 后上传"
    monkeypatch.setattr(reading, "MAX_UNCOMPRESSED", total)
    assert read(path)[1] == [(1, ("a",)), (2, (1,))]


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "notes.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("hello.txt", "hello")
    error = read_rejected(path)
    assert str(error) == (
        "the file is a zip archive but not an XLSX workbook (it has no xl/workbook.xml)"
    )
    assert error.zh == "文件不是 XLSX 工作簿，请用 Excel 另存为 .xlsx 格式，或导出为 CSV 后上传"


def test_a_truncated_zip_is_refused(tmp_path):
    path = write(tmp_path, b"PK\x03\x04" + b"\x14\x00" * 20, "cut.xlsx")
    assert sniff(path).format == "xlsx"
    error = read_rejected(path)
    assert str(error) == (
        "the XLSX workbook is damaged: BadZipFile: File is not a zip file; export it again"
    )
    assert error.zh == DAMAGED_ZH


@pytest.mark.parametrize("name", ["book.XLSX", "upload", "really.csv", "book.xlsx.part1"])
def test_a_workbook_is_read_by_its_content_whatever_the_file_is_called(tmp_path, name):
    # sniff tells the format from the bytes; an upload may be stored under any name
    # (import_file takes the bank's file name separately from the path).
    path = xlsx(tmp_path, [["a"], ["x"]], "book.xlsx")
    path = path.rename(tmp_path / name)
    sniffed, got = read(path)
    assert (sniffed.format, got) == ("xlsx", [(1, ("a",)), (2, ("x",))])


# ------------------------------------------------------------------------ header rows

REPAYMENT = KINDS["repayment"]


def fields(positions) -> list[tuple[int, str]]:
    return [(position, column.field) for position, column in positions]


def test_chinese_header():
    positions = REPAYMENT.header(
        ("银行流水号", "贷款合同号", "身份证号", "还款日期", "归还本金", "归还利息", "罚息",
         "本金余额", "冲正原流水号")
    )  # fmt: skip
    assert fields(positions) == [
        (0, "bank_ref"), (1, "contract_no"), (2, "id_number"), (3, "paid_on"),
        (4, "principal"), (5, "interest"), (6, "penalty"), (7, "balance_after"),
        (8, "reversal_of"),
    ]  # fmt: skip


def test_english_header_in_any_order_and_case_with_unknown_columns_ignored():
    positions = REPAYMENT.header(
        ("Balance_After", "备注", "  INTEREST ", "paid_on", None, "Principal", "bank_ref",
         "\u3000Contract_No\u3000", "branch")
    )  # fmt: skip
    assert fields(positions) == [
        (6, "bank_ref"), (7, "contract_no"), (3, "paid_on"), (5, "principal"),
        (2, "interest"), (0, "balance_after"),
    ]  # fmt: skip


def test_mixed_chinese_english_and_full_width_header():
    positions = REPAYMENT.header(
        ("\u3000银行流水号 ", "ｃｏｎｔｒａｃｔ＿ｎｏ", " 还款日期", "PRINCIPAL", "归还利息",
         "balance_after\ufeff", "罚息")
    )  # fmt: skip
    assert fields(positions) == [
        (0, "bank_ref"), (1, "contract_no"), (2, "paid_on"), (3, "principal"),
        (4, "interest"), (6, "penalty"), (5, "balance_after"),
    ]  # fmt: skip


def test_a_column_named_twice_is_refused():
    error = rejected(
        REPAYMENT.header,
        ("银行流水号", "贷款合同号", "还款日期", "归还本金", "归还利息", "本金余额", "BANK_REF"),
    )
    assert str(error) == "the header names column bank_ref (银行流水号) twice"
    assert error.zh == "表头中“银行流水号（bank_ref）”列出现了两次"


def test_missing_required_columns_are_listed():
    error = rejected(REPAYMENT.header, ("bank_ref", "contract_no", "principal", "罚息"))
    assert str(error) == (
        "the header lacks required column(s): paid_on (还款日期), interest (归还利息), "
        "balance_after (本金余额)"
    )
    assert (
        error.zh
        == "表头缺少必填列：还款日期（paid_on）、归还利息（interest）、本金余额（balance_after）"
    )


def test_a_header_of_another_kind_is_refused():
    statement = ("交易日期", "借贷方向", "金额", "余额", "对方户名", "摘要")
    error = rejected(REPAYMENT.header, statement)
    assert str(error) == (
        "the first row is not a repayment file's header: none of its columns is there "
        "(expected e.g. bank_ref or 银行流水号)"
    )
    assert error.zh == (
        "第 1 行不是还款明细的表头：没有找到任何规定的列（例如“银行流水号”或 bank_ref），"
        "请确认文件类型"
    )


def test_a_data_row_as_header_is_refused():
    error = rejected(REPAYMENT.header, ("R1", "ICBC-001", "2026-01-05", "1.00"))
    assert str(error).startswith("the first row is not a repayment file's header")


def test_header_read_from_a_gbk_file(tmp_path):
    data = "本金余额,归还利息,归还本金,还款日期,贷款合同号,银行流水号\r\n".encode("gbk")
    _, got = read(write(tmp_path, data))
    assert fields(REPAYMENT.header(got[0][1])) == [
        (5, "bank_ref"), (4, "contract_no"), (3, "paid_on"), (2, "principal"),
        (1, "interest"), (0, "balance_after"),
    ]  # fmt: skip


def test_header_read_from_a_utf8_bom_file(tmp_path):
    data = codecs.BOM_UTF8 + HEADER_ZH.encode()
    _, got = read(write(tmp_path, data))
    assert [c.field for _, c in REPAYMENT.header(got[0][1])] == [
        "bank_ref", "contract_no", "paid_on", "principal", "interest", "balance_after",
    ]  # fmt: skip


def test_a_formula_without_a_saved_value_is_told_in_the_same_single_pass(tmp_path):
    plain, with_formula = tmp_path / "plain.xlsx", tmp_path / "formula.xlsx"
    for path, second in ((plain, 2), (with_formula, "=A1*2")):
        book = openpyxl.Workbook()
        book.active.append([1, second])
        book.save(path)
    assert list(reading.rows(plain, reading.sniff(plain))) == [(1, (1, 2))]
    (row,) = reading.rows(with_formula, reading.sniff(with_formula))
    assert row[1][0] == 1
    assert isinstance(row[1][1], reading.Uncomputed) and row[1][1] == "=A1*2"


def test_shared_strings_as_excel_writes_them(tmp_path):
    path = _sheet(
        tmp_path,
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>2</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" t="s"><v>0</v></c></row>',
        strings=["还款", "<si><r><t>工</t></r><r><rPr><b/></rPr><t>行</t></r></si>", "  "],
    )
    assert read(path)[1] == [(1, ("还款", "  ")), (2, ("工行", "还款"))]


def test_shared_strings_past_the_limit_are_refused(tmp_path, monkeypatch):
    from ledger.bankfiles import workbook

    path = _sheet(tmp_path, '<row r="1"><c r="A1" t="s"><v>5</v></c></row>', strings="abcdef")
    monkeypatch.setattr(workbook, "MAX_SHARED_STRINGS", 5)
    error = read_rejected(path)
    assert str(error) == "the workbook holds more than 5 shared strings"
    assert error.zh == "工作簿中的文本过多，疑为异常文件，请导出为 CSV 后上传"
    monkeypatch.setattr(workbook, "MAX_SHARED_STRINGS", 6)
    assert read(path)[1] == [(1, ("f",))]


def test_a_workbook_of_too_many_parts_is_refused(tmp_path, monkeypatch):
    from ledger.bankfiles import workbook

    path = xlsx(tmp_path, [["a"]])
    with zipfile.ZipFile(path) as archive:
        parts = len(archive.infolist())
    monkeypatch.setattr(workbook, "MAX_PARTS", parts - 1)
    error = read_rejected(path)
    assert str(error) == f"the workbook holds {parts} parts, over the limit of {parts - 1}"
    assert error.zh == "工作簿内部文件过多，疑为异常文件，请导出为 CSV 后上传"


def _sheet(tmp_path, rows_xml: str, strings=("x",)):
    """An openpyxl workbook whose sheet data is ``rows_xml``, with a shared-string table
    of ``strings`` (an item is plain text or a whole ``<si>`` element), as Excel has."""
    path = xlsx(tmp_path, [["x"]])
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    start, end = sheet.index("<sheetData>"), sheet.index("</sheetData>")
    parts["xl/worksheets/sheet1.xml"] = (
        sheet[: start + len("<sheetData>")] + rows_xml + sheet[end:]
    ).encode()
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    items = "".join(t if t.startswith("<si>") else f"<si><t>{t}</t></si>" for t in strings)
    parts["xl/sharedStrings.xml"] = f'<sst xmlns="{main}">{items}</sst>'.encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdSST" Type="{kind}" Target="sharedStrings.xml"/></Relationships>',
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_rows_and_cells_without_references_are_placed_in_order(tmp_path):
    path = _sheet(
        tmp_path,
        '<row><c t="inlineStr"><is><t>a</t></is></c><c><v>1</v></c></row>'
        '<row><c r="C5"><v>2</v></c></row>'
        '<row><c t="inlineStr"><is><r><t>b</t></r><r><t>c</t></r>'
        "<rPh><t>ビ</t></rPh></is></c></row>",
    )
    assert read(path)[1] == [(1, ("a", 1)), (5, (None, None, 2)), (6, ("bc",))]


@pytest.mark.parametrize(
    ("rows_xml", "detail"),
    [
        ('<row r="3"><c r="A3"><v>1</v></c></row><row r="2"><c r="A2"><v>1</v></c></row>',
         "row 2 comes after row 3 in xl/worksheets/sheet1.xml: rows out of order"),
        ('<row r="2"><c r="B2"><v>1</v></c><c r="A2"><v>1</v></c></row>',
         "cell A2 in row 2 is out of order or repeated"),
        ('<row r="2"><c r="A3"><v>1</v></c></row>', "cell A3 is stored in row 2"),
        ('<row r="2"><c r="XFE2"><v>1</v></c></row>', "cell XFE2 in row 2 is beyond column XFD"),
        ('<row r="1048577"><c><v>1</v></c></row>',
         "row number '1048577' is not one a worksheet can have"),
        ('<row r="2"><c r="A2" t="s"><v>7</v></c></row>',
         "cell A2 refers to shared string '7', but the workbook has 1"),
        ('<row r="2"><c r="A2" t="q"><v>7</v></c></row>', "cell A2 has an unknown type 'q'"),
        ('<row r="2"><c r="A2"><v>1,5</v></c></row>', "cell A2 holds '1,5' as a number"),
        ('<row r="2"><c r="A2" t="b"><v>yes</v></c></row>', "cell A2 holds 'yes' as true/false"),
    ],
)  # fmt: skip
def test_a_sheet_no_spreadsheet_program_writes_is_damaged(tmp_path, rows_xml, detail):
    error = read_rejected(_sheet(tmp_path, rows_xml))
    assert str(error) == f"the XLSX workbook is damaged: {detail}; export it again"
    assert error.zh == DAMAGED_ZH
