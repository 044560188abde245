"""The three ways an entry reaches the database write the same rows and the same hashes.

On PostgreSQL a single entry is posted by the server-side function ``fl_post_entry``
(migration 0003), a small batch by multi-row INSERTs and a large one by binary COPY; on
SQLite every batch is written by the ORM's executemany. The same drafts, posted at the
same recorded moment through each path into empty books, must leave identical journal
entries (content hash, seal and chain hash included), postings and account balances.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil

import pytest
from sqlalchemy import select

from ledger import entries as entries_module
from ledger.accounts import AccountSpec, ensure_accounts
from ledger.chain import drain_sealer
from ledger.db import make_engine, run_in_transaction, session_factory
from ledger.demo.city import city_chart
from ledger.entries import EntryDraft, credit, debit, post_entries, post_entry
from ledger.models import Account, JournalEntry, Posting
from tests.conftest import _empty_postgresql

MOMENT = dt.datetime(2026, 11, 30, 9, 30, 0, 123456)
BANKS = ("ICBC", "ABC", "RCB")


def drafts() -> list[EntryDraft]:
    """80 entries of two to four postings, memorandum legs balanced among themselves."""
    rng = random.Random(20261130)
    out = []
    for n in range(80):
        day = dt.date(2025, 1, 1) + dt.timedelta(days=n)
        fen = rng.randint(1, 5_000_000)
        bank = rng.choice(BANKS)
        legs = [debit(f"asset:special:{bank}", fen), credit("asset:treasury", fen)]
        if n % 3 == 0:
            memo = rng.randint(1, 900_000)
            legs += [
                debit(f"memo:exposure:{bank}:loan-1", memo),
                credit(f"memo:exposure-contra:{bank}-loan-1", memo),
            ]
        key = f"k-{n}" if n % 4 == 0 else None
        out.append(EntryDraft(day, "capital.placement", tuple(legs), f"第 {n} 笔", key))
    return out


FUNDING = EntryDraft(
    dt.date(2024, 12, 31), "capital.allocation",
    (debit("asset:treasury", 10**12), credit("capital:provincial", 10**12)), "拨付",
)  # fmt: skip


def chart() -> list[AccountSpec]:
    """The demo city's chart and one loan's exposure accounts at each bank."""
    leaves = [
        AccountSpec(code, "贷款 1")
        for bank in BANKS
        for code in (f"memo:exposure:{bank}:loan-1", f"memo:exposure-contra:{bank}-loan-1")
    ]
    return [*city_chart(), *leaves]


def one_by_one(session_of):
    for draft in drafts():
        session_of(lambda s, d=draft: post_entry(s, d, actor="clerk"))


def small_batches(session_of):
    batch = drafts()
    for start in range(0, len(batch), 5):  # at most 20 postings: multi-row INSERTs
        session_of(lambda s, part=batch[start : start + 5]: post_entries(s, part, actor="clerk"))


def one_batch(session_of):
    session_of(lambda s: post_entries(s, drafts(), actor="clerk"))  # ~200 postings: COPY


PATHS = {"one by one": one_by_one, "small batches": small_batches, "one batch": one_batch}


def snapshot(engine) -> tuple:
    with session_factory(engine)() as s:
        entries = s.execute(
            select(
                JournalEntry.id, JournalEntry.effective_date, JournalEntry.recorded_at,
                JournalEntry.kind, JournalEntry.description, JournalEntry.actor,
                JournalEntry.idempotency_key, JournalEntry.reverses_id,
                JournalEntry.content_hash, JournalEntry.seq, JournalEntry.prev_hash,
                JournalEntry.hash,
            ).order_by(JournalEntry.id)
        ).all()  # fmt: skip
        postings = s.execute(
            select(
                Posting.entry_id, Posting.account_id, Posting.side, Posting.amount,
                Posting.effective_date,
            ).order_by(Posting.entry_id, Posting.account_id, Posting.side)
        ).all()  # fmt: skip
        balances = s.execute(select(Account.code, Account.balance).order_by(Account.code)).all()
    return [tuple(r) for r in entries], [tuple(r) for r in postings], [tuple(r) for r in balances]


def fresh(database_url, tmp_path, name: str) -> str:
    kind, where = database_url
    if kind == "sqlite":
        path = tmp_path / f"{name}.db"
        shutil.copyfile(where, path)
        return f"sqlite:///{path}"
    _empty_postgresql(where)
    return where


def test_every_write_path_gives_the_same_rows_and_hashes(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(entries_module, "utcnow", lambda: MOMENT)
    seen = {}
    for name, path in PATHS.items():
        engine = make_engine(fresh(database_url, tmp_path, name.replace(" ", "-")))
        factory = session_factory(engine)
        try:
            run_in_transaction(factory, lambda s: ensure_accounts(s, chart()))
            run_in_transaction(factory, lambda s: post_entry(s, FUNDING, actor="clerk"))
            path(lambda work, f=factory: run_in_transaction(f, work))
            assert drain_sealer(engine)
            seen[name] = snapshot(engine)
        finally:
            engine.dispose()
    first = seen["one by one"]
    entries, postings, _ = first
    assert len(entries) == 81 and len(postings) > 64 * 2
    assert all(e[9] is not None for e in entries), "every entry sealed"
    assert {e[2] for e in entries} == {MOMENT}
    for name in ("small batches", "one batch"):
        assert seen[name] == first, name


@pytest.mark.parametrize("name", sorted(PATHS))
def test_each_path_is_taken(name, database_url, tmp_path, monkeypatch):
    """The paths above really are different on PostgreSQL (guards the test itself)."""
    kind, _ = database_url
    calls = {"server": 0, "copy": 0}
    real_server, real_copy = entries_module._post_server_side, entries_module.copy_rows

    def server(*args):
        calls["server"] += 1
        return real_server(*args)

    def copy(*args):
        calls["copy"] += 1
        return real_copy(*args)

    monkeypatch.setattr(entries_module, "_post_server_side", server)
    monkeypatch.setattr(entries_module, "copy_rows", copy)
    engine = make_engine(fresh(database_url, tmp_path, "guard"))
    factory = session_factory(engine)
    try:
        run_in_transaction(factory, lambda s: ensure_accounts(s, chart()))
        run_in_transaction(factory, lambda s: post_entry(s, FUNDING, actor="clerk"))
        calls["server"] = 0
        PATHS[name](lambda work: run_in_transaction(factory, work))
        assert drain_sealer(engine)
    finally:
        engine.dispose()
    if kind == "sqlite":
        assert calls == {"server": 0, "copy": 0}
    else:
        expected = {"one by one": (80, 0), "small batches": (0, 0), "one batch": (0, 2)}[name]
        assert (calls["server"], calls["copy"]) == expected
