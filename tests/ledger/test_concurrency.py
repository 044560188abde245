"""Concurrent writers: no lost update, no overdraft, one entry per key, one reversal."""

import datetime as dt
import random
import threading
import traceback

import pytest
from sqlalchemy import func, select

from ledger.balances import balance
from ledger.chain import drain_sealer
from ledger.db import make_engine, run_in_transaction, session_factory
from ledger.entries import EntryDraft, credit, debit, post_entry, reverse_entry
from ledger.errors import OverdraftError, ReversalError
from ledger.models import JournalEntry
from ledger.verify import verify

DAY = dt.date(2025, 5, 1)
START = 1_000_00  # 1,000.00 yuan in the special account


def fund(factory, fen=START):
    for legs in (
        (debit("asset:treasury", fen), credit("capital:provincial", fen)),
        (debit("asset:special:ICBC", fen), credit("asset:treasury", fen)),
    ):
        run_in_transaction(
            factory, lambda s, legs=legs: post_entry(s, EntryDraft(DAY, "setup", legs), actor="t")
        )


def withdrawal(fen):
    return EntryDraft(
        DAY, "capital.withdrawal", (debit("asset:treasury", fen), credit("asset:special:ICBC", fen))
    )


def hammer(factory, threads, moves):
    """Each thread tries ``moves`` withdrawals; returns the amounts accepted."""
    accepted, refused, failures = [], [], []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def client(n):
        rng = random.Random(n)
        barrier.wait()
        for _ in range(moves):
            fen = rng.randint(1, 10_00)
            try:
                run_in_transaction(
                    factory, lambda s, f=fen: post_entry(s, withdrawal(f), actor=f"t{n}")
                )
            except OverdraftError:
                with lock:
                    refused.append(fen)
            except Exception:  # anything else fails the test below
                with lock:
                    failures.append(traceback.format_exc())
            else:
                with lock:
                    accepted.append(fen)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert not any(w.is_alive() for w in workers)
    assert failures == []
    return accepted, refused


def check_books(factory, accepted):
    # Draining waits for the posters' own sealing passes; it seals nothing itself.
    assert drain_sealer(factory.kw["bind"])
    with factory() as s:
        final = balance(s, "asset:special:ICBC")
        assert final == START - sum(accepted)
        assert final >= 0
        assert balance(s, "asset:treasury") == sum(accepted)
        assert s.scalar(select(func.count(JournalEntry.id))) == 2 + len(accepted)
        report = verify(s)
        assert report.problems == []
        assert report.unsealed == 0
    return final


@pytest.mark.postgresql_only
@pytest.mark.parametrize("isolation", ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
def test_eight_writers_never_overdraw(chart, db_url, isolation):
    fund(chart)
    engine = make_engine(db_url, isolation_level=isolation)
    try:
        factory = session_factory(engine)
        accepted, refused = hammer(factory, threads=8, moves=200)
        assert drain_sealer(engine)
    finally:
        engine.dispose()
    assert len(accepted) + len(refused) == 1600
    assert refused, "the account started short of the total: some moves must be refused"
    final = check_books(chart, accepted)
    assert final < min(refused)  # every refusal was a real shortfall at the end too


def test_concurrent_writers_on_this_engine(chart, db_url):
    """A smaller run on whichever engine the suite uses (SQLite: one writer at a time)."""
    fund(chart, fen=50_00)
    accepted, refused = hammer(chart, threads=4, moves=25)
    assert len(accepted) + len(refused) == 100
    assert drain_sealer(chart.kw["bind"])
    with chart() as s:
        assert balance(s, "asset:special:ICBC") == 50_00 - sum(accepted) >= 0
        assert verify(s).problems == []


@pytest.mark.postgresql_only
def test_same_idempotency_key_from_eight_clients_posts_once(chart):
    fund(chart)
    draft = EntryDraft(
        DAY,
        "capital.withdrawal",
        (debit("asset:treasury", 5_00), credit("asset:special:ICBC", 5_00)),
        idempotency_key="withdraw-2025-05-01-001",
    )
    results, barrier = [], threading.Barrier(8)

    def client():
        barrier.wait()
        results.append(run_in_transaction(chart, lambda s: post_entry(s, draft, actor="bank")))

    workers = [threading.Thread(target=client) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert len({r.entry_id for r in results}) == 1
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    with chart() as s:
        assert balance(s, "asset:special:ICBC") == START - 5_00


@pytest.mark.postgresql_only
def test_concurrent_reversals_reverse_once(chart):
    fund(chart)
    outcomes, barrier = [], threading.Barrier(6)

    def client():
        barrier.wait()
        try:
            run_in_transaction(chart, lambda s: reverse_entry(s, 2, actor="li"))
            outcomes.append("reversed")
        except ReversalError as exc:
            outcomes.append(str(exc))

    workers = [threading.Thread(target=client) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert sorted(outcomes) == ["entry 2 was already reversed by entry 3"] * 5 + ["reversed"]
