"""``Idempotency-Key`` on every POST of the API (``ledger.idempotency`` keeps them).

Before the route runs, the key is claimed for the request's principal, method, path
and body fingerprint: the first request with a key runs and its response is stored;
the same key with the same request gets that response again, with its ``Location``
(``Idempotent-Replayed: true``), and nothing runs; the same key with another request is
a 422 naming the key; a key whose first request is still running is a 409; a POST
without a key is a 400. A response with a server error (5xx) is not kept: the key may
be used again.

The fingerprint is the SHA-256 of the body as sent — except for a multipart upload,
whose boundary a client draws anew for each attempt: there it is the SHA-256 of its
fields and of each file's name and content.
"""

from __future__ import annotations

import hashlib
import json

from flask import Response, g, request
from flask_login import current_user

from ledger import idempotency
from ledger.idempotency import IdempotencyError, Replay
from web.api.problems import problem, refusal
from web.database import write

HEADER = "Idempotency-Key"


def fingerprint() -> str:
    if request.mimetype == "multipart/form-data":
        # A part may come without a name (None): order it as the empty name.
        parts: list = [
            ["form", name, request.form.getlist(name)]
            for name in sorted(request.form, key=lambda n: n or "")
        ]
        for name in sorted(request.files, key=lambda n: n or ""):
            for upload in request.files.getlist(name):
                digest = hashlib.sha256()
                while chunk := upload.stream.read(1 << 20):
                    digest.update(chunk)
                upload.stream.seek(0)
                parts.append(["file", name, upload.filename or "", digest.hexdigest()])
        canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hashlib.sha256(canonical).hexdigest()
    return hashlib.sha256(request.get_data(cache=True)).hexdigest()


def before() -> Response | None:
    """Claim the request's key, or answer it with the first response, or refuse it."""
    if request.method != "POST" or not current_user.is_authenticated:
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return problem(
            400, "Idempotency-Key missing",
            f"Every POST needs an {HEADER} header: a new unique value (a UUID) for each new "
            "request, the same value when the same request is sent again.",
            code="idempotency-key-missing",
            zh=f"每个 POST 请求都须带 {HEADER} 头：新请求用新的唯一值（如 UUID），"
            "重发同一请求时用同一值。",
        )  # fmt: skip
    key = key.strip()
    path = request.full_path.rstrip("?")
    body = fingerprint()
    principal = current_user.username
    try:
        outcome = write(
            lambda s: idempotency.claim(
                s, principal=principal, key=key, method=request.method, path=path,
                body_sha256=body,
            )
        )  # fmt: skip
    except IdempotencyError as error:
        return refusal(error)
    if isinstance(outcome, Replay):
        response = Response(outcome.body, status=outcome.status, content_type=outcome.content_type)
        if outcome.location is not None:
            response.headers["Location"] = outcome.location
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency_claim = outcome.id
    return None


def keep_instead(body: dict) -> None:
    """Store ``body`` for replays instead of the response (which holds a secret)."""
    g.idempotency_kept = json.dumps(body, ensure_ascii=False)


def after(response: Response) -> Response:
    """Store the response under the request's key (or give the key up on a 5xx)."""
    claim_id = g.pop("idempotency_claim", None)
    if claim_id is None:
        return response
    if response.status_code >= 500:
        write(lambda s: idempotency.release(s, claim_id))
        return response
    body = g.pop("idempotency_kept", None)
    if body is None:
        body = response.get_data(as_text=True)
    write(
        lambda s: idempotency.complete(
            s, claim_id, status=response.status_code,
            content_type=response.content_type or "application/json", body=body,
            location=response.headers.get("Location"),
        )
    )  # fmt: skip
    return response


def teardown(_error) -> None:
    """A request that ended without a response gives its key up."""
    claim_id = g.pop("idempotency_claim", None)
    if claim_id is not None:
        write(lambda s: idempotency.release(s, claim_id))
