"""The hash chain that makes the journal tamper-evident.

Each entry's ``content_hash`` is the SHA-256 of its canonical content (header and
postings), computed when it is posted. Sealing then gives the entry the next position
``seq`` in the chain and ``hash = SHA-256(prev_hash ":" seq ":" content_hash)``. Changing
any posted byte, or removing or reordering an entry, breaks a hash that ``verify`` checks.

Small posting transactions on PostgreSQL never take the chain's lock: one lock held
through every commit would cap the books at one commit per fsync. They write their
entries unsealed, and a sealer thread of the posting process seals every pending entry
in one pass a few milliseconds later (one pass costs about what sealing one entry
does). Bulk batches, and every post on SQLite (one writer holds the database anyway),
take the chain head inside their transaction and write their entries already sealed.

Every transaction that moves the chain head writes a chain mark as it commits (its last
``seq`` and the time), while it still holds the head: marks are in commit order, so
"as recorded at T" (``recorded_through``) is the same whenever it is asked after T.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    bindparam,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.errors import LedgerError
from ledger.models import ChainMark, JournalEntry, LedgerHead
from ledger.rows import chunks

log = logging.getLogger(__name__)

#: How many entries one sealing statement covers at most.
SEAL_BATCH = 5000


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
    return _dumps(doc).encode()


def canonical_parts(
    *,
    effective_date: dt.date,
    recorded_at: dt.datetime,
    kind: str,
    description: str,
    actor: str,
    idempotency_key: str | None,
    reverses_id: int | None,
) -> tuple[bytes, bytes, bytes]:
    """:func:`canonical_content` in three parts, for the server to fill in the rest.

    ``head + str(entry_id) + middle + postings + tail`` is the canonical content, where
    ``postings`` is the JSON of the sorted postings: PostgreSQL's ``fl_post_entry`` knows
    the entry id and the account ids only once it has drawn and locked them.
    """
    # Sorted keys: actor, description, effective_date | id | idempotency_key, kind |
    # postings | recorded_at, reverses_id.
    before = {
        "actor": actor,
        "description": description,
        "effective_date": effective_date.isoformat(),
    }
    between = {"idempotency_key": idempotency_key, "kind": kind}
    after = {
        "recorded_at": recorded_at.isoformat(timespec="microseconds"),
        "reverses_id": reverses_id,
    }
    head = _dumps(before)[:-1] + ',"id":'
    middle = "," + _dumps(between)[1:-1] + ',"postings":'
    tail = "," + _dumps(after)[1:]
    return head.encode(), middle.encode(), tail.encode()


def _dumps(doc: dict) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def chain_hash(prev_hash: str, seq: int, content_hash_hex: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{seq}:{content_hash_hex}".encode()).hexdigest()


# Built once: constructing a statement costs more than running it.
_HEAD = select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == 1)
_HEAD_LOCKED = _HEAD.with_for_update()
_HEAD_UNLESS_LOCKED = _HEAD.with_for_update(skip_locked=True)
_PENDING = select(JournalEntry.id, JournalEntry.content_hash).where(JournalEntry.seq.is_(None))
_PENDING_IN_ORDER = _PENDING.order_by(JournalEntry.id).limit(bindparam("limit"))
_ANY_OF_PENDING = _PENDING.where(JournalEntry.id.in_(bindparam("ids", expanding=True))).limit(1)
_SEAL_POSTGRESQL = text(
    "UPDATE journal_entries AS e SET seq = v.s, prev_hash = v.p, hash = v.h "
    "FROM (SELECT unnest(CAST(:eids AS bigint[])) AS eid, "
    "unnest(CAST(:ss AS bigint[])) AS s, unnest(CAST(:ps AS text[])) AS p, "
    "unnest(CAST(:hs AS text[])) AS h) AS v WHERE e.id = v.eid"
)
_SEAL_PASS_POSTGRESQL = text("SELECT fl_seal_pending(:wait, :limit)")
_SEAL_ONE = (
    update(JournalEntry.__table__)
    .where(JournalEntry.__table__.c.id == bindparam("eid"))
    .values(seq=bindparam("s"), prev_hash=bindparam("p"), hash=bindparam("h"))
)


def link_new_entries(conn: Connection, content_hashes: Sequence[str]) -> list[tuple[int, str, str]]:
    """Take the chain head for this transaction and give new entries their places.

    Entries committed by others and still pending are sealed first. Returns, for each
    content hash in order, ``(seq, prev_hash, hash)`` to write with the entry: the
    database accepts a sealed insert only if it continues the chain from the head.
    """
    head = conn.execute(_HEAD_LOCKED).one()
    n, seq, prev = _seal_after(conn, head.seq, head.hash, SEAL_BATCH)
    while n == SEAL_BATCH:
        n, seq, prev = _seal_after(conn, seq, prev, SEAL_BATCH)
    links = []
    for chash in content_hashes:
        seq += 1
        digest = chain_hash(prev, seq, chash)
        links.append((seq, prev, digest))
        prev = digest
    return links


def seal_and_hold(session: Session) -> tuple[int, str]:
    """Take the chain head for ``session``'s transaction (held until it ends), seal every
    entry committed and still awaiting its seal, and return the head: ``(seq, hash)``.

    What a period close records: no entry can be sealed before it while the transaction
    holds the head, so the head returned covers every entry committed before it. When it
    sealed any, the transaction writes its chain mark as it commits."""
    conn = session.connection()
    head = conn.execute(_HEAD_LOCKED).one()
    seq, prev, n = head.seq, head.hash, SEAL_BATCH
    while n == SEAL_BATCH:
        n, seq, prev = _seal_after(conn, seq, prev, SEAL_BATCH)
        if n:
            note_linked(session)
    return seq, prev


def _seal_after(conn: Connection, seq: int, prev: str, limit: int) -> tuple[int, int, str]:
    """Seal up to ``limit`` pending entries after ``(seq, prev)``: (how many, new end)."""
    pending = conn.execute(_PENDING_IN_ORDER, {"limit": limit}).all()
    return (len(pending), *_seal_rows(conn, seq, prev, pending))


def _seal_rows(
    conn: Connection, seq: int, prev: str, pending: Sequence[tuple[int, str]]
) -> tuple[int, str]:
    """Seal ``pending`` after ``(seq, prev)``; return the new end of the chain."""
    if not pending:
        return seq, prev
    rows = []
    for entry_id, chash in pending:
        seq += 1
        digest = chain_hash(prev, seq, chash)
        rows.append({"eid": entry_id, "s": seq, "p": prev, "h": digest})
        prev = digest
    _write_seals(conn, rows)
    return seq, prev


def _write_seals(conn: Connection, rows: Sequence[dict]) -> None:
    if conn.dialect.name == "postgresql":
        # One statement: the statement-level trigger checks the whole run at once.
        conn.execute(
            _SEAL_POSTGRESQL,
            {
                "eids": [r["eid"] for r in rows],
                "ss": [r["s"] for r in rows],
                "ps": [r["p"] for r in rows],
                "hs": [r["h"] for r in rows],
            },
        )
        return
    # SQLite's row triggers check each link against the head, so go in chain order.
    conn.execute(_SEAL_ONE, list(rows))


def seal_pending(engine: Engine) -> int:
    """Seal every pending entry, waiting for the chain head if need be; return how many."""
    return _seal_until_done(engine, wait=True) or 0


def _seal_until_done(engine: Engine, *, wait: bool) -> int | None:
    """Sealing passes until none is left pending (a full pass may leave more behind it);
    how many were sealed, or None if another process holds the chain head (and so seals
    them) and ``wait`` is false."""
    sealed = 0
    while True:
        n = _pass(engine, wait=wait)
        if n is None:
            return None
        sealed += n
        if n < SEAL_BATCH:
            return sealed


def _pass(engine: Engine, *, wait: bool) -> int | None:
    """One sealing transaction; ``None`` if another holds the head and ``wait`` is false."""
    options = {"isolation_level": "READ COMMITTED"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin() as txn:
        n = _seal_pass(conn, wait)
        if not n:
            txn.rollback()  # nothing written: no commit, no fsync
        else:
            mark_chain(conn)
        return n


def _seal_pass(conn: Connection, wait: bool) -> int | None:
    """Take the head and seal what is pending; ``None`` when another process holds it.

    The pending entries are read by a statement of their own, after the lock: in READ
    COMMITTED, a statement that waited on or skipped to the head row sees the head's
    newest version but an older snapshot of everything else.
    """
    if conn.dialect.name == "postgresql":
        # One round trip: fl_seal_pending (migration 0003) does the same on the server.
        return conn.execute(_SEAL_PASS_POSTGRESQL, {"wait": wait, "limit": SEAL_BATCH}).scalar()
    head = conn.execute(_HEAD_LOCKED if wait else _HEAD_UNLESS_LOCKED).one_or_none()
    if head is None:
        return None
    return _seal_after(conn, head.seq, head.hash, SEAL_BATCH)[0]


def _all_sealed(engine: Engine, entry_ids: Sequence[int]) -> bool:
    """True when none of ``entry_ids`` awaits sealing (autocommit reads: no BEGIN/COMMIT)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for chunk in chunks(entry_ids, 1000):
            if conn.execute(_ANY_OF_PENDING, {"ids": chunk}).first() is not None:
                return False
    return True


