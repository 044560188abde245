"""``fundledger import`` and ``fundledger imports …`` end to end, the error reports they
write (CSV with a BOM, XLSX), and the drop folder: files of two banks taken in the
right order and moved with their receipts and reports."""

from __future__ import annotations

import csv
import json
import os
import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from ledger.bankfiles import dropfolder
from ledger.bankfiles.reports import HEADER
from ledger.cli import cli
from tests.bankfiles.conftest import FILES, TODAY, fixture_file, state


@pytest.fixture(autouse=True)
def business_date(monkeypatch):
    """The command line has no say over the business date: the tests set the clock."""
    monkeypatch.setattr("ledger.bankfiles.imports.business_today", lambda: TODAY)


@pytest.fixture
def fl(city, db_url):
    """``fl(*args)``: run the fundledger command line on the city's database."""
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], env={"DATABASE_URL": db_url})

    invoke.factory = city
    return invoke


def receipt_id(result) -> int:
    """The receipt number ``fundledger import`` printed (ids are not dense on
    PostgreSQL: a rejected file's rolled-back attempt used one)."""
    first = result.stdout.splitlines()[0]
    assert first.startswith("receipt "), result.output
    return int(first.split()[1].rstrip(":"))


def read_csv_report(path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode()), "the CSV report starts with a UTF-8 BOM"
    return list(csv.reader(data.decode("utf-8-sig").splitlines()))


def test_an_accepted_file_prints_its_receipt_and_exits_0(fl, tmp_path):
    path = fixture_file("icbc_disbursement_gbk.csv", tmp_path)
    result = fl("import", "disbursement", path, "--bank", "ICBC", "--actor", "icbc")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    first = receipt_id(result)
    assert lines[0] == f"receipt {first}: accepted 已接收"
    assert lines[1] == "  bank ICBC, disbursement 放款明细, file icbc_disbursement_gbk.csv"
    assert lines[2].startswith("  425 bytes (csv, gb18030), sha256 ")
    assert lines[3] == "  rows 3, posted 3, skipped 0, rows with errors 0"
    assert lines[4] == "  totals principal 240,000.00"
    assert lines[5].startswith("  entries ")
    assert len(lines[5].split(",")) == 3
    assert not (tmp_path / "icbc_disbursement_gbk.csv.errors.csv").exists()

    # The same bytes again: a duplicate, exit 0, nothing posted.
    before = state(fl.factory)
    again = fl("import", "disbursement", path, "--bank", "ICBC", "--actor", "icbc")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == f"receipt {receipt_id(again)}: duplicate 重复文件"
    assert receipt_id(again) > first
    assert f"  already imported as receipt {first}; nothing posted" in again.stdout.splitlines()
    assert f"  已于第 {first} 号回执导入，本次未入账" in again.stdout.splitlines()
    assert state(fl.factory) == before


def test_a_rejected_file_exits_1_and_writes_its_report_beside_it(fl, tmp_path):
    path = fixture_file("abc_repayment_formulas_nocache.xlsx", tmp_path)
    before = state(fl.factory)
    result = fl("import", "repayment", path, "--bank", "ABC", "--actor", "abc")
    assert result.exit_code == 1, result.output
    report = tmp_path / "abc_repayment_formulas_nocache.xlsx.errors.csv"
    assert result.stdout.splitlines()[0] == f"receipt {receipt_id(result)}: rejected 已拒绝"
    assert result.stderr.splitlines()[-2:] == [
        f"rejected: nothing was posted; error report: {report}",
        f"文件被拒绝，未入账；错误报告：{report}",
    ]
    assert state(fl.factory) == before
    message = (
        "formula {} has no computed value; open the workbook in Excel, save it and upload it again"
    )
    zh = "公式 {} 没有计算结果，请在 Excel 中打开并保存后重新上传"
    assert read_csv_report(report) == [
        list(HEADER),
        *(
            # The value as given stays visible, made inert: Excel must not run it.
            [row, column, "'" + f, zh.format(f), message.format(f), "uncomputed-formula"]
            for row, column, f in [
                ("2", "penalty", "=0"),
                ("2", "balance_after", "=100000-D2"),
                ("3", "balance_after", "=100000-D3"),
                ("4", "balance_after", "=F2-D4"),
            ]
        ),
    ]


