"""The trial balance, the balance sheet and the general-ledger detail as reports: every
figure to the fen over the reports' city, each posting's source, and drills that add up."""

from __future__ import annotations

import pytest

from ledger.errors import UnknownAccountError
from ledger.fund.models import Claim, Recovery
from ledger.reports.errors import ReportError
from ledger.reports.general_ledger import general_ledger
from ledger.reports.trial_balance import balance_sheet_report, trial_balance_report
from tests.fund.conftest import D
from tests.reports.helpers import cells, check_drills

END = D(2025, 12, 31)


def test_trial_balance_as_of_the_year_end(books):
    with books() as s:
        r = trial_balance_report(s, END)
        assert check_drills(s, r) == 27
    assert (r.kind, r.params) == ("trial-balance", (("as_of", "2025-12-31"),))
    assert cells(r, "accounts") == [
        ("asset:receivable:L2", "代偿应收-ABC-001", "资产", 0, 0),
        ("asset:receivable:L4", "代偿应收-ICBC-003", "资产", 3_200_000, 0),
        ("asset:special:ABC", "担保基金专户-农业银行", "资产", 87_200_000, 0),
        ("asset:special:ICBC", "担保基金专户-工商银行", "资产", 298_000_000, 0),
        ("asset:treasury", "财政待拨付资金", "资产", 410_000_000, 0),
        ("capital:city", "市级配套", "资本", 0, 200_000_000),
        ("capital:district-D01", "城东区配套", "资本", 0, 60_000_000),
        ("capital:other", "社会捐赠", "资本", 0, 40_000_000),
        ("capital:provincial", "省级拨付", "资本", 0, 500_000_000),
        ("expense:guarantee-loss:city", "代偿损失-市级配套", "损失", 700_000, 0),
        ("expense:guarantee-loss:district-D01", "代偿损失-城东区配套", "损失", 210_000, 0),
        ("expense:guarantee-loss:other", "代偿损失-社会捐赠", "损失", 140_000, 0),
        ("expense:guarantee-loss:provincial", "代偿损失-省级拨付", "损失", 1_750_000, 0),
        ("income:deposit-interest:city", "利息收入-市级配套", "收入", 0, 300_000),
        ("income:deposit-interest:district-D01", "利息收入-城东区配套", "收入", 0, 90_000),
        ("income:deposit-interest:other", "利息收入-社会捐赠", "收入", 0, 60_000),
        ("income:deposit-interest:provincial", "利息收入-省级拨付", "收入", 0, 750_000),
        ("liability:claims-payable:ABC", "应付代偿款-农业银行", "负债", 0, 0),
        ("liability:claims-payable:ICBC", "应付代偿款-工商银行", "负债", 0, 0),
        ("", "合计", "", 801_200_000, 801_200_000),
    ]
    assert cells(r, "memorandum") == [
        ("memo:exposure-contra:ABC", "在保责任对方-农业银行", "备查", 0, 4_800_000),
        ("memo:exposure-contra:ICBC", "在保责任对方-工商银行", "备查", 0, 12_800_000),
        ("memo:exposure:ABC:L2", "在保-ABC-001", "备查", 0, 0),
        ("memo:exposure:ABC:L6", "在保-ABC-002", "备查", 4_800_000, 0),
        ("memo:exposure:ICBC:L1", "在保-ICBC-001", "备查", 6_400_000, 0),
        ("memo:exposure:ICBC:L3", "在保-ICBC-002", "备查", 6_400_000, 0),
        ("memo:exposure:ICBC:L4", "在保-ICBC-003", "备查", 0, 0),
        ("memo:exposure:ICBC:L5", "在保-ICBC-004", "备查", 0, 0),
        ("", "合计", "", 17_600_000, 17_600_000),
    ]
    assert cells(r, "proof") == [
        ("科目余额", 801_200_000, 801_200_000, 0),
        ("备查登记", 17_600_000, 17_600_000, 0),
    ]
    with books() as s:  # before the write-off: its losses are not there
        earlier = trial_balance_report(s, D(2025, 9, 30))
    assert not [c for c in cells(earlier, "accounts") if c[0].startswith("expense")]


