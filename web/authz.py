"""Who may reach what: the one place every page and every API route is authorised.

Every view declares its access with a decorator — :func:`public` (the sign-in page),
:func:`allow` (roles; none named: any signed-in user) or :func:`action` (a change,
whose roles come from :data:`ACTIONS`) — and :func:`check_every_endpoint` refuses to
start an application with a route that declares none. One ``before_request`` hook then
enforces it: a visitor who is not signed in is sent to sign in (the API answers 401), a
user whose roles the route does not admit gets 403. The same :data:`ACTIONS` decide
which controls a page shows (:func:`can`), so nobody reaches an action through a URL
that their screen does not offer.

Object level: a bank user sees and acts on their own bank only. A list's bank filter is
:func:`bank_scope` (forced to their bank); an object of another bank is
:func:`require_bank` — a 404, as if it did not exist, never a 403 that would confirm it
does. The operations check again (``ledger.fund.reference.require_bank_access``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, abort, request
from flask_login import current_user

from ledger.fund.reference import Role

#: The bureau's roles, who read every bank's figures.
BUREAU = (Role.CLERK, Role.APPROVER, Role.AUDITOR, Role.ADMIN)
#: Everybody who reads: the bureau and the banks (a bank its own figures only).
READERS = (*BUREAU, Role.BANK)

#: Each change a page or the API offers → the roles that may make it. The operation
#: checks its own rule again (maker-checker, a bank's own loans); an auditor is in none.
ACTIONS: dict[str, tuple[Role, ...]] = {
    "allocation.record": (Role.CLERK,),
    "allocation.approve": (Role.APPROVER,),
    "allocation.reject": (Role.APPROVER,),
    "capital.place": (Role.CLERK,),
    "capital.withdraw": (Role.CLERK,),
    "capital.interest": (Role.CLERK,),
    "guarantee.approve": (Role.APPROVER,),
    "guarantee.project": (Role.APPROVER,),
    "guarantee.cancel": (Role.CLERK, Role.APPROVER),
    "loan.disburse": (Role.CLERK, Role.APPROVER, Role.BANK),
    "loan.repay": (Role.CLERK, Role.APPROVER, Role.BANK),
    "loan.reverse": (Role.CLERK, Role.APPROVER, Role.BANK),
    "loan.extend": (Role.APPROVER,),
    "claim.file": (Role.CLERK, Role.BANK),
    "claim.approve": (Role.APPROVER,),
    "claim.reject": (Role.APPROVER,),
    "claim.pay": (Role.CLERK, Role.APPROVER),
    "recovery.record": (Role.CLERK, Role.APPROVER, Role.BANK),
    "counter-guarantee.enforce": (Role.CLERK, Role.APPROVER),
    "write-off.request": (Role.CLERK,),
    "write-off.approve": (Role.APPROVER,),
    "write-off.reject": (Role.APPROVER,),
    "file.upload": (Role.CLERK, Role.BANK),
    "break.work": (Role.CLERK, Role.APPROVER),
    "break.comment": (Role.CLERK, Role.APPROVER, Role.BANK),
    "alert.acknowledge": (Role.CLERK, Role.APPROVER, Role.ADMIN),
    "period.close": (Role.APPROVER, Role.ADMIN),
    "user.manage": (Role.ADMIN,),
    "policy.load": (Role.ADMIN,),
    "token.manage": (Role.ADMIN,),
}


@dataclass(frozen=True)
class Access:
    #: Roles admitted; empty: any signed-in user.
    roles: frozenset[str]
    public: bool = False
    #: The change it makes (a key of ACTIONS), for the audit log and the matrix test.
    action: str | None = None


def _mark(view: Callable, access: Access) -> Callable:
    view.access = access
    return view


def public(view: Callable) -> Callable:
    """Reachable without signing in (the sign-in page, the language switch)."""
    return _mark(view, Access(frozenset(), public=True))


def allow(*roles: Role) -> Callable[[Callable], Callable]:
    """Reachable by a signed-in user holding one of ``roles`` (any user if none)."""
    return lambda view: _mark(view, Access(frozenset(str(r) for r in roles)))


def action(name: str) -> Callable[[Callable], Callable]:
    """A view that makes the change ``name``: the roles of ACTIONS[name]."""
    roles = ACTIONS[name]
    return lambda view: _mark(view, Access(frozenset(str(r) for r in roles), action=name))


def access_of(app: Flask, endpoint: str) -> Access | None:
    view = app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def check_every_endpoint(app: Flask) -> None:
    """Refuse an application with a route that says nothing of who may reach it."""
    bare = sorted(
        e for e, view in app.view_functions.items()
        if e != "static" and not isinstance(getattr(view, "access", None), Access)
    )  # fmt: skip
    if bare:
        raise RuntimeError(f"routes without an access rule (web.authz): {', '.join(bare)}")
    app.before_request(_enforce)


def _enforce():
    if request.endpoint is None or request.endpoint == "static":
        return None
    from flask import current_app

    access = access_of(current_app, request.endpoint)
    if access is None or access.public:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if access.roles and access.roles.isdisjoint(current_user.roles):
        abort(403)
    return None


def can(name: str) -> bool:
    """Whether the signed-in user may make the change ``name`` (what a page offers)."""
    if not current_user.is_authenticated:
        return False
    return not current_user.roles.isdisjoint(str(r) for r in ACTIONS[name])


def reachable(endpoint: str) -> bool:
    """Whether the signed-in user may open ``endpoint`` (a page links only where it may)."""
    from flask import current_app

    access = access_of(current_app, endpoint)
    if access is None or not current_user.is_authenticated:
        return False
    return access.public or not access.roles or not access.roles.isdisjoint(current_user.roles)


def own_bank() -> str | None:
    """The bank a signed-in bank user works for; None for the bureau."""
    return current_user.bank if current_user.is_authenticated else None


def bank_scope(requested: str | None) -> str | None:
    """A list's bank filter: a bank user's own bank whatever was asked, else the one asked
    (None: every bank)."""
    return own_bank() or (requested or None)


def require_bank(bank: str) -> None:
    """404 for an object of another bank than a bank user's own."""
    mine = own_bank()
    if mine is not None and bank != mine:
        abort(404)
