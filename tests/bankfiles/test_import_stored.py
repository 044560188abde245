"""Balance files (贷款余额表) and special-account statements (专户对账单): stored for
reconciliation, nothing posted. Unknown contracts are kept (they are reconciliation
breaks, not errors); a future date is an error; an identical row sent again is skipped
and a different one for the same key is an error; a statement's running balance must
follow line to line."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import ledger.bankfiles.imports as imports_module
from ledger.bankfiles.models import BankBalanceLine, BankStatementLine
from tests.bankfiles.conftest import do_import, messages, problems, state, verify_ok
from tests.fund.conftest import D


@pytest.fixture(params=[False, True], ids=["whole", "chunks-of-3"])
def chunked(request, monkeypatch):
    if request.param:
        monkeypatch.setattr(imports_module, "CHUNK_LINES", 3)
        monkeypatch.setattr(imports_module, "SPILL_ROWS", 4)
    return request.param


def balance_lines(factory) -> list[tuple]:
    with factory() as s:
        return s.execute(
            select(
                BankBalanceLine.import_id, BankBalanceLine.bank_code, BankBalanceLine.row,
                BankBalanceLine.as_of, BankBalanceLine.contract_no,
                BankBalanceLine.principal_outstanding, BankBalanceLine.overdue_principal,
                BankBalanceLine.days_overdue,
            ).order_by(BankBalanceLine.id)
        ).all()  # fmt: skip


def statement_lines(factory) -> list[tuple]:
    with factory() as s:
        return s.execute(
            select(
                BankStatementLine.import_id, BankStatementLine.row, BankStatementLine.booked_on,
                BankStatementLine.bank_ref, BankStatementLine.direction, BankStatementLine.amount,
                BankStatementLine.balance, BankStatementLine.counterparty, BankStatementLine.memo,
            ).order_by(BankStatementLine.id)
        ).all()  # fmt: skip


def test_balances_are_stored_unknown_contracts_included_and_nothing_posted(city):
    before = state(city)
    receipt = do_import(city, "balances", "icbc_balances_0630.csv")
    assert (receipt.status, receipt.kind, receipt.encoding) == ("accepted", "balances", "utf-8")
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.errors) == (4, 4, 0, 0)
    assert receipt.entry_ids == ()
    assert receipt.totals == {"principal_outstanding": 21_734_568, "overdue_principal": 500_000}
    i = receipt.id
    assert balance_lines(city) == [
        (i, "ICBC", 2, D(2025, 6, 30), "GH2025-0001", 9_000_000, 0, 0),
        (i, "ICBC", 3, D(2025, 6, 30), "GH2025-0002", 7_000_001, None, None),
        # ４５，０００．００ and ３５ in full-width digits.
        (i, "ICBC", 4, D(2025, 6, 30), "GH2025-0003", 4_500_000, 500_000, 35),
        # Not a loan of the fund: kept, to become a reconciliation break.
        (i, "ICBC", 5, D(2025, 6, 30), "GH2024-0999", 1_234_567, None, None),
    ]
    after = state(city)
    assert after["balance_lines"] == 4
    assert {k: v for k, v in after.items() if k != "balance_lines"} == {
        k: v for k, v in before.items() if k != "balance_lines"
    }
    verify_ok(city)


def test_balances_sent_again_skip_repeats_and_refuse_contradictions(city, chunked):
    first = do_import(city, "balances", "icbc_balances_0630.csv")
    stored = balance_lines(city)
    receipt = do_import(city, "balances", "icbc_balances_resend.csv")
    assert receipt.status == "rejected"
    assert (receipt.rows, receipt.posted, receipt.error_rows, receipt.errors) == (5, 0, 3, 3)
    assert problems(city, receipt) == [
        (3, "contract_no", "GH2025-0002", "duplicate-reference"),
        (4, "as_of", "2026-12-31", "invalid-value"),
        (6, "contract_no", "GH2025-0001", "duplicate-reference"),
    ]
    said = messages(city, receipt)
    assert said[(3, "contract_no")] == (
        "bank ICBC already reported a different balance of loan GH2025-0002 on 2025-06-30, "
        f"in import {first.id} (row 3)",
        f"ICBC 已在第 {first.id} 号导入（第 3 行）报送过贷款 GH2025-0002 在 2025-06-30 的余额，"
        "且内容不同",
    )
    assert said[(4, "as_of")] == (
        "as_of 2026-12-31 is in the future (today is 2026-11-30)",
        "余额日期 2026-12-31 晚于今天（2026-11-30）",
    )
    assert said[(6, "contract_no")][0] == (
        "bank ICBC already reported a different balance of loan GH2025-0001 on 2025-07-31, "
        "in row 5 of this file"
    )
    assert balance_lines(city) == stored  # row 5 (a new month) was not kept either

    # A repeat of 06-30 (skipped), a new month, and that month again (skipped).
    ok = do_import(city, "balances", "icbc_balances_0731.csv")
    assert ok.status == "accepted"
    assert (ok.rows, ok.posted, ok.skipped, ok.errors) == (3, 1, 2, 0)
    assert balance_lines(city) == [
        *stored,
        (ok.id, "ICBC", 3, D(2025, 7, 31), "GH2025-0001", 8_900_000, None, None),
    ]


def test_a_statement_is_stored_with_its_directions(city):
    before = state(city)
    receipt = do_import(city, "statement", "icbc_statement_0630_gbk.csv")
    assert (receipt.status, receipt.encoding) == ("accepted", "gb18030")
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.errors) == (5, 5, 0, 0)
    assert receipt.totals == {"amount": 300_550_000, "balance": 1_500_525_000}
    assert receipt.entry_ids == ()
    i = receipt.id
    assert statement_lines(city) == [
        (i, 2, D(2025, 6, 1), "ST-0001", "C", 300_000_000, 300_000_000, "某市财政局",
         "担保基金存入"),
        (i, 3, D(2025, 6, 21), "ST-0002", "C", 225_000, 300_225_000, None, "利息"),
        (i, 4, D(2025, 6, 25), "ST-0003", "D", 100_000, 300_125_000, "工商银行", "手续费"),
        (i, 5, D(2025, 6, 28), "ST-0004", "C", 50_000, 300_175_000, "张伟", "退款"),
        (i, 6, D(2025, 6, 30), "ST-0005", "D", 175_000, 300_000_000, "某市财政局", "调回"),
    ]  # fmt: skip
    after = state(city)
    assert after["statement_lines"] == 5
    assert after["entries"] == before["entries"]
    assert after["trial_balance"] == before["trial_balance"]


def test_a_broken_running_balance_and_a_reused_reference_reject_the_statement(city, chunked):
    first = do_import(city, "statement", "icbc_statement_0630_gbk.csv")
    stored = statement_lines(city)
    receipt = do_import(city, "statement", "icbc_statement_broken.csv")
    assert receipt.status == "rejected"
    assert (receipt.rows, receipt.posted, receipt.error_rows, receipt.errors) == (5, 0, 3, 3)
    assert problems(city, receipt) == [
        (3, "balance", "3,000,000.00", "repayment"),
        (5, "bank_ref", "ST-0003", "duplicate-reference"),
        (6, "direction", "X", "invalid-value"),
    ]
    said = messages(city, receipt)
    assert said[(3, "balance")] == (
        "running balance 3,000,000.00 does not follow from row 2: 3,000,100.00 minus 50.00 "
        "is 3,000,050.00",
        "余额 3,000,000.00 与上一行（第 2 行）不连续：3,000,100.00 减 50.00 应为 3,000,050.00",
    )
    assert said[(5, "bank_ref")][0] == (
        f"bank reference ST-0003 was already used by a different statement line, in import "
        f"{first.id} (row 4)"
    )
    assert said[(6, "direction")][0] == "direction 'X' is not 借/D (money out) or 贷/C (money in)"
    assert statement_lines(city) == stored

    # Lines sent again are skipped; the new ones continue the balance.
    ok = do_import(city, "statement", "icbc_statement_0731.csv")
    assert ok.status == "accepted"
    assert (ok.rows, ok.posted, ok.skipped, ok.errors) == (4, 2, 2, 0)
    assert statement_lines(city) == [
        *stored,
        (ok.id, 4, D(2025, 7, 1), "ST-0006", "C", 10_000, 300_010_000, None, None),
        (ok.id, 5, D(2025, 7, 21), "ST-0010", "C", 230_010, 300_240_010, None, "利息"),
    ]
