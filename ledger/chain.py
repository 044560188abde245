"""The hash chain that makes the journal tamper-evident.

Each entry's ``content_hash`` is the SHA-256 of its canonical content (header and
postings), computed when it is posted. Sealing then gives the entry the next position
``seq`` in the chain and ``hash = SHA-256(prev_hash ":" seq ":" content_hash)``. Changing
any posted byte, or removing or reordering an entry, breaks a hash that ``verify`` checks.

Posting transactions never take the chain's lock: on PostgreSQL a single lock held
through every commit would cap the books at one commit per fsync. Instead, entries are
written unsealed and sealed right after commit by a short transaction that seals every
pending entry at once. On SQLite, where one writer holds the database anyway, entries
are sealed inside the posting transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ledger.models import JournalEntry, LedgerHead

#: How many entries one sealing statement covers at most.
SEAL_BATCH = 5000
#: How long a poster waits for another sealer to seal its entries before it gives up.
SEAL_WAIT_SECONDS = 30.0


def canonical_content(
    *,
    entry_id: int,
    effective_date: dt.date,
    recorded_at: dt.datetime,
    kind: str,
    description: str,
    actor: str,
    idempotency_key: str | None,
    reverses_id: int | None,
    postings: Iterable[tuple[int, str, int]],
) -> bytes:
    """The bytes that ``content_hash`` covers: sorted-key JSON, postings in sorted order."""
    doc = {
        "id": entry_id,
        "effective_date": effective_date.isoformat(),
        "recorded_at": recorded_at.isoformat(timespec="microseconds"),
        "kind": kind,
        "description": description,
        "actor": actor,
        "idempotency_key": idempotency_key,
        "reverses_id": reverses_id,
        "postings": sorted([int(a), str(s), int(m)] for a, s, m in postings),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def chain_hash(prev_hash: str, seq: int, content_hash_hex: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{seq}:{content_hash_hex}".encode()).hexdigest()


def seal_in_session(session: Session, *, limit: int = SEAL_BATCH) -> int:
    """Seal up to ``limit`` pending entries inside the session's transaction.

    The caller's transaction must hold the chain head (this takes it with a row lock on
    PostgreSQL; SQLite's writer lock already serialises).
    """
    head = session.execute(
        select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == 1).with_for_update()
    ).one()
    return _seal_after(session, head.seq, head.hash, limit)


def _seal_after(session: Session, seq: int, prev: str, limit: int) -> int:
    pending = session.execute(
        select(JournalEntry.id, JournalEntry.content_hash)
        .where(JournalEntry.seq.is_(None))
        .order_by(JournalEntry.id)
        .limit(limit)
    ).all()
    if not pending:
        return 0
    rows = []
    for entry_id, chash in pending:
        seq += 1
        digest = chain_hash(prev, seq, chash)
        rows.append({"eid": entry_id, "s": seq, "p": prev, "h": digest})
        prev = digest
    _write_seals(session, rows)
    return len(rows)


def _write_seals(session: Session, rows: Sequence[dict]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # One statement: the statement-level trigger checks the whole run at once.
        session.execute(
            text(
                "UPDATE journal_entries AS e SET seq = v.s, prev_hash = v.p, hash = v.h "
                "FROM (SELECT unnest(CAST(:eids AS bigint[])) AS eid, "
                "unnest(CAST(:ss AS bigint[])) AS s, unnest(CAST(:ps AS text[])) AS p, "
                "unnest(CAST(:hs AS text[])) AS h) AS v WHERE e.id = v.eid"
            ),
            {
                "eids": [r["eid"] for r in rows],
                "ss": [r["s"] for r in rows],
                "ps": [r["p"] for r in rows],
                "hs": [r["h"] for r in rows],
            },
        )
        return
    # SQLite's row triggers check each link against the head, so go in chain order.
    stmt = (
        update(JournalEntry.__table__)
        .where(JournalEntry.__table__.c.id == bindparam("eid"))
        .values(seq=bindparam("s"), prev_hash=bindparam("p"), hash=bindparam("h"))
    )
    session.connection().execute(stmt, list(rows))


def seal_pending(factory: sessionmaker[Session], entry_ids: Sequence[int] = ()) -> int:
    """Seal every pending entry, in transactions of their own; return how many were sealed.

    With ``entry_ids``, return once those entries are sealed: by this call, or by another
    process that holds the chain head and seals them (we then wait instead of queueing
    behind it, so concurrent posters do not serialise on the head's commits).
    """
    sealed = 0
    deadline = time.monotonic() + SEAL_WAIT_SECONDS
    while True:
        with factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # Sealing reads the newest committed head whatever the configured isolation.
                session.connection(execution_options={"isolation_level": "READ COMMITTED"})
                head = session.execute(
                    select(LedgerHead.seq, LedgerHead.hash)
                    .where(LedgerHead.id == 1)
                    .with_for_update(skip_locked=bool(entry_ids))
                ).one_or_none()
            else:
                head = session.execute(
                    select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == 1)
                ).one()
            if head is not None:
                n = _seal_after(session, head.seq, head.hash, SEAL_BATCH)
                sealed += n
                if n == SEAL_BATCH:
                    continue
                return sealed
            # Another process is sealing: done once it has sealed ours.
            left = _any_unsealed(session, entry_ids)
        if not left:
            return sealed
        if time.monotonic() > deadline:
            return sealed
        time.sleep(0.0005)


def _any_unsealed(session: Session, entry_ids: Sequence[int]) -> bool:
    for start in range(0, len(entry_ids), 1000):
        chunk = entry_ids[start : start + 1000]
        if session.scalar(
            select(JournalEntry.id)
            .where(JournalEntry.id.in_(chunk), JournalEntry.seq.is_(None))
            .limit(1)
        ):
            return True
    return False