class _Sealer:
    """Seals, in batches, what this process's transactions committed unsealed."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        #: Sealing requests made (one per committing transaction) and those answered.
        self.requested = 0
        self.done = 0
        self.running = False
        #: Ids of the entries the unanswered requests are about.
        self.entry_ids: list[int] = []


#: How long the sealer waits for more commits to join a pass. Sealing 1,000 entries in
#: one pass costs about what sealing one does, so batching is what makes posting fast
#: (8 posting processes: ~650 entries/s at 25 ms, ~750 at 100 ms). It is also the
#: longest an entry waits for its place in the chain under normal operation.
SEAL_DELAY = 0.1
#: Longest pause between two tries when sealing fails (database away, say).
MAX_SEAL_BACKOFF = 5.0

_sealers: weakref.WeakKeyDictionary[Engine, _Sealer] = weakref.WeakKeyDictionary()
_sealers_guard = threading.Lock()


def _sealer(engine: Engine) -> _Sealer:
    with _sealers_guard:
        sealer = _sealers.get(engine)
        if sealer is None:
            sealer = _sealers[engine] = _Sealer()
        return sealer


def seal_soon(engine: Engine, entry_ids: Sequence[int]) -> None:
    """Ask for what was just committed to be sealed; return at once.

    A thread of this process answers the requests: after a short wait it tries one
    sealing pass, which seals every entry pending when it starts, so every request made
    before the try is answered when the pass runs. If another process holds the chain
    head, the requests are answered once their entries are sealed (usually by that
    process's pass); until then the thread tries again. It stops when every request is
    answered.
    """
    sealer = _sealer(engine)
    with sealer.cond:
        sealer.requested += 1
        sealer.entry_ids.extend(entry_ids)
        if sealer.running:
            return
        sealer.running = True
    threading.Thread(
        target=_run_sealer, args=(engine, sealer), name="fundledger-sealer", daemon=True
    ).start()


def _run_sealer(engine: Engine, sealer: _Sealer) -> None:
    pause = SEAL_DELAY
    while True:
        time.sleep(pause)
        with sealer.cond:
            target, asked = sealer.requested, list(sealer.entry_ids)
        try:
            answered = _seal_until_done(engine, wait=False) is not None or _all_sealed(
                engine, asked
            )
            pause = SEAL_DELAY
        except Exception:  # the entries stay pending; a later try or `seal` takes them
            log.exception("sealing pass failed; trying again in %.1f s", pause)
            answered, pause = False, min(MAX_SEAL_BACKOFF, pause * 2)
        with sealer.cond:
            if answered:
                sealer.done = target
                del sealer.entry_ids[: len(asked)]
                sealer.cond.notify_all()
            if sealer.done == sealer.requested:
                sealer.running = False
                return


def drain_sealer(engine: Engine, timeout: float = 30.0) -> bool:
    """Wait until every sealing request made so far is answered; False on timeout."""
    sealer = _sealer(engine)
    with sealer.cond:
        target = sealer.requested
        return sealer.cond.wait_for(lambda: sealer.done >= target, timeout)


@atexit.register
def _drain_all() -> None:
    for engine in list(_sealers):
        drain_sealer(engine, timeout=10.0)


def _forget_sealers_in_child() -> None:
    """A forked process has none of its parent's threads: a sealer marked running there
    would never answer. The child starts afresh; its parent's pending entries are still
    sealed by the parent, and the child's own by a sealer thread of its own."""
    global _sealers, _sealers_guard
    _sealers = weakref.WeakKeyDictionary()
    _sealers_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_sealers_in_child)


