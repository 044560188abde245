"""The authorisation matrix, generated from the application's URL map: every route ×
every role × (where a route shows one bank's object) own and foreign bank → the status
this table expects. A route the table does not know fails the test, and so does an entry
for a route that no longer exists: a new page is not reachable by accident.

The bank user is ``icbc`` (ICBC's loan officer); "own" objects are ICBC's, "foreign"
ones ABC's, which a bank user must not learn exist (404, not 403)."""

from __future__ import annotations

import datetime as dt

import pytest

D = dt.date

ANON = "anonymous"
#: Role → the portfolio's user who holds it (tests/web/conftest.py).
ROLES = {ANON: None, "clerk": "clerk", "approver": "approver", "bank": "icbc",
         "auditor": "auditor", "admin": "admin"}  # fmt: skip
EVERYONE = frozenset(ROLES) - {ANON}
READERS = EVERYONE
BUREAU = EVERYONE - {"bank"}
#: Who records a bank's disbursements, repayments and recoveries.
LOAN_MAKERS = {"clerk", "approver", "bank"}

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
    "files.index": ("GET", "/files", None, READERS, {}, 200),
    "files.upload": ("POST", "/files", None, {"clerk", "bank"}, {}, 422),
    "files.show": ("GET", "/files/{icbc_receipt}", "/files/{abc_receipt}", READERS, {}, 200),
    "files.errors_csv": ("GET", "/files/{icbc_receipt}/errors.csv",
                         "/files/{abc_receipt}/errors.csv", READERS, {}, 200),
    "files.errors_xlsx": ("GET", "/files/{icbc_receipt}/errors.xlsx",
                          "/files/{abc_receipt}/errors.xlsx", READERS, {}, 200),
    "files.task": ("GET", "/files/tasks/{icbc_task}", "/files/tasks/{abc_task}", READERS, {}, 200),
    "files.task_status": ("GET", "/files/tasks/{icbc_task}.json", "/files/tasks/{abc_task}.json",
                          READERS, {}, 200),
    "capital.index": ("GET", "/capital", None, BUREAU, {}, 200),
    "capital.allocation": ("GET", "/capital/allocations/5", None, BUREAU, {}, 200),
    "capital.allocation_new": ("GET", "/capital/allocations/new", None, {"clerk"}, {}, 200),
    # Allocation 5 is pending and recorded by the clerk: the approver approves it.
    "capital.allocation_approve": ("POST", "/capital/allocations/5/approve", None,
                                   {"approver"}, {}, 302),
    # A rejection without a reason is refused (422) and leaves it pending.
    "capital.allocation_reject": ("POST", "/capital/allocations/5/reject", None,
                                  {"approver"}, {}, 422),
    "capital.placement_new": ("GET", "/capital/placements/new", None, {"clerk"}, {}, 200),
    "capital.withdrawal_new": ("GET", "/capital/withdrawals/new", None, {"clerk"}, {}, 200),
    "capital.interest_new": ("GET", "/capital/interest/new", None, {"clerk"}, {}, 200),
    "capital.movement": ("GET", "/capital/movements/{placement_entry}", None, BUREAU, {}, 200),
    "operations.index": ("GET", "/operations", None, READERS, {}, 200),
    "operations.guarantee": ("GET", "/operations/guarantees/new", None, {"approver"}, {}, 200),
    "operations.project": ("GET", "/operations/guarantees/project", None, {"approver"}, {}, 200),
    "operations.cancel": ("GET", "/operations/guarantees/cancel", None, {"clerk", "approver"},
                          {}, 200),
    "operations.disbursement": ("GET", "/operations/disbursements/new", None, LOAN_MAKERS, {},
                                200),
    "operations.repayment": ("GET", "/operations/repayments/new", None, LOAN_MAKERS, {}, 200),
    "operations.reversal": ("GET", "/operations/reversals/new", None, LOAN_MAKERS, {}, 200),
    "operations.extension": ("GET", "/operations/extensions/new", None, {"approver"}, {}, 200),
    "operations.claim_new": ("GET", "/operations/claims/new", None, {"clerk", "bank"}, {}, 200),
    "operations.claims_list": ("GET", "/operations/claims", None, READERS, {}, 200),
    "operations.claim": ("GET", "/operations/claims/C2025-ICBC-00003",
                         "/operations/claims/C2025-ABC-00002", READERS, {}, 200),
    # A POST without its form is refused with the form shown again (422), nothing posted.
    "operations.claim_approve": ("POST", "/operations/claims/C2025-ICBC-00003/approve", None,
                                 {"approver"}, {}, 422),
    "operations.claim_reject": ("POST", "/operations/claims/C2025-ICBC-00003/reject", None,
                                {"approver"}, {}, 422),
    "operations.claim_pay": ("POST", "/operations/claims/C2025-ICBC-00002/pay", None,
                             {"clerk", "approver"}, {}, 422),
    "operations.recovery": ("GET", "/operations/recoveries/new", None, LOAN_MAKERS, {}, 200),
    "operations.enforce": ("GET", "/operations/counter-guarantees/enforce", None,
                           {"clerk", "approver"}, {}, 200),
    "operations.write_off_new": ("GET", "/operations/write-offs/new", None, {"clerk"}, {}, 200),
    "operations.write_offs_list": ("GET", "/operations/write-offs", None, READERS, {}, 200),
    # The portfolio's one write-off is ABC's: foreign to the bank user.
    "operations.write_off": ("GET", "/operations/write-offs/1", None, READERS, {"bank": 404},
                             200),
    "operations.write_off_approve": ("POST", "/operations/write-offs/1/approve", None,
                                     {"approver"}, {}, 422),
    "operations.write_off_reject": ("POST", "/operations/write-offs/1/reject", None,
                                    {"approver"}, {}, 422),
    "recon.breaks": ("GET", "/recon/breaks", None, READERS, {}, 200),
    "recon.show": ("GET", "/recon/breaks/{icbc_break}", "/recon/breaks/{abc_break}", READERS,
                   {}, 200),
    # An empty form: each change is refused, 422, and nothing changes.
    "recon.assign": ("POST", "/recon/breaks/{icbc_break}/assign",
                     "/recon/breaks/{abc_break}/assign", {"clerk", "approver"}, {}, 422),
    "recon.comment": ("POST", "/recon/breaks/{icbc_break}/comment",
                      "/recon/breaks/{abc_break}/comment", {"clerk", "approver", "bank"}, {},
                      422),
    "recon.explain": ("POST", "/recon/breaks/{icbc_break}/explain",
                      "/recon/breaks/{abc_break}/explain", {"clerk", "approver"}, {}, 422),
    "recon.resolve": ("POST", "/recon/breaks/{icbc_break}/resolve",
                      "/recon/breaks/{abc_break}/resolve", {"clerk", "approver"}, {}, 422),
    "recon.reopen": ("POST", "/recon/breaks/{icbc_break}/reopen",
                     "/recon/breaks/{abc_break}/reopen", {"clerk", "approver"}, {}, 422),
    "recon.runs": ("GET", "/recon/runs", None, BUREAU, {}, 200),
    "recon.alerts": ("GET", "/recon/alerts", None, BUREAU, {}, 200),
    "recon.acknowledge": ("POST", "/recon/alerts/{alert}/acknowledge", None,
                          {"clerk", "approver", "admin"}, {}, 302),
    "recon.month_end": ("GET", "/recon/month-end/2025-01", None, BUREAU, {}, 200),
    "recon.prepare": ("POST", "/recon/month-end/2025-01/prepare", None, {"approver", "admin"},
                      {}, 302),
    "recon.close": ("POST", "/recon/month-end/2025-01/close", None, {"approver", "admin"}, {},
                    302),
    "admin.users": ("GET", "/admin/users", None, {"admin"}, {}, 200),
    "admin.add": ("POST", "/admin/users", None, {"admin"}, {}, 422),
    "admin.reset_password": ("POST", "/admin/users/clerk/password", None, {"admin"}, {}, 422),
    "admin.unlock": ("POST", "/admin/users/clerk/unlock", None, {"admin"}, {}, 302),
    "admin.audit": ("GET", "/admin/audit", None, {"auditor", "admin"}, {}, 200),
    "admin.policy_index": ("GET", "/admin/policy", None, BUREAU, {}, 200),
    "admin.load_policy": ("POST", "/admin/policy", None, {"admin"}, {}, 422),
    # The API: an anonymous request is a 401 (never the sign-in page); a POST that gets
    # past authorisation is a 400 here for want of its Idempotency-Key.
    "api.loans": ("GET", "/api/v1/loans", None, READERS, {}, 200),
    "api.loan": ("GET", "/api/v1/loans/ICBC/ICBC-001", "/api/v1/loans/ABC/ABC-001", READERS,
                 {}, 200),
    "api.dashboard": ("GET", "/api/v1/dashboard", None, READERS, {}, 200),
    "api.entries": ("GET", "/api/v1/entries", None, BUREAU, {}, 200),
    "api.entry": ("GET", "/api/v1/entries/1", None, BUREAU, {}, 200),
    "api.receipt_list": ("GET", "/api/v1/receipts", None, READERS, {}, 200),
    "api.receipt": ("GET", "/api/v1/receipts/{icbc_receipt}", "/api/v1/receipts/{abc_receipt}",
                    READERS, {}, 200),
    "api.upload": ("POST", "/api/v1/files", None, {"clerk", "bank"}, {}, 400),
    "api.file_task": ("GET", "/api/v1/files/tasks/{icbc_task}", "/api/v1/files/tasks/{abc_task}",
                      READERS, {}, 200),
    "api.repayment": ("POST", "/api/v1/repayments", None, LOAN_MAKERS, {}, 400),
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

    from ledger.db import run_in_transaction
    from ledger.fund.models import Loan
    from ledger.models import JournalEntry
    from ledger.ops.alerts import raise_alert
    from ledger.recon.breaks import Finding, record_break
    from tests.web.test_files import matrix_objects

    def seed(s):
        found = D(2025, 12, 5)
        return {
            f"{bank.lower()}_break": record_break(
                s,
                Finding("missing_in_fund", bank, "CITY", f"GHOST-{bank}", found, bank_figure=100),
                source="balances",
                found_on=found,
                actor="clerk",
            ).id
            for bank in ("ICBC", "ABC")
        } | {"alert": raise_alert(s, "file-missing", "ICBC's file missing", key="ICBC").id}

    with books() as s:
        ids = {
            "icbc_borrower": s.scalar(
                select(Loan.borrower_id).where(Loan.contract_no == "ICBC-001")
            ),
            "abc_borrower": s.scalar(select(Loan.borrower_id).where(Loan.contract_no == "ABC-002")),
            "placement_entry": s.scalar(
                select(JournalEntry.id).where(JournalEntry.kind == "capital.placement").limit(1)
            ),
        }
    return matrix_objects(books) | ids | run_in_transaction(books, seed)


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
