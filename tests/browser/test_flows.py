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


def test_a_bank_uploads_a_file_with_two_bad_rows_reads_the_report_fixes_it(page, server, tmp_path):
    from tests.web.test_files import BAD, GOOD

    sign_in(page, server, "icbc")
    page.goto(f"{server}/loans/ICBC/ICBC-002")
    assert page.locator("#outstanding").inner_text() == "80,000.00"
    bad = tmp_path / "还款明细.csv"
    bad.write_text(BAD, encoding="utf-8")
    page.goto(f"{server}/files")
    page.set_input_files("#upload input[type=file]", str(bad))
    page.click("#upload button[type=submit]")
    page.wait_for_load_state("networkidle")
    errors = page.locator("#errors tbody tr").all_inner_texts()
    assert len(errors) == 2
    assert "贷款 ICBC-002 还款后本金余额：银行为 1.00 元，基金为 79,000.00 元，不一致" in errors[0]
    assert "ICBC 没有合同号为 ICBC-00X 的贷款" in errors[1]
    with page.expect_download() as download:
        page.click("#report-links >> text=CSV")
    report = download.value.path().read_bytes().decode("utf-8-sig")
    assert report.splitlines()[1].startswith("3,balance_after,1.00,")
    assert report.splitlines()[2].startswith("4,contract_no,ICBC-00X,")
    # The clerk at the bank fixes both rows and sends the file again.
    fixed = tmp_path / "还款明细-更正.csv"
    fixed.write_text(GOOD + 'W-2,ICBC-002,2025-12-20,1000,0,"79,000.00"\n', encoding="utf-8")
    page.goto(f"{server}/files")
    page.set_input_files("#upload input[type=file]", str(fixed))
    page.click("#upload button[type=submit]")
    page.wait_for_load_state("networkidle")
    counts = page.locator("#counts").inner_text()
    assert "2" in counts and page.locator("#errors").count() == 0
    assert page.locator("#entries tbody tr").count() >= 1
    page.goto(f"{server}/loans/ICBC/ICBC-002")
    assert page.locator("#outstanding").inner_text() == "79,000.00"
    page.goto(f"{server}/loans/ICBC/ICBC-001")
    assert page.locator("#outstanding").inner_text() == "50,000.00"


def net_capital(page, server) -> int:
    page.goto(f"{server}/")
    shown = page.locator("#net-capital").inner_text().split()[0]
    return int(shown.replace(",", "").replace(".", ""))


def test_a_clerk_records_an_allocation_another_approves_and_the_dashboard_moves(browser, server):
    clerk = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(clerk, server, "clerk")
    before = net_capital(clerk, server)
    clerk.goto(f"{server}/capital/allocations/new")
    clerk.select_option("#allocation-form select[name=source]", "city")
    clerk.fill("#allocation-form input[name=amount]", "123,456.78")
    clerk.fill("#allocation-form input[name=received_on]", "2025-12-15")
    clerk.fill("#allocation-form input[name=reference]", "财字〔2025〕21号")
    clerk.click("#allocation-form button[type=submit]")
    clerk.wait_for_load_state("networkidle")
    allocation_url = clerk.url
    assert "/capital/allocations/" in allocation_url
    # The clerk may not approve what they recorded: no approve form for them.
    assert clerk.locator("#approve-form").count() == 0
    assert net_capital(clerk, server) == before

    approver = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(approver, server, "approver")
    approver.goto(allocation_url)
    approver.click("#approve-form button[type=submit]")
    approver.wait_for_load_state("networkidle")
    assert net_capital(approver, server) == before + 12_345_678
    assert net_capital(clerk, server) == before + 12_345_678
    from tests.browser.conftest import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    approver.screenshot(path=str(SHOTS / "test_allocation_approved_dashboard.png"), full_page=True)
    clerk.context.close()
    approver.context.close()
