"""``verify`` passes on healthy books and names the entry for each kind of tampering."""

import datetime as dt

import pytest
from sqlalchemy import text

from ledger.chain import canonical_content, chain_hash, content_hash, drain_sealer
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, credit, debit, post_entries
from ledger.verify import verify


@pytest.fixture
def books(chart, engine):
    """Three sealed entries: two allocations and a placement."""
    drafts = [
        EntryDraft(
            dt.date(2025, 1, 6),
            "capital.allocation",
            (debit("asset:treasury", 5_000_000_00), credit("capital:provincial", 5_000_000_00)),
            "省级拨付",
        ),
        EntryDraft(
            dt.date(2025, 1, 20),
            "capital.allocation",
            (debit("asset:treasury", 2_500_000_00), credit("capital:city", 2_500_000_00)),
            "市级配套",
        ),
        EntryDraft(
            dt.date(2025, 1, 26),
            "capital.placement",
            (debit("asset:special:ICBC", 3_500_000_00), credit("asset:treasury", 3_500_000_00)),
        ),
    ]
    run_in_transaction(chart, lambda s: post_entries(s, drafts, actor="clerk:wang"))
    assert drain_sealer(engine)
    return chart, engine


def tamper(engine, *statements):
    """Run statements with the books' triggers switched off, as an intruder with DB rights."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for sql in statements:
                conn.execute(text(sql))
        return
    raw = engine.raw_connection()  # autocommit: the pragma only works outside a transaction
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA foreign_keys = OFF")
        saved = cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _ in saved:
            cur.execute(f"DROP TRIGGER {name}")
        for sql in statements:
            cur.execute(sql)
        for _, sql in saved:
            cur.execute(sql)
        cur.execute("PRAGMA foreign_keys = ON")
    finally:
        raw.close()


def problems(factory):
    with factory() as s:
        return verify(s).problems


def test_healthy_books_verify(books):
    factory, _ = books
    with factory() as s:
        report = verify(s)
    assert report.ok
    assert (report.entries, report.sealed, report.postings) == (3, 3, 6)


def test_tampered_amount(books):
    factory, engine = books
    tamper(
        engine,
        "UPDATE postings SET amount = 400000000 WHERE entry_id = 3",
    )
    assert problems(factory) == [
        "entry 3: content does not match its content hash — the entry or its postings were "
        "changed after posting",
        "account asset:special:ICBC: stored balance 350000000 fen, postings sum to 400000000 fen",
        "account asset:treasury: stored balance 400000000 fen, postings sum to 350000000 fen",
    ]


def test_tampered_amount_unbalancing_entry(books):
    factory, engine = books
    tamper(engine, "UPDATE postings SET amount = 1 WHERE entry_id = 2 AND side = 'C'")
    found = problems(factory)
    assert "entry 2: debits 250000000 fen ≠ credits 1 fen" in found
    assert "trial balance: debits 1100000000 fen ≠ credits 850000001 fen" in found


def _rehash(engine, entry_id, description):
    """An intruder who edits entry ``entry_id`` and recomputes its content hash."""
    with engine.connect() as conn:
        e = conn.execute(text("SELECT * FROM journal_entries WHERE id = :i"), {"i": entry_id}).one()
        postings = conn.execute(
            text("SELECT account_id, side, amount FROM postings WHERE entry_id = :i"),
            {"i": entry_id},
        ).all()
    recorded_at = e.recorded_at
    if isinstance(recorded_at, str):
        recorded_at = dt.datetime.fromisoformat(recorded_at)
    effective = e.effective_date
    if isinstance(effective, str):
        effective = dt.date.fromisoformat(effective)
    digest = content_hash(
        canonical_content(
            entry_id=e.id,
            effective_date=effective,
            recorded_at=recorded_at,
            kind=e.kind,
            description=description,
            actor=e.actor,
            idempotency_key=e.idempotency_key,
            reverses_id=e.reverses_id,
            postings=[tuple(p) for p in postings],
        )
    )
    return e, digest


def test_edited_entry_with_recomputed_content_hash_breaks_chain_hash(books):
    factory, engine = books
    _, digest = _rehash(engine, 2, "改过的摘要")
    tamper(
        engine,
        f"UPDATE journal_entries SET description = '改过的摘要', content_hash = '{digest}' "
        "WHERE id = 2",
    )
    assert problems(factory) == [
        "entry 2 (seq 2): chain hash does not match its content hash — the entry was altered "
        "after sealing"
    ]


def test_rehashed_entry_breaks_the_link_to_the_next(books):
    factory, engine = books
    e, digest = _rehash(engine, 2, "改过的摘要")
    new_hash = chain_hash(e.prev_hash, e.seq, digest)
    tamper(
        engine,
        f"UPDATE journal_entries SET description = '改过的摘要', content_hash = '{digest}', "
        f"hash = '{new_hash}' WHERE id = 2",
    )
    assert problems(factory) == [
        "entry 3 (seq 3): previous-hash link does not match the hash of the entry before it — "
        "the chain is broken"
    ]


def test_deleted_entry_breaks_chain(books):
    factory, engine = books
    tamper(
        engine,
        "DELETE FROM postings WHERE entry_id = 2",
        "DELETE FROM journal_entries WHERE id = 2",
    )
    found = problems(factory)
    assert found[:2] == [
        "entry 3: chain position 3, expected 2 — an entry is missing from the chain or was "
        "inserted into it",
        "entry 3 (seq 3): previous-hash link does not match the hash of the entry before it — "
        "the chain is broken",
    ]
    assert "account capital:city: stored balance 250000000 fen, postings sum to 0 fen" in found


def test_removed_last_entry_is_caught_by_head(books):
    factory, engine = books
    tamper(
        engine,
        "DELETE FROM postings WHERE entry_id = 3",
        "DELETE FROM journal_entries WHERE id = 3",
    )
    found = problems(factory)
    assert found[0] == (
        "chain head says seq 3, but the last sealed entry is seq 2 or its hash differs — "
        "entries were removed from or added to the end of the chain"
    )


def test_orphan_posting_and_negative_special_account(books):
    factory, engine = books
    tamper(
        engine,
        "INSERT INTO postings (id, entry_id, account_id, side, amount, effective_date) "
        "SELECT 99, 42, id, 'C', 1, '2025-02-01' FROM accounts WHERE code = 'asset:special:ABC'",
    )
    found = problems(factory)
    assert "posting 99: belongs to entry 42, which does not exist" in found
    assert "account asset:special:ABC: must not go negative but is -1 fen" in found


def test_backdated_insert_into_closed_period(books):
    factory, engine = books
    tamper(
        engine,
        "INSERT INTO period_closes (closed_through, closed_at, actor) "
        "VALUES ('2025-01-31', '2000-01-01 00:00:00', 'li')",
    )
    found = problems(factory)
    assert found[0] == (
        "entry 1: dated 2025-01-06, recorded after the books were closed through 2025-01-31"
    )


def test_reversal_that_no_longer_mirrors_its_original(books):
    from ledger.entries import reverse_entry

    factory, engine = books
    run_in_transaction(factory, lambda s: reverse_entry(s, 3, actor="li"))
    assert drain_sealer(engine)
    tamper(engine, "UPDATE postings SET amount = 1 WHERE entry_id = 4")
    found = problems(factory)
    assert "entry 4: does not mirror the postings of entry 3, which it claims to reverse" in found
    assert found[0].startswith("entry 4: content does not match its content hash")
