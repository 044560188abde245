"""Repayment files (还款明细) end to end: rows of one loan applied in date order, then file
order; repeated rows skipped; a reversal (冲正) of an earlier repayment; XLSX formula
cells with and without their computed values; every kind of bad row reported with
nothing posted; the same result when the file is posted a few rows at a time."""

from __future__ import annotations

import csv
import gc

import pytest
from sqlalchemy import select

import ledger.bankfiles.imports as imports_module
from ledger.bankfiles.models import BankFileImportEntry
from ledger.fund.models import Loan, Repayment
from tests.bankfiles.conftest import (
    FILES,
    TODAY,
    do_import,
    fixture_file,
    loan_state,
    messages,
    problems,
    state,
    verify_ok,
)
from tests.fund.conftest import D


@pytest.fixture(params=[False, True], ids=["whole", "chunks-of-3"])
def chunked(request, monkeypatch):
    """Run the test as is, and again with the file posted three rows at a time and its
    rows sorted through the spool's temporary file past four rows."""
    if request.param:
        monkeypatch.setattr(imports_module, "CHUNK_LINES", 3)
        monkeypatch.setattr(imports_module, "SPILL_ROWS", 4)
    return request.param


def repayments(factory) -> dict[str, tuple]:
    """bank_ref → (contract, paid_on, principal, interest, penalty, reversal of, entry)."""
    with factory() as s:
        by_id = dict(s.execute(select(Repayment.id, Repayment.bank_ref)).tuples().all())
        rows = s.execute(
            select(
                Repayment.bank_ref, Loan.contract_no, Repayment.paid_on, Repayment.principal,
                Repayment.interest, Repayment.penalty, Repayment.reversal_of_id,
                Repayment.entry_id,
            ).join(Loan, Loan.id == Repayment.loan_id)
        ).all()  # fmt: skip
    return {r[0]: (*r[1:6], by_id.get(r[6]), r[7]) for r in rows}


def test_a_utf8_bom_file_posts_its_rows_in_date_order(city, chunked):
    receipt = do_import(city, "repayment", "icbc_repayment_bom.csv")
    assert (receipt.status, receipt.format, receipt.encoding) == ("accepted", "csv", "utf-8-sig")
    assert (receipt.rows, receipt.posted, receipt.skipped) == (6, 6, 0)
    assert (receipt.error_rows, receipt.errors) == (0, 0)
    assert receipt.totals == {
        "principal": 2_499_999,  # 3 × 3,333.33 + 0 + １０，０００．００ + ¥5,000.00
        "interest": 247_300,
        "penalty": 1_234,
        "balance_after": 45_500_002,
    }
    made = repayments(city)
    assert {k: v[:-1] for k, v in made.items()} == {
        "ICBC-R-0001": ("GH2025-0002", D(2025, 4, 15), 333_333, 29_000, 0, None),
        "ICBC-R-0002": ("GH2025-0001", D(2025, 4, 10), 0, 36_250, 0, None),
        # Row 5 (06-15) comes before row 6 (05-15) in the file; its balance, 70,000.01,
        # is right only after the 05-15 payment.
        "ICBC-R-0004": ("GH2025-0002", D(2025, 6, 15), 333_333, 27_800, 0, None),
        "ICBC-R-0003": ("GH2025-0002", D(2025, 5, 15), 333_333, 28_000, 0, None),
        "ICBC-R-0005": ("GH2025-0001", D(2025, 5, 10), 1_000_000, 36_250, 1_234, None),
        "ICBC-R-0006": ("GH2025-0003", D(2025, 6, 30), 500_000, 90_000, 0, None),
    }
    # Interest only: no exposure moves, no entry.
    assert made["ICBC-R-0002"][-1] is None
    entries = {v[-1] for k, v in made.items() if k != "ICBC-R-0002"}
    assert sorted(entries) == list(receipt.entry_ids)
    if not chunked:
        assert len(receipt.entry_ids) == 5  # one per repayment date that moves exposure
    with city() as s:
        linked = s.scalars(
            select(BankFileImportEntry.entry_id).where(BankFileImportEntry.import_id == receipt.id)
        ).all()
    assert sorted(linked) == list(receipt.entry_ids)
    assert loan_state(city, "ICBC", "GH2025-0001") == (
        1_000_000,
        D(2025, 5, 10),
        "active",
        7_200_000,
    )
    # 80% × 70,000.01 = 56,000.008 → 56,000.01.
    assert loan_state(city, "ICBC", "GH2025-0002") == (999_999, D(2025, 6, 15), "active", 5_600_001)
    assert loan_state(city, "ICBC", "GH2025-0003") == (500_000, D(2025, 6, 30), "active", 3_600_000)
    verify_ok(city)


