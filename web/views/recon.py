"""Reconciliation: the breaks queue (filters by bank, fund, type, status and age; each
break's history and the forms to assign, comment, explain, resolve and reopen it), the
scheduler's job runs, the alerts, and a month's month-end snapshot with the close.

A bank user reads its own bank's breaks and comments on them; another bank's break is
not found. Clerks and approvers work breaks; an approver or an admin closes a month,
which the books refuse while a break found by its end is open and unexplained.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ledger.clock import business_today
from ledger.errors import FilterError, LedgerError
from ledger.fund.errors import PermissionDeniedError
from ledger.fund.funds import funds
from ledger.fund.reference import banks
from ledger.ops.alerts import acknowledge_alert, alerts_page
from ledger.ops.errors import UnknownAlertError
from ledger.ops.models import AlertKind, RunStatus
from ledger.ops.runs import latest_runs, runs_page
from ledger.periods import closed_through
from ledger.recon import breaks as ops
from ledger.recon.errors import BreakNotFoundError, ReconError
from ledger.recon.models import BreakStatus, BreakType
from ledger.recon.monthend import (
    changed_since_snapshot,
    close_month,
    month_bounds,
    month_end_snapshot,
    open_breaks_through,
    prepare_snapshot,
)
from web.authz import BUREAU, READERS, action, allow, bank_scope, own_bank
from web.database import books, reading, write
from web.i18n import message
from web.views.common import date_arg, int_arg, page_size, text_arg

bp = Blueprint("recon", __name__, url_prefix="/recon")

#: The age filter's choices: breaks found at least this many days ago.
AGES = (7, 30, 90)


def type_labels() -> dict[str, str]:
    return {
        "missing_at_bank": _("missing at the bank"), "missing_in_fund": _("missing in the fund"),
        "amount_differs": _("amount differs"), "status_differs": _("overdue status differs"),
        "balance_differs": _("balance differs"), "interest_unrecorded": _("interest unrecorded"),
        "unknown_account": _("unknown account"),
    }  # fmt: skip


def status_labels() -> dict[str, str]:
    return {
        "open": _("open"), "explained": _("explained"), "resolved": _("resolved"),
        "running": _("running"), "succeeded": _("succeeded"), "failed": _("failed"),
    }  # fmt: skip


def kind_labels() -> dict[str, str]:
    return {
        "chain-verification": _("chain verification"), "file-missing": _("file missing"),
        "job-failed": _("job failed"), "breaks-old": _("old breaks"),
        "leverage-high": _("leverage high"), "import-failed": _("import failed"),
        "claims-eligible": _("claims eligible"), "month-end": _("month-end"),
        "interest-expected": _("interest expected"),
        "info": _("info"), "warning": _("warning"), "critical": _("critical"),
        "balances": _("loan balances file"), "statement": _("special-account statement"),
    }  # fmt: skip


def event_labels() -> dict[str, str]:
    return {
        "found": _("found"), "reopened": _("reopened"), "assigned": _("assigned"),
        "commented": _("commented"), "explained": _("explained"), "resolved": _("resolved"),
    }  # fmt: skip


def months_around(month: str) -> tuple[str, str]:
    start, end = month_bounds(month)
    before = start - dt.timedelta(days=1)
    after = end + dt.timedelta(days=1)
    return f"{before.year}-{before.month:02d}", f"{after.year}-{after.month:02d}"


def last_month() -> str:
    first = business_today().replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


@bp.context_processor
def _recon_tabs():
    return {"recon_last_month": last_month}


# ------------------------------------------------------------------------------ the queue


@bp.get("/breaks")
@allow(*READERS)
def breaks():
    error = page = None
    today = business_today()
    age = int_arg("age")
    with reading() as s:
        choices = {"banks": banks(s), "funds": funds(s)}
        try:
            found_to = date_arg("to", _("Found to"))
            if age is not None:
                oldest = today - dt.timedelta(days=age)
                found_to = min(found_to, oldest) if found_to else oldest
            page = ops.breaks_page(
                s, actor=current_user.principal, bank=bank_scope(text_arg("bank")),
                fund=text_arg("fund"), status=text_arg("status"), type=text_arg("type"),
                found_from=date_arg("from", _("Found from")), found_to=found_to,
                sort=text_arg("sort"), after=text_arg("after"), before=int_arg("before"),
                limit=page_size(),
            )  # fmt: skip
        except FilterError as exc:
            error = exc
    return render_template(
        "recon/breaks.html", page=page, error=error, types=type_labels(),
        statuses=status_labels(), all_types=[t.value for t in BreakType],
        all_statuses=[st.value for st in BreakStatus], ages=AGES, today=today,
        own=own_bank(), **choices,
    ), (400 if error else 200)  # fmt: skip


class AssignForm(FlaskForm):
    assignee = StringField(
        _l("Assign to"),
        validators=[DataRequired(_l("Name a clerk or an approver.")), Length(max=60)],
    )


class CommentForm(FlaskForm):
    text = TextAreaField(_l("Comment"), validators=[Length(max=2000)])


class ExplainForm(FlaskForm):
    text = TextAreaField(_l("Explanation"), validators=[Length(max=2000)])


class ResolveForm(FlaskForm):
    entry = IntegerField(_l("Journal entry no."), validators=[Optional(), NumberRange(min=1)])
    import_id = IntegerField(_l("Bank file no."), validators=[Optional(), NumberRange(min=1)])
    row = IntegerField(_l("Row"), validators=[Optional(), NumberRange(min=1)])
    text = StringField(_l("Note"), validators=[Length(max=500)])


class ReopenForm(FlaskForm):
    text = TextAreaField(_l("Reason"), validators=[Length(max=2000)])


FORMS = {
    "assign": AssignForm, "comment": CommentForm, "explain": ExplainForm,
    "resolve": ResolveForm, "reopen": ReopenForm,
}  # fmt: skip


def _detail(break_id: int) -> ops.BreakDetail:
    """The break as the signed-in user may see it; another bank's is not found."""
    with reading() as s:
        try:
            return ops.break_detail(s, break_id, actor=current_user.principal)
        except (BreakNotFoundError, PermissionDeniedError):
            abort(404)


