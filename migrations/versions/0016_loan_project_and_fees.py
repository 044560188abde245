"""A guarantee records the project a loan is for (micro-profit or not) and its trade, on
which the interest subsidy of the 2002 and 2008 rules depends; guarantee fees (担保费) the
fund receives are recorded as its income.

Commitments approved before keep both empty ("not recorded").

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PROJECT_KINDS = "project_kind IN ('micro_profit','other')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its check in place (no table rebuild).
        op.execute(
            "ALTER TABLE commitments ADD COLUMN project_kind VARCHAR(20) "
            f"CONSTRAINT ck_commitments_project_kind CHECK ({PROJECT_KINDS})"
        )
    else:
        op.add_column("commitments", sa.Column("project_kind", sa.String(20), nullable=True))
        op.create_check_constraint(
            op.f("ck_commitments_project_kind"), "commitments", PROJECT_KINDS
        )
    op.add_column("commitments", sa.Column("trade", sa.String(40), nullable=True))
    op.create_table(
        "guarantee_fees",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("payer", sa.String(length=20), nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=True),
        sa.Column("fund_code", sa.String(length=20), nullable=False, server_default="CITY"),
        sa.Column("allocation", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_guarantee_fees_amount")),
        sa.CheckConstraint("period_to >= period_from", name=op.f("ck_guarantee_fees_period")),
        sa.CheckConstraint(
            "payer IN ('finance_bureau','borrower')", name=op.f("ck_guarantee_fees_payer")
        ),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_guarantee_fees_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_guarantee_fees_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantee_fees")),
        sa.UniqueConstraint("reference", name=op.f("uq_guarantee_fees_reference")),
    )


def downgrade() -> None:
    op.drop_table("guarantee_fees")
    op.drop_column("commitments", "trade")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE commitments DROP COLUMN project_kind")
    else:
        op.drop_constraint(op.f("ck_commitments_project_kind"), "commitments", type_="check")
        op.drop_column("commitments", "project_kind")
