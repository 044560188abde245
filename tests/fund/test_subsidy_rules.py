"""The national rules' interest subsidy applied to loans of their eras, through the books:
2003 individual loans by project and trade (2002 rules), and a 2009 labour-intensive small
enterprise's share of the benchmark rate, split between central and local finance (2008
rules)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from ledger.cli import cli
from ledger.fund import guarantees, loans, queries
from ledger.fund.borrowers import register_borrower
from ledger.fund.credentials import register_credential
from ledger.fund.errors import ReferenceDataError, StateError
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import Commitment
from ledger.fund.read.loans import loan_detail
from ledger.fund.subsidy import SubsidyLine, subsidy_claim
from tests.fund.conftest import D, borrower_id, refused, run, setup_fund

BORN = D(1965, 4, 1)
#: Every loan of the 2002 and 2008 rules needs a counter-guarantee, or a credit
#: community's waiver.
WAIVER = (CounterGuaranteeSpec("credit_community", 0, description="信用社区推荐"),)


@pytest.fixture
def fund2003(factory):
    """The test fund with its capital received in January 2003 and placed on 2003-01-10."""
    return setup_fund(factory, received_on=D(2003, 1, 2), placed_on=D(2003, 1, 10))


def borrower(fund, serial, *, kind="individual", certificate=True):
    number = borrower_id(serial, born=BORN)

    def work(s):
        register_borrower(
            s, id_number=number, name=f"借款人{serial}", district="D01",
            categories=["registered_unemployed"], borrower_type=kind, actor="clerk",
        )  # fmt: skip
        if certificate:  # the 2002 rules' gate for an individual loan
            register_credential(
                s, number, "reemployment_certificate", f"豫再就业证 0301-{serial:06d}",
                issued_by="郑州市劳动和社会保障局", issued_on=D(2003, 3, 10), actor="clerk",
                today=D(2025, 12, 31),
            )  # fmt: skip

    run(fund, work)
    return number


def guarantee_and_loan(fund, serial, number, contract, *, approved, disbursed, maturity, principal,
                       rate, project=None, trade=None):  # fmt: skip
    def work(s):
        c = guarantees.approve_guarantee(
            s, id_number=number, bank="ICBC", amount=principal, term_months=12, on=approved,
            actor="approver", counter_guarantees=WAIVER, project_kind=project, trade=trade,
        )  # fmt: skip
        loans.disburse(
            s, bank="ICBC", contract_no=contract, guarantee_no=c.number,
            borrower_name=f"借款人{serial}", id_number=number, disbursed_on=disbursed,
            maturity_on=maturity, principal=principal, annual_rate_ppm=rate, method="bullet",
            actor="icbc",
        )  # fmt: skip
        return c.number

    return run(fund, work)


def loan_2003(fund, serial, contract, project, trade):
    """2万 at the benchmark rate of 5.31 % (the 2002 rules allow no mark-up), a bullet
    loan disbursed on 2003-06-05 for a year."""
    number = borrower(fund, serial)
    return guarantee_and_loan(
        fund, serial, number, contract, approved=D(2003, 6, 2), disbursed=D(2003, 6, 5),
        maturity=D(2004, 6, 5), principal=2_000_000, rate=53_100, project=project, trade=trade,
    )  # fmt: skip


def claim(fund, year, quarter):
    with fund() as s:
        return dict(queries.subsidy_claim(s, "ICBC", year, quarter))


def test_2003_individual_loans_by_project_and_trade(fund2003):
    loan_2003(fund2003, 1, "ICBC-2003-001", "micro_profit", "catering")
    loan_2003(fund2003, 2, "ICBC-2003-002", "micro_profit", "internet_cafe")
    loan_2003(fund2003, 3, "ICBC-2003-003", "other", "retail")
    lines = claim(fund2003, 2003, 3)
    # A micro-profit project in a trade the rules allow: all its interest, from central
    # finance. Q3 2003 is 92 days; 20,000 × 5.31 % / 360 = 2.95 yuan a day → 271.40 yuan.
    assert lines["ICBC-2003-001"] == SubsidyLine(
        2003, 3, 92, 92, 0, 0, interest_base=27_140, subsidy=27_140, withheld=None,
        central=27_140, local=0,
    )  # fmt: skip
    # The same loan in a restricted trade (网吧): nothing.
    assert lines["ICBC-2003-002"] == SubsidyLine(
        2003, 3, 92, 92, 0, 0, interest_base=27_140, subsidy=0, withheld="restricted_trade",
        central=0, local=0,
    )  # fmt: skip
    # Not a micro-profit project: nothing.
    assert lines["ICBC-2003-003"] == SubsidyLine(
        2003, 3, 92, 92, 0, 0, interest_base=27_140, subsidy=0, withheld="not_micro_profit",
        central=0, local=0,
    )  # fmt: skip
    total = subsidy_claim(sorted(lines.items()))
    assert (total["loans"], total["subsidy"]) == (3, 27_140)


def test_the_subsidy_report_says_who_pays_and_why_a_loan_gets_none(fund2003, db_url):
    loan_2003(fund2003, 1, "ICBC-2003-001", "micro_profit", "catering")
    loan_2003(fund2003, 2, "ICBC-2003-002", "micro_profit", "internet_cafe")
    args = ["--database-url", db_url, "report", "subsidy", "--bank", "ICBC", "--year", "2003",
            "--quarter", "3"]  # fmt: skip
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "interest subsidy ICBC 2003Q3: 2 loans (yuan)",
        "contract       days  subsidised  overdue  extended  interest  subsidy  central  local"
        "  withheld",
        "ICBC-2003-001    92          92        0         0    271.40   271.40   271.40   0.00",
        "ICBC-2003-002    92          92        0         0    271.40     0.00     0.00   0.00"
        "  restricted_trade (国家限制行业)",
        "total                                                 542.80   271.40   271.40   0.00",
    ]


def test_a_project_not_recorded_earns_nothing_until_an_approver_records_it(fund2003):
    number = loan_2003(fund2003, 4, "ICBC-2003-004", None, None)
    line = claim(fund2003, 2003, 3)["ICBC-2003-004"]
    assert (line.subsidy, line.withheld) == (0, "project_not_recorded")
    e = refused(
        StateError, run, fund2003,
        lambda s: guarantees.record_project(
            s, number, project_kind="micro_profit", trade=None, actor="approver"
        ),
    )  # fmt: skip
    assert (str(e), e.zh) == (
        "record both the project kind and the trade",
        "须同时登记项目类型和所属行业",
    )
    run(
        fund2003,
        lambda s: guarantees.record_project(
            s, number, project_kind="micro_profit", trade="repair", actor="approver"
        ),
    )
    line = claim(fund2003, 2003, 3)["ICBC-2003-004"]
    assert (line.subsidy, line.withheld, line.central, line.local) == (27_140, None, 27_140, 0)
    # Once recorded, never changed.
    e = refused(
        StateError, run, fund2003,
        lambda s: guarantees.record_project(
            s, number, project_kind="other", trade="retail", actor="approver"
        ),
    )  # fmt: skip
    assert str(e) == (
        f"commitment {number} already records its project (micro_profit, trade repair); "
        "it is not changed"
    )
    assert e.zh == f"担保承诺 {number} 已登记项目（micro_profit，行业 repair），不能更改"
    with fund2003() as s:
        detail = loan_detail(s, "ICBC", "ICBC-2003-004", D(2003, 9, 30))
    assert (detail.commitment.project_kind, detail.commitment.trade) == ("micro_profit", "repair")


def test_a_2009_labour_intensive_small_enterprise_gets_half_the_benchmark(fund2003):
    number = borrower(fund2003, 5, kind="small_enterprise", certificate=False)
    # 100万 at 6.31 %, the benchmark (5.31 % since 2008-12-23) plus one point.
    guarantee_and_loan(
        fund2003, 5, number, "ICBC-2009-001", approved=D(2009, 2, 27), disbursed=D(2009, 3, 2),
        maturity=D(2010, 3, 2), principal=100_000_000, rate=63_100, project="other",
        trade="processing",
    )  # fmt: skip
    line = claim(fund2003, 2009, 2)["ICBC-2009-001"]
    # 50 % of the benchmark, not of the contract rate: 1,000,000 × 2.655 % / 360 = 73.75
    # yuan a day, 91 days = 6,711.25 yuan; central and local finance half each, the odd fen
    # to central (3,355.625 → 3,355.63), local the rest.
    assert line == SubsidyLine(
        2009, 2, 91, 91, 0, 0, interest_base=1_595_028, subsidy=671_125, withheld=None,
        central=335_563, local=335_562,
    )  # fmt: skip
    assert line.central + line.local == line.subsidy
    # The interest base is at the contract rate: 1,000,000 × 6.31 % × 91 / 360.
    assert line.interest_base == 1_595_028


def test_an_unknown_trade_or_project_kind_is_refused_with_nothing_written(fund2003):
    number = borrower(fund2003, 6)

    def attempt(project, trade):
        return lambda: run(
            fund2003,
            lambda s: guarantees.approve_guarantee(
                s, id_number=number, bank="ICBC", amount=2_000_000, term_months=12,
                on=D(2003, 6, 2), actor="approver", counter_guarantees=WAIVER,
                project_kind=project, trade=trade,
            ),
        )  # fmt: skip

    e = refused(ReferenceDataError, attempt("micro_profit", "casino"))
    assert (str(e), e.code) == (
        "unknown trade 'casino': use a trade code of the policy file's catalogue",
        "reference-data",
    )
    assert e.zh == "未知的行业代码 'casino'，请使用政策文件行业目录中的代码"
    e = refused(ReferenceDataError, attempt("small", "retail"))
    assert str(e) == "unknown project kind 'small': use one of micro_profit, other"
    with fund2003() as s:
        assert s.scalar(select(func.count()).select_from(Commitment)) == 0
