"""The bank files that have been reconciled, so the reconcile job takes exactly those
that have not, whatever the hour they came.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reconciled_files",
        sa.Column("import_id", BIG_ID, nullable=False),
        sa.Column("reconciled_at", sa.DateTime(), nullable=False),
        sa.Column("reconciled_by", sa.String(60), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_reconciled_files_import_id_bank_file_imports"),
        ),
        sa.PrimaryKeyConstraint("import_id", name=op.f("pk_reconciled_files")),
    )
    # The files reconciled before this table existed: every accepted balances and
    # statement file that a break or a match points at.
    op.execute(
        "INSERT INTO reconciled_files (import_id, reconciled_at, reconciled_by, findings) "
        "SELECT i.id, i.uploaded_at, 'system', 0 FROM bank_file_imports i "
        "WHERE i.kind IN ('balances', 'statement') AND i.status = 'accepted' AND ("
        "EXISTS (SELECT 1 FROM recon_breaks b WHERE b.import_id = i.id) OR "
        "EXISTS (SELECT 1 FROM recon_matches m JOIN bank_statement_lines l "
        "ON l.id = m.line_id WHERE l.import_id = i.id))"
    )


def downgrade() -> None:
    op.drop_table("reconciled_files")
