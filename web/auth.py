"""Signing in and out, changing one's password, and the session's life: Flask-Login
over ``ledger.fund.access`` (argon2id hashes, throttling, the audit of every attempt).

A session names the user and the moment their password last changed, so changing or
resetting a password ends every other session of that user; a deactivated user is
signed out on their next request. A session idle for ``IDLE_MINUTES`` ends.
"""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ledger.fund import access
from ledger.fund.errors import FundError
from ledger.fund.models import User
from ledger.fund.reference import roles_of
from ledger.principal import Principal
from web.authz import allow, public
from web.database import reading, write
from web.i18n import message

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class WebUser(UserMixin):
    """The signed-in user of a request: their principal, name and roles."""

    def __init__(self, principal: Principal, name: str, stamp: str, must_change: bool):
        self.principal = principal
        self.username = str(principal)
        self.roles = principal.roles
        self.bank = principal.bank
        self.name = name
        self.stamp = stamp
        self.must_change_password = must_change

    def get_id(self) -> str:
        return f"{self.username}|{self.stamp}"

    def has(self, *roles) -> bool:
        return self.principal.has(*roles)


def _stamp(user: User) -> str:
    return user.password_changed_at.isoformat() if user.password_changed_at else ""


@login_manager.user_loader
def _load(user_id: str) -> WebUser | None:
    username, _sep, stamp = user_id.partition("|")
    with reading() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.active or _stamp(user) != stamp:
            return None
        principal = Principal(user.username, roles_of(user), user.bank_code)
        return WebUser(principal, user.name, stamp, user.must_change_password)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)
    app.before_request(_idle_and_password)


def _idle_and_password():
    if not current_user.is_authenticated:
        return None
    now = time.time()
    seen = session.get("seen")
    idle = current_app.permanent_session_lifetime.total_seconds()
    if seen is not None and now - seen > idle:
        logout_user()
        session.clear()
        flash(_("You were signed out after a period of inactivity."), "info")
        return redirect(url_for("auth.login", next=request.full_path))
    session["seen"] = now
    session.permanent = True
    if current_user.must_change_password and request.endpoint not in (
        "auth.password", "auth.logout", "static", "i18n.language",
    ):  # fmt: skip
        return redirect(url_for("auth.password"))
    return None


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        outcome = write(
            lambda s: access.sign_in(
                s, form.username.data.strip(), form.password.data, address=request.remote_addr
            )
        )
        if outcome.ok:
            with reading() as s:
                user = s.scalar(select(User).where(User.username == outcome.principal))
                web_user = WebUser(
                    outcome.principal, user.name, _stamp(user), user.must_change_password
                )
            session.clear()
            login_user(web_user)
            session["seen"] = time.time()
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(message(outcome.error))
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 401


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("dashboard.index")


@bp.post("/logout")
@allow()
def logout():
    username = current_user.username
    write(lambda s: access.sign_out(s, username, address=request.remote_addr))
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@allow()
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        username = current_user.username
        try:
            write(
                lambda s: access.set_password(
                    s, username, form.new.data, actor=current_user.principal,
                    current=form.current.data, address=request.remote_addr,
                )
            )  # fmt: skip
        except FundError as error:
            field = form.current if error.code == "wrong-password" else form.new
            field.errors.append(message(error))
        else:
            logout_user()
            session.clear()
            flash(_("Your password was changed. Sign in with the new one."), "info")
            return redirect(url_for("auth.login"))
    return render_template("auth/password.html", form=form)
