"""The API's upload of a file too large to import during the request (more than
``BACKGROUND_ROWS`` data rows, 1 here): answered 202 with a task and its address, imported
by the scheduler's import worker (``jobs.imports.work_queue``), then done with its receipt
— the loans moved by exactly what the file says, or nothing posted and every bad row on
the receipt — or failed (the token was revoked before the worker took the file). A task
is its bank's: another bank's token gets a 404. The same Idempotency-Key and body answer
the same 202 again without queueing the file twice.

The portfolio's ICBC-001 (tests/fund/conftest.py) has 80,000.00 yuan outstanding,
ICBC-002 80,000.00."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.audit import audit_page
from ledger.chain import drain_sealer
from ledger.clock import business_today
from ledger.fund.tokens import issue_token, revoke_token
from ledger.ops.models import ImportTask
from tests.fund.conftest import run
from tests.web.conftest import make_app
from tests.web.test_api import assert_problem
from tests.web.test_api_schema import validate
from tests.web.test_files import BAD, BAD_LINES, GOOD, counts, outstanding

#: Two rows: ICBC-001 repays 30,000.00 of its 80,000.00, ICBC-002 1,000.00 of its 80,000.00.
LARGE = GOOD + 'W-2,ICBC-002,2025-12-20,1000,0,"79,000.00"\n'


@pytest.fixture
def uploads(tmp_path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(books, db_url, uploads):
    app = make_app(db_url, UPLOAD_FOLDER=str(uploads), BACKGROUND_ROWS=1)
    yield app
    engine = app.extensions["fundledger"].engine
    assert drain_sealer(engine)
    engine.dispose()


def token_client(app, books, bank: str):
    issued = run(books, lambda s: issue_token(s, bank, "信贷系统", actor="admin"))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {issued.secret}"
    client.token_id = issued.token.id
    return client


@pytest.fixture
def icbc_api(app, books):
    return token_client(app, books, "ICBC")


def upload(client, content: str, *, kind="repayment", key=None, name="ICBC_repayment.csv"):
    return client.post(
        "/api/v1/files", headers={"Idempotency-Key": key or str(uuid.uuid4())},
        data={"kind": kind, "file": (io.BytesIO(content.encode("utf-8")), name)},
        content_type="multipart/form-data",
    )  # fmt: skip


def work(app) -> dict[str, int]:
    """What the scheduler's import worker does: import every queued task."""
    from jobs.imports import work_queue

    return work_queue(app.extensions["fundledger"].factory, business_today())


def queued(response, token_id: int, *, size: int, total: int) -> dict:
    """The 202 answer's task, checked field by field but for its time."""
    assert response.status_code == 202, response.get_data(as_text=True)
    task = response.get_json()
    assert response.headers["Location"] == f"/api/v1/files/tasks/{task['id']}"
    assert task == {
        "id": task["id"], "status": "queued", "bank": "ICBC", "kind": "repayment",
        "file_name": "ICBC_repayment.csv", "size": size, "uploaded_by": f"api-token:{token_id}",
        "enqueued_at": task["enqueued_at"], "started_at": None, "finished_at": None,
        "progress": {"read": 0, "checked": 0, "posted": 0, "total": total},
        "receipt_id": None, "receipt_url": None, "error": None,
    }  # fmt: skip
    return task


