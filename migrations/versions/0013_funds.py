"""Several funds in one set of books: a district's or county's own fund beside the
city-level fund, and the fund of each capital source, commitment, loan, deposit interest
and account.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: The city-level fund's code: what every row recorded before funds were several holds.
CITY = "CITY"
FUND_TABLES = ("capital_sources", "commitments", "loans", "deposit_interest")


def upgrade() -> None:
    op.create_table(
        "funds",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=False),
        sa.Column("established_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_funds_district_code_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funds")),
        sa.UniqueConstraint("code", name=op.f("uq_funds_code")),
        sa.UniqueConstraint("district_code", name=op.f("uq_funds_district_code")),
    )
    for table in FUND_TABLES:
        op.add_column(
            table,
            sa.Column("fund_code", sa.String(length=20), nullable=False, server_default=CITY),
        )
    op.create_index(op.f("ix_loans_fund_code"), "loans", ["fund_code"])
    op.add_column("accounts", sa.Column("fund", sa.String(length=20), nullable=True))
    op.create_index(op.f("ix_accounts_fund"), "accounts", ["fund"])


def downgrade() -> None:
    op.drop_index(op.f("ix_accounts_fund"), table_name="accounts")
    op.drop_column("accounts", "fund")
    op.drop_index(op.f("ix_loans_fund_code"), table_name="loans")
    for table in FUND_TABLES:
        op.drop_column(table, "fund_code")
    op.drop_table("funds")
