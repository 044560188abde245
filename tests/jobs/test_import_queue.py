"""The import worker: queued uploads imported oldest first with their progress; a worker
killed mid-file leaves nothing posted and the task is finished on restart; a task that
keeps breaking fails with an alert."""

from __future__ import annotations

import itertools
import threading

import pytest

import ledger.bankfiles.imports as imports_module
from jobs.imports import work_queue
from ledger.bankfiles.imports import get_receipt
from ledger.db import run_in_transaction
from ledger.ops import queue
from ledger.ops.alerts import alerts_page
from ledger.ops.errors import TaskSourceError
from ledger.ops.queue import enqueue_import, get_task, tasks_page
from tests.bankfiles.conftest import FILES, TODAY, state, verify_ok
from tests.jobs.conftest import Clock

REPAYMENTS = "icbc_repayment_chunks.csv"  # 20 rows


class Killed(BaseException):
    """The worker's process dying: nothing catches it."""


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(imports_module, "CHUNK_LINES", 3)
    monkeypatch.setattr(imports_module, "PROGRESS_ROWS", 4)


def enqueue(factory, name=REPAYMENTS, *, stored=False, actor="icbc", clock=None):
    def work(s):
        if stored:
            return enqueue_import(
                s, kind="repayment", bank="ICBC", actor=actor,
                content=(FILES / name).read_bytes(), file_name=name,
                now=clock() if clock else None,
            )  # fmt: skip
        return enqueue_import(
            s, kind="repayment", bank="ICBC", actor=actor, path=FILES / name,
            now=clock() if clock else None,
        )  # fmt: skip

    return run_in_transaction(factory, work)


def task(factory, task_id):
    with factory() as s:
        return get_task(s, task_id)


@pytest.mark.parametrize("stored", [False, True], ids=["path", "bytes"])
def test_a_queued_file_is_imported_with_its_progress(city, small_chunks, stored):
    queued = enqueue(city, stored=stored)
    assert (queued.status, queued.attempts, queued.stored, queued.file_name) == (
        "queued", 0, stored, REPAYMENTS,
    )  # fmt: skip
    reports = []
    seen_in_db = []
    postgresql = city.kw["bind"].dialect.name == "postgresql"

    def watch(t, p):
        reports.append((p.read, p.checked, p.posted))
        if postgresql:  # what a page reads meanwhile: the report before this one
            seen_in_db.append(task(city, t.id))

    counts = work_queue(city, TODAY, worker="w1", on_progress=watch)
    assert counts == {"requeued": 0, "done": 1, "failed": 0, "retry": 0}
    done = task(city, queued.id)
    receipt = get_receipt_of(city, done.receipt_id)
    assert (receipt.status, receipt.rows, receipt.posted) == ("accepted", 20, 20)
    assert (done.status, done.attempts, done.worker, done.stored) == ("done", 1, "w1", False)
    assert (done.rows_read, done.rows_checked, done.rows_posted) == (20, 20, 20)
    # Reading every 4 rows, then each chunk of 3 repayments checked and posted.
    assert reports[:5] == [(4, 0, 0), (8, 0, 0), (12, 0, 0), (16, 0, 0), (20, 0, 0)]
    assert reports[-1] == (20, 20, 20)
    assert all(a <= b for a, b in itertools.pairwise(reports))
    if postgresql:
        assert [(t.rows_read, t.rows_checked, t.rows_posted) for t in seen_in_db[1:]] == [
            r for r in reports[:-1]
        ]
        assert {t.status for t in seen_in_db} == {"running"}
    verify_ok(city)


def get_receipt_of(factory, receipt_id):
    with factory() as s:
        return get_receipt(s, receipt_id)


def test_a_worker_killed_mid_file_leaves_nothing_posted_and_finishes_on_restart(city, small_chunks):
    clock = Clock()
    queued = enqueue(city, stored=True, clock=clock)
    before = state(city)

    def die(t, p):
        if p.posted >= 6:  # two chunks posted in the import's transaction
            raise Killed

    with pytest.raises(Killed):
        work_queue(city, TODAY, worker="w1", on_progress=die, now=clock)
    assert state(city) == before  # nothing of the file is in the books
    left = task(city, queued.id)
    assert (left.status, left.attempts, left.receipt_id, left.worker) == ("running", 1, None, "w1")
    # Restarted within the stale limit: the task still looks taken.
    clock.advance(minutes=4)
    assert work_queue(city, TODAY, worker="w2", now=clock) == {
        "requeued": 0, "done": 0, "failed": 0, "retry": 0,
    }  # fmt: skip
    clock.advance(minutes=2)
    assert work_queue(city, TODAY, worker="w2", now=clock) == {
        "requeued": 1, "done": 1, "failed": 0, "retry": 0,
    }  # fmt: skip
    done = task(city, queued.id)
    assert (done.status, done.attempts, done.worker) == ("done", 2, "w2")
    assert done.error is None
    receipt = get_receipt_of(city, done.receipt_id)
    assert (receipt.status, receipt.rows, receipt.posted) == ("accepted", 20, 20)
    assert state(city) != before
    verify_ok(city)


