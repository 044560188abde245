"""The capital pages over the portfolio (tests/fund/conftest.py: 8,000,000 yuan received
from four sources, 3,000,000 placed at ICBC and 1,000,000 at ABC; allocation 5, city
50,000 yuan, pending; allocation 6 rejected), figures to the fen: capital by source, the
matching money, the allocations list and its filters; recording, approving (maker-checker)
and rejecting an allocation; placing, withdrawing and deposit interest with the entries
they post; refusals beside their field with nothing posted; who sees which control."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from ledger.clock import business_today
from ledger.fund import access, capital, reference
from ledger.fund.models import CapitalAllocation
from ledger.models import JournalEntry
from tests.fund.conftest import run
from tests.web.conftest import PASSWORD, text

TOMORROW = (business_today() + dt.timedelta(days=1)).isoformat()


def counts(books) -> tuple[int, int]:
    """(journal entries, allocations): what a refusal must leave as it was."""
    with books() as s:
        return (
            s.scalar(select(func.count(JournalEntry.id))),
            s.scalar(select(func.count(CapitalAllocation.id))),
        )


def allocation_ids(response) -> list[int]:
    return [int(n) for n in re.findall(r'<td><a href="/capital/allocations/(\d+)"', response.text)]


def postings(response, entry_id: int) -> list[str]:
    """An entry's postings as the page shows them: "account debit credit"."""
    html = response.get_data(as_text=True)
    table = re.search(rf'<table class="entry" id="entry-{entry_id}">.*?</table>', html, re.S)
    assert table, f"entry {entry_id} is not on the page"
    rows = re.findall(r"<tr><td class=\"mono\">(.*?)</td><td class=\"num\">(.*?)</td>"
                      r"<td class=\"num\">(.*?)</td></tr>", table.group(0))  # fmt: skip
    return [" ".join(x for x in row if x) for row in rows]


def net_capital(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'id="net-capital">([\d,.]+) ', html).group(1)


def entry_of(response) -> int:
    return int(re.search(r"/capital/movements/(\d+)$", response.headers["Location"]).group(1))


@pytest.fixture
def maker(books):
    """``maker``: a user who is clerk and approver both, as a small bureau may have."""

    def work(s):
        reference.add_user(s, "maker", "两岗员", ["clerk", "approver"], actor="admin")
        access.set_initial_passwords(s, ["maker"], PASSWORD, actor="admin", must_change=False)

    run(books, work)
    return "maker"


# The first page -------------------------------------------------------------------------


def test_the_capital_page_shows_sources_placements_matching_and_allocations(as_user):
    page = text(as_user("auditor").get("/capital"))
    assert (
        "市级配套 (city) CITY 2,000,000.00 0.00 0.00 2,000,000.00 — — — "
        "城东区配套 (district-D01) CITY 600,000.00 0.00 0.00 600,000.00 1,000,000.00 "
        "400,000.00 — 社会捐赠 (other) CITY 400,000.00 0.00 0.00 400,000.00 — — — "
        "省级拨付 (provincial) CITY 5,000,000.00 0.00 0.00 5,000,000.00 — — — "
        "合计 8,000,000.00 0.00 0.00 8,000,000.00"
    ) in page
    assert "ABC CITY 968,000.00 48,000.00 4,840,000.00 4,792,000.00" in page
    assert "ICBC CITY 3,000,000.00 160,000.00 30,000,000.00 29,840,000.00" in page
    assert "合计 3,968,000.00 208,000.00" in page
    assert "城东区 (D01) 1,000,000.00 600,000.00 400,000.00 0.00 —" in page
    assert "6 社会捐赠 10,000.00 2025-06-02 已驳回 clerk approver" in page
    assert "5 市级配套 50,000.00 2025-06-01 财字〔2025〕9号 待审核 clerk" in page
    assert "1 省级拨付 5,000,000.00 2025-01-02 财字〔2025〕1号 已审核 clerk approver #1" in page


def test_the_allocations_list_filters_by_source_status_fund_and_dates(as_user):
    clerk = as_user("clerk")
    assert allocation_ids(clerk.get("/capital")) == [6, 5, 4, 3, 2, 1]
    assert allocation_ids(clerk.get("/capital?source=city")) == [5, 2]
    assert allocation_ids(clerk.get("/capital?status=approved")) == [4, 3, 2, 1]
    assert allocation_ids(clerk.get("/capital?status=pending&source=city")) == [5]
    assert allocation_ids(clerk.get("/capital?from=2025-01-03&to=2025-01-04")) == [3, 2]
    assert allocation_ids(clerk.get("/capital?fund=CITY&from=2025-06-01")) == [6, 5]


