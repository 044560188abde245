"""What the bureau, banks and auditors ask: capital by source, banks, capacity and the
leverage multiplier, rates, a loan's state by date, subsidy claims, fund statements."""

from __future__ import annotations

import pytest

from ledger.fund import capital, claims, guarantees, leverage, loans, queries, recoveries
from ledger.fund.borrowers import register_borrower
from ledger.fund.read.loans import loan_detail
from ledger.fund.statement import fund_statement
from tests.fund.conftest import D, borrower_id, run, setup_fund


def _loan(s, number, name, bank, contract, approved, disbursed, maturity, principal, method):
    c = guarantees.approve_guarantee(
        s, id_number=number, bank=bank, amount=principal, term_months=12, on=approved,
        actor="approver",
    )  # fmt: skip
    loans.disburse(
        s, bank=bank, contract_no=contract, guarantee_no=c.number, borrower_name=name,
        id_number=number, disbursed_on=disbursed, maturity_on=maturity, principal=principal,
        annual_rate_ppm=45_000, method=method, actor="clerk",
    )  # fmt: skip


def _repay(s, bank, ref, contract, on, principal):
    loans.repay(
        s, bank=bank, bank_ref=ref, contract_no=contract, paid_on=on, principal=principal,
        interest=0, actor="clerk",
    )  # fmt: skip


@pytest.fixture
def fund(factory):
    """The capital received from 2023-12-20 and placed on 2024-01-02: the 2024 loans below
    need it under the leverage cap of their own dates."""
    return setup_fund(factory, received_on=D(2023, 12, 20), placed_on=D(2024, 1, 2))


@pytest.fixture
def books(fund, borrower):
    """2024: 刘一 borrows 10,000 yuan at ICBC and 周二 30,000 at ABC, both maturing on
    2024-07-10. 刘一 repays 9,000 by then (90 %), 周二 26,999.99 (89.9999 %); the rest
    late. 2025: 张三 100,000 bullet at ICBC; 陈三 100,000 interest-only at ICBC, never
    pays: claim 2025-07-04, paid 07-08, written off 08-01. ICBC interest 10,000.01 yuan."""
    liu, zhou, chen = borrower_id(71), borrower_id(72), borrower_id(73)

    def work(s):
        for number, name in ((liu, "刘一"), (zhou, "周二"), (chen, "陈三")):
            register_borrower(
                s, id_number=number, name=name, district="D03", categories=["veteran"],
                actor="clerk",
            )  # fmt: skip
        _loan(s, liu, "刘一", "ICBC", "ICBC-2024-1", D(2024, 1, 5), D(2024, 1, 10),
              D(2024, 7, 10), 1_000_000, "bullet")  # fmt: skip
        _loan(s, zhou, "周二", "ABC", "ABC-2024-1", D(2024, 1, 5), D(2024, 1, 10),
              D(2024, 7, 10), 3_000_000, "bullet")  # fmt: skip
        _repay(s, "ICBC", "L1", "ICBC-2024-1", D(2024, 7, 10), 900_000)
        _repay(s, "ICBC", "L2", "ICBC-2024-1", D(2024, 7, 20), 100_000)
        _repay(s, "ABC", "Z1", "ABC-2024-1", D(2024, 7, 10), 2_699_999)
        _repay(s, "ABC", "Z2", "ABC-2024-1", D(2024, 8, 1), 300_001)
        _loan(s, borrower, "张三", "ICBC", "ICBC-001", D(2025, 3, 1), D(2025, 3, 5),
              D(2026, 3, 5), 10_000_000, "bullet")  # fmt: skip
        _loan(s, chen, "陈三", "ICBC", "ICBC-002", D(2025, 3, 1), D(2025, 3, 5),
              D(2026, 3, 5), 10_000_000, "interest_only")  # fmt: skip
        capital.record_deposit_interest(
            s, "ICBC", 1_000_001, D(2025, 3, 21), "ICBC-2025Q1", actor="icbc"
        )
        claims.file_claim(s, bank="ICBC", contract_no="ICBC-002", on=D(2025, 7, 4), actor="icbc")
        claims.approve_claim(s, "C2025-ICBC-00001", on=D(2025, 7, 6), actor="approver")
        claims.pay_claim(s, "C2025-ICBC-00001", on=D(2025, 7, 8), actor="approver")
        w = recoveries.request_write_off(
            s, bank="ICBC", contract_no="ICBC-002", reason="失联", on=D(2025, 7, 30),
            actor="clerk",
        )  # fmt: skip
        recoveries.approve_write_off(s, w.id, on=D(2025, 8, 1), actor="approver")

    run(fund, work)
    return fund