DIRTY = [
    (2, "contract_no", "GH2099-9999", "invalid-state"),  # unknown contract
    (3, "balance_after", "98,000.00", "balance-mismatch"),
    (4, "principal", "45,000.01", "repayment"),  # over-repayment
    (5, "reversal_of", "ICBC-R-9999", "repayment"),  # reversal of an unknown reference
    (6, "id_number", "110105199005170210", "invalid-value"),  # bad check digit
    (7, "bank_ref", "ICBC-R-0001", "duplicate-reference"),  # same ref, other content
    (8, "paid_on", "2026-12-15", "invalid-value"),  # in the future
    (9, "principal", "1.5E3", "invalid-value"),  # scientific notation
    (9, "interest", "-5.00", "invalid-value"),  # negative
    (10, "principal", "100.005", "invalid-value"),
    (10, "balance_after", "89,899.995", "invalid-value"),
    (11, "paid_on", "", "required"),
    # Row 12 is good: nothing of it is posted either.
    (13, "paid_on", "2025-02-30", "invalid-value"),
    (14, "paid_on", "2025-03-01", "repayment"),  # before the disbursement
]


def test_a_file_with_bad_rows_posts_nothing_and_names_every_one(city, chunked):
    do_import(city, "repayment", "icbc_repayment_bom.csv")
    before = state(city)
    receipt = do_import(city, "repayment", "icbc_repayment_dirty.csv")
    assert (receipt.status, receipt.encoding) == ("rejected", "utf-8")
    assert (receipt.rows, receipt.posted, receipt.skipped) == (13, 0, 0)
    assert (receipt.error_rows, receipt.errors) == (12, 14)
    assert receipt.entry_ids == ()
    assert receipt.totals == {
        "principal": 5_033_335,
        "interest": 111_500,
        "penalty": 0,
        "balance_after": 85_176_668,
    }
    assert problems(city, receipt) == DIRTY
    said = messages(city, receipt)
    assert said[(2, "contract_no")] == (
        "bank ICBC has no loan with contract number GH2099-9999",
        "ICBC 没有合同号为 GH2099-9999 的贷款",
    )
    assert said[(3, "balance_after")] == (
        "loan GH2025-0001: the bank's balance after this repayment is 98,000.00 yuan but the "
        "fund's is 89,000.00 yuan",
        "贷款 GH2025-0001 还款后本金余额：银行为 98,000.00 元，基金为 89,000.00 元，不一致",
    )
    assert said[(4, "principal")] == (
        "loan GH2025-0003: principal repaid 45,000.01 yuan is more than the 45,000.00 yuan "
        "outstanding",
        "贷款 GH2025-0003 归还本金 45,000.01 元超过本金余额 45,000.00 元",
    )
    assert said[(5, "reversal_of")] == (
        "bank ICBC has no repayment with reference ICBC-R-9999 to reverse",
        "ICBC 没有流水号为 ICBC-R-9999 的还款，无法冲正",
    )
    assert said[(6, "id_number")][0] == (
        "ID number 110105199005170210 has a wrong check digit: 0, expected 4"
    )
    assert said[(7, "bank_ref")] == (
        "bank reference ICBC-R-0001 of ICBC was already used on 2025-04-15 with different content",
        "ICBC 流水号 ICBC-R-0001 已于 2025-04-15 使用，内容与本次不同",
    )
    assert said[(8, "paid_on")][0] == "paid_on 2026-12-15 is in the future (today is 2026-11-30)"
    assert said[(9, "principal")][0] == (
        "amount 1.5E3 is in scientific notation; write it out in full, e.g. 1234.50"
    )
    assert said[(9, "interest")] == (
        "amount -5.00 is negative; amounts must be 0 or more",
        "金额 -5.00 为负数，金额不能小于 0",
    )
    assert said[(11, "paid_on")] == ("paid_on is required", "“还款日期”为必填项，不能为空")
    assert said[(13, "paid_on")][0] == "2025-02-30 is not a date that exists"
    assert said[(14, "paid_on")][0] == (
        "repayment date 2025-03-01 is before the disbursement on 2025-03-10 or in the future"
    )
    assert state(city) == before