def test_a_district_funds_page_shows_its_own_sources_and_allocations(as_user, books):
    from ledger.fund.funds import add_fund

    def work(s):
        add_fund(s, "D02", "城西区担保基金", "D02", dt.date(2025, 1, 1), actor="admin")
        reference.add_capital_source(
            s, "d02-own", "城西区本级", "district", district="D02", fund="D02", actor="admin"
        )
        a = capital.record_allocation(s, "d02-own", 30_000_000, dt.date(2025, 7, 1), actor="clerk")
        capital.approve_allocation(s, a.id, actor="approver")

    run(books, work)
    clerk = as_user("clerk")
    response = clerk.get("/capital?fund=D02")
    page = text(response)
    assert allocation_ids(response) == [7]
    assert "城西区本级 (d02-own) D02 300,000.00 0.00 0.00 300,000.00 — — — 合计 300,000.00" in page
    assert "省级拨付" not in page.split("拨付 来源")[0].split("各来源资本金")[1]
    assert "ICBC D02 0.00 0.00 0.00 0.00" in page
    assert allocation_ids(clerk.get("/capital?fund=CITY")) == [6, 5, 4, 3, 2, 1]
    assert allocation_ids(clerk.get("/capital")) == [7, 6, 5, 4, 3, 2, 1]


def test_the_allocations_list_pages_by_keyset(as_user, books):
    def work(s):
        for n in range(52):
            capital.record_allocation(s, "other", 100 + n, dt.date(2025, 8, 1), actor="clerk")

    run(books, work)
    clerk = as_user("clerk")
    first = clerk.get("/capital?source=other")
    assert allocation_ids(first) == list(range(58, 8, -1))
    assert 'href="/capital?source=other&amp;before=9"' in first.text
    assert allocation_ids(clerk.get("/capital?source=other&before=9")) == [8, 7, 6, 4]


def test_a_bad_filter_is_named_and_shows_no_list(as_user):
    clerk = as_user("clerk")
    bad = clerk.get("/capital?status=lost")
    assert bad.status_code == 400
    assert "资金拨付状态" in text(bad) and "lost" in text(bad)
    assert allocation_ids(bad) == []
    date = clerk.get("/capital?from=2025-13-01")
    assert date.status_code == 400
    assert "到位日起：2025-13-01 不是日期（应为 YYYY-MM-DD）" in text(date)
    fund = clerk.get("/capital?fund=NOPE")
    assert fund.status_code == 400
    assert "担保基金 NOPE 不存在" in text(fund)


# Allocations: record, approve, reject ---------------------------------------------------