def test_capital_by_source(books):
    with books() as s:
        march = {x.code: x for x in queries.capital_by_source(s, D(2025, 3, 20))}
        year = {x.code: x for x in queries.capital_by_source(s, D(2025, 12, 31))}
    assert [(x.contributed, x.income, x.losses, x.net) for x in march.values()] == [
        (200_000_000, 0, 0, 200_000_000),
        (60_000_000, 0, 0, 60_000_000),
        (40_000_000, 0, 0, 40_000_000),
        (500_000_000, 0, 0, 500_000_000),
    ]
    # Interest 1,000,001 → 625,001 / 250,000 / 75,000 / 50,000; loss 8,000,000 pro rata
    # 500 : 200 : 60 : 40 → 5,000,000 / 2,000,000 / 600,000 / 400,000.
    assert {c: (x.kind, x.contributed, x.income, x.losses, x.net) for c, x in year.items()} == {
        "city": ("city", 200_000_000, 250_000, 2_000_000, 198_250_000),
        "district-D01": ("district", 60_000_000, 75_000, 600_000, 59_475_000),
        "other": ("other", 40_000_000, 50_000, 400_000, 39_650_000),
        "provincial": ("provincial", 500_000_000, 625_001, 5_000_000, 495_625_001),
    }
    assert {c: (x.committed, x.unpaid) for c, x in year.items()} == {
        "city": (None, None),
        "district-D01": (100_000_000, 40_000_000),  # 1,000,000 committed − 600,000 paid
        "other": (None, None),
        "provincial": (None, None),
    }


def test_banks_as_of(books):
    with books() as s:
        mid_2024 = queries.banks_as_of(s, D(2024, 7, 15))
        mid_2025 = queries.banks_as_of(s, D(2025, 6, 30))
        end_2025 = queries.banks_as_of(s, D(2025, 12, 31))
    pick = [(b.code, b.placed, b.exposure, b.outstanding) for b in mid_2024]
    # ABC: 300,001 outstanding → 80 % = 240,000.8 → 240,001; ICBC: 100,000 → 80,000.
    assert pick == [
        ("ABC", 100_000_000, 240_001, 300_001),
        ("ICBC", 300_000_000, 80_000, 100_000),
    ]
    pick = [(b.code, b.placed, b.exposure, b.outstanding) for b in mid_2025]
    assert pick == [
        ("ABC", 100_000_000, 0, 0),
        ("ICBC", 301_000_001, 16_000_000, 20_000_000),
    ]
    pick = [(b.code, b.placed, b.exposure, b.outstanding) for b in end_2025]
    assert pick == [
        ("ABC", 100_000_000, 0, 0),
        # 300,000,000 + 1,000,001 interest − 8,000,000 claim; 陈三's loan is the fund's now.
        ("ICBC", 293_000_001, 8_000_000, 10_000_000),
    ]


def test_capacity_and_the_leverage_multiplier(books):
    with books() as s:
        icbc = leverage.capacity(s, "ICBC", D(2025, 9, 1))
        abc = leverage.capacity(s, "ABC", D(2025, 9, 1))
        icbc_2024 = leverage.capacity(s, "ICBC", D(2024, 6, 1))
        risk = queries.bank_risk(s, "ABC", D(2025, 9, 1), (D(2024, 1, 1), D(2024, 12, 31)))
    # ICBC repaid 900,000 of 1,000,000 due in 2024 by maturity: exactly 90 % → 10×.
    assert (icbc.repayment_rate_ppm, icbc.multiplier) == (900_000, 10)
    assert (icbc.exposure, icbc.special) == (8_000_000, 293_000_001)
    assert (icbc.cap, icbc.remaining) == (2_930_000_010, 2_922_000_010)
    # ABC: 2,699,999 of 3,000,000 = 899,999.67 ppm, rounded down → 899,999 < 90 % → 5×.
    assert (abc.repayment_rate_ppm, abc.multiplier) == (899_999, 5)
    assert (abc.exposure, abc.special, abc.cap, abc.remaining) == (
        0,
        100_000_000,
        500_000_000,
        500_000_000,
    )
    # Nothing matured in 2023: the base multiplier.
    assert (icbc_2024.repayment_rate_ppm, icbc_2024.multiplier) == (None, 5)
    assert (risk.repayment_rate_ppm, risk.compensation_rate_ppm) == (899_999, 0)


