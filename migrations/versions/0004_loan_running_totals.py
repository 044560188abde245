"""Each loan keeps its repaid principal and its latest repayment date as running totals.

A repayment (one, or a bank file of a hundred thousand) then checks the outstanding
principal and the bank's balance-after figure without reading every earlier repayment of
the loan. ``verify`` recomputes both from the repayment rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_EFFECTIVE = """
    FROM repayments r
    WHERE r.loan_id = loans.id AND r.reversal_of_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM repayments x WHERE x.reversal_of_id = r.id)
"""


_CHECK = (
    "CONSTRAINT ck_loans_repaid_principal "
    "CHECK (repaid_principal >= 0 AND repaid_principal <= principal)"
)


def upgrade() -> None:
    # Plain ALTER TABLE on both engines: SQLite takes a CHECK in ADD COLUMN, and no
    # table is rebuilt (other tables' foreign keys point at loans).
    op.execute(f"ALTER TABLE loans ADD COLUMN repaid_principal BIGINT NOT NULL DEFAULT 0 {_CHECK}")
    op.execute("ALTER TABLE loans ADD COLUMN last_paid_on DATE")
    op.execute(
        f"UPDATE loans SET repaid_principal = (SELECT coalesce(sum(r.principal), 0) {_EFFECTIVE}),"
        f" last_paid_on = (SELECT max(r.paid_on) {_EFFECTIVE})"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE loans DROP CONSTRAINT ck_loans_repaid_principal")
    op.execute("ALTER TABLE loans DROP COLUMN last_paid_on")
    op.execute("ALTER TABLE loans DROP COLUMN repaid_principal")
