"""The record of every job run: one row per (job, period), claimed before the job runs.

A period is a day (``2026-12-01``), a month (``2026-11``) or a quarter (``2026Q4``).
:func:`claim_run` takes a period for a run: the first time it inserts the row (the unique
key on job and period lets one of two racing schedulers have it); a period that already
succeeded, or that another process is running (its heartbeat fresh), is not claimed; a
failed run, or a running one whose heartbeat went stale (its process crashed), is
claimed again with the next attempt number. :func:`finish_run` records the outcome.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.errors import FilterError
from ledger.ops.models import JobRun, RunStatus
from ledger.paging import Page, keyset_page, one_of

#: A running run whose heartbeat is older than this crashed (its process is gone).
STALE_AFTER = dt.timedelta(minutes=10)


class PeriodKind(StrEnum):
    DAILY = "daily"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True, order=True)
class Period:
    """A day, a month or a quarter: its key and its first and last day."""

    start: dt.date
    end: dt.date
    key: str
    kind: PeriodKind

    @classmethod
    def containing(cls, kind: PeriodKind | str, day: dt.date) -> Period:
        kind = PeriodKind(kind)
        if kind is PeriodKind.DAILY:
            return cls(day, day, day.isoformat(), kind)
        if kind is PeriodKind.MONTHLY:
            last = calendar.monthrange(day.year, day.month)[1]
            return cls(
                day.replace(day=1), day.replace(day=last), f"{day.year}-{day.month:02d}", kind
            )
        quarter = (day.month - 1) // 3 + 1
        first = dt.date(day.year, 3 * quarter - 2, 1)
        last_month = 3 * quarter
        last = dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
        return cls(first, last, f"{day.year}Q{quarter}", kind)

    @classmethod
    def parse(cls, kind: PeriodKind | str, key: str) -> Period:
        """The period of ``kind`` whose key is ``key`` (``2026-12-01``, ``2026-11``,
        ``2026Q4``)."""
        kind = PeriodKind(kind)
        try:
            if kind is PeriodKind.DAILY:
                day = dt.date.fromisoformat(key)
            elif kind is PeriodKind.MONTHLY:
                year, month = key.split("-")
                day = dt.date(int(year), int(month), 1)
            else:
                year, quarter = key.upper().split("Q")
                if not 1 <= int(quarter) <= 4:
                    raise ValueError(quarter)
                day = dt.date(int(year), 3 * int(quarter) - 2, 1)
        except ValueError:
            raise FilterError(
                f"{key!r} is not a {kind} period", zh=f"{key!r} 不是有效的{_KIND_ZH[kind]}期间"
            ) from None
        period = cls.containing(kind, day)
        if period.key != key.upper() and kind is not PeriodKind.DAILY:
            raise FilterError(
                f"{key!r} is not a {kind} period", zh=f"{key!r} 不是有效的{_KIND_ZH[kind]}期间"
            )
        return period

    def next(self) -> Period:
        return Period.containing(self.kind, self.end + dt.timedelta(days=1))

    def previous(self) -> Period:
        return Period.containing(self.kind, self.start - dt.timedelta(days=1))


_KIND_ZH = {PeriodKind.DAILY: "日", PeriodKind.MONTHLY: "月度", PeriodKind.QUARTERLY: "季度"}


@dataclass(frozen=True)
class RunView:
    """One run of a job for a period, as recorded."""

    id: int
    job: str
    period: str
    period_start: dt.date
    period_end: dt.date
    status: str
    attempt: int
    holder: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict | None
    error: str | None


def _view(row: JobRun) -> RunView:
    return RunView(
        row.id, row.job, row.period, row.period_start, row.period_end, row.status,
        row.attempt, row.holder, row.started_at, row.heartbeat_at, row.finished_at,
        dict(row.counts) if row.counts is not None else None, row.error,
    )  # fmt: skip


def claim_run(
    session: Session,
    job: str,
    period: Period,
    *,
    holder: str,
    again: bool = False,
    now: dt.datetime | None = None,
    stale_after: dt.timedelta = STALE_AFTER,
) -> RunView | None:
    """Take ``period`` of ``job`` to run it now, or None when it is not to run: it
    succeeded before (unless ``again``: run it once more, as a new attempt) or another
    process is running it. A failed run and a crashed one (running, heartbeat older than
    ``stale_after``) are claimed again, their attempt counted."""
    now = now or utcnow()
    row = session.scalars(
        select(JobRun).where(JobRun.job == job, JobRun.period == period.key).with_for_update()
    ).one_or_none()
    if row is None:
        row = JobRun(
            job=job, period=period.key, period_start=period.start, period_end=period.end,
            status=RunStatus.RUNNING, attempt=1, holder=holder, started_at=now,
            heartbeat_at=now,
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # Another process inserted it first (PostgreSQL; SQLite's writers queue):
            # it runs the period.
            return None
        return _view(row)
    if row.status == RunStatus.SUCCEEDED and not again:
        return None
    if row.status == RunStatus.RUNNING and row.heartbeat_at > now - stale_after:
        return None
    row.status = RunStatus.RUNNING
    row.attempt += 1
    row.holder = holder
    row.started_at = row.heartbeat_at = now
    row.finished_at = None
    row.error = None
    session.flush()
    return _view(row)


def heartbeat(session: Session, run_id: int, *, now: dt.datetime | None = None) -> None:
    """Note that the run is still alive."""
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.status == RunStatus.RUNNING)
        .values(heartbeat_at=now or utcnow())
    )


def finish_run(
    session: Session,
    run_id: int,
    *,
    counts: dict[str, int] | None = None,
    error: str | None = None,
    now: dt.datetime | None = None,
) -> RunView:
    """Record the outcome of a claimed run: succeeded with ``counts``, or failed with
    ``error``."""
    row = session.get(JobRun, run_id, with_for_update=True)
    now = now or utcnow()
    row.status = RunStatus.FAILED if error is not None else RunStatus.SUCCEEDED
    row.finished_at = row.heartbeat_at = now
    row.counts = {k: int(v) for k, v in (counts or {}).items()}
    row.error = error
    session.flush()
    return _view(row)


def last_succeeded(session: Session, job: str) -> str | None:
    """The key of the latest period of ``job`` that succeeded (None: none has).

    Keys of one kind sort as their periods do (ISO dates, ``YYYY-MM``, ``YYYYQn``)."""
    return session.scalar(
        select(func.max(JobRun.period)).where(
            JobRun.job == job, JobRun.status == RunStatus.SUCCEEDED
        )
    )


def get_run(session: Session, job: str, period: str) -> RunView | None:
    row = session.scalars(
        select(JobRun).where(JobRun.job == job, JobRun.period == period)
    ).one_or_none()
    return None if row is None else _view(row)


def latest_runs(session: Session) -> dict[str, RunView]:
    """Each job's most recent run (by id)."""
    newest = select(func.max(JobRun.id)).group_by(JobRun.job)
    rows = session.scalars(select(JobRun).where(JobRun.id.in_(newest)))
    return {row.job: _view(row) for row in rows}


def runs_page(
    session: Session,
    *,
    job: str | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[RunView]:
    """Runs newest first, of one job and one status if given."""
    status = one_of(status, RunStatus, "run status", "运行状态")
    stmt = select(JobRun)
    if job is not None:
        stmt = stmt.where(JobRun.job == job)
    if status is not None:
        stmt = stmt.where(JobRun.status == status)
    return keyset_page(
        session, stmt, JobRun.id, before=before, limit=limit,
        values=lambda rows: [_view(r) for r in rows], noun="runs", scalars=True,
    )  # fmt: skip
