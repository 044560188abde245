"""The pages over the portfolio, with its figures to the fen: the loan list and its
filters and search, a loan's page, a borrower's page, the books; masking; a bank user's
view of its own bank only; the dashboard's lines."""

from __future__ import annotations

import re

from tests.fund.conftest import borrower_id
from tests.web.conftest import text

ZHANG_SAN = borrower_id(1)  # 张三, ICBC-001


def contracts(response) -> list[str]:
    return re.findall(r'/loans/[A-Z]+/([A-Z]+-\d+)"', response.get_data(as_text=True))


def test_the_loan_list_filters_and_searches(as_user):
    clerk = as_user("clerk")
    assert contracts(clerk.get("/loans")) == [
        "ABC-002", "ICBC-004", "ICBC-003", "ICBC-002", "ABC-001", "ICBC-001"
    ]  # fmt: skip
    assert contracts(clerk.get("/loans?bank=ICBC&status=active")) == [
        "ICBC-003", "ICBC-002", "ICBC-001"
    ]  # fmt: skip
    assert contracts(clerk.get("/loans?status=repaid")) == ["ICBC-004"]
    assert contracts(clerk.get("/loans?from=2025-04-01&to=2025-05-31")) == [
        "ICBC-004", "ICBC-003", "ICBC-002"
    ]  # fmt: skip
    assert contracts(clerk.get("/loans?q=ABC-001")) == ["ABC-001"]
    assert contracts(clerk.get(f"/loans?q={ZHANG_SAN}")) == ["ICBC-001"]
    assert contracts(clerk.get("/loans?q=张")) == ["ICBC-001"]


def test_a_bad_filter_is_named_and_shows_no_list(as_user):
    clerk = as_user("clerk")
    bad = clerk.get("/loans?status=lost")
    assert bad.status_code == 400
    assert "贷款状态" in text(bad) and "lost" in text(bad)
    assert contracts(bad) == []
    date = clerk.get("/loans?from=2025-13-01")
    assert date.status_code == 400
    assert "放款日起：2025-13-01 不是日期（应为 YYYY-MM-DD）" in text(date)


def test_a_loans_page_shows_its_position_history_and_entries(as_user):
    page = text(as_user("clerk").get("/loans/ICBC/ICBC-001?as_of=2025-12-31"))
    assert "贷款 ICBC-001 正常" in page
    assert "本金余额 80,000.00" in page
    assert "已还本金 20,000.00" in page
    assert "R-001 2025-09-05 20,000.00 0.00 0.00" in page
    assert "张三" in page and ZHANG_SAN in page
    assert "D memo:exposure:ICBC" in page or "C memo:exposure:ICBC" in page


def test_names_and_id_numbers_are_masked_for_auditors_and_banks(as_user):
    masked = f"{ZHANG_SAN[:4]}**********{ZHANG_SAN[-4:]}"
    for user in ("auditor", "icbc"):
        page = text(as_user(user).get("/loans/ICBC/ICBC-001"))
        assert masked in page and ZHANG_SAN not in page
        assert "张*" in page and "张三" not in page
    assert ZHANG_SAN in text(as_user("approver").get("/loans/ICBC/ICBC-001"))


def test_a_bank_user_sees_its_own_bank_only(as_user):
    icbc = as_user("icbc")
    assert contracts(icbc.get("/loans")) == ["ICBC-004", "ICBC-003", "ICBC-002", "ICBC-001"]
    assert contracts(icbc.get("/loans?bank=ABC")) == contracts(icbc.get("/loans"))
    assert icbc.get("/loans/ABC/ABC-001").status_code == 404
    assert icbc.get("/loans/ICBC/NO-SUCH").status_code == 404
    page = text(icbc.get("/"))
    assert "工商银行 (ICBC)" in page and "农业银行 (ABC)" not in page
    assert "各来源资本金" not in page


def test_the_dashboard_shows_each_bank_and_the_capital(as_user):
    page = text(as_user("auditor").get("/"))
    assert "工商银行 (ICBC) CITY 3,000,000.00" in page
    assert "各来源资本金" in page
    assert "合计 8,000,000.00" in page


def test_an_entrys_page_and_the_trial_balance(as_user):
    clerk = as_user("clerk")
    entry = text(clerk.get("/books/entries/1"))
    assert "凭证 #1" in entry and "合计" in entry
    trial = clerk.get("/books/trial-balance?as_of=2025-01-31")
    page = text(trial)
    assert "asset:special:ICBC 工商银行" in page or "asset:special:ICBC" in page
    assert "表内科目 8,000,000.00 8,000,000.00" in page
    assert clerk.get("/books/trial-balance?recorded_at=2025-01-01T00:00").status_code == 403
    auditor = as_user("auditor")
    past = auditor.get("/books/trial-balance?recorded_at=2000-01-01T00:00")
    assert past.status_code == 200
    assert "表内科目 0.00 0.00" in text(past)


def test_a_bank_user_is_not_linked_to_the_books_it_may_not_open(as_user):
    page = as_user("icbc").get("/loans/ICBC/ICBC-001").get_data(as_text=True)
    assert "/books/entries/" not in page
    assert "/books/entries/" in as_user("auditor").get("/loans/ICBC/ICBC-001").get_data(
        as_text=True
    )


def test_a_loans_page_offers_the_operations_its_reader_may_do(as_user):
    def offered(user):
        html = as_user(user).get("/loans/ICBC/ICBC-001").get_data(as_text=True)
        return re.findall(
            r'href="/operations/([a-z-]+/[a-z]+)\?bank=ICBC&amp;contract_no=ICBC-001"', html
        )

    assert offered("clerk") == [
        "repayments/new", "reversals/new", "claims/new", "recoveries/new",
        "counter-guarantees/enforce", "write-offs/new",
    ]  # fmt: skip
    assert offered("approver") == [
        "repayments/new", "reversals/new", "extensions/new", "recoveries/new",
        "counter-guarantees/enforce",
    ]  # fmt: skip
    assert offered("icbc") == ["repayments/new", "reversals/new", "claims/new", "recoveries/new"]
    assert offered("auditor") == []