def _forms(posted: str | None = None) -> dict[str, FlaskForm]:
    """Every form of a break's page, each with its own prefix; only ``posted`` reads the
    request's data."""
    return {
        name: cls(prefix=name) if name == posted else cls(prefix=name, formdata=None)
        for name, cls in FORMS.items()
    }


def _page(detail: ops.BreakDetail, forms: dict[str, FlaskForm], status: int = 200):
    return render_template(
        "recon/break.html", d=detail, b=detail.brk, forms=forms, types=type_labels(),
        statuses=status_labels(), events=event_labels(), labels=kind_labels(),
        today=business_today(),
        bureau=own_bank() is None,
    ), status  # fmt: skip


@bp.get("/breaks/<int:break_id>")
@allow(*READERS)
def show(break_id: int):
    return _page(_detail(break_id), _forms())


def _work(break_id: int, name: str, field: str, operation, done: str):
    """Run one change of a break from its form; refused, the page again with the reason
    beside ``field`` (422)."""
    detail = _detail(break_id)
    forms = _forms(name)
    form = forms[name]
    if form.validate_on_submit():
        try:
            write(lambda s: operation(s, form))
        except BreakNotFoundError:
            abort(404)
        except LedgerError as error:
            getattr(form, field).errors.append(message(error))
        else:
            flash(done, "ok")
            return redirect(url_for(".show", break_id=break_id))
    return _page(detail, forms, 422)


@bp.post("/breaks/<int:break_id>/assign")
@action("break.work")
def assign(break_id: int):
    return _work(
        break_id, "assign", "assignee",
        lambda s, f: ops.assign(s, break_id, f.assignee.data.strip(),
                                actor=current_user.principal),
        _("Break %(id)s assigned.", id=break_id),
    )  # fmt: skip


@bp.post("/breaks/<int:break_id>/comment")
@action("break.comment")
def comment(break_id: int):
    return _work(
        break_id, "comment", "text",
        lambda s, f: ops.comment(s, break_id, f.text.data or "", actor=current_user.principal),
        _("Comment added to break %(id)s.", id=break_id),
    )  # fmt: skip


@bp.post("/breaks/<int:break_id>/explain")
@action("break.work")
def explain(break_id: int):
    return _work(
        break_id, "explain", "text",
        lambda s, f: ops.explain(s, break_id, f.text.data or "", actor=current_user.principal),
        _("Break %(id)s explained.", id=break_id),
    )  # fmt: skip


