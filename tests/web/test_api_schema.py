"""The OpenAPI document against what the API answers: every response of a sweep of the
GET routes (for the bureau, a bank's token and the admin, over the portfolio with files
uploaded) validates against the document's schema for its status; Schemathesis then
generates requests from the document for every operation and finds no server error
and no response the document does not describe. Also: the tables match their models."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from jsonschema import Draft202012Validator

from ledger.fund.tokens import issue_token
from tests.fund.conftest import run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CSV = (
    "bank_ref,contract_no,paid_on,principal,interest,balance_after\n"
    "R-100,ICBC-001,2025-10-05,10000.00,300.00,70000.00\n"
)
BAD_CSV = CSV.replace("R-100", "R-101").replace("10000.00", "90000.00")


@pytest.fixture
def spec(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


def validate(spec: dict, method: str, template: str, response) -> None:
    """``response`` against the document's schema for ``method template`` and its status."""
    operation = spec["paths"][template][method.lower()]
    assert str(response.status_code) in operation["responses"], (template, response.status_code)
    described = operation["responses"][str(response.status_code)]
    [(media, content)] = described["content"].items()
    assert response.mimetype == media, (template, response.mimetype)
    schema = {**content["schema"], "components": spec["components"]}
    errors = sorted(
        Draft202012Validator(schema).iter_errors(response.get_json()), key=lambda e: e.path
    )
    assert [f"{list(e.path)}: {e.message}" for e in errors] == [], template


def test_the_document_is_openapi_3_1_and_describes_every_route(app, spec):
    assert spec["openapi"] == "3.1.0"
    routes = {
        re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        and rule.endpoint not in ("api.openapi_json", "api.docs")
    }
    assert routes == set(spec["paths"])
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "post":
                names = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
                assert names == ["Idempotency-Key"], path
            assert "application/problem+json" in str(operation["responses"].get("401")), path
    money = spec["components"]["schemas"]["LoanRowOut"]["properties"]["principal"]
    assert money["type"] == "string" and money["pattern"].startswith("^")


def test_every_get_response_matches_the_document(app, as_user, books, spec):
    secret = run(books, lambda s: issue_token(s, "ICBC", "信贷系统", actor="admin")).secret
    bank = app.test_client()
    bank.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    for content in (CSV, BAD_CSV):
        done = bank.post(
            "/api/v1/files", headers={"Idempotency-Key": str(uuid.uuid4())},
            data={"kind": "repayment", "file": (io.BytesIO(content.encode()), "r.csv")},
            content_type="multipart/form-data",
        )  # fmt: skip
        validate(spec, "POST", "/api/v1/files", done)
    receipt = done.get_json()["id"]
    assert done.get_json()["errors"], "the second file is rejected with its error lines"
    with books() as s:
        from sqlalchemy import func, select

        from ledger.models import JournalEntry

        entry = s.scalar(select(func.max(JournalEntry.id)))
    sweep = [
        ("/api/v1/loans", "/api/v1/loans?limit=2"),
        ("/api/v1/loans", "/api/v1/loans?status=active&bank=ICBC&from=2025-01-01"),
        ("/api/v1/loans", "/api/v1/loans?status=lost"),
        ("/api/v1/loans", "/api/v1/loans?limit=5000"),
        ("/api/v1/loans/{bank}/{contract_no}", "/api/v1/loans/ICBC/ICBC-001"),
        ("/api/v1/loans/{bank}/{contract_no}", "/api/v1/loans/ABC/ABC-001?as_of=2025-12-31"),
        ("/api/v1/loans/{bank}/{contract_no}", "/api/v1/loans/ABC/NONE"),
        ("/api/v1/dashboard", "/api/v1/dashboard"),
        ("/api/v1/dashboard", "/api/v1/dashboard?fund=NOPE"),
        ("/api/v1/entries", "/api/v1/entries?limit=3"),
        ("/api/v1/entries", "/api/v1/entries?from=2025-09-01&to=2025-01-01"),
        ("/api/v1/entries/{entry_id}", f"/api/v1/entries/{entry}"),
        ("/api/v1/entries/{entry_id}", "/api/v1/entries/99999"),
        ("/api/v1/receipts", "/api/v1/receipts"),
        ("/api/v1/receipts", "/api/v1/receipts?kind=nothing"),
        ("/api/v1/receipts/{receipt_id}", f"/api/v1/receipts/{receipt}"),
        ("/api/v1/tokens", "/api/v1/tokens"),
    ]
    clients = {
        "clerk": as_user("clerk"),
        "auditor": as_user("auditor"),
        "admin": as_user("admin"),
        "bank": bank,
    }
    seen = set()
    for client in clients.values():
        for template, url in sweep:
            response = client.get(url)
            seen.add(response.status_code)
            validate(spec, "GET", template, response)
    anonymous = app.test_client().get("/api/v1/loans")
    validate(spec, "GET", "/api/v1/loans", anonymous)
    assert seen == {200, 400, 403, 404}


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(app, books):
    """Requests generated from the document, for every operation, as the clerk (by
    session) and as ICBC's system (by token): no 5xx, and status, content type and body
    as the document says (a refusal of generated data is fine: it is described)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    from tests.web.conftest import login

    secret = run(books, lambda s: issue_token(s, "ICBC", "信贷系统", actor="admin")).secret
    clerk = app.test_client()
    assert login(clerk, "clerk").status_code == 302
    cookie = clerk.get_cookie("fundledger_session").value
    principals = {
        "clerk": {"Cookie": f"fundledger_session={cookie}"},
        "bank": {"Authorization": f"Bearer {secret}"},
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [
        not_a_server_error, status_code_conformance, content_type_conformance,
        response_schema_conformance,
    ]  # fmt: skip
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=12, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=operation.as_strategy())
        def run_case(case):
            for headers in principals.values():
                case.call_and_validate(headers=headers, checks=checks)

        run_case()
        tried += 1
    assert tried == 15


def test_the_tables_match_their_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import ledger.fund.tokens
    import ledger.idempotency  # noqa: F401
    from ledger.models import Base

    ours = {"api_tokens", "idempotency_keys"}

    def include(name, type_, parent_names):
        return type_ != "table" or name in ours

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if any(t in repr(d) for t in ours)] == []