def test_the_report_goes_where_asked_and_a_whole_file_error_has_no_row(fl, tmp_path):
    # A statement uploaded as a repayment file: its header lacks the repayment columns.
    path = fixture_file("icbc_statement_0731.csv", tmp_path)
    report = tmp_path / "out" / "错误报告.csv"
    report.parent.mkdir()
    result = fl(
        "import", "repayment", path, "--bank", "ICBC", "--actor", "clerk", "--report", report,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert str(report) in result.stderr
    assert not (tmp_path / "icbc_statement_0731.csv.errors.csv").exists()
    message = (
        "the header lacks required column(s): contract_no (贷款合同号), paid_on (还款日期), "
        "principal (归还本金), interest (归还利息), balance_after (本金余额)"
    )
    zh = (
        "表头缺少必填列：贷款合同号（contract_no）、还款日期（paid_on）、归还本金（principal）、"
        "归还利息（interest）、本金余额（balance_after）"
    )
    assert f"  {message}" in result.stdout.splitlines()
    assert f"  {zh}" in result.stdout.splitlines()
    assert read_csv_report(report) == [list(HEADER), ["", "", "", zh, message, "file-rejected"]]


def test_an_xlsx_report_keeps_the_values_as_given(fl, tmp_path):
    path = fixture_file("abc_repayment_formulas_nocache.xlsx", tmp_path)
    first = tmp_path / "errors.xlsx"
    result = fl(
        "import", "repayment", path, "--bank", "ABC", "--actor", "abc", "--report", first,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    out = tmp_path / "x.xlsx"
    result = fl("imports", "report", receipt_id(result), "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"4 error(s) written to {out}\n"
    for report in (first, out):
        book = openpyxl.load_workbook(report)
        sheet = book.worksheets[0]
        rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
        assert rows[0] == HEADER
        assert [r[:3] + r[5:] for r in rows[1:]] == [
            (2, "penalty", "=0", "uncomputed-formula"),
            (2, "balance_after", "=100000-D2", "uncomputed-formula"),
            (3, "balance_after", "=100000-D3", "uncomputed-formula"),
            (4, "balance_after", "=F2-D4", "uncomputed-formula"),
        ]
        assert rows[4][3] == "公式 =F2-D4 没有计算结果，请在 Excel 中打开并保存后重新上传"
        # Text cells, never formulas: Excel shows them as the bank sent them.
        assert {row[2].data_type for row in sheet.iter_rows(min_row=2)} == {"s"}


def test_the_dirty_repayment_report_lists_every_error(fl, tmp_path):
    fl("import", "repayment", fixture_file("icbc_repayment_bom.csv", tmp_path),
       "--bank", "ICBC", "--actor", "icbc")  # fmt: skip
    path = fixture_file("icbc_repayment_dirty.csv", tmp_path)
    result = fl("import", "repayment", path, "--bank", "ICBC", "--actor", "icbc")
    assert result.exit_code == 1, result.output
    # The terminal shows the first ten errors and points at the report for the rest.
    assert "  … and 4 more" in result.stderr.splitlines()
    assert result.stderr.splitlines()[0] == (
        "  row 2, contract_no [GH2099-9999]: bank ICBC has no loan with contract number "
        "GH2099-9999 / ICBC 没有合同号为 GH2099-9999 的贷款"
    )
    lines = read_csv_report(tmp_path / "icbc_repayment_dirty.csv.errors.csv")
    assert [(r[0], r[1], r[2], r[5]) for r in lines[1:]] == [
        ("2", "contract_no", "GH2099-9999", "invalid-state"),
        ("3", "balance_after", "98,000.00", "balance-mismatch"),
        ("4", "principal", "45,000.01", "repayment"),
        ("5", "reversal_of", "ICBC-R-9999", "repayment"),
        ("6", "id_number", "110105199005170210", "invalid-value"),
        ("7", "bank_ref", "ICBC-R-0001", "duplicate-reference"),
        ("8", "paid_on", "2026-12-15", "invalid-value"),
        ("9", "principal", "1.5E3", "invalid-value"),
        ("9", "interest", "'-5.00", "invalid-value"),
        ("10", "principal", "100.005", "invalid-value"),
        ("10", "balance_after", "89,899.995", "invalid-value"),
        ("11", "paid_on", "", "required"),
        ("13", "paid_on", "2025-02-30", "invalid-value"),
        ("14", "paid_on", "2025-03-01", "repayment"),
    ]
    assert lines[3][3:5] == [
        "贷款 GH2025-0003 归还本金 45,000.01 元超过本金余额 45,000.00 元",
        "loan GH2025-0003: principal repaid 45,000.01 yuan is more than the 45,000.00 yuan "
        "outstanding",
    ]

    listed = fl("imports", "list", "--bank", "ICBC")
    assert listed.exit_code == 0, listed.output
    rows = listed.stdout.splitlines()
    assert len(rows) == 2
    dirty = receipt_id(result)
    assert rows[0].split()[0] == str(dirty)
    assert "rejected" in rows[0] and "icbc_repayment_dirty" in rows[0]
    assert int(rows[1].split()[0]) < dirty and "accepted" in rows[1]
    # Paged: one receipt, then the cursor of the next page; filtered by status and kind.
    first = fl("imports", "list", "--limit", 1).stdout.splitlines()
    assert first[0].split()[0] == str(dirty)
    assert first[1:] == [f"next page: --before {dirty}"]
    rest = fl("imports", "list", "--before", dirty).stdout.splitlines()
    assert rest == rows[1:]
    assert fl("imports", "list", "--status", "rejected").stdout.splitlines() == rows[:1]
    assert fl("imports", "list", "--kind", "balances").stdout == ""
    # Uploaded now, by the real clock: after 2020, not before it.
    assert fl("imports", "list", "--uploaded-from", "2020-01-01").stdout.splitlines() == rows
    assert fl("imports", "list", "--uploaded-to", "2019-12-31").stdout == ""
    wrong = fl("imports", "list", "--kind", "loans")
    assert (wrong.exit_code, wrong.stdout) == (2, "")
    assert (
        "Error: unknown file kind 'loans'; use one of: disbursement, repayment, balances, "
        "statement" in wrong.stderr
    )
    shown = fl("imports", "show", dirty)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == f"receipt {dirty}: rejected 已拒绝"
    assert "  … and 4 more (fundledger imports report)" in shown.stdout.splitlines()


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ("repayment", "--bank", "BOC", "--actor", "clerk"),
            "error: no partner bank BOC\n错误：经办银行 BOC 不存在\n",
        ),
        (
            ("repayment", "--bank", "ICBC", "--actor", "abc"),
            "error: user abc works for bank ABC and may not act for bank ICBC\n"
            "错误：用户 abc 属于 ABC，不能代 ICBC 操作\n",
        ),
        (("loans", "--bank", "ICBC", "--actor", "icbc"), "'loans' is not one of"),
        (("repayment", "--bank", "ICBC", "--actor", "auditor"), "error: user auditor may not"),
    ],
    ids=["unknown-bank", "other-banks-user", "unknown-kind", "auditor"],
)
def test_usage_errors_exit_2_and_record_nothing(fl, tmp_path, args, stderr):
    path = fixture_file("icbc_repayment_bom.csv", tmp_path)
    kind, *options = args
    before = state(fl.factory)
    result = fl("import", kind, path, *options)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert stderr in result.stderr
    assert state(fl.factory) == before
    assert fl("imports", "list").stdout == ""
    assert not (tmp_path / "icbc_repayment_bom.csv.errors.csv").exists()