def test_a_large_file_is_queued_and_the_worker_imports_it(app, books, icbc_api, uploads):
    before = counts(books)
    response = upload(icbc_api, LARGE)
    task = queued(response, icbc_api.token_id, size=len(LARGE.encode()), total=2)
    assert counts(books) == before | {"tasks": before["tasks"] + 1}
    assert (outstanding(books, "ICBC-001"), outstanding(books, "ICBC-002")) == (
        8_000_000,
        8_000_000,
    )
    [saved] = [p for p in uploads.rglob("*") if p.is_file()]
    assert saved.read_text(encoding="utf-8") == LARGE
    assert icbc_api.get(response.headers["Location"]).get_json() == task
    with books() as s:
        [line] = audit_page(s, action="file.upload").items
    assert (line.actor, line.target, line.outcome, line.detail) == (
        f"api-token:{icbc_api.token_id}", "/api/v1/files", "ok",
        {"status": 202, "method": "POST"},
    )  # fmt: skip

    assert work(app) == {"requeued": 0, "done": 1, "failed": 0, "retry": 0}
    done = icbc_api.get(response.headers["Location"]).get_json()
    rid = done["receipt_id"]
    assert done == task | {
        "status": "done", "started_at": done["started_at"], "finished_at": done["finished_at"],
        "progress": {"read": 2, "checked": 2, "posted": 2, "total": 2},
        "receipt_id": rid, "receipt_url": f"/api/v1/receipts/{rid}",
    }  # fmt: skip
    assert done["started_at"] is not None and done["finished_at"] is not None
    receipt = icbc_api.get(done["receipt_url"]).get_json()
    assert (receipt["status"], receipt["rows"], receipt["posted"], receipt["error_rows"]) == (
        "accepted", 2, 2, 0,
    )  # fmt: skip
    assert receipt["uploaded_by"] == f"api-token:{icbc_api.token_id}"
    assert receipt["totals"]["principal"] == "31000.00"
    assert len(receipt["entry_ids"]) == 1  # one entry moves both loans' exposure
    assert counts(books) == before | {
        "tasks": before["tasks"] + 1, "receipts": before["receipts"] + 1,
        "entries": before["entries"] + 1, "repayments": before["repayments"] + 2,
    }  # fmt: skip
    assert (outstanding(books, "ICBC-001"), outstanding(books, "ICBC-002")) == (
        5_000_000,
        7_900_000,
    )
    loan = icbc_api.get("/api/v1/loans/ICBC/ICBC-001").get_json()
    assert loan["position"]["principal_outstanding"] == "50000.00"


def test_a_file_within_the_threshold_is_still_imported_at_once(icbc_api, books):
    before = counts(books)
    response = upload(icbc_api, GOOD)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["status"] == "accepted"
    assert response.headers["Location"] == f"/api/v1/receipts/{response.get_json()['id']}"
    assert counts(books)["tasks"] == before["tasks"]
    assert outstanding(books, "ICBC-001") == 5_000_000


def test_a_queued_file_with_bad_rows_is_done_with_a_rejected_receipt(app, books, icbc_api):
    before = counts(books)
    task = queued(upload(icbc_api, BAD), icbc_api.token_id, size=len(BAD.encode()), total=3)
    assert work(app) == {"requeued": 0, "done": 1, "failed": 0, "retry": 0}
    done = icbc_api.get(f"/api/v1/files/tasks/{task['id']}").get_json()
    assert (done["status"], done["error"], done["progress"]) == (
        "done", None, {"read": 3, "checked": 3, "posted": 0, "total": 3},
    )  # fmt: skip
    receipt = icbc_api.get(done["receipt_url"]).get_json()
    assert (receipt["status"], receipt["rows"], receipt["posted"], receipt["error_rows"]) == (
        "rejected", 3, 0, 2,
    )  # fmt: skip
    assert [
        [str(e["row"]), e["column"], e["value"], e["zh"], e["message"], e["code"]]
        for e in receipt["errors"]
    ] == BAD_LINES
    assert counts(books) == before | {
        "tasks": before["tasks"] + 1, "receipts": before["receipts"] + 1
    }  # fmt: skip
    assert outstanding(books, "ICBC-001") == 8_000_000


