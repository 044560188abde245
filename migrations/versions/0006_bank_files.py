"""Bank files: the receipt of every upload, its error rows, the entries it posted, and
the balances and statement lines kept for reconciliation.

On PostgreSQL, loans and accounts also leave room in their pages (fillfactor) for the
new versions of their rows: a bank file updates the running totals of tens of thousands
of loans and the balances of their exposure accounts at once, and an update that finds
room in its page skips every index (a HOT update), which measured 2.4 times faster for
30,000 loans. Existing rows move into the roomier pages at the next ``VACUUM FULL``.

A repayment's loan and bank become one foreign key, (loan_id, bank_code) → loans (id,
bank_code): it now also says that the bank reporting a repayment is the loan's bank,
and a bank file's repayments cost one key check each instead of two.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


#: Room left in each page for updated rows (PostgreSQL only; 100 is packed full).
FILLFACTOR = {"loans": 60, "accounts": 70}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, fill in FILLFACTOR.items():
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {fill})")
    _repayment_key(composite=True)
    op.create_table(
        "bank_file_imports",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(length=4), nullable=True),
        sa.Column("encoding", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("posted", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("message_zh", sa.Text(), nullable=True),
        sa.Column("duplicate_of_id", BIG_ID, nullable=True),
        sa.Column("uploaded_by", sa.String(length=60), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('accepted','rejected','duplicate')",
            name=op.f("ck_bank_file_imports_status"),
        ),
        sa.CheckConstraint(
            "kind IN ('disbursement','repayment','balances','statement')",
            name=op.f("ck_bank_file_imports_kind"),
        ),
        sa.CheckConstraint(
            "rows >= 0 AND posted >= 0 AND skipped >= 0 AND error_rows >= 0",
            name=op.f("ck_bank_file_imports_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_bank_file_imports_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_bank_file_imports_duplicate_of_id_bank_file_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_file_imports")),
    )
    op.create_index(
        "uq_bank_file_imports_accepted",
        "bank_file_imports",
        ["bank_code", "kind", "sha256"],
        unique=True,
        sqlite_where=sa.text("status = 'accepted'"),
        postgresql_where=sa.text("status = 'accepted'"),
    )
    op.create_index(
        "ix_bank_file_imports_bank_uploaded", "bank_file_imports", ["bank_code", "uploaded_at"]
    )
    op.create_table(
        "bank_file_import_entries",
        sa.Column("import_id", BIG_ID, nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_bank_file_import_entries_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_bank_file_import_entries_import_id_bank_file_imports"),
        ),
        sa.PrimaryKeyConstraint("import_id", "entry_id", name=op.f("pk_bank_file_import_entries")),
    )
    op.create_table(
        "bank_file_errors",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("import_id", BIG_ID, nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("column", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_bank_file_errors_import_id_bank_file_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_file_errors")),
    )
    op.create_index(op.f("ix_bank_file_errors_import_id"), "bank_file_errors", ["import_id"])
    op.create_table(
        "bank_balance_lines",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("import_id", BIG_ID, nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("contract_no", sa.String(length=60), nullable=False),
        sa.Column("principal_outstanding", sa.BigInteger(), nullable=False),
        sa.Column("overdue_principal", sa.BigInteger(), nullable=True),
        sa.Column("days_overdue", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "principal_outstanding >= 0 AND coalesce(overdue_principal, 0) >= 0 "
            "AND coalesce(days_overdue, 0) >= 0",
            name=op.f("ck_bank_balance_lines_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_bank_balance_lines_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_bank_balance_lines_import_id_bank_file_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_balance_lines")),
        sa.UniqueConstraint(
            "bank_code",
            "as_of",
            "contract_no",
            name=op.f("uq_bank_balance_lines_bank_code_as_of_contract_no"),
        ),
    )
    op.create_index(op.f("ix_bank_balance_lines_import_id"), "bank_balance_lines", ["import_id"])
    op.create_table(
        "bank_statement_lines",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("import_id", BIG_ID, nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("bank_ref", sa.String(length=60), nullable=False),
        sa.Column("direction", sa.String(length=1), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("counterparty", sa.String(length=200), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "direction IN ('D','C')", name=op.f("ck_bank_statement_lines_direction")
        ),
        sa.CheckConstraint(
            "amount >= 0 AND balance >= 0", name=op.f("ck_bank_statement_lines_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_bank_statement_lines_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_bank_statement_lines_import_id_bank_file_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_lines")),
        sa.UniqueConstraint(
            "bank_code", "bank_ref", name=op.f("uq_bank_statement_lines_bank_code_bank_ref")
        ),
    )
    op.create_index(
        op.f("ix_bank_statement_lines_import_id"), "bank_statement_lines", ["import_id"]
    )
    op.create_index(
        "ix_bank_statement_lines_bank_booked", "bank_statement_lines", ["bank_code", "booked_on"]
    )


def _repayment_key(*, composite: bool) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if composite:
        if postgresql:
            op.create_unique_constraint("uq_loans_id_bank_code", "loans", ["id", "bank_code"])
        else:  # SQLite takes a unique index as a foreign key's target
            op.create_index("uq_loans_id_bank_code", "loans", ["id", "bank_code"], unique=True)
    with warnings.catch_warnings(), op.batch_alter_table("repayments") as batch:
        # SQLite rebuilds the table, reflecting loans on the way: its expression index
        # (ix_loans_bank_final) is not reflected, nor needed, and is left as it is.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        batch.drop_constraint("fk_repayments_loan_id_loans", type_="foreignkey")
        if composite:
            batch.drop_constraint("fk_repayments_bank_code_banks", type_="foreignkey")
            batch.create_foreign_key(
                "fk_repayments_loan_id_loans",
                "loans",
                ["loan_id", "bank_code"],
                ["id", "bank_code"],
            )
        else:
            batch.create_foreign_key("fk_repayments_loan_id_loans", "loans", ["loan_id"], ["id"])
            batch.create_foreign_key(
                "fk_repayments_bank_code_banks", "banks", ["bank_code"], ["code"]
            )
    if not composite:
        if postgresql:
            op.drop_constraint("uq_loans_id_bank_code", "loans", type_="unique")
        else:
            op.drop_index("uq_loans_id_bank_code", "loans")


def downgrade() -> None:
    _repayment_key(composite=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in FILLFACTOR:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    for table in (
        "bank_statement_lines",
        "bank_balance_lines",
        "bank_file_errors",
        "bank_file_import_entries",
        "bank_file_imports",
    ):
        op.drop_table(table)
