"""Sealing that no commit can miss: every entry takes its place in the hash chain however
its transaction commits (``run_in_transaction``, a plain ``Session.commit()``, a session
of any factory), a sealing pass goes on until nothing that was waiting is left, a process
forked while a sealer runs seals its own entries, and ``fundledger seal`` links what a
crash left unsealed."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import chain
from ledger.chain import drain_sealer, seal_pending
from ledger.cli import cli
from ledger.entries import EntryDraft, credit, debit, post_entries, post_entry
from ledger.models import JournalEntry
from ledger.verify import verify

D = dt.date(2026, 1, 15)


def allocation(n: int) -> EntryDraft:
    return EntryDraft(
        D, "capital.allocation",
        (debit("asset:treasury", 100 + n), credit("capital:provincial", 100 + n)),
        f"allocation {n}",
    )  # fmt: skip


def unsealed(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).where(JournalEntry.seq.is_(None)))


def chain_ok(factory) -> None:
    with factory() as s:
        report = verify(s)
    assert report.problems == []
    assert report.unsealed == 0


def test_a_plain_session_commit_is_sealed(chart, engine):
    # No run_in_transaction: a Flask request or a job may commit a session itself.
    session = Session(engine)  # not even the project's factory
    post_entry(session, allocation(1), actor="clerk")
    session.commit()
    session.close()
    assert drain_sealer(engine)
    assert unsealed(chart) == 0
    chain_ok(chart)


def test_a_rolled_back_session_asks_nothing_to_be_sealed(chart, engine):
    session = Session(engine)
    post_entry(session, allocation(1), actor="clerk")
    session.rollback()
    session.close()
    assert not session.info
    with Session(engine) as session, session.begin():
        post_entry(session, allocation(2), actor="clerk")
    assert drain_sealer(engine)
    with chart() as s:
        assert s.scalar(select(func.count()).select_from(JournalEntry)) == 1
    chain_ok(chart)


def test_a_pass_goes_on_until_nothing_that_was_waiting_is_left(chart, engine, monkeypatch):
    # A full pass (SEAL_BATCH entries) may leave more behind it: the sealer must not
    # answer the requests before those are sealed too.
    monkeypatch.setattr(chain, "SEAL_BATCH", 3)
    monkeypatch.setattr(chain, "seal_soon", lambda engine, ids: None)  # a crash, in effect
    for n in range(10):
        with Session(engine) as session, session.begin():
            post_entry(session, allocation(n), actor="clerk")
    if engine.dialect.name == "sqlite":
        assert unsealed(chart) == 0  # SQLite writes every entry sealed
        return
    assert unsealed(chart) == 10
    monkeypatch.undo()
    monkeypatch.setattr(chain, "SEAL_BATCH", 3)
    with Session(engine) as session, session.begin():
        post_entry(session, allocation(10), actor="clerk")
    assert drain_sealer(engine)
    assert unsealed(chart) == 0
    chain_ok(chart)


def test_fundledger_seal_links_what_a_crash_left_unsealed(chart, engine, db_url, monkeypatch):
    monkeypatch.setattr(chain, "seal_soon", lambda engine, ids: None)  # the process died
    for n in range(4):
        with Session(engine) as session, session.begin():
            post_entry(session, allocation(n), actor="clerk")
    with Session(engine) as session, session.begin():
        post_entries(session, [allocation(n) for n in range(4, 9)], actor="clerk")
    waiting = unsealed(chart)
    assert waiting == (0 if engine.dialect.name == "sqlite" else 9)
    result = CliRunner().invoke(cli, ["seal"], env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert result.output == f"sealed {waiting} entries\n"
    assert unsealed(chart) == 0
    chain_ok(chart)
    assert seal_pending(engine) == 0


@pytest.mark.postgresql_only  # SQLite writes every entry sealed: no sealer thread runs
def test_a_process_forked_while_a_sealer_runs_seals_its_own_entries(chart, engine, monkeypatch):
    monkeypatch.setattr(chain, "SEAL_DELAY", 0.5)
    with Session(engine) as session, session.begin():
        post_entry(session, allocation(1), actor="clerk")
    assert chain._sealer(engine).running  # waiting SEAL_DELAY before its pass
    pid = os.fork()
    if pid == 0:  # the child: its own connections, and a sealer of its own
        code = 1
        try:
            engine.dispose(close=False)
            with Session(engine) as session, session.begin():
                post_entry(session, allocation(2), actor="clerk")
            code = 0 if drain_sealer(engine, timeout=10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert drain_sealer(engine)
    assert unsealed(chart) == 0
    chain_ok(chart)