def test_repeated_rows_are_skipped_and_a_reversal_cancels_an_earlier_repayment(city):
    first = do_import(city, "repayment", "icbc_repayment_bom.csv")
    entries_before = state(city)["entries"]
    receipt = do_import(city, "repayment", "icbc_repayment_second_gbk.csv")
    assert (receipt.status, receipt.encoding) == ("accepted", "gb18030")
    # ICBC-R-0001 and ICBC-R-0005 repeat the first file's rows (written differently).
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.error_rows) == (5, 3, 2, 0)
    assert receipt.totals == {
        "principal": 4_166_666,
        "interest": 199_750,
        "penalty": 1_234,
        "balance_after": 31_333_335,
    }
    made = repayments(city)
    assert len(made) == 9
    # The reversal: a new row pointing at the original, which stays as it was.
    assert made["ICBC-R-0009"][:-1] == (
        "GH2025-0003", D(2025, 7, 5), 500_000, 90_000, 0, "ICBC-R-0006",
    )  # fmt: skip
    assert made["ICBC-R-0006"][:-1] == ("GH2025-0003", D(2025, 6, 30), 500_000, 90_000, 0, None)
    assert made["ICBC-R-0006"][-1] in first.entry_ids
    assert made["ICBC-R-0010"][:-1] == ("GH2025-0003", D(2025, 7, 31), 2_000_000, 18_000, 0, None)
    assert made["ICBC-R-0011"][:-1] == ("GH2025-0002", D(2025, 7, 15), 333_333, 26_500, 0, None)
    assert sorted(made[r][-1] for r in ("ICBC-R-0009", "ICBC-R-0010", "ICBC-R-0011")) == list(
        receipt.entry_ids
    )
    assert len(receipt.entry_ids) == 3
    assert state(city)["entries"] == entries_before + 3
    # GH2025-0003: 5,000 repaid, reversed, then 20,000: 30,000.00 outstanding.
    assert loan_state(city, "ICBC", "GH2025-0003") == (
        2_000_000,
        D(2025, 7, 31),
        "active",
        2_400_000,
    )
    # GH2025-0002: 80% × 66,666.68 = 53,333.344 → 53,333.34.
    assert loan_state(city, "ICBC", "GH2025-0002") == (
        1_333_332,
        D(2025, 7, 15),
        "active",
        5_333_334,
    )
    assert loan_state(city, "ICBC", "GH2025-0001") == (
        1_000_000,
        D(2025, 5, 10),
        "active",
        7_200_000,
    )
    verify_ok(city)


