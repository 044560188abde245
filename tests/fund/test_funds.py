"""Several funds in one set of books: the city-level fund and a district's own, each with
its sources, treasury, special accounts, cap and statements; a loan draws on the fund of
the jurisdiction that guarantees it; every figure per fund and consolidated."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ledger.balances import trial_balance
from ledger.cli import cli
from ledger.fund import capital, claims, funds, guarantees, loans, recoveries, reference
from ledger.fund.borrowers import register_borrower
from ledger.fund.errors import (
    FundError,
    FundJurisdictionError,
    LeverageCapError,
    ReferenceDataError,
)
from ledger.fund.leverage import capacity, placements_as_of
from ledger.fund.models import Loan
from ledger.fund.read.dashboard import dashboard
from ledger.fund.read.loans import loan_detail
from ledger.fund.schedule import add_months
from ledger.fund.statement import fund_statement
from ledger.models import Account
from ledger.verify import verify
from tests.fund.conftest import D, attempt, borrower_id, refused, run, snapshot

ESTABLISHED = D(2025, 2, 1)
#: 城西区's own fund: 500,000 yuan received 2025-02-03; 100,000 placed at ICBC and
#: 10,000 at ABC on 2025-02-05.
OWN = 50_000_000


@pytest.fixture
def two_funds(fund):
    def work(s):
        funds.add_fund(s, "D02", "城西区担保基金", "D02", ESTABLISHED, actor="admin")
        reference.add_capital_source(
            s, "D02-own", "城西区区级出资", "district", district="D02", fund="D02", actor="admin"
        )
        a = capital.record_allocation(s, "D02-own", OWN, D(2025, 2, 3), actor="clerk")
        capital.approve_allocation(s, a.id, actor="approver")
        capital.place_capital(s, "ICBC", 10_000_000, D(2025, 2, 5), actor="clerk", fund="D02")
        capital.place_capital(s, "ABC", 1_000_000, D(2025, 2, 5), actor="clerk", fund="D02")
        for serial, district in ((11, "D02"), (12, "D01"), (13, "D02")):
            register_borrower(
                s, id_number=borrower_id(serial), name=f"借款人{serial}", district=district,
                categories=["registered_unemployed"], actor="clerk",
            )  # fmt: skip

    run(fund, work)
    return fund


def approve(fund, serial, on, bank="ICBC", amount=10_000_000, fund_code=None):
    return run(
        fund,
        lambda s: guarantees.approve_guarantee(
            s, id_number=borrower_id(serial), bank=bank, amount=amount, term_months=12, on=on,
            actor="approver", fund=fund_code,
        ).number,
    )  # fmt: skip


def disburse(fund, serial, number, contract, on, bank="ICBC", principal=10_000_000, months=12):
    return run(
        fund,
        lambda s: loans.disburse(
            s, bank=bank, contract_no=contract, guarantee_no=number,
            borrower_name=f"借款人{serial}", id_number=borrower_id(serial), disbursed_on=on,
            maturity_on=add_months(on, months), principal=principal,
            annual_rate_ppm=45_000, method="bullet", actor=bank.lower(),
        ).loan.id,
    )  # fmt: skip


def balances(fund, *codes):
    with fund() as s:
        rows = dict(s.execute(select(Account.code, Account.balance)).all())
    return [rows.get(code) for code in codes]


def test_a_district_fund_has_its_own_accounts_at_every_bank(two_funds):
    with two_funds() as s:
        accounts = {a.code: a.fund for a in s.scalars(select(Account).where(Account.fund == "D02"))}
    assert accounts == {
        "asset:treasury-D02": "D02",
        "asset:special:ICBC-D02": "D02",
        "asset:special:ABC-D02": "D02",
        "memo:exposure:ICBC-D02": "D02",
        "memo:exposure:ABC-D02": "D02",
        "memo:exposure-contra:ICBC-D02": "D02",
        "memo:exposure-contra:ABC-D02": "D02",
        "liability:claims-payable:ICBC-D02": "D02",
        "liability:claims-payable:ABC-D02": "D02",
        "memo:counter-guarantees:ICBC-D02": "D02",
        "memo:counter-guarantees:ABC-D02": "D02",
        "memo:counter-guarantees-contra:ICBC-D02": "D02",
        "memo:counter-guarantees-contra:ABC-D02": "D02",
        "capital:D02-own": "D02",
        "income:deposit-interest:D02-own": "D02",
        "expense:guarantee-loss:D02-own": "D02",
    }
    # The money sits in the district fund's own treasury and special accounts.
    assert balances(
        two_funds, "asset:treasury-D02", "asset:special:ICBC-D02", "asset:special:ABC-D02",
        "asset:treasury", "asset:special:ICBC",
    ) == [39_000_000, 10_000_000, 1_000_000, 400_000_000, 300_000_000]  # fmt: skip


def test_a_bank_added_later_gets_every_funds_accounts(two_funds):
    run(two_funds, lambda s: reference.add_bank(s, "RCB", "农商银行", "81020001", actor="admin"))
    assert balances(two_funds, "asset:special:RCB", "asset:special:RCB-D02") == [0, 0]
    with two_funds() as s:
        row = s.scalar(select(Account).where(Account.code == "asset:special:RCB-D02"))
        assert (row.name, row.bank, row.fund) == (
            "担保基金专户-农商银行-城西区担保基金",
            "RCB",
            "D02",
        )


def test_one_fund_per_district_and_known_codes_only(two_funds):
    error = refused(
        ReferenceDataError,
        attempt(two_funds, lambda s: funds.add_fund(s, "XQ", "又一基金", "D02", ESTABLISHED,
                                                    actor="admin")),
    )  # fmt: skip
    assert (str(error), error.zh) == (
        "district D02 already has its fund D02",
        "区县 D02 已设立担保基金 D02",
    )
    error = refused(
        ReferenceDataError,
        attempt(two_funds, lambda s: funds.add_fund(s, "CITY", "市本级", "D01", ESTABLISHED,
                                                    actor="admin")),
    )  # fmt: skip
    assert error.zh == "CITY 为市本级担保基金代码"
    error = refused(
        ReferenceDataError,
        attempt(two_funds, lambda s: funds.add_fund(s, "D09", "某基金", "D09", ESTABLISHED,
                                                    actor="admin")),
    )  # fmt: skip
    assert error.zh == "区县 D09 不存在"
    error = refused(
        ReferenceDataError,
        attempt(two_funds, lambda s: reference.add_capital_source(
            s, "D01-x", "城东区出资", "district", district="D01", fund="D02", actor="admin")),
    )  # fmt: skip
    assert error.zh == "区县 D01 的配套资金不能计入 D02 的担保基金 D02"
    with two_funds() as s:
        assert [(f.code, f.district, f.established_on) for f in funds.funds(s)] == [
            ("CITY", None, None),
            ("D02", "D02", ESTABLISHED),
        ]


def test_a_fund_places_only_its_own_treasury(two_funds):
    before = snapshot(two_funds)
    error = refused(
        FundError,
        attempt(two_funds, lambda s: capital.place_capital(
            s, "ICBC", 40_000_000, D(2025, 2, 6), actor="clerk", fund="D02")),
    )  # fmt: skip
    assert str(error) == (
        "the treasury of fund D02 holds 390,000.00 yuan; cannot place 400,000.00 yuan at ICBC"
    )
    assert (
        error.zh == "城西区担保基金财政待拨付资金余额 390,000.00 元，不足以存入 ICBC 400,000.00 元"
    )
    assert snapshot(two_funds) == before


def test_a_loan_draws_on_the_fund_of_the_borrowers_jurisdiction(two_funds):
    own = approve(two_funds, 11, D(2025, 2, 10))  # 城西区, after its fund was set up
    early = approve(two_funds, 13, D(2025, 1, 20))  # 城西区, before: the city's
    other = approve(two_funds, 12, D(2025, 2, 10))  # 城东区 has no fund: the city's
    with two_funds() as s:
        got = {n: guarantees.get_commitment(s, n).fund_code for n in (own, early, other)}
    assert got == {own: "D02", early: "CITY", other: "CITY"}
    loan_id = disburse(two_funds, 11, own, "ICBC-D02-001", D(2025, 2, 12))
    with two_funds() as s:
        assert s.get(Loan, loan_id).fund_code == "D02"
        detail = loan_detail(s, "ICBC", "ICBC-D02-001", D(2025, 2, 12))
        assert detail.exposure_account == f"memo:exposure:ICBC-D02:L{loan_id}"
    assert balances(
        two_funds, f"memo:exposure:ICBC-D02:L{loan_id}", "memo:exposure-contra:ICBC-D02",
        "memo:exposure-contra:ICBC",
    ) == [8_000_000, 8_000_000, 0]  # fmt: skip


def test_a_district_fund_guarantees_its_own_residents_only(two_funds):
    before = snapshot(two_funds)
    error = refused(
        FundJurisdictionError,
        attempt(two_funds, lambda s: guarantees.approve_guarantee(
            s, id_number=borrower_id(12), bank="ICBC", amount=1_000_000, term_months=12,
            on=D(2025, 2, 10), actor="approver", fund="D02")),
    )  # fmt: skip
    assert (str(error), error.zh, error.code) == (
        "fund D02 guarantees residents of D02 only, not of D01",
        "担保基金 D02 仅为 D02 户籍居民担保，借款人所在区县为 D01",
        "fund-jurisdiction",
    )
    error = refused(
        FundJurisdictionError,
        attempt(two_funds, lambda s: guarantees.approve_guarantee(
            s, id_number=borrower_id(11), bank="ICBC", amount=1_000_000, term_months=12,
            on=D(2025, 1, 20), actor="approver", fund="D02")),
    )  # fmt: skip
    assert error.zh == "担保基金 D02 于 2025-02-01 设立，晚于申请日期 2025-01-20"
    assert snapshot(two_funds) == before
    # The city-level fund may still guarantee a resident of a district with its own fund.
    number = approve(two_funds, 11, D(2025, 2, 10), fund_code="CITY")
    with two_funds() as s:
        assert guarantees.get_commitment(s, number).fund_code == "CITY"


def test_the_cap_holds_per_fund_at_a_bank(two_funds):
    # ABC holds 10,000 yuan of 城西区's fund: at 5 times, 50,000 yuan of exposure; the city
    # fund's 1,000,000 yuan at the same bank does not lend it room.
    number = approve(two_funds, 11, D(2025, 2, 10), bank="ABC")
    before = snapshot(two_funds)
    error = refused(
        LeverageCapError,
        lambda: disburse(two_funds, 11, number, "ABC-D02-001", D(2025, 2, 12), bank="ABC"),
    )
    assert str(error) == (
        "bank ABC/D02: guarantee exposure would be 80,000.00 yuan, over the leverage cap of "
        "50,000.00 yuan (5 × special account 10,000.00 yuan; exposure now 0.00 yuan); short by "
        "30,000.00 yuan"
    )
    assert snapshot(two_funds) == before
    with two_funds() as s:
        city, own = (capacity(s, "ABC", D(2025, 2, 12), fund=f) for f in ("CITY", "D02"))
    assert (city.cap, city.remaining, own.cap, own.remaining) == (
        500_000_000,
        500_000_000,
        5_000_000,
        5_000_000,
    )
    # Withdrawing it is refused the same way once a loan uses it.
    run(two_funds, lambda s: capital.place_capital(s, "ABC", 1_000_000, D(2025, 2, 12),
                                                   actor="clerk", fund="D02"))  # fmt: skip
    disburse(two_funds, 11, number, "ABC-D02-001", D(2025, 2, 12), bank="ABC")
    error = refused(
        LeverageCapError,
        attempt(two_funds, lambda s: capital.withdraw_capital(
            s, "ABC", 500_000, D(2025, 2, 13), actor="clerk", fund="D02")),
    )  # fmt: skip
    assert error.zh == (
        "ABC/D02 调回 5,000.00 元后放大倍数上限为 75,000.00 元，低于在保余额 80,000.00 元，"
        "缺口 5,000.00 元"
    )


def test_a_claim_and_a_write_off_stay_in_the_fund(two_funds):
    number = approve(two_funds, 11, D(2025, 2, 10))
    disburse(two_funds, 11, number, "ICBC-D02-001", D(2025, 2, 12), months=6)

    def default(s):
        claims.file_claim(s, bank="ICBC", contract_no="ICBC-D02-001", on=D(2025, 11, 17),
                          actor="icbc")  # fmt: skip
        claims.approve_claim(s, "C2025-ICBC-00001", on=D(2025, 11, 18), actor="approver")
        claims.pay_claim(s, "C2025-ICBC-00001", on=D(2025, 11, 19), actor="approver2")
        recoveries.request_write_off(
            s, bank="ICBC", contract_no="ICBC-D02-001", reason="借款人失联", on=D(2026, 3, 2),
            actor="clerk",
        )  # fmt: skip
        return recoveries.approve_write_off(s, 1, on=D(2026, 3, 3), actor="approver").allocation

    assert run(two_funds, default) == {"D02-own": 8_000_000}
    assert balances(
        two_funds, "asset:special:ICBC-D02", "asset:special:ICBC",
        "expense:guarantee-loss:D02-own", "expense:guarantee-loss:provincial",
    ) == [2_000_000, 300_000_000, 8_000_000, 0]  # fmt: skip
    with two_funds() as s:
        assert verify(s).ok


def test_figures_per_fund_and_consolidated(two_funds):
    number = approve(two_funds, 11, D(2025, 2, 10))
    disburse(two_funds, 11, number, "ICBC-D02-001", D(2025, 2, 12))
    city_number = approve(two_funds, 12, D(2025, 2, 10))
    disburse(two_funds, 12, city_number, "ICBC-001", D(2025, 2, 12), principal=5_000_000)
    on = D(2025, 3, 31)
    with two_funds() as s:
        own = fund_statement(s, D(2025, 1, 1), on, "D02")
        city = fund_statement(s, D(2025, 1, 1), on, "CITY")
        whole = fund_statement(s, D(2025, 1, 1), on)
        boards = {f: dashboard(s, on, f) for f in ("D02", "CITY", None)}
        caps = [(c.label, c.special, c.exposure) for c in placements_as_of(s, on)]
        with pytest.raises(ReferenceDataError):
            dashboard(s, on, "D07")
    assert [(x.code, x.closing) for x in own.sources] == [("D02-own", OWN)]
    assert [(a.name, a.closing) for a in own.assets] == [
        ("财政待拨付资金", 39_000_000),
        ("专户-农业银行", 1_000_000),
        ("专户-工商银行", 10_000_000),
        ("代偿应收款", 0),
    ]
    assert (own.exposure.closing, city.exposure.closing, whole.exposure.closing) == (
        8_000_000,
        4_000_000,
        12_000_000,
    )
    for statement in (own, city, whole):
        assets = sum(a.closing for a in statement.assets) - statement.liabilities.closing
        assert statement.closing == assets
    assert whole.closing == own.closing + city.closing == 800_000_000 + OWN
    assert [a.closing for a in whole.assets] == [
        a.closing + b.closing for a, b in zip(own.assets, city.assets, strict=True)
    ]
    assert own.movements == {"capital.allocation": OWN, "capital.placement": 11_000_000}
    assert (boards["D02"].exposure, boards["CITY"].exposure, boards[None].exposure) == (
        8_000_000,
        4_000_000,
        12_000_000,
    )
    assert [(b.code, b.fund) for b in boards[None].banks] == [
        ("ABC", "CITY"),
        ("ICBC", "CITY"),
        ("ABC", "D02"),
        ("ICBC", "D02"),
    ]
    assert caps == [
        ("ABC", 100_000_000, 0),
        ("ICBC", 300_000_000, 4_000_000),
        ("ABC/D02", 1_000_000, 0),
        ("ICBC/D02", 10_000_000, 8_000_000),
    ]
    assert [s.code for s in boards["D02"].capital] == ["D02-own"]
    with two_funds() as s:
        assert trial_balance(s).net == 0


def test_the_command_line_names_the_fund(two_funds, db_url):
    runner = CliRunner()
    env = {"DATABASE_URL": db_url, "FUNDLEDGER_ACTOR": "admin"}
    result = runner.invoke(cli, ["fund", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "CITY  市本级担保基金  -         -",
        "D02   城西区担保基金  D02       2025-02-01",
    ]
    result = runner.invoke(
        cli,
        ["capital", "place", "ICBC", "1000", "--on", "2025-02-06", "--fund", "D02",
         "--actor", "clerk"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith("placed 1,000.00 yuan of fund D02 at ICBC on 2025-02-06")
    result = runner.invoke(cli, ["report", "banks", "--as-of", "2025-02-06", "--fund", "D02"],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "banks as of 2025-02-06, fund D02 (yuan)"
    assert lines[2].split()[:2] == ["ABC/D02", "10,000.00"]
    assert lines[3].split()[:2] == ["ICBC/D02", "101,000.00"]
    result = runner.invoke(cli, ["capital", "show", "--as-of", "2025-02-06", "--fund", "D09"],
                           env=env)  # fmt: skip
    assert result.exit_code != 0
    assert "担保基金 D09 不存在" in result.output


def test_a_guarantee_fee_is_income_of_one_fund(two_funds):
    """A fee received for a district fund's loans lands in its treasury and is attributed
    to its own sources; its statement still proves net capital = assets − liabilities."""
    from ledger.fund import fees, policy

    def work(s):
        policy.record_override(
            s, effective_from=D(2025, 1, 1), params={"guarantee_fee": {"rate_ppm": 10_000}},
            actor="admin", note="区财政局 2025 年第 3 号文", backdated=True,
        )  # fmt: skip
        return fees.record_guarantee_fee(
            s, 12_345, D(2025, 3, 31), "区担保费1号", period_from=D(2025, 1, 1),
            period_to=D(2025, 3, 31), actor="clerk", fund="D02",
        ).allocation  # fmt: skip

    assert run(two_funds, work) == {"D02-own": 12_345}
    assert balances(
        two_funds, "asset:treasury-D02", "income:guarantee-fee:D02-own", "asset:treasury"
    ) == [39_012_345, 12_345, 400_000_000]
    with two_funds() as s:
        own = fund_statement(s, D(2025, 1, 1), D(2025, 3, 31), "D02")
        assert verify(s).ok
    assert [(x.code, x.income, x.closing) for x in own.sources] == [
        ("D02-own", 12_345, OWN + 12_345)
    ]
    assert own.closing == sum(a.closing for a in own.assets) - own.liabilities.closing


def test_lists_filter_by_fund(two_funds):
    from ledger.fund.read.claims import claims_page
    from ledger.fund.read.loans import loans_page

    own = approve(two_funds, 11, D(2025, 2, 10))
    disburse(two_funds, 11, own, "ICBC-D02-001", D(2025, 2, 12), months=6)
    city = approve(two_funds, 12, D(2025, 2, 10))
    disburse(two_funds, 12, city, "ICBC-001", D(2025, 2, 12), principal=5_000_000)
    run(two_funds, lambda s: claims.file_claim(s, bank="ICBC", contract_no="ICBC-D02-001",
                                               on=D(2025, 11, 17), actor="icbc"))  # fmt: skip
    with two_funds() as s:
        assert [(r.contract_no, r.fund) for r in loans_page(s).items] == [
            ("ICBC-001", "CITY"),
            ("ICBC-D02-001", "D02"),
        ]
        assert [r.contract_no for r in loans_page(s, fund="D02").items] == ["ICBC-D02-001"]
        assert [r.contract_no for r in loans_page(s, fund="CITY").items] == ["ICBC-001"]
        assert [r.contract_no for r in claims_page(s, fund="D02").items] == ["ICBC-D02-001"]
        assert claims_page(s, fund="CITY").items == ()
        assert loan_detail(s, "ICBC", "ICBC-D02-001", D(2025, 3, 1)).loan.fund == "D02"
