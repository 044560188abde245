"""What a route says of itself for the OpenAPI document (:func:`doc`), and the reading of
its query and body through its schemas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import abort, json, request
from marshmallow import EXCLUDE, Schema, ValidationError

from web.api.problems import invalid, problem

#: The converter of a record's id in a route: an integer the database's ids can be (a
#: larger one is a 404 like any id that is not there, not an error of the database).
MAX_ID = 2**63 - 1
ID = f"int(max={MAX_ID})"


@dataclass(frozen=True)
class ApiDoc:
    summary: str
    tag: str
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    #: A multipart body: field name → (JSON schema, description).
    multipart: dict | None = None
    response: type[Schema] | None = None
    status: int = 200
    #: Other success statuses with the same body.
    also: tuple[int, ...] = ()
    #: Other success statuses with a body of their own: status → (schema, description,
    #: what its Location header names or None).
    others: dict = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    description: str = ""
    extra: dict = field(default_factory=dict)


def doc(summary: str, tag: str, **kwargs) -> Callable[[Callable], Callable]:
    """Describe a route for ``/api/v1/openapi.json``."""

    def mark(view: Callable) -> Callable:
        view.api_doc = ApiDoc(summary, tag, **kwargs)
        return view

    return mark


def load_query(schema: type[Schema]) -> dict:
    """The query as ``schema`` reads it (blank values left out); a 400 naming the fields."""
    given = {k: v.strip() for k, v in request.args.items() if v.strip()}
    try:
        return schema(unknown=EXCLUDE).load(given)
    except ValidationError as error:
        abort(invalid(error, 400, "query"))


def load_body(schema: type[Schema]) -> dict:
    """The JSON body as ``schema`` reads it; a 415 if it is not JSON, a 400 if it does not
    parse, a 422 naming each field that is wrong (``web.api.problems``)."""
    if not request.is_json:
        abort(problem(415))
    try:
        data = json.loads(request.get_data(cache=True) or b"null")
    except ValueError as error:
        abort(
            problem(
                400,
                "Malformed JSON",
                f"The body is not JSON: {error}",
                code="malformed-json",
                zh="请求体不是有效的 JSON。",
            )
        )
    return schema().load(data)