def test_xlsx_formula_cells_with_computed_values_import(city):
    receipt = do_import(city, "repayment", "abc_repayment_formulas.xlsx", bank="ABC")
    assert (receipt.status, receipt.format) == ("accepted", "xlsx")
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.errors) == (3, 3, 0, 0)
    assert receipt.totals == {
        "principal": 1_050_050,
        "interest": 107_300,
        "penalty": 0,
        "balance_after": 28_549_950,  # 96,000 + 97,499.5 + 92,000 computed by formulas
    }
    made = repayments(city)
    assert {k: v[:-1] for k, v in made.items()} == {
        "ABC-20250420-001": ("NH-25-001", D(2025, 4, 20), 400_000, 36_250, 0, None),
        "ABC-20250420-002": ("NH-25-002", D(2025, 4, 20), 250_050, 36_250, 0, None),
        "ABC-20250520-001": ("NH-25-001", D(2025, 5, 20), 400_000, 34_800, 0, None),
    }
    assert len(receipt.entry_ids) == 2  # 04-20 (both loans) and 05-20
    assert loan_state(city, "ABC", "NH-25-001") == (800_000, D(2025, 5, 20), "active", 7_360_000)
    assert loan_state(city, "ABC", "NH-25-002") == (250_050, D(2025, 4, 20), "active", 7_799_960)
    verify_ok(city)


def test_xlsx_formula_cells_without_computed_values_are_row_errors(city):
    before = state(city)
    receipt = do_import(city, "repayment", "abc_repayment_formulas_nocache.xlsx", bank="ABC")
    assert receipt.status == "rejected"
    assert (receipt.rows, receipt.posted, receipt.error_rows, receipt.errors) == (3, 0, 3, 4)
    assert problems(city, receipt) == [
        (2, "penalty", "=0", "uncomputed-formula"),
        (2, "balance_after", "=100000-D2", "uncomputed-formula"),
        (3, "balance_after", "=100000-D3", "uncomputed-formula"),
        (4, "balance_after", "=F2-D4", "uncomputed-formula"),
    ]
    assert messages(city, receipt)[(4, "balance_after")] == (
        "formula =F2-D4 has no computed value; open the workbook in Excel, save it and "
        "upload it again",
        "公式 =F2-D4 没有计算结果，请在 Excel 中打开并保存后重新上传",
    )
    assert state(city) == before


def fen(text: str) -> int:
    whole, _, cents = text.replace(",", "").partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0"))


def test_posting_in_small_chunks_gives_the_same_result(city, chunked):
    """20 rows over three loans, each loan's rows spread around the file and two of them
    out of date order: the same receipt and books whether the file goes in one chunk or
    in chunks of three rows (sorted through the spool's temporary file)."""
    receipt = do_import(city, "repayment", "icbc_repayment_chunks.csv")
    assert receipt.status == "accepted"
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.errors) == (20, 20, 0, 0)
    assert receipt.totals == {
        "principal": 3_503_381,
        "interest": 511_798,
        "penalty": 0,
        "balance_after": 142_646_476,
    }
    with open(FILES / "icbc_repayment_chunks.csv", encoding="utf-8", newline="") as f:
        expected = {
            r["bank_ref"]: (r["contract_no"], D.fromisoformat(r["paid_on"]), fen(r["principal"]),
                            fen(r["interest"]), 0, None)
            for r in csv.DictReader(f)
        }  # fmt: skip
    made = repayments(city)
    assert {k: v[:-1] for k, v in made.items()} == expected
    assert {v[-1] for v in made.values()} - {None} == set(receipt.entry_ids)
    # 94,299.50 / 56,666.69 / 44,000.00 outstanding, as the file's last balances say.
    assert loan_state(city, "ICBC", "GH2025-0001") == (570_050, D(2025, 9, 10), "active", 7_543_960)
    assert loan_state(city, "ICBC", "GH2025-0002") == (
        2_333_331, D(2025, 10, 15), "active", 4_533_335,
    )  # fmt: skip
    assert loan_state(city, "ICBC", "GH2025-0003") == (600_000, D(2025, 9, 30), "active", 3_520_000)
    with city() as s:
        from ledger.balances import trial_balance

        contra = {x.code: x.credit for x in trial_balance(s).lines}["memo:exposure-contra:ICBC"]
    assert contra == 7_543_960 + 4_533_335 + 3_520_000
    verify_ok(city)


