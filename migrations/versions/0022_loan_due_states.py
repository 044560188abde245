"""Each loan's first unpaid installment, kept with the running totals it was worked out
from: the loans overdue on a date are then an indexed range of it, not a scan of every
stored installment.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loan_due_states",
        sa.Column("loan_id", BIG_ID, nullable=False),
        sa.Column("repaid_principal", sa.BigInteger(), nullable=False),
        sa.Column("repaid_interest", sa.BigInteger(), nullable=False),
        sa.Column("unpaid_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_due_states_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_loan_due_states")),
    )
    op.create_index(op.f("ix_loan_due_states_unpaid_since"), "loan_due_states", ["unpaid_since"])


def downgrade() -> None:
    op.drop_index(op.f("ix_loan_due_states_unpaid_since"), table_name="loan_due_states")
    op.drop_table("loan_due_states")
