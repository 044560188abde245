"""Rule sets stored once: commitments and loans point at the frozen rule set of their date.

Every commitment and loan used to carry its own copy of the rule set (about 1.1 kB of
JSON), so each repayment that updated a loan's running totals rewrote that copy: at
100,000 loans the loans table grew to 1.1 GB on PostgreSQL. A rule set is now stored
once in ``rule_sets`` under the SHA-256 of its canonical JSON (``RuleSet.fingerprint``),
and is never changed. Also two indexes for the per-bank figures the leverage cap and the
suspension check read: loans by bank and final maturity, and by bank and disbursement.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import datetime as dt
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_sets")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_rule_sets_fingerprint")),
    )
    for table in ("commitments", "loans"):
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN rule_set_id BIGINT "
            f"CONSTRAINT fk_{table}_rule_set_id_rule_sets REFERENCES rule_sets (id)"
        )
    bind = op.get_bind()
    texts = set()
    for table in ("commitments", "loans"):
        texts.update(bind.execute(sa.text(f"SELECT DISTINCT rules FROM {table}")).scalars())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for rules in sorted(texts):
        fingerprint = hashlib.sha256(rules.encode("utf-8")).hexdigest()
        bind.execute(
            sa.text("INSERT INTO rule_sets (fingerprint, rules, created_at) VALUES (:f, :r, :t)"),
            {"f": fingerprint, "r": rules, "t": now},
        )
    for table in ("commitments", "loans"):
        op.execute(
            f"UPDATE {table} SET rule_set_id = "
            f"(SELECT r.id FROM rule_sets r WHERE r.rules = {table}.rules)"
        )
        op.execute(f"ALTER TABLE {table} DROP COLUMN rules")
    op.create_index(
        "ix_loans_bank_final", "loans", ["bank_code", sa.text("coalesce(extended_to, maturity_on)")]
    )
    op.create_index("ix_loans_bank_disbursed", "loans", ["bank_code", "disbursed_on"])


def downgrade() -> None:
    op.drop_index("ix_loans_bank_disbursed", "loans")
    op.drop_index("ix_loans_bank_final", "loans")
    for table in ("commitments", "loans"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN rules TEXT")
        op.execute(
            f"UPDATE {table} SET rules = "
            f"(SELECT r.rules FROM rule_sets r WHERE r.id = {table}.rule_set_id)"
        )
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_rule_set_id_rule_sets")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN rules SET NOT NULL")
        op.execute(f"ALTER TABLE {table} DROP COLUMN rule_set_id")
    op.drop_table("rule_sets")