def test_a_clerk_records_an_allocation_and_nothing_is_posted(as_user, books):
    entries, allocations = counts(books)
    clerk = as_user("clerk")
    form = clerk.get("/capital/allocations/new")
    assert form.status_code == 200 and 'id="allocation-form"' in form.text
    response = clerk.post(
        "/capital/allocations/new",
        data={"source": "city", "amount": "1,234.50", "received_on": "2025-06-03",
              "reference": "财字〔2025〕12号", "note": "第二批"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == "/capital/allocations/7"
    assert counts(books) == (entries, allocations + 1)
    with books() as s:
        row = s.get(CapitalAllocation, 7)
        assert (row.source_code, row.amount, row.received_on, row.reference, row.recorded_by) == (
            "city", 123_450, dt.date(2025, 6, 3), "财字〔2025〕12号", "clerk"
        )  # fmt: skip
    page = text(clerk.get("/capital/allocations/7"))
    assert "资金拨付 7 已登记，经其他审核人审核后过账。" in page
    assert "资金拨付 7 待审核" in page
    assert "金额 1,234.50 到位日期 2025-06-03 文号 财字〔2025〕12号 备注 第二批 经办人 clerk" in (
        page
    )
    assert "尚无：资金拨付审核通过后过账资本金。" in page
    assert 'id="approve-form"' not in clerk.get("/capital/allocations/7").text


@pytest.mark.parametrize(
    ("data", "field", "zh"),
    [
        ({"amount": "12.345"}, "amount", "金额格式不正确：请填写数字，最多两位小数，如 1,234.50"),
        ({"amount": "1,23.00"}, "amount", "金额格式不正确：请填写数字，最多两位小数，如 1,234.50"),
        ({"amount": "12e3"}, "amount", "金额格式不正确：请填写数字，最多两位小数，如 1,234.50"),
        ({"amount": ""}, "amount", "请填写金额（元）"),
        ({"amount": "0"}, "amount", "金额必须大于零"),
        ({"amount": "-5"}, "amount", "金额必须大于零"),
        ({"received_on": "2025-02-30"}, "received_on", "日期格式不正确（应为 YYYY-MM-DD）"),
        ({"received_on": TOMORROW}, "received_on", f"资金到位日期 {TOMORROW} 晚于今天"),
        ({"source": ""}, "source", "请选择资金来源"),
        ({"source": "nobody"}, "source", "不是有效的选择。"),
    ],
)
def test_a_bad_allocation_is_refused_beside_its_field(as_user, books, data, field, zh):
    before = counts(books)
    form = {"source": "city", "amount": "100", "received_on": "2025-06-03", **data}
    response = as_user("clerk").post("/capital/allocations/new", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    beside = re.search(rf'id="{field}".*?<ul class="errors"><li>(.*?)</li>', html, re.S)
    assert beside and beside.group(1) == zh
    assert counts(books) == before


def test_an_approver_approves_and_the_dashboard_moves_by_exactly_that_amount(as_user, books):
    approver = as_user("approver")
    assert net_capital(approver) == "8,000,000.00"
    list_page = approver.get("/capital")
    assert 'id="approve-5"' in list_page.text
    entries, allocations = counts(books)
    response = approver.post("/capital/allocations/5/approve")
    assert response.status_code == 302
    assert response.headers["Location"] == "/capital/allocations/5"
    assert counts(books) == (entries + 1, allocations)
    shown = approver.get("/capital/allocations/5")
    page = text(shown)
    assert net_capital(approver) == "8,050,000.00"
    with books() as s:
        entry_id = s.get(CapitalAllocation, 5).entry_id
    assert f"资金拨付 5 已审核，已过账凭证 #{entry_id}。" in page
    assert "资金拨付 5 已审核" in page and "审批人 approver" in page
    assert postings(shown, entry_id) == ["asset:treasury 50,000.00", "capital:city 50,000.00"]
    assert f'href="/books/entries/{entry_id}"' in shown.text
    assert 'id="approve-form"' not in shown.text and 'id="reject-form"' not in shown.text
    again = approver.post("/capital/allocations/5/approve")
    assert again.status_code == 422
    assert "资金拨付记录 5 已处理（approved）" in text(again)
    assert counts(books) == (entries + 1, allocations)


def test_a_clerk_cannot_approve(as_user, books):
    before = counts(books)
    clerk = as_user("clerk")
    assert clerk.post("/capital/allocations/5/approve").status_code == 403
    assert clerk.post("/capital/allocations/5/reject", data={"reason": "x"}).status_code == 403
    assert 'id="approve-5"' not in clerk.get("/capital").text
    assert 'id="approve-form"' not in clerk.get("/capital/allocations/5").text
    assert counts(books) == before


def test_the_recorder_cannot_approve_their_own_allocation(as_user, books, maker):
    client = as_user(maker)
    response = client.post(
        "/capital/allocations/new",
        data={"source": "other", "amount": "2000", "received_on": "2025-06-05"},
    )
    assert response.headers["Location"] == "/capital/allocations/7"
    shown = client.get("/capital/allocations/7")
    assert 'id="approve-form"' not in shown.text and 'id="reject-form"' not in shown.text
    assert "该笔资金拨付由您登记，须由其他审核人审核。" in text(shown)
    assert 'id="approve-7"' not in client.get("/capital").text
    assert 'id="approve-5"' in client.get("/capital").text
    before = counts(books)
    refused = client.post("/capital/allocations/7/approve")
    assert refused.status_code == 422
    error = re.search(r'id="form-error"><div>(.*?)</div>', refused.text).group(1)
    assert error == "maker 是该笔资金拨付的经办人，不能自己审核，须由其他审核人审核"
    rejected = client.post("/capital/allocations/7/reject", data={"reason": "自己驳回"})
    assert rejected.status_code == 422
    assert "maker 是该笔资金拨付的经办人，不能自己审核，须由其他审核人审核" in text(rejected)
    assert counts(books) == before
    with books() as s:
        assert s.get(CapitalAllocation, 7).status == "pending"
    assert 'id="approve-form"' in as_user("approver").get("/capital/allocations/7").text
    assert as_user("approver").post("/capital/allocations/7/approve").status_code == 302


def test_an_approver_rejects_with_a_reason_and_nothing_is_posted(as_user, books):
    approver = as_user("approver")
    before = counts(books)
    no_reason = approver.post("/capital/allocations/5/reject", data={"reason": "  "})
    assert no_reason.status_code == 422
    assert re.search(r'id="reason".*?<li>退回须注明原因</li>', no_reason.text, re.S)
    response = approver.post("/capital/allocations/5/reject", data={"reason": "金额有误"})
    assert response.status_code == 302
    assert counts(books) == before
    page = text(approver.get("/capital/allocations/5"))
    assert "资金拨付 5 已驳回，未过账。" in page
    assert "驳回人 approver" in page and "原因 金额有误" in page
    assert "无：已驳回的资金拨付不过账。" in page
    assert net_capital(approver) == "8,000,000.00"
    twice = approver.post("/capital/allocations/6/reject", data={"reason": "再次"})
    assert twice.status_code == 422
    assert "资金拨付记录 6 已处理（rejected）" in text(twice)


def test_an_allocation_that_does_not_exist_is_not_found(as_user):
    assert as_user("clerk").get("/capital/allocations/99").status_code == 404
    assert as_user("approver").post("/capital/allocations/99/approve").status_code == 404


# Placements, withdrawals, deposit interest ----------------------------------------------


def test_a_clerk_places_capital_at_a_bank(as_user, books):
    clerk = as_user("clerk")
    assert clerk.get("/capital/placements/new?fund=CITY").status_code == 200
    entries, _ = counts(books)
    response = clerk.post(
        "/capital/placements/new",
        data={"fund": "CITY", "bank": "ICBC", "amount": "1,000,000.01", "on": "2025-12-01"},
    )
    assert response.status_code == 302
    entry_id = entry_of(response)
    assert counts(books)[0] == entries + 1
    shown = clerk.get(f"/capital/movements/{entry_id}")
    assert postings(shown, entry_id) == [
        "asset:special:ICBC 1,000,000.01", "asset:treasury 1,000,000.01"
    ]  # fmt: skip
    page = text(shown)
    assert f"已登记存入银行专户：已过账凭证 #{entry_id}。" in page
    assert "2025-12-01 · capital.placement · 存入工商银行担保基金专户 · clerk" in page
    assert "ICBC CITY 4,000,000.01 160,000.00" in text(clerk.get("/capital"))


def test_a_placement_the_treasury_cannot_cover_is_refused_beside_the_amount(as_user, books):
    before = counts(books)
    response = as_user("clerk").post(
        "/capital/placements/new",
        data={"fund": "CITY", "bank": "ICBC", "amount": "4000000.01", "on": "2025-12-01"},
    )
    assert response.status_code == 422
    beside = re.search(r'id="amount".*?<li>(.*?)</li>', response.text, re.S).group(1)
    assert beside == "财政待拨付资金余额 4,000,000.00 元，不足以存入 ICBC 4,000,000.01 元"
    assert counts(books) == before
    future = as_user("clerk").post(
        "/capital/placements/new",
        data={"fund": "CITY", "bank": "ICBC", "amount": "1", "on": TOMORROW},
    )
    assert re.search(rf'id="on".*?<li>存入日期 {TOMORROW} 晚于今天</li>', future.text, re.S)
    assert counts(books) == before


def test_a_clerk_withdraws_capital_within_the_cap(as_user, books):
    clerk = as_user("clerk")
    response = clerk.post(
        "/capital/withdrawals/new",
        data={"fund": "CITY", "bank": "ICBC", "amount": "100,000", "on": "2025-12-01"},
    )
    assert response.status_code == 302
    entry_id = entry_of(response)
    shown = clerk.get(f"/capital/movements/{entry_id}")
    assert postings(shown, entry_id) == [
        "asset:treasury 100,000.00", "asset:special:ICBC 100,000.00"
    ]  # fmt: skip
    assert "从银行专户调回" in text(shown)


def test_a_withdrawal_the_cap_cannot_bear_is_refused_and_nothing_posted(as_user, books):
    before = counts(books)
    response = as_user("clerk").post(
        "/capital/withdrawals/new",
        data={"fund": "CITY", "bank": "ICBC", "amount": "2,990,000", "on": "2025-12-01"},
    )
    assert response.status_code == 422
    beside = re.search(r'id="amount".*?<li>(.*?)</li>', response.text, re.S).group(1)
    assert beside == (
        "ICBC 调回 2,990,000.00 元后放大倍数上限为 50,000.00 元，"
        "低于在保余额 160,000.00 元，缺口 110,000.00 元"
    )
    assert counts(books) == before


def test_a_clerk_records_deposit_interest_attributed_to_the_sources(as_user, books):
    clerk = as_user("clerk")
    data = {"fund": "CITY", "bank": "ICBC", "amount": "1,000.00", "on": "2025-12-21",
            "bank_ref": "INT-20251221"}  # fmt: skip
    response = clerk.post("/capital/interest/new", data=data)
    assert response.status_code == 302
    entry_id = entry_of(response)
    shown = clerk.get(f"/capital/movements/{entry_id}")
    assert postings(shown, entry_id) == [
        "asset:special:ICBC 1,000.00",
        "income:deposit-interest:city 250.00",
        "income:deposit-interest:district-D01 75.00",
        "income:deposit-interest:other 50.00",
        "income:deposit-interest:provincial 625.00",
    ]
    assert "市级配套 (city) CITY 2,000,000.00 250.00 0.00 2,000,250.00" in text(
        clerk.get("/capital")
    )
    before = counts(books)
    again = clerk.post("/capital/interest/new", data={**data, "amount": "999.99"})
    assert again.status_code == 422
    beside = re.search(r'id="bank_ref".*?<li>(.*?)</li>', again.text, re.S).group(1)
    assert beside == "ICBC 流水号 INT-20251221 已登记为 2025-12-21 利息 1,000.00 元"
    empty = clerk.post("/capital/interest/new", data={**data, "bank_ref": ""})
    assert empty.status_code == 422
    assert re.search(r'id="bank_ref".*?<li>请填写银行流水号</li>', empty.text, re.S)
    assert counts(books) == before


def test_a_movement_page_shows_only_capital_movements(as_user, books):
    with books() as s:
        allocation_entry = s.get(CapitalAllocation, 1).entry_id
        placement = s.scalar(
            select(JournalEntry.id).where(JournalEntry.kind == "capital.placement").limit(1)
        )
    auditor = as_user("auditor")
    assert auditor.get(f"/capital/movements/{allocation_entry}").status_code == 404
    assert auditor.get("/capital/movements/999999").status_code == 404
    shown = auditor.get(f"/capital/movements/{placement}")
    assert shown.status_code == 200
    assert postings(shown, placement)[0] in (
        "asset:special:ICBC 3,000,000.00", "asset:special:ABC 1,000,000.00"
    )  # fmt: skip


# Who sees what ---------------------------------------------------------------------------

PAGES = ("/capital", "/capital/allocations/5", "/capital/allocations/new",
         "/capital/placements/new", "/capital/withdrawals/new",
         "/capital/interest/new")  # fmt: skip


def test_a_bank_user_has_no_capital_pages(as_user, books):
    icbc = as_user("icbc")
    before = counts(books)
    for url in PAGES:
        assert icbc.get(url).status_code == 403, url
    data = {"fund": "CITY", "bank": "ICBC", "amount": "1", "on": "2025-12-01", "bank_ref": "X"}
    for url in PAGES[2:]:
        assert icbc.post(url, data=data).status_code == 403, url
    assert icbc.post("/capital/allocations/5/approve").status_code == 403
    assert counts(books) == before
    assert 'href="/capital"' not in icbc.get("/").text


def test_the_auditor_sees_the_pages_without_any_control(as_user):
    auditor = as_user("auditor")
    for url in ("/capital", "/capital/allocations/5"):
        response = auditor.get(url)
        assert response.status_code == 200
        assert re.findall(r'<form method="post"[^>]*action="/capital', response.text) == []
        assert 'id="capital-actions"' not in response.text
        page = response.text.split("</header>")[1]
        assert set(re.findall(r"<button[^>]*>(.*?)</button>", page)) <= {"查看", "筛选"}
    for url in PAGES[2:]:
        assert auditor.get(url).status_code == 403
    assert 'id="capital-actions"' in as_user("clerk").get("/capital").text


def test_the_pages_read_in_english(as_user):
    clerk = as_user("clerk")
    clerk.get("/language/en")
    page = text(clerk.get("/capital/allocations/5"))
    assert "Allocation 5 awaiting approval" in page
    data = {"source": "city", "amount": "0", "received_on": "2025-06-03"}
    refused = clerk.post("/capital/allocations/new", data=data)
    assert "the allocation amount must be a positive number of fen" in text(refused)
