"""The authorisation matrix, generated from the application's URL map: every route ×
every role × (where a route shows one bank's object) own and foreign bank → the status
this table expects. A route the table does not know fails the test, and so does an entry
for a route that no longer exists: a new page is not reachable by accident.

The bank user is ``icbc`` (ICBC's loan officer); "own" objects are ICBC's, "foreign"
ones ABC's, which a bank user must not learn exist (404, not 403)."""

from __future__ import annotations

import pytest

ANON = "anonymous"
#: Role → the portfolio's user who holds it (tests/web/conftest.py).
ROLES = {ANON: None, "clerk": "clerk", "approver": "approver", "bank": "icbc",
         "auditor": "auditor", "admin": "admin"}  # fmt: skip
EVERYONE = frozenset(ROLES) - {ANON}
READERS = EVERYONE
BUREAU = EVERYONE - {"bank"}

#: endpoint → (method, URL of an own object, URL of a foreign one or None, roles that
#: reach it, status when they do). Public routes list ANON among their roles.
ROUTES = {
    "auth.login": ("GET", "/login", None, EVERYONE | {ANON}, {ANON: 200}, 302),
    "auth.logout": ("POST", "/logout", None, EVERYONE, {}, 302),
    "auth.password": ("GET", "/password", None, EVERYONE, {}, 200),
    "i18n.language": ("GET", "/language/zh", None, EVERYONE | {ANON}, {}, 302),
    "dashboard.index": ("GET", "/", None, READERS, {}, 200),
    "loans.index": ("GET", "/loans", None, READERS, {}, 200),
    "loans.search": ("GET", "/search?q=ICBC-001", None, READERS, {}, 302),
    "loans.show": ("GET", "/loans/ICBC/ICBC-001", "/loans/ABC/ABC-001", READERS, {}, 200),
    "loans.borrower": ("GET", "/borrowers/{icbc_borrower}", "/borrowers/{abc_borrower}",
                       READERS, {}, 200),
    "books.entries": ("GET", "/books/entries", None, BUREAU, {}, 200),
    "books.entry": ("GET", "/books/entries/1", None, BUREAU, {}, 200),
    "books.trial": ("GET", "/books/trial-balance", None, BUREAU, {}, 200),
    # The API: an anonymous request is a 401 (never the sign-in page); a POST that gets
    # past authorisation is a 400 here for want of its Idempotency-Key.
    "api.loans": ("GET", "/api/v1/loans", None, READERS, {}, 200),
    "api.loan": ("GET", "/api/v1/loans/ICBC/ICBC-001", "/api/v1/loans/ABC/ABC-001", READERS,
                 {}, 200),
    "api.dashboard": ("GET", "/api/v1/dashboard", None, READERS, {}, 200),
    "api.entries": ("GET", "/api/v1/entries", None, BUREAU, {}, 200),
    "api.entry": ("GET", "/api/v1/entries/1", None, BUREAU, {}, 200),
    "api.receipt_list": ("GET", "/api/v1/receipts", None, READERS, {}, 200),
    # The portfolio has no receipt: every reader is told so.
    "api.receipt": ("GET", "/api/v1/receipts/9999", None, READERS, {}, 404),
    "api.upload": ("POST", "/api/v1/files", None, {"clerk", "bank"}, {}, 400),
    "api.repayment": ("POST", "/api/v1/repayments", None, {"clerk", "bank"}, {}, 400),
    "api.allocation_record": ("POST", "/api/v1/allocations", None, {"clerk"}, {}, 400),
    "api.allocation_approve": ("POST", "/api/v1/allocations/5/approve", None, {"approver"},
                               {}, 400),
    "api.token_list": ("GET", "/api/v1/tokens", None, {"admin"}, {}, 200),
    "api.token_issue": ("POST", "/api/v1/tokens", None, {"admin"}, {}, 400),
    "api.token_revoke": ("POST", "/api/v1/tokens/1/revoke", None, {"admin"}, {}, 400),
    "api.openapi_json": ("GET", "/api/v1/openapi.json", None, EVERYONE | {ANON}, {}, 200),
    "api.docs": ("GET", "/api/v1/docs", None, EVERYONE | {ANON}, {}, 200),
}  # fmt: skip


def expected(endpoint: str, role: str, foreign: bool) -> int:
    _method, own, _foreign, reach, special, ok = ROUTES[endpoint]
    if role in special:
        return special[role]
    if role == ANON:
        if ANON in reach:
            return ok
        return 401 if own.startswith("/api/") else 302
    if role not in reach:
        return 403
    if foreign and role == "bank":
        return 404
    return ok


def test_the_table_knows_every_route_and_no_other(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert sorted(endpoints - set(ROUTES)) == [], "routes missing from the matrix"
    assert sorted(set(ROUTES) - endpoints) == [], "matrix entries for no route"


def _ids(books):
    from sqlalchemy import select

    from ledger.fund.models import Loan

    with books() as s:
        return {
            "icbc_borrower": s.scalar(
                select(Loan.borrower_id).where(Loan.contract_no == "ICBC-001")
            ),
            "abc_borrower": s.scalar(select(Loan.borrower_id).where(Loan.contract_no == "ABC-002")),
        }


@pytest.mark.parametrize("role", list(ROLES))
def test_every_route_answers_each_role_as_the_table_says(app, books, role):
    from tests.web.conftest import login

    ids = _ids(books)
    wrong = []
    for endpoint, (method, own, foreign, *_rest) in sorted(ROUTES.items()):
        for is_foreign, url in ((False, own), (True, foreign)):
            if url is None:
                continue
            client = app.test_client()
            if ROLES[role] is not None:
                assert login(client, ROLES[role]).status_code == 302
            response = client.open(url.format(**ids), method=method)
            want = expected(endpoint, role, is_foreign)
            if response.status_code != want:
                wrong.append(
                    (endpoint, "foreign" if is_foreign else "own", response.status_code, want)
                )
    assert wrong == []


def test_the_declared_access_is_the_tables(app):
    """What each view declares (web.authz) is what the table expects of it."""
    from web.authz import access_of

    for endpoint, (_m, _o, _f, reach, _special, _ok) in ROUTES.items():
        access = access_of(app, endpoint)
        if access.public:
            assert ANON in reach, endpoint
            continue
        declared = {
            role
            for role, user in ROLES.items()
            if user and (not access.roles or {"bank": "bank"}.get(role, role) in access.roles)
        }
        assert declared == set(reach), endpoint
