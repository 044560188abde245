"""One suite, two databases: ``TEST_DATABASE_URL`` chooses.

Unset or ``sqlite``: every test gets a copy of a migrated SQLite file. A PostgreSQL URL
(e.g. ``postgresql://postgres@127.0.0.1:5432/test``) names a server and a database to
connect to; the suite creates a scratch database beside it, migrates it once, empties it
before each test and drops it at the end. An unreachable PostgreSQL fails the run: it
never silently skips.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from ledger import migrate
from ledger.accounts import ensure_accounts
from ledger.bankfiles.models import BANKFILE_TABLES
from ledger.chain import drain_sealer
from ledger.db import make_engine, normalize_url, session_factory
from ledger.demo.city import city_chart
from ledger.fund.models import FUND_TABLES
from ledger.ops.models import OPS_TABLES
from ledger.recon.models import RECON_TABLES

TABLES = (
    *OPS_TABLES,
    *RECON_TABLES,
    *BANKFILE_TABLES,
    "api_tokens",
    "idempotency_keys",
    *FUND_TABLES,
    "audit_log",
    "postings",
    "journal_entries",
    "period_closes",
    "chain_marks",
    "accounts",
)


def _backend() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "sqlite").strip()
    return "sqlite" if url in ("", "sqlite") else url


def pytest_report_header(config):
    backend = _backend()
    if backend == "sqlite":
        return "fundledger test database: SQLite (temporary files)"
    return f"fundledger test database: {make_url(normalize_url(backend)).render_as_string()}"


def pytest_collection_modifyitems(config, items):
    if _backend() == "sqlite":
        skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL")
        for item in items:
            if "postgresql_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    backend = _backend()
    if backend == "sqlite":
        template = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        migrate.upgrade(engine)
        engine.dispose()
        yield ("sqlite", template)
        return
    server = make_url(normalize_url(backend))
    name = f"fl_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # an unreachable server must fail the run, never skip it
        pytest.exit(f"PostgreSQL at {server.render_as_string()} is unavailable: {exc}", 3)
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield ("postgresql", url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(database_url, tmp_path):
    """URL of an empty, migrated database for this test."""
    kind, where = database_url
    if kind == "sqlite":
        path = tmp_path / "books.db"
        shutil.copyfile(where, path)
        return f"sqlite:///{path}"
    _empty_postgresql(where)
    return where


def _empty_postgresql(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        # Triggers refuse TRUNCATE of the books; replica mode switches them off for the reset.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY"))
        conn.execute(text("ALTER SEQUENCE journal_entries_id_seq RESTART"))
        conn.execute(text(f"UPDATE ledger_head SET seq = 0, hash = '{'0' * 64}'"))
    engine.dispose()


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    # No sealing pass of this test may run into the next test's reset of the database.
    assert drain_sealer(engine)
    engine.dispose()


@pytest.fixture
def factory(engine):
    return session_factory(engine)


@pytest.fixture
def session(factory):
    with factory() as session:
        yield session


@pytest.fixture
def chart(factory):
    """The demo city's chart of accounts, opened and committed."""
    with factory() as session, session.begin():
        ensure_accounts(session, city_chart())
    return factory


@contextmanager
def selects(factory):
    """The SELECTs run on the factory's engine inside the block, as a list filled as they
    run. The PostgreSQL sealer (which reads on the same engine) is drained first."""
    engine = factory.kw["bind"]
    assert drain_sealer(engine)
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
