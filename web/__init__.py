"""The web application: bureau staff, partner banks and auditors work in a browser, in
Chinese (English by a switch), over the same operations and read functions the command
line calls. Views stay thin: each authorises (``web.authz``), calls one function of
``ledger`` and renders the values it returns.

``create_app`` reads top to bottom: configuration, the books, the extensions (CSRF,
translations, sign-in), one blueprint per area, error pages, and the check that every
route says who may reach it.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from ledger.config import instance_path

csrf = CSRFProtect()


def create_app(config: dict | None = None) -> Flask:
    from web import audit, auth, authz, database, errors, formatting, i18n, navigation, settings
    from web.api import bp as api
    from web.views import admin, books, capital, dashboard, files, loans, operations, recon

    app = Flask(__name__, instance_path=str(instance_path()))
    settings.configure(app, config)
    database.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    formatting.init_app(app)
    navigation.init_app(app)
    audit.init_app(app)
    for blueprint in (
        dashboard.bp,
        capital.bp,
        loans.bp,
        operations.bp,
        files.bp,
        recon.bp,
        books.bp,
        admin.bp,
        api,
    ):
        app.register_blueprint(blueprint)
    errors.init_app(app)
    app.jinja_env.globals.update(can=authz.can, reachable=authz.reachable)
    authz.check_every_endpoint(app)
    return app
