"""The jobs the scheduler runs: each a plain function of (session factory, date) that
calls operations of ``ledger`` as :data:`ledger.principal.SYSTEM` and returns what it
did as counts ({name: number}).

A periodic job runs once per period — a day, a month or a quarter — recorded in
``job_runs``; the date it is given is its period's last day. A daily job's period on a
date is that date (minus its ``lag_days``); a monthly or quarterly job's is the latest
period that has ended by then (minus ``lag_days``): on 2026-12-01 a monthly job runs
for ``2026-11``. A job without a period (the import worker) runs on every trigger with
the business date and is not recorded per period: each task it imports is its own
record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from jobs.config import Config
from ledger.ops.errors import UnknownJobError
from ledger.ops.runs import Period, PeriodKind

JobFunction = Callable[[sessionmaker[Session], dt.date], dict[str, int]]


@dataclass(frozen=True)
class Job:
    name: str
    function: JobFunction
    #: daily, monthly or quarterly; None for a job run on every trigger (no period).
    period: PeriodKind | None
    #: Its default schedule: a crontab line in Asia/Shanghai time.
    schedule: str
    description: str
    #: Days after its period a run is due (0: a daily job runs for its own day).
    lag_days: int = 0
    #: After downtime, run every missed period (True) or only the current one (False:
    #: a job that looks at the present, such as verify, gains nothing from the past).
    catch_up: bool = True

    def due(self, on: dt.date) -> Period | None:
        """The latest period due on business date ``on`` (None for a job without one)."""
        if self.period is None:
            return None
        day = on - dt.timedelta(days=self.lag_days)
        period = Period.containing(self.period, day)
        return period if period.end <= day else period.previous()


class Registry:
    """Jobs by name, in the order the scheduler runs them on a tick."""

    def __init__(self, jobs: list[Job] | tuple[Job, ...] = ()):
        self._jobs: dict[str, Job] = {}
        for job in jobs:
            self.add(job)

    def add(self, job: Job) -> Job:
        if job.name in self._jobs:
            raise ValueError(f"job {job.name} is registered already")
        self._jobs[job.name] = job
        return job

    def get(self, name: str) -> Job:
        try:
            return self._jobs[name]
        except KeyError:
            known = ", ".join(self._jobs)
            raise UnknownJobError(
                f"no job {name!r}; the jobs are: {known}",
                zh=f"没有名为 {name!r} 的任务，现有任务：{known}",
            ) from None

    def __iter__(self) -> Iterator[Job]:
        return iter(self._jobs.values())

    def __contains__(self, name: str) -> bool:
        return name in self._jobs

    def names(self) -> list[str]:
        return list(self._jobs)


def default_registry(config: Config) -> Registry:
    """The jobs of the scheduler, with their functions bound to ``config``."""
    from jobs import books, files, imports, recon

    return Registry(
        [
            Job(
                "seal", books.seal, None, config.job("seal").schedule,
                "Seal entries a crash left out of the hash chain",
            ),
            Job(
                "verify", books.verify, PeriodKind.DAILY, config.job("verify").schedule,
                "Verify the whole books; a failure raises a chain-verification alert",
                catch_up=False,
            ),
            Job(
                "drop-folder", imports.drop_folder_job(config), None,
                config.job("drop-folder").schedule,
                "Import the files the banks dropped in the drop folder",
            ),
            Job(
                "import-queue", imports.queue_job(config), None,
                config.job("import-queue").schedule,
                "Import the uploads queued for the import worker",
            ),
            Job(
                "expected-files", files.expected_files_job(config), PeriodKind.DAILY,
                config.job("expected-files").schedule,
                "Alert when a bank's expected file is past its due day",
            ),
            Job(
                recon.RECONCILE, recon.reconcile_files, PeriodKind.DAILY,
                config.job(recon.RECONCILE).schedule,
                "Reconcile the balances and statement files accepted since its last run",
            ),
            Job(
                "ageing", recon.ageing_job, PeriodKind.DAILY, config.job("ageing").schedule,
                "Overdue ageing; loans reaching the claim threshold proposed in an alert",
            ),
            Job(
                "breaks-old", recon.breaks_old_job(config.breaks_old_days), PeriodKind.DAILY,
                config.job("breaks-old").schedule,
                "Alert while breaks stay open too long", catch_up=False,
            ),
            Job(
                "month-end", recon.month_end_job, PeriodKind.MONTHLY,
                config.job("month-end").schedule,
                "Prepare the month's trial balance and statement; the approver closes",
            ),
            Job(
                "deposit-interest", recon.deposit_interest_job, PeriodKind.QUARTERLY,
                config.job("deposit-interest").schedule,
                "Propose each special account's expected interest for the quarter",
            ),
        ]
    )  # fmt: skip
