"""Every change made through the web or the API is written to the audit log
(``ledger.audit``): who, what (the route's action), which object (the path), the
outcome and from which address. Signing in and out record themselves
(``ledger.fund.access``)."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_login import current_user

from ledger import audit
from web.authz import access_of
from web.database import write

#: Methods that change something; GET and HEAD only read.
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}
#: Endpoints that audit themselves.
SELF_AUDITED = {"auth.login", "auth.logout", "auth.password"}


def init_app(app: Flask) -> None:
    app.after_request(_record)


def _record(response):
    if request.method not in CHANGES or request.endpoint in SELF_AUDITED:
        return response
    if request.endpoint is None:
        return response
    access = access_of(current_app, request.endpoint)
    actor = current_user.username if current_user.is_authenticated else None
    outcome = "ok" if response.status_code < 400 else "refused"
    detail = {"status": response.status_code, "method": request.method}
    write(
        lambda s: audit.record(
            s, access.action if access and access.action else request.endpoint,
            actor=actor, target=request.path, outcome=outcome, detail=detail,
            address=request.remote_addr,
        )
    )  # fmt: skip
    return response
