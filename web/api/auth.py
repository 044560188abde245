"""Who calls the API: the browser's signed-in user (its session), or a partner bank's
system with an API token (``Authorization: Bearer <secret>``, ``ledger.fund.tokens``),
which acts as that bank's principal — role ``bank``, scoped to its bank — under the
token's own name (``api-token:<id>``).

A token is read by Flask-Login's request loader, so ``current_user`` is the token's user
for the rest of the request and ``web.authz`` authorises it like anyone else. A
token-authenticated request carries no cookie in and gets none back, and needs no CSRF
token; a POST signed in by the session must send the page's CSRF token in the
``X-CSRFToken`` header.
"""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import UserMixin, current_user

from ledger.fund.tokens import authenticate_token
from ledger.principal import Principal
from web.database import write

CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


class TokenUser(UserMixin):
    """The user of a request authenticated by an API token."""

    via_token = True
    must_change_password = False

    def __init__(self, principal: Principal):
        self.principal = principal
        self.username = str(principal)
        self.roles = principal.roles
        self.bank = principal.bank
        self.name = str(principal)

    def get_id(self) -> str:
        return self.username

    def has(self, *roles) -> bool:
        return self.principal.has(*roles)


def bearer_secret() -> str | None:
    scheme, _sep, secret = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def load_from_token(req) -> TokenUser | None:
    """Flask-Login's request loader: the token's user, for the API's addresses only."""
    if not req.path.startswith("/api/"):
        return None
    secret = bearer_secret()
    if secret is None:
        return None
    principal = write(lambda s: authenticate_token(s, secret))
    return TokenUser(principal) if principal is not None else None


def via_token() -> bool:
    return bool(getattr(current_user, "via_token", False))


def check_csrf() -> None:
    """A change signed in by the browser session carries the CSRF token (X-CSRFToken)."""
    if request.method not in CHANGES or via_token() or not current_user.is_authenticated:
        return
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    from web import csrf

    csrf.protect()


def no_cookie_for_tokens(response):
    """A token's request leaves no session behind (nothing to send back)."""
    if via_token():
        session.clear()
        session.modified = False
    return response
