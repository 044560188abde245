"""``/api/v1/openapi.json``: the OpenAPI 3.1 document, generated from the routes (each
says itself what it reads and answers: ``web.api.spec.doc``) and their marshmallow
schemas (apispec's marshmallow plugin); and ``/api/v1/docs``, an interactive page over it
(Swagger UI, vendored in ``web/static/vendor/swagger-ui``).

Both are public: the document describes the interface, as the bank file interface is
published to the banks; trying a route out needs a session or a token like any request.
"""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, render_template
from werkzeug.http import HTTP_STATUS_CODES

from web.api import bp
from web.api.problems import STATUS
from web.api.schemas import Money, ProblemOut, SignedMoney
from web.api.spec import MAX_ID
from web.authz import public

TITLE = "fundledger API"
VERSION = "1.0.0"
#: What a second success status of a route means (a duplicate file or repayment).
AGAIN = "Done before: nothing done again"
_PARAM = re.compile(r"<(?:(int|string|path)(?:\([^)]*\))?:)?([a-z_]+)>")

DESCRIPTION = """The guarantee fund's books for the partner banks' systems and for scripts.

* Authenticate with a bank's API token, `Authorization: Bearer <token>` (it acts as
  that bank: its own loans, files and repayments only), or a signed-in browser session
  (a POST then sends the page's CSRF token as `X-CSRFToken`).
* Every POST sends an `Idempotency-Key` (a new UUID per request; the same one when
  sending the same request again: the first response is answered again).
* Money is a decimal string of yuan, `"1234.50"`, never a JSON number. Rates are parts
  per million. Dates are ISO, moments UTC.
* Lists answer `{"items": [...], "next_cursor": ...}`: send `?cursor=<next_cursor>` for
  the next page, until it is null. A list sorted by `?sort=` (a column, `-` first for
  descending) pages the same way; send each cursor with the sort it came with.
* Errors are `application/problem+json` (RFC 9457) with a stable `code` and the message
  in Chinese, `zh`.
"""


def spec_for(app: Flask) -> dict:
    """The OpenAPI document of ``app``'s API routes."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        TITLE, VERSION, "3.1.0", plugins=[plugin],
        info={"description": DESCRIPTION}, servers=[{"url": "/"}],
    )  # fmt: skip
    plugin.map_to_openapi_type(Money, "string", None)
    plugin.map_to_openapi_type(SignedMoney, "string", None)
    spec.components.schema("Problem", schema=ProblemOut)
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "A bank's API token."}
    )
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "fundledger_session"}
    )
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{bp.name}.")),
        key=lambda r: r.rule,
    )
    paths: dict[str, dict] = {}
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        api = getattr(view, "api_doc", None)
        if api is None:
            continue
        path = _PARAM.sub(r"{\2}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, method, view, api)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _problem(status: int) -> dict:
    return {
        "description": STATUS[status][1],
        "content": {"application/problem+json": {"schema": "Problem"}},
    }


def _operation(rule, method: str, view, api) -> dict:
    operation: dict = {
        "operationId": rule.endpoint.split(".", 1)[1],
        "summary": api.summary,
        "tags": [api.tag],
        "parameters": [],
        "responses": {},
    }
    if api.description:
        operation["description"] = api.description
    for converter, name in _PARAM.findall(rule.rule):
        kind = (
            {"type": "integer", "minimum": 1, "maximum": MAX_ID}
            if converter == "int"
            else {"type": "string"}
        )
        operation["parameters"].append(
            {"in": "path", "name": name, "required": True, "schema": kind}
        )
    if api.query is not None:
        operation["parameters"].append({"in": "query", "schema": api.query})
    if method == "POST":
        operation["parameters"].append(
            {
                "in": "header", "name": "Idempotency-Key", "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                           "pattern": "^[!-~]+$"},
                "description": "New for each request; the same when sending one again. "
                "(On this page, new-uuid is replaced by a new UUID.)",
                "example": "new-uuid",
            }
        )  # fmt: skip
    if api.body is not None:
        operation["requestBody"] = {
            "required": True, "content": {"application/json": {"schema": api.body}}
        }  # fmt: skip
    if api.multipart is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["kind", "file"],
                        "properties": {
                            name: {**schema, "description": text}
                            for name, (schema, text) in api.multipart.items()
                        },
                    }
                }
            },
        }
    if api.response is not None:
        content = {"application/json": {"schema": api.response}}
        for status in (api.status, *api.also):
            described = HTTP_STATUS_CODES[status] if status == api.status else AGAIN
            operation["responses"][str(status)] = {"description": described, "content": content}
    for status, (schema, described, location) in api.others.items():
        operation["responses"][str(status)] = {
            "description": described,
            "content": {"application/json": {"schema": schema}},
        }
        if location:
            operation["responses"][str(status)]["headers"] = {
                "Location": {"schema": {"type": "string"}, "description": location}
            }
    access = getattr(view, "access", None)
    errors = set(api.errors)
    if access is not None and not access.public:
        errors |= {401, 403}
        operation["security"] = [{"bearer": []}, {"session": []}]
    if method == "POST":
        errors |= {400, 409, 422}
    for status in sorted(errors):
        operation["responses"][str(status)] = _problem(status)
    return operation


@bp.get("/openapi.json")
@public
def openapi_json():
    document = current_app.extensions.get("fundledger_openapi")
    if document is None:
        document = current_app.extensions["fundledger_openapi"] = spec_for(current_app)
    return document


@bp.get("/docs")
@public
def docs():
    return render_template("api/docs.html")
