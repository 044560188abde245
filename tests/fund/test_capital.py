"""Capital: allocations (maker-checker), placement, withdrawal, deposit interest."""

from __future__ import annotations

from ledger import chart
from ledger.fund import capital, guarantees, loans, reference
from ledger.fund.books import balance_now
from ledger.fund.errors import (
    DuplicateReferenceError,
    FundError,
    LeverageCapError,
    MakerCheckerError,
    PermissionDeniedError,
    StateError,
)
from tests.fund.conftest import D, attempt, refused, run, snapshot


def record(fund, fen=12_345_678, actor="clerk", source="city"):
    return run(
        fund,
        lambda s: capital.record_allocation(
            s, source, fen, D(2025, 4, 1), actor=actor, reference=" 财字〔2025〕20号 "
        ),
    ).id


def test_allocation_is_maker_checker(fund):
    run(fund, lambda s: reference.add_user(s, "both", "钱双岗", ["clerk", "approver"],
                                           actor="admin"))  # fmt: skip
    before = snapshot(fund)
    a = record(fund)
    assert snapshot(fund) == before  # recorded, nothing posted
    e = refused(PermissionDeniedError, attempt(
        fund, lambda s: capital.approve_allocation(s, a, actor="clerk2")))  # fmt: skip
    assert e.code == "permission-denied"
    assert str(e) == "user clerk2 may not do this: it needs the approver role"
    assert e.zh == "用户 clerk2 无权执行此操作：需要审核角色"
    e = refused(PermissionDeniedError, attempt(
        fund, lambda s: capital.record_allocation(s, "city", 1, D(2025, 4, 1),
                                                  actor="approver")))  # fmt: skip
    assert str(e) == "user approver may not do this: it needs the clerk role"

    b = record(fund, 1_000, actor="both")
    e = refused(MakerCheckerError, attempt(
        fund, lambda s: capital.approve_allocation(s, b, actor="both")))  # fmt: skip
    assert e.code == "maker-checker"
    assert str(e) == "both recorded this allocation and may not approve it: another approver must"
    assert e.zh == "both 是该笔资金拨付的经办人，不能自己审核，须由其他审核人审核"
    assert snapshot(fund) == before

    done = run(fund, lambda s: capital.approve_allocation(s, a, actor="approver"))
    assert (done.status, done.decided_by, done.reference) == (
        "approved",
        "approver",
        "财字〔2025〕20号",
    )
    with fund() as s:
        assert balance_now(s, chart.TREASURY) == 400_000_000 + 12_345_678
        assert capital.contributed_as_of(s, D(2025, 3, 31))["city"] == 200_000_000
        assert capital.contributed_as_of(s, D(2025, 4, 1))["city"] == 212_345_678
    e = refused(StateError, attempt(
        fund, lambda s: capital.approve_allocation(s, a, actor="approver2")))  # fmt: skip
    assert e.code == "invalid-state"
    assert str(e) == f"capital allocation {a} is already approved"
    e = refused(StateError, attempt(
        fund, lambda s: capital.approve_allocation(s, 999, actor="approver2")))  # fmt: skip
    assert str(e) == "no capital allocation 999"


def test_rejection_needs_a_reason(fund):
    a = record(fund)
    before = snapshot(fund)
    e = refused(FundError, attempt(
        fund, lambda s: capital.reject_allocation(s, a, "  ", actor="approver")))  # fmt: skip
    assert str(e) == "a rejection needs a reason"
    row = run(fund, lambda s: capital.reject_allocation(s, a, " 金额与文件不符 ",
                                                        actor="approver"))  # fmt: skip
    assert (row.status, row.reject_reason) == ("rejected", "金额与文件不符")
    assert snapshot(fund) == before
    e = refused(StateError, attempt(
        fund, lambda s: capital.approve_allocation(s, a, actor="approver2")))  # fmt: skip
    assert str(e) == f"capital allocation {a} is already rejected"