def test_compensation_and_repayment_rates(books):
    with books() as s:
        assert leverage.compensation_rate_ppm(s, "ICBC", D(2023, 12, 31)) is None
        assert leverage.compensation_rate_ppm(s, "ICBC", D(2025, 7, 7)) == 0
        # 8,000,000 paid of 1,000,000 + 10,000,000 + 10,000,000 guaranteed: 380,952.38
        assert leverage.compensation_rate_ppm(s, "ICBC", D(2025, 7, 8)) == 380_952
        # Whole fund: 8,000,000 / 24,000,000.
        assert leverage.compensation_rate_ppm(s, None, D(2025, 7, 8)) == 333_333
        # 2024: 3,599,999 of 4,000,000 due repaid by maturity = 899,999.75 → 899,999.
        assert leverage.repayment_rate_ppm(s, None, D(2024, 1, 1), D(2024, 12, 31)) == 899_999
        assert leverage.repayment_rate_ppm(s, "ICBC", D(2025, 1, 1), D(2025, 12, 31)) is None
        assert leverage.repayment_rate_ppm(s, "ICBC", D(2024, 7, 11), D(2024, 12, 31)) is None


def test_loan_detail_as_of_dates(books):
    def state(on):
        with books() as s:
            st = loan_detail(s, "ICBC", "ICBC-002", on)
            return (st.exposure, st.receivable, st.position.days_overdue, st.position.bucket)

    assert state(D(2025, 3, 4)) == (0, 0, 0, "current")
    assert state(D(2025, 3, 5)) == (8_000_000, 0, 0, "current")
    assert state(D(2025, 7, 4)) == (8_000_000, 0, 90, "31-90")
    assert state(D(2025, 7, 6)) == (8_000_000, 8_000_000, 92, "91-180")
    assert state(D(2025, 7, 8)) == (0, 8_000_000, 94, "91-180")
    assert state(D(2025, 8, 1)) == (0, 0, 118, "91-180")
    with books() as s:
        st = loan_detail(s, "ICBC", "ICBC-002", D(2025, 8, 1))
    assert (st.loan.status, st.borrower.name, st.commitment.number) == (
        "written_off",
        "陈三",
        "G2025-ICBC-00002",
    )
    assert [(c.number, c.status, c.amount) for c in st.claims] == [
        ("C2025-ICBC-00001", "paid", 8_000_000)
    ]
    assert st.repayments == () and st.recoveries == () and st.counter_guarantees == ()
    assert len(st.schedule) == 12


def test_subsidy_claim_for_a_quarter(books):
    # 2025 rules (lpr_minus): the borrower pays up to LPR on the contract date (3.10 %)
    # − 150bp = 1.60 %; finance pays 4.50 % − 1.60 % = 2.90 % a year, actual/360.
    with books() as s:
        lines = dict(queries.subsidy_claim(s, "ICBC", 2025, 2))
    assert sorted(lines) == ["ICBC-001", "ICBC-002"]  # ICBC-2024-1 repaid in 2024
    zhang, chen = lines["ICBC-001"], lines["ICBC-002"]
    # 张三: all 91 days; 100,000 × 2.9 % × 91 / 360 = 733.0555… → 733.06 yuan;
    # base 100,000 × 4.5 % × 91 / 360 = 1,137.50.
    assert (zhang.days_in_quarter, zhang.days_subsidised, zhang.days_overdue) == (91, 91, 0)
    assert (zhang.interest_base, zhang.subsidy) == (113_750, 73_306)
    # 陈三: overdue from 2025-04-06 (interest of 04-05 unpaid): 5 days subsidised,
    # 86 overdue; 100,000 × 2.9 % × 5 / 360 = 40.2777… → 40.28; base 62.50.
    assert (chen.days_in_quarter, chen.days_subsidised, chen.days_overdue) == (91, 5, 86)
    assert (chen.interest_base, chen.subsidy) == (6_250, 4_028)
    with books() as s:
        q1 = dict(queries.subsidy_claim(s, "ICBC", 2025, 1))
    # Q1: from 2025-03-05, 27 days: 100,000 × 2.9 % × 27 / 360 = 217.50 yuan each.
    assert {c: (x.days_in_quarter, x.subsidy) for c, x in q1.items()} == {
        "ICBC-001": (27, 21_750),
        "ICBC-002": (27, 21_750),
    }


