"""A period close keeps the hash chain's head it was made at.

``period_closes.chain_seq`` and ``chain_hash``: the chain position the close covers —
every entry dated in the closed period is at or before it. A report for a closed period
(``ledger.reports.anchor``) stands on it, so the report is the same figures against the
same anchor whenever it is produced again. ``ledger.periods.close_period`` seals what
awaits its seal and records the head in the close's own transaction.

Closes made before this revision get the last sealed entry recorded at or before the
close (``closed_at``): an entry dated in a closed period is refused after the close, so
every entry of the period was recorded before it (``fundledger verify`` checks that).
Both columns stay nullable so that adding them is a plain ALTER TABLE on both engines;
every close has them once this revision has run.

Revision ID: 0028
Revises: 0027
Create Date: 2027-01-10
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

#: The SQLite trigger that refuses every update of a close; dropped for the backfill and
#: made again exactly as migration 0001 made it.
SQLITE_REFUSE_UPDATE = """
CREATE TRIGGER fl_periods_before_update BEFORE UPDATE ON period_closes BEGIN
    SELECT RAISE(ABORT, '[immutable] a period close is never changed');
END
"""

BACKFILL = f"""
UPDATE period_closes SET
    chain_seq = coalesce((SELECT max(e.seq) FROM journal_entries e
                           WHERE e.seq IS NOT NULL
                             AND e.recorded_at <= period_closes.closed_at), 0),
    chain_hash = coalesce((SELECT e.hash FROM journal_entries e
                            WHERE e.seq = (SELECT max(f.seq) FROM journal_entries f
                                            WHERE f.seq IS NOT NULL
                                              AND f.recorded_at <= period_closes.closed_at)),
                          '{GENESIS}')
"""


def upgrade() -> None:
    op.execute("ALTER TABLE period_closes ADD COLUMN chain_seq BIGINT")
    op.execute("ALTER TABLE period_closes ADD COLUMN chain_hash VARCHAR(64)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE period_closes DISABLE TRIGGER fl_periods_refuse")
        op.execute(BACKFILL)
        op.execute("ALTER TABLE period_closes ENABLE TRIGGER fl_periods_refuse")
    else:
        op.execute("DROP TRIGGER fl_periods_before_update")
        op.execute(BACKFILL)
        op.execute(SQLITE_REFUSE_UPDATE)


def downgrade() -> None:
    op.execute("ALTER TABLE period_closes DROP COLUMN chain_hash")
    op.execute("ALTER TABLE period_closes DROP COLUMN chain_seq")
