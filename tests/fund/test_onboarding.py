"""Onboarding existing books from a workbook: the template, a portfolio of 1,000 loans
posted to the fen, and workbooks refused whole."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text

from ledger.balances import trial_balance
from ledger.bankfiles import onboarding
from ledger.bankfiles.onboarding import COLUMNS, OnboardingRejectedError
from ledger.fund import reference
from ledger.fund.books import share
from ledger.fund.identity import Sex, make_resident_id
from ledger.fund.models import FUND_TABLES, Loan, Repayment
from ledger.fund.schedule import Method, build_schedule
from ledger.principal import SYSTEM
from ledger.verify import verify

from .conftest import run

D = dt.date
CUT_OVER = D(2025, 12, 31)
TODAY = D(2026, 1, 5)
BANKS = ("ICBC", "ABC", "CCB")
BANK_NAMES = {"ICBC": "工商银行", "ABC": "农业银行", "CCB": "建设银行"}
METHOD_ZH = {
    Method.INTEREST_ONLY: "按月付息到期还本",
    Method.BULLET: "到期一次还本付息",
    Method.ANNUITY: "按月等额本息",
    Method.EQUAL_PRINCIPAL: "按月等额本金",
}


def users(factory):
    def work(s):
        reference.add_user(s, "admin", "管理员", ["admin", "clerk"], actor=SYSTEM)
        reference.add_user(s, "approver", "李审核", ["approver"], actor="admin")

    run(factory, work)
    return factory


def onboard(book, actor="admin", approver="approver"):
    """The work of onboarding ``book``, for :func:`run`."""
    return lambda s: onboarding.onboard(s, book, actor=actor, approver=approver, today=TODAY)


def write_book(path, sheets: dict[str, list[tuple]], cut_over=CUT_OVER):
    """A workbook with the onboarding sheets: each sheet's headers, then ``sheets``' rows."""
    wb = Workbook()
    info = wb.active
    info.title = "基本信息"
    info.append(["项目", "内容"])
    info.append(["切换日期", cut_over])
    for name, columns in COLUMNS.items():
        ws = wb.create_sheet(name)
        ws.append([h for h, _ in columns])
        for row in sheets.get(name, []):
            ws.append(list(row))
    wb.save(path)
    return path


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def base_sheets() -> dict[str, list[tuple]]:
    return {
        "区县": [("D02", "城西区"), ("D03", "新河县")],
        "基金": [("D01", "城东区担保基金", "D01", "城东区", D(2023, 1, 6))],
        "资金来源": [
            ("provincial", "省级拨付", "省级", None, None, "20000000.00", None, None),
            ("city", "市级配套", "市级", None, None, "10000000", None, None),
            (
                "D02-match",
                "城西区配套",
                "区县",
                "D02",
                None,
                "1500000.50",
                "2000000",
                D(2024, 6, 30),
            ),
            ("D01-own", "城东区自筹", "区县", "D01", "D01", "16000000.00", None, None),
        ],
        "专户存放": [
            *((None, b, BANK_NAMES[b], f"6222{n:012d}", "8000000.00") for n, b in enumerate(BANKS)),
            *(
                ("D01", b, BANK_NAMES[b], f"6222{n:012d}", "5000000.00")
                for n, b in enumerate(BANKS)
            ),
        ],
    }


def loan_row(n: int) -> tuple:
    """Loan ``n`` of the generated portfolio: current loans of every method, and every
    50th a bullet loan matured unpaid, with a claim pending."""
    district = ("D01", "D02", "D03")[n % 3]
    bank = BANKS[(n // 3) % 3]
    born = D(1975, 1, 1) + dt.timedelta(days=9 * n)
    sex = Sex.MALE if n % 2 else Sex.FEMALE
    number = make_resident_id("110105", born, n % 100, sex)
    principal = 5_000_000 + (n * 4_567_89) % 5_000_000
    month = n % 24
    disbursed = D(2024 + month // 12, month % 12 + 1, 1 + 14 * (n % 2))
    rate = 38_500
    if n % 50 == 7:
        disbursed = D(2024, 2, 1)
        maturity, method, outstanding = D(2025, 8, 1), Method.BULLET, principal
        days, claim = (CUT_OVER - maturity).days, share(principal, 800_000)
    else:
        method = (Method.INTEREST_ONLY, Method.BULLET, Method.ANNUITY, Method.EQUAL_PRINCIPAL)[
            n % 4
        ]
        years = 2 if disbursed.year == 2025 or n % 5 else 3
        maturity = D(disbursed.year + years, disbursed.month, disbursed.day)
        schedule = build_schedule(principal, rate, method, disbursed, maturity)
        outstanding = principal - sum(i.principal for i in schedule if i.due_on <= CUT_OVER)
        if method in (Method.INTEREST_ONLY, Method.BULLET) and n % 3 == 0:
            outstanding = principal - principal // 4  # prepaid a quarter
        days, claim = 0, None
    return (
        f"借款人{n}", number, district, "个人", None, "登记失业人员", bank, None,
        f"{bank}-{n:05d}", yuan(principal), yuan(outstanding), disbursed, maturity, "3.85",
        METHOD_ZH[method], "80", days, None if claim is None else yuan(claim),
    )  # fmt: skip


def portfolio(path, count: int):
    sheets = base_sheets()
    sheets["在保贷款"] = [loan_row(n) for n in range(count)]
    return write_book(path, sheets)


def table_counts(factory) -> dict[str, int]:
    tables = (*FUND_TABLES, "journal_entries", "postings", "accounts")
    with factory() as s:
        return {t: s.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables}


def balances_snapshot(factory):
    with factory() as s:
        return [(x.code, x.debit, x.credit) for x in trial_balance(s).lines]


# --------------------------------------------------------------------------- template


def test_template_round_trips(tmp_path, factory):
    path = tmp_path / "template.xlsx"
    onboarding.write_template(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["基本信息", "区县", "基金", "资金来源", "专户存放", "在保贷款", "说明"]
    assert [c.value for c in wb["在保贷款"][1]][:3] == ["借款人姓名", "身份证号", "区县"]
    # Fill it in: a second loan, and a later cut-over date.
    wb["基本信息"]["B2"] = D(2025, 12, 31)
    second = make_resident_id("110105", D(1985, 3, 2), 7, Sex.FEMALE)
    wb["在保贷款"].append(
        ["李梅", second, "D01", "个人", None, "登记失业人员、退役军人", "ICBC", None,
         "ICBC-2025-0002", "80000", "80000", D(2025, 6, 15), D(2027, 6, 15), "3.5",
         "到期一次还本付息", "80", 0, None]
    )  # fmt: skip
    wb.save(path)
    book = onboarding.read_workbook(path, today=TODAY)
    assert book.cut_over == D(2025, 12, 31)
    assert [(d.code, d.name) for d in book.districts] == [("D02", "城西区")]
    assert [(f.code, f.district, f.established_on) for f in book.funds] == [
        ("D01", "D01", D(2023, 1, 6))
    ]
    assert [(s.code, s.kind, s.fund, s.contributed) for s in book.sources] == [
        ("provincial", "provincial", "CITY", 300_000_000),
        ("D01-own", "district", "D01", 100_000_000),
    ]
    first, loan = book.loans
    assert (first.fund, first.outstanding, first.method) == ("CITY", 6_000_000, "interest_only")
    assert (loan.fund, loan.principal) == ("D01", 8_000_000)
    assert loan.categories == ("registered_unemployed", "veteran")
    users(factory)
    result = run(factory, onboard(book))
    assert result.matches
    assert result.books.exposure == {("CITY", "ICBC"): 4_800_000, ("D01", "ICBC"): 6_400_000}
    assert result.books.treasury == {"CITY": 100_000_000, "D01": 20_000_000}


# --------------------------------------------------------------------------- 1,000 loans


def test_a_thousand_loans_post_and_match_the_workbook(tmp_path, factory):
    path = portfolio(tmp_path / "books.xlsx", 1000)
    users(factory)
    book = onboarding.read_workbook(path, today=TODAY)
    result = run(factory, onboard(book))
    expected = book.totals()
    assert result.books == expected
    assert expected.loans == 1000
    assert expected.claims == 20
    assert sum(expected.contributed.values()) == 4_750_000_050
    assert sum(expected.placed.values()) == 3_900_000_000
    assert expected.treasury == {"CITY": 750_000_050, "D01": 100_000_000}

    rows = [loan_row(n) for n in range(1000)]
    outstanding = sum(int(r[10].replace(".", "")) for r in rows)
    assert expected.principal_outstanding == outstanding
    assert sum(expected.exposure.values()) == sum(
        share(int(r[10].replace(".", "")), 800_000) for r in rows
    )
    with factory() as s:
        tb = trial_balance(s, as_of=CUT_OVER)
        lines = {x.code: (x.debit, x.credit) for x in tb.lines}
        assert tb.net == 0
        for source, fen in expected.contributed.items():
            assert lines[f"capital:{source}"] == (0, fen)
        assert lines["asset:treasury"] == (750_000_050, 0)
        assert lines["asset:treasury-D01"] == (100_000_000, 0)
        for (fund, bank), fen in expected.placed.items():
            code = f"asset:special:{bank}" if fund == "CITY" else f"asset:special:{bank}-{fund}"
            assert lines[code] == (fen, 0)
        for (fund, bank), fen in expected.exposure.items():
            code = (
                f"memo:exposure-contra:{bank}"
                if fund == "CITY"
                else f"memo:exposure-contra:{bank}-{fund}"
            )
            assert lines[code] == (0, fen)
        assert s.scalar(select(func.count()).select_from(Loan)) == 1000
        assert s.scalar(select(func.sum(Loan.principal - Loan.repaid_principal))) == outstanding
        refs = s.scalars(select(Repayment.bank_ref).order_by(Repayment.bank_ref).limit(1)).all()
        assert refs == ["OPENING-ABC-00003"]
        assert {on for (on,) in s.execute(select(Repayment.paid_on).distinct())} == {CUT_OVER}
        report = verify(s)
        assert report.ok, report.problems[:5]


# --------------------------------------------------------------------------- refused


def test_a_workbook_with_bad_cells_is_refused_whole(tmp_path, factory):
    sheets = base_sheets()
    sheets["资金来源"][1] = ("city", "市级配套", "市级", None, None, "-100", None, None)
    good = [loan_row(n) for n in range(6)]
    bad_id = good[0][1][:-1] + ("0" if good[0][1][-1] != "0" else "1")
    good[0] = (good[0][0], bad_id, *good[0][2:])
    good[1] = (*good[1][:6], "XYZ", *good[1][7:])
    good[2] = (*good[2][:10], "999999.00", *good[2][11:])
    good[3] = (*good[3][:7], "D09", *good[3][8:])
    sheets["在保贷款"] = good
    path = write_book(tmp_path / "bad.xlsx", sheets)
    users(factory)
    before, counts = balances_snapshot(factory), table_counts(factory)
    with pytest.raises(OnboardingRejectedError) as info:
        onboarding.read_workbook(path, today=TODAY)
    error = info.value
    assert error.code == "onboarding-rejected"
    assert [(c.sheet, c.row, c.column, c.value) for c in error.cells] == [
        ("资金来源", 3, "已到位金额", "-100"),
        ("在保贷款", 2, "身份证号", bad_id),
        ("在保贷款", 3, "经办银行", "XYZ"),
        ("在保贷款", 4, "切换日本金余额", "999999.00"),
        ("在保贷款", 5, "担保基金", "D09"),
    ]
    assert [c.zh for c in error.cells] == [
        "金额 -100 为负数，金额不能小于 0",
        "身份证号 110105197501010020 校验位错误：应为 6，实为 0",
        "经办银行 XYZ 不在“专户存放”表中",
        "本金余额 999,999.00 元大于贷款金额 59,135.78 元",
        "担保基金 D09 不存在：既不是 CITY，也不在“基金”表中",
    ]
    assert bad_id == "110105197501010020"
    assert error.zh.startswith("5 处错误，工作簿未入账。资金来源 第 3 行“已到位金额”")
    assert balances_snapshot(factory) == before
    assert table_counts(factory) == counts


def test_rows_the_operations_refuse_are_named_and_nothing_is_posted(tmp_path, factory):
    sheets = base_sheets()
    sheets["专户存放"][3] = ("D01", "ICBC", "工商银行", "6222000000000000", "1000.00")
    rows = [loan_row(n) for n in range(12)]
    rows[1] = (*rows[1][:15], "70", *rows[1][16:])  # coverage not the rules'
    old = make_resident_id("110105", D(1950, 1, 1), 1, Sex.MALE)
    rows[4] = (rows[4][0], old, *rows[4][2:])  # 75 years old when the loan was made
    rows[5] = (*rows[5][:16], 30, *rows[5][17:])  # current by its schedule
    sheets["在保贷款"] = rows
    path = write_book(tmp_path / "refused.xlsx", sheets)
    users(factory)
    before, counts = balances_snapshot(factory), table_counts(factory)
    book = onboarding.read_workbook(path, today=TODAY)
    with pytest.raises(OnboardingRejectedError) as info:
        run(factory, onboard(book))
    cells = info.value.cells
    assert [(c.sheet, c.row, c.column, c.value) for c in cells] == [
        ("在保贷款", 2, "切换日本金余额", rows[0][10]),
        ("在保贷款", 3, "担保比例", "70.00%"),
        ("在保贷款", 6, "身份证号", old),
        ("在保贷款", 7, "切换日逾期天数", "30"),
        ("在保贷款", 11, "切换日本金余额", rows[9][10]),
    ]
    assert [c.zh for c in cells] == [
        "ICBC/D01 在保余额将达 30,000.00 元，超过放大倍数上限 5,000.00 元（5 倍 × 专户余额 "
        "1,000.00 元；现在保余额 0.00 元），缺口 25,000.00 元",
        "担保比例 70.00% 与 2024-02-15 适用政策的 80.00% 不符",
        "借款人在 2024-05-01 为 74 周岁，不在当日适用政策规定的 18–60 周岁范围内",
        "按还款计划和本金余额计算，2025-12-31 逾期 0 天，与填写的 30 天不符",
        "ICBC/D01 在保余额将达 54,666.61 元，超过放大倍数上限 5,000.00 元（5 倍 × 专户余额 "
        "1,000.00 元；现在保余额 0.00 元），缺口 49,666.61 元",
    ]
    assert balances_snapshot(factory) == before
    assert table_counts(factory) == counts


def test_the_same_person_may_not_record_and_approve(tmp_path, factory):
    path = portfolio(tmp_path / "books.xlsx", 3)
    users(factory)
    run(factory, lambda s: reference.add_user(s, "boss", "处长", ["admin", "clerk", "approver"],
                                              actor="admin"))  # fmt: skip
    book = onboarding.read_workbook(path, today=TODAY)
    with pytest.raises(Exception) as info:
        run(factory, onboard(book, "boss", "boss"))
    assert info.value.code == "maker-checker"


# --------------------------------------------------------------------------- the command


def test_the_command_writes_the_template_posts_it_and_lists_a_refused_files_cells(
    tmp_path, db_url, factory
):
    from click.testing import CliRunner

    from ledger.cli import cli

    users(factory)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--database-url", db_url, *args], catch_exceptions=False)

    template = tmp_path / "template.xlsx"
    result = invoke("onboard", "--template", str(template))
    assert result.exit_code == 0
    assert f"模板已生成：{template}" in result.output

    result = invoke("onboard", str(template), "--actor", "admin")
    assert result.exit_code == 2
    assert "--approver" in result.output

    sheets = base_sheets()
    sheets["在保贷款"] = [loan_row(0), (*loan_row(1)[:6], "XYZ", *loan_row(1)[7:])]
    bad = write_book(tmp_path / "bad.xlsx", sheets)
    before = table_counts(factory)
    result = invoke("onboard", str(bad), "--actor", "admin", "--approver", "approver")
    assert result.exit_code == 1
    assert "错误：1 处错误，工作簿未入账。在保贷款 第 3 行“经办银行”" in result.output
    assert "在保贷款\t3\t经办银行\tXYZ\t经办银行 XYZ 不在“专户存放”表中" in result.output
    assert table_counts(factory) == before

    result = invoke("onboard", str(template), "--actor", "admin", "--approver", "approver")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "onboarded as of 2025-12-31 期初数据已入账（切换日期 2025-12-31）"
    assert [line.split() for line in lines if line.startswith(("exposure", "principal"))] == [
        ["exposure", "在保", "ICBC/CITY", "48,000.00", "48,000.00"],
        ["principal", "本金余额", "60,000.00", "60,000.00"],
    ]
    with factory() as s:
        assert verify(s).ok
