"""Loans: disbursement against a commitment, repayments, reversals, ageing, extension."""

from __future__ import annotations

from sqlalchemy import select

from ledger.fund import guarantees, loans
from ledger.fund.books import balance_now, share
from ledger.fund.errors import (
    BalanceMismatchError,
    CommitmentError,
    DuplicateReferenceError,
    ExtensionError,
    LimitError,
    RepaymentError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import Loan
from ledger.fund.schedule import Installment
from tests.fund.conftest import D, borrower_id, refused, run

G1 = "G2025-ICBC-00001"
APPROVED = D(2025, 3, 1)
CG_MEMO = "memo:counter-guarantees:ICBC"


def approve(fund, number, amount=10_000_000, *, term=12, on=APPROVED, cgs=()):
    return run(
        fund,
        lambda s: (
            guarantees.approve_guarantee(
                s,
                id_number=number,
                bank="ICBC",
                amount=amount,
                term_months=term,
                on=on,
                actor="approver",
                counter_guarantees=cgs,
            ).number
        ),
    )


def disburse(fund, number, **kw):
    args = {
        "bank": "ICBC",
        "contract_no": "ICBC-001",
        "guarantee_no": G1,
        "borrower_name": "张三",
        "id_number": number,
        "disbursed_on": D(2025, 3, 5),
        "maturity_on": D(2026, 3, 5),
        "principal": 10_000_000,
        "annual_rate_ppm": 45_000,
        "method": "bullet",
        "actor": "icbc",
    }
    args.update(kw)
    return run(fund, lambda s: loans.disburse(s, **args))


def repay(fund, ref, on, principal, interest=0, contract="ICBC-001", **kw):
    return run(
        fund,
        lambda s: loans.repay(
            s,
            bank="ICBC",
            bank_ref=ref,
            contract_no=contract,
            paid_on=on,
            principal=principal,
            interest=interest,
            actor="icbc",
            **kw,
        ),
    )


def reverse(fund, ref, of, on):
    return run(
        fund,
        lambda s: loans.reverse_repayment(
            s, bank="ICBC", bank_ref=ref, reversal_of=of, on=on, actor="icbc"
        ),
    )


def exposure(fund, loan_id):
    with fund() as s:
        return balance_now(s, f"memo:exposure:ICBC:L{loan_id}")


def status(fund, contract="ICBC-001"):
    with fund() as s:
        loan = loans.get_loan(s, "ICBC", contract)
        return loan.status, loan.repaid_on


# ----------------------------------------------------------------------- disbursement


def test_disbursement_must_match_the_commitment(fund, borrower):
    approve(fund, borrower)
    e = refused(CommitmentError, disburse, fund, borrower, bank="ABC", actor="abc")
    assert e.code == "commitment"
    assert str(e) == f"commitment {G1} was approved for bank ICBC, not ABC"
    assert e.zh == f"担保承诺 {G1} 属于 ICBC，不属于 ABC"

    e = refused(CommitmentError, disburse, fund, borrower, borrower_name="李四")
    assert str(e) == f"borrower name 李四 does not match commitment {G1} (张三)"

    other = borrower_id(2)
    e = refused(CommitmentError, disburse, fund, borrower, id_number=other)
    assert str(e) == f"ID number {other} is not the borrower of commitment {G1}"

    e = refused(CommitmentError, disburse, fund, borrower, principal=10_000_001)
    assert str(e) == (
        f"principal 100,000.01 yuan is over the 100,000.00 yuan approved by commitment {G1}"
    )

    e = refused(CommitmentError, disburse, fund, borrower, disbursed_on=D(2025, 2, 28))
    assert str(e) == (
        f"disbursement date 2025-02-28 is before commitment {G1} was approved on 2025-03-01"
    )
    e = refused(
        CommitmentError,
        disburse,
        fund,
        borrower,
        disbursed_on=D(2025, 3, 5),
        maturity_on=D(2025, 9, 5),
        today=D(2025, 3, 4),
    )
    assert str(e) == "disbursement date 2025-03-05 is in the future"

    # 12 months from 2025-03-05 is 2026-03-05; a day later is refused.
    e = refused(LimitError, disburse, fund, borrower, maturity_on=D(2026, 3, 6))
    assert e.code == "over-limit"
    assert str(e) == (
        "maturity 2026-03-06 is more than 12 months after disbursement (2025-03-05); "
        "the commitment and the rules allow up to 2026-03-05"
    )
    # Rate cap 2025-03-05: LPR 3.10 % + 300bp = 6.10 %; from 2025-05-20 LPR 3.00 % → 6 %.
    e = refused(LimitError, disburse, fund, borrower, annual_rate_ppm=61_001)
    assert str(e) == "annual rate 6.1001% is over the cap of 6.10% in force on 2025-03-05"
    assert e.zh == "年利率 6.1001% 超过 2025-03-05 适用的利率上限 6.10%"
    e = refused(
        LimitError,
        disburse,
        fund,
        borrower,
        disbursed_on=D(2025, 6, 1),
        maturity_on=D(2026, 3, 1),
        annual_rate_ppm=60_001,
    )
    assert str(e) == "annual rate 6.0001% is over the cap of 6.00% in force on 2025-06-01"

    with fund() as s:  # nothing was booked by the refusals
        assert s.scalar(select(Loan.id)) is None
        assert guarantees.get_commitment(s, G1).status == "approved"

    # At the cap exactly it is accepted.
    d = disburse(fund, borrower, annual_rate_ppm=61_000)
    assert d.created
    e = refused(CommitmentError, disburse, fund, borrower, contract_no="ICBC-002")
    assert str(e) == f"commitment {G1} is not available: used by loan ICBC-001"
    assert e.zh == f"担保承诺 {G1} 不可用：已被贷款 ICBC-001 使用"


def test_cancelled_commitment_cannot_be_used(fund, borrower):
    approve(fund, borrower)
    run(
        fund,
        lambda s: guarantees.cancel_commitment(s, G1, "借款人放弃", D(2025, 3, 3), actor="clerk"),
    )
    e = refused(CommitmentError, disburse, fund, borrower)
    assert str(e) == f"commitment {G1} is not available: cancelled"
    assert e.zh == f"担保承诺 {G1} 不可用：已撤销"


def test_exposure_is_coverage_times_principal_half_up(fund, borrower):
    approve(fund, borrower)
    # 33,333.33 yuan × 80 % = 26,666.664 yuan → 26,666.66
    d = disburse(fund, borrower, principal=3_333_333)
    assert d.created
    assert exposure(fund, d.loan.id) == 2_666_666
    # The same contract with identical content: the same loan, nothing posted again.
    again = disburse(fund, borrower, principal=3_333_333)
    assert (again.created, again.loan.id) == (False, d.loan.id)
    assert exposure(fund, d.loan.id) == 2_666_666
    e = refused(DuplicateReferenceError, disburse, fund, borrower, principal=3_333_334)
    assert e.code == "duplicate-reference"
    assert str(e) == ("contract ICBC-001 of bank ICBC was already disbursed with different content")
    e = refused(DuplicateReferenceError, disburse, fund, borrower, maturity_on=D(2026, 3, 4))
    assert exposure(fund, d.loan.id) == 2_666_666


# ------------------------------------------------------------------------- repayments


def test_partial_repayments_bring_exposure_to_exactly_zero(fund, borrower):
    approve(fund, borrower)
    loan_id = disburse(fund, borrower, principal=3_333_333).loan.id
    # outstanding → exposure (80 %, half up)
    steps = [
        ("R1", D(2025, 4, 5), 1_111_111, 2_222_222, 1_777_778),  # 1,777,777.6
        ("R2", D(2025, 5, 5), 1_000_001, 1_222_221, 977_777),  # 977,776.8
        ("R3", D(2025, 6, 5), 1_222_220, 1, 1),  # 0.8 → 1 fen
    ]
    for ref, on, principal, outstanding, expected in steps:
        r = repay(fund, ref, on, principal, 1_234, balance_after=outstanding)
        assert r.created
        assert exposure(fund, loan_id) == expected == share(outstanding, 800_000)
        assert status(fund) == ("active", None)
    # The same bank reference again with the same content: nothing new.
    assert not repay(fund, "R3", D(2025, 6, 5), 1_222_220, 1_234).created
    e = refused(DuplicateReferenceError, repay, fund, "R3", D(2025, 6, 5), 1_222_219, 1_234)
    assert str(e) == (
        "bank reference R3 of ICBC was already used on 2025-06-05 with different content"
    )
    # Over-repayment names the exact outstanding.
    e = refused(RepaymentError, repay, fund, "R4", D(2025, 7, 5), 2)
    assert e.code == "repayment"
    assert str(e) == (
        "loan ICBC-001: principal repaid 0.02 yuan is more than the 0.01 yuan outstanding"
    )
    repay(fund, "R4", D(2025, 7, 5), 1, 0, balance_after=0)
    assert exposure(fund, loan_id) == 0
    assert status(fund) == ("repaid", D(2025, 7, 5))
    e = refused(RepaymentError, repay, fund, "R5", D(2025, 7, 6), 0, 100)
    assert str(e) == "loan ICBC-001 takes no repayment: it is repaid in full"


def test_repayment_cross_checks(fund, borrower):
    approve(fund, borrower)
    disburse(fund, borrower)
    repay(fund, "R1", D(2025, 4, 5), 1_000_000)
    e = refused(
        BalanceMismatchError, repay, fund, "R2", D(2025, 5, 5), 12_345, balance_after=8_990_000
    )
    assert e.code == "balance-mismatch"
    assert isinstance(e, RepaymentError)
    assert str(e) == (
        "loan ICBC-001: the bank's balance after this repayment is 89,900.00 yuan "
        "but the fund's is 89,876.55 yuan"
    )
    assert e.zh == (
        "贷款 ICBC-001 还款后本金余额：银行为 89,900.00 元，基金为 89,876.55 元，不一致"
    )
    other = borrower_id(7)
    e = refused(RepaymentError, repay, fund, "R2", D(2025, 5, 5), 12_345, id_number=other)
    assert str(e) == f"ID number {other} is not the borrower of loan ICBC-001"
    e = refused(RepaymentError, repay, fund, "R2", D(2025, 3, 4), 12_345)
    assert str(e) == (
        "repayment date 2025-03-04 is before the disbursement on 2025-03-05 or in the future"
    )
    e = refused(RepaymentError, repay, fund, "R2", D(2025, 7, 1), 12_345, today=D(2025, 6, 30))
    assert str(e) == (
        "repayment date 2025-07-01 is before the disbursement on 2025-03-05 or in the future"
    )
    # On "today" itself it is accepted, with the borrower's own ID number.
    r = repay(
        fund, "R2", D(2025, 6, 30), 12_345, today=D(2025, 6, 30), id_number=borrower,
        balance_after=8_987_655,
    )  # fmt: skip
    assert r.created
    with fund() as s:
        assert loans.repaid_principal(s, loans.get_loan(s, "ICBC", "ICBC-001").id) == 1_012_345


def test_reversal_restores_exposure_and_reopens_a_repaid_loan(fund, borrower):
    mortgage = CounterGuaranteeSpec("mortgage", 12_000_000, description="住房抵押 房产证001号")
    approve(fund, borrower, cgs=(mortgage,))
    loan_id = disburse(fund, borrower).loan.id
    with fund() as s:
        assert balance_now(s, CG_MEMO) == 12_000_000
    repay(fund, "R1", D(2025, 6, 5), 4_000_000)
    repay(fund, "R2", D(2025, 9, 5), 6_000_000)
    assert status(fund) == ("repaid", D(2025, 9, 5))
    assert exposure(fund, loan_id) == 0
    with fund() as s:
        assert balance_now(s, CG_MEMO) == 0

    r = reverse(fund, "REV2", "R2", D(2025, 9, 8))
    assert r.created and r.repayment.reversal_of_id is not None
    assert status(fund) == ("active", None)
    assert exposure(fund, loan_id) == 4_800_000  # 80 % × 60,000.00 yuan
    with fund() as s:
        assert balance_now(s, CG_MEMO) == 12_000_000  # the mortgage is held again
        assert loans.repaid_principal(s, loan_id) == 4_000_000

    # The same reversal again is idempotent; a second reversal of R2 is refused.
    assert not reverse(fund, "REV2", "R2", D(2025, 9, 8)).created
    e = refused(RepaymentError, reverse, fund, "REV3", "R2", D(2025, 9, 9))
    assert str(e) == "repayment R2 was already reversed by REV2"
    e = refused(RepaymentError, reverse, fund, "REV3", "NOPE", D(2025, 9, 9))
    assert str(e) == "bank ICBC has no repayment with reference NOPE to reverse"
    e = refused(RepaymentError, reverse, fund, "REV3", "REV2", D(2025, 9, 9))
    assert str(e) == "bank ICBC has no repayment with reference REV2 to reverse"

    # Repaid again, and re-opened again: the mortgage is held once, not twice.
    repay(fund, "R3", D(2025, 9, 10), 6_000_000, balance_after=0)
    assert status(fund) == ("repaid", D(2025, 9, 10))
    with fund() as s:
        assert balance_now(s, CG_MEMO) == 0
    reverse(fund, "REV4", "R3", D(2025, 9, 12))
    assert exposure(fund, loan_id) == 4_800_000
    with fund() as s:
        assert balance_now(s, CG_MEMO) == 12_000_000
        payments = loans.loan_payments(s, loan_id)  # reversed repayments no longer count
        assert [(p.paid_on, p.principal) for p in payments] == [(D(2025, 6, 5), 4_000_000)]


def test_reversal_of_an_earlier_repayment_keeps_exposure_exact(fund, borrower):
    approve(fund, borrower)
    loan_id = disburse(fund, borrower, principal=3_333_333).loan.id
    repay(fund, "R1", D(2025, 4, 5), 1_111_111)  # exposure 1,777,778
    repay(fund, "R2", D(2025, 5, 5), 1_000_001)  # exposure 977,777
    reverse(fund, "REV1", "R1", D(2025, 5, 6))
    # Outstanding 3,333,333 − 1,000,001 = 2,333,332 → 80 % = 1,866,665.6 → 1,866,666.
    assert exposure(fund, loan_id) == 1_866_666 == share(2_333_332, 800_000)
    repay(fund, "R3", D(2025, 6, 5), 2_333_332, balance_after=0)
    assert exposure(fund, loan_id) == 0


# ----------------------------------------------------------------------------- ageing


def test_overdue_ageing_buckets(fund, borrower):
    approve(fund, borrower)
    d = disburse(fund, borrower, method="interest_only")
    with fund() as s:
        first = loans.loan_schedule(d.loan)[0]
    # Interest only, monthly from 2025-04-05; 100,000 yuan × 4.5 % × 31 / 360 = 387.50 yuan.
    assert first == Installment(1, D(2025, 4, 5), 0, 38_750)
    expected = [
        (D(2025, 4, 5), 0, "current"),
        (D(2025, 4, 6), 1, "1-30"),
        (D(2025, 5, 5), 30, "1-30"),
        (D(2025, 5, 6), 31, "31-90"),
        (D(2025, 7, 4), 90, "31-90"),
        (D(2025, 7, 5), 91, "91-180"),
        (D(2025, 10, 2), 180, "91-180"),
        (D(2025, 10, 3), 181, ">180"),
    ]
    with fund() as s:
        loan = loans.get_loan(s, "ICBC", "ICBC-001")
        got = [(on, *_age(loans.loan_position(s, loan, on))) for on, _, _ in expected]
    assert got == expected
    # The first interest paid late on 2025-04-20: current again until 2025-05-05.
    repay(fund, "I1", D(2025, 4, 20), 0, 38_750)
    with fund() as s:
        loan = loans.get_loan(s, "ICBC", "ICBC-001")
        assert _age(loans.loan_position(s, loan, D(2025, 4, 19))) == (14, "1-30")
        assert _age(loans.loan_position(s, loan, D(2025, 4, 20))) == (0, "current")
        pos = loans.loan_position(s, loan, D(2025, 5, 20))
    assert (pos.days_overdue, pos.bucket, pos.first_unpaid_due_on) == (
        15,
        "1-30",
        D(2025, 5, 5),
    )
    assert (pos.overdue_principal, pos.overdue_interest) == (0, 37_500)  # 30 days' interest


def _age(pos):
    return pos.days_overdue, pos.bucket


# -------------------------------------------------------------------------- extension


def extend(fund, new, on, contract="ICBC-001", actor="approver"):
    return run(
        fund,
        lambda s: loans.extend_loan(
            s, bank="ICBC", contract_no=contract, new_maturity=new, on=on, actor=actor
        ),
    )


def test_extension_once_within_the_rules(fund, borrower):
    approve(fund, borrower)
    disburse(fund, borrower)  # bullet 100,000 yuan, 2025-03-05 → 2026-03-05, 4.5 %
    e = refused(ExtensionError, extend, fund, D(2027, 3, 6), D(2025, 12, 1))
    assert e.code == "extension"
    assert str(e) == (
        "the new maturity 2027-03-06 must be after 2026-03-05 and no later than 2027-03-05 "
        "(12 months after the contract's maturity)"
    )
    e = refused(ExtensionError, extend, fund, D(2026, 3, 5), D(2025, 12, 1))
    assert str(e).startswith("the new maturity 2026-03-05 must be after 2026-03-05")
    ext = extend(fund, D(2026, 9, 5), D(2025, 12, 1))
    assert (ext.old_maturity, ext.new_maturity, ext.extended_on) == (
        D(2026, 3, 5),
        D(2026, 9, 5),
        D(2025, 12, 1),
    )
    with fund() as s:
        loan = loans.get_loan(s, "ICBC", "ICBC-001")
        assert (loan.maturity_on, loan.extended_to) == (D(2026, 3, 5), D(2026, 9, 5))
        # Bullet over 549 days: 100,000 × 4.5 % × 549 / 360 = 6,862.50 yuan.
        assert loans.loan_schedule(loan) == (Installment(1, D(2026, 9, 5), 10_000_000, 686_250),)
        # Not overdue on the old maturity any more.
        assert loans.loan_position(s, loan, D(2026, 4, 1)).days_overdue == 0
    e = refused(ExtensionError, extend, fund, D(2026, 10, 5), D(2026, 1, 5))
    assert str(e) == ("loan ICBC-001 was already extended; its rules allow 1 extension(s)")


def test_overdue_loan_cannot_be_extended(fund, borrower):
    approve(fund, borrower)
    disburse(fund, borrower, method="equal_principal")
    e = refused(ExtensionError, extend, fund, D(2026, 9, 5), D(2025, 5, 1))
    assert str(e) == (
        "loan ICBC-001 is 26 days overdue on 2025-05-01; an overdue loan cannot be extended"
    )
    assert e.zh == "贷款 ICBC-001 在 2025-05-01 已逾期 26 天，不能展期"
    e = refused(ExtensionError, extend, fund, D(2026, 9, 5), D(2026, 3, 6))
    assert str(e) == (
        "an extension must be agreed between disbursement and maturity (2026-03-05), not 2026-03-06"
    )


def test_equal_principal_schedule_after_extension(fund, borrower):
    approve(fund, borrower, 1_200_000)
    disburse(
        fund, borrower, principal=1_200_000, method="equal_principal", maturity_on=D(2025, 9, 5)
    )
    with fund() as s:
        schedule = loans.loan_schedule(loans.get_loan(s, "ICBC", "ICBC-001"))
    assert [i.principal for i in schedule] == [200_000] * 6
    for n, item in enumerate(schedule[:3], 1):
        repay(fund, f"E{n}", item.due_on, item.principal, item.interest)
    # Agreed on 2025-06-20 (installments of 04-05, 05-05, 06-05 kept): the 600,000 fen
    # left is rescheduled from 2025-06-05 to 2026-03-05, 9 installments of 66,666.67… →
    # 66,666 × 8 and 66,672 last.
    extend(fund, D(2026, 3, 5), D(2025, 6, 20))
    with fund() as s:
        schedule = loans.loan_schedule(loans.get_loan(s, "ICBC", "ICBC-001"))
    assert [(i.number, i.due_on, i.principal) for i in schedule] == [
        (1, D(2025, 4, 5), 200_000),
        (2, D(2025, 5, 5), 200_000),
        (3, D(2025, 6, 5), 200_000),
        *[(3 + k, D(2025 + (5 + k) // 12, (5 + k) % 12 + 1, 5), 66_666) for k in range(1, 9)],
        (12, D(2026, 3, 5), 66_672),
    ]
    assert sum(i.principal for i in schedule) == 1_200_000


def test_an_extension_dated_after_today_is_refused(fund, borrower):
    approve(fund, borrower)
    disburse(fund, borrower)  # bullet, 2025-03-05 → 2026-03-05
    e = refused(
        ExtensionError,
        lambda: run(
            fund,
            lambda s: loans.extend_loan(
                s, bank="ICBC", contract_no="ICBC-001", new_maturity=D(2026, 9, 5),
                on=D(2025, 12, 2), actor="approver", today=D(2025, 12, 1),
            ),
        ),
    )  # fmt: skip
    assert (str(e), e.zh) == (
        "extension date 2025-12-02 is in the future",
        "展期日期 2025-12-02 晚于今天",
    )
