"""The bureau's own lists (borrowers to register, guarantees to approve) are imported like
a bank's files: their receipts have no bank.

``bank_file_imports.bank_code`` becomes nullable, and a check says that a bank's kinds of
file name a bank and the bureau's name none. A NULL bank is distinct from every other in
the unique index of accepted files, so the bureau's accepted files get their own
(``kind``, ``sha256``).

On SQLite the table is rebuilt (``batch_alter_table``): the rows are copied into a new
table that takes the old one's name. The tables that refer to it (error lines, entries,
balance and statement lines, a duplicate's ``duplicate_of_id``) name it, not its storage,
so their references hold; the rebuild runs with foreign keys off, as SQLite's own
procedure for such changes asks, and ``PRAGMA foreign_key_check`` must find nothing
before it commits.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BANK_KINDS = "'disbursement','repayment','balances','statement'"
BUREAU_KINDS = "kind IN ('borrowers','guarantees')"


def upgrade() -> None:
    op.drop_index("uq_bank_file_imports_accepted", "bank_file_imports")
    with _rebuilding("bank_file_imports") as batch:
        batch.alter_column("bank_code", existing_type=sa.String(length=20), nullable=True)
        batch.drop_constraint(op.f("ck_bank_file_imports_kind"), type_="check")
        batch.create_check_constraint(
            op.f("ck_bank_file_imports_kind"), f"kind IN ({BANK_KINDS},'borrowers','guarantees')"
        )
        batch.create_check_constraint(
            op.f("ck_bank_file_imports_bank"),
            f"({BUREAU_KINDS} AND bank_code IS NULL) "
            f"OR (NOT {BUREAU_KINDS} AND bank_code IS NOT NULL)",
        )
    _accepted_index()
    op.create_index(
        "uq_bank_file_imports_bureau_accepted",
        "bank_file_imports",
        ["kind", "sha256"],
        unique=True,
        sqlite_where=sa.text("status = 'accepted' AND bank_code IS NULL"),
        postgresql_where=sa.text("status = 'accepted' AND bank_code IS NULL"),
    )


def downgrade() -> None:
    # The bureau's receipts have no place in the older table: they go, with their lines.
    bureau = f"SELECT id FROM bank_file_imports WHERE {BUREAU_KINDS}"
    op.execute(f"DELETE FROM bank_file_errors WHERE import_id IN ({bureau})")
    op.execute(f"DELETE FROM bank_file_import_entries WHERE import_id IN ({bureau})")
    op.execute(f"DELETE FROM bank_file_imports WHERE duplicate_of_id IN ({bureau})")
    op.execute(f"DELETE FROM bank_file_imports WHERE {BUREAU_KINDS}")
    op.drop_index("uq_bank_file_imports_bureau_accepted", "bank_file_imports")
    op.drop_index("uq_bank_file_imports_accepted", "bank_file_imports")
    with _rebuilding("bank_file_imports") as batch:
        batch.drop_constraint(op.f("ck_bank_file_imports_bank"), type_="check")
        batch.drop_constraint(op.f("ck_bank_file_imports_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_bank_file_imports_kind"), f"kind IN ({BANK_KINDS})")
        batch.alter_column("bank_code", existing_type=sa.String(length=20), nullable=False)
    _accepted_index()


def _accepted_index() -> None:
    op.create_index(
        "uq_bank_file_imports_accepted",
        "bank_file_imports",
        ["bank_code", "kind", "sha256"],
        unique=True,
        sqlite_where=sa.text("status = 'accepted'"),
        postgresql_where=sa.text("status = 'accepted'"),
    )


def _rebuilding(table: str):
    return op.batch_alter_table(table)
