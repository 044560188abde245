"""Matching commitments carry a due date: money not paid by then shows as overdue per
source and per county.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("capital_sources", sa.Column("committed_due_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("capital_sources") as batch:
        batch.drop_column("committed_due_on")
