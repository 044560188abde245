"""Disbursement files (放款明细) end to end: a clean GBK file and an XLSX with date cells
post their loans; a file with any bad row posts nothing and names every bad row; a
disbursement past the leverage cap is refused with the cap, the exposure and the
shortfall; the same file twice is a duplicate; a repeated contract is skipped."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

import ledger.bankfiles.imports as imports_module
from ledger import chart
from ledger.bankfiles.models import BankFileImportEntry
from ledger.fund.books import balance_now
from ledger.fund.models import Borrower, Commitment, Loan
from ledger.models import JournalEntry
from tests.bankfiles.conftest import (
    FILES,
    commitment_no,
    do_import,
    messages,
    problems,
    state,
    verify_ok,
)
from tests.fund.conftest import D, borrower_id


@pytest.fixture(params=[False, True], ids=["whole", "chunks-of-3"])
def chunked(request, monkeypatch):
    """Run the test as is, and again with the file posted three rows at a time."""
    if request.param:
        monkeypatch.setattr(imports_module, "CHUNK_LINES", 3)
        monkeypatch.setattr(imports_module, "SPILL_ROWS", 4)
    return request.param


def new_loans(factory, contracts) -> dict[str, tuple]:
    """contract → (bank, borrower ID, principal, rate ppm, method, disbursed, maturity,
    coverage, status, entry id)."""
    with factory() as s:
        rows = s.execute(
            select(
                Loan.contract_no, Loan.bank_code, Borrower.id_number, Loan.principal,
                Loan.annual_rate_ppm, Loan.method, Loan.disbursed_on, Loan.maturity_on,
                Loan.coverage_ppm, Loan.status, Loan.entry_id,
            )
            .join(Borrower, Borrower.id == Loan.borrower_id)
            .where(Loan.contract_no.in_(contracts))
        ).all()  # fmt: skip
    return {row[0]: tuple(row[1:]) for row in rows}


def exposure(factory, bank: str) -> int:
    with factory() as s:
        return balance_now(s, chart.exposure_contra_account(bank))


def commitment_status(factory, serials) -> list[str]:
    with factory() as s:
        return [
            s.scalar(select(Commitment.status).where(Commitment.number == commitment_no(n)))
            for n in serials
        ]


def test_a_gbk_file_with_full_width_digits_posts_its_loans(city):
    before = exposure(city, "ICBC")
    receipt = do_import(city, "disbursement", "icbc_disbursement_gbk.csv")
    data = (FILES / "icbc_disbursement_gbk.csv").read_bytes()
    assert (receipt.status, receipt.bank, receipt.kind, receipt.file_name) == (
        "accepted", "ICBC", "disbursement", "icbc_disbursement_gbk.csv",
    )  # fmt: skip
    assert (receipt.format, receipt.encoding) == ("csv", "gb18030")
    assert (receipt.sha256, receipt.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert (receipt.rows, receipt.posted, receipt.skipped) == (3, 3, 0)
    assert (receipt.error_rows, receipt.errors, receipt.duplicate_of) == (0, 0, None)
    assert receipt.totals == {"principal": 24_000_000}
    assert receipt.uploaded_by == "icbc"

    loans = new_loans(city, ["GH2025-0004", "GH2025-0005", "GH2025-0006"])
    entries = {k: v[-1] for k, v in loans.items()}
    assert {k: v[:-1] for k, v in loans.items()} == {
        # １００，０００．００ in full-width digits; 2025/4/1.
        "GH2025-0004": ("ICBC", borrower_id(4), 10_000_000, 43_500, "annuity",
                        D(2025, 4, 1), D(2027, 4, 1), 800_000, "active"),
        # ￥60,000.00 and 3.85%; 20250402.
        "GH2025-0005": ("ICBC", borrower_id(5), 6_000_000, 38_500, "bullet",
                        D(2025, 4, 2), D(2026, 4, 2), 800_000, "active"),
        # " GH2025-0006 " trimmed; the ID number's x read as X; 2025年4月3日.
        "GH2025-0006": ("ICBC", "11010519900517061X", 8_000_000, 42_000, "equal_principal",
                        D(2025, 4, 3), D(2027, 4, 3), 800_000, "active"),
    }  # fmt: skip
    # One exposure entry per disbursement date, each linked to the receipt.
    assert len(receipt.entry_ids) == 3
    assert sorted(entries.values()) == list(receipt.entry_ids)
    with city() as s:
        posted = [s.get(JournalEntry, e) for e in receipt.entry_ids]
        assert [(e.effective_date, e.kind) for e in posted] == [
            (D(2025, 4, 1), "loan.disbursement"),
            (D(2025, 4, 2), "loan.disbursement"),
            (D(2025, 4, 3), "loan.disbursement"),
        ]
        linked = s.scalars(
            select(BankFileImportEntry.entry_id).where(BankFileImportEntry.import_id == receipt.id)
        ).all()
        assert sorted(linked) == list(receipt.entry_ids)
    # 80% of 100,000 + 60,000 + 80,000 yuan.
    assert exposure(city, "ICBC") == before + 19_200_000
    assert commitment_status(city, [4, 5, 6, 7]) == ["used", "used", "used", "approved"]
    verify_ok(city)


def test_a_contract_sent_again_with_the_same_content_is_skipped(city):
    first = do_import(city, "disbursement", "icbc_disbursement_gbk.csv")
    before = state(city)
    # GH2025-0004 again (written 100000, 4.3500, annuity: the same values) and GH2025-0007.
    receipt = do_import(city, "disbursement", "icbc_disbursement_more.csv")
    assert receipt.status == "accepted"
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.error_rows) == (2, 1, 1, 0)
    assert receipt.totals == {"principal": 15_000_000}
    loans = new_loans(city, ["GH2025-0004", "GH2025-0007"])
    assert loans["GH2025-0004"][-1] in first.entry_ids
    assert loans["GH2025-0007"][:-1] == (
        "ICBC", borrower_id(7), 5_000_000, 40_000, "bullet", D(2025, 4, 10), D(2026, 4, 10),
        800_000, "active",
    )  # fmt: skip
    assert receipt.entry_ids == (loans["GH2025-0007"][-1],)
    after = state(city)
    assert after["entries"] == before["entries"] + 1
    assert [ln[0] for ln in after["loans"]] == [ln[0] for ln in before["loans"]] + ["GH2025-0007"]
    verify_ok(city)


DIRTY = [
    (2, "guarantee_no", "G2025-ICBC-00099", "invalid-state"),
    (3, "id_number", "110105199005170410", "invalid-value"),
    (4, "borrower_name", "刘阳", "commitment"),
    (5, "principal", "60,000.01", "commitment"),
    (6, "annual_rate", "7.5", "over-limit"),
    (7, "maturity_on", "2025-03-01", "over-limit"),
    (8, "contract_no", "GH2025-0001", "duplicate-reference"),
    (9, "guarantee_no", "G2025-ICBC-00001", "commitment"),
    (10, "repayment_method", "等额本息", "invalid-value"),
    (11, "guarantee_no", "G2025-ABC-00003", "commitment"),
    (12, "disbursed_on", "2026-12-01", "invalid-value"),
    (13, "principal", "50000.001", "invalid-value"),
]


def test_a_file_with_bad_rows_posts_nothing_and_names_every_one(city, chunked):
    before = state(city)
    receipt = do_import(city, "disbursement", "icbc_disbursement_dirty.csv")
    assert receipt.status == "rejected"
    assert (receipt.rows, receipt.posted, receipt.skipped) == (12, 0, 0)
    assert (receipt.error_rows, receipt.errors) == (12, 12)
    assert receipt.entry_ids == ()
    assert (receipt.message, receipt.message_zh) == (None, None)
    # Every amount read is totalled, the bad rows' too (50000.001 does not read).
    assert receipt.totals == {"principal": 60_999_901}
    assert problems(city, receipt) == DIRTY
    said = messages(city, receipt)
    assert said[(2, "guarantee_no")] == (
        "no commitment G2025-ICBC-00099",
        "担保承诺号 G2025-ICBC-00099 不存在",
    )
    assert said[(3, "id_number")] == (
        "ID number 110105199005170410 has a wrong check digit: 0, expected 7",
        "身份证号 110105199005170410 校验位错误：应为 7，实为 0",
    )
    assert said[(4, "borrower_name")] == (
        "borrower name 刘阳 does not match commitment G2025-ICBC-00004 (刘洋)",
        "借款人姓名 刘阳 与担保承诺 G2025-ICBC-00004 不符",
    )
    assert said[(5, "principal")][0] == (
        "principal 60,000.01 yuan is over the 60,000.00 yuan approved by commitment "
        "G2025-ICBC-00005"
    )
    assert said[(6, "annual_rate")][0] == (
        "annual rate 7.50% is over the cap of 6.10% in force on 2025-04-02"
    )
    assert said[(7, "maturity_on")][0] == (
        "maturity 2025-03-01 must be after the disbursement date 2025-04-02"
    )
    assert said[(8, "contract_no")] == (
        "contract GH2025-0001 of bank ICBC was already disbursed with different content",
        "ICBC 合同号 GH2025-0001 已放款，内容与本次不同",
    )
    assert said[(9, "guarantee_no")][0] == (
        "commitment G2025-ICBC-00001 is not available: used by loan GH2025-0001"
    )
    assert said[(10, "repayment_method")][1] == (
        "还款方式“等额本息”无效，应为：到期一次还本付息、按月付息到期还本、按月等额本息、按月等额本金"
    )
    assert said[(11, "guarantee_no")][0] == (
        "commitment G2025-ABC-00003 was approved for bank ABC, not ICBC"
    )
    assert said[(12, "disbursed_on")] == (
        "disbursed_on 2026-12-01 is in the future (today is 2026-11-30)",
        "放款日期 2026-12-01 晚于今天（2026-11-30）",
    )
    assert said[(13, "principal")][0] == (
        "amount 50000.001 has 3 decimals; at most 2 (fen) are allowed"
    )
    assert state(city) == before
    assert commitment_status(city, [4, 5, 6, 7]) == ["approved"] * 4

    # Sent again, it is checked again (only accepted files count as already imported).
    again = do_import(city, "disbursement", "icbc_disbursement_dirty.csv")
    assert (again.status, again.duplicate_of, again.errors) == ("rejected", None, 12)
    assert again.sha256 == receipt.sha256
    assert state(city) == before


LEVERAGE = (
    "bank ABC: guarantee exposure would be 560,000.00 yuan, over the leverage cap of "
    "500,000.00 yuan (5 × special account 100,000.00 yuan; exposure now 480,000.00 yuan); "
    "short by 60,000.00 yuan"
)
LEVERAGE_ZH = (
    "ABC 在保余额将达 560,000.00 元，超过放大倍数上限 500,000.00 元（5 倍 × 专户余额 "
    "100,000.00 元；现在保余额 480,000.00 元），缺口 60,000.00 元"
)


def test_a_disbursement_past_the_leverage_cap_rejects_the_file(city, chunked):
    before = state(city)
    # ABC: cap 500,000 yuan, 160,000 used; four loans of 100,000 (80,000 exposure each)
    # fit, the fifth (row 6) does not.
    receipt = do_import(city, "disbursement", "abc_disbursement_leverage.csv", bank="ABC")
    assert (receipt.status, receipt.encoding) == ("rejected", "utf-8-sig")
    assert (receipt.rows, receipt.posted, receipt.error_rows, receipt.errors) == (5, 0, 1, 1)
    assert receipt.totals == {"principal": 50_000_000}
    assert problems(city, receipt) == [(6, "principal", "100,000.00", "leverage-cap")]
    assert messages(city, receipt)[(6, "principal")] == (LEVERAGE, LEVERAGE_ZH)
    assert state(city) == before
    assert exposure(city, "ABC") == 16_000_000


def test_an_xlsx_file_with_date_cells_posts_its_loans(city):
    receipt = do_import(city, "disbursement", "abc_disbursement_dates.xlsx", bank="ABC")
    assert (receipt.status, receipt.format, receipt.encoding) == ("accepted", "xlsx", None)
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.errors) == (2, 2, 0, 0)
    # 100000 in a number cell; 99999.99 a float cell, read back exactly.
    assert receipt.totals == {"principal": 19_999_999}
    loans = new_loans(city, ["NH-25-003", "NH-25-004"])
    assert {k: v[:-1] for k, v in loans.items()} == {
        "NH-25-003": ("ABC", borrower_id(10), 10_000_000, 43_500, "interest_only",
                      D(2025, 4, 8), D(2026, 4, 8), 800_000, "active"),
        "NH-25-004": ("ABC", borrower_id(11), 9_999_999, 39_000, "annuity",
                      D(2025, 4, 9), D(2026, 4, 9), 800_000, "active"),
    }  # fmt: skip
    assert sorted(v[-1] for v in loans.values()) == list(receipt.entry_ids)
    # 160,000 + 80,000 + 80% × 99,999.99 = 79,999.992 → 79,999.99.
    assert exposure(city, "ABC") == 16_000_000 + 8_000_000 + 7_999_999
    verify_ok(city)


def test_the_same_file_again_is_a_duplicate_and_posts_nothing(city):
    first = do_import(city, "disbursement", "icbc_disbursement_gbk.csv")
    before = state(city)
    again = do_import(city, "disbursement", "icbc_disbursement_gbk.csv")
    assert (again.status, again.duplicate_of) == ("duplicate", first.id)
    assert again.id != first.id
    # A duplicate carries the first import's rows and totals: every row skipped, none posted.
    assert (again.rows, again.posted, again.skipped, again.entry_ids) == (3, 0, 3, ())
    assert again.totals == first.totals
    assert again.sha256 == first.sha256
    assert state(city) == before

    # The bytes decide, not the name: a clerk uploading it for the bank counts the same.
    from ledger.bankfiles.imports import import_file

    renamed = import_file(
        city, bank="ICBC", kind="disbursement", path=FILES / "icbc_disbursement_gbk.csv",
        actor="clerk", file_name="放款明细-重发.csv", today=D(2026, 11, 30),
    )  # fmt: skip
    assert (renamed.status, renamed.duplicate_of, renamed.file_name) == (
        "duplicate", first.id, "放款明细-重发.csv",
    )  # fmt: skip
    assert state(city) == before
    verify_ok(city)


def test_the_same_bytes_under_another_kind_are_not_a_duplicate(city):
    first = do_import(city, "disbursement", "icbc_disbursement_gbk.csv")
    assert first.status == "accepted"
    before = state(city)
    other = do_import(city, "repayment", "icbc_disbursement_gbk.csv")
    # Checked as a repayment file, which it is not: rejected, not "already imported".
    assert (other.status, other.duplicate_of) == ("rejected", None)
    assert other.message == (
        "the header lacks required column(s): bank_ref (银行流水号), paid_on (还款日期), "
        "principal (归还本金), interest (归还利息), balance_after (本金余额)"
    )
    assert state(city) == before
