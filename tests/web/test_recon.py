"""The reconciliation pages over the portfolio with three breaks, two job runs and two
alerts: the queue and its filters, a break's page and the work on it (and who may do
what), the runs, the alerts, and a month's month-end with the close it refuses while a
break holds it."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from ledger.fund.closing import close_books
from ledger.models import PeriodClose
from ledger.ops.alerts import raise_alert
from ledger.ops.runs import Period, claim_run, finish_run
from ledger.recon.breaks import Finding, record_break
from ledger.recon.models import Break, BreakEvent
from ledger.recon.monthend import prepare_snapshot
from tests.fund.conftest import D, run
from tests.web.conftest import text as raw_text

TODAY = D(2025, 12, 20)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr("web.views.recon.business_today", lambda: TODAY)


@pytest.fixture
def breaks(books):
    """Break 1: ICBC-001's balance (fund 80,000.00, bank 80,100.00) found 2025-11-28;
    break 2: ABC's GHOST-ABC-1 missing in the fund (bank 5,000.00) found 2025-12-05;
    break 3: ICBC-002 overdue 0 days in the fund, 45 at the bank, found 2025-12-12."""

    def work(s):
        found = [
            (Finding("amount_differs", "ICBC", "CITY", "ICBC-001", D(2025, 11, 28),
                     fund_figure=8_000_000, bank_figure=8_010_000), D(2025, 11, 28)),
            (Finding("missing_in_fund", "ABC", "CITY", "GHOST-ABC-1", D(2025, 12, 5),
                     bank_figure=500_000), D(2025, 12, 5)),
            (Finding("status_differs", "ICBC", "CITY", "ICBC-002", D(2025, 12, 12),
                     fund_figure=0, bank_figure=100_000, fund_days=0, bank_days=45),
             D(2025, 12, 12)),
        ]  # fmt: skip
        return [
            record_break(s, f, source="balances", found_on=on, actor="clerk").id for f, on in found
        ]

    return run(books, work)


def text(response) -> str:
    return html.unescape(raw_text(response))


def form_errors(response, form_id: str) -> list[str]:
    """The error messages shown inside one form of the page."""
    page = response.get_data(as_text=True)
    form = page.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    lists = re.findall(r'<ul class="errors"[^>]*>(.*?)</ul>', form, flags=re.S)
    return [html.unescape(e) for ul in lists for e in re.findall(r"<li>(.*?)</li>", ul)]


def ids(response) -> list[int]:
    return [
        int(i) for i in re.findall(r'href="/recon/breaks/(\d+)"', response.get_data(as_text=True))
    ]


def counts(factory) -> tuple:
    with factory() as s:
        return (
            s.scalar(select(func.count()).select_from(BreakEvent)),
            tuple(s.execute(select(Break.status, Break.assignee, Break.explanation)
                            .order_by(Break.id)).all()),
        )  # fmt: skip


# ------------------------------------------------------------------------------ the queue


def test_the_queue_lists_and_filters_the_breaks(as_user, breaks):
    one, two, three = breaks
    clerk = as_user("clerk")
    page = clerk.get("/recon/breaks")
    assert ids(page) == [three, two, one]
    body = text(page)
    assert (f"{one} ICBC CITY 金额不符 ICBC-001 80,000.00 80,100.00 100.00 "
            f"2025-11-28 2025-11-28 22 未处理") in body  # fmt: skip
    assert f"{two} ABC CITY 基金无记录 GHOST-ABC-1 — 5,000.00 5,000.00" in body
    assert (
        f"{three} ICBC CITY 逾期状态不符 ICBC-002 0 天 45 天 2025-12-12 2025-12-12 8 未处理" in body
    )
    assert ids(clerk.get("/recon/breaks?bank=ICBC")) == [three, one]
    assert ids(clerk.get("/recon/breaks?type=missing_in_fund")) == [two]
    assert ids(clerk.get("/recon/breaks?age=30")) == []
    assert ids(clerk.get("/recon/breaks?age=7")) == [three, two, one]
    assert ids(clerk.get("/recon/breaks?from=2025-12-01&to=2025-12-10")) == [two]
    assert ids(clerk.get("/recon/breaks?status=resolved")) == []


def test_a_bad_filter_is_named(as_user, breaks):
    clerk = as_user("clerk")
    bad = clerk.get("/recon/breaks?status=lost")
    assert bad.status_code == 400
    assert "状态 'lost' 无效，应为：open、explained、resolved" in text(bad)
    assert ids(bad) == []
    dates = clerk.get("/recon/breaks?from=2025-12-10&to=2025-12-01")
    assert dates.status_code == 400
    assert "发现日期范围的结束日期 2025-12-01 早于开始日期 2025-12-10" in text(dates)


def test_a_bank_user_sees_its_own_banks_breaks_only(as_user, breaks):
    one, two, three = breaks
    icbc = as_user("icbc")
    assert ids(icbc.get("/recon/breaks")) == [three, one]
    assert ids(icbc.get("/recon/breaks?bank=ABC")) == [three, one]
    assert icbc.get(f"/recon/breaks/{two}").status_code == 404
    assert icbc.get("/recon/breaks/999").status_code == 404
    page = icbc.get(f"/recon/breaks/{one}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="comment-form"' in html
    for form in ("assign-form", "explain-form", "resolve-form", "reopen-form"):
        assert f'id="{form}"' not in html
    assert "Job runs" not in html and "作业运行" not in text(page)


# ------------------------------------------------------------------------------ a break


def test_the_queue_sorts_by_age_and_by_the_size_of_the_difference(as_user, books, breaks):
    """By the date found (the age), and by the difference's size whichever its sign: a
    fourth break, ABC-002's balance 2,000.00 lower at the bank, sorts by 2,000.00."""
    one, two, three = breaks
    finding = Finding("amount_differs", "ABC", "CITY", "ABC-002", D(2025, 12, 15),
                      fund_figure=6_000_000, bank_figure=5_800_000)  # fmt: skip
    four = run(
        books,
        lambda s: record_break(s, finding, source="balances", found_on=D(2025, 12, 15),
                               actor="clerk").id,
    )  # fmt: skip
    clerk = as_user("clerk")
    assert ids(clerk.get("/recon/breaks?sort=-difference")) == [two, four, three, one]
    assert ids(clerk.get("/recon/breaks?sort=difference")) == [one, three, four, two]
    oldest = clerk.get("/recon/breaks?sort=found_on")
    assert ids(oldest) == [one, two, three, four]
    page = oldest.get_data(as_text=True)
    # The age is the date found the other way round: oldest first is the age descending.
    assert re.search(r'aria-sort="descending"><a href="/recon/breaks\?sort=-found_on"[^>]*>'
                     r"账龄（天） ▼</a>", page)  # fmt: skip
    assert re.search(r'aria-sort="ascending"><a href="/recon/breaks\?sort=-found_on"[^>]*>'
                     r"发现日期 ▲</a>", page)  # fmt: skip
    assert ids(clerk.get("/recon/breaks?sort=-found_on&bank=ICBC")) == [three, one]
    assert ids(as_user("icbc").get("/recon/breaks?sort=-difference&bank=ABC")) == [three, one]
    bad = clerk.get("/recon/breaks?sort=age")
    assert bad.status_code == 400
    assert ("排序方式 'age' 无效，可按以下之一排序：id、found_on、difference（升序；前加 - 为降序）"
            in text(bad))  # fmt: skip


