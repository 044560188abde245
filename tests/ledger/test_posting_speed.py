"""The single-entry fast path: content hashed in parts, and what the function writes."""

import datetime as dt
import json

import pytest

from ledger.chain import canonical_content, canonical_parts, content_hash, drain_sealer
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, credit, debit, post_entry
from ledger.models import JournalEntry
from ledger.verify import verify


@pytest.mark.parametrize("key", [None, 'k-"1"\\中'])
def test_canonical_parts_reassemble_the_canonical_content(key):
    header = dict(
        effective_date=dt.date(2025, 1, 2),
        recorded_at=dt.datetime(2025, 1, 2, 3, 4, 5, 6),
        kind="loan.disbursement",
        description='quote " backslash \\ newline \n 中文 \u2028',
        actor="clerk",
        idempotency_key=key,
        reverses_id=None,
    )
    postings = [(12, "D", 500), (3, "C", 200), (3, "C", 300)]
    head, middle, tail = canonical_parts(**header)
    legs = json.dumps(sorted([list(p) for p in postings]), separators=(",", ":")).encode()
    assert head + b"4711" + middle + legs + tail == canonical_content(
        entry_id=4711, postings=postings, **header
    )


@pytest.mark.postgresql_only
def test_function_hashes_as_python_does(chart):
    draft = EntryDraft(
        dt.date(2025, 5, 1),
        "capital.injection",
        (debit("asset:treasury", 1_00), credit("capital:provincial", 1_00)),
        description='说明 "quoted" \\ and\nnewline',
        idempotency_key="fast-1",
    )
    posted = run_in_transaction(chart, lambda s: post_entry(s, draft, actor="t"))
    again = run_in_transaction(chart, lambda s: post_entry(s, draft, actor="t"))
    assert posted.created and again == type(posted)(posted.entry_id, created=False)
    with chart() as s:
        entry = s.get(JournalEntry, posted.entry_id)
        expected = canonical_content(
            entry_id=entry.id,
            effective_date=entry.effective_date,
            recorded_at=entry.recorded_at,
            kind=entry.kind,
            description=entry.description,
            actor=entry.actor,
            idempotency_key=entry.idempotency_key,
            reverses_id=entry.reverses_id,
            postings=[(p.account_id, p.side, p.amount) for p in entry.postings],
        )
        assert entry.content_hash == content_hash(expected)
    assert drain_sealer(chart.kw["bind"])
    with chart() as s:
        assert verify(s).problems == []
