"""A recovery on a written-off loan (账销案存) names the write-off whose losses it
reduces.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place (no table rebuild).
        op.execute(
            "ALTER TABLE recoveries ADD COLUMN after_write_off_id INTEGER "
            "CONSTRAINT fk_recoveries_after_write_off_id_write_offs REFERENCES write_offs (id)"
        )
    else:
        op.add_column("recoveries", sa.Column("after_write_off_id", BIG_ID, nullable=True))
        op.create_foreign_key(
            op.f("fk_recoveries_after_write_off_id_write_offs"),
            "recoveries",
            "write_offs",
            ["after_write_off_id"],
            ["id"],
        )
    op.add_column("recoveries", sa.Column("allocation", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("recoveries", "allocation")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE recoveries DROP COLUMN after_write_off_id")
    else:
        op.drop_constraint(
            op.f("fk_recoveries_after_write_off_id_write_offs"), "recoveries", type_="foreignkey"
        )
        op.drop_column("recoveries", "after_write_off_id")
