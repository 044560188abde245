"""The guarantee fund: reference data, borrowers, policy overrides, commitments, loans,
repayments, extensions, counter-guarantees, claims, recoveries, write-offs, deposit interest.

Money columns are integer fen with CHECK constraints; a loan has at most one claim that
is not rejected and a claim at most one write-off that is not rejected (partial unique
indexes, on both engines).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("special_account_no", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banks")),
        sa.UniqueConstraint("code", name=op.f("uq_banks_code")),
    )
    op.create_table(
        "districts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
        sa.UniqueConstraint("code", name=op.f("uq_districts_code")),
    )
    op.create_table(
        "policy_overrides",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_overrides")),
        sa.UniqueConstraint("effective_from", name=op.f("uq_policy_overrides_effective_from")),
    )
    op.create_table(
        "borrowers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=False),
        sa.Column("borrower_type", sa.String(length=20), nullable=False),
        sa.Column("head_count", sa.Integer(), nullable=False),
        sa.Column("categories", sa.String(length=400), nullable=False),
        sa.Column("registered_by", sa.String(length=60), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "borrower_type IN ('individual','partnership','small_enterprise')",
            name=op.f("ck_borrowers_type"),
        ),
        sa.CheckConstraint("sex IN ('M','F')", name=op.f("ck_borrowers_sex")),
        sa.CheckConstraint("head_count >= 1", name=op.f("ck_borrowers_head_count")),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_borrowers_district_code_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borrowers")),
        sa.UniqueConstraint("id_number", name=op.f("uq_borrowers_id_number")),
    )
    op.create_index(
        op.f("ix_borrowers_district_code"), "borrowers", ["district_code"], unique=False
    )
    op.create_table(
        "capital_sources",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=True),
        sa.Column("committed", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('provincial','city','district','other')", name=op.f("ck_capital_sources_kind")
        ),
        sa.CheckConstraint(
            "committed IS NULL OR committed >= 0", name=op.f("ck_capital_sources_committed")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_capital_sources_district_code_districts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capital_sources")),
        sa.UniqueConstraint("code", name=op.f("uq_capital_sources_code")),
    )
    op.create_table(
        "deposit_interest",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=False),
        sa.Column("credited_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("bank_ref", sa.String(length=60), nullable=False),
        sa.Column("allocation", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_deposit_interest_amount")),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_deposit_interest_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_deposit_interest_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_interest")),
        sa.UniqueConstraint(
            "bank_code", "bank_ref", name=op.f("uq_deposit_interest_bank_code_bank_ref")
        ),
    )
    op.create_index(
        op.f("ix_deposit_interest_bank_code"), "deposit_interest", ["bank_code"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("roles", sa.String(length=100), nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_users_bank_code_banks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "capital_allocations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_code", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=60), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending','approved','rejected')",
            name=op.f("ck_capital_allocations_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_capital_allocations_amount")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_capital_allocations_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["source_code"],
            ["capital_sources.code"],
            name=op.f("fk_capital_allocations_source_code_capital_sources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capital_allocations")),
    )
    op.create_index(
        op.f("ix_capital_allocations_source_code"),
        "capital_allocations",
        ["source_code"],
        unique=False,
    )
    op.create_table(
        "commitments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column(
            "borrower_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("bank_code", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.String(length=60), nullable=False),
        sa.Column("categories", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=60), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('approved','used','cancelled')", name=op.f("ck_commitments_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_commitments_amount")),
        sa.CheckConstraint("term_months > 0", name=op.f("ck_commitments_term")),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_commitments_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_commitments_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
        sa.UniqueConstraint("number", name=op.f("uq_commitments_number")),
    )
    op.create_index(op.f("ix_commitments_bank_code"), "commitments", ["bank_code"], unique=False)
    op.create_index(
        op.f("ix_commitments_borrower_id"), "commitments", ["borrower_id"], unique=False
    )
    op.create_table(
        "counter_guarantees",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "commitment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("guarantor_name", sa.String(length=100), nullable=False),
        sa.Column("guarantor_id_number", sa.String(length=18), nullable=True),
        sa.Column("employer_type", sa.String(length=30), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column(
            "close_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "kind IN ('guarantor','mortgage','pledge','joint_group','credit_community')",
            name=op.f("ck_counter_guarantees_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('held','released','enforced')", name=op.f("ck_counter_guarantees_status")
        ),
        sa.CheckConstraint("value >= 0", name=op.f("ck_counter_guarantees_value")),
        sa.ForeignKeyConstraint(
            ["close_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_counter_guarantees_close_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitments.id"],
            name=op.f("fk_counter_guarantees_commitment_id_commitments"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_counter_guarantees_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_guarantees")),
    )
    op.create_index(
        op.f("ix_counter_guarantees_commitment_id"),
        "counter_guarantees",
        ["commitment_id"],
        unique=False,
    )
    op.create_table(
        "loans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=False),
        sa.Column("contract_no", sa.String(length=60), nullable=False),
        sa.Column(
            "commitment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "borrower_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate_ppm", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("maturity_on", sa.Date(), nullable=False),
        sa.Column("extended_to", sa.Date(), nullable=True),
        sa.Column("extended_on", sa.Date(), nullable=True),
        sa.Column("coverage_ppm", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("repaid_on", sa.Date(), nullable=True),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "method IN ('bullet','interest_only','annuity','equal_principal')",
            name=op.f("ck_loans_method"),
        ),
        sa.CheckConstraint(
            "status IN ('active','repaid','claimed','written_off','recovered')",
            name=op.f("ck_loans_status"),
        ),
        sa.CheckConstraint(
            "annual_rate_ppm >= 0 AND annual_rate_ppm <= 1000000", name=op.f("ck_loans_rate")
        ),
        sa.CheckConstraint(
            "coverage_ppm > 0 AND coverage_ppm <= 1000000", name=op.f("ck_loans_coverage")
        ),
        sa.CheckConstraint("maturity_on > disbursed_on", name=op.f("ck_loans_maturity")),
        sa.CheckConstraint("principal > 0", name=op.f("ck_loans_principal")),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_loans_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_loans_borrower_id_borrowers")
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"], ["commitments.id"], name=op.f("fk_loans_commitment_id_commitments")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.id"], name=op.f("fk_loans_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
        sa.UniqueConstraint(
            "bank_code", "contract_no", name=op.f("uq_loans_bank_code_contract_no")
        ),
        sa.UniqueConstraint("commitment_id", name=op.f("uq_loans_commitment_id")),
    )
    op.create_index(op.f("ix_loans_bank_code"), "loans", ["bank_code"], unique=False)
    op.create_index(op.f("ix_loans_borrower_id"), "loans", ["borrower_id"], unique=False)
    op.create_index(op.f("ix_loans_disbursed_on"), "loans", ["disbursed_on"], unique=False)
    op.create_table(
        "claims",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("loan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("filed_by", sa.String(length=60), nullable=False),
        sa.Column("days_overdue", sa.Integer(), nullable=False),
        sa.Column("principal_outstanding", sa.BigInteger(), nullable=False),
        sa.Column("interest_outstanding", sa.BigInteger(), nullable=False),
        sa.Column("loss", sa.BigInteger(), nullable=False),
        sa.Column("coverage_ppm", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=60), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column(
            "approve_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("paid_by", sa.String(length=60), nullable=True),
        sa.Column(
            "pay_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "status IN ('filed','approved','paid','rejected')", name=op.f("ck_claims_status")
        ),
        sa.CheckConstraint(
            "loss > 0 AND amount > 0 AND amount <= loss", name=op.f("ck_claims_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["approve_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_claims_approve_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_claims_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["pay_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_claims_pay_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("number", name=op.f("uq_claims_number")),
    )
    op.create_index(op.f("ix_claims_loan_id"), "claims", ["loan_id"], unique=False)
    op.create_index(
        "uq_claims_open_loan",
        "claims",
        ["loan_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'rejected'"),
        sqlite_where=sa.text("status <> 'rejected'"),
    )
    op.create_table(
        "extensions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("loan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("extended_on", sa.Date(), nullable=False),
        sa.Column("old_maturity", sa.Date(), nullable=False),
        sa.Column("new_maturity", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_extensions_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extensions")),
    )
    op.create_index(op.f("ix_extensions_loan_id"), "extensions", ["loan_id"], unique=False)
    op.create_table(
        "repayments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("loan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=False),
        sa.Column("bank_ref", sa.String(length=60), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("penalty", sa.BigInteger(), nullable=False),
        sa.Column(
            "reversal_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "principal >= 0 AND interest >= 0 AND penalty >= 0", name=op.f("ck_repayments_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_repayments_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_repayments_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_repayments_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["reversal_of_id"],
            ["repayments.id"],
            name=op.f("fk_repayments_reversal_of_id_repayments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repayments")),
        sa.UniqueConstraint("bank_code", "bank_ref", name=op.f("uq_repayments_bank_code_bank_ref")),
        sa.UniqueConstraint("reversal_of_id", name=op.f("uq_repayments_reversal_of_id")),
    )
    op.create_index(op.f("ix_repayments_loan_id"), "repayments", ["loan_id"], unique=False)
    op.create_table(
        "recoveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("claim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("loan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recovered_on", sa.Date(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("fund_share", sa.BigInteger(), nullable=False),
        sa.Column("bank_share", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column(
            "counter_guarantee_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "source IN ('borrower','counter_guarantee')", name=op.f("ck_recoveries_source")
        ),
        sa.CheckConstraint("fund_share + bank_share = total", name=op.f("ck_recoveries_shares")),
        sa.CheckConstraint(
            "total > 0 AND fund_share >= 0 AND bank_share >= 0", name=op.f("ck_recoveries_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_recoveries_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["counter_guarantee_id"],
            ["counter_guarantees.id"],
            name=op.f("fk_recoveries_counter_guarantee_id_counter_guarantees"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_recoveries_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_recoveries_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recoveries")),
    )
    op.create_index(op.f("ix_recoveries_claim_id"), "recoveries", ["claim_id"], unique=False)
    op.create_index(op.f("ix_recoveries_loan_id"), "recoveries", ["loan_id"], unique=False)
    op.create_table(
        "write_offs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("claim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("loan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=60), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(length=60), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("rule", sa.String(length=12), nullable=True),
        sa.Column("allocation", sa.Text(), nullable=True),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint(
            "status IN ('requested','approved','rejected')", name=op.f("ck_write_offs_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_write_offs_amount")),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_write_offs_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_write_offs_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_write_offs_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_offs")),
    )
    op.create_index(op.f("ix_write_offs_claim_id"), "write_offs", ["claim_id"], unique=False)
    op.create_index(
        "uq_write_offs_open_claim",
        "write_offs",
        ["claim_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'rejected'"),
        sqlite_where=sa.text("status <> 'rejected'"),
    )


def downgrade() -> None:
    op.drop_table("deposit_interest")
    op.drop_table("write_offs")
    op.drop_table("recoveries")
    op.drop_table("claims")
    op.drop_table("counter_guarantees")
    op.drop_table("extensions")
    op.drop_table("repayments")
    op.drop_table("loans")
    op.drop_table("commitments")
    op.drop_table("capital_allocations")
    op.drop_table("borrowers")
    op.drop_table("policy_overrides")
    op.drop_table("users")
    op.drop_table("capital_sources")
    op.drop_table("banks")
    op.drop_table("districts")
