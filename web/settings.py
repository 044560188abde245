"""The web application's configuration: defaults a bureau's intranet can run with,
then ``FUNDLEDGER_*`` environment variables, then what ``create_app`` is given.

``FUNDLEDGER_SECRET_KEY``
    Signs the session cookie. Default: a random key kept in ``instance/secret_key``
    (written on first start, readable by its owner only), so sessions survive a restart.
``FUNDLEDGER_SESSION_COOKIE_SECURE``
    ``true`` (default): the session cookie travels over HTTPS only (browsers also send
    it to ``http://127.0.0.1`` and ``http://localhost``). Set ``false`` only behind a
    proxy that terminates TLS and forwards plain HTTP from another host.
``FUNDLEDGER_IDLE_MINUTES``
    Minutes of inactivity after which a user is signed out (default 30).
``DATABASE_URL``
    The books, as for the command line (``ledger.config``).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import Flask

from ledger import config as ledger_config

DEFAULTS = {
    "SESSION_COOKIE_NAME": "fundledger_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_REFRESH_EACH_REQUEST": True,
    "IDLE_MINUTES": 30,
    # The CSRF token lives as long as the session it is bound to.
    "WTF_CSRF_TIME_LIMIT": None,
    # A bank's largest file (100,000 rows of CSV are about 12 MB).
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    "BABEL_DEFAULT_LOCALE": "zh",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ("zh", "en"),
    # Uploads with more data rows than this are imported by the scheduler's worker.
    "BACKGROUND_ROWS": 2_000,
    "PAGE_SIZE": 50,
}


def configure(app: Flask, overrides: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config["DATABASE_URL"] = ledger_config.database_url()
    app.config["UPLOAD_FOLDER"] = str(Path(app.instance_path) / "uploads")
    app.config.from_prefixed_env("FUNDLEDGER")
    if overrides:
        app.config.update(overrides)
    app.permanent_session_lifetime = dt.timedelta(minutes=int(app.config["IDLE_MINUTES"]))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _stored_secret(Path(app.instance_path) / "secret_key")


def _stored_secret(path: Path) -> str:
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under another name, then linked into place: several web processes
    # starting at once agree on the first key linked and never read a half-written one.
    key = secrets.token_hex(32)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key)
    try:
        os.link(draft, path)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
    finally:
        draft.unlink()
    return key
