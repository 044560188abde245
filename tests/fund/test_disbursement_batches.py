"""Disbursements in batches (a bank file's rows): every line checked first against its
commitment, the rules of its date and the leverage cap with the lines before it; every
refusal reported with its row and column; nothing written unless all pass; one exposure
entry per disbursement date; repeated contracts skipped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from ledger import chart
from ledger.fund import capital, guarantees
from ledger.fund.books import balance_now
from ledger.fund.borrowers import register_borrower
from ledger.fund.disbursements import DisbursementLine, apply_disbursements
from ledger.fund.errors import (
    CommitmentError,
    DuplicateReferenceError,
    LeverageCapError,
    LimitError,
    RowsRejectedError,
    StateError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import Commitment, Loan
from ledger.models import JournalEntry
from ledger.verify import verify
from tests.fund.conftest import D, borrower_id, run

PRINCIPAL = 20_000_000  # 200,000 yuan: exposure 80% = 160,000 yuan
#: ABC keeps 100,000 yuan after a withdrawal: cap 5 × 100,000 = 500,000 yuan.
SPECIAL = 10_000_000
NAMES = [f"借款人{n}" for n in range(6)]


@pytest.fixture
def commitments(fund):
    """Six approved commitments at ABC (200,000 yuan, 12 months, approved 2025-03-01)
    and one at ICBC; ABC's special account cut to 100,000 yuan."""

    def setup(s):
        capital.withdraw_capital(s, "ABC", 100_000_000 - SPECIAL, D(2025, 2, 1), actor="clerk")
        numbers = []
        for n in range(7):
            number = borrower_id(70 + n)
            register_borrower(
                s, id_number=number, name=f"借款人{n}", district="D02",
                categories=["graduate"], actor="clerk",
            )  # fmt: skip
            c = guarantees.approve_guarantee(
                s, id_number=number, bank="ABC" if n < 6 else "ICBC", amount=PRINCIPAL,
                term_months=12, on=D(2025, 3, 1), actor="approver",
                counter_guarantees=(CounterGuaranteeSpec("credit_community"),),
            )  # fmt: skip
            numbers.append((number, c.number))
        return numbers

    return fund, run(fund, setup)


def line(row, n, numbers, contract=None, **kw):
    number, guarantee_no = numbers[n]
    args = {
        "contract_no": contract or f"ABC-{n:03d}",
        "guarantee_no": guarantee_no,
        "borrower_name": f"借款人{n}",
        "id_number": number,
        "disbursed_on": D(2025, 3, 5),
        "maturity_on": D(2026, 3, 5),
        "principal": PRINCIPAL,
        "annual_rate_ppm": 45_000,
        "repayment_method": "bullet",
        "row": row,
    }
    args.update(kw)
    return DisbursementLine(**args)


def apply(fund, lines):
    return run(
        fund,
        lambda s: apply_disbursements(
            s, bank="ABC", lines=lines, actor="abc", today=D(2025, 12, 31)
        ),
    )


def counts(fund):
    with fund() as s:
        return (
            s.scalar(select(func.count()).select_from(Loan)),
            s.scalar(select(func.count()).select_from(JournalEntry)),
        )


def test_a_batch_posts_one_entry_per_date_and_skips_repeated_contracts(commitments):
    fund, numbers = commitments
    lines = [
        line(2, 0, numbers),
        line(3, 1, numbers, disbursed_on=D(2025, 3, 6), repayment_method="annuity"),
        line(4, 2, numbers, principal=12_345_678),
        line(5, 0, numbers),  # the same row twice in the file
    ]
    batch = apply(fund, lines)
    assert (batch.posted, batch.skipped) == (3, 1)
    assert batch.results[3].loan_id == batch.results[0].loan_id
    assert len(batch.entry_ids) == 2
    with fund() as s:
        loans = {ln.contract_no: ln for ln in s.scalars(select(Loan))}
        assert sorted(loans) == ["ABC-000", "ABC-001", "ABC-002"]
        a0, a1, a2 = loans["ABC-000"], loans["ABC-001"], loans["ABC-002"]
        assert (a1.method, a1.disbursed_on, a1.coverage_ppm) == ("annuity", D(2025, 3, 6), 800_000)
        assert (a0.entry_id, a2.entry_id) == (batch.entry_ids[0],) * 2
        assert a1.entry_id == batch.entry_ids[1]
        # 80% × 123,456.78 = 98,765.424 → 98,765.42
        assert balance_now(s, f"memo:exposure:ABC:L{a2.id}") == 9_876_542
        assert balance_now(s, f"memo:exposure:ABC:L{a0.id}") == 16_000_000
        assert balance_now(s, chart.exposure_contra_account("ABC")) == 41_876_542
        assert balance_now(s, f"asset:receivable:L{a2.id}") == 0
        statuses = [s.scalar(select(Commitment.status).where(Commitment.number == numbers[n][1]))
                    for n in range(4)]  # fmt: skip
        assert statuses == ["used", "used", "used", "approved"]
        entry = s.get(JournalEntry, batch.entry_ids[0])
        assert (entry.effective_date, entry.kind, len(entry.postings)) == (
            D(2025, 3, 5),
            "loan.disbursement",
            3,
        )
        assert (
            entry.description == "ABC 放款 2025-03-05 2 笔（合同 ABC-000 等），本金 323,456.78 元"
        )
        assert verify(s).problems == []

    before = counts(fund)
    again = apply(fund, lines)
    assert (again.posted, again.skipped, again.entry_ids) == (0, 4, ())
    assert counts(fund) == before


