"""The books: journal entries (with kind, actor, hash and chain position), one entry's
postings, and the trial balance as of any date — and, for auditors, as recorded at any
past moment. The bureau's pages; a bank reads its figures elsewhere."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ledger.balances import trial_balance
from ledger.clock import CHINA_OFFSET, business_today
from ledger.errors import FilterError, LedgerError
from ledger.fund.reference import Role
from ledger.journal import entries_page
from ledger.journal import entry as entry_view
from web.authz import BUREAU, allow
from web.database import reading
from web.views.common import date_arg, int_arg, page_size, text_arg

bp = Blueprint("books", __name__, url_prefix="/books")


@bp.get("/entries")
@allow(*BUREAU)
def entries():
    error = page = None
    with reading() as s:
        try:
            page = entries_page(
                s, kind=text_arg("kind"), account=text_arg("account"),
                date_from=date_arg("from", _("From")), date_to=date_arg("to", _("To")),
                sort=text_arg("sort"), after=text_arg("after"), before=int_arg("before"),
                limit=page_size(), postings=False,
            )  # fmt: skip
        except FilterError as exc:
            error = exc
    return render_template("books/entries.html", page=page, error=error), 400 if error else 200


@bp.get("/entries/<int:entry_id>")
@allow(*BUREAU)
def entry(entry_id: int):
    with reading() as s:
        found = entry_view(s, entry_id)
    if found is None:
        abort(404)
    return render_template("books/entry.html", e=found)


def _moment() -> dt.datetime | None:
    """``recorded_at`` from the form, China time, as naive UTC; auditors and admins only."""
    value = (request.args.get("recorded_at") or "").strip()
    if not value:
        return None
    if not current_user.has(Role.AUDITOR, Role.ADMIN):
        abort(403)
    try:
        local = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(
            f"recorded at: {value!r} is not a moment (YYYY-MM-DDTHH:MM)",
            zh=f"记录时点：{value} 格式不正确（应为 YYYY-MM-DDTHH:MM）",
        ) from None
    return local - CHINA_OFFSET


@bp.get("/trial-balance")
@allow(*BUREAU)
def trial():
    error = tb = None
    as_of = moment = None
    try:
        as_of = date_arg("as_of", _("As of")) or business_today()
        moment = _moment()
        with reading() as s:
            tb = trial_balance(s, as_of=as_of, recorded_at=moment)
    except LedgerError as exc:
        error = exc
    return render_template(
        "books/trial_balance.html", tb=tb, error=error, as_of=as_of, moment=moment,
        may_travel=current_user.has(Role.AUDITOR, Role.ADMIN),
    ), 400 if error else 200  # fmt: skip
