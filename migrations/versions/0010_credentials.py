"""Credentials: a re-employment certificate (再就业优惠证) is a record of one person —
number, issuing office, issue date, status — that the rules of an era can require
before a guarantee.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("borrower_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoked_by", sa.String(length=60), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), nullable=True),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('valid','revoked')", name=op.f("ck_credentials_status")),
        sa.CheckConstraint(
            "kind IN ('reemployment_certificate')", name=op.f("ck_credentials_kind")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_credentials_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("kind", "number", name=op.f("uq_credentials_kind_number")),
    )
    op.create_index(op.f("ix_credentials_borrower_id"), "credentials", ["borrower_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_credentials_borrower_id"), table_name="credentials")
    op.drop_table("credentials")