def test_a_breaks_page_shows_its_figures_and_history(as_user, breaks):
    one = breaks[0]
    body = text(as_user("auditor").get(f"/recon/breaks/{one}"))
    assert f"差异 {one} 未处理" in body
    assert "基金数 80,000.00 银行数 80,100.00 差额（银行 − 基金） 100.00" in body
    assert "发现 2025-11-28" in body and "账龄（天） 22" in body
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d clerk 发现 未处理", body)


def test_the_auditor_sees_no_form(as_user, breaks):
    html = as_user("auditor").get(f"/recon/breaks/{breaks[0]}").get_data(as_text=True)
    assert "<form" not in html.split("</header>")[1]


def test_a_clerk_assigns_explains_and_resolves(as_user, books, breaks):
    one = breaks[0]
    clerk = as_user("clerk")
    done = clerk.post(f"/recon/breaks/{one}/assign", data={"assign-assignee": "approver"})
    assert (done.status_code, done.headers["Location"]) == (302, f"/recon/breaks/{one}")
    page = text(clerk.get(f"/recon/breaks/{one}"))
    assert f"差异 {one} 已分派。" in page
    assert "clerk 分派 未处理 - -> approver" in page
    explained = clerk.post(
        f"/recon/breaks/{one}/explain", data={"explain-text": "银行 12 月 1 日更正"}
    )
    assert explained.status_code == 302
    page = text(clerk.get(f"/recon/breaks/{one}"))
    assert f"差异 {one} 已说明" in page
    assert "clerk 已说明 未处理 → 已说明 银行 12 月 1 日更正" in page
    resolved = as_user("approver").post(
        f"/recon/breaks/{one}/resolve", data={"resolve-entry": "1", "resolve-text": "已核对"}
    )
    assert resolved.status_code == 302
    page = as_user("approver").get(f"/recon/breaks/{one}")
    assert f"差异 {one} 已解决" in text(page)
    assert "approver 已解决 已说明 → 已解决 entry 1. 已核对" in text(page)
    assert 'href="/books/entries/1"' in page.get_data(as_text=True)
    assert counts(books)[1][0] == ("resolved", "approver", "银行 12 月 1 日更正")


