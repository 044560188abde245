"""Error pages and refusals: a refusal by the books becomes a message in the page's
language (422), a missing object a 404 that says nothing of other banks' data."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _

from ledger.errors import LedgerError
from web.i18n import message


def _page(status: int, title: str, text: str):
    if request.path.startswith("/api/"):
        from web.api.problems import problem

        return problem(status, title, text)
    return render_template("error.html", status=status, title=title, text=text), status


def init_app(app: Flask) -> None:
    @app.errorhandler(403)
    def forbidden(_e):
        return _page(403, _("Not allowed"), _("Your role does not allow this."))

    @app.errorhandler(404)
    def not_found(_e):
        return _page(404, _("Not found"), _("There is nothing at this address."))

    @app.errorhandler(413)
    def too_large(_e):
        return _page(413, _("File too large"), _("The file is larger than the upload limit."))

    @app.errorhandler(LedgerError)
    def refused(error: LedgerError):
        return _page(422, _("Refused"), message(error))
