"""``fundledger report fund-statement|trial-balance|balance-sheet|ledger`` and
``fundledger verify-report`` on the reports' city."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ledger.cli import cli
from ledger.fund.closing import close_books
from ledger.reports.fund_statement import fund_statement_report
from tests.fund.conftest import D, run


@pytest.fixture
def fl(books, db_url):
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, ["--database-url", db_url, *args])


def test_the_fund_statement_as_text_csv_and_xlsx(fl, books, tmp_path):
    with books() as s:
        report = fund_statement_report(s, D(2025, 12, 1), D(2025, 12, 31))
    result = fl("report", "fund-statement", "--from", "2025-12-01", "--to", "2025-12-31")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "担保基金收支及资产负债情况表 Fund statement",
        "fund-statement: from=2025-12-01，to=2025-12-31（单位：元）",
    ]
    assert "city          市级配套    1,993,000.00      0.00   3,000.00" in result.stdout
    assert lines[-2] == f"指纹 fingerprint: {report.fingerprint}"
    csv = fl("report", "fund-statement", "--from", "2025-12-01", "--to", "2025-12-31",
             "--format", "csv")  # fmt: skip
    assert csv.exit_code == 0 and csv.stdout_bytes.startswith(b"\xef\xbb\xbf")
    out = tmp_path / "dec.xlsx"
    xlsx = fl("report", "fund-statement", "--from", "2025-12-01", "--to", "2025-12-31",
              "--format", "xlsx", "--out", str(out))  # fmt: skip
    assert xlsx.exit_code == 0, xlsx.output
    assert xlsx.stdout == (
        f"fund-statement written to {out} (xlsx); fingerprint {report.fingerprint}\n"
    )
    assert out.read_bytes()[:2] == b"PK"
    refused = fl("report", "fund-statement", "--from", "2025-12-01", "--to", "2025-12-31",
                 "--format", "xlsx")  # fmt: skip
    assert refused.exit_code == 2
    assert "--format xlsx writes a file: give --out FILE" in refused.output
    unknown = fl("report", "trial-balance", "--as-of", "2025-12-31", "--format", "doc")
    assert unknown.exit_code == 2 and "'doc' is not one of csv, text, xlsx" in unknown.output
    backwards = fl("report", "fund-statement", "--from", "2025-12-31", "--to", "2025-12-01")
    assert backwards.exit_code == 1
    assert backwards.stderr == (
        "error: the period ends (2025-12-01) before it starts (2025-12-31)\n"
        "错误：报表期间的结束日期（2025-12-01）早于开始日期（2025-12-31）\n"
    )


def test_the_books_reports(fl):
    tb = fl("report", "trial-balance", "--as-of", "2025-12-31")
    assert tb.exit_code == 0, tb.output
    assert "科目余额  8,012,000.00  8,012,000.00  0.00" in tb.stdout
    bs = fl("report", "balance-sheet", "--as-of", "2025-12-31")
    assert bs.stdout.splitlines()[-4] == "7,984,000.00      0.00  7,984,000.00  0.00"
    ledger = fl("report", "ledger", "asset:special:ABC", "--from", "2025-12-01",
                "--to", "2025-12-31")  # fmt: skip
    assert ledger.exit_code == 0, ledger.output
    assert "从农业银行担保基金专户调回" in ledger.stdout
    assert "本期合计及期末余额" in ledger.stdout and "872,000.00" in ledger.stdout
    missing = fl("report", "ledger", "asset:nothing", "--to", "2025-12-31")
    assert missing.exit_code == 1
    assert missing.stderr == "error: account asset:nothing does not exist\n"


def test_verify_report_exits_0_1_or_2(fl, books, tmp_path):
    run(books, lambda s: close_books(s, D(2025, 12, 31), actor="approver", today=D(2026, 1, 5)))
    out = tmp_path / "dec.csv"
    fl("report", "fund-statement", "--from", "2025-12-01", "--to", "2025-12-31",
       "--format", "csv", "--out", str(out))  # fmt: skip
    ok = fl("verify-report", str(out))
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines()[1] == "MATCHES the books: all 78 figures are the same."
    text = out.read_text(encoding="utf-8-sig")
    edited = tmp_path / "edited.csv"
    edited.write_text(text.replace(",3000.00,0.00,0.00,0.00,1996000.00", ",3000.00,0.00,0.00,"
                                   "0.00,1996100.00"), encoding="utf-8-sig")  # fmt: skip
    differs = fl("verify-report", str(edited))
    assert differs.exit_code == 1
    assert differs.stdout.splitlines()[1:] == [
        "DIFFERS from the books: 1 difference",
        "  capital / city 市级配套 / closing 期末资本: file 1,996,100.00, books 1,996,000.00",
        "The file's figures do not give the fingerprint it carries: it was changed after "
        "it was produced.",
        "No entry posted since the file's anchor (seq 23) is dated in the period: the books "
        "did not change what it reports.",
    ]
    junk = tmp_path / "junk.csv"
    junk.write_text("hello\n")
    unreadable = fl("verify-report", str(junk))
    assert unreadable.exit_code == 2
    assert unreadable.stderr.startswith(f"error: {junk}: no report kind, fingerprint or anchor")
    gone = fl("verify-report", str(tmp_path / "nothing.csv"))
    assert gone.exit_code == 2 and "No such file" in gone.stderr