def test_a_task_that_keeps_breaking_fails_after_its_attempts_with_an_alert(
    city, small_chunks, monkeypatch
):
    clock = Clock()
    queued = enqueue(city, clock=clock)
    before = state(city)

    def broken(t, p):
        if p.read >= 8:
            raise OSError("disk unreadable")

    outcomes = [
        work_queue(city, TODAY, worker="w", on_progress=broken, now=clock, limit=1)
        for _ in range(3)
    ]
    assert [o["retry"] for o in outcomes] == [1, 1, 0]
    assert outcomes[2]["failed"] == 1
    failed = task(city, queued.id)
    assert (failed.status, failed.attempts, failed.error) == (
        "failed",
        3,
        "OSError: disk unreadable",
    )
    assert state(city) == before
    with city() as s:
        (alert,) = alerts_page(s).items
    assert (alert.kind, alert.bank_code, alert.detail) == (
        "import-failed", "ICBC", "OSError: disk unreadable",
    )  # fmt: skip
    assert alert.subject == f"文件 {REPAYMENTS} 导入 3 次均未完成"


def test_a_refused_request_fails_the_task_without_retries(city):
    # A task whose uploader may not act for its bank (written past enqueue's checks).
    from sqlalchemy import update

    from ledger.ops.models import ImportTask

    queued = enqueue(city)
    run_in_transaction(city, lambda s: s.execute(update(ImportTask).values(actor="abc")))
    assert work_queue(city, TODAY, worker="w") == {
        "requeued": 0, "done": 0, "failed": 1, "retry": 0,
    }  # fmt: skip
    failed = task(city, queued.id)
    assert failed.status == "failed"
    assert failed.error.startswith("permission-denied: ")
    assert failed.attempts == 1


def test_enqueue_checks_the_request(city, tmp_path):
    with pytest.raises(TaskSourceError) as caught:
        run_in_transaction(
            city, lambda s: enqueue_import(s, kind="repayment", bank="ICBC", actor="icbc")
        )
    assert caught.value.zh == "请提供文件路径或文件内容（二者之一）"
    with pytest.raises(TaskSourceError) as caught:
        run_in_transaction(
            city,
            lambda s: enqueue_import(
                s, kind="repayment", bank="ICBC", actor="icbc", path=tmp_path / "none.csv"
            ),
        )
    assert caught.value.code == "import-task-source"
    from ledger.fund.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        run_in_transaction(
            city,
            lambda s: enqueue_import(
                s, kind="repayment", bank="ABC", actor="icbc", path=FILES / REPAYMENTS
            ),
        )
    # As import_file checks it: a bank's file names its bank, a bureau list none, and only
    # the roles that import a list queue it.
    from ledger.bankfiles.reading import FileRejected

    def enqueue_as(kind, bank, actor):
        return run_in_transaction(
            city,
            lambda s: enqueue_import(s, kind=kind, bank=bank, actor=actor, path=FILES / REPAYMENTS),
        )

    with pytest.raises(FileRejected) as caught:
        enqueue_as("repayment", None, "clerk")
    assert caught.value.zh == "还款明细由经办银行报送，请指定银行"
    with pytest.raises(FileRejected) as caught:
        enqueue_as("borrowers", "ICBC", "clerk")
    assert caught.value.zh == "借款人名单是本局自己的名单，不属于任何经办银行，请勿指定银行（ICBC）"
    with pytest.raises(PermissionDeniedError) as caught:
        enqueue_as("guarantees", None, "clerk")
    assert caught.value.zh == "用户 clerk 无权执行此操作：需要审核角色"
    with city() as s:
        assert tasks_page(s).items == ()


def test_tasks_are_taken_oldest_first_and_listed(city):
    first, second = enqueue(city), enqueue(city, stored=True)
    with city() as s:
        page = tasks_page(s, status="queued")
    assert [t.id for t in page.items] == [second.id, first.id]
    taken = run_in_transaction(city, lambda s: queue.claim_task(s, worker="w"))
    assert taken.id == first.id


@pytest.mark.postgresql_only
def test_two_workers_never_take_the_same_task(city):
    from ledger.db import session_factory

    engine = city.kw["bind"]
    ids = [enqueue(city).id for _ in range(12)]
    taken: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    barrier = threading.Barrier(3)

    def work(name):
        factory = session_factory(engine)
        barrier.wait()
        while t := run_in_transaction(factory, lambda s: queue.claim_task(s, worker=name)):
            taken[name].append(t.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(n for ids_ in taken.values() for n in ids_) == ids
