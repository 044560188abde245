"""Capital: capital by source, the districts' matching money still unpaid, the money
placed at each bank, and the allocations from the sources with their filters; a clerk
records an allocation, another approver approves or rejects it; a clerk places money
at a bank, withdraws it, and records the deposit interest a bank credited. Every change
shows the journal entries it posted. The bureau's pages: a bank has none here."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, Field, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import TextInput

from ledger.clock import business_today
from ledger.errors import LedgerError
from ledger.fund import capital
from ledger.fund.capital import capital_by_source, matching_by_district
from ledger.fund.errors import DuplicateReferenceError, LeverageCapError
from ledger.fund.funds import check_fund, funds
from ledger.fund.leverage import placements_as_of
from ledger.fund.models import AllocationStatus
from ledger.fund.read.allocations import allocations_page
from ledger.fund.reference import all_sources, banks, districts
from ledger.journal import entry as entry_view
from ledger.money import MoneyError, yuan_to_fen
from web.authz import BUREAU, action, allow
from web.database import reading, write
from web.i18n import message
from web.views.common import date_arg, int_arg, page_size, text_arg

bp = Blueprint("capital", __name__, url_prefix="/capital")

#: The entries a capital movement page shows; any other entry is not one of its own.
MOVEMENT_KINDS = ("capital.placement", "capital.withdrawal", "interest.deposit")

_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def status_labels() -> dict[str, str]:
    return {
        "pending": _("awaiting approval"),
        "approved": _("approved"),
        "rejected": _("declined"),
    }


def movement_titles() -> dict[str, str]:
    return {
        "capital.placement": _("Placement at a bank"),
        "capital.withdrawal": _("Withdrawal from a bank"),
        "interest.deposit": _("Deposit interest"),
    }


class YuanField(Field):
    """An amount typed in yuan ("1,234.50" or "1234.5"), as fen; never a float."""

    widget = TextInput()

    def _value(self) -> str:
        return self.raw_data[0] if self.raw_data else ""

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            return
        if "," in text:
            if not _GROUPED.match(text):
                raise ValueError(_l("Not an amount in yuan: use digits, e.g. 1,234.50."))
            text = text.replace(",", "")
        try:
            self.data = yuan_to_fen(text)
        except MoneyError:
            raise ValueError(_l("Not an amount in yuan: use digits, e.g. 1,234.50.")) from None


def _amount(label):
    return YuanField(label, validators=[InputRequired(_l("Enter the amount in yuan."))])


def _date(label):
    return DateField(
        label, validators=[InputRequired(_l("Enter the date."))],
        render_kw={"type": "date"}, default=business_today,
    )  # fmt: skip


_NOT_A_DATE = _l("Not a date: use YYYY-MM-DD.")


class AllocationForm(FlaskForm):
    source = SelectField(_l("Source"), validators=[DataRequired(_l("Choose the source."))])
    amount = _amount(_l("Amount (yuan)"))
    received_on = _date(_l("Received on"))
    reference = StringField(_l("Document no."), validators=[Length(max=100)])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("A rejection needs a reason.")), Length(max=2000)],
    )


class ApproveForm(FlaskForm):
    """Nothing to fill in: the approver's name and the day are the books' own."""


class MovementForm(FlaskForm):
    fund = SelectField(_l("Fund"), validators=[DataRequired(_l("Choose the fund."))])
    bank = SelectField(_l("Bank"), validators=[DataRequired(_l("Choose the bank."))])
    amount = _amount(_l("Amount (yuan)"))
    on = _date(_l("Date"))


class InterestForm(MovementForm):
    bank_ref = StringField(
        _l("Bank ref. (statement line)"),
        validators=[DataRequired(_l("Enter the bank's reference.")), Length(max=60)],
    )


def _date_errors(form: FlaskForm) -> None:
    """WTForms' own "Not a valid date value" in the page's language."""
    for f in form:
        if isinstance(f, DateField) and f.raw_data and f.raw_data[0] and f.data is None:
            f.errors[:] = [str(_NOT_A_DATE)]


def _refusal(form: FlaskForm, error: LedgerError, date_field: str) -> None:
    """Show the books' refusal beside the field it concerns, else at the top."""
    text = str(error)
    if " in the future" in text:
        name = date_field
    elif isinstance(error, DuplicateReferenceError) or "reference" in text:
        name = "bank_ref"
    elif isinstance(error, LeverageCapError) or "amount" in text or "treasury" in text:
        name = "amount"
    elif text.startswith("no fund"):
        name = "fund"
    elif text.startswith("no partner bank"):
        name = "bank"
    elif text.startswith("no capital source"):
        name = "source"
    else:
        name = None
    field = getattr(form, name, None) if name else None
    if field is None:
        form.form_errors.append(message(error))
    else:
        field.errors = [*field.errors, message(error)]


