"""The import queue: uploads waiting for the import worker, with their progress.

The web application (or the command line) queues a file with :func:`enqueue_import` —
a path the worker can read, or the file's bytes kept in the task — and returns at once.
The scheduler's import worker takes the oldest queued task (:func:`claim_task`: one
worker only ever gets a task, by a row lock on PostgreSQL and the one writer of SQLite,
and a conditional status change on both), imports it through
``ledger.bankfiles.imports.import_file`` and writes its progress (rows read, checked,
posted) in short transactions of their own, so a page reads them while the import runs
(:func:`get_task`).

``import_file`` is all or nothing: a worker that dies mid-file leaves nothing posted.
Its task stays ``running`` with a heartbeat that stops moving; :func:`requeue_stale`
queues it again, its attempts counted, and after the configured number of attempts
fails it (an ``import-failed`` alert says so).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.bankfiles.imports import check_request
from ledger.bankfiles.kinds import kind_named
from ledger.clock import utcnow
from ledger.fund.reference import authenticate
from ledger.ops.alerts import raise_alert
from ledger.ops.errors import TaskSourceError, UnknownTaskError
from ledger.ops.models import AlertKind, ImportTask, Severity, TaskStatus
from ledger.paging import Page, keyset_page, one_of

#: A running task whose heartbeat is older than this lost its worker.
STALE_AFTER = dt.timedelta(minutes=5)
#: Times a task is taken before it is failed.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class TaskView:
    id: int
    bank_code: str | None
    kind: str
    file_name: str
    path: str | None
    size: int
    actor: str
    status: str
    rows_read: int
    rows_checked: int
    rows_posted: int
    attempts: int
    receipt_id: int | None
    error: str | None
    worker: str | None
    enqueued_at: dt.datetime
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None
    #: Whether the bytes are kept in the task (else the worker reads ``path``).
    stored: bool
    #: The data rows counted when it was queued (None: not counted).
    rows_expected: int | None = None


def _view(row: ImportTask) -> TaskView:
    return TaskView(
        row.id, row.bank_code, row.kind, row.file_name, row.path, row.size, row.actor,
        row.status, row.rows_read, row.rows_checked, row.rows_posted, row.attempts,
        row.receipt_id, row.error, row.worker, row.enqueued_at, row.started_at,
        row.heartbeat_at, row.finished_at, row.content is not None, row.rows_expected,
    )  # fmt: skip


def enqueue_import(
    session: Session,
    *,
    kind: str,
    actor: str,
    bank: str | None = None,
    path: Path | str | None = None,
    content: bytes | None = None,
    file_name: str | None = None,
    rows_expected: int | None = None,
    now: dt.datetime | None = None,
) -> TaskView:
    """Queue a file for the import worker: at ``path`` (which the worker must be able to
    read) or its ``content`` kept in the task (with ``file_name``). The request is checked
    now — the kind, the bank, that ``actor`` may import it — as import_file will check it
    again; the file itself is read by the worker. ``rows_expected`` is the data rows the
    caller counted, kept for showing progress against."""
    if (path is None) == (content is None):
        raise TaskSourceError(
            "queue a file by its path or by its bytes, one of the two",
            zh="请提供文件路径或文件内容（二者之一）",
        )
    spec = kind_named(kind)
    principal = authenticate(session, actor)
    check_request(session, spec.name, bank, principal)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise TaskSourceError(f"no file at {path}", zh=f"找不到文件 {path}")
        size = path.stat().st_size
        name = file_name or path.name
        where = str(path.resolve())
    else:
        size = len(content)
        name = file_name or "upload"
        where = None
    row = ImportTask(
        bank_code=bank, kind=spec.name, file_name=name[:255], path=where, content=content,
        size=size, actor=str(principal), status=TaskStatus.QUEUED, attempts=0,
        rows_read=0, rows_checked=0, rows_posted=0, rows_expected=rows_expected,
        enqueued_at=now or utcnow(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return _view(row)


def claim_task(session: Session, *, worker: str, now: dt.datetime | None = None) -> TaskView | None:
    """Take the oldest queued task for ``worker`` (None: the queue is empty). Two workers
    never take the same task: PostgreSQL skips a row another worker has locked, SQLite
    runs one writer at a time, and the status changes only from ``queued``."""
    now = now or utcnow()
    while True:
        task_id = session.scalar(
            select(ImportTask.id)
            .where(ImportTask.status == TaskStatus.QUEUED)
            .order_by(ImportTask.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if task_id is None:
            return None
        taken = session.execute(
            update(ImportTask)
            .where(ImportTask.id == task_id, ImportTask.status == TaskStatus.QUEUED)
            .values(
                status=TaskStatus.RUNNING,
                worker=worker,
                attempts=ImportTask.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                rows_read=0,
                rows_checked=0,
                rows_posted=0,
                error=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            return get_task(session, task_id)


def task_content(session: Session, task_id: int) -> bytes | None:
    """The bytes kept in the task (None when it names a path)."""
    return session.scalar(select(ImportTask.content).where(ImportTask.id == task_id))


def report_progress(
    session: Session,
    task_id: int,
    *,
    read: int,
    checked: int,
    posted: int,
    now: dt.datetime | None = None,
) -> None:
    """Record a running task's progress (and that its worker is alive)."""
    session.execute(
        update(ImportTask)
        .where(ImportTask.id == task_id, ImportTask.status == TaskStatus.RUNNING)
        .values(
            rows_read=read, rows_checked=checked, rows_posted=posted, heartbeat_at=now or utcnow()
        )
        .execution_options(synchronize_session=False)
    )