def test_balance_sheet_as_of_the_year_end(books):
    with books() as s:
        r = balance_sheet_report(s, END)
        assert check_drills(s, r) == 30
    assert cells(r, "assets") == [
        ("asset:receivable", "代偿应收款", 3_200_000),  # a loan's own account is summed
        ("asset:special", "担保基金专户存款", 385_200_000),
        ("asset:special:ABC", "　担保基金专户-农业银行", 87_200_000),
        ("asset:special:ICBC", "　担保基金专户-工商银行", 298_000_000),
        ("asset:treasury", "财政待拨付资金", 410_000_000),
        ("asset", "资产合计", 798_400_000),
    ]
    assert cells(r, "liabilities") == [
        ("liability:claims-payable", "应付代偿款", 0),
        ("liability:claims-payable:ABC", "　应付代偿款-农业银行", 0),
        ("liability:claims-payable:ICBC", "　应付代偿款-工商银行", 0),
        ("liability", "负债合计", 0),
    ]
    assert cells(r, "net_assets") == [
        ("capital", "基金资本", 800_000_000),
        ("capital:city", "市级配套", 200_000_000),
        ("capital:district-D01", "城东区配套", 60_000_000),
        ("capital:other", "社会捐赠", 40_000_000),
        ("capital:provincial", "省级拨付", 500_000_000),
        ("income", "收入", 1_200_000),
        ("income:deposit-interest", "专户存款利息收入", 1_200_000),
        ("income:deposit-interest:city", "　利息收入-市级配套", 300_000),
        ("income:deposit-interest:district-D01", "　利息收入-城东区配套", 90_000),
        ("income:deposit-interest:other", "　利息收入-社会捐赠", 60_000),
        ("income:deposit-interest:provincial", "　利息收入-省级拨付", 750_000),
        ("expense", "减：损失", 2_800_000),
        ("expense:guarantee-loss", "担保代偿损失核销", 2_800_000),
        ("expense:guarantee-loss:city", "　代偿损失-市级配套", 700_000),
        ("expense:guarantee-loss:district-D01", "　代偿损失-城东区配套", 210_000),
        ("expense:guarantee-loss:other", "　代偿损失-社会捐赠", 140_000),
        ("expense:guarantee-loss:provincial", "　代偿损失-省级拨付", 1_750_000),
        ("", "净资产合计", 798_400_000),
    ]
    assert cells(r, "memorandum") == [
        ("memo:exposure", "在保责任余额", 17_600_000),
        ("memo:exposure:ABC", "　在保责任余额-农业银行", 4_800_000),
        ("memo:exposure:ICBC", "　在保责任余额-工商银行", 12_800_000),
    ]
    assert cells(r, "proof") == [(798_400_000, 0, 798_400_000, 0)]