def _choices(s) -> dict:
    return {
        "funds": funds(s),
        "banks": banks(s),
        "sources": [(x.code, x.name, x.fund_code) for x in all_sources(s)],
    }


def _fill(form, choices: dict) -> None:
    if hasattr(form, "source"):
        form.source.choices = [("", "—")] + [
            (code, f"{name} ({code})") for code, name, _f in choices["sources"]
        ]
    if hasattr(form, "fund"):
        form.fund.choices = [(f.code, f"{f.name} ({f.code})") for f in choices["funds"]]
    if hasattr(form, "bank"):
        form.bank.choices = [("", "—")] + [
            (b.code, f"{b.name} ({b.code})") for b in choices["banks"] if b.active
        ]


@bp.get("")
@allow(*BUREAU)
def index():
    today = business_today()
    error = page = None
    fund = text_arg("fund")
    with reading() as s:
        choices = _choices(s)
        names = {d.code: d.name for d in districts(s)}
        try:
            fund = check_fund(s, fund)
            by_source = capital_by_source(s, today, fund)
            placed = placements_as_of(s, today, fund)
            page = allocations_page(
                s, source=text_arg("source"), status=text_arg("status"), fund=fund,
                date_from=date_arg("from", _("Received from")),
                date_to=date_arg("to", _("Received to")), sort=text_arg("sort"),
                after=text_arg("after"), before=int_arg("before"), limit=page_size(),
            )  # fmt: skip
        except LedgerError as exc:
            error = exc
            by_source = capital_by_source(s, today, None)
            placed = ()
        matching = matching_by_district(s, today)
    return render_template(
        "capital/index.html", today=today, fund=fund, by_source=by_source, placed=placed,
        matching=matching, district_names=names, page=page, error=error,
        statuses=status_labels(), all_statuses=[x.value for x in AllocationStatus],
        approve_form=ApproveForm(), **choices,
    ), (400 if error else 200)  # fmt: skip


@bp.route("/allocations/new", methods=["GET", "POST"])
@action("allocation.record")
def allocation_new():
    form = AllocationForm()
    with reading() as s:
        _fill(form, _choices(s))
    if form.validate_on_submit():
        try:
            allocation_id = write(
                lambda s: capital.record_allocation(
                    s, form.source.data, form.amount.data, form.received_on.data,
                    reference=form.reference.data or "", note=form.note.data or "",
                    actor=current_user.principal,
                ).id
            )  # fmt: skip
        except LedgerError as error:
            _refusal(form, error, "received_on")
        else:
            flash(
                _("Allocation %(id)s recorded; it is posted once another approver approves it.",
                  id=allocation_id),
                "ok",
            )  # fmt: skip
            return redirect(url_for(".allocation", allocation_id=allocation_id))
    _date_errors(form)
    status = 422 if request.method == "POST" else 200
    return render_template("capital/allocation_form.html", form=form), status


def _allocation(s, allocation_id: int):
    """The allocation as the list shows it (its page of one), or 404."""
    found = allocations_page(s, before=allocation_id + 1, limit=1).items
    if not found or found[0].id != allocation_id:
        abort(404)
    return found[0]


def _show_allocation(allocation_id: int, reject_form=None, approve_form=None, status=200):
    with reading() as s:
        a = _allocation(s, allocation_id)
        posted = entry_view(s, a.entry_id) if a.entry_id else None
        sources = {x.code: x.fund_code for x in all_sources(s)}
    return render_template(
        "capital/allocation.html", a=a, entry=posted, fund=sources.get(a.source_code),
        statuses=status_labels(), reject_form=reject_form or RejectForm(),
        approve_form=approve_form or ApproveForm(),
        own=a.recorded_by == current_user.username,
    ), status  # fmt: skip


