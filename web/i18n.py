"""Languages: Simplified Chinese by default, English by a switch kept in the session.

Messages are written in English in the code and templates and translated in
``web/translations/zh/LC_MESSAGES/messages.po`` (compiled to ``messages.mo``, which a
test keeps in step with the ``.po``). A refusal from the books carries its own Chinese
(``error.zh``); :func:`message` picks it or the English text."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, request, session
from flask_babel import Babel, get_locale, get_translations

from web.authz import public

bp = Blueprint("i18n", __name__)
babel = Babel()


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in current_app.config["LANGUAGES"] else "zh"


def _translations():
    """The request's catalog, looked up once a request: a page asks for a hundred
    messages, and Flask-Babel finds the catalog anew for each."""
    if not has_request_context():
        return get_translations()
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.register_blueprint(bp)
    app.jinja_env.globals["current_language"] = lambda: str(get_locale())


def chinese() -> bool:
    return str(get_locale()) == "zh"


def message(error) -> str:
    """A refusal's text in the page's language."""
    zh = getattr(error, "zh", None)
    return zh if zh and chinese() else str(error)


@bp.get("/language/<code>")
@public
def language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.args.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return redirect(target)
