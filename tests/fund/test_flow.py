"""One loan's life from approval to write-off, through the public operations."""

from ledger import chart
from ledger.balances import trial_balance
from ledger.fund import capital, claims, guarantees, loans, queries, recoveries
from ledger.fund.books import balance_now
from tests.fund.conftest import D, run


def test_loan_life(fund, borrower):
    c = run(
        fund,
        lambda s: (
            guarantees.approve_guarantee(
                s,
                id_number=borrower,
                bank="ICBC",
                amount=10_000_000,
                term_months=24,
                on=D(2025, 3, 1),
                actor="approver",
            ).number
        ),
    )
    assert c == "G2025-ICBC-00001"
    d = run(
        fund,
        lambda s: (
            loans.disburse(
                s,
                bank="ICBC",
                contract_no="ICBC-2025-001",
                guarantee_no=c,
                borrower_name="张三",
                id_number=borrower,
                disbursed_on=D(2025, 3, 5),
                maturity_on=D(2026, 3, 5),
                principal=10_000_000,
                annual_rate_ppm=45_000,
                method="bullet",
                actor="icbc",
            ).loan.id
        ),
    )
    with fund() as s:
        assert balance_now(s, f"memo:exposure:ICBC:L{d}") == 8_000_000
    run(
        fund,
        lambda s: loans.repay(
            s,
            bank="ICBC",
            bank_ref="R1",
            contract_no="ICBC-2025-001",
            paid_on=D(2025, 9, 5),
            principal=2_000_000,
            interest=0,
            balance_after=8_000_000,
            actor="icbc",
        ),
    )
    with fund() as s:
        assert balance_now(s, f"memo:exposure:ICBC:L{d}") == 6_400_000
    number = run(
        fund,
        lambda s: (
            claims.file_claim(
                s, bank="ICBC", contract_no="ICBC-2025-001", on=D(2026, 6, 10), actor="icbc"
            ).number
        ),
    )
    run(fund, lambda s: claims.approve_claim(s, number, on=D(2026, 6, 12), actor="approver"))
    run(fund, lambda s: claims.pay_claim(s, number, on=D(2026, 6, 15), actor="approver2"))
    with fund() as s:
        assert balance_now(s, f"asset:receivable:L{d}") == 6_400_000
        assert balance_now(s, chart.special_account("ICBC")) == 300_000_000 - 6_400_000
        assert balance_now(s, f"memo:exposure:ICBC:L{d}") == 0
    r = run(
        fund,
        lambda s: recoveries.record_recovery(
            s,
            bank="ICBC",
            contract_no="ICBC-2025-001",
            amount=1_000_000,
            on=D(2026, 7, 1),
            actor="clerk",
        ),
    )
    assert (r.fund_share, r.bank_share) == (800_000, 200_000)
    w = run(
        fund,
        lambda s: (
            recoveries.request_write_off(
                s,
                bank="ICBC",
                contract_no="ICBC-2025-001",
                reason="借款人死亡",
                on=D(2026, 8, 1),
                actor="clerk",
            ).id
        ),
    )
    run(fund, lambda s: recoveries.approve_write_off(s, w, on=D(2026, 8, 3), actor="approver"))
    with fund() as s:
        by_source = {x.code: x for x in queries.capital_by_source(s, D(2026, 12, 31))}
        assert sum(x.losses for x in by_source.values()) == 5_600_000
        assert by_source["provincial"].losses == 3_500_000
        assert trial_balance(s).net == 0
        assert capital.contributed_as_of(s, D(2026, 1, 1))["city"] == 200_000_000


def test_statement_after_allocations(fund):
    from ledger.fund.statement import fund_statement

    with fund() as s:
        st = fund_statement(s, D(2025, 1, 1), D(2025, 12, 31))
    assert st.opening == 0
    assert st.closing == 800_000_000
    assert {x.code: x.contributed for x in st.sources}["city"] == 200_000_000
    assert [(a.code, a.closing) for a in st.assets] == [
        ("asset:treasury", 400_000_000),
        ("asset:special:ABC", 100_000_000),
        ("asset:special:ICBC", 300_000_000),
        ("asset:receivable", 0),
    ]
    assert st.movements == {"capital.allocation": 800_000_000, "capital.placement": 400_000_000}
