"""Errors as ``application/problem+json`` (RFC 9457): a status, a title, the detail a
person can act on, and — for a refusal by the books — its named code and Chinese
message."""

from __future__ import annotations

from flask import Response, json


def problem(status: int, title: str, detail: str, **extra) -> Response:
    body = {"type": "about:blank", "status": status, "title": title, "detail": detail, **extra}
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
