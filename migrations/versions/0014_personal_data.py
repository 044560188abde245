"""Personal data: a borrower's name and ID number can be corrected, each correction kept
in a history, and erased once the retention period has ended (who and when recorded).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("borrowers") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("erased_by", sa.String(length=60), nullable=True))
    op.create_table(
        "borrower_corrections",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("borrower_id", BIG_ID, nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("old_value", sa.String(length=100), nullable=True),
        sa.Column("new_value", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("corrected_by", sa.String(length=60), nullable=False),
        sa.Column("corrected_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "field IN ('name','id_number')", name=op.f("ck_borrower_corrections_field")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_borrower_corrections_borrower_id_borrowers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borrower_corrections")),
    )
    op.create_index(
        op.f("ix_borrower_corrections_borrower_id"), "borrower_corrections", ["borrower_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_borrower_corrections_borrower_id"), table_name="borrower_corrections")
    op.drop_table("borrower_corrections")
    with op.batch_alter_table("borrowers") as batch:
        batch.drop_column("erased_by")
        batch.drop_column("erased_at")
