"""Reconciliation with the banks: breaks and their history, a district fund's special
account numbers, statement lines matched to fund entries, and a statement line's
optional account number (账号).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TYPES = (
    "type IN ('missing_at_bank','missing_in_fund','amount_differs','status_differs',"
    "'balance_differs','interest_unrecorded','unknown_account')"
)


def upgrade() -> None:
    op.add_column("bank_statement_lines", sa.Column("account_no", sa.String(40), nullable=True))
    op.create_table(
        "recon_breaks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("natural_key", sa.String(300), nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("bank_code", sa.String(20), nullable=False),
        sa.Column("fund_code", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("ref", sa.String(80), nullable=False),
        sa.Column("loan_id", BIG_ID, nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("fund_figure", sa.BigInteger(), nullable=True),
        sa.Column("bank_figure", sa.BigInteger(), nullable=True),
        sa.Column("difference", sa.BigInteger(), nullable=False),
        sa.Column("fund_days", sa.Integer(), nullable=True),
        sa.Column("bank_days", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("detail_zh", sa.Text(), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("last_seen_on", sa.Date(), nullable=False),
        sa.Column("import_id", BIG_ID, nullable=True),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("assignee", sa.String(60), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolved_by_entry_id", BIG_ID, nullable=True),
        sa.Column("resolved_by_import_id", BIG_ID, nullable=True),
        sa.Column("resolved_by_row", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open','explained','resolved')", name=op.f("ck_recon_breaks_status")
        ),
        sa.CheckConstraint(TYPES, name=op.f("ck_recon_breaks_type")),
        sa.CheckConstraint(
            "source IN ('balances','statement')", name=op.f("ck_recon_breaks_source")
        ),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_recon_breaks_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_recon_breaks_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_recon_breaks_import_id_bank_file_imports"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_recon_breaks_resolved_by_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_import_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_recon_breaks_resolved_by_import_id_bank_file_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_breaks")),
        sa.UniqueConstraint("natural_key", name=op.f("uq_recon_breaks_natural_key")),
    )
    op.create_index("ix_recon_breaks_bank_status", "recon_breaks", ["bank_code", "status"])
    op.create_index("ix_recon_breaks_found_on", "recon_breaks", ["found_on"])
    op.create_table(
        "recon_break_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("break_id", BIG_ID, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(60), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("old_status", sa.String(10), nullable=True),
        sa.Column("new_status", sa.String(10), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["break_id"],
            ["recon_breaks.id"],
            name=op.f("fk_recon_break_events_break_id_recon_breaks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_break_events")),
    )
    op.create_index(op.f("ix_recon_break_events_break_id"), "recon_break_events", ["break_id"])
    op.create_table(
        "special_account_numbers",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("bank_code", sa.String(20), nullable=False),
        sa.Column("fund_code", sa.String(20), nullable=False),
        sa.Column("account_no", sa.String(40), nullable=False),
        sa.Column("recorded_by", sa.String(60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_special_account_numbers_bank_code_banks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_special_account_numbers")),
        sa.UniqueConstraint(
            "bank_code", "account_no", name=op.f("uq_special_account_numbers_bank_code_account_no")
        ),
    )
    op.create_table(
        "recon_matches",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("line_id", BIG_ID, nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.Column("how", sa.String(10), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["bank_statement_lines.id"],
            name=op.f("fk_recon_matches_line_id_bank_statement_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_recon_matches_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_matches")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_recon_matches_entry_id")),
    )
    op.create_index(op.f("ix_recon_matches_line_id"), "recon_matches", ["line_id"])


def downgrade() -> None:
    op.drop_table("recon_matches")
    op.drop_table("special_account_numbers")
    op.drop_table("recon_break_events")
    op.drop_table("recon_breaks")
    with op.batch_alter_table("bank_statement_lines") as batch:
        batch.drop_column("account_no")