def test_a_file_with_more_errors_than_one_insert_takes_is_still_rejected_with_all(city):
    """ABC's repayments sent under ICBC's name: 70 rows naming loans ICBC does not have.
    The receipt must keep every one of the 70 error lines."""
    before = state(city)
    receipt = do_import(city, "repayment", "icbc_repayment_wrong_bank.csv")
    assert receipt.status == "rejected"
    assert (receipt.rows, receipt.error_rows, receipt.errors) == (70, 70, 70)
    lines = problems(city, receipt)
    assert lines == [
        (n + 2, "contract_no", f"NH-25-00{1 + n % 2}", "invalid-state") for n in range(70)
    ]
    assert state(city) == before


def test_the_same_repayment_file_again_is_a_duplicate(city):
    first = do_import(city, "repayment", "icbc_repayment_bom.csv")
    before = state(city)
    again = do_import(city, "repayment", "icbc_repayment_bom.csv")
    assert (again.status, again.duplicate_of, again.posted, again.entry_ids) == (
        "duplicate", first.id, 0, (),
    )  # fmt: skip
    assert state(city) == before
    assert len(repayments(city)) == 6


def test_a_reversal_from_a_file_without_the_penalty_column_reverses_the_whole_repayment(city):
    """The penalty column is optional: a bank whose export has none still reverses a
    repayment that had a penalty (a reversal may leave amounts out: they are the
    original's)."""
    do_import(city, "repayment", "icbc_repayment_bom.csv")
    receipt = do_import(city, "repayment", "icbc_repayment_reversal_no_penalty.csv")
    assert receipt.status == "accepted", problems(city, receipt)
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.errors) == (1, 1, 0, 0)
    made = repayments(city)
    assert made["ICBC-R-0301"][:-1] == (
        "GH2025-0001", D(2025, 5, 12), 1_000_000, 36_250, 1_234, "ICBC-R-0005",
    )  # fmt: skip
    # Back to 100,000.00 outstanding; the interest-only payment of 04-10 is the last.
    assert loan_state(city, "ICBC", "GH2025-0001") == (0, D(2025, 4, 10), "active", 8_000_000)
    verify_ok(city)


@pytest.fixture
def collector_seen(monkeypatch) -> list[bool]:
    """Whether the cyclic collector was on, each time a repayment batch was posted."""
    seen = []
    apply = imports_module.apply_repayments

    def watching(*args, **kwargs):
        seen.append(gc.isenabled())
        return apply(*args, **kwargs)

    monkeypatch.setattr(imports_module, "apply_repayments", watching)
    return seen


def test_import_file_leaves_the_cyclic_collector_alone(city, collector_seen):
    # A web server's threads share the process: an upload must not pause its collector.
    seen = collector_seen
    receipt = do_import(city, "repayment", "icbc_repayment_bom.csv")
    assert (receipt.status, seen, gc.isenabled()) == ("accepted", [True], True)


def test_the_command_line_pauses_the_collector_while_it_imports(
    city, db_url, monkeypatch, tmp_path, collector_seen
):
    from click.testing import CliRunner

    from ledger.cli import cli

    seen = collector_seen
    monkeypatch.setattr(imports_module, "business_today", lambda: TODAY)
    for name, code in (("icbc_repayment_bom.csv", 0), ("icbc_repayment_dirty.csv", 1)):
        path = fixture_file(name, tmp_path)
        result = CliRunner().invoke(
            cli,
            ["import", "repayment", str(path), "--bank", "ICBC", "--actor", "icbc"],
            env={"DATABASE_URL": db_url},
        )  # fmt: skip
        assert result.exit_code == code, result.output
        assert seen and not any(seen)
        assert gc.isenabled()
        seen.clear()


def test_pauses_of_the_collector_nest_and_leave_it_as_they_found_it():
    assert gc.isenabled()
    with imports_module.gc_paused():
        with imports_module.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer import is still running
    assert gc.isenabled()
    gc.disable()
    try:
        with imports_module.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
    with pytest.raises(RuntimeError, match="boom"), imports_module.gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
