"""Alembic environment: the connection comes from ``fundledger init`` (or DATABASE_URL).

On SQLite a change that alters an existing table rebuilds it (``batch_alter_table``):
the rows move to a new table that then takes the old one's name. Dropping the old table
while other tables' rows refer to it is refused with foreign keys on, so migrations run
with them off, as SQLite's own procedure for such changes asks, and each migration's
transaction commits only if ``PRAGMA foreign_key_check`` then finds no row whose
reference points nowhere. Foreign keys are back on before the connection is handed back.
"""

from alembic import context

from ledger.db import make_engine
from ledger.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, False)
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            transaction_per_migration=True,
            on_version_apply=[_check_foreign_keys] if sqlite else [],
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()
            _sqlite_foreign_keys(connection, True)


def _sqlite_foreign_keys(connection, on: bool) -> None:
    """Switch SQLite's foreign keys (a no-op inside a transaction, so done on the driver's
    connection between transactions). A connection they cannot be switched back on for
    is discarded, never handed back to the pool without them."""
    raw = connection.connection.dbapi_connection
    if not raw.in_transaction:
        raw.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    if raw.execute("PRAGMA foreign_keys").fetchone()[0] != int(on):
        if on:
            connection.invalidate()
            return
        raise RuntimeError("cannot switch SQLite's foreign keys off for the migrations")


def _check_foreign_keys(ctx, step, heads, run_args) -> None:
    """Refuse to commit a migration that leaves a reference pointing nowhere."""
    broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        shown = ", ".join(f"{table} row {row} → {parent}" for table, row, parent, _ in broken[:5])
        raise RuntimeError(
            f"migration {step.up_revision_id} leaves {len(broken)} row(s) whose foreign key "
            f"points nowhere: {shown}"
        )


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `fundledger init`")
run_migrations_online()
