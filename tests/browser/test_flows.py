"""The flows people do in a browser, end to end over the portfolio."""

from __future__ import annotations

import re

from tests.browser.conftest import sign_in


def test_sign_in_and_out(page, server):
    page.goto(f"{server}/loans")
    assert page.url.startswith(f"{server}/login")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "Wrong#password1")
    page.click("button[type=submit]")
    assert page.locator(".errors").inner_text() == "用户名或密码不正确"
    sign_in(page, server, "clerk")
    assert page.url == f"{server}/"
    assert page.locator("h1").inner_text() == "首页"
    assert page.locator("header .who").inner_text().startswith("王经办")
    page.click("header form button")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{server}/login"
    assert "您已退出" in page.locator(".flash").inner_text()
    page.goto(f"{server}/")
    assert page.url.startswith(f"{server}/login")


def test_a_bank_user_cannot_see_another_banks_loan(page, server):
    sign_in(page, server, "icbc")
    page.goto(f"{server}/loans")
    shown = page.locator("#loans tbody tr td:first-child").all_inner_texts()
    assert shown == ["ICBC-004", "ICBC-003", "ICBC-002", "ICBC-001"]
    response = page.goto(f"{server}/loans/ABC/ABC-001")
    assert response.status == 404
    assert "ABC-001" not in page.locator("main").inner_text()
    assert page.locator("h1").inner_text() == "404 · 未找到"


def test_an_auditor_drills_from_the_dashboard_to_an_entrys_postings(page, server):
    sign_in(page, server, "auditor")
    # The dashboard's ICBC line: its loans outstanding link to the list behind them.
    row = page.locator("table tr", has_text="工商银行 (ICBC)").first
    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert "/loans?" in page.url and "bank=ICBC" in page.url
    page.click("text=ICBC-001")
    page.wait_for_load_state("networkidle")
    assert page.locator("#outstanding").inner_text() == "80,000.00"
    entry_link = page.locator("#entries tbody tr a").first
    entry_id = entry_link.inner_text()
    entry_link.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == f"凭证 {entry_id}"
    legs = page.locator("#postings tbody tr").all_inner_texts()
    assert len(legs) >= 2
    debit, credit = page.locator("#postings tfoot td.num").all_inner_texts()
    assert debit == credit and re.fullmatch(r"[\d,]+\.\d\d", debit)
    # Nothing on any of these pages changes anything: the only form is signing out.
    for url in ("/", "/loans/ICBC/ICBC-001", page.url.removeprefix(server)):
        page.goto(f"{server}{url}")
        forms = page.locator("main form").all()
        assert all(f.get_attribute("method") in (None, "get") for f in forms), url
        assert page.locator("main button:not([type=submit]), main input[type=submit]").count() == 0