def test_ledger_detail_with_running_balance_and_sources(books):
    with books() as s:
        r = general_ledger(s, ["asset:special:ABC"], D(2025, 7, 1), END)
        assert check_drills(s, r) == 4  # opening, debits, credits, closing
        pay = s.query(Claim).filter_by(number="C2025-ABC-00002").one().pay_entry_id
        first, second = (x.entry_id for x in s.query(Recovery).order_by(Recovery.id))
    rows = r.section("postings").rows
    withdrawal = rows[4].cells[1]
    assert [row.cells for row in rows] == [
        (D(2025, 7, 1), "", "", "", "期初余额", "", None, None, 100_000_000),
        (D(2025, 7, 15), str(pay), "claim.payment", "asset:special:ABC",
         "代偿支付 C2025-ABC-00002：ABC 贷款 ABC-001，解除在保责任", "代偿 C2025-ABC-00002（支付）",
         None, 4_000_000, 96_000_000),
        (D(2025, 9, 1), str(first), "recovery", "asset:special:ABC",
         "追偿 ABC-001：共 10,000.00 元，基金分得 8,000.00 元", "追偿 #1（代偿 C2025-ABC-00002）",
         800_000, None, 96_800_000),
        (D(2025, 11, 15), str(second), "recovery", "asset:special:ABC",
         "核销后追偿 ABC-001：共 5,000.00 元，基金分得 4,000.00 元，冲减核销损失",
         "追偿 #2（代偿 C2025-ABC-00002）", 400_000, None, 97_200_000),
        (D(2025, 12, 1), withdrawal, "capital.withdrawal", "asset:special:ABC",
         "从农业银行担保基金专户调回", "专户调回（clerk）", None, 10_000_000, 87_200_000),
        (END, "", "", "", "本期合计及期末余额", "", 1_200_000, 14_000_000, 87_200_000),
    ]  # fmt: skip
    assert rows[-1].total and not rows[0].total
    # Each line links to its entry, and the entry to its source.
    assert rows[1].drill(1).list == "entry" and rows[1].drill(1).params == (("id", str(pay)),)
    assert rows[1].drill(5).list == "claim"
    assert rows[1].drill(5).params == (("number", "C2025-ABC-00002"),)
    assert rows[2].drill(5).list == "recovery" and rows[2].drill(5).params == (("id", "1"),)
    assert rows[4].drill(5).list == "entry"


def test_ledger_detail_filters(books):
    with books() as s:
        # The losses of one source: its debits are the write-off, its credits the recovery.
        debits = general_ledger(
            s, ["expense:guarantee-loss:provincial"], None, END, side="D"
        ).section("postings")
        credits = general_ledger(
            s, ["expense:guarantee-loss:provincial"], None, END, kind="recovery"
        ).section("postings")
        with pytest.raises(ReportError, match="side is D or C, not 'X'"):
            general_ledger(s, ["asset"], None, END, side="X")
        with pytest.raises(ReportError, match="name at least one account"):
            general_ledger(s, [], None, END)
        with pytest.raises(UnknownAccountError, match="account asset:nothing does not exist"):
            general_ledger(s, ["asset:nothing"], None, END)
    assert [(r.cells[4][:2], r.cells[6], r.cells[7], r.cells[8]) for r in debits.rows] == [
        ("期初", None, None, 0),
        ("核销", 2_000_000, None, 2_000_000),
        ("本期", 2_000_000, 0, 2_000_000),
    ]
    assert [(r.cells[2], r.cells[6], r.cells[7], r.cells[8]) for r in credits.rows] == [
        ("", None, None, 0),
        ("recovery", None, 250_000, -250_000),
        ("", 0, 250_000, -250_000),
    ]


def test_a_bank_file_entry_names_the_file_and_the_loan(factory):
    from tests.bankfiles.conftest import build_city, do_import

    build_city(factory)
    receipt = do_import(factory, "disbursement", "icbc_disbursement_gbk.csv")
    assert receipt.status == "accepted"
    with factory() as s:
        r = general_ledger(s, ["memo:exposure:ICBC"], D(2025, 4, 1), D(2025, 4, 30))
    sources = [(row.cells[3], row.cells[5]) for row in r.section("postings").rows[1:-1]]
    name = f"银行文件 #{receipt.id} ICBC 放款 icbc_disbursement_gbk.csv"
    assert sources == [
        ("memo:exposure:ICBC:L3", "放款 ICBC/GH2025-0003"),  # disbursed on its own
        ("memo:exposure:ICBC:L6", f"{name} · 贷款 ICBC/GH2025-0004"),
        ("memo:exposure:ICBC:L7", f"{name} · 贷款 ICBC/GH2025-0005"),
        ("memo:exposure:ICBC:L8", f"{name} · 贷款 ICBC/GH2025-0006"),
    ]
    assert r.section("postings").rows[1].drill(5).params == (("id", "3"),)
    assert r.section("postings").rows[2].drill(5).list == "receipt"
    assert r.section("postings").rows[2].drill(5).params == (("id", str(receipt.id)),)