def test_every_bad_row_is_reported_and_nothing_is_written(commitments):
    fund, numbers = commitments
    apply(fund, [line(2, 0, numbers)])
    before = counts(fund)
    bad = [
        line(2, 0, numbers, principal=PRINCIPAL - 1),  # ABC-000 again, other content
        line(3, 1, numbers, guarantee_no="G2025-ABC-99999"),
        line(4, 6, numbers, contract="ABC-006"),  # an ICBC commitment
        line(5, 1, numbers, borrower_name="李四"),
        line(6, 2, numbers, id_number=borrower_id(1)),
        line(7, 3, numbers, principal=PRINCIPAL + 1),
        line(8, 4, numbers, annual_rate_ppm=100_000),
        line(9, 5, numbers, maturity_on=D(2026, 3, 6)),
        line(10, 1, numbers, repayment_method="monthly"),
        line(11, 1, numbers, contract="ABC-011", disbursed_on=D(2026, 1, 1)),
        line(12, 0, numbers, contract="ABC-012"),  # commitment used by ABC-000
    ]
    with pytest.raises(RowsRejectedError) as info:
        apply(fund, bad)
    errors = info.value.errors
    g = [c for _, c in numbers]
    assert [(e.row, e.column, type(e.error), e.message) for e in errors] == [
        (2, "contract_no", DuplicateReferenceError,
         "contract ABC-000 of bank ABC was already disbursed with different content"),
        (3, "guarantee_no", StateError, "no commitment G2025-ABC-99999"),
        (4, "guarantee_no", CommitmentError,
         f"commitment {g[6]} was approved for bank ICBC, not ABC"),
        (5, "borrower_name", CommitmentError,
         f"borrower name 李四 does not match commitment {g[1]} (借款人1)"),
        (6, "id_number", CommitmentError,
         f"ID number {borrower_id(1)} is not the borrower of commitment {g[2]}"),
        (7, "principal", CommitmentError,
         f"principal 200,000.01 yuan is over the 200,000.00 yuan approved by commitment {g[3]}"),
        (8, "annual_rate", LimitError,
         "annual rate 10.00% is over the cap of 6.10% in force on 2025-03-05"),
        (9, "maturity_on", LimitError,
         "maturity 2026-03-06 is more than 12 months after disbursement (2025-03-05); the "
         "commitment and the rules allow up to 2026-03-05"),
        (10, "repayment_method", LimitError,
         "repayment method 'monthly' is not one of bullet, interest_only, annuity, "
         "equal_principal"),
        (11, "disbursed_on", CommitmentError, "disbursement date 2026-01-01 is in the future"),
        (12, "guarantee_no", CommitmentError,
         f"commitment {g[0]} is not available: used by loan ABC-000"),
    ]  # fmt: skip
    assert errors[3].zh == f"借款人姓名 李四 与担保承诺 {g[1]} 不符"
    assert errors[3].value == "李四"
    assert counts(fund) == before


def test_the_leverage_cap_counts_the_lines_before_it(commitments):
    fund, numbers = commitments
    # Cap 500,000 yuan; each loan adds 160,000: three fit (480,000), the fourth does not.
    with pytest.raises(RowsRejectedError) as info:
        apply(fund, [line(n + 2, n, numbers) for n in range(5)])
    assert [(e.row, e.column) for e in info.value.errors] == [(5, "principal"), (6, "principal")]
    error = info.value.errors[0].error
    assert type(error) is LeverageCapError
    assert (error.cap, error.exposure, error.shortfall) == (50_000_000, 48_000_000, 14_000_000)
    assert str(error) == (
        "bank ABC: guarantee exposure would be 640,000.00 yuan, over the leverage cap of "
        "500,000.00 yuan (5 × special account 100,000.00 yuan; exposure now 480,000.00 yuan); "
        "short by 140,000.00 yuan"
    )
    assert counts(fund)[0] == 0
    # Without the last two the batch goes through, and the cap is then nearly full.
    batch = apply(fund, [line(n + 2, n, numbers) for n in range(3)])
    assert batch.posted == 3
    with fund() as s:
        assert balance_now(s, chart.exposure_contra_account("ABC")) == 48_000_000
        assert (
            s.execute(text("SELECT count(*) FROM commitments WHERE status = 'used'")).scalar() == 3
        )
