"""The fund statement as a report: every figure to the fen over the reports' city
(tests/reports/conftest.py), the proof line, and each figure's drill adding up to it."""

from __future__ import annotations

import pytest

from ledger.fund.errors import ReferenceDataError
from ledger.reports.errors import ReportError
from ledger.reports.fund_statement import fund_statement_report
from tests.fund.conftest import D
from tests.reports.helpers import cells, check_drills

H2 = (D(2025, 7, 1), D(2025, 12, 31))


def test_the_second_half_of_2025_to_the_fen(books):
    with books() as s:
        r = fund_statement_report(s, *H2)
        assert check_drills(s, r) == 62  # 24 capital, 24 movements, 10 assets, 4 exposure
    assert (r.kind, r.params) == ("fund-statement", (("from", "2025-07-01"), ("to", "2025-12-31")))
    assert [s.key for s in r.sections] == ["capital", "movements", "assets", "exposure", "proof"]
    assert cells(r, "capital") == [
        ("city", "市级配套", 200_000_000, 0, 300_000, 0, 800_000, 100_000, 199_600_000),
        ("district-D01", "城东区配套", 60_000_000, 0, 90_000, 0, 240_000, 30_000, 59_880_000),
        ("other", "社会捐赠", 40_000_000, 0, 60_000, 0, 160_000, 20_000, 39_920_000),
        ("provincial", "省级拨付", 500_000_000, 0, 750_000, 0, 2_000_000, 250_000, 499_000_000),
        ("", "合计", 800_000_000, 0, 1_200_000, 0, 3_200_000, 400_000, 798_400_000),
    ]
    assert cells(r, "movements") == [
        ("capital.withdrawal", "专户调回", 10_000_000, -10_000_000, 0, 0, 0),
        ("claim.approval", "代偿审核", 0, 0, 7_200_000, 7_200_000, 0),
        ("claim.payment", "代偿支付", 0, -7_200_000, 0, -7_200_000, 0),
        ("interest.deposit", "专户利息", 0, 1_200_000, 0, 0, 1_200_000),
        # 8,000 on 09-01 against the receivable; 4,000 on 11-15 after the write-off.
        ("recovery", "追偿", 0, 1_200_000, -800_000, 0, 400_000),
        ("write-off", "核销", 0, 0, -3_200_000, 0, -3_200_000),
        ("", "合计", 10_000_000, -14_800_000, 3_200_000, 0, -1_600_000),
    ]
    assert cells(r, "assets") == [
        ("asset:treasury", "财政待拨付资金", 400_000_000, 410_000_000),
        ("asset:special:ABC", "专户-农业银行", 100_000_000, 87_200_000),
        ("asset:special:ICBC", "专户-工商银行", 300_000_000, 298_000_000),
        ("asset:receivable", "代偿应收款", 0, 3_200_000),
        ("", "资产合计", 800_000_000, 798_400_000),
        ("liability:claims-payable", "减：应付代偿款", 0, 0),
        ("", "净资产（资产减负债）", 800_000_000, 798_400_000),
    ]
    assert cells(r, "exposure") == [
        ("ABC", "在保责任余额-农业银行", 8_800_000, 4_800_000),
        ("ICBC", "在保责任余额-工商银行", 20_000_000, 12_800_000),
        ("", "合计", 28_800_000, 17_600_000),
    ]
    # The proof line: net capital = assets − liabilities, the difference 0.
    assert cells(r, "proof") == [
        ("期初", 800_000_000, 800_000_000, 0, 0),
        ("期末", 798_400_000, 798_400_000, 0, 0),
    ]
    # Totals are marked; the movements' net total is closing − opening capital.
    assert [row.total for row in r.section("capital").rows] == [False] * 4 + [True]


def test_drills_name_the_lists_behind_the_figures(books):
    with books() as s:
        r = fund_statement_report(s, *H2)
    city = r.section("capital").rows[0]
    assert city.drill(6).params == (
        ("account", "expense:guarantee-loss:city"), ("from", "2025-07-01"),
        ("to", "2025-12-31"), ("side", "D"),
    )  # fmt: skip
    # Capital, interest and losses (no fee account: it opens with the first fee), signed
    # as capital: their list adds up to the source's net capital.
    assert city.drill(2).params == (
        ("account", "capital:city"), ("account", "income:deposit-interest:city"),
        ("account", "expense:guarantee-loss:city"), ("to", "2025-06-30"),
    )  # fmt: skip
    assert city.drill(5) is None  # guarantee fees: no account yet
    payment = r.section("movements").rows[2]
    assert payment.drill(1).list == "entries"
    assert payment.drill(1).params == (
        ("kind", "claim.payment"),
        ("from", "2025-07-01"),
        ("to", "2025-12-31"),
    )
    assert payment.drill(3).params == (
        ("account", "asset:special"), ("from", "2025-07-01"), ("to", "2025-12-31"),
        ("kind", "claim.payment"),
    )  # fmt: skip


def test_one_fund_and_refusals(books):
    with books() as s:
        city = fund_statement_report(s, *H2)
        own = fund_statement_report(s, *H2, fund="CITY")
        assert check_drills(s, own) == 62
        # Every account of the portfolio is the city's: the same figures.
        assert [x.rows for x in own.sections] != [] and all(
            cells(own, k.key) == cells(city, k.key) for k in city.sections
        )
        assert own.param("fund") == "CITY"
        assert own.fingerprint != city.fingerprint  # its parameters differ
        with pytest.raises(ReportError) as exc:
            fund_statement_report(s, D(2025, 7, 1), D(2025, 6, 30))
        assert str(exc.value) == "the period ends (2025-06-30) before it starts (2025-07-01)"
        assert exc.value.zh == "报表期间的结束日期（2025-06-30）早于开始日期（2025-07-01）"
        with pytest.raises(ReferenceDataError, match="no fund D09"):
            fund_statement_report(s, *H2, fund="D09")


def test_a_period_before_anything_has_only_totals_of_zero(books):
    with books() as s:
        r = fund_statement_report(s, D(2024, 1, 1), D(2024, 12, 31))
    assert cells(r, "capital") == [("", "合计", 0, 0, 0, 0, 0, 0, 0)]
    assert cells(r, "movements") == [("", "合计", 0, 0, 0, 0, 0)]
    assert cells(r, "exposure") == [("", "合计", 0, 0)]
    assert cells(r, "proof") == [("期初", 0, 0, 0, 0), ("期末", 0, 0, 0, 0)]
