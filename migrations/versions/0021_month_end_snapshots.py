"""Month-end snapshots: the trial balance and the month's fund statement as month-end
prepared them, with the hash chain's head at that moment.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "month_end_snapshots",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(), nullable=False),
        sa.Column("prepared_by", sa.String(60), nullable=False),
        sa.Column("chain_seq", sa.BigInteger(), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
        sa.Column("trial_balance", sa.Text(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("open_breaks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_end_snapshots")),
        sa.UniqueConstraint("month", name=op.f("uq_month_end_snapshots_month")),
    )


def downgrade() -> None:
    op.drop_table("month_end_snapshots")