@bp.post("/breaks/<int:break_id>/resolve")
@action("break.work")
def resolve(break_id: int):
    return _work(
        break_id, "resolve", "entry",
        lambda s, f: ops.resolve(
            s, break_id, actor=current_user.principal, entry_id=f.entry.data,
            import_id=f.import_id.data, row=f.row.data, text=f.text.data or "",
        ),
        _("Break %(id)s resolved.", id=break_id),
    )  # fmt: skip


@bp.post("/breaks/<int:break_id>/reopen")
@action("break.work")
def reopen(break_id: int):
    return _work(
        break_id, "reopen", "text",
        lambda s, f: ops.reopen(s, break_id, f.text.data or "", actor=current_user.principal),
        _("Break %(id)s reopened.", id=break_id),
    )  # fmt: skip


# ------------------------------------------------------------------------------ job runs


@bp.get("/runs")
@allow(*BUREAU)
def runs():
    error = page = None
    with reading() as s:
        jobs = sorted(latest_runs(s))
        try:
            page = runs_page(
                s, job=text_arg("job"), status=text_arg("status"), before=int_arg("before"),
                limit=50,
            )  # fmt: skip
        except FilterError as exc:
            error = exc
    return render_template(
        "recon/runs.html", page=page, error=error, jobs=jobs, statuses=status_labels(),
        all_statuses=[st.value for st in RunStatus],
    ), (400 if error else 200)  # fmt: skip


# ------------------------------------------------------------------------------ alerts


def _alerts(error: LedgerError | None = None, status: int = 200):
    filter_error = page = None
    with reading() as s:
        bank_list = banks(s)
        try:
            page = alerts_page(
                s, kind=text_arg("kind"), open_only=request.args.get("open") == "1",
                bank=text_arg("bank"), before=int_arg("before"), limit=50,
            )  # fmt: skip
        except FilterError as exc:
            filter_error = exc
    return render_template(
        "recon/alerts.html", page=page, error=filter_error, refusal=error, banks=bank_list,
        kinds=[k.value for k in AlertKind], labels=kind_labels(),
    ), (400 if filter_error else status)  # fmt: skip


@bp.get("/alerts")
@allow(*BUREAU)
def alerts():
    return _alerts()


@bp.post("/alerts/<int:alert_id>/acknowledge")
@action("alert.acknowledge")
def acknowledge(alert_id: int):
    try:
        write(lambda s: acknowledge_alert(s, alert_id, actor=current_user.principal))
    except UnknownAlertError:
        abort(404)
    except LedgerError as error:
        return _alerts(error, 422)
    flash(_("Alert %(id)s acknowledged.", id=alert_id), "ok")
    return redirect(url_for(".alerts", **request.args))


# ------------------------------------------------------------------------------ month-end


def _month(month: str) -> tuple[dt.date, dt.date]:
    try:
        return month_bounds(month)
    except ReconError:
        abort(404)


def _month_page(month: str, refusal: LedgerError | None = None, status: int = 200):
    start, end = _month(month)
    snapshot = changed = None
    with reading() as s:
        try:
            snapshot = month_end_snapshot(s, month, actor=current_user.principal)
            changed = changed_since_snapshot(s, month, actor=current_user.principal)
        except ReconError:
            pass
        holding = open_breaks_through(s, end)
        closed = closed_through(s)
    previous, following = months_around(month)
    return render_template(
        "recon/month_end.html", month=month, start=start, end=end, snap=snapshot,
        changed=changed, holding=holding, closed=closed,
        is_closed=closed is not None and closed >= end, refusal=refusal,
        previous=previous, following=following,
    ), status  # fmt: skip


@bp.get("/month-end/<month>")
@allow(*BUREAU)
def month_end(month: str):
    return _month_page(month)


@bp.post("/month-end/<month>/prepare")
@action("period.close")
def prepare(month: str):
    _month(month)
    try:
        prepare_snapshot(books().factory, month, actor=current_user.principal)
    except LedgerError as error:
        return _month_page(month, error, 422)
    flash(_("The month-end snapshot of %(month)s was prepared.", month=month), "ok")
    return redirect(url_for(".month_end", month=month))


@bp.post("/month-end/<month>/close")
@action("period.close")
def close(month: str):
    _month(month)
    try:
        write(lambda s: close_month(s, month, actor=current_user.principal))
    except LedgerError as error:
        return _month_page(month, error, 422)
    flash(_("The books are closed through %(day)s.", day=_month(month)[1].isoformat()), "ok")
    return redirect(url_for(".month_end", month=month))
