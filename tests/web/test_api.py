"""The JSON API over the portfolio (tests/fund/conftest.py): reads with their figures to
the fen, writes with the entries they posted, refusals as problems with the operation's
code and Chinese message and nothing changed, idempotency keys, bank API tokens, and
CSRF for a session's POSTs."""

from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import func, select, text

from ledger.chain import drain_sealer
from ledger.fund.errors import PermissionDeniedError
from ledger.fund.models import CapitalAllocation, Repayment
from ledger.fund.reference import add_user
from ledger.fund.tokens import ApiToken, issue_token
from ledger.idempotency import IdempotencyRecord
from ledger.models import JournalEntry
from ledger.principal import SYSTEM
from tests.fund.conftest import borrower_id, run
from tests.web.conftest import PASSWORD, make_app

ZHANG_SAN = borrower_id(1)


def post(client, url, key=None, **kwargs):
    headers = {"Idempotency-Key": key or str(uuid.uuid4()), **kwargs.pop("headers", {})}
    return client.post(url, headers=headers, **kwargs)


def count(books, model) -> int:
    with books() as s:
        return s.scalar(select(func.count()).select_from(model))


def assert_problem(response, status: int, code: str, zh: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["status"], body["code"]) == (status, code), body
    if zh is not None:
        assert body["zh"] == zh, body["zh"]
    return body


@pytest.fixture
def token(books):
    """A token of ICBC's: the secret."""
    return run(books, lambda s: issue_token(s, "ICBC", "信贷系统", actor="admin")).secret