# ------------------------------------------------------------------ commit order


_LAST_MARK = select(ChainMark.seq, ChainMark.marked_at).order_by(ChainMark.seq.desc()).limit(1)
_HEAD_SEQ = select(LedgerHead.seq).where(LedgerHead.id == 1)
_HEAD_SHARED = _HEAD_SEQ.with_for_update(read=True)
# One statement: the head's seq, if the chain moved past the last mark, at a time never
# earlier than that mark's (a clock stepped back cannot reorder commits).
_MARK_SQL = (
    "INSERT INTO chain_marks (seq, marked_at) "
    "SELECT h.seq, {latest}(:now, coalesce(m.marked_at, :now)) FROM ledger_head h "
    "LEFT JOIN (SELECT seq, marked_at FROM chain_marks ORDER BY seq DESC LIMIT 1) m ON 1 = 1 "
    "WHERE h.id = 1 AND h.seq > coalesce(m.seq, 0)"
)
_MARK = {
    dialect: text(_MARK_SQL.format(latest=latest)).bindparams(bindparam("now", type_=DateTime()))
    for dialect, latest in (("postgresql", "greatest"), ("sqlite", "max"))
}


def mark_chain(conn: Connection) -> None:
    """Write the chain mark of the transaction on ``conn``, which holds the chain head
    and is about to commit: the head's ``seq`` now, at a time never earlier than the
    mark before it (a clock stepped back cannot reorder commits)."""
    conn.execute(_MARK[conn.dialect.name], {"now": utcnow()})


