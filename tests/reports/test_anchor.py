"""The anchor a report stands on: a close records the chain head it covers (sealing what
awaits its seal first), a closed period's reports stand on the first close reaching
their end however many closes follow, an open period's on the head; migration 0028
gives closes made before it the last entry recorded before them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ledger import migrate
from ledger.chain import drain_sealer
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, credit, debit, post_entries
from ledger.errors import LedgerError
from ledger.models import GENESIS_HASH, JournalEntry, LedgerHead, PeriodClose
from ledger.periods import close_period
from ledger.reports.anchor import anchor_for
from ledger.reports.document import Anchor

D = dt.date
TODAY = D(2026, 1, 1)


def allocate(factory, fen, day):
    """One allocation entry, committed (not waiting for its seal); its id."""
    draft = EntryDraft(
        day,
        "capital.allocation",
        (debit("asset:treasury", fen), credit("capital:city", fen)),
        "拨付",
    )
    [posted] = run_in_transaction(factory, lambda s: post_entries(s, [draft], actor="clerk"))
    return posted.entry_id


def close(factory, through):
    return run_in_transaction(
        factory, lambda s: close_period(s, through, actor="li", today=TODAY)
    ).id


def entry(factory, entry_id):
    with factory() as s:
        e = s.get(JournalEntry, entry_id)
        return e.seq, e.hash


def anchor(factory, end):
    with factory() as s:
        return anchor_for(s, end)


def test_an_open_period_stands_on_the_head_a_closed_one_on_its_close(chart):
    assert anchor(chart, D(2025, 1, 31)) == Anchor(0, GENESIS_HASH, None)
    first = allocate(chart, 100, D(2025, 1, 10))
    # Closed at once: the close seals what awaits its seal (on PostgreSQL the sealer may
    # not have reached it) and records the head after it.
    close(chart, D(2025, 1, 31))
    assert drain_sealer(chart.kw["bind"])
    jan = Anchor(*entry(chart, first), D(2025, 1, 31))
    assert jan.seq == 1
    assert anchor(chart, D(2025, 1, 31)) == jan
    assert anchor(chart, D(2025, 1, 15)) == jan  # a period ending inside the closed one
    second = allocate(chart, 200, D(2025, 2, 10))
    assert drain_sealer(chart.kw["bind"])
    head = Anchor(*entry(chart, second), None)
    assert anchor(chart, D(2025, 2, 28)) == head
    # A later close moves nothing of January's: its reports keep their anchor.
    close(chart, D(2025, 2, 28))
    assert drain_sealer(chart.kw["bind"])
    allocate(chart, 300, D(2025, 3, 10))
    assert drain_sealer(chart.kw["bind"])
    assert anchor(chart, D(2025, 1, 31)) == jan
    assert anchor(chart, D(2025, 2, 28)) == Anchor(head.seq, head.hash, D(2025, 2, 28))
    with chart() as s:
        assert s.get(LedgerHead, 1).seq == 3
        closes = s.execute(
            select(PeriodClose.closed_through, PeriodClose.chain_seq).order_by(PeriodClose.id)
        ).all()
    assert closes == [(D(2025, 1, 31), 1), (D(2025, 2, 28), 2)]


def test_migration_0028_gives_earlier_closes_the_last_entry_recorded_before_them(chart, engine):
    first = allocate(chart, 100, D(2025, 1, 10))
    close(chart, D(2025, 1, 31))
    allocate(chart, 200, D(2025, 2, 10))
    assert drain_sealer(engine)
    migrate.downgrade(engine, "0026")
    migrate.upgrade(engine)
    with chart() as s:
        [(seq, digest)] = s.execute(select(PeriodClose.chain_seq, PeriodClose.chain_hash)).all()
    assert (seq, digest) == entry(chart, first)
    # The backfill put back the trigger that refuses a change of a close.
    with pytest.raises(LedgerError, match="never changed"):
        run_in_transaction(
            chart, lambda s: s.execute(PeriodClose.__table__.update().values(chain_seq=5))
        )


def test_migration_0028_gives_a_close_before_any_entry_the_genesis(chart, engine):
    close(chart, D(2025, 1, 31))
    migrate.downgrade(engine, "0026")
    migrate.upgrade(engine)
    with chart() as s:
        assert s.execute(select(PeriodClose.chain_seq, PeriodClose.chain_hash)).one() == (
            0,
            GENESIS_HASH,
        )
