"""The scheduler: runs each job's periods once each, in order, in a process of its own.

:class:`Runner` runs one period of a job and records it (``ledger.ops.runs``: claimed
first, so a period that succeeded is not run again and one another process is running is
left to it; a failed or crashed run is retried). :meth:`Runner.catch_up` runs every
period from the one after the last that succeeded up to the one due today, in order,
stopping at a failure (the next trigger retries it) — after downtime every missed period
runs once. A job never run before starts at its configured ``start``, else today's.

:class:`Scheduler` adds the lease: it runs jobs only while it holds the ``scheduler``
lease (renewed every third of its life); a second scheduler process finds the lease held
and idles until the first stops renewing it. The run records guard each period as well,
so even a scheduler whose lease lapsed mid-run never runs a period twice.

:func:`serve` (``fundledger scheduler``) drives it with APScheduler's
``BlockingScheduler`` in Asia/Shanghai time: one job id per job, on its crontab schedule
from configuration, one job at a time, and a catch-up of every job when it starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from jobs.config import Config
from jobs.notify import notify
from jobs.registry import Job, Registry
from ledger.clock import business_today, utcnow
from ledger.db import run_in_transaction
from ledger.ops import leases, runs
from ledger.ops.alerts import raise_alert
from ledger.ops.errors import RunRefusedError
from ledger.ops.models import AlertKind, Severity
from ledger.ops.runs import Period

log = logging.getLogger(__name__)

TIMEZONE = "Asia/Shanghai"
LEASE = "scheduler"
#: The most periods one catch-up runs (a job whose start is years back).
MAX_CATCH_UP = 400


@dataclass(frozen=True)
class Outcome:
    job: str
    #: The period's key; None for a job without periods.
    period: str | None
    #: succeeded, failed, or skipped (already succeeded, or running elsewhere).
    status: str
    attempt: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def holder_name(prefix: str = "scheduler") -> str:
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class Runner:
    """Runs jobs' periods and records them."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        registry: Registry,
        config: Config,
        *,
        holder: str | None = None,
        now: Callable[[], dt.datetime] = utcnow,
    ):
        self.factory, self.registry, self.config = factory, registry, config
        self.holder = holder or holder_name()
        self.now = now
        self.stale_after = dt.timedelta(seconds=config.run_stale_seconds)

    # -- one period

    def run(self, job: Job, period: Period | None, *, again: bool = False, on=None) -> Outcome:
        """Run ``period`` of ``job`` if it is to run (claimed first)."""
        if period is None:
            return self._run_unrecorded(job, on or business_today())
        claimed = run_in_transaction(
            self.factory,
            lambda s: runs.claim_run(
                s, job.name, period, holder=self.holder, again=again, now=self.now(),
                stale_after=self.stale_after,
            ),
        )  # fmt: skip
        if claimed is None:
            return Outcome(job.name, period.key, "skipped")
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(claimed.id, stop), daemon=True, name="run-heartbeat"
        )
        beat.start()
        try:
            counts, error = self._call(job, period.end)
        finally:
            stop.set()
            beat.join()

        def finish(s):
            run = runs.finish_run(s, claimed.id, counts=counts, error=error, now=self.now())
            if error is not None:
                raise_alert(
                    s, AlertKind.JOB_FAILED,
                    f"任务 {job.name} 在 {period.key} 期间运行失败（第 {run.attempt} 次）",
                    key=f"{job.name}:{period.key}", detail=error, severity=Severity.WARNING,
                    job=job.name, period=period.key, now=self.now(),
                )  # fmt: skip
            return run

        run = run_in_transaction(self.factory, finish)
        return Outcome(job.name, period.key, run.status, run.attempt, counts, error)

    def _run_unrecorded(self, job: Job, on: dt.date) -> Outcome:
        counts, error = self._call(job, on)
        if error is not None:
            run_in_transaction(
                self.factory,
                lambda s: raise_alert(
                    s, AlertKind.JOB_FAILED, f"任务 {job.name} 运行失败", key=job.name,
                    detail=error, job=job.name, now=self.now(),
                ),
            )  # fmt: skip
        return Outcome(job.name, None, "failed" if error else "succeeded", 1, counts, error)

    def _call(self, job: Job, on: dt.date) -> tuple[dict[str, int], str | None]:
        log.info("job %s for %s starts", job.name, on)
        try:
            counts = job.function(self.factory, on) or {}
        except Exception as exc:
            log.exception("job %s for %s failed", job.name, on)
            return {}, f"{type(exc).__name__}: {exc}"
        log.info("job %s for %s done: %s", job.name, on, counts)
        return {k: int(v) for k, v in counts.items()}, None

    def _heartbeat(self, run_id: int, stop: threading.Event) -> None:
        every = max(self.stale_after.total_seconds() / 4, 0.05)
        while not stop.wait(every):
            try:
                run_in_transaction(
                    self.factory, lambda s: runs.heartbeat(s, run_id, now=self.now())
                )
            except Exception:
                log.exception("heartbeat of run %d failed", run_id)

    # -- periods in order

    def pending(self, job: Job, on: dt.date) -> list[Period]:
        """The periods of ``job`` to run on ``on``, oldest first."""
        due = job.due(on)
        if due is None:
            return []
        if not job.catch_up:
            return [due]
        with self.factory() as s:
            last = runs.last_succeeded(s, job.name)
        if last is not None:
            first = Period.parse(job.period, last).next()
        else:
            start = self.config.job(job.name).start
            first = Period.containing(job.period, start) if start else due
        periods = []
        period = first
        while period <= due and len(periods) < MAX_CATCH_UP:
            periods.append(period)
            period = period.next()
        return periods

    def catch_up(self, job: Job, on: dt.date, *, keep_going: Callable[[], bool] = lambda: True):
        """Run every pending period of ``job`` in order; stop at the first failure."""
        if job.period is None:
            return [self.run(job, None, on=on)] if keep_going() else []
        outcomes = []
        for period in self.pending(job, on):
            if not keep_going():
                break
            outcome = self.run(job, period)
            outcomes.append(outcome)
            if outcome.status == "failed":
                break
        return outcomes

    def run_now(self, name: str, on: dt.date, *, again: bool = False) -> Outcome:
        """``fundledger jobs run``: the period of job ``name`` due on ``on``. A period
        that succeeded is refused unless ``again``; one running elsewhere is refused."""
        job = self.registry.get(name)
        period = job.due(on)
        outcome = self.run(job, period, again=again, on=on)
        if outcome.status == "skipped":
            with self.factory() as s:
                existing = runs.get_run(s, job.name, period.key)
            if existing is not None and existing.status == "succeeded":
                raise RunRefusedError(
                    f"{job.name} already succeeded for {period.key} (attempt "
                    f"{existing.attempt}); use --again to run it once more",
                    zh=f"任务 {job.name} 已在 {period.key} 期间成功运行；如需重跑请加 --again",
                )
            raise RunRefusedError(
                f"{job.name} for {period.key} is running in another process",
                zh=f"任务 {job.name} 的 {period.key} 期间正在另一进程中运行",
            )
        self.notify()
        return outcome

    def notify(self) -> int:
        try:
            return notify(self.factory, self.config.smtp)
        except Exception:
            log.exception("alert notifier failed")
            return 0