def finish_task(
    session: Session,
    task_id: int,
    *,
    receipt_id: int | None = None,
    read: int | None = None,
    checked: int | None = None,
    posted: int | None = None,
    error: str | None = None,
    now: dt.datetime | None = None,
) -> TaskView:
    """Record a task's end: ``done`` with its receipt (whatever the receipt says: an
    accepted, rejected or duplicate file is done), or ``failed`` with ``error`` (the
    request itself was refused: the bank, the actor's rights). The kept bytes are let go
    once done."""
    row = session.get(ImportTask, task_id, with_for_update=True)
    if row is None:
        raise UnknownTaskError(f"no import task {task_id}", zh=f"没有编号为 {task_id} 的导入任务")
    now = now or utcnow()
    row.status = TaskStatus.FAILED if error is not None else TaskStatus.DONE
    row.receipt_id = receipt_id
    row.error = error
    row.finished_at = row.heartbeat_at = now
    for name, value in (("rows_read", read), ("rows_checked", checked), ("rows_posted", posted)):
        if value is not None:
            setattr(row, name, value)
    if row.status == TaskStatus.DONE:
        row.content = None
    session.flush()
    return _view(row)


def retry_or_fail(
    session: Session,
    task_id: int,
    error: str,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    now: dt.datetime | None = None,
) -> TaskView:
    """A task whose import broke for a reason of the system's (the database, the disk, a
    crash): queued again, or failed with an ``import-failed`` alert once it has been
    taken ``max_attempts`` times."""
    row = session.get(ImportTask, task_id, with_for_update=True)
    now = now or utcnow()
    row.error = error
    row.heartbeat_at = now
    if row.attempts < max_attempts:
        row.status = TaskStatus.QUEUED
        row.worker = None
    else:
        row.status = TaskStatus.FAILED
        row.finished_at = now
        raise_alert(
            session, AlertKind.IMPORT_FAILED,
            f"文件 {row.file_name} 导入 {row.attempts} 次均未完成",
            key=f"task:{row.id}", detail=error, severity=Severity.WARNING,
            bank=row.bank_code, now=now,
        )  # fmt: skip
    session.flush()
    return _view(row)


def requeue_stale(
    session: Session,
    *,
    stale_after: dt.timedelta = STALE_AFTER,
    max_attempts: int = MAX_ATTEMPTS,
    now: dt.datetime | None = None,
) -> list[TaskView]:
    """Tasks left running by a worker that stopped (heartbeat older than
    ``stale_after``): queued again, or failed after ``max_attempts``."""
    now = now or utcnow()
    ids = session.scalars(
        select(ImportTask.id)
        .where(
            ImportTask.status == TaskStatus.RUNNING,
            ImportTask.heartbeat_at < now - stale_after,
        )
        .order_by(ImportTask.id)
        .with_for_update(skip_locked=True)
    ).all()
    return [
        retry_or_fail(
            session,
            task_id,
            "the worker stopped mid-import (nothing of it was posted)",
            max_attempts=max_attempts,
            now=now,
        )
        for task_id in ids
    ]


def get_task(session: Session, task_id: int) -> TaskView:
    row = session.get(ImportTask, task_id)
    if row is None:
        raise UnknownTaskError(f"no import task {task_id}", zh=f"没有编号为 {task_id} 的导入任务")
    session.refresh(row)
    return _view(row)


def tasks_page(
    session: Session,
    *,
    status: str | None = None,
    bank: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[TaskView]:
    """Import tasks newest first, of one status and one bank if given."""
    status = one_of(status, TaskStatus, "task status", "任务状态")
    stmt = select(ImportTask)
    if status is not None:
        stmt = stmt.where(ImportTask.status == status)
    if bank is not None:
        stmt = stmt.where(ImportTask.bank_code == bank)
    return keyset_page(
        session, stmt, ImportTask.id, before=before, limit=limit,
        values=lambda rows: [_view(r) for r in rows], noun="tasks", scalars=True,
    )  # fmt: skip
