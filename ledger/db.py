"""Engines, sessions and transactions on SQLite and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` and every transaction starts with
``BEGIN IMMEDIATE``: one writer at a time, so read-then-write checks cannot race.
PostgreSQL runs at the configured isolation level; serialization failures and
deadlocks are retried by :func:`run_in_transaction`.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ledger import config, errors

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How many times a transaction is retried after a serialization failure or deadlock.
MAX_RETRIES = 40
#: Longest pause between two attempts, in seconds (backoff doubles up to it, with jitter).
MAX_BACKOFF = 0.05

_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
#: Unique keys two concurrent transactions may both try to take; the loser runs again and
#: its checks then see the winner's row (an idempotent repeat, or a named refusal). The
#: books' own are here; the layers above add theirs with :func:`register_race_constraints`.
_RACE_CONSTRAINTS = {
    "uq_journal_entries_idempotency_key",
    "uq_journal_entries_reverses_id",
}


def register_race_constraints(*names: str) -> None:
    """Add unique constraints whose violation means "a concurrent transaction took this
    key first": :func:`run_in_transaction` runs the work again, and its checks then see
    the winner's row."""
    _RACE_CONSTRAINTS.update(names)


_TAG = re.compile(r"\[([a-z-]+)\]")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` and ``postgres://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str | None = None, *, isolation_level: str | None = None, **kw) -> Engine:
    """Create an engine for ``url`` (default: :func:`config.database_url`)."""
    url = normalize_url(url or config.database_url())
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 10)
    # No pre-ping: it costs a round trip per transaction. Recycle idle connections instead.
    kw.setdefault("pool_recycle", 1800)
    return create_engine(url, isolation_level=isolation_level or config.isolation_level(), **kw)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA busy_timeout = 60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _is_retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RETRY_SQLSTATES:
        return True
    if sqlstate == "23505":
        # A concurrent transaction took the same key first: run again, and the checks
        # answer with the original or a named error.
        return getattr(exc.orig.diag, "constraint_name", None) in _RACE_CONSTRAINTS
    return "database is locked" in str(exc.orig)


def translate(exc: DBAPIError) -> errors.LedgerError | None:
    """Map a refusal by the database's own triggers and constraints to a named error."""
    # The first line is the refusal itself; PostgreSQL goes on with the key's value
    # (DETAIL) and the statement (LINE), which hold the data and must not be read as tags.
    text = str(exc.orig)
    message = text.splitlines()[0].strip() if text else ""
    match = _TAG.search(message)
    if match:
        tag = match.group(1)
        cls = {
            "unbalanced": errors.UnbalancedEntryError,
            "closed-period": errors.ClosedPeriodError,
            "immutable": errors.ImmutableEntryError,
            "sealed": errors.ImmutableEntryError,
            "group-account": errors.GroupAccountError,
            "period": errors.PeriodError,
            "account": errors.AccountError,
        }.get(tag, errors.DatabaseRefusedError)
        return cls(f"database refused: {message}")
    if "ck_accounts_no_overdraft" in message:
        return errors.OverdraftError(f"database refused: {message}")
    if "ck_postings_amount" in message or "ck_postings_side" in message:
        return errors.EntryError(f"database refused: {message}")
    if "ck_accounts_type" in message or "ck_accounts_normal_side" in message:
        return errors.AccountError(f"database refused: {message}")
    return None


def run_in_transaction(
    factory: sessionmaker[Session], work: Callable[[Session], T], *, retries: int = MAX_RETRIES
) -> T:
    """Run ``work(session)`` in one transaction and commit it.

    Serialization failures and deadlocks roll back and run ``work`` again. A refusal by
    the database's own rules is raised as the matching :class:`errors.LedgerError`.
    Entries that ``work`` left unsealed are sealed by the process's sealer moments after
    the commit, as after any commit (:func:`ledger.chain.note_unsealed`;
    :func:`ledger.chain.drain_sealer` waits for it).
    """
    attempt = 0
    while True:
        attempt += 1
        session = factory()
        try:
            with session.begin():
                result = work(session)
            break
        except DBAPIError as exc:
            session.rollback()
            if _is_retryable(exc) and attempt <= retries:
                log.info("transaction retried after %s (attempt %d)", exc.orig, attempt)
                time.sleep(random.uniform(0, min(MAX_BACKOFF, 0.0005 * 2**attempt)))
                continue
            named = translate(exc)
            if named is not None:
                raise named from exc
            raise
        finally:
            session.close()
    return result


def copy_rows(conn, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Load ``rows`` (values in ``columns`` order) into ``table`` on PostgreSQL by a
    binary ``COPY``: three times a text COPY's speed, the values sent as the columns'
    own types (read from the catalog) with no text to format or parse.

    ``conn`` is a SQLAlchemy connection in the transaction; a database error is raised
    as SQLAlchemy raises any other.
    """
    driver = conn.connection.driver_connection
    dbapi = conn.dialect.loaded_dbapi
    quote = conn.dialect.identifier_preparer.quote  # "column" and "row" are keywords
    statement = f"COPY {table} ({', '.join(quote(c) for c in columns)}) FROM STDIN (FORMAT BINARY)"
    try:
        with driver.cursor() as cursor:
            cursor.execute(
                "SELECT attname, atttypid FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            )
            oids = dict(cursor.fetchall())
            with cursor.copy(statement) as copy:
                copy.set_types([oids[c] for c in columns])
                for row in rows:
                    copy.write_row(row)
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc
