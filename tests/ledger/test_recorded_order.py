""" "As recorded at T" follows commit order: a transaction that began before T and commits
after it is not in the books as recorded at T, whenever that is asked; the chain marks
that place commits in time are checked by ``verify``."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ledger.balances import balance, trial_balance
from ledger.chain import recorded_through, seal_pending
from ledger.clock import utcnow
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, credit, debit, post_entries
from ledger.errors import LedgerError
from ledger.models import ChainMark
from ledger.verify import verify

D = dt.date(2026, 1, 15)


def allocation(fen: int) -> EntryDraft:
    return EntryDraft(
        D, "capital.allocation", (debit("asset:treasury", fen), credit("capital:provincial", fen))
    )


def treasury(factory, at: dt.datetime | None = None) -> int:
    with factory() as s:
        return balance(s, "asset:treasury", recorded_at=at)


def test_a_transaction_open_at_t_and_committed_after_is_not_recorded_at_t(chart, engine):
    run_in_transaction(chart, lambda s: post_entries(s, [allocation(100)], actor="clerk"))
    seal_pending(engine)
    with chart() as s, s.begin():
        # Its entries take their recorded_at now, before T: the application's clock
        # would count them as recorded at T.
        post_entries(s, [allocation(20), allocation(3)], actor="clerk")
        time.sleep(0.01)
        t = utcnow()
        time.sleep(0.01)
    seal_pending(engine)
    assert treasury(chart, t) == 100
    assert treasury(chart) == 123
    time.sleep(0.01)
    assert treasury(chart, t) == 100  # the same, asked again later
    assert treasury(chart, utcnow()) == 123
    with chart() as s:
        tb = trial_balance(s, recorded_at=t)
        assert [(ln.code, ln.debit, ln.credit) for ln in tb.lines] == [
            ("asset:treasury", 100, 0),
            ("capital:provincial", 0, 100),
        ]
        assert verify(s).problems == []


def test_before_anything_is_recorded_the_books_are_empty(chart):
    t = utcnow()
    run_in_transaction(chart, lambda s: post_entries(s, [allocation(5)], actor="clerk"))
    with chart() as s:
        assert recorded_through(s, t) == 0
    assert treasury(chart, t) == 0


def test_a_future_moment_is_refused(chart):
    with chart() as s, pytest.raises(LedgerError) as exc:
        balance(s, "asset:treasury", recorded_at=dt.datetime(2999, 1, 1))
    assert str(exc.value) == (
        "the books cannot be read as recorded at 2999-01-01 00:00:00: it is in the future"
    )


def test_every_commit_that_seals_leaves_one_mark_in_order(chart, engine):
    for n in range(3):
        run_in_transaction(
            chart, lambda s, n=n: post_entries(s, [allocation(n + 1)] * 2, actor="c")
        )
        seal_pending(engine)
    with chart() as s:
        marks = s.execute(select(ChainMark.seq, ChainMark.marked_at).order_by(ChainMark.seq)).all()
        assert [m.seq for m in marks] == [2, 4, 6]
        times = [m.marked_at for m in marks]
        assert times == sorted(times)


def test_verify_names_a_mark_missing_or_back_in_time(chart, engine):
    run_in_transaction(chart, lambda s: post_entries(s, [allocation(7)], actor="clerk"))
    seal_pending(engine)
    with Session(engine) as s, s.begin():
        s.execute(insert(ChainMark), [{"seq": 5, "marked_at": dt.datetime(2000, 1, 1)}])
    with chart() as s:
        first = s.scalar(select(ChainMark.marked_at).where(ChainMark.seq == 1))
        assert verify(s).problems == [
            "the last chain mark is at seq 5, but the chain ends at seq 1 — a commit that "
            "sealed entries left no mark, so 'as recorded at' cannot place them",
            f"chain mark at seq 5 goes back in time: 2000-01-01 00:00:00 follows {first}",
        ]


@pytest.mark.postgresql_only  # SQLite: a reader's BEGIN IMMEDIATE waits for the writer
def test_a_reader_at_t_waits_for_a_bulk_commit_in_flight_and_leaves_it_out(chart, engine):
    run_in_transaction(chart, lambda s: post_entries(s, [allocation(100)], actor="clerk"))
    seal_pending(engine)
    holding, release = threading.Event(), threading.Event()

    def bulk() -> None:
        # Past the COPY threshold the batch takes the chain head inside its transaction.
        with Session(engine) as s, s.begin():
            post_entries(s, [allocation(1)] * 100, actor="clerk")
            holding.set()
            release.wait(10)

    writer = threading.Thread(target=bulk)
    writer.start()
    assert holding.wait(10)
    t = utcnow()
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    assert treasury(chart, t) == 100  # waited for the bulk commit, then left it out
    assert time.monotonic() - started >= 0.2
    writer.join(10)
    assert treasury(chart, t) == 100
    assert treasury(chart) == 200