def _line(code):
    return {"asset:treasury": "treasury", "asset:receivable": "receivable"}.get(code, "special")


def test_fund_statement_for_a_quarter(books):
    with books() as s:
        st = fund_statement(s, D(2025, 7, 1), D(2025, 9, 30))
    # Opening = contributed + Q1 interest; Q3 losses = the 8,000,000 write-off pro rata.
    assert [(x.code, x.opening, x.contributed, x.income, x.losses, x.closing)
            for x in st.sources] == [
        ("city", 200_250_000, 0, 0, 2_000_000, 198_250_000),
        ("district-D01", 60_075_000, 0, 0, 600_000, 59_475_000),
        ("other", 40_050_000, 0, 0, 400_000, 39_650_000),
        ("provincial", 500_625_001, 0, 0, 5_000_000, 495_625_001),
    ]  # fmt: skip
    assert (st.opening, st.closing) == (801_000_001, 793_000_001)
    assert [(a.code, a.opening, a.closing) for a in st.assets] == [
        ("asset:treasury", 400_000_000, 400_000_000),
        ("asset:special:ABC", 100_000_000, 100_000_000),
        ("asset:special:ICBC", 301_000_001, 293_000_001),
        ("asset:receivable", 0, 0),
    ]
    assert (st.liabilities.opening, st.liabilities.closing) == (0, 0)
    assert (st.exposure.opening, st.exposure.closing) == (16_000_000, 8_000_000)
    assert st.movements == {
        "claim.approval": 8_000_000,
        "claim.payment": 8_000_000,
        "write-off": 8_000_000,
    }
    assert st.opening == sum(a.opening for a in st.assets) - st.liabilities.opening
    assert st.closing == sum(a.closing for a in st.assets) - st.liabilities.closing
    # Losses by side: all written off, nothing recovered after; income by kind: none.
    assert [(x.code, x.interest, x.fees, x.written_off, x.recovered) for x in st.sources] == [
        ("city", 0, 0, 2_000_000, 0),
        ("district-D01", 0, 0, 600_000, 0),
        ("other", 0, 0, 400_000, 0),
        ("provincial", 0, 0, 5_000_000, 0),
    ]
    assert [(x.code, x.name, x.opening, x.closing) for x in st.exposures] == [
        ("memo:exposure:ABC", "在保责任余额-农业银行", 0, 0),
        ("memo:exposure:ICBC", "在保责任余额-工商银行", 16_000_000, 8_000_000),
    ]
    # What each kind did to the treasury, the special accounts, receivables, claims payable.
    assert st.flows == {
        "claim.approval": {"treasury": 0, "special": 0, "receivable": 8_000_000,
                           "payable": 8_000_000},
        "claim.payment": {"treasury": 0, "special": -8_000_000, "receivable": 0,
                          "payable": -8_000_000},
        "write-off": {"treasury": 0, "special": 0, "receivable": -8_000_000, "payable": 0},
    }  # fmt: skip
    with books() as s:
        year = fund_statement(s, D(2025, 1, 1), D(2025, 12, 31))
    assert [(x.code, x.opening, x.interest, x.written_off, x.closing) for x in year.sources] == [
        ("city", 200_000_000, 250_000, 2_000_000, 198_250_000),
        ("district-D01", 60_000_000, 75_000, 600_000, 59_475_000),
        ("other", 40_000_000, 50_000, 400_000, 39_650_000),
        ("provincial", 500_000_000, 625_001, 5_000_000, 495_625_001),
    ]  # fmt: skip
    assert year.flows["interest.deposit"] == {
        "treasury": 0, "special": 1_000_001, "receivable": 0, "payable": 0
    }  # fmt: skip
    for line in ("treasury", "special", "receivable"):
        moved = sum(kinds[line] for kinds in year.flows.values())
        assert moved == sum(a.closing - a.opening for a in year.assets if _line(a.code) == line)
    assert sum(k["payable"] for k in year.flows.values()) == (
        year.liabilities.closing - year.liabilities.opening
    )
    with (
        pytest.raises(ValueError, match=r"the period ends \(2025-06-30\) before it starts"),
        books() as s,
    ):
        fund_statement(s, D(2025, 7, 1), D(2025, 6, 30))
