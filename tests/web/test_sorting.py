"""Sorting the lists, on the pages and in the API, over the portfolio: each column header
a link that sorts by it (the other way when it already does, an arrow saying which) and
keeps the filters; the next page's link carries the sort and the cursor; a bank user's
sorted list is still its own bank's; a sort or a cursor the list cannot have is the
page's filter error (400) or the API's problem; the API's cursor round trip."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from ledger.fund.tokens import issue_token
from ledger.paging import Cursor
from tests.fund.conftest import run
from tests.web.conftest import login, make_app, text
from tests.web.test_api import assert_problem

BY_PRINCIPAL = ["ICBC-001", "ICBC-002", "ABC-002", "ABC-001", "ICBC-003", "ICBC-004"]
# Maturity 2026-04-01 for ICBC-002 (id 3) and ICBC-003 (id 4): the higher id first, descending.
LATEST_MATURITY = ["ABC-002", "ICBC-003", "ICBC-002", "ABC-001", "ICBC-001", "ICBC-004"]


def contracts(response) -> list[str]:
    return re.findall(r'/loans/[A-Z]+/([A-Z]+-\d+)"', response.get_data(as_text=True))


def headers(response) -> dict[str, tuple[str, str | None]]:
    """Each sortable header of the page's table: its label → (its link's query, the
    direction it shows: ascending, descending or None)."""
    found = {}
    for attrs, href, label in re.findall(
        r'<th class="[^"]*sortable"([^>]*)><a href="([^"]*)"[^>]*>([^<]*)</a></th>',
        response.get_data(as_text=True),
    ):
        direction = re.search(r'aria-sort="(\w+)"', attrs)
        label = html.unescape(label).replace(" ▲", "").replace(" ▼", "")
        found[label] = (html.unescape(urlsplit(href).query), direction and direction.group(1))
    return found


def next_link(response) -> str | None:
    found = re.search(r'<a href="([^"]*)">下一页 »</a>', response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def small_pages(books, db_url):
    """A signed-in client of an app whose lists show two rows a page: ``small_pages(user)``."""
    app = make_app(db_url, PAGE_SIZE=2)

    def client(username):
        made = app.test_client()
        assert login(made, username).status_code == 302
        return made

    yield client
    app.extensions["fundledger"].engine.dispose()


def follow(client, url: str, read=contracts) -> tuple[list[list], list[str]]:
    """Every page from ``url`` on through the next page's links: their rows, and the
    links followed."""
    pages, links = [], []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, text(response)
        pages.append(read(response))
        url = next_link(response)
        if url is not None:
            links.append(url)
        assert len(pages) < 10
    return pages, links


# ------------------------------------------------------------------------- the pages


def test_the_loan_lists_headers_sort_it_and_say_how(as_user):
    clerk = as_user("clerk")
    newest = clerk.get("/loans")
    assert headers(newest) == {
        "合同号": ("sort=contract_no", None),
        "本金": ("sort=-principal", None),
        "放款日": ("sort=-disbursed_on", None),
        "到期日": ("sort=maturity", None),
    }
    by_principal = clerk.get("/loans?sort=-principal")
    assert contracts(by_principal) == BY_PRINCIPAL
    assert headers(by_principal)["本金"] == ("sort=principal", "descending")
    assert "本金 ▼" in text(by_principal)
    ascending = clerk.get("/loans?sort=principal")
    assert contracts(ascending) == BY_PRINCIPAL[::-1]
    assert headers(ascending)["本金"] == ("sort=-principal", "ascending")
    assert "本金 ▲" in text(ascending)
    assert contracts(clerk.get("/loans?sort=-maturity")) == LATEST_MATURITY
    assert contracts(clerk.get("/loans?sort=maturity")) == [
        "ICBC-004", "ICBC-001", "ABC-001", "ICBC-002", "ICBC-003", "ABC-002"
    ]  # fmt: skip
    assert contracts(clerk.get("/loans?sort=contract_no")) == [
        "ABC-001", "ABC-002", "ICBC-001", "ICBC-002", "ICBC-003", "ICBC-004"
    ]  # fmt: skip
    assert contracts(clerk.get("/loans?sort=disbursed_on")) == [
        "ICBC-001", "ABC-001", "ICBC-002", "ICBC-003", "ICBC-004", "ABC-002"
    ]  # fmt: skip


def test_a_header_keeps_the_filters_and_the_filter_form_keeps_the_sort(as_user):
    clerk = as_user("clerk")
    page = clerk.get("/loans?status=active&bank=ICBC&sort=maturity")
    assert contracts(page) == ["ICBC-001", "ICBC-002", "ICBC-003"]
    assert parse_qs(headers(page)["到期日"][0]) == {
        "status": ["active"], "bank": ["ICBC"], "sort": ["-maturity"]
    }  # fmt: skip
    assert parse_qs(headers(page)["本金"][0]) == {
        "status": ["active"], "bank": ["ICBC"], "sort": ["-principal"]
    }  # fmt: skip
    assert '<input type="hidden" name="sort" value="maturity">' in page.get_data(as_text=True)


def test_the_next_page_carries_the_sort_the_cursor_and_the_filters(small_pages):
    clerk = small_pages("clerk")
    pages, links = follow(clerk, "/loans?sort=-maturity")
    assert pages == [LATEST_MATURITY[:2], LATEST_MATURITY[2:4], LATEST_MATURITY[4:]]
    first = parse_qs(urlsplit(links[0]).query)
    assert first["sort"] == ["-maturity"]
    assert Cursor.parse(first["after"][0]) == Cursor("-maturity", "2026-04-01", 4)
    second = clerk.get(links[0])
    assert re.search(
        r'<a href="/loans\?sort=-maturity">« 第一页</a>', second.get_data(as_text=True)
    )
    # With a filter: kept on every page.
    pages, links = follow(clerk, "/loans?status=active&sort=principal")
    assert pages == [["ICBC-003", "ABC-002"], ["ICBC-002", "ICBC-001"]]
    assert parse_qs(urlsplit(links[0]).query)["status"] == ["active"]
    # The newest-first order pages with before= as it always has.
    pages, links = follow(clerk, "/loans")
    assert pages == [["ABC-002", "ICBC-004"], ["ICBC-003", "ICBC-002"], ["ABC-001", "ICBC-001"]]
    assert links == ["/loans?before=5", "/loans?before=3"]


def test_a_bank_users_sorted_list_is_its_own_banks_on_every_page(small_pages):
    icbc = small_pages("icbc")
    pages, links = follow(icbc, "/loans?bank=ABC&sort=-principal")
    assert pages == [["ICBC-001", "ICBC-002"], ["ICBC-003", "ICBC-004"]]
    assert parse_qs(urlsplit(links[0]).query)["bank"] == ["ABC"]
    pages, _ = follow(icbc, "/operations/claims?sort=-amount", read=claim_numbers)
    assert pages == [["C2025-ICBC-00003", "C2025-ICBC-00001"], ["C2025-ICBC-00002"]]


@pytest.mark.parametrize(
    ("query", "zh"),
    [
        ("sort=rate", "排序方式 'rate' 无效，可按以下之一排序：id、disbursed_on、principal、"
         "maturity、contract_no（升序；前加 - 为降序）"),
        ("sort=principal&after=zzz", "分页游标 'zzz' 无效：请使用“下一页”链接中的游标"),
        (f"sort=principal&after={Cursor('-principal', 6_000_000, 6).token()}",
         "该分页游标属于排序 -principal，不能用于排序 principal：请与原排序一起使用"),
        ("sort=principal&before=3",
         "before= 仅用于按最新排序的列表，不能用于排序 principal：请使用“下一页”链接"),
    ],
)  # fmt: skip
def test_a_bad_sort_or_cursor_is_the_pages_filter_error(as_user, query, zh):
    response = as_user("clerk").get(f"/loans?{query}")
    assert response.status_code == 400
    shown = re.search(r'id="filter-error">([^<]*)<', response.get_data(as_text=True))
    assert html.unescape(shown.group(1)) == zh
    assert contracts(response) == []


def claim_numbers(response) -> list[str]:
    return re.findall(r'href="/operations/claims/(C[^"]+)"', response.get_data(as_text=True))


def test_the_claims_sort_by_date_and_amount(as_user):
    clerk = as_user("clerk")
    assert claim_numbers(clerk.get("/operations/claims")) == [
        "C2025-ICBC-00003", "C2025-ICBC-00002", "C2025-ICBC-00001", "C2025-ABC-00002",
        "C2025-ABC-00001",
    ]  # fmt: skip
    # 64,000 for ICBC-00003 (id 5) and ICBC-00001 (3), 40,000 for the two of ABC (2, 1).
    assert claim_numbers(clerk.get("/operations/claims?sort=amount")) == [
        "C2025-ICBC-00002", "C2025-ABC-00001", "C2025-ABC-00002", "C2025-ICBC-00001",
        "C2025-ICBC-00003",
    ]  # fmt: skip
    page = clerk.get("/operations/claims?sort=filed_on&status=rejected")
    assert claim_numbers(page) == ["C2025-ABC-00001", "C2025-ICBC-00001"]
    assert headers(page) == {
        "申请": ("sort=-filed_on&status=rejected", "ascending"),
        "基金分担": ("sort=-amount&status=rejected", None),
    }
    bad = clerk.get("/operations/claims?sort=loss")
    assert bad.status_code == 400
    assert "排序方式 'loss' 无效，可按以下之一排序：id、filed_on、amount" in html.unescape(
        text(bad)
    )


def test_the_allocations_and_the_journal_sort_by_date_and_amount(as_user):
    clerk = as_user("clerk")

    def allocations(url):
        page = clerk.get(url)
        assert page.status_code == 200, text(page)
        table = page.get_data(as_text=True).split('id="allocations"', 1)[1]
        return [int(i) for i in re.findall(r'href="/capital/allocations/(\d+)">\d+<', table)]

    assert allocations("/capital") == [6, 5, 4, 3, 2, 1]
    assert allocations("/capital?sort=amount") == [6, 5, 4, 3, 2, 1]
    assert allocations("/capital?sort=-amount") == [1, 2, 3, 4, 5, 6]
    assert allocations("/capital?sort=received_on&status=approved") == [1, 2, 3, 4]
    assert allocations("/capital?sort=id") == [1, 2, 3, 4, 5, 6]

    def entry_dates(url):
        page = clerk.get(url)
        assert page.status_code == 200, text(page)
        found = r'href="/books/entries/\d+">#\d+</a></td><td>([0-9-]+)<'
        return re.findall(found, page.get_data(as_text=True))

    dates = entry_dates("/books/entries?sort=effective_date")
    assert dates[:3] == ["2025-01-02", "2025-01-03", "2025-01-04"] and dates == sorted(dates)
    latest = entry_dates("/books/entries?sort=-effective_date")
    assert latest == sorted(latest, reverse=True) and latest[0] == "2025-11-01"
    assert clerk.get("/books/entries?sort=amount").status_code == 400


# ------------------------------------------------------------------------------ the API


def api_contracts(body) -> list[str]:
    return [r["contract_no"] for r in body["items"]]


def api_pages(client, url: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        body = client.get(url + (f"&cursor={cursor}" if cursor else "")).get_json()
        pages.append(api_contracts(body))
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 10


def test_the_api_sorts_loans_and_pages_them_with_the_sorts_cursor(as_user):
    clerk = as_user("clerk")
    first = clerk.get("/api/v1/loans?sort=-maturity&limit=2").get_json()
    assert api_contracts(first) == LATEST_MATURITY[:2]
    assert Cursor.parse(first["next_cursor"]) == Cursor("-maturity", "2026-04-01", 4)
    assert api_pages(clerk, "/api/v1/loans?sort=-maturity&limit=2") == [
        LATEST_MATURITY[:2], LATEST_MATURITY[2:4], LATEST_MATURITY[4:]
    ]  # fmt: skip
    assert api_pages(clerk, "/api/v1/loans?sort=principal&limit=4") == [
        BY_PRINCIPAL[::-1][:4], BY_PRINCIPAL[::-1][4:]
    ]  # fmt: skip
    assert api_pages(clerk, "/api/v1/loans?sort=maturity&status=active&limit=3") == [
        ["ICBC-001", "ICBC-002", "ICBC-003"], ["ABC-002"]
    ]  # fmt: skip
    # No sort: newest first, and the cursor is the one the API has always given.
    newest = clerk.get("/api/v1/loans?limit=2").get_json()
    assert newest["next_cursor"] == "YjU"  # b5
    assert api_contracts(clerk.get("/api/v1/loans?limit=2&cursor=YjU&sort=-id").get_json()) == [
        "ICBC-003", "ICBC-002"
    ]  # fmt: skip


def test_the_api_refuses_a_cursor_with_another_sort_and_an_unknown_sort(as_user):
    clerk = as_user("clerk")
    cursor = clerk.get("/api/v1/loans?sort=-principal&limit=2").get_json()["next_cursor"]
    assert_problem(
        clerk.get(f"/api/v1/loans?sort=principal&limit=2&cursor={cursor}"), 400,
        "invalid-filter",
        "该分页游标属于排序 -principal，不能用于排序 principal：请与原排序一起使用",
    )  # fmt: skip
    assert_problem(
        clerk.get(f"/api/v1/loans?limit=2&cursor={cursor}"), 400, "invalid-filter",
        "该分页游标属于排序 -principal，不能用于排序 -id：请与原排序一起使用",
    )  # fmt: skip
    assert_problem(
        clerk.get("/api/v1/loans?sort=-principal&cursor=YjU"), 400, "invalid-filter",
        "该分页游标属于排序 -id，不能用于排序 -principal：请与原排序一起使用",
    )  # fmt: skip
    body = assert_problem(
        clerk.get("/api/v1/loans?sort=-rate"), 400, "invalid-filter",
        "排序方式 '-rate' 无效，可按以下之一排序：id、disbursed_on、principal、maturity、"
        "contract_no（升序；前加 - 为降序）",
    )  # fmt: skip
    assert body["detail"].startswith("unknown sort '-rate'; sort by one of: id, disbursed_on")
    assert_problem(
        clerk.get("/api/v1/loans?sort=principal&cursor=zzz"), 400, "invalid-filter",
        "分页游标 'zzz' 无效：请原样使用 next_cursor 的值",
    )  # fmt: skip
    assert_problem(
        clerk.get("/api/v1/entries?sort=principal"), 400, "invalid-filter",
        "排序方式 'principal' 无效，可按以下之一排序：id、effective_date（升序；前加 - 为降序）",
    )  # fmt: skip


def test_a_banks_token_sorts_its_own_loans_only(app, books):
    secret = run(books, lambda s: issue_token(s, "ICBC", "信贷系统", actor="admin")).secret
    bank = app.test_client()
    bank.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    assert api_pages(bank, "/api/v1/loans?bank=ABC&sort=-principal&limit=3") == [
        ["ICBC-001", "ICBC-002", "ICBC-003"], ["ICBC-004"]
    ]  # fmt: skip
    receipts = bank.get("/api/v1/receipts?sort=uploaded_at").get_json()
    assert receipts == {"items": [], "next_cursor": None}


def test_the_api_sorts_the_journal_by_effective_date(as_user):
    clerk = as_user("clerk")
    seen, cursor = [], None
    while True:
        url = "/api/v1/entries?sort=effective_date&limit=7"
        body = clerk.get(url + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [(e["effective_date"], e["id"]) for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) > 7
    newest = clerk.get("/api/v1/entries?limit=1000").get_json()["items"]
    assert len(seen) == len(newest)


def test_the_document_says_how_a_list_sorts(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    [sort] = [p for p in spec["paths"]["/api/v1/loans"]["get"]["parameters"] if p["name"] == "sort"]
    assert sort["in"] == "query"
    assert sort["schema"]["enum"] == [
        "id", "-id", "disbursed_on", "-disbursed_on", "principal", "-principal", "maturity",
        "-maturity", "contract_no", "-contract_no",
    ]  # fmt: skip
    assert "`principal` the principal lent" in sort["description"]
    for path, names in (("/api/v1/entries", ["effective_date"]),
                        ("/api/v1/receipts", ["uploaded_at"])):  # fmt: skip
        [sort] = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "sort"]
        assert sort["schema"]["enum"] == ["id", "-id", names[0], "-" + names[0]]
