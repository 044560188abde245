"""The JSON API under ``/api/v1``: the pages' reads and writes for the partner banks'
systems and for scripts (``docs/api.md``).

One blueprint. A request is authenticated by the browser session or by a bank's API
token (``web.api.auth``) and authorised by ``web.authz`` exactly as the pages are — a
bank's token is that bank's principal, and another bank's object is a 404. Every POST
carries an ``Idempotency-Key`` (``web.api.idempotency``); every error is
``application/problem+json`` (``web.api.problems``); lists are cursor-paged
(``web.api.paging``); bodies are marshmallow schemas (``web.api.schemas``), from which
``/api/v1/openapi.json`` is generated (``web.api.openapi``), with an interactive page at
``/api/v1/docs``.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from web.api import auth, idempotency
from web.api.problems import init_app_errors, init_errors

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.record_once
def _setup(state) -> None:
    app: Flask = state.app
    from web import csrf
    from web.auth import login_manager

    # The API authenticates by token or session and checks CSRF itself (auth.check_csrf).
    csrf.exempt(bp)
    login_manager.request_loader(auth.load_from_token)
    # Not signed in: a 401, never the sign-in page's redirect.
    login_manager.blueprint_login_views[bp.name] = None
    init_app_errors(app)
    # Chinese in the JSON as it is, not as \u escapes (as the problems have it).
    app.json.ensure_ascii = False


bp.before_request(auth.check_csrf)
bp.before_request(idempotency.before)
bp.after_request(idempotency.after)
bp.after_request(auth.no_cookie_for_tokens)
bp.teardown_request(idempotency.teardown)
init_errors(bp)

from web.api import openapi, reads, tokens, writes  # noqa: E402,F401  (routes)