def test_a_task_fails_when_its_token_is_revoked_before_the_worker_takes_it(
    app, books, icbc_api, as_user
):
    before = counts(books)
    task = queued(upload(icbc_api, LARGE), icbc_api.token_id, size=len(LARGE.encode()), total=2)
    run(books, lambda s: revoke_token(s, icbc_api.token_id, actor="admin"))
    assert work(app) == {"requeued": 0, "done": 0, "failed": 1, "retry": 0}
    assert_problem(icbc_api.get(f"/api/v1/files/tasks/{task['id']}"), 401, "unauthorized")
    failed = as_user("clerk").get(f"/api/v1/files/tasks/{task['id']}").get_json()
    name = f"api-token:{icbc_api.token_id}"
    assert failed == task | {
        "status": "failed", "started_at": failed["started_at"],
        "finished_at": failed["finished_at"], "receipt_id": None, "receipt_url": None,
        "error": f"permission-denied: {name} is no API token's or its token was revoked\n"
                 f"{name} 不是有效的接口令牌，或该令牌已被吊销",
    }  # fmt: skip
    assert counts(books) == before | {"tasks": before["tasks"] + 1}
    assert outstanding(books, "ICBC-001") == 8_000_000


def test_another_banks_token_does_not_find_the_task(app, books, icbc_api, as_user):
    task = queued(upload(icbc_api, LARGE), icbc_api.token_id, size=len(LARGE.encode()), total=2)
    url = f"/api/v1/files/tasks/{task['id']}"
    abc_api = token_client(app, books, "ABC")
    assert_problem(abc_api.get(url), 404, "not-found", "此地址没有内容。")
    assert_problem(abc_api.get("/api/v1/files/tasks/999999"), 404, "not-found")
    assert_problem(icbc_api.get(f"/api/v1/files/tasks/{2**63}"), 404, "not-found")
    assert as_user("auditor").get(url).get_json() == task
    assert_problem(app.test_client().get(url), 401, "unauthorized")


def test_the_same_key_and_file_answer_the_same_task_and_queue_it_once(app, books, icbc_api):
    before = counts(books)
    first = upload(icbc_api, LARGE, key="big-1")
    task = queued(first, icbc_api.token_id, size=len(LARGE.encode()), total=2)
    again = upload(icbc_api, LARGE, key="big-1")
    assert (again.status_code, again.get_json()) == (202, task)
    assert again.headers["Location"] == f"/api/v1/files/tasks/{task['id']}"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(books) == before | {"tasks": before["tasks"] + 1}
    with books() as s:
        assert s.scalars(select(ImportTask.id)).all() == [task["id"]]
    assert work(app)["done"] == 1
    # The first answer, as it was; the task says how far it has come.
    assert upload(icbc_api, LARGE, key="big-1").get_json() == task
    assert icbc_api.get(again.headers["Location"]).get_json()["status"] == "done"
    other = upload(icbc_api, LARGE.replace("W-2", "W-3"), key="big-1")
    assert_problem(other, 422, "idempotency-key-reused")
    assert counts(books)["tasks"] == before["tasks"] + 1


def test_a_large_upload_the_request_may_not_make_queues_nothing(books, icbc_api, uploads):
    before = counts(books)
    assert_problem(
        upload(icbc_api, LARGE, kind="borrowers"), 422, "file-rejected",
        "借款人名单是本局自己的名单，不属于任何经办银行，请勿指定银行（ICBC）",
    )  # fmt: skip
    assert counts(books) == before
    assert [p for p in uploads.rglob("*") if p.is_file()] == []


def test_the_queued_answer_and_the_task_match_the_document(app, books, icbc_api):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    upload_op = spec["paths"]["/api/v1/files"]["post"]
    assert sorted(s for s in upload_op["responses"] if s < "300") == ["200", "201", "202"]
    assert upload_op["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TaskOut"
    }
    assert set(upload_op["responses"]["202"]["headers"]) == {"Location"}
    task_op = spec["paths"]["/api/v1/files/tasks/{task_id}"]["get"]
    assert sorted(task_op["responses"]) == ["200", "401", "403", "404"]
    response = upload(icbc_api, LARGE)
    validate(spec, "POST", "/api/v1/files", response)
    url = response.headers["Location"]
    validate(spec, "GET", "/api/v1/files/tasks/{task_id}", icbc_api.get(url))
    work(app)
    validate(spec, "GET", "/api/v1/files/tasks/{task_id}", icbc_api.get(url))
    validate(spec, "GET", "/api/v1/files/tasks/{task_id}", icbc_api.get("/api/v1/files/tasks/9"))
