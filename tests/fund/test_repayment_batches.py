"""Repayments in batches (a bank file's rows): all lines checked first, every refusal
reported with its row and column, nothing written unless all pass, one exposure entry per
repayment date, duplicates skipped, reversals within the batch, running totals verified."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from ledger import migrate
from ledger.chain import drain_sealer
from ledger.fund import guarantees, loans
from ledger.fund.books import balance_now
from ledger.fund.borrowers import register_borrower
from ledger.fund.errors import (
    BalanceMismatchError,
    DuplicateReferenceError,
    RepaymentError,
    RowsRejectedError,
    StateError,
)
from ledger.fund.models import Loan, Repayment
from ledger.fund.repayments import RepaymentLine, apply_repayments
from ledger.models import JournalEntry, Posting
from ledger.verify import verify
from tests.fund.conftest import D, borrower_id, run

PRINCIPALS = {"ICBC-001": 10_000_000, "ICBC-002": 5_000_000, "ICBC-003": 3_000_000}
CONTRA = "memo:exposure-contra:ICBC"


@pytest.fixture
def three_loans(fund, borrower):
    """Three bullet loans at ICBC disbursed 2025-03-05, coverage 80%."""
    names = {1: "张三", 2: "李四", 3: "王五"}

    def setup(s):
        for serial in (2, 3):
            register_borrower(
                s,
                id_number=borrower_id(serial),
                name=names[serial],
                district="D01",
                categories=["registered_unemployed"],
                actor="clerk",
            )
        for serial, (contract, principal) in enumerate(PRINCIPALS.items(), 1):
            commitment = guarantees.approve_guarantee(
                s,
                id_number=borrower_id(serial),
                bank="ICBC",
                amount=principal,
                term_months=12,
                on=D(2025, 3, 1),
                actor="approver",
            )
            loans.disburse(
                s,
                bank="ICBC",
                contract_no=contract,
                guarantee_no=commitment.number,
                borrower_name=names[serial],
                id_number=borrower_id(serial),
                disbursed_on=D(2025, 3, 5),
                maturity_on=D(2026, 3, 5),
                principal=principal,
                annual_rate_ppm=45_000,
                method="bullet",
                actor="icbc",
            )

    run(fund, setup)
    return fund


def line(row, ref, contract, on, principal, interest=0, **kw):
    return RepaymentLine(ref, contract, on, principal, interest, row=row, **kw)


def apply(fund, lines):
    return run(
        fund,
        lambda s: apply_repayments(
            s, bank="ICBC", lines=lines, actor="icbc", today=D(2025, 12, 31)
        ),
    )


def loan_state(fund, contract):
    with fund() as s:
        loan = loans.get_loan(s, "ICBC", contract)
        exposure = balance_now(s, f"memo:exposure:ICBC:L{loan.id}")
        return loan.repaid_principal, loan.last_paid_on, loan.status, exposure


def entry_legs(fund, entry_id):
    with fund() as s:
        entry = s.get(JournalEntry, entry_id)
        codes = dict(s.execute(text("SELECT id, code FROM accounts")).tuples().all())
        legs = sorted((codes[p.account_id], p.side, p.amount) for p in entry.postings)
        return entry.effective_date, entry.kind, legs


def counts(fund):
    with fund() as s:
        return (
            s.scalar(select(func.count()).select_from(Repayment)),
            s.scalar(select(func.count()).select_from(JournalEntry)),
            s.scalar(select(func.count()).select_from(Posting)),
        )


FIRST = [
    line(2, "R1", "ICBC-001", D(2025, 6, 5), 1_000_000, 37_500, balance_after=9_000_000),
    line(3, "R2", "ICBC-002", D(2025, 6, 5), 1_234_567, balance_after=3_765_433),
    line(4, "R3", "ICBC-001", D(2025, 6, 20), 2_000_001, balance_after=6_999_999),
    line(5, "R1", "ICBC-001", D(2025, 6, 5), 1_000_000, 37_500, balance_after=9_000_000),
]


def test_a_batch_posts_one_exposure_entry_per_date_and_skips_a_repeated_row(three_loans):
    batch = apply(three_loans, FIRST)
    assert (batch.posted, batch.skipped) == (3, 1)
    assert [r.created for r in batch.results] == [True, True, True, False]
    assert batch.results[3].repayment_id == batch.results[0].repayment_id
    assert len(batch.entry_ids) == 2

    with three_loans() as s:
        ids = {loans.get_loan(s, "ICBC", c).id: c for c in PRINCIPALS}
    l1, l2 = (next(i for i, c in ids.items() if c == name) for name in ("ICBC-001", "ICBC-002"))
    # 2025-06-05: ICBC-001 80% × 100,000.00 → 80% × 90,000.00; ICBC-002 80% × 50,000.00 →
    # 80% × 37,654.33 = 30,123.464 → 30,123.46.
    assert entry_legs(three_loans, batch.entry_ids[0]) == (
        D(2025, 6, 5),
        "loan.repayment",
        sorted(
            [
                (CONTRA, "D", 800_000 + 987_654),
                (f"memo:exposure:ICBC:L{l1}", "C", 800_000),
                (f"memo:exposure:ICBC:L{l2}", "C", 987_654),
            ]
        ),
    )
    # 2025-06-20: ICBC-001 80% × 90,000.00 → 80% × 69,999.99 = 55,999.992 → 55,999.99.
    assert entry_legs(three_loans, batch.entry_ids[1]) == (
        D(2025, 6, 20),
        "loan.repayment",
        [(CONTRA, "D", 1_600_001), (f"memo:exposure:ICBC:L{l1}", "C", 1_600_001)],
    )
    assert loan_state(three_loans, "ICBC-001") == (3_000_001, D(2025, 6, 20), "active", 5_599_999)
    assert loan_state(three_loans, "ICBC-002") == (1_234_567, D(2025, 6, 5), "active", 3_012_346)
    assert loan_state(three_loans, "ICBC-003") == (0, None, "active", 2_400_000)

    # The whole batch again: every row skipped, nothing posted.
    before = counts(three_loans)
    again = apply(three_loans, FIRST)
    assert (again.posted, again.skipped, again.entry_ids) == (0, 4, ())
    assert counts(three_loans) == before


def test_every_bad_row_is_reported_and_nothing_is_written(three_loans):
    apply(three_loans, FIRST)
    before = counts(three_loans)
    bad = [
        line(2, "R4", "ICBC-999", D(2025, 7, 1), 100),
        line(3, "R5", "ICBC-002", D(2025, 7, 1), 3_765_434),
        line(4, "R1", "ICBC-001", D(2025, 6, 5), 1),
        line(5, "R6", "ICBC-001", D(2025, 7, 1), 100, balance_after=6_999_999),
        line(6, "X1", "ICBC-001", D(2025, 7, 1), None, None, reversal_of="NOPE"),
        line(7, "R7", "ICBC-003", D(2025, 7, 1), 500_000),
        line(8, "R8", "ICBC-003", D(2026, 1, 1), 1),
        line(9, "R9", "ICBC-003", D(2025, 7, 1), 1, id_number=borrower_id(1)),
    ]
    with pytest.raises(RowsRejectedError) as info:
        apply(three_loans, bad)
    errors = info.value.errors
    assert [(e.row, e.column, e.value, type(e.error)) for e in errors] == [
        (2, "contract_no", "ICBC-999", StateError),
        (3, "principal", "3765434", RepaymentError),
        (4, "bank_ref", "R1", DuplicateReferenceError),
        (5, "balance_after", "6999999", BalanceMismatchError),
        (6, "reversal_of", "NOPE", RepaymentError),
        (8, "paid_on", "2026-01-01", RepaymentError),
        (9, "id_number", borrower_id(1), RepaymentError),
    ]
    assert [e.message for e in errors] == [
        "bank ICBC has no loan with contract number ICBC-999",
        "loan ICBC-002: principal repaid 37,654.34 yuan is more than the 37,654.33 yuan "
        "outstanding",
        "bank reference R1 of ICBC was already used on 2025-06-05 with different content",
        "loan ICBC-001: the bank's balance after this repayment is 69,999.99 yuan but the "
        "fund's is 69,998.99 yuan",
        "bank ICBC has no repayment with reference NOPE to reverse",
        "repayment date 2026-01-01 is before the disbursement on 2025-03-05 or in the future",
        f"ID number {borrower_id(1)} is not the borrower of loan ICBC-003",
    ]
    assert errors[0].zh == "ICBC 没有合同号为 ICBC-999 的贷款"
    assert errors[3].zh == (
        "贷款 ICBC-001 还款后本金余额：银行为 69,999.99 元，基金为 69,998.99 元，不一致"
    )
    assert str(info.value) == (
        "7 row(s) refused; nothing was posted. Row 2, contract_no: bank ICBC has no loan "
        "with contract number ICBC-999 (and 6 more)"
    )
    assert counts(three_loans) == before
    assert loan_state(three_loans, "ICBC-003") == (0, None, "active", 2_400_000)


def test_reversal_in_the_same_batch_and_a_balance_through_an_earlier_date(three_loans):
    apply(three_loans, FIRST)
    batch = apply(
        three_loans,
        [
            line(2, "R8", "ICBC-002", D(2025, 7, 10), 765_433, 12_345, balance_after=3_000_000),
            line(
                3,
                "X1",
                "ICBC-002",
                D(2025, 7, 12),
                765_433,
                None,
                reversal_of="R8",
                balance_after=3_765_433,
            ),
            # Dated before ICBC-001's latest repayment (06-20): the balance then counts.
            line(4, "R9", "ICBC-001", D(2025, 6, 10), 1, balance_after=8_999_999),
        ],
    )
    assert (batch.posted, batch.skipped) == (3, 0)
    assert [entry_legs(three_loans, e)[0] for e in batch.entry_ids] == [
        D(2025, 6, 10),
        D(2025, 7, 10),
        D(2025, 7, 12),
    ]
    # ICBC-002: 80% × 37,654.33 = 30,123.46 → 80% × 30,000.00, and back again.
    assert entry_legs(three_loans, batch.entry_ids[1])[2][0] == (CONTRA, "D", 612_346)
    assert entry_legs(three_loans, batch.entry_ids[2])[2][0] == (CONTRA, "C", 612_346)
    assert loan_state(three_loans, "ICBC-002") == (1_234_567, D(2025, 6, 5), "active", 3_012_346)
    # ICBC-001: 69,999.98 outstanding → 55,999.984 → 55,999.98.
    assert loan_state(three_loans, "ICBC-001") == (3_000_002, D(2025, 6, 20), "active", 5_599_998)
    with three_loans() as s:
        # Interest repaid: R8's 123.45 reversed by X1; ICBC-001's R1 375.00.
        assert loans.get_loan(s, "ICBC", "ICBC-002").repaid_interest == 0
        assert loans.get_loan(s, "ICBC", "ICBC-001").repaid_interest == 37_500
        reversal = s.scalar(select(Repayment).where(Repayment.bank_ref == "X1"))
        original = s.scalar(select(Repayment).where(Repayment.bank_ref == "R8"))
        assert reversal.reversal_of_id == original.id
        assert (reversal.principal, reversal.paid_on) == (765_433, D(2025, 7, 12))
        assert verify(s).problems == []

    # A reversal that does not repeat the original's amounts is refused.
    with pytest.raises(RowsRejectedError) as info:
        apply(three_loans, [line(2, "X2", "ICBC-001", D(2025, 7, 1), 5, reversal_of="R9")])
    (error,) = info.value.errors
    assert (error.column, error.message) == (
        "principal",
        "a reversal repeats the amounts of repayment R9: principal 0.01 yuan, not 0.05",
    )


def test_repaid_in_full_within_a_batch_then_more_is_refused(three_loans):
    with pytest.raises(RowsRejectedError) as info:
        apply(
            three_loans,
            [
                line(2, "R1", "ICBC-003", D(2025, 6, 1), 3_000_000, balance_after=0),
                line(3, "R2", "ICBC-003", D(2025, 6, 2), 0, 100),
            ],
        )
    (error,) = info.value.errors
    assert (error.row, error.column, error.message) == (
        3,
        "contract_no",
        "loan ICBC-003 takes no repayment: it is repaid in full",
    )
    batch = apply(
        three_loans, [line(2, "R1", "ICBC-003", D(2025, 6, 1), 3_000_000, balance_after=0)]
    )
    assert batch.posted == 1
    assert loan_state(three_loans, "ICBC-003") == (3_000_000, D(2025, 6, 1), "repaid", 0)
    with three_loans() as s:
        assert loans.get_loan(s, "ICBC", "ICBC-003").repaid_on == D(2025, 6, 1)


def test_verify_catches_running_totals_that_disagree_with_the_repayments(three_loans):
    apply(three_loans, FIRST)

    def tamper(s):
        s.execute(
            text(
                "UPDATE loans SET repaid_principal = repaid_principal + 1 "
                "WHERE contract_no = 'ICBC-001'"
            )
        )

    run(three_loans, tamper)
    with three_loans() as s:
        assert verify(s).problems == [
            "loan ICBC/ICBC-001: its running totals say 30,000.02 yuan principal and "
            "375.00 yuan interest repaid, last on "
            "2025-06-20; its repayments say 30,000.01 and 375.00 yuan, last on 2025-06-20"
        ]
        loan = s.scalar(select(Loan).where(Loan.contract_no == "ICBC-001"))
        assert loan.repaid_principal == 3_000_002


def test_verify_catches_a_bank_exposure_that_is_not_its_loans(three_loans):
    from ledger.entries import EntryDraft, credit, debit, post_entry

    with three_loans() as s:
        loan_id = loans.get_loan(s, "ICBC", "ICBC-001").id
    # A raw entry, past the operations: one loan's exposure up against another memo account.
    draft = EntryDraft(
        D(2025, 6, 1),
        "manual",
        (
            debit(f"memo:exposure:ICBC:L{loan_id}", 100),
            credit("memo:counter-guarantees-contra:ICBC", 100),
        ),
    )
    run(three_loans, lambda s: post_entry(s, draft, actor="admin"))
    with three_loans() as s:
        problems = verify(s).problems
    assert (
        "bank ICBC: its loans' exposure adds up to 144,001.00 yuan but its exposure contra "
        "account holds 144,000.00 yuan"
    ) in problems


def test_a_date_with_more_loans_than_an_entry_holds_is_split(three_loans, monkeypatch):
    import ledger.fund.batches

    monkeypatch.setattr(ledger.fund.batches, "MAX_LEGS", 3)  # two loans and the contra leg
    batch = apply(
        three_loans,
        [
            line(2, "S1", "ICBC-001", D(2025, 6, 5), 1_000_000),
            line(3, "S2", "ICBC-002", D(2025, 6, 5), 1_000_000),
            line(4, "S3", "ICBC-003", D(2025, 6, 5), 1_000_000),
        ],
    )
    assert len(batch.entry_ids) == 2
    first, second = (entry_legs(three_loans, e) for e in batch.entry_ids)
    assert [leg[2] for leg in first[2]] == [1_600_000, 800_000, 800_000]
    assert [leg[2] for leg in second[2]] == [800_000, 800_000]
    with three_loans() as s:
        rows = s.scalars(select(Repayment).order_by(Repayment.bank_ref)).all()
        assert [r.entry_id for r in rows] == [batch.entry_ids[0]] * 2 + [batch.entry_ids[1]]
        assert verify(s).problems == []


def test_the_migration_fills_in_the_interest_repaid_from_the_effective_repayments(
    three_loans, engine
):
    apply(three_loans, FIRST)
    apply(
        three_loans,
        [
            line(2, "R8", "ICBC-002", D(2025, 7, 10), 1, 20_000),
            line(3, "R9", "ICBC-002", D(2025, 7, 11), 2, 30_000),
            line(4, "X1", "ICBC-002", D(2025, 7, 12), None, None, reversal_of="R8"),
        ],
    )
    assert drain_sealer(engine)
    try:
        migrate.downgrade(engine, "0019")
    finally:
        migrate.upgrade(engine)
    with three_loans() as s:
        got = {c: loans.get_loan(s, "ICBC", c).repaid_interest for c in PRINCIPALS}
        assert verify(s).problems == []
    # ICBC-001: R1's 375.00 (R1 repeated is one row); ICBC-002: R9's 300.00 (R8 reversed).
    assert got == {"ICBC-001": 37_500, "ICBC-002": 30_000, "ICBC-003": 0}
