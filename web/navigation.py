"""The header's menu: each area's first page, shown to the roles its route admits."""

from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from web.authz import access_of

#: (endpoint, label), in the menu's order; an area not built yet is left out.
MENU = (
    ("dashboard.index", _l("Dashboard")),
    ("capital.index", _l("Capital")),
    ("loans.index", _l("Borrowers and loans")),
    ("operations.index", _l("Operations")),
    ("files.index", _l("Bank files")),
    ("recon.breaks", _l("Reconciliation")),
    ("reports.index", _l("Reports")),
    ("books.entries", _l("Books")),
    ("admin.audit", _l("Audit log")),
    ("admin.users", _l("Administration")),
)


def navigation() -> list[tuple[str, str, bool]]:
    """(endpoint, label, active) of the menu items the signed-in user may open. An item is
    active on the pages of its area: its blueprint's, or — where two items share a
    blueprint — those under its own path."""
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, label in MENU:
        access = access_of(current_app, endpoint)
        if access is None:
            continue
        if access.roles and access.roles.isdisjoint(current_user.roles):
            continue
        items.append((endpoint, str(label)))
    blueprints = [e.split(".")[0] for e, _ in MENU if access_of(current_app, e) is not None]
    here = (request.endpoint or "").split(".")[0]
    shown = []
    for endpoint, label in items:
        blueprint = endpoint.split(".")[0]
        if blueprints.count(blueprint) > 1:
            path = url_for(endpoint)
            active = request.path == path or request.path.startswith(path + "/")
        else:
            active = blueprint == here
        shown.append((endpoint, label, active))
    return shown


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(navigation=navigation)