def test_a_missing_file_exits_2(fl, tmp_path):
    result = fl("import", "repayment", tmp_path / "nope.csv", "--bank", "ICBC", "--actor", "icbc")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_an_unreachable_database_exits_2(tmp_path):
    path = tmp_path / "ICBC_repayment_20261130_1.csv"
    shutil.copyfile(FILES / "icbc_repayment_bom.csv", path)
    result = CliRunner().invoke(
        cli,
        ["import", "repayment", str(path), "--bank", "ICBC", "--actor", "icbc"],
        env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"},
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: OperationalError: ")
    assert "错误：系统错误，文件未导入，请稍后重试或联系管理员" in result.stderr
    assert not (tmp_path / "ICBC_repayment_20261130_1.csv.errors.csv").exists()


# ------------------------------------------------------------------------ the drop folder


def drop(inbox, source, name):
    shutil.copyfile(FILES / source, inbox / name)
    os.utime(inbox / name, (1_700_000_000, 1_700_000_000))


def test_the_drop_folder_imports_in_order_and_moves_every_file(city, tmp_path):
    root = tmp_path / "drop"
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    # Repayments of the loans the same day's disbursement file creates: taken after it.
    drop(inbox, "icbc_repayment_newloans.csv", "ICBC_repayment_20250420_1.csv")
    drop(inbox, "icbc_disbursement_gbk.csv", "ICBC_disbursement_20250420_1.csv")
    drop(inbox, "abc_disbursement_dates.xlsx", "ABC_disbursement_20250420_1.xlsx")
    drop(inbox, "icbc_repayment_dirty.csv", "ICBC_repayment_20250421_1.csv")
    drop(inbox, "icbc_repayment_bom.csv", "icbc-repayments-june.csv")
    drop(inbox, "icbc_repayment_bom.csv", "BOC_repayment_20250420_1.csv")
    drop(inbox, "icbc_repayment_bom.csv", "ICBC_repayment_20250422_1.csv.part")

    done = dropfolder.process(city, root, settle_seconds=0, today=TODAY)
    assert [(o.name, o.status, o.moved_to.parent.name) for o in done] == [
        ("icbc-repayments-june.csv", "rejected", "rejected"),
        ("ABC_disbursement_20250420_1.xlsx", "accepted", "processed"),
        ("ICBC_disbursement_20250420_1.csv", "accepted", "processed"),
        ("BOC_repayment_20250420_1.csv", "rejected", "rejected"),
        ("ICBC_repayment_20250420_1.csv", "accepted", "processed"),
        ("ICBC_repayment_20250421_1.csv", "rejected", "rejected"),
    ]
    ids = [o.receipt_id for o in done]
    assert [i is None for i in ids] == [True, False, False, True, False, False]
    assert ids[1] < ids[2] < ids[4] < ids[5]
    assert sorted(p.name for p in inbox.iterdir()) == ["ICBC_repayment_20250422_1.csv.part"]
    assert sorted(p.name for p in (root / "processed").iterdir()) == [
        "ABC_disbursement_20250420_1.xlsx",
        "ABC_disbursement_20250420_1.xlsx.receipt.json",
        "ICBC_disbursement_20250420_1.csv",
        "ICBC_disbursement_20250420_1.csv.receipt.json",
        "ICBC_repayment_20250420_1.csv",
        "ICBC_repayment_20250420_1.csv.receipt.json",
    ]
    assert sorted(p.name for p in (root / "rejected").iterdir()) == [
        "BOC_repayment_20250420_1.csv",
        "BOC_repayment_20250420_1.csv.errors.csv",
        "ICBC_repayment_20250421_1.csv",
        "ICBC_repayment_20250421_1.csv.errors.csv",
        "ICBC_repayment_20250421_1.csv.receipt.json",
        "icbc-repayments-june.csv",
        "icbc-repayments-june.csv.errors.csv",
    ]
    # The files are moved, not copied or changed.
    processed = root / "processed"
    assert (processed / "ICBC_disbursement_20250420_1.csv").read_bytes() == (
        FILES / "icbc_disbursement_gbk.csv"
    ).read_bytes()

    receipt = json.loads((processed / "ICBC_disbursement_20250420_1.csv.receipt.json").read_text())
    assert {k: receipt[k] for k in ("id", "bank", "kind", "file_name", "status", "rows",
                                    "posted", "skipped", "error_rows", "errors", "totals",
                                    "duplicate_of", "uploaded_by", "encoding")} == {
        "id": ids[2], "bank": "ICBC", "kind": "disbursement",
        "file_name": "ICBC_disbursement_20250420_1.csv", "status": "accepted", "rows": 3,
        "posted": 3, "skipped": 0, "error_rows": 0, "errors": 0,
        "totals": {"principal": "240000.00"}, "duplicate_of": None, "uploaded_by": "system",
        "encoding": "gb18030",
    }  # fmt: skip
    assert len(receipt["entry_ids"]) == 3
    assert len(receipt["sha256"]) == 64
    repaid = json.loads((processed / "ICBC_repayment_20250420_1.csv.receipt.json").read_text())
    assert (repaid["status"], repaid["posted"]) == ("accepted", 2)
    assert repaid["totals"] == {
        "principal": "7133.33",
        "interest": "642.50",
        "penalty": "0.00",
        "balance_after": "172866.67",
    }
    abc = json.loads((processed / "ABC_disbursement_20250420_1.xlsx.receipt.json").read_text())
    assert (abc["bank"], abc["format"], abc["posted"]) == ("ABC", "xlsx", 2)

    rejected = root / "rejected"
    dirty = json.loads((rejected / "ICBC_repayment_20250421_1.csv.receipt.json").read_text())
    assert (dirty["status"], dirty["rows"], dirty["posted"]) == ("rejected", 13, 0)
    report = read_csv_report(rejected / "ICBC_repayment_20250421_1.csv.errors.csv")
    assert report[0] == list(HEADER)
    assert len(report) - 1 == dirty["errors"] > 0
    assert report[1][:3] == ["2", "contract_no", "GH2099-9999"]
    assert read_csv_report(rejected / "BOC_repayment_20250420_1.csv.errors.csv") == [
        list(HEADER),
        ["", "", "BOC_repayment_20250420_1.csv", "经办银行 BOC 不存在", "no partner bank BOC",
         "reference-data"],
    ]  # fmt: skip
    pattern = "{BANKCODE}_{kind}_{YYYYMMDD}_{seq}.csv|xlsx"
    kinds = "disbursement, repayment, balances, statement"
    assert read_csv_report(rejected / "icbc-repayments-june.csv.errors.csv") == [
        list(HEADER),
        ["", "", "icbc-repayments-june.csv",
         f"文件名 icbc-repayments-june.csv 不符合 {pattern} 的格式（kind 为 {kinds} 之一）",
         f"file name icbc-repayments-june.csv does not follow {pattern} (kind one of {kinds})",
         "file-name"],
    ]  # fmt: skip

    # The disbursement file dropped again under a new sequence number: a duplicate,
    # moved to processed/ with its receipt; a file still being written waits.
    drop(inbox, "icbc_disbursement_gbk.csv", "ICBC_disbursement_20250420_2.csv")
    drop(inbox, "icbc_balances_0630.csv", "ICBC_balances_20250630_1.csv")
    os.utime(inbox / "ICBC_balances_20250630_1.csv")  # just now
    before = state(city)
    again = dropfolder.process(city, root, settle_seconds=60, today=TODAY)
    assert [(o.name, o.status) for o in again] == [
        ("ICBC_disbursement_20250420_2.csv", "duplicate")
    ]
    assert again[0].receipt_id > ids[5]
    duplicate = json.loads(
        (processed / "ICBC_disbursement_20250420_2.csv.receipt.json").read_text()
    )
    assert (duplicate["status"], duplicate["duplicate_of"]) == ("duplicate", ids[2])
    assert state(city) == before
    assert sorted(p.name for p in inbox.iterdir()) == [
        "ICBC_balances_20250630_1.csv",
        "ICBC_repayment_20250422_1.csv.part",
    ]