def recorded_through(session: Session, at: dt.datetime) -> int:
    """The chain position the books had reached at ``at`` (naive UTC).

    Entries with ``seq`` up to it had been committed and sealed by then; anything
    committed later lies beyond it, so figures "as recorded at ``at``" never change once
    ``at`` has passed. An entry committed but not yet sealed (the sealer takes it within
    ``SEAL_DELAY``) is not yet recorded.
    """
    if at > utcnow():
        raise LedgerError(f"the books cannot be read as recorded at {at}: it is in the future")
    last = session.execute(_LAST_MARK).first()
    if (last is None or last.marked_at <= at) and session.get_bind().dialect.name == "postgresql":
        # A transaction holding the head may be committing a mark at or before ``at``:
        # wait for it. (On SQLite, this transaction's BEGIN IMMEDIATE already did.)
        session.execute(_HEAD_SHARED)
    through = select(func.max(ChainMark.seq)).where(ChainMark.marked_at <= at)
    return session.scalar(through) or 0


# ------------------------------------------------------------------------ every commit


def note_unsealed(session: Session, entry_ids: Iterable[int]) -> None:
    """Record that ``session``'s transaction wrote ``entry_ids`` without their seals: when
    it commits, however it commits, the process's sealer is asked to seal them."""
    pending = session.info.setdefault(_UNSEALED, [])
    pending.extend(entry_ids)


def note_linked(session: Session) -> None:
    """Record that ``session``'s transaction moved the chain head: it writes its chain
    mark as it commits."""
    session.info[_LINKED] = True


_UNSEALED = "fundledger.unsealed"
_LINKED = "fundledger.linked"


@event.listens_for(Session, "before_commit")
def _mark_before_commit(session: Session) -> None:
    if session.info.pop(_LINKED, False):
        mark_chain(session.connection())


@event.listens_for(Session, "after_commit")
def _seal_after_commit(session: Session) -> None:
    # Registered on the Session class: every session of every factory, whatever commits
    # it (run_in_transaction, a plain commit, a web request, a job).
    unsealed = session.info.pop(_UNSEALED, None)
    if unsealed:
        seal_soon(session.get_bind(), unsealed)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    # Rolled back: the entries were never written.
    session.info.pop(_UNSEALED, None)
    session.info.pop(_LINKED, None)