def test_placement_beyond_the_treasury(fund):
    before = snapshot(fund)
    e = refused(FundError, attempt(
        fund, lambda s: capital.place_capital(s, "ICBC", 400_000_001, D(2025, 2, 1),
                                              actor="clerk")))  # fmt: skip
    assert str(e) == "the treasury holds 4,000,000.00 yuan; cannot place 4,000,000.01 yuan at ICBC"
    assert e.zh == "财政待拨付资金余额 4,000,000.00 元，不足以存入 ICBC 4,000,000.01 元"
    assert snapshot(fund) == before
    run(fund, lambda s: capital.place_capital(s, "ICBC", 400_000_000, D(2025, 2, 1),
                                              actor="approver"))  # fmt: skip
    with fund() as s:
        assert balance_now(s, chart.TREASURY) == 0
        assert balance_now(s, chart.special_account("ICBC")) == 700_000_000


def _abc_loan(fund, borrower):
    def work(s):
        c = guarantees.approve_guarantee(
            s, id_number=borrower, bank="ABC", amount=10_000_000, term_months=12,
            on=D(2025, 3, 1), actor="approver",
        )  # fmt: skip
        loans.disburse(
            s, bank="ABC", contract_no="ABC-001", guarantee_no=c.number, borrower_name="张三",
            id_number=borrower, disbursed_on=D(2025, 3, 5), maturity_on=D(2026, 3, 5),
            principal=10_000_000, annual_rate_ppm=45_000, method="bullet", actor="abc",
        )  # fmt: skip

    run(fund, work)


def test_withdrawal_refused_by_balance_and_by_the_leverage_cap(fund, borrower):
    def withdraw(fen):
        return attempt(
            fund, lambda s: capital.withdraw_capital(s, "ABC", fen, D(2025, 4, 1), actor="clerk")
        )

    e = refused(LeverageCapError, withdraw(100_000_001))
    assert e.code == "leverage-cap"
    assert str(e) == (
        "bank ABC: the special account holds 1,000,000.00 yuan; cannot withdraw 1,000,000.01 yuan"
    )
    assert (e.cap, e.exposure, e.shortfall) == (500_000_000, 0, 1)

    _abc_loan(fund, borrower)  # exposure 80,000.00 yuan at ABC
    before = snapshot(fund)
    # What stays must carry 80,000 yuan at 5×: at least 16,000 yuan; withdrawing
    # 984,000.01 leaves 15,999.99 → cap 79,999.95, short by 0.05.
    e = refused(LeverageCapError, withdraw(98_400_001))
    assert str(e) == (
        "bank ABC: after withdrawing 984,000.01 yuan the leverage cap would be 79,999.95 yuan, "
        "below the guarantee exposure of 80,000.00 yuan; short by 0.05 yuan"
    )
    assert e.zh == (
        "ABC 调回 984,000.01 元后放大倍数上限为 79,999.95 元，低于在保余额 80,000.00 元，"
        "缺口 0.05 元"
    )
    assert (e.cap, e.exposure, e.shortfall) == (7_999_995, 8_000_000, 5)
    assert snapshot(fund) == before
    withdraw(98_400_000)()
    with fund() as s:
        assert balance_now(s, chart.special_account("ABC")) == 1_600_000
        assert balance_now(s, chart.TREASURY) == 400_000_000 + 98_400_000
    e = refused(LeverageCapError, withdraw(1))
    assert (e.cap, e.exposure, e.shortfall) == (7_999_995, 8_000_000, 5)


def interest(fund, bank, fen, on, ref, actor="clerk"):
    return run(fund, lambda s: capital.record_deposit_interest(s, bank, fen, on, ref, actor=actor))


