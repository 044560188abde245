"""The scheduler's configuration: a TOML file, every key optional (docs/jobs.md lists
them with their defaults).

The file is ``$FUNDLEDGER_JOBS_CONFIG`` if set, else ``jobs.toml`` in the instance
folder (``$FUNDLEDGER_INSTANCE_PATH``, default ``./instance``) if it exists; without
one, the defaults below apply. The SMTP password may come from
``$FUNDLEDGER_SMTP_PASSWORD`` instead of the file.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ledger.config import instance_path

#: Default schedules (crontab, Asia/Shanghai time).
DEFAULT_SCHEDULES = {
    "seal": "*/15 * * * *",
    "verify": "30 2 * * *",
    "drop-folder": "*/5 * * * *",
    "import-queue": "* * * * *",
    "expected-files": "0 10 * * *",
    "reconcile": "0 20 * * *",
    "ageing": "0 6 * * *",
    "breaks-old": "0 9 * * *",
    "month-end": "0 7 1 * *",
    "deposit-interest": "0 8 1 1,4,7,10 *",
}


@dataclass(frozen=True)
class JobSettings:
    #: When it runs: a crontab line (minute hour day month weekday), China time.
    schedule: str
    enabled: bool = True
    #: The first period of a job never run before (None: only the current one).
    start: dt.date | None = None


@dataclass(frozen=True)
class ExpectedFiles:
    """Which files a bank must send: ``daily`` kinds for each day (Monday to Friday only
    when ``working_days``), due ``due_days`` days after it; ``monthly`` kinds for each
    month, due by ``monthly_due_day`` of the month after."""

    bank: str
    daily: tuple[str, ...] = ()
    monthly: tuple[str, ...] = ()
    due_days: int = 1
    monthly_due_day: int = 5
    #: A daily file is expected for working days only: none for a Saturday or a Sunday
    #: (public holidays are not known to the check).
    working_days: bool = False


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class Config:
    jobs: dict[str, JobSettings] = field(default_factory=dict)
    #: The scheduler's lease: how long it lasts unrenewed (renewed every third of it).
    lease_seconds: int = 60
    #: A job run whose heartbeat is this old crashed and is retried.
    run_stale_seconds: int = 600
    #: The drop folder's root (inbox/, processed/, rejected/ under it).
    drop_folder: Path | None = None
    settle_seconds: float = 10.0
    #: The import worker: times a task is taken before it fails, and when a running
    #: task's worker is taken for gone.
    queue_max_attempts: int = 3
    queue_stale_seconds: int = 300
    expected: tuple[ExpectedFiles, ...] = ()
    smtp: SmtpSettings | None = None
    #: A break open longer than this many days raises a breaks-old alert.
    breaks_old_days: int = 10

    def job(self, name: str) -> JobSettings:
        return self.jobs.get(name) or JobSettings(DEFAULT_SCHEDULES.get(name, "0 3 * * *"))


def config_path() -> Path | None:
    given = os.environ.get("FUNDLEDGER_JOBS_CONFIG", "").strip()
    if given:
        return Path(given)
    default = instance_path() / "jobs.toml"
    return default if default.is_file() else None


def load(path: Path | str | None = None) -> Config:
    """The configuration in ``path`` (default: :func:`config_path`), or the defaults."""
    path = Path(path) if path is not None else config_path()
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path is not None else {}
    return parse(data)


def parse(data: dict) -> Config:
    scheduler = data.get("scheduler", {})
    jobs = {}
    for name, schedule in DEFAULT_SCHEDULES.items():
        given = data.get("jobs", {}).get(name, {})
        jobs[name] = _job(given, schedule)
    for name, given in data.get("jobs", {}).items():
        if name not in jobs:
            jobs[name] = _job(given, "0 3 * * *")
    drop = data.get("drop_folder", {})
    queue = data.get("import_queue", {})
    expected = tuple(
        ExpectedFiles(
            bank=bank.upper(),
            daily=tuple(spec.get("daily", ())),
            monthly=tuple(spec.get("monthly", ())),
            due_days=int(spec.get("due_days", 1)),
            monthly_due_day=int(spec.get("monthly_due_day", 5)),
            working_days=bool(spec.get("working_days", False)),
        )
        for bank, spec in sorted(data.get("expected_files", {}).items())
    )
    smtp = None
    mail = data.get("smtp", {})
    if mail.get("host"):
        smtp = SmtpSettings(
            host=mail["host"],
            port=int(mail.get("port", 25)),
            sender=mail["sender"],
            recipients=tuple(mail.get("recipients", ())),
            user=mail.get("user"),
            password=mail.get("password") or os.environ.get("FUNDLEDGER_SMTP_PASSWORD"),
            starttls=bool(mail.get("starttls", False)),
            timeout=float(mail.get("timeout", 10)),
        )
    root = drop.get("root")
    return Config(
        jobs=jobs,
        lease_seconds=int(scheduler.get("lease_seconds", 60)),
        run_stale_seconds=int(scheduler.get("run_stale_seconds", 600)),
        drop_folder=Path(root) if root else instance_path() / "dropfolder",
        settle_seconds=float(drop.get("settle_seconds", 10.0)),
        queue_max_attempts=int(queue.get("max_attempts", 3)),
        queue_stale_seconds=int(queue.get("stale_seconds", 300)),
        expected=expected,
        smtp=smtp,
        breaks_old_days=int(data.get("reconciliation", {}).get("breaks_old_days", 10)),
    )


def _job(given: dict, schedule: str) -> JobSettings:
    start = given.get("start")
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    return JobSettings(
        schedule=given.get("schedule", schedule),
        enabled=bool(given.get("enabled", True)),
        start=start,
    )
