"""Bank API tokens, for admins: issue one for a bank (its secret is in this response only),
list them with their last use, revoke one (``ledger.fund.tokens``)."""

from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user

from ledger.fund.reference import Role
from ledger.fund.tokens import get_token, issue_token, revoke_token, tokens_page
from web.api import bp, idempotency, paging
from web.api.schemas import IssuedTokenOut, TokenIn, TokenOut, TokenPage, TokensQuery
from web.api.spec import ID, doc, load_body, load_query
from web.authz import action, allow
from web.database import reading, write


def _out(view, secret: str | None = None) -> dict:
    return {
        **{f: getattr(view, f) for f in TokenOut().fields if f not in ("principal", "active")},
        "principal": view.principal, "active": view.active, "secret": secret,
    }  # fmt: skip


@bp.get("/tokens")
@allow(Role.ADMIN)
@doc(
    "Bank API tokens, newest first", "tokens", query=TokensQuery, response=TokenPage,
    errors=(400,),
)  # fmt: skip
def token_list():
    q = load_query(TokensQuery)
    with reading() as s:
        page = tokens_page(
            s, bank=q.get("bank"), before=paging.decode(q.get("cursor")), limit=q["limit"]
        )
    return {
        "items": TokenOut(many=True).dump([_out(t) for t in page.items]),
        "next_cursor": paging.encode(page.next_before),
    }


@bp.post("/tokens")
@action("token.manage")
@doc(
    "Issue a token for a bank", "tokens", body=TokenIn, response=IssuedTokenOut, status=201,
    errors=(400, 415, 422),
    description="The secret is in this response only and stored nowhere (a replay of this "
    "request with its Idempotency-Key answers it as null). The bank's system sends it as "
    "`Authorization: Bearer <secret>`.",
)  # fmt: skip
def token_issue():
    data = load_body(TokenIn)
    principal = current_user.principal
    issued = write(lambda s: issue_token(s, data["bank"], data["name"], actor=principal))
    idempotency.keep_instead(IssuedTokenOut().dump(_out(issued.token)))
    return (
        IssuedTokenOut().dump(_out(issued.token, issued.secret)),
        201,
        {"Location": url_for("api.token_list", bank=issued.token.bank)},
    )


@bp.post(f"/tokens/<{ID}:token_id>/revoke")
@action("token.manage")
@doc("Revoke a token", "tokens", response=TokenOut, errors=(400, 404, 422))
def token_revoke(token_id: int):
    with reading() as s:
        if get_token(s, token_id) is None:
            abort(404)
    principal = current_user.principal
    revoked = write(lambda s: revoke_token(s, token_id, actor=principal))
    return TokenOut().dump(_out(revoked))