@bp.get("/allocations/<int:allocation_id>")
@allow(*BUREAU)
def allocation(allocation_id: int):
    return _show_allocation(allocation_id)


def _approve(s, allocation_id: int) -> int:
    """Approve; the id of the entry that posted the capital."""
    return capital.approve_allocation(s, allocation_id, actor=current_user.principal).entry_id


@bp.post("/allocations/<int:allocation_id>/approve")
@action("allocation.approve")
def allocation_approve(allocation_id: int):
    form = ApproveForm()
    if form.validate_on_submit():
        try:
            entry_id = write(lambda s: _approve(s, allocation_id))
        except LedgerError as error:
            form.form_errors.append(message(error))
        else:
            flash(_("Allocation %(id)s approved; entry #%(entry)s posted.", id=allocation_id,
                    entry=entry_id), "ok")  # fmt: skip
            return redirect(url_for(".allocation", allocation_id=allocation_id))
    return _show_allocation(allocation_id, approve_form=form, status=422)


@bp.post("/allocations/<int:allocation_id>/reject")
@action("allocation.reject")
def allocation_reject(allocation_id: int):
    form = RejectForm()
    if form.validate_on_submit():
        try:
            write(
                lambda s: capital.reject_allocation(
                    s, allocation_id, form.reason.data, actor=current_user.principal
                )
            )
        except LedgerError as error:
            form.form_errors.append(message(error))
        else:
            flash(_("Allocation %(id)s rejected; nothing was posted.", id=allocation_id), "ok")
            return redirect(url_for(".allocation", allocation_id=allocation_id))
    return _show_allocation(allocation_id, reject_form=form, status=422)


def _movement(form: FlaskForm, kind: str, operation):
    with reading() as s:
        _fill(form, _choices(s))
    if request.method == "GET" and request.args.get("fund"):
        form.fund.data = request.args["fund"]
    if form.validate_on_submit():
        try:
            entry_id = write(operation)
        except LedgerError as error:
            _refusal(form, error, "on")
        else:
            flash(
                _("%(what)s recorded: entry #%(entry)s posted.", what=movement_titles()[kind],
                  entry=entry_id),
                "ok",
            )  # fmt: skip
            return redirect(url_for(".movement", entry_id=entry_id))
    _date_errors(form)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "capital/movement_form.html", form=form, kind=kind, title=movement_titles()[kind]
    ), status  # fmt: skip


@bp.route("/placements/new", methods=["GET", "POST"])
@action("capital.place")
def placement_new():
    form = MovementForm()
    return _movement(
        form, "capital.placement",
        lambda s: capital.place_capital(
            s, form.bank.data, form.amount.data, form.on.data, fund=form.fund.data,
            actor=current_user.principal,
        ),
    )  # fmt: skip


@bp.route("/withdrawals/new", methods=["GET", "POST"])
@action("capital.withdraw")
def withdrawal_new():
    form = MovementForm()
    return _movement(
        form, "capital.withdrawal",
        lambda s: capital.withdraw_capital(
            s, form.bank.data, form.amount.data, form.on.data, fund=form.fund.data,
            actor=current_user.principal,
        ),
    )  # fmt: skip


@bp.route("/interest/new", methods=["GET", "POST"])
@action("capital.interest")
def interest_new():
    form = InterestForm()
    return _movement(
        form, "interest.deposit",
        lambda s: capital.record_deposit_interest(
            s, form.bank.data, form.amount.data, form.on.data, form.bank_ref.data,
            fund=form.fund.data, actor=current_user.principal,
        ).entry_id,
    )  # fmt: skip


@bp.get("/movements/<int:entry_id>")
@allow(*BUREAU)
def movement(entry_id: int):
    """A placement, a withdrawal or deposit interest: the entry it posted."""
    with reading() as s:
        found = entry_view(s, entry_id)
    if found is None or found.kind not in MOVEMENT_KINDS:
        abort(404)
    return render_template("capital/movement.html", e=found, title=movement_titles()[found.kind])
