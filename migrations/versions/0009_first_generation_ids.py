"""Borrowers keep the 15-digit number of a first-generation card as given, beside the
18-digit form every lookup matches on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("borrowers") as batch:
        batch.add_column(sa.Column("id_number_given", sa.String(length=18), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("borrowers") as batch:
        batch.drop_column("id_number_given")
