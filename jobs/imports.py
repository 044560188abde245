"""Jobs that take in files: the drop folder, and the worker of the import queue."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from jobs.config import Config
from ledger.bankfiles import dropfolder
from ledger.bankfiles.imports import Progress, gc_paused, import_file
from ledger.clock import utcnow
from ledger.db import run_in_transaction
from ledger.errors import LedgerError
from ledger.ops import queue
from ledger.ops.queue import TaskView
from ledger.principal import SYSTEM

log = logging.getLogger(__name__)


def drop_folder_job(config: Config):
    def drop_folder(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
        """Import what the banks dropped (``ledger.bankfiles.dropfolder``)."""
        outcomes = dropfolder.process(
            factory, config.drop_folder, actor=SYSTEM,
            settle_seconds=config.settle_seconds, today=on,
        )  # fmt: skip
        counts = {"files": len(outcomes)}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts

    return drop_folder


def queue_job(config: Config):
    def import_queue(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
        """Import the queued uploads, oldest first, one at a time, until none is left."""
        return work_queue(
            factory, on,
            max_attempts=config.queue_max_attempts,
            stale_after=dt.timedelta(seconds=config.queue_stale_seconds),
        )  # fmt: skip

    return import_queue


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work_queue(
    factory: sessionmaker[Session],
    on: dt.date,
    *,
    worker: str | None = None,
    max_attempts: int = queue.MAX_ATTEMPTS,
    stale_after: dt.timedelta = queue.STALE_AFTER,
    limit: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    on_progress: Callable[[TaskView, Progress], None] | None = None,
) -> dict[str, int]:
    """Take queued import tasks one at a time (at most ``limit``) and import each.

    First the tasks a stopped worker left running are queued again (or failed after
    ``max_attempts``). Each import's progress is written as it goes, in short
    transactions of its own (on PostgreSQL; SQLite has one writer at a time, the
    import's, so there the counts are written when it ends). ``on_progress`` is told of
    each report too.
    """
    worker = worker or worker_name()
    counts = {"requeued": 0, "done": 0, "failed": 0, "retry": 0}
    stale = run_in_transaction(
        factory,
        lambda s: queue.requeue_stale(
            s, stale_after=stale_after, max_attempts=max_attempts, now=now()
        ),
    )
    counts["requeued"] = sum(1 for t in stale if t.status == "queued")
    counts["failed"] += sum(1 for t in stale if t.status == "failed")
    taken = 0
    with gc_paused():
        while limit is None or taken < limit:
            task = run_in_transaction(
                factory, lambda s: queue.claim_task(s, worker=worker, now=now())
            )
            if task is None:
                break
            taken += 1
            outcome = import_task(
                factory, task, on, max_attempts=max_attempts, now=now, on_progress=on_progress
            )
            counts[outcome] += 1
    return counts


def import_task(
    factory: sessionmaker[Session],
    task: TaskView,
    on: dt.date,
    *,
    max_attempts: int = queue.MAX_ATTEMPTS,
    now: Callable[[], dt.datetime] = utcnow,
    on_progress: Callable[[TaskView, Progress], None] | None = None,
) -> str:
    """Import one claimed task; ``done``, ``failed`` (the request was refused) or
    ``retry`` (queued again after a failure of the system's)."""
    sqlite = factory.kw["bind"].dialect.name == "sqlite"

    def progress(p: Progress) -> None:
        if on_progress is not None:
            on_progress(task, p)
        if not sqlite:
            run_in_transaction(
                factory,
                lambda s: queue.report_progress(
                    s, task.id, read=p.read, checked=p.checked, posted=p.posted, now=now()
                ),
            )

    try:
        with _task_file(factory, task) as path:
            receipt = import_file(
                factory, kind=task.kind, path=path, actor=task.actor, bank=task.bank_code,
                file_name=task.file_name, today=on, progress=progress,
            )  # fmt: skip
    except LedgerError as error:
        message = f"{error.code}: {error}"
        if getattr(error, "zh", None):
            message += f"\n{error.zh}"
        run_in_transaction(
            factory, lambda s: queue.finish_task(s, task.id, error=message, now=now())
        )
        log.warning("import task %d refused: %s", task.id, error)
        return "failed"
    except Exception as error:
        log.exception("import task %d broke; queued again or failed", task.id)
        message = f"{type(error).__name__}: {error}"
        view = run_in_transaction(
            factory,
            lambda s: queue.retry_or_fail(
                s, task.id, message, max_attempts=max_attempts, now=now()
            ),
        )
        return "retry" if view.status == "queued" else "failed"
    run_in_transaction(
        factory,
        lambda s: queue.finish_task(
            s, task.id, receipt_id=receipt.id, read=receipt.rows,
            checked=receipt.rows, posted=receipt.posted, now=now(),
        ),
    )  # fmt: skip
    log.info("import task %d done: receipt %d %s", task.id, receipt.id, receipt.status)
    return "done"


class _task_file:
    """The task's file: its path, or its kept bytes written to a temporary file."""

    def __init__(self, factory, task: TaskView):
        self.factory, self.task = factory, task
        self.folder = None

    def __enter__(self) -> Path:
        if not self.task.stored:
            return Path(self.task.path)
        with self.factory() as s:
            content = queue.task_content(s, self.task.id)
        self.folder = tempfile.TemporaryDirectory(prefix="fundledger-task-")
        safe = re.sub(r"[^\w.\-]", "_", Path(self.task.file_name).name) or "upload"
        path = Path(self.folder.name) / safe
        path.write_bytes(content)
        return path

    def __exit__(self, *exc) -> None:
        if self.folder is not None:
            self.folder.cleanup()
