"""Chain marks: how far the hash chain had reached as each transaction that moved it
committed, so that "as recorded at T" follows commit order, not the application's
clock before commit.

Entries of the books before this revision get one mark each, at the latest
``recorded_at`` up to them in chain order: the best the old books can tell. Marks are
append-only on both databases.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

POSTGRESQL_UP = [
    """
CREATE TRIGGER fl_chain_marks_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON chain_marks
    FOR EACH STATEMENT EXECUTE FUNCTION fl_refuse_change()
""",
]

SQLITE_UP = [
    """
CREATE TRIGGER fl_chain_marks_before_update BEFORE UPDATE ON chain_marks BEGIN
    SELECT RAISE(ABORT, '[immutable] a chain mark is never changed');
END
""",
    """
CREATE TRIGGER fl_chain_marks_before_delete BEFORE DELETE ON chain_marks BEGIN
    SELECT RAISE(ABORT, '[immutable] a chain mark is never deleted');
END
""",
]


def upgrade() -> None:
    op.create_table(
        "chain_marks",
        # SQLite: INTEGER, so that seq is the rowid and a mark is one b-tree row.
        sa.Column("seq", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_chain_marks")),
    )
    op.create_index(op.f("ix_chain_marks_marked_at"), "chain_marks", ["marked_at"])
    op.execute(
        "INSERT INTO chain_marks (seq, marked_at) "
        "SELECT seq, max(recorded_at) OVER (ORDER BY seq) FROM journal_entries "
        "WHERE seq IS NOT NULL"
    )
    statements = POSTGRESQL_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f("ix_chain_marks_marked_at"), table_name="chain_marks")
    op.drop_table("chain_marks")
