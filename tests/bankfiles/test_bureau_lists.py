"""The bureau's lists, taken in as a bank's files are: a community's 200 borrowers
registered exactly (CSV and XLSX), a list with three bad cells refused whole, a list sent
again recognised, guarantees approved with exact amounts and counter-guarantees, a
guarantees list with a bad row refused whole, and who may import which."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import ledger.bankfiles.bureau as bureau_module
from ledger.bankfiles.imports import error_lines, import_file, receipts
from ledger.bankfiles.reading import FileRejected
from ledger.fund.books import balance_now, counter_guarantee_accounts
from ledger.fund.errors import PermissionDeniedError
from ledger.fund.guarantees import commitment_rules
from ledger.fund.models import Borrower, Commitment, CounterGuarantee, Credential
from tests.bankfiles.bureau_lists import GUARANTEES, GUARANTOR, PEOPLE, TODAY
from tests.bankfiles.conftest import FILES, state
from tests.fund.conftest import D, refused, setup_fund


@pytest.fixture
def fund(factory):
    """Districts D01-D03, banks ICBC and ABC, users clerk, approver, icbc; no borrower."""
    return setup_fund(factory)


@pytest.fixture(params=[False, True], ids=["whole", "chunks-of-3"])
def chunked(request, monkeypatch):
    """Lists handed to the operations whole, or three rows at a time: a later chunk sees
    what an earlier one registered or approved."""
    if request.param:
        monkeypatch.setattr(bureau_module, "CHUNK_LINES", 3)
    return request.param


def bureau_import(factory, kind: str, name: str, actor: str, *, folder=FILES):
    return import_file(factory, kind=kind, path=folder / name, actor=actor, today=TODAY)


def errors(factory, receipt) -> list[tuple]:
    """(row, column, value, code, zh) of every error line."""
    with factory() as s:
        return [(p.row, p.column, p.value, p.code, p.zh) for p in error_lines(s, receipt.id)]


def registered(factory) -> list[tuple]:
    with factory() as s:
        return s.execute(
            select(
                Borrower.id_number, Borrower.id_number_given, Borrower.name,
                Borrower.district_code, Borrower.borrower_type, Borrower.head_count,
                Borrower.categories, Borrower.birth_date, Borrower.sex, Borrower.registered_by,
            ).order_by(Borrower.id)
        ).all()  # fmt: skip


def expected_register() -> list[tuple]:
    return [
        (p.id_18, p.id_number if p.id_number != p.id_18 else None, p.name, p.district,
         p.borrower_type, p.head_count, ",".join(sorted(p.categories)), p.born, p.sex, "clerk")
        for p in PEOPLE
    ]  # fmt: skip


def certificates(factory) -> list[tuple]:
    with factory() as s:
        return s.execute(
            select(
                Borrower.name, Credential.kind, Credential.number, Credential.issued_by,
                Credential.issued_on, Credential.status, Credential.recorded_by,
            )
            .join(Borrower, Borrower.id == Credential.borrower_id)
            .order_by(Credential.id)
        ).all()  # fmt: skip


def count(factory, model) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------------------ borrowers


@pytest.mark.parametrize(
    ("name", "format", "encoding"),
    [
        ("bureau_borrowers_200_gbk.csv", "csv", "gb18030"),
        ("bureau_borrowers_200.xlsx", "xlsx", None),
    ],
)
def test_a_list_of_200_borrowers_is_registered_exactly(fund, chunked, name, format, encoding):
    receipt = bureau_import(fund, "borrowers", name, "clerk")
    assert (receipt.status, receipt.bank, receipt.kind, receipt.format, receipt.encoding) == (
        "accepted", None, "borrowers", format, encoding,
    )  # fmt: skip
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.error_rows) == (200, 200, 0, 0)
    assert (receipt.errors, receipt.totals, receipt.entry_ids) == (0, {}, ())
    assert (receipt.uploaded_by, receipt.file_name) == ("clerk", name)
    assert registered(fund) == expected_register()
    first, second, last = registered(fund)[0], registered(fund)[1], registered(fund)[-1]
    # Row 2, as written: 王建国,110105197601100010,D01,个人,,登记失业人员
    assert first == (
        "110105197601100010", None, "王建国", "D01", "individual", 1,
        "registered_unemployed", D(1976, 1, 10), "M", "clerk",
    )  # fmt: skip
    # Row 3 names its district 城西区 and leaves the type blank (an individual).
    assert second[2:7] == ("李小燕", "D02", "individual", 1, "veteran")
    # Row 201: a first-generation card, kept as given beside its 18-digit form; a
    # partnership of three who wrote their category in English.
    assert last == (
        "110105197803151238", "110105780315123", "罗振华", "D02", "partnership", 3,
        "graduate", D(1978, 3, 15), "M", "clerk",
    )  # fmt: skip
    # Every tenth person from row 5 on shows a re-employment certificate: 20 in all.
    certs = certificates(fund)
    assert len(certs) == 20
    assert certs[0] == (
        "刘红霞", "reemployment_certificate", "再就业证 2020-00003", "城东区人力资源和社会保障局",
        D(2020, 6, 4), "valid", "clerk",
    )  # fmt: skip
    assert [c[2] for c in certs] == [f"再就业证 2020-{n:05d}" for n in range(3, 200, 10)]


def test_a_list_with_three_bad_cells_is_refused_whole_naming_each(fund, chunked):
    before = state(fund)
    receipt = bureau_import(fund, "borrowers", "bureau_borrowers_3_bad.csv", "clerk")
    assert (receipt.status, receipt.rows, receipt.posted, receipt.error_rows) == (
        "rejected", 10, 0, 3,
    )  # fmt: skip
    wrong = PEOPLE[101].id_18[:-1] + "0"
    assert errors(fund, receipt) == [
        # A cell that does not read: its check digit.
        (3, "id_number", wrong, "invalid-value", f"身份证号 {wrong} 校验位错误：应为 4，实为 0"),
        # A cell that is not one of the types.
        (6, "borrower_type", "公司", "invalid-value",
         "借款人类型“公司”无效，应为：个人、合伙创业、小微企业"),
        # A cell that reads, refused by the registration: no such district.
        (9, "district", "南山区", "reference-data", "区县 南山区 不存在"),
    ]  # fmt: skip
    assert (count(fund, Borrower), count(fund, Credential)) == (0, 0)
    assert state(fund) == before


def test_a_list_sent_again_is_a_duplicate_and_registers_nobody_twice(fund):
    first = bureau_import(fund, "borrowers", "bureau_borrowers_200_gbk.csv", "clerk")
    again = bureau_import(fund, "borrowers", "bureau_borrowers_200_gbk.csv", "clerk")
    assert (again.status, again.duplicate_of, again.bank) == ("duplicate", first.id, None)
    assert (again.rows, again.posted, again.skipped, again.errors) == (200, 0, 200, 0)
    assert count(fund, Borrower) == 200
    # The same people in another file (other bytes) are checked afresh: all registered.
    other = bureau_import(fund, "borrowers", "bureau_borrowers_200.xlsx", "clerk")
    assert (other.status, other.error_rows, other.errors) == ("rejected", 200, 200)
    assert errors(fund, other)[0] == (
        2, "id_number", "110105197601100010", "reference-data",
        "身份证号 110105197601100010 的借款人已登记（王建国）",
    )  # fmt: skip
    assert count(fund, Borrower) == 200
    with fund() as s:
        page = receipts(s, kind="borrowers")
    assert [(r.id, r.status, r.bank) for r in page.items] == [
        (other.id, "rejected", None),
        (again.id, "duplicate", None),
        (first.id, "accepted", None),
    ]


def test_a_certificate_s_cells_go_together_and_one_certificate_is_one_person_s(fund, tmp_path):
    lines = [
        "借款人姓名,身份证号,区县,人员类别,再就业优惠证号,发证机关,发证日期",
        f"{PEOPLE[0].name},{PEOPLE[0].id_18},D01,登记失业人员,再就业证 A-1,城东区人社局,2020-01-02",
        f"{PEOPLE[1].name},{PEOPLE[1].id_18},D01,登记失业人员,,城东区人社局,",
        f"{PEOPLE[2].name},{PEOPLE[2].id_18},D01,登记失业人员,再就业证 A-2,城东区人社局,",
        f"{PEOPLE[3].name},{PEOPLE[3].id_18},D01,登记失业人员,再就业证 A-1,城西区人社局,2020-03-04",
        f"{PEOPLE[4].name},{PEOPLE[4].id_18},D01,登记失业人员,再就业证 A-3,,2020-03-04",
        f"{PEOPLE[5].name},{PEOPLE[5].id_18},D01,登记失业人员,再就业证 A-4,城东区人社局,1960-01-01",
    ]
    path = tmp_path / "certificates.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    receipt = bureau_import(fund, "borrowers", path.name, "clerk", folder=tmp_path)
    assert receipt.status == "rejected"
    assert errors(fund, receipt) == [
        (3, "certificate_no", "", "credential", "填写了发证机关或发证日期，但再就业优惠证号为空"),
        (4, "issued_on", "", "credential", "再就业优惠证 再就业证 A-2 须填写发证日期"),
        (5, "certificate_no", "再就业证 A-1", "credential-duplicate",
         "再就业优惠证 再就业证 A-1 在本名单中出现两次（第 2 行已有），一证只能属于一人"),
        (6, "issued_by", "", "credential", "应填写发证机关（1-100 个字符）"),
        (7, "issued_on", "1960-01-01", "credential",
         "再就业优惠证 再就业证 A-4 的发证日期 1960-01-01 早于持证人出生日期"),
    ]  # fmt: skip
    assert (count(fund, Borrower), count(fund, Credential)) == (0, 0)


# ------------------------------------------------------------------------ guarantees


def with_borrowers(fund):
    receipt = bureau_import(fund, "borrowers", "bureau_borrowers_200_gbk.csv", "clerk")
    assert receipt.status == "accepted"
    return fund


def commitments(factory) -> list[tuple]:
    with factory() as s:
        return s.execute(
            select(
                Commitment.number, Borrower.name, Commitment.bank_code, Commitment.amount,
                Commitment.term_months, Commitment.approved_on, Commitment.approved_by,
                Commitment.status,
            )
            .join(Borrower, Borrower.id == Commitment.borrower_id)
            .order_by(Commitment.id)
        ).all()  # fmt: skip


@pytest.mark.parametrize(
    ("name", "format"), [("bureau_guarantees.csv", "csv"), ("bureau_guarantees.xlsx", "xlsx")]
)
def test_a_guarantees_list_makes_the_commitments_exactly(fund, chunked, name, format):
    with_borrowers(fund)
    receipt = bureau_import(fund, "guarantees", name, "approver")
    assert (receipt.status, receipt.bank, receipt.kind, receipt.format) == (
        "accepted", None, "guarantees", format,
    )  # fmt: skip
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.errors) == (12, 12, 0, 0)
    # 1,260,000.50 yuan guaranteed; the mortgage's 300,000 and the pledge's 200,000.
    assert receipt.totals == {"amount": 126_000_050, "counter_guarantee_value": 50_000_000}
    assert commitments(fund) == [
        # Numbered per bank and year, in the list's order.
        ("G2026-ICBC-00001", "王建国", "ICBC", 10_000_000, 24, D(2026, 11, 20), "approver",
         "approved"),
        ("G2026-ICBC-00002", "李小燕", "ICBC", 8_000_000, 24, D(2026, 11, 20), "approver",
         "approved"),
        ("G2026-ICBC-00003", "张晓东", "ICBC", 15_000_000, 36, D(2026, 11, 20), "approver",
         "approved"),
        ("G2026-ABC-00001", "刘红霞", "ABC", 5_000_000, 12, D(2026, 11, 23), "approver",
         "approved"),
        ("G2026-ABC-00002", "陈丽娟", "ABC", 20_000_000, 36, D(2026, 11, 23), "approver",
         "approved"),
        ("G2026-ABC-00003", "杨文斌", "ABC", 12_000_050, 24, D(2026, 11, 23), "approver",
         "approved"),
        ("G2026-ABC-00004", "黄翠花", "ABC", 3_000_000, 12, D(2026, 11, 24), "approver",
         "approved"),
        ("G2026-ICBC-00004", "赵家乐", "ICBC", 10_000_000, 24, D(2026, 11, 24), "approver",
         "approved"),
        ("G2026-ICBC-00005", "吴永红", "ICBC", 6_000_000, 24, D(2026, 11, 24), "approver",
         "approved"),
        ("G2026-ICBC-00006", "周淑芬", "ICBC", 18_000_000, 36, D(2026, 11, 25), "approver",
         "approved"),
        ("G2026-ABC-00005", "徐立新", "ABC", 9_000_000, 24, D(2026, 11, 25), "approver",
         "approved"),
        ("G2026-ABC-00006", "孙志强", "ABC", 10_000_000, 24, D(2026, 11, 25), "approver",
         "approved"),
    ]  # fmt: skip
    assert [c[3] for c in commitments(fund)] == [g.amount for g in GUARANTEES]
    with fund() as s:
        for commitment in s.scalars(select(Commitment)):
            # The rule set of the approval date is frozen with each: the fund covers 80%.
            assert commitment_rules(commitment)["coverage_ppm"] == 800_000
        held = s.execute(
            select(
                Commitment.number, CounterGuarantee.kind, CounterGuarantee.value,
                CounterGuarantee.guarantor_name, CounterGuarantee.guarantor_id_number,
                CounterGuarantee.employer_type, CounterGuarantee.description,
                CounterGuarantee.status, CounterGuarantee.entry_id.is_not(None),
            )
            .join(Commitment, Commitment.id == CounterGuarantee.commitment_id)
            .order_by(CounterGuarantee.id)
        ).all()  # fmt: skip
        assert held == [
            ("G2026-ICBC-00003", "guarantor", 0, GUARANTOR[0], GUARANTOR[1], "public_institution",
             "", "held", False),
            ("G2026-ABC-00002", "mortgage", 30_000_000, "", None, None,
             "房产证 城东字第 2019-0457 号", "held", True),
            ("G2026-ABC-00003", "joint_group", 0, "", None, None, "城东区创业联保小组第 3 组",
             "held", False),
            ("G2026-ABC-00004", "credit_community", 0, "", None, None, "城西区信用社区推荐",
             "held", False),
            ("G2026-ICBC-00006", "pledge", 20_000_000, "", None, None, "定期存单 NO.6228-0091",
             "held", True),
        ]  # fmt: skip
        # The values held are in the memorandum accounts, one entry each, on the receipt.
        assert [balance_now(s, counter_guarantee_accounts(b)[0]) for b in ("ABC", "ICBC")] == [
            30_000_000,
            20_000_000,
        ]
        entries = s.scalars(
            select(CounterGuarantee.entry_id)
            .where(CounterGuarantee.entry_id.is_not(None))
            .order_by(CounterGuarantee.entry_id)
        ).all()
    assert receipt.entry_ids == tuple(entries)
    assert len(receipt.entry_ids) == 2


def test_a_guarantees_list_with_a_bad_row_is_refused_whole(fund, chunked):
    with_borrowers(fund)
    before = state(fund)
    receipt = bureau_import(fund, "guarantees", "bureau_guarantees_over_limit.csv", "approver")
    assert (receipt.status, receipt.rows, receipt.posted, receipt.error_rows) == (
        "rejected", 12, 0, 1,
    )  # fmt: skip
    assert receipt.totals == {"amount": 131_000_050, "counter_guarantee_value": 50_000_000}
    assert errors(fund, receipt) == [
        (6, "amount", "250000.00", "over-limit",
         "250,000.00 元超过 2026-11-23 适用政策对个人的贷款上限 200,000.00 元"),
    ]  # fmt: skip
    with fund() as s:
        assert [p.message for p in error_lines(s, receipt.id)] == [
            "250,000.00 yuan is over the limit for an individual under the rules in force on "
            "2026-11-23: at most 200,000.00 yuan"
        ]
    assert (count(fund, Commitment), count(fund, CounterGuarantee)) == (0, 0)
    assert state(fund) == before
    # Corrected, the list is taken: the numbers start at 1, as if nothing had been tried.
    good = bureau_import(fund, "guarantees", "bureau_guarantees.csv", "approver")
    assert good.status == "accepted"
    assert commitments(fund)[0][0] == "G2026-ICBC-00001"


def test_every_bad_guarantee_row_is_named_by_the_list_s_own_column(fund, tmp_path):
    with_borrowers(fund)
    p = PEOPLE
    lines = [
        "身份证号,借款人姓名,经办银行,担保金额,担保期限（月）,审批日期,反担保方式,保证人姓名",
        f"{p[0].id_18},{p[0].name},ICBC,50000,24,2026-11-20,,",
        # The name is not the registered one's.
        f"{p[1].id_18},王小二,ICBC,50000,24,2026-11-20,,",
        # Nobody registered under this number.
        f"{GUARANTOR[1]},,ICBC,50000,24,2026-11-20,,",
        # A bank the fund does not have.
        f"{p[2].id_18},,CCB,50000,24,2026-11-20,,",
        # A guarantor's name without the kind of counter-guarantee.
        f"{p[3].id_18},,ICBC,50000,24,2026-11-20,,李四",
        # The borrower already has the commitment of row 2.
        f"{p[0].id_18},,ABC,50000,24,2026-11-21,,",
        # A term beyond the 36 months the rules allow, and a date in the future.
        f"{p[4].id_18},,ABC,50000,48,2026-11-21,,",
        f"{p[5].id_18},,ABC,50000,24,2026-12-01,,",
        # A date before any rules were in force.
        f"{p[6].id_18},,ABC,50000,24,1999-01-01,,",
    ]
    path = tmp_path / "guarantees.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    receipt = bureau_import(fund, "guarantees", path.name, "approver", folder=tmp_path)
    assert receipt.status == "rejected"
    assert [(r, c, v, code) for r, c, v, code, _ in errors(fund, receipt)] == [
        (3, "borrower_name", "王小二", "reference-data"),
        (4, "id_number", GUARANTOR[1], "reference-data"),
        (5, "bank", "CCB", "reference-data"),
        (6, "counter_guarantee", "", "counter-guarantee"),
        (7, "id_number", p[0].id_18, "repeat-loan"),
        (8, "term_months", "48", "over-limit"),
        (9, "approved_on", "2026-12-01", "invalid-value"),
        (10, "approved_on", "1999-01-01", "policy"),
    ]
    assert [zh for *_, zh in errors(fund, receipt)][:4] == [
        f"身份证号 {p[1].id_18} 登记的借款人是李小燕，不是王小二",
        f"身份证号 {GUARANTOR[1]} 的借款人未登记",
        "经办银行 CCB 不存在",
        "填写了反担保的内容，但未填写反担保方式",
    ]
    assert count(fund, Commitment) == 0


# ------------------------------------------------------------------------ who may import


def test_a_borrowers_list_is_a_clerk_s_and_a_guarantees_list_an_approver_s(fund):
    before = state(fund)
    for kind, name, actor, role in [
        ("borrowers", "bureau_borrowers_200_gbk.csv", "approver", "clerk"),
        ("borrowers", "bureau_borrowers_200_gbk.csv", "icbc", "clerk"),
        ("guarantees", "bureau_guarantees.csv", "clerk", "approver"),
        ("guarantees", "bureau_guarantees.csv", "icbc", "approver"),
        ("guarantees", "bureau_guarantees.csv", "system", "approver"),
    ]:
        e = refused(PermissionDeniedError, bureau_import, fund, kind, name, actor)
        assert str(e) == f"user {actor} may not do this: it needs the {role} role"
    assert state(fund) == before
    with fund() as s:
        assert receipts(s).items == ()


def test_a_bureau_list_names_no_bank_and_a_bank_file_names_one(fund):
    e = refused(
        FileRejected, import_file, fund, kind="borrowers", bank="ICBC",
        path=FILES / "bureau_borrowers_200_gbk.csv", actor="clerk", today=TODAY,
    )  # fmt: skip
    assert (str(e), e.zh) == (
        "a borrowers list is the bureau's own: it belongs to no bank, so name none (not ICBC)",
        "借款人名单是本局自己的名单，不属于任何经办银行，请勿指定银行（ICBC）",
    )
    e = refused(
        FileRejected, import_file, fund, kind="repayment",
        path=FILES / "icbc_repayment_dirty.csv", actor="clerk", today=TODAY,
    )  # fmt: skip
    assert (str(e), e.zh) == (
        "a repayment file comes from a partner bank: name the bank",
        "还款明细由经办银行报送，请指定银行",
    )


def test_a_guarantees_list_may_name_the_fund(fund, tmp_path):
    """Without a fund the borrower's district's own fund guarantees (the city's where the
    district has none); a list may name the city's fund, never another district's."""
    from ledger.fund.funds import add_fund
    from tests.fund.conftest import run

    run(fund, lambda s: add_fund(s, "D02", "城西区担保基金", "D02", D(2025, 1, 1), actor="admin"))
    with_borrowers(fund)
    west = [x for x in PEOPLE if x.district == "D02"][:2]
    east = [x for x in PEOPLE if x.district == "D01"][:2]
    header = "身份证号,经办银行,担保金额,担保期限（月）,审批日期,担保基金"
    rows = [
        f"{west[0].id_18},ICBC,50000,24,2026-11-20,",
        f"{west[1].id_18},ICBC,50000,24,2026-11-20,市本级担保基金",
        f"{east[0].id_18},ABC,50000,24,2026-11-20,城西区担保基金",
        f"{east[1].id_18},ABC,50000,24,2026-11-20,D09",
    ]
    path = tmp_path / "guarantees.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    receipt = bureau_import(fund, "guarantees", path.name, "approver", folder=tmp_path)
    assert receipt.status == "rejected"
    assert errors(fund, receipt) == [
        (4, "fund", "城西区担保基金", "fund-jurisdiction",
         "担保基金 D02 仅为 D02 户籍居民担保，借款人所在区县为 D01"),
        (5, "fund", "D09", "reference-data", "担保基金 D09 不存在"),
    ]  # fmt: skip
    assert count(fund, Commitment) == 0
    path.write_text("\n".join([header, *rows[:2], rows[2][: -len("城西区担保基金")]]) + "\n",
                    encoding="utf-8")  # fmt: skip
    receipt = bureau_import(fund, "guarantees", path.name, "approver", folder=tmp_path)
    assert receipt.status == "accepted"
    with fund() as s:
        made = s.execute(
            select(Borrower.id_number, Commitment.fund_code)
            .join(Borrower, Borrower.id == Commitment.borrower_id)
            .order_by(Commitment.id)
        ).all()
    assert made == [(west[0].id_18, "D02"), (west[1].id_18, "CITY"), (east[0].id_18, "CITY")]