@pytest.fixture
def icbc_api(app, token):
    """A client for ICBC's system, with its token."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


# ------------------------------------------------------------------------- reads


def test_the_loan_list_pages_with_cursors_and_filters(as_user):
    clerk = as_user("clerk")
    first = clerk.get("/api/v1/loans?limit=4").get_json()
    assert [r["contract_no"] for r in first["items"]] == [
        "ABC-002", "ICBC-004", "ICBC-003", "ICBC-002"
    ]  # fmt: skip
    rest = clerk.get(f"/api/v1/loans?limit=4&cursor={first['next_cursor']}").get_json()
    assert [r["contract_no"] for r in rest["items"]] == ["ABC-001", "ICBC-001"]
    assert rest["next_cursor"] is None
    assert rest["items"][1] == {
        "id": 1, "bank": "ICBC", "contract_no": "ICBC-001", "borrower_name": "张三",
        "borrower_id_number": ZHANG_SAN, "district": "D01", "principal": "100000.00",
        "principal_outstanding": "80000.00", "annual_rate_ppm": 45000,
        "disbursed_on": "2025-03-05", "maturity": "2026-03-05", "status": "active",
        "fund": "CITY",
    }  # fmt: skip
    active = clerk.get("/api/v1/loans?bank=ICBC&status=active").get_json()["items"]
    assert [r["contract_no"] for r in active] == ["ICBC-003", "ICBC-002", "ICBC-001"]
    dated = clerk.get("/api/v1/loans?from=2025-04-01&to=2025-05-31").get_json()["items"]
    assert [r["contract_no"] for r in dated] == ["ICBC-004", "ICBC-003", "ICBC-002"]
    assert [r["contract_no"] for r in clerk.get("/api/v1/loans?q=张").get_json()["items"]] == [
        "ICBC-001"
    ]


def test_a_bad_filter_or_cursor_is_a_400_problem(as_user):
    clerk = as_user("clerk")
    assert_problem(
        clerk.get("/api/v1/loans?status=lost"), 400, "invalid-filter",
        "贷款状态 'lost' 无效，应为：active、repaid、claimed、written_off、recovered",
    )  # fmt: skip
    body = assert_problem(clerk.get("/api/v1/loans?from=2025-13-01"), 400, "invalid-query")
    assert body["errors"] == [
        {
            "field": "from",
            "message": "Not a valid date.",
            "zh": "不是有效的日期（应为 YYYY-MM-DD）。",
        }
    ]
    assert_problem(
        clerk.get("/api/v1/loans?cursor=zzz"), 400, "invalid-filter",
        "分页游标 'zzz' 无效：请原样使用 next_cursor 的值",
    )  # fmt: skip
    body = assert_problem(clerk.get("/api/v1/loans?limit=0"), 400, "invalid-query")
    assert body["errors"][0]["field"] == "limit"


def test_a_banks_token_reads_its_own_loans_masked_and_no_other_banks(icbc_api):
    loans = icbc_api.get("/api/v1/loans?bank=ABC").get_json()["items"]
    assert [r["contract_no"] for r in loans] == ["ICBC-004", "ICBC-003", "ICBC-002", "ICBC-001"]
    assert (loans[3]["borrower_name"], loans[3]["borrower_id_number"]) == (
        "张*",
        f"{ZHANG_SAN[:4]}**********{ZHANG_SAN[-4:]}",
    )
    assert_problem(icbc_api.get("/api/v1/loans/ABC/ABC-001"), 404, "not-found", "此地址没有内容。")
    assert icbc_api.get("/api/v1/loans/ICBC/ICBC-001").status_code == 200
    assert_problem(icbc_api.get("/api/v1/entries"), 403, "forbidden")


def test_a_loan_in_full_with_its_entries(as_user):
    body = as_user("approver").get("/api/v1/loans/ICBC/ICBC-001?as_of=2025-12-31").get_json()
    assert body["loan"]["principal"] == "100000.00"
    assert body["borrower"]["id_number"] == ZHANG_SAN
    assert body["position"]["principal_outstanding"] == "80000.00"
    assert body["position"]["principal_paid"] == "20000.00"
    assert body["exposure"] == "64000.00"
    assert body["repayments"] == [
        {"id": 1, "bank_ref": "R-001", "paid_on": "2025-09-05", "principal": "20000.00",
         "interest": "0.00", "penalty": "0.00", "reverses": None, "reversed_by": None,
         "entry_id": body["repayments"][0]["entry_id"]}
    ]  # fmt: skip
    legs = [
        (p["side"], p["account"], p["amount"])
        for e in body["entries"]
        if e["id"] == body["repayments"][0]["entry_id"]
        for p in e["postings"]
    ]
    # The repayment's postings on the loan's own accounts (the contra leg is the bank's).
    assert legs == [("C", "memo:exposure:ICBC:L1", "16000.00")]
    assert as_user("clerk").get("/api/v1/loans/ICBC/NO-SUCH").status_code == 404


def test_the_dashboard_for_the_bureau_and_for_a_bank(as_user, icbc_api):
    board = as_user("auditor").get("/api/v1/dashboard").get_json()
    icbc = next(b for b in board["banks"] if b["bank"] == "ICBC")
    assert (icbc["fund"], icbc["placed"]) == ("CITY", "3000000.00")
    assert board["capital"] is not None and board["awaiting"]["allocations"] == 1
    mine = icbc_api.get("/api/v1/dashboard").get_json()
    assert [b["bank"] for b in mine["banks"]] == ["ICBC"]
    assert (mine["capital"], mine["awaiting"], mine["claims_paid"]) == (None, None, None)


def test_entries_page_and_one_entry(as_user, engine):
    # On PostgreSQL the portfolio's entries are sealed by a thread of the engine that
    # posted them: wait for it, or the page and the entry read may see a seal apart.
    assert drain_sealer(engine)
    auditor = as_user("auditor")
    page = auditor.get("/api/v1/entries?limit=2").get_json()
    assert len(page["items"]) == 2 and page["next_cursor"] is not None
    newest = page["items"][0]
    assert auditor.get(f"/api/v1/entries/{newest['id']}").get_json() == newest
    assert auditor.get("/api/v1/entries/999999").status_code == 404
    # Past what a database id can be: not there either (no error of the database).
    assert_problem(auditor.get(f"/api/v1/entries/{2**63}"), 404, "not-found")


# ------------------------------------------------------------------------- writes

REPAYMENTS_CSV = (
    "bank_ref,contract_no,paid_on,principal,interest,balance_after\n"
    'R-100,ICBC-001,2025-10-05,"10,000.00",300.00,70000.00\n'
)


def upload(client, content: str, kind: str = "repayment", key=None, **fields):
    data = {"kind": kind, "file": (io.BytesIO(content.encode("utf-8")), "ICBC_repayment.csv")}
    return post(client, "/api/v1/files", key=key, data={**data, **fields},
                content_type="multipart/form-data")  # fmt: skip


def test_a_bank_uploads_a_file_and_reads_its_receipt(icbc_api, books):
    done = upload(icbc_api, REPAYMENTS_CSV)
    assert done.status_code == 201, done.get_data(as_text=True)
    receipt = done.get_json()
    assert (receipt["bank"], receipt["kind"], receipt["status"]) == (
        "ICBC",
        "repayment",
        "accepted",
    )
    assert (receipt["rows"], receipt["posted"], receipt["errors"]) == (1, 1, [])
    assert receipt["totals"]["principal"] == "10000.00"
    assert receipt["uploaded_by"].startswith("api-token:")
    assert done.headers["Location"] == f"/api/v1/receipts/{receipt['id']}"
    assert icbc_api.get(done.headers["Location"]).get_json() == receipt
    listed = icbc_api.get("/api/v1/receipts").get_json()["items"]
    assert [r["id"] for r in listed] == [receipt["id"]]
    again = upload(icbc_api, REPAYMENTS_CSV)
    assert (again.status_code, again.get_json()["status"]) == (200, "duplicate")
    with books() as s:
        assert s.scalar(select(Repayment.principal).where(Repayment.bank_ref == "R-100")) == (
            1_000_000
        )


def test_a_file_with_a_bad_row_is_a_rejected_receipt_listing_it(icbc_api, books):
    bad = REPAYMENTS_CSV.replace("10,000.00", "90,000.00")
    before = count(books, Repayment)
    receipt = upload(icbc_api, bad).get_json()
    assert (receipt["status"], receipt["posted"], receipt["error_rows"]) == ("rejected", 0, 1)
    assert [e["column"] for e in receipt["errors"]] == ["principal"]
    assert count(books, Repayment) == before


def test_a_bank_may_not_upload_the_bureaus_list_nor_for_another_bank(icbc_api, books):
    entries = count(books, JournalEntry)
    assert_problem(
        upload(icbc_api, REPAYMENTS_CSV, kind="borrowers"), 422, "file-rejected",
        "借款人名单是本局自己的名单，不属于任何经办银行，请勿指定银行（ICBC）",
    )  # fmt: skip
    assert upload(icbc_api, REPAYMENTS_CSV, bank="ABC").status_code == 404
    body = assert_problem(upload(icbc_api, REPAYMENTS_CSV, kind="loans"), 422, "invalid-body")
    assert body["errors"][0]["field"] == "kind"
    with books() as s:
        assert s.scalar(text("SELECT count(*) FROM bank_file_imports")) == 0
    assert count(books, JournalEntry) == entries


REPAY = {
    "bank_ref": "R-200", "contract_no": "ICBC-001", "paid_on": "2025-10-01",
    "principal": "5000.00", "interest": "300.00", "balance_after": "75000.00",
}  # fmt: skip


def test_one_repayment_posts_its_exposure_entry(icbc_api):
    done = post(icbc_api, "/api/v1/repayments", json=REPAY)
    assert done.status_code == 201, done.get_data(as_text=True)
    body = done.get_json()
    assert body["created"] is True
    assert {k: body["repayment"][k] for k in ("bank_ref", "paid_on", "principal", "interest")} == {
        "bank_ref": "R-200", "paid_on": "2025-10-01", "principal": "5000.00", "interest": "300.00"
    }  # fmt: skip
    assert body["loan"]["principal_outstanding"] == "75000.00"
    assert body["loan"]["borrower_name"] == "张*"
    [entry] = body["entries"]
    assert entry["id"] == body["repayment"]["entry_id"]
    assert [(p["side"], p["account"], p["amount"]) for p in entry["postings"]] == [
        ("D", "memo:exposure-contra:ICBC", "4000.00"), ("C", "memo:exposure:ICBC:L1", "4000.00")
    ]  # fmt: skip


def test_a_repayment_refused_or_malformed_changes_nothing(icbc_api, as_user, books):
    before = (count(books, Repayment), count(books, JournalEntry))
    number = post(icbc_api, "/api/v1/repayments", json={**REPAY, "principal": 5000})
    body = assert_problem(number, 422, "invalid-body")
    assert body["errors"] == [{
        "field": "principal",
        "message": 'Not an amount: give yuan as a decimal string with at most 2 decimals, e.g. '
                   '"1234.50" (a JSON number is refused).',
        "zh": '不是金额：请以字符串给出元，最多两位小数，如 "1234.50"（不接受 JSON 数字）。',
    }]  # fmt: skip
    over = post(icbc_api, "/api/v1/repayments", json={**REPAY, "principal": "90000.00"})
    body = assert_problem(over, 422, "repayment")
    assert "90,000.00" in body["zh"]
    assert post(icbc_api, "/api/v1/repayments", json={**REPAY, "bank": "ABC"}).status_code == 404
    clerk = as_user("clerk")
    no_bank = post(clerk, "/api/v1/repayments", json=REPAY)
    assert assert_problem(no_bank, 422, "invalid-body", "bank：请指定银行")
    assert_problem(
        post(clerk, "/api/v1/repayments", data="x", content_type="text/plain"), 415,
        "unsupported-media-type",
    )  # fmt: skip
    assert (count(books, Repayment), count(books, JournalEntry)) == before


def test_the_same_key_and_body_is_answered_again_and_another_body_refused(icbc_api, books):
    first = post(icbc_api, "/api/v1/repayments", key="k-1", json=REPAY)
    assert first.status_code == 201
    entries = count(books, JournalEntry)
    again = post(icbc_api, "/api/v1/repayments", key="k-1", json=REPAY)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    other = post(icbc_api, "/api/v1/repayments", key="k-1", json={**REPAY, "interest": "1.00"})
    body = assert_problem(other, 422, "idempotency-key-reused")
    assert body["key"] == "k-1"
    assert body["zh"] == (
        "Idempotency-Key「k-1」已用于另一请求（POST /api/v1/repayments，请求内容不同）；"
        "新的请求请使用新的 Idempotency-Key"
    )
    missing = icbc_api.post("/api/v1/repayments", json=REPAY)
    assert_problem(missing, 400, "idempotency-key-missing")
    assert count(books, JournalEntry) == entries
    assert count(books, Repayment) == 3  # the portfolio's


def test_a_refusal_is_replayed_too_and_a_server_error_frees_the_key(icbc_api, books, monkeypatch):
    over = {**REPAY, "principal": "90000.00"}
    first = post(icbc_api, "/api/v1/repayments", key="k-2", json=over)
    again = post(icbc_api, "/api/v1/repayments", key="k-2", json=over)
    assert (first.status_code, again.status_code) == (422, 422)
    assert again.get_json() == first.get_json()

    from web.api import writes

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writes, "repay", broken)
    assert_problem(
        post(icbc_api, "/api/v1/repayments", key="k-3", json=REPAY), 500, "internal-error"
    )
    with books() as s:
        assert s.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "k-3")) is None
    monkeypatch.undo()
    assert post(icbc_api, "/api/v1/repayments", key="k-3", json=REPAY).status_code == 201


@pytest.fixture
def maker(books):
    """A user who is both clerk and approver."""
    from ledger.fund import access

    run(books, lambda s: add_user(s, "maker", "两职人员", ["clerk", "approver"], actor="admin"))
    run(
        books,
        lambda s: access.set_initial_passwords(
            s, ["maker"], PASSWORD, actor="admin", must_change=False
        ),
    )
    return "maker"


def test_an_allocation_is_recorded_then_approved_by_another(as_user, maker, books):
    clerk = as_user(maker)
    done = post(clerk, "/api/v1/allocations", json={
        "source": "city", "amount": "12345.60", "received_on": "2025-06-03", "reference": "财-1",
    })  # fmt: skip
    assert done.status_code == 201, done.get_data(as_text=True)
    recorded = done.get_json()
    assert (recorded["amount"], recorded["status"], recorded["entries"]) == (
        "12345.60",
        "pending",
        [],
    )
    entries = count(books, JournalEntry)
    own = post(clerk, f"/api/v1/allocations/{recorded['id']}/approve")
    assert_problem(own, 422, "maker-checker")
    assert count(books, JournalEntry) == entries
    approved = post(as_user("approver"), f"/api/v1/allocations/{recorded['id']}/approve")
    assert approved.status_code == 200, approved.get_data(as_text=True)
    body = approved.get_json()
    assert (body["status"], body["decided_by"]) == ("approved", "approver")
    [entry] = body["entries"]
    assert [(p["side"], p["account"], p["amount"]) for p in entry["postings"]] == [
        ("D", "asset:treasury", "12345.60"), ("C", "capital:city", "12345.60")
    ]  # fmt: skip
    twice = post(as_user("approver2"), f"/api/v1/allocations/{recorded['id']}/approve")
    assert_problem(twice, 422, "invalid-state")
    assert post(as_user("approver"), "/api/v1/allocations/9999/approve").status_code == 404


def test_an_allocation_with_a_bad_amount_or_source_changes_nothing(as_user, books):
    clerk = as_user("clerk")
    before = count(books, CapitalAllocation)
    body = {"source": "city", "amount": "12.345", "received_on": "2025-06-03"}
    assert (
        assert_problem(post(clerk, "/api/v1/allocations", json=body), 422, "invalid-body")[
            "errors"
        ][0]["field"]
        == "amount"
    )
    unknown = post(clerk, "/api/v1/allocations", json={**body, "amount": "1.00", "source": "x"})
    assert_problem(unknown, 422, "reference-data")
    extra = post(clerk, "/api/v1/allocations", json={**body, "amount": "1.00", "amout": "1"})
    assert assert_problem(extra, 422, "invalid-body")["errors"] == [
        {"field": "amout", "message": "Unknown field.", "zh": "未知字段。"}
    ]
    assert_problem(post(as_user("auditor"), "/api/v1/allocations", json=body), 403, "forbidden")
    assert count(books, CapitalAllocation) == before


# ------------------------------------------------------------------------- tokens


def test_an_admin_issues_lists_and_revokes_a_token(as_user, app, books):
    admin = as_user("admin")
    issued = post(admin, "/api/v1/tokens", key="t-1", json={"bank": "ABC", "name": "核心系统"})
    assert issued.status_code == 201, issued.get_data(as_text=True)
    body = issued.get_json()
    secret = body["secret"]
    assert secret.startswith("flt_") and len(secret) > 40
    assert (body["bank"], body["active"], body["last_used_at"]) == ("ABC", True, None)
    # The secret is stored nowhere: not in the tokens, not in the idempotency keys.
    with books() as s:
        for table in ("api_tokens", "idempotency_keys"):
            rows = s.execute(text(f"SELECT * FROM {table}")).all()
            assert rows and not any(secret in str(v) for r in rows for v in r), table
        import hashlib

        assert (
            s.scalar(select(ApiToken.secret_sha256)) == hashlib.sha256(secret.encode()).hexdigest()
        )
    replay = post(admin, "/api/v1/tokens", key="t-1", json={"bank": "ABC", "name": "核心系统"})
    assert (replay.status_code, replay.get_json()["secret"]) == (201, None)

    bank = app.test_client()
    bank.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    loans = bank.get("/api/v1/loans")
    assert [r["contract_no"] for r in loans.get_json()["items"]] == ["ABC-002", "ABC-001"]
    assert "Set-Cookie" not in loans.headers
    assert_problem(bank.get("/api/v1/loans/ICBC/ICBC-001"), 404, "not-found")
    listed = admin.get("/api/v1/tokens").get_json()["items"]
    assert [(t["id"], t["bank"], t["name"]) for t in listed] == [(body["id"], "ABC", "核心系统")]
    assert listed[0]["last_used_at"] is not None
    assert listed[0]["principal"] == f"api-token:{body['id']}"
    assert_problem(bank.get("/api/v1/tokens"), 403, "forbidden")

    revoked = post(admin, f"/api/v1/tokens/{body['id']}/revoke")
    assert (revoked.status_code, revoked.get_json()["active"]) == (200, False)
    assert_problem(bank.get("/api/v1/loans"), 401, "unauthorized")
    again = post(admin, f"/api/v1/tokens/{body['id']}/revoke")
    assert_problem(again, 422, "invalid-state", f"接口令牌 {body['id']} 已被吊销")
    assert post(admin, "/api/v1/tokens/9999/revoke").status_code == 404


def test_a_wrong_token_is_a_401_with_its_challenge(app):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer flt_not-a-token"
    response = client.get("/api/v1/loans")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="fundledger"'
    issued = post(client, "/api/v1/tokens", json={"bank": "ICBC", "name": "x"})
    assert issued.status_code == 401


def test_a_token_for_an_unknown_bank_is_refused(as_user, books):
    admin = as_user("admin")
    assert_problem(
        post(admin, "/api/v1/tokens", json={"bank": "NOPE", "name": "x"}), 422, "reference-data"
    )
    assert count(books, ApiToken) == 0
    run(books, lambda s: issue_token(s, "ICBC", "x", actor="admin"))
    with pytest.raises(PermissionDeniedError):
        run(books, lambda s: issue_token(s, "ICBC", "x", actor=SYSTEM))


# ------------------------------------------------------------------------- CSRF


def test_a_session_post_needs_the_csrf_header_a_token_post_does_not(books, db_url, token):
    from tests.web.conftest import login

    app = make_app(db_url, WTF_CSRF_ENABLED=True)
    try:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        import re

        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            r'name="csrf_token" value="([^"]+)"', page
        )
        client.post("/login", data={"username": "icbc", "password": PASSWORD,
                                    "csrf_token": csrf.group(1)})  # fmt: skip
        docs = client.get("/api/v1/docs").get_data(as_text=True)
        header = re.search(r'data-csrf="([^"]+)"', docs).group(1)
        refused = post(client, "/api/v1/repayments", json=REPAY)
        assert_problem(refused, 400, "csrf-token")
        done = post(client, "/api/v1/repayments", json=REPAY, headers={"X-CSRFToken": header})
        assert done.status_code == 201, done.get_data(as_text=True)
        machine = app.test_client()
        machine.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        second = post(
            machine,
            "/api/v1/repayments",
            json={**REPAY, "bank_ref": "R-201", "balance_after": "70000.00"},
        )
        assert second.status_code == 201, second.get_data(as_text=True)
        assert login  # the conftest's helper posts without a CSRF token
    finally:
        app.extensions["fundledger"].engine.dispose()


def test_a_multipart_part_without_a_name_is_no_server_error(icbc_api):
    """Found by Schemathesis: a part whose Content-Disposition has no name."""
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nrepayment\r\n'
        f"--{boundary}--\r\n"
    )
    response = post(
        icbc_api, "/api/v1/files", data=body.encode(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )  # fmt: skip
    body = assert_problem(response, 422, "invalid-body", "file：请附上文件")
    assert body["errors"][0]["field"] == "file"
