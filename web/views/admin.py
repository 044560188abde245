"""Administration: the users (their roles, bank and lock state; adding one with a first
password, an admin's password reset, unlocking), the audit log of every sign-in and
every change (auditors and admins), and the policy: the national eras, the locality's
overrides and the rules in force today, with an admin's load of an overrides file."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.utils import secure_filename
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ledger.clock import business_today
from ledger.errors import FilterError, LedgerError
from ledger.fund import access, policy
from ledger.fund.reference import Role, add_user, banks
from ledger.money import format_percent, format_yuan
from web.authz import BUREAU, action, allow
from web.database import reading, write
from web.i18n import message
from web.views.common import date_arg, int_arg, text_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: The roles a user may hold (the scheduler's ``system`` is no user's).
USER_ROLES = (Role.CLERK, Role.APPROVER, Role.BANK, Role.AUDITOR, Role.ADMIN)


def role_labels() -> dict[str, str]:
    return {
        "clerk": _("clerk"), "approver": _("approver"), "bank": _("partner bank"),
        "auditor": _("auditor"), "admin": _("administrator"),
    }  # fmt: skip


# ------------------------------------------------------------------------------ users


class UserForm(FlaskForm):
    username = StringField(
        _l("User name"), validators=[DataRequired(_l("Enter a user name.")), Length(max=60)]
    )
    name = StringField(_l("Name"), validators=[Length(max=100)])
    roles = SelectMultipleField(
        _l("Roles"), choices=[], option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False), validate_choice=False,
    )  # fmt: skip
    bank = SelectField(_l("Bank"), choices=[], validate_choice=False)
    password = PasswordField(
        _l("First password"),
        validators=[DataRequired(_l("Enter a first password.")), Length(max=200)],
    )


class ResetForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password.")), Length(max=200)],
    )


def _user_form(bank_list, posted: bool) -> UserForm:
    form = UserForm(prefix="new") if posted else UserForm(prefix="new", formdata=None)
    form.roles.choices = [(str(r), role_labels()[str(r)]) for r in USER_ROLES]
    form.bank.choices = [("", _("None"))] + [(b.code, f"{b.name} ({b.code})") for b in bank_list]
    return form


def _users_page(form: UserForm | None = None, reset: tuple[str, ResetForm] | None = None,
                status: int = 200):  # fmt: skip
    with reading() as s:
        users = access.accounts(s, actor=current_user.principal)
        bank_list = banks(s)
    return render_template(
        "admin/users.html", users=users, form=form or _user_form(bank_list, False),
        reset_for=reset[0] if reset else None, reset_form=reset[1] if reset else ResetForm(
            formdata=None),
        roles=role_labels(),
    ), status  # fmt: skip


@bp.get("/users")
@allow(Role.ADMIN)
def users():
    return _users_page()


@bp.post("/users")
@action("user.manage")
def add():
    with reading() as s:
        bank_list = banks(s)
    form = _user_form(bank_list, True)
    if form.validate_on_submit():
        username = form.username.data.strip()

        def work(s):
            # The user and their first password are one change: never a user left
            # without a way to sign in.
            add_user(
                s, username, form.name.data or "", form.roles.data or [],
                actor=current_user.principal, bank=form.bank.data or None,
            )  # fmt: skip
            access.set_initial_passwords(
                s, [username], form.password.data, actor=current_user.principal,
                must_change=True, address=request.remote_addr,
            )  # fmt: skip

        try:
            write(work)
        except LedgerError as error:
            _field(form, error).errors.append(message(error))
        else:
            done = _("User %(name)s added: they must change the first password when they first "
                     "sign in.", name=username)  # fmt: skip
            flash(done, "ok")
            return redirect(url_for(".users"))
    return _users_page(form, status=422)


def _field(form: UserForm, error: LedgerError):
    """The field a refusal of a new user concerns."""
    text = str(error)
    if getattr(error, "code", "") == "password-policy":
        return form.password
    if "role" in text:
        return form.roles
    if "bank" in text:
        return form.bank
    if text.startswith("a name"):
        return form.name
    return form.username


@bp.post("/users/<username>/password")
@action("user.manage")
def reset_password(username: str):
    form = ResetForm()
    if form.validate_on_submit():
        try:
            write(
                lambda s: access.set_password(
                    s, username, form.password.data, actor=current_user.principal,
                    address=request.remote_addr,
                )
            )  # fmt: skip
        except LedgerError as error:
            form.password.errors.append(message(error))
        else:
            flash(_("The password of %(name)s was reset: they must change it at their next "
                    "sign-in.", name=username), "ok")  # fmt: skip
            return redirect(url_for(".users"))
    return _users_page(reset=(username, form), status=422)


@bp.post("/users/<username>/unlock")
@action("user.manage")
def unlock(username: str):
    try:
        write(
            lambda s: access.unlock(
                s, username, actor=current_user.principal, address=request.remote_addr
            )
        )
    except LedgerError as error:
        flash(message(error), "error")
        return _users_page(status=422)
    flash(_("User %(name)s unlocked.", name=username), "ok")
    return redirect(url_for(".users"))


# ------------------------------------------------------------------------------ audit log


@bp.get("/audit")
@allow(Role.AUDITOR, Role.ADMIN)
def audit():
    error = page = None
    with reading() as s:
        try:
            page = access.read_audit(
                s, actor=current_user.principal, who=text_arg("who"), action=text_arg("action"),
                target=text_arg("target"), outcome=text_arg("outcome"),
                since=date_arg("from", _("From")), until=date_arg("to", _("To")),
                before=int_arg("before"), limit=50,
            )  # fmt: skip
        except FilterError as exc:
            error = exc
    return render_template("admin/audit.html", page=page, error=error), 400 if error else 200


# ------------------------------------------------------------------------------ policy


@dataclass(frozen=True)
class Override:
    id: int
    effective_from: dt.date
    note: str
    lines: tuple[tuple[str, str], ...]
    recorded_by: str
    recorded_at: dt.datetime


def _value(unit: str, value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(_value(unit, v) for v in value) or "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        if unit == "_fen":
            return format_yuan(value)
        if unit == "_ppm":
            return format_percent(value)
        if unit == "_bp":
            return f"{value} bp"
    return str(value)


def policy_lines(params, prefix: str = "") -> tuple[tuple[str, str], ...]:
    """Parameters one a line, nested tables as dotted paths, each value in its unit."""
    lines: list[tuple[str, str]] = []
    for key in sorted(params):
        value, path = params[key], f"{prefix}{key}"
        if hasattr(value, "items"):
            lines += policy_lines(value, f"{path}.")
        else:
            lines.append((path, _value(policy.value_unit(path), value)))
    return tuple(lines)


class PolicyForm(FlaskForm):
    file = FileField(_l("Overrides file (TOML)"))
    backdated = BooleanField(_l("Backdated: the bureau records its rules with their real dates"))


def _policy_page(form: PolicyForm | None = None, status: int = 200):
    today = business_today()
    with reading() as s:
        in_force = policy.rules_on(s, today)
        overrides = tuple(
            Override(o.id, o.effective_from, o.note, policy_lines(o.params), o.recorded_by,
                     o.recorded_at)
            for o in policy.overrides(s)
        )  # fmt: skip
    eras = tuple((era, policy_lines(era.params)) for era in policy.national_eras())
    return render_template(
        "admin/policy.html", today=today, rules=in_force, rule_lines=policy_lines(in_force.params),
        eras=eras, overrides=overrides, form=form or PolicyForm(formdata=None),
    ), status  # fmt: skip


@bp.get("/policy")
@allow(*BUREAU)
def policy_index():
    return _policy_page()


@bp.post("/policy")
@action("policy.load")
def load_policy():
    form = PolicyForm()
    upload = form.file.data if form.validate_on_submit() else None
    if not upload or not getattr(upload, "filename", ""):
        form.file.errors.append(_("Choose an overrides file."))
        return _policy_page(form, 422)
    name = secure_filename(upload.filename) or "policy.toml"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        upload.save(path)
        try:
            overrides = policy.load_overrides_file(path)

            def work(s):
                return [
                    policy.record_override(
                        s, effective_from=day, params=params, actor=current_user.principal,
                        note=note, backdated=form.backdated.data,
                    ).effective_from
                    for day, params, note in overrides
                ]  # fmt: skip

            days = write(work)
        except LedgerError as error:
            form.file.errors.append(message(error).replace(str(path), upload.filename))
            return _policy_page(form, 422)
    flash(_("%(n)s overrides recorded, in force from %(days)s.", n=len(days),
            days=", ".join(d.isoformat() for d in days)), "ok")  # fmt: skip
    return redirect(url_for(".policy_index"))