def test_a_refused_change_shows_the_reason_beside_its_field_and_changes_nothing(
    as_user, books, breaks
):
    one = breaks[0]
    clerk = as_user("clerk")
    before = counts(books)
    empty = clerk.post(f"/recon/breaks/{one}/explain", data={"explain-text": "  "})
    assert empty.status_code == 422
    assert form_errors(empty, "explain-form") == ["说明不能为空"]
    nobody = clerk.post(f"/recon/breaks/{one}/assign", data={"assign-assignee": "icbc"})
    assert nobody.status_code == 422
    assert form_errors(nobody, "assign-form") == ["用户 icbc 无权执行此操作：需要经办或审核角色"]
    neither = clerk.post(f"/recon/breaks/{one}/resolve", data={"resolve-text": "x"})
    assert neither.status_code == 422
    assert form_errors(neither, "resolve-form") == [
        "请指明解决该差异的记账凭证或银行文件（二者选一）"
    ]
    no_entry = clerk.post(f"/recon/breaks/{one}/resolve", data={"resolve-entry": "99999"})
    assert form_errors(no_entry, "resolve-form") == ["记账凭证 99999 不存在"]
    assert counts(books) == before


def test_a_bank_user_comments_but_a_forged_change_is_refused(as_user, books, breaks):
    one, two, _three = breaks
    icbc = as_user("icbc")
    before = counts(books)
    for path, data in (
        ("assign", {"assign-assignee": "icbc"}),
        ("explain", {"explain-text": "x"}),
        ("resolve", {"resolve-entry": "1"}),
        ("reopen", {"reopen-text": "x"}),
    ):
        assert icbc.post(f"/recon/breaks/{one}/{path}", data=data).status_code == 403
    assert icbc.post(f"/recon/breaks/{two}/comment", data={"comment-text": "x"}).status_code == 404
    assert counts(books) == before
    done = icbc.post(f"/recon/breaks/{one}/comment", data={"comment-text": "我行数据有误，已更正"})
    assert done.status_code == 302
    page = text(icbc.get(f"/recon/breaks/{one}"))
    assert "icbc 备注 未处理 我行数据有误，已更正" in page
    empty = icbc.post(f"/recon/breaks/{one}/comment", data={"comment-text": ""})
    assert empty.status_code == 422
    assert form_errors(empty, "comment-form") == ["备注不能为空"]


def test_reopening_a_resolved_break(as_user, breaks):
    one = breaks[0]
    clerk = as_user("clerk")
    assert (
        clerk.post(f"/recon/breaks/{one}/resolve", data={"resolve-entry": "1"}).status_code == 302
    )
    html = clerk.get(f"/recon/breaks/{one}").get_data(as_text=True)
    assert 'id="reopen-form"' in html and 'id="explain-form"' not in html
    again = clerk.post(f"/recon/breaks/{one}/reopen", data={"reopen-text": "凭证有误"})
    assert again.status_code == 302
    assert "clerk 重新打开 已解决 → 未处理 凭证有误" in text(clerk.get(f"/recon/breaks/{one}"))


# ------------------------------------------------------------------------------ runs, alerts


@pytest.fixture
def ops_records(books):
    def work(s):
        ok = claim_run(s, "reconcile", Period.containing("daily", D(2025, 12, 1)), holder="h1")
        finish_run(s, ok.id, counts={"balance_files": 2, "breaks_new": 1})
        bad = claim_run(s, "month-end", Period.containing("monthly", D(2025, 11, 1)), holder="h1")
        finish_run(s, bad.id, error="trial balance off by 0.01")
        a = raise_alert(s, "file-missing", "ABC 未按时报送2025-12-01的专户对账单", key="ABC",
                        bank="ABC")  # fmt: skip
        b = raise_alert(s, "job-failed", "month-end 2025-11 failed", key="month-end",
                        severity="critical")  # fmt: skip
        return a.id, b.id

    return run(books, work)


def test_the_runs_page_shows_each_outcome(as_user, ops_records):
    clerk = as_user("clerk")
    body = text(clerk.get("/recon/runs"))
    assert "month-end 2025-11 失败 1" in body and "trial balance off by 0.01" in body
    assert "reconcile 2025-12-01 成功 1" in body and "balance_files=2 breaks_new=1" in body
    failed = text(clerk.get("/recon/runs?status=failed"))
    assert "month-end" in failed and "reconcile 2025-12-01" not in failed
    assert as_user("icbc").get("/recon/runs").status_code == 403