class Scheduler(Runner):
    """A runner that runs jobs only while it holds the scheduler lease."""

    def __init__(self, *args, today: Callable[[], dt.date] = business_today, **kw):
        super().__init__(*args, **kw)
        self.today = today
        self.ttl = dt.timedelta(seconds=self.config.lease_seconds)
        self._held = False
        self._lock = threading.Lock()

    def keep_lease(self) -> bool:
        """Take or renew the lease; whether this scheduler holds it now."""
        try:
            held = run_in_transaction(
                self.factory,
                lambda s: leases.acquire_lease(s, LEASE, self.holder, self.ttl, now=self.now()),
            )
        except Exception:
            log.exception("lease could not be renewed")
            held = False
        if held != self._held:
            log.info("scheduler %s %s the lease", self.holder, "holds" if held else "lost")
        self._held = held
        return held

    def holds(self) -> bool:
        return self._held

    def release(self) -> None:
        run_in_transaction(
            self.factory, lambda s: leases.release_lease(s, LEASE, self.holder, now=self.now())
        )
        self._held = False

    def tick(self, names: list[str] | None = None, on: dt.date | None = None) -> list[Outcome]:
        """Catch up the jobs ``names`` (default all), if this scheduler holds the lease."""
        with self._lock:
            if not self.keep_lease():
                log.info("another scheduler holds the lease: %s idles", self.holder)
                return []
            on = on or self.today()
            outcomes = []
            for job in self.registry:
                if names is not None and job.name not in names:
                    continue
                if not self.config.job(job.name).enabled:
                    continue
                outcomes += self.catch_up(job, on, keep_going=self.holds)
            self.notify()
            return outcomes


def build(scheduler: Scheduler):
    """The APScheduler ``BlockingScheduler`` that drives ``scheduler``: the lease renewed
    every third of its life, each enabled job on its crontab (explicit ids: the job
    names), and a catch-up of every job as it starts."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    aps = BlockingScheduler(
        timezone=TIMEZONE,
        executors={"default": ThreadPoolExecutor(1), "lease": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    start = dt.datetime.now(dt.UTC)
    aps.add_job(
        scheduler.keep_lease, IntervalTrigger(seconds=max(scheduler.config.lease_seconds / 3, 1)),
        id="lease", name="renew the scheduler lease", executor="lease", next_run_time=start,
    )  # fmt: skip
    aps.add_job(scheduler.tick, id="catch-up", name="catch up every job", next_run_time=start)
    for job in scheduler.registry:
        settings = scheduler.config.job(job.name)
        if not settings.enabled:
            continue
        aps.add_job(
            scheduler.tick, CronTrigger.from_crontab(job.schedule, timezone=TIMEZONE),
            kwargs={"names": [job.name]}, id=job.name, name=job.description,
        )  # fmt: skip
    return aps


def serve(factory: sessionmaker[Session], registry: Registry, config: Config) -> None:
    """Run the scheduler until stopped (SIGTERM or SIGINT); the lease is released then."""
    scheduler = Scheduler(factory, registry, config)
    aps = build(scheduler)

    def stop(signum, _frame):
        log.info("signal %d: the scheduler stops", signum)
        aps.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info("scheduler %s starts: jobs %s", scheduler.holder, ", ".join(registry.names()))
    try:
        aps.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        scheduler.release()
