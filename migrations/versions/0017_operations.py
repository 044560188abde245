"""Operations: the record of each scheduled job's runs, the scheduler's lease, alerts, and
the queue of uploaded files for the import worker.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ALERT_KINDS = (
    "kind IN ('chain-verification','file-missing','job-failed','breaks-old',"
    "'leverage-high','import-failed','claims-eligible','month-end','interest-expected')"
)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("job", sa.String(60), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running','succeeded','failed')", name=op.f("ck_job_runs_status")
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_job_runs_period")),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_job_runs_attempt")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "period", name=op.f("uq_job_runs_job_period")),
    )
    op.create_index("ix_job_runs_job_id", "job_runs", ["job", "id"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("job", sa.String(60), nullable=True),
        sa.Column("period", sa.String(20), nullable=True),
        sa.Column("bank_code", sa.String(20), nullable=True),
        sa.Column("fund_code", sa.String(20), nullable=True),
        sa.Column("open_key", sa.String(300), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("last_raised_at", sa.DateTime(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.String(60), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(ALERT_KINDS, name=op.f("ck_alerts_kind")),
        sa.CheckConstraint(
            "severity IN ('info','warning','critical')", name=op.f("ck_alerts_severity")
        ),
        sa.CheckConstraint("times >= 1", name=op.f("ck_alerts_times")),
        sa.CheckConstraint(
            "(acknowledged_at IS NULL) = (acknowledged_by IS NULL)",
            name=op.f("ck_alerts_acknowledged"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alerts_open_key")),
    )
    op.create_index("ix_alerts_notified_at", "alerts", ["notified_at"])
    op.create_table(
        "import_tasks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("bank_code", sa.String(20), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(60), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_checked", sa.Integer(), nullable=False),
        sa.Column("rows_posted", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("receipt_id", BIG_ID, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued','running','done','failed')", name=op.f("ck_import_tasks_status")
        ),
        sa.CheckConstraint(
            "path IS NOT NULL OR content IS NOT NULL OR status = 'done'",
            name=op.f("ck_import_tasks_source"),
        ),
        sa.CheckConstraint(
            "rows_read >= 0 AND rows_checked >= 0 AND rows_posted >= 0 AND attempts >= 0",
            name=op.f("ck_import_tasks_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["bank_file_imports.id"],
            name=op.f("fk_import_tasks_receipt_id_bank_file_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_tasks")),
    )
    op.create_index("ix_import_tasks_status_id", "import_tasks", ["status", "id"])


def downgrade() -> None:
    op.drop_table("import_tasks")
    op.drop_table("alerts")
    op.drop_table("leases")
    op.drop_table("job_runs")
