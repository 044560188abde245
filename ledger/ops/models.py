"""Tables of the operations: job runs, the scheduler's lease, alerts and the import queue.

Written by ``ledger.ops`` only; the web application and the command line read them
through its read functions.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import register_race_constraints
from ledger.models import Base, BigId, JsonText

# Two schedulers (or a scheduler and ``fundledger jobs run``) may race to record the same
# period's run, and two jobs to raise the same alert: the loser's transaction runs again.
register_race_constraints("uq_job_runs_job_period", "uq_alerts_open_key", "pk_leases")


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    """One period of one job: claimed once, retried after a failure or a crash, never run
    again once it succeeded."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "period"),
        CheckConstraint("status IN ('running','succeeded','failed')", name="status"),
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("attempt >= 1", name="attempt"),
        Index("ix_job_runs_job_id", "job", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The job's name in the registry (``seal``, ``verify``, …).
    job: Mapped[str] = mapped_column(String(60))
    #: The period's key: ``2026-12-01`` (a day), ``2026-11`` (a month), ``2026Q4``.
    period: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    #: 1 for the first run of the period, one more for each retry.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    #: Who runs it: the scheduler process (host and pid) or the command line.
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: Renewed while the run is alive; a running run whose heartbeat is older than the
    #: stale limit crashed, and the next claim retries it.
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: What the job did: {name: count}.
    counts: Mapped[dict | None] = mapped_column(JsonText)
    error: Mapped[str | None] = mapped_column(Text)


class Lease(Base):
    """A named lease: one holder at a time until it expires (the scheduler's is
    ``scheduler``)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AlertKind(StrEnum):
    CHAIN_VERIFICATION = "chain-verification"
    FILE_MISSING = "file-missing"
    JOB_FAILED = "job-failed"
    BREAKS_OLD = "breaks-old"
    LEVERAGE_HIGH = "leverage-high"
    IMPORT_FAILED = "import-failed"
    #: Loans that reached the policy's days overdue for a claim: proposed, never filed.
    CLAIMS_ELIGIBLE = "claims-eligible"
    #: A month ended: its trial balance and statement are ready for the approver.
    MONTH_END = "month-end"
    #: A quarter's expected deposit interest, for a clerk to record against the statement.
    INTEREST_EXPECTED = "interest-expected"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


ALERT_KINDS_SQL = "kind IN ({})".format(",".join(f"'{k}'" for k in AlertKind))


class Alert(Base):
    """Something the bureau must look at. While it is open (not acknowledged) the same
    alert raised again is this one, counted (``open_key``), never a second."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(ALERT_KINDS_SQL, name="kind"),
        CheckConstraint("severity IN ('info','warning','critical')", name="severity"),
        CheckConstraint("times >= 1", name="times"),
        CheckConstraint(
            "(acknowledged_at IS NULL) = (acknowledged_by IS NULL)", name="acknowledged"
        ),
        UniqueConstraint("open_key"),
        Index("ix_alerts_notified_at", "notified_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    #: One line, in Chinese (the bureau reads it); ``detail`` says more.
    subject: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    #: What it is about, where it applies: a job's period, a bank, a fund.
    job: Mapped[str | None] = mapped_column(String(60))
    period: Mapped[str | None] = mapped_column(String(20))
    bank_code: Mapped[str | None] = mapped_column(String(20))
    fund_code: Mapped[str | None] = mapped_column(String(20))
    #: ``kind:key`` while the alert is open, None once acknowledged: unique, so the same
    #: alert raised again finds the open one.
    open_key: Mapped[str | None] = mapped_column(String(300))
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_raised_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: How often it was raised while open.
    times: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_by: Mapped[str | None] = mapped_column(String(60))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: When the notifier mailed it (None: not yet, or no notifier configured).
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportTask(Base):
    """A file waiting for the import worker (an upload too large to import during a web
    request), with the progress a page shows while it is imported."""

    __tablename__ = "import_tasks"
    __table_args__ = (
        CheckConstraint("status IN ('queued','running','done','failed')", name="status"),
        CheckConstraint(
            "path IS NOT NULL OR content IS NOT NULL OR status = 'done'", name="source"
        ),
        CheckConstraint(
            "rows_read >= 0 AND rows_checked >= 0 AND rows_posted >= 0 AND attempts >= 0",
            name="counts",
        ),
        Index("ix_import_tasks_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The partner bank (None for the bureau's lists) and the kind, as import_file takes.
    bank_code: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    #: Where the file is (a path the worker can read), or its bytes kept here.
    path: Mapped[str | None] = mapped_column(Text)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)
    #: Who uploaded it: the import runs as them.
    actor: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_checked: Mapped[int] = mapped_column(Integer, default=0)
    rows_posted: Mapped[int] = mapped_column(Integer, default=0)
    #: The data rows counted when it was queued (a CSV's lines, an XLSX workbook's
    #: estimated from its size): the total to show progress against until the worker
    #: has read the file. None if not counted.
    rows_expected: Mapped[int | None] = mapped_column(Integer)
    #: Times the worker took it.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("bank_file_imports.id"))
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    enqueued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: Renewed with each progress report; a running task whose heartbeat is older than
    #: the stale limit lost its worker and is queued again.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


#: Every table above, children first: the order a test reset truncates them in.
OPS_TABLES = ("import_tasks", "alerts", "leases", "job_runs")
