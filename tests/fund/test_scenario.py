"""A year of the fund (2025) through the public operations, checked against a fund
statement computed by hand.

Starting point (the ``fund`` fixture): allocations provincial 5,000,000 / city 2,000,000 /
district-D01 600,000 / other 400,000 yuan (2025-01-02..05); placed on 2025-01-10 ICBC
3,000,000 and ABC 1,000,000 yuan; treasury 4,000,000 yuan. Rules of 2025 (national era
2021): coverage 80 %, claims after 90 days overdue, leverage 5× (nothing matured in 2024),
counter-guarantee above 100,000 yuan, compensation rate over 10 % suspends a bank.
"""

from __future__ import annotations

import pytest

from ledger.balances import trial_balance
from ledger.fund import capital, claims, guarantees, loans, queries, recoveries
from ledger.fund.books import balance_now
from ledger.fund.borrowers import register_borrower
from ledger.fund.errors import BankSuspendedError
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.identity import Sex
from ledger.fund.statement import fund_statement
from tests.fund.conftest import D, borrower_id, run

BORN = D(1985, 4, 1)
RATE = 45_000  # 4.5 % a year, under the 2025 cap (LPR 3.10 % / 3.00 % + 300bp)


def register(s, serial, name, categories, *, born=BORN, sex=Sex.MALE):
    number = borrower_id(serial, born=born, sex=sex)
    register_borrower(
        s, id_number=number, name=name, district="D02", categories=categories, actor="clerk"
    )
    return number


def approve(fund, number, bank, amount, term, on, cgs=()):
    return run(
        fund,
        lambda s: (
            guarantees.approve_guarantee(
                s,
                id_number=number,
                bank=bank,
                amount=amount,
                term_months=term,
                on=on,
                actor="approver",
                counter_guarantees=cgs,
            ).number
        ),
    )


def disburse(fund, bank, contract, commitment, name, number, on, maturity, principal, method):
    return run(
        fund,
        lambda s: (
            loans.disburse(
                s,
                bank=bank,
                contract_no=contract,
                guarantee_no=commitment,
                borrower_name=name,
                id_number=number,
                disbursed_on=on,
                maturity_on=maturity,
                principal=principal,
                annual_rate_ppm=RATE,
                method=method,
                actor=bank.lower(),
            ).loan.id
        ),
    )


def repay(fund, bank, ref, contract, on, principal, interest):
    run(
        fund,
        lambda s: loans.repay(
            s,
            bank=bank,
            bank_ref=ref,
            contract_no=contract,
            paid_on=on,
            principal=principal,
            interest=interest,
            actor=bank.lower(),
        ),
    )


def schedule_of(fund, bank, contract):
    with fund() as s:
        return loans.loan_schedule(loans.get_loan(s, bank, contract))


def interest(fund, bank, fen, on, ref):
    return run(
        fund,
        lambda s: capital.record_deposit_interest(s, bank, fen, on, ref, actor="clerk").allocation,
    )