def test_deposit_interest_split_pro_rata_to_the_fen(fund):
    # 10,000.01 yuan over 500 : 200 : 60 : 40 (total 800): provincial 6,250.00625,
    # city 2,500.0025, district 750.00075, other 500.0005 → floors 10,000.00; the fen
    # left goes to the largest remainder, provincial.
    row = interest(fund, "ICBC", 1_000_001, D(2025, 3, 21), " ICBC-2025Q1 ")
    assert row.bank_ref == "ICBC-2025Q1"
    assert row.allocation == (
        {"city": 250000, "district-D01": 75000, "other": 50000, "provincial": 625001}
    )
    # 10,000.07: 6,250.04375 / 2,500.0175 / 750.00525 / 500.0035 → floors 10,000.05;
    # 2 fen to city (.75) and district (.525).
    row2 = interest(fund, "ABC", 1_000_007, D(2025, 3, 21), "ABC-2025Q1", actor="abc")
    assert row2.allocation == (
        {"city": 250002, "district-D01": 75001, "other": 50000, "provincial": 625004}
    )
    with fund() as s:
        assert balance_now(s, chart.special_account("ICBC")) == 300_000_000 + 1_000_001
        assert balance_now(s, chart.interest_income_account("provincial")) == 625_001 + 625_004
        assert balance_now(s, chart.interest_income_account("other")) == 100_000
    before = snapshot(fund)
    again = interest(fund, "ICBC", 1_000_001, D(2025, 3, 21), "ICBC-2025Q1")
    assert again.id == row.id
    assert snapshot(fund) == before
    e = refused(DuplicateReferenceError, interest, fund, "ICBC", 1_000_002, D(2025, 3, 21),
                "ICBC-2025Q1")  # fmt: skip
    assert e.code == "duplicate-reference"
    assert str(e) == (
        "bank reference ICBC-2025Q1 of ICBC was already recorded as interest of "
        "10,000.01 yuan on 2025-03-21"
    )
    e = refused(DuplicateReferenceError, interest, fund, "ICBC", 1_000_001, D(2025, 3, 22),
                "ICBC-2025Q1")  # fmt: skip
    assert snapshot(fund) == before


def test_a_bank_user_records_interest_for_their_own_bank_only(fund):
    before = snapshot(fund)
    e = refused(PermissionDeniedError, interest, fund, "ICBC", 100, D(2025, 3, 21), "X1",
                actor="abc")  # fmt: skip
    assert str(e) == "user abc works for bank ABC and may not act for bank ICBC"
    assert e.zh == "用户 abc 属于 ABC，不能代 ICBC 操作"
    e = refused(PermissionDeniedError, interest, fund, "ICBC", 100, D(2025, 3, 21), "X1",
                actor="auditor")  # fmt: skip
    assert str(e) == "user auditor may not do this: it needs the clerk or approver or bank role"
    e = refused(FundError, interest, fund, "ICBC", 100, D(2025, 3, 21), "  ", actor="icbc")
    assert str(e) == "deposit interest needs the statement's reference"
    e = refused(FundError, interest, fund, "ICBC", 0, D(2025, 3, 21), "X1", actor="icbc")
    assert str(e) == "the deposit interest amount must be a positive number of fen"
    assert snapshot(fund) == before


def test_which_counties_have_not_paid_their_matching_money(fund):
    from ledger.fund.capital import DistrictMatching, matching_by_district
    from ledger.fund.errors import ReferenceDataError as RefError

    def add(s):
        reference.add_capital_source(
            s, "district-D02", "城西区配套", "district", district="D02", actor="admin",
            committed=50_000_000, due_on=D(2025, 3, 31),
        )  # fmt: skip
        reference.add_capital_source(
            s, "district-D03", "新河县配套", "district", district="D03", actor="admin",
            committed=20_000_000, due_on=D(2025, 12, 31),
        )  # fmt: skip
        a = capital.record_allocation(s, "district-D02", 15_000_000, D(2025, 2, 1), actor="clerk")
        capital.approve_allocation(s, a.id, actor="approver")

    run(fund, add)
    with fund() as s:
        rows = matching_by_district(s, D(2025, 6, 30))
        e = refused(
            RefError,
            reference.add_capital_source,
            s, "other-2", "捐赠", "other", actor="admin", due_on=D(2025, 1, 1),
        )  # fmt: skip
    assert str(e) == "a due date needs a committed amount"
    # D02 promised 500,000 by 2025-03-31 and paid 150,000: 350,000 overdue; D03's date
    # has not come; D01 set no date (600,000 of 1,000,000 paid).
    assert rows == [
        DistrictMatching("D02", 50_000_000, 15_000_000, 35_000_000, 35_000_000, D(2025, 3, 31)),
        DistrictMatching("D01", 100_000_000, 60_000_000, 40_000_000, 0, None),
        DistrictMatching("D03", 20_000_000, 0, 20_000_000, 0, None),
    ]
