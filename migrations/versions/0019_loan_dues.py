"""Each loan's installments with what is due through each, stored for the overdue
position of every loan in one query (loan-level reconciliation, ageing).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loan_dues",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("loan_id", BIG_ID, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("cum_principal", sa.BigInteger(), nullable=False),
        sa.Column("cum_interest", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_dues_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_dues")),
        sa.UniqueConstraint("loan_id", "n", name=op.f("uq_loan_dues_loan_id_n")),
    )


def downgrade() -> None:
    op.drop_table("loan_dues")