def test_alerts_are_acknowledged_once(as_user, books, ops_records):
    missing, failed = ops_records
    clerk = as_user("clerk")
    body = text(clerk.get("/recon/alerts"))
    assert f"{missing} 文件未报送 警告 ABC 未按时报送2025-12-01的专户对账单 ABC" in body
    done = clerk.post(f"/recon/alerts/{missing}/acknowledge")
    assert (done.status_code, done.headers["Location"]) == (302, "/recon/alerts")
    body = text(clerk.get("/recon/alerts?open=1"))
    assert f"警报 {missing} 已确认。" in body
    assert "未按时报送" not in body and "month-end 2025-11 failed" in body
    again = clerk.post(f"/recon/alerts/{missing}/acknowledge")
    assert again.status_code == 422
    assert f"警报 {missing} 已由 clerk 确认" in text(again)
    assert clerk.post("/recon/alerts/999/acknowledge").status_code == 404
    auditor = as_user("auditor").get("/recon/alerts")
    assert '<form method="post" action="/recon/alerts' not in auditor.get_data(as_text=True)
    assert as_user("auditor").post(f"/recon/alerts/{failed}/acknowledge").status_code == 403


# ------------------------------------------------------------------------------ month-end


def test_month_end_shows_the_snapshot_and_refuses_the_close_while_a_break_is_open(
    as_user, books, breaks
):
    one = breaks[0]
    prepare_snapshot(books, "2025-11", actor="clerk")
    approver = as_user("approver")
    page = approver.get("/recon/month-end/2025-11")
    body = text(page)
    assert "月末 2025-11 未结账" in body
    assert f"阻止结账的差异 1 {one}" in body
    assert "截至日期 2025-11-30" in body and "当时未处理差异 1" in body
    assert "试算平衡表（截至 2025-11-30）" in body
    assert 'id="close-form"' in page.get_data(as_text=True)
    refused = approver.post("/recon/month-end/2025-11/close")
    assert refused.status_code == 422
    assert (f"截至 2025-11-30 发现的 1 项对账差异尚未处理（{one}），须先说明或解决才能结账"
            in text(refused))  # fmt: skip
    with books() as s:
        assert s.scalar(select(func.count()).select_from(PeriodClose)) == 0
    clerk = as_user("clerk")
    assert (
        clerk.post(f"/recon/breaks/{one}/explain", data={"explain-text": "时间差"}).status_code
        == 302
    )
    closed = approver.post("/recon/month-end/2025-11/close")
    assert (closed.status_code, closed.headers["Location"]) == (302, "/recon/month-end/2025-11")
    body = text(approver.get("/recon/month-end/2025-11"))
    assert "账簿已结账至 2025-11-30。" in body
    assert "月末 2025-11 已结账" in body and "已结账至 2025-11-30" in body
    with books() as s:
        assert s.scalar(select(PeriodClose.closed_through)) == D(2025, 11, 30)


def test_month_end_trial_balance_is_the_snapshots_to_the_fen(as_user, books):
    prepare_snapshot(books, "2025-01", actor="clerk")
    page = as_user("auditor").get("/recon/month-end/2025-01")
    body = text(page)
    assert "asset:treasury 4,000,000.00" in body
    assert "asset:special:ICBC 3,000,000.00" in body
    assert "合计 8,000,000.00 8,000,000.00" in body
    assert "close-form" not in page.get_data(as_text=True)
    assert "自快照生成以来月内余额没有变化。" in body


def test_month_end_prepares_the_snapshot_and_a_clerk_may_not_close(as_user, books):
    approver = as_user("approver")
    before = approver.get("/recon/month-end/2025-02")
    assert "2025-02 月末尚未生成试算平衡快照" in text(before) or "尚未生成" in text(before)
    done = approver.post("/recon/month-end/2025-02/prepare")
    assert done.status_code == 302
    assert "approver" in text(approver.get("/recon/month-end/2025-02"))
    assert as_user("clerk").post("/recon/month-end/2025-02/close").status_code == 403
    assert as_user("icbc").get("/recon/month-end/2025-02").status_code == 403
    assert approver.get("/recon/month-end/2025-13").status_code == 404
    with books() as s:
        assert s.scalar(select(func.count()).select_from(PeriodClose)) == 0


def test_a_closed_month_offers_no_close(as_user, books):
    run(books, lambda s: close_books(s, D(2025, 1, 31), actor="approver", today=TODAY))
    page = as_user("approver").get("/recon/month-end/2025-01")
    assert "已结账" in text(page)
    assert "close-form" not in page.get_data(as_text=True)
    assert dt.date(2025, 1, 31).isoformat() in text(page)
