"""``fundledger import borrowers|guarantees FILE`` end to end: the same receipt as a bank's
file, exit 0 accepted or duplicate, 1 rejected with the report beside the file, 2 for a
usage error (``--bank`` given for a bureau list or missing for a bank's file, a user who
may not import the list); ``imports list|show|report`` read the bureau's receipts back."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from ledger.bankfiles import dropfolder
from ledger.bankfiles.reports import HEADER
from ledger.cli import cli
from tests.bankfiles.bureau_lists import PEOPLE, TODAY
from tests.bankfiles.conftest import FILES, fixture_file, state
from tests.bankfiles.test_import_cli import read_csv_report, receipt_id
from tests.fund.conftest import setup_fund


@pytest.fixture(autouse=True)
def business_date(monkeypatch):
    monkeypatch.setattr("ledger.bankfiles.imports.business_today", lambda: TODAY)


@pytest.fixture
def fl(factory, db_url):
    setup_fund(factory)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], env={"DATABASE_URL": db_url})

    invoke.factory = factory
    return invoke


def test_a_borrowers_list_prints_its_receipt_and_a_second_upload_is_a_duplicate(fl, tmp_path):
    path = fixture_file("bureau_borrowers_200_gbk.csv", tmp_path)
    result = fl("import", "borrowers", path, "--actor", "clerk")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    first = receipt_id(result)
    lines = result.stdout.splitlines()
    assert lines[0] == f"receipt {first}: accepted 已接收"
    assert lines[1] == "  bureau, borrowers 借款人名单, file bureau_borrowers_200_gbk.csv"
    assert lines[2].startswith("  15,015 bytes (csv, gb18030), sha256 ")
    assert lines[3:] == ["  rows 200, posted 200, skipped 0, rows with errors 0"]

    before = state(fl.factory)
    again = fl("import", "BORROWERS", path, "--actor", "clerk2")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == f"receipt {receipt_id(again)}: duplicate 重复文件"
    assert again.stdout.splitlines()[3:] == [
        "  rows 200, posted 0, skipped 200, rows with errors 0",
        f"  already imported as receipt {first}; nothing posted",
        f"  已于第 {first} 号回执导入，本次未入账",
    ]
    assert state(fl.factory) == before

    listed = fl("imports", "list", "--kind", "borrowers")
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [(r[0], r[3], r[4], r[5]) for r in rows] == [
        (str(receipt_id(again)), "bureau", "borrowers", "duplicate"),
        (str(first), "bureau", "borrowers", "accepted"),
    ]


def test_a_rejected_list_exits_1_and_names_every_bad_cell(fl, tmp_path):
    path = fixture_file("bureau_borrowers_3_bad.csv", tmp_path)
    before = state(fl.factory)
    result = fl("import", "borrowers", path, "--actor", "clerk")
    assert result.exit_code == 1, result.output
    assert state(fl.factory) == before
    rejected = receipt_id(result)
    assert result.stdout.splitlines()[0] == f"receipt {rejected}: rejected 已拒绝"
    assert result.stdout.splitlines()[3] == "  rows 10, posted 0, skipped 0, rows with errors 3"
    wrong = PEOPLE[101].id_18[:-1] + "0"
    report = tmp_path / "bureau_borrowers_3_bad.csv.errors.csv"
    assert result.stderr.splitlines() == [
        f"  row 3, id_number [{wrong}]: ID number {wrong} has a wrong check digit: 0, "
        f"expected 4 / 身份证号 {wrong} 校验位错误：应为 4，实为 0",
        "  row 6, borrower_type [公司]: borrower type '公司' is not one of 个人 (individual), "
        "合伙创业 (partnership), 小微企业 (small_enterprise) / 借款人类型“公司”无效，应为："
        "个人、合伙创业、小微企业",
        "  row 9, district [南山区]: no district 南山区 / 区县 南山区 不存在",
        f"rejected: nothing was posted; error report: {report}",
        f"文件被拒绝，未入账；错误报告：{report}",
    ]
    assert [(r[0], r[1], r[2], r[5]) for r in read_csv_report(report)] == [
        HEADER[:3] + HEADER[5:],
        ("3", "id_number", wrong, "invalid-value"),
        ("6", "borrower_type", "公司", "invalid-value"),
        ("9", "district", "南山区", "reference-data"),
    ]

    shown = fl("imports", "show", rejected)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[1] == (
        "  bureau, borrowers 借款人名单, file bureau_borrowers_3_bad.csv"
    )
    assert shown.stdout.splitlines()[-1] == (
        "  row 9, district [南山区]: no district 南山区 / 区县 南山区 不存在"
    )
    out = tmp_path / "again.csv"
    written = fl("imports", "report", rejected, "--out", out)
    assert (written.exit_code, written.stdout) == (0, f"3 error(s) written to {out}\n")
    assert read_csv_report(out) == read_csv_report(report)


def test_a_guarantees_list_is_approved_and_its_totals_printed(fl, tmp_path):
    fl("import", "borrowers", fixture_file("bureau_borrowers_200.xlsx", tmp_path),
       "--actor", "clerk")  # fmt: skip
    result = fl("import", "guarantees", fixture_file("bureau_guarantees.csv", tmp_path),
                "--actor", "approver")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "  bureau, guarantees 承诺担保名单, file bureau_guarantees.csv"
    assert lines[3:5] == [
        "  rows 12, posted 12, skipped 0, rows with errors 0",
        "  totals amount 1,260,000.50, counter_guarantee_value 500,000.00",
    ]
    assert lines[5].startswith("  entries ") and len(lines[5].split(",")) == 2
    shown = fl("borrower", "show", PEOPLE[0].id_18, "--on", TODAY)
    assert shown.exit_code == 0, shown.output
    assert (
        "commitment G2026-ICBC-00001 approved 100,000.00 yuan, 24 months, approved 2026-11-20"
        in [" ".join(line.split()) for line in shown.stdout.splitlines()]
    ), shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("borrowers", "bureau_borrowers_200_gbk.csv", "--bank", "ICBC", "--actor", "clerk"),
            "Error: a borrowers list is the bureau's own and belongs to no bank: leave out "
            "--bank (借款人名单不属于任何经办银行，请勿指定 --bank)",
        ),
        (
            ("guarantees", "bureau_guarantees.csv", "--bank", "ABC", "--actor", "approver"),
            "Error: a guarantees list is the bureau's own and belongs to no bank: leave out "
            "--bank (承诺担保名单不属于任何经办银行，请勿指定 --bank)",
        ),
        (
            ("repayment", "icbc_repayment_bom.csv", "--actor", "icbc"),
            "Error: a repayment file comes from a partner bank: --bank CODE is required "
            "(还款明细须用 --bank 指定经办银行)",
        ),
    ],
)
def test_bank_is_refused_for_a_bureau_list_and_required_for_a_bank_file(fl, tmp_path, args,
                                                                       message):  # fmt: skip
    kind, name, *rest = args
    result = fl("import", kind, fixture_file(name, tmp_path), *rest)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == message
    assert fl("imports", "list").stdout == ""


def test_a_user_who_may_not_import_the_list_gets_exit_2(fl, tmp_path):
    path = fixture_file("bureau_guarantees.csv", tmp_path)
    result = fl("import", "guarantees", path, "--actor", "clerk")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: user clerk may not do this: it needs the approver role",
        "错误：用户 clerk 无权执行此操作：需要审核角色",
    ]
    assert fl("imports", "list").stdout == ""


def test_the_drop_folder_takes_no_bureau_list(fl, tmp_path):
    inbox = tmp_path / "drop" / "inbox"
    inbox.mkdir(parents=True)
    shutil.copyfile(FILES / "bureau_borrowers_200_gbk.csv", inbox / "ICBC_borrowers_20261130_1.csv")
    done = dropfolder.process(fl.factory, tmp_path / "drop", settle_seconds=0, today=TODAY)
    assert [(o.name, o.status, o.receipt_id) for o in done] == [
        ("ICBC_borrowers_20261130_1.csv", "rejected", None)
    ]
    report = read_csv_report(
        tmp_path / "drop" / "rejected" / "ICBC_borrowers_20261130_1.csv.errors.csv"
    )
    assert report[1][5] == "file-name"
    assert report[1][4].endswith("(kind one of disbursement, repayment, balances, statement)")
    assert fl("imports", "list").stdout == ""