def test_a_year_of_the_fund(fund, borrower):
    # --- six borrowers -----------------------------------------------------------------
    zhang = borrower  # 张三, registered unemployed, D01

    def people(s):
        return (
            register(s, 11, "李四", ["veteran"]),
            register(s, 12, "王五", ["graduate"], born=D(1999, 8, 8)),
            register(s, 13, "赵六", ["returning_migrant"]),
            register(s, 14, "孙七", ["disabled"]),
            # A woman of 42 registered as a "4050" person, and eligible only as one.
            register(s, 15, "周八", ["person_4050"], born=D(1983, 3, 8), sex=Sex.FEMALE),
        )

    li, wang, zhao, sun, zhou = run(fund, people)

    # --- guarantees and disbursements -----------------------------------------------------
    g1 = approve(fund, zhang, "ICBC", 10_000_000, 12, D(2025, 1, 15))
    disburse(
        fund, "ICBC", "ICBC-001", g1, "张三", zhang, D(2025, 2, 10), D(2026, 2, 10),
        10_000_000, "bullet",
    )  # fmt: skip
    g4 = approve(fund, zhao, "ICBC", 8_000_000, 12, D(2025, 2, 15))
    disburse(
        fund, "ICBC", "ICBC-002", g4, "赵六", zhao, D(2025, 2, 20), D(2026, 2, 20),
        8_000_000, "interest_only",
    )  # fmt: skip
    g2 = approve(fund, li, "ICBC", 6_000_000, 12, D(2025, 3, 10))
    disburse(
        fund, "ICBC", "ICBC-003", g2, "李四", li, D(2025, 3, 15), D(2026, 3, 15),
        6_000_000, "equal_principal",
    )  # fmt: skip
    g5 = approve(fund, sun, "ABC", 3_000_000, 6, D(2025, 3, 25))
    disburse(
        fund, "ABC", "ABC-001", g5, "孙七", sun, D(2025, 4, 1), D(2025, 10, 1),
        3_000_000, "annuity",
    )  # fmt: skip
    mortgage = CounterGuaranteeSpec(
        "mortgage", 20_000_000, description="商铺抵押 不动产权第0012345号"
    )
    g3 = approve(fund, wang, "ABC", 15_000_000, 24, D(2025, 5, 5), (mortgage,))
    disburse(
        fund, "ABC", "ABC-002", g3, "王五", wang, D(2025, 5, 10), D(2027, 5, 10),
        15_000_000, "interest_only",
    )  # fmt: skip
    assert (g1, g4, g2, g5, g3) == (
        "G2025-ICBC-00001",
        "G2025-ICBC-00002",
        "G2025-ICBC-00003",
        "G2025-ABC-00001",
        "G2025-ABC-00002",
    )

    # --- repayments ---------------------------------------------------------------------
    # 李四 (equal principal): 12 × 5,000 yuan; installments 1-9 (2025-04-15 … 12-15) paid
    # on their due dates → 45,000 yuan repaid, 15,000 outstanding.
    for n, item in enumerate(schedule_of(fund, "ICBC", "ICBC-003")[:9], 1):
        assert item.principal == 500_000
        repay(fund, "ICBC", f"LI-{n}", "ICBC-003", item.due_on, item.principal, item.interest)
    # 孙七 (annuity, 6 months): every installment paid on its due date → repaid 2025-10-01.
    for n, item in enumerate(schedule_of(fund, "ABC", "ABC-001"), 1):
        repay(fund, "ABC", f"SUN-{n}", "ABC-001", item.due_on, item.principal, item.interest)
    # 王五 (interest only): interest of 2025-06-10 … 12-10 paid; on 2025-10-10 also
    # 33,333.33 yuan of principal → 116,666.67 outstanding.
    for n, item in enumerate(schedule_of(fund, "ABC", "ABC-002")[:7], 1):
        extra = 3_333_333 if item.due_on == D(2025, 10, 10) else 0
        repay(fund, "ABC", f"WANG-{n}", "ABC-002", item.due_on, extra, item.interest)
    # 张三 (bullet): 30,000 yuan of principal early on 2025-08-10 → 70,000 outstanding.
    repay(fund, "ICBC", "ZHANG-1", "ICBC-001", D(2025, 8, 10), 3_000_000, 0)

    # --- 赵六 defaults: never pays; first due 2025-03-20; 92 days overdue on 2025-06-20 --
    claim = run(
        fund,
        lambda s: claims.file_claim(
            s, bank="ICBC", contract_no="ICBC-002", on=D(2025, 6, 20), actor="icbc"
        ),
    )
    assert (claim.number, claim.days_overdue, claim.loss, claim.amount) == (
        "C2025-ICBC-00001",
        92,
        8_000_000,
        6_400_000,  # 80 % × 80,000 yuan
    )
    run(fund, lambda s: claims.approve_claim(s, claim.number, on=D(2025, 6, 23), actor="approver"))
    run(fund, lambda s: claims.pay_claim(s, claim.number, on=D(2025, 6, 25), actor="approver2"))
    # ICBC's compensation rate is now 64,000 / 240,000 yuan guaranteed = 26.6666 % > 10 %.
    with pytest.raises(BankSuspendedError) as refused:
        approve(fund, zhou, "ICBC", 5_000_000, 12, D(2025, 8, 25))
    assert refused.value.code == "bank-suspended"
    assert str(refused.value) == (
        "new guarantees at bank ICBC are suspended: its compensation rate is 26.6666%, over the "
        "10.00% threshold (claims paid 64,000.00 yuan of 240,000.00 yuan guaranteed)"
    )
    # Recovery of 12,345.67 yuan: fund share 80 % = 9,876.536 → 9,876.54; bank 2,469.13.
    r = run(
        fund,
        lambda s: recoveries.record_recovery(
            s,
            bank="ICBC",
            contract_no="ICBC-002",
            amount=1_234_567,
            on=D(2025, 8, 15),
            actor="clerk",
        ),
    )
    assert (r.fund_share, r.bank_share) == (987_654, 246_913)

    # --- 周八 at ABC (4050) -------------------------------------------------------------
    g6 = approve(fund, zhou, "ABC", 5_000_000, 12, D(2025, 8, 25))
    assert g6 == "G2025-ABC-00003"
    disburse(
        fund, "ABC", "ABC-003", g6, "周八", zhou, D(2025, 9, 1), D(2026, 9, 1),
        5_000_000, "bullet",
    )  # fmt: skip

    # --- city's second tranche, placed in part at ABC ------------------------------------
    def tranche(s):
        a = capital.record_allocation(
            s, "city", 100_000_000, D(2025, 7, 1), actor="clerk2", reference="财字〔2025〕9号"
        )
        capital.approve_allocation(s, a.id, actor="approver2")
        capital.place_capital(s, "ABC", 50_000_000, D(2025, 7, 5), actor="clerk")

    run(fund, tranche)

    # --- quarterly deposit interest, shared by contributed capital on the date ----------
    # Until 2025-06-30 the weights are 500 : 200 : 60 : 40 (million yuan ÷ 10, total 800);
    # from 2025-07-01 500 : 300 : 60 : 40 (total 900). Largest remainder to the fen:
    # ICBC Q1 1,975.31: P 1,234.56875 C 493.8275 D 148.14825 O 98.7655
    #   floors 1,234.56+493.82+148.14+98.76 = 1,975.28, 3 fen to P (.875), D (.825), C (.75)
    assert interest(fund, "ICBC", 197_531, D(2025, 3, 21), "ICBC-INT-Q1") == (
        {"city": 49383, "district-D01": 14815, "other": 9876, "provincial": 123457}
    )
    # ABC Q1 658.43: P 411.51875 C 164.6075 D 49.38225 O 32.9215 → +1 P, +1 C
    interest(fund, "ABC", 65_843, D(2025, 3, 21), "ABC-INT-Q1")
    # ICBC Q2 2,413.57: P 1,508.48125 C 603.3925 D 181.01775 O 120.6785 → +1 D, +1 O
    interest(fund, "ICBC", 241_357, D(2025, 6, 21), "ICBC-INT-Q2")
    # ABC Q2 801.17: P 500.73125 C 200.2925 D 60.08775 O 40.0585 → +1 D, +1 O
    interest(fund, "ABC", 80_117, D(2025, 6, 21), "ABC-INT-Q2")
    # ICBC Q3 2,367.89 ÷ 900: P 1,315.494 C 789.2967 D 157.8593 O 105.2396 → +1 C, D, O
    interest(fund, "ICBC", 236_789, D(2025, 9, 21), "ICBC-INT-Q3")
    # ABC Q3 1,194.71: P 663.7278 C 398.2367 D 79.6473 O 53.0982 → +1 O, P, D
    interest(fund, "ABC", 119_471, D(2025, 9, 21), "ABC-INT-Q3")
    # ICBC Q4 2,380.13: P 1,322.2944 C 793.3767 D 158.6753 O 105.7836 → +1 C, D
    interest(fund, "ICBC", 238_013, D(2025, 12, 21), "ICBC-INT-Q4")
    # ABC Q4 1,234.57: P 685.8722 C 411.5233 D 82.3047 O 54.8698 → +1 O, D
    interest(fund, "ABC", 123_457, D(2025, 12, 21), "ABC-INT-Q4")
    # Income per source (fen):
    #   provincial 123,457 + 41,152 + 150,848 + 50,073 + 131,549 + 66,373 + 132,229 + 68,587
    #              = 764,268
    #   city        49,383 + 16,461 + 60,339 + 20,029 + 78,930 + 39,823 + 79,338 + 41,152
    #              = 385,455
    #   district    14,815 + 4,938 + 18,102 + 6,009 + 15,786 + 7,965 + 15,868 + 8,231 = 91,714
    #   other        9,876 + 3,292 + 12,068 + 4,006 + 10,524 + 5,310 + 10,578 + 5,487 = 61,141
    #   total 1,302,578 = ICBC 913,690 + ABC 388,888

    # --- write-off of 赵六's remaining receivable ----------------------------------------
    # 64,000.00 − 9,876.54 = 54,123.46 yuan, pro rata 500 : 300 : 60 : 40 on 2025-11-05:
    # P 30,068.5889 C 18,041.1533 D 3,608.2307 O 2,405.4871 → floors 54,123.44, +1 P, +1 O
    w = run(
        fund,
        lambda s: (
            recoveries.request_write_off(
                s,
                bank="ICBC",
                contract_no="ICBC-002",
                reason="借款人失联，追偿无果",
                on=D(2025, 11, 3),
                actor="clerk",
            ).id
        ),
    )
    row = run(
        fund, lambda s: recoveries.approve_write_off(s, w, on=D(2025, 11, 5), actor="approver")
    )
    assert (row.amount, row.rule) == (5_412_346, "pro_rata")
    assert row.allocation == (
        {"city": 1804115, "district-D01": 360823, "other": 240549, "provincial": 3006859}
    )

    # --- one extension: 张三's bullet loan, six months ----------------------------------
    ext = run(
        fund,
        lambda s: loans.extend_loan(
            s,
            bank="ICBC",
            contract_no="ICBC-001",
            new_maturity=D(2026, 8, 10),
            on=D(2025, 12, 1),
            actor="approver",
        ),
    )
    assert (ext.old_maturity, ext.new_maturity) == (D(2026, 2, 10), D(2026, 8, 10))

    # --- the statement ------------------------------------------------------------------
    with fund() as s:
        st = fund_statement(s, D(2025, 1, 1), D(2025, 12, 31))
        assert trial_balance(s).net == 0
        states = {
            c: loans.get_loan(s, b, c).status
            for b, c in [
                ("ICBC", "ICBC-001"),
                ("ICBC", "ICBC-002"),
                ("ICBC", "ICBC-003"),
                ("ABC", "ABC-001"),
                ("ABC", "ABC-002"),
                ("ABC", "ABC-003"),
            ]
        }
        mortgage_memo = balance_now(s, "memo:counter-guarantees:ABC")
        banks = {b.code: b for b in queries.banks_as_of(s, D(2025, 12, 31))}
    assert states == {
        "ICBC-001": "active",
        "ICBC-002": "written_off",
        "ICBC-003": "active",
        "ABC-001": "repaid",
        "ABC-002": "active",
        "ABC-003": "active",
    }
    assert mortgage_memo == 20_000_000  # 王五's mortgage still held

    assert st.opening == 0
    # Per source: contributed; income (above); losses (write-off); closing = c + i − l.
    #   city       300,000,000 + 385,455 − 1,804,115 = 298,581,340
    #   district    60,000,000 +  91,714 −   360,823 =  59,730,891
    #   other       40,000,000 +  61,141 −   240,549 =  39,820,592
    #   provincial 500,000,000 + 764,268 − 3,006,859 = 497,757,409
    rows = [(x.code, x.opening, x.contributed, x.income, x.losses, x.closing) for x in st.sources]
    assert rows == [
        ("city", 0, 300_000_000, 385_455, 1_804_115, 298_581_340),
        ("district-D01", 0, 60_000_000, 91_714, 360_823, 59_730_891),
        ("other", 0, 40_000_000, 61_141, 240_549, 39_820_592),
        ("provincial", 0, 500_000_000, 764_268, 3_006_859, 497_757_409),
    ]  # fmt: skip
    # Σ closing = 900,000,000 + 1,302,578 − 5,412,346 = 895,890,232
    assert st.closing == 895_890_232
    # Assets:
    #   treasury 800,000,000 − 400,000,000 placed + 100,000,000 tranche − 50,000,000 = 450M
    #   ABC  100,000,000 + 50,000,000 + interest 388,888 = 150,388,888
    #   ICBC 300,000,000 − claim 6,400,000 + recovery 987,654 + interest 913,690
    #        = 295,501,344
    #   receivable 6,400,000 − 987,654 − 5,412,346 = 0
    assert [(a.code, a.opening, a.closing) for a in st.assets] == [
        ("asset:treasury", 0, 450_000_000),
        ("asset:special:ABC", 0, 150_388_888),
        ("asset:special:ICBC", 0, 295_501_344),
        ("asset:receivable", 0, 0),
    ]
    assert (st.liabilities.opening, st.liabilities.closing) == (0, 0)
    # 450,000,000 + 150,388,888 + 295,501,344 + 0 − 0 = 895,890,232
    assert st.closing == sum(a.closing for a in st.assets) - st.liabilities.closing
    # Exposure, 80 % of principal outstanding on 2025-12-31:
    #   张三 70,000.00 → 56,000.00; 李四 15,000.00 → 12,000.00;
    #   王五 116,666.67 → 93,333.336 → 93,333.34; 周八 50,000.00 → 40,000.00;
    #   赵六 released by the claim payment; 孙七 repaid → 0.
    #   5,600,000 + 1,200,000 + 9,333,334 + 4,000,000 = 20,133,334
    assert (st.exposure.opening, st.exposure.closing) == (0, 20_133_334)
    assert {b: (x.placed, x.exposure, x.outstanding) for b, x in banks.items()} == {
        "ABC": (150_388_888, 13_333_334, 16_666_667),
        "ICBC": (295_501_344, 6_800_000, 8_500_000),
    }
    # Movements: debit side of each entry, memorandum accounts left out.
    assert st.movements == {
        "capital.allocation": 900_000_000,  # 800M (fixture) + 100M tranche
        "capital.placement": 450_000_000,  # 300M + 100M + 50M
        "claim.approval": 6_400_000,
        "claim.payment": 6_400_000,
        "interest.deposit": 1_302_578,
        "recovery": 987_654,
        "write-off": 5_412_346,
    }
