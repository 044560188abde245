"""The bulk helpers every layer shares: chunks, ids drawn first, inserts and updates."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from ledger.models import Account
from ledger.rows import allocate_ids, chunks


def test_chunks_stream_without_holding_the_whole():
    source = itertools.count()
    first = next(chunks(source, 3))
    assert first == [0, 1, 2]
    assert next(source) == 3  # nothing read past the first chunk
    assert list(chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunks([], 2)) == []


def test_ids_are_drawn_in_order_after_the_highest(chart):
    with chart() as s, s.begin():
        conn = s.connection()
        top = s.scalar(select(Account.id).order_by(Account.id.desc()).limit(1))
        ids = allocate_ids(conn, "accounts", 3)
        assert ids == sorted(ids) and len(set(ids)) == 3 and ids[0] > top
