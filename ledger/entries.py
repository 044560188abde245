"""Posting journal entries: validation, idempotency, no-overdraft, reversal, bulk.

An entry is written in one transaction: its postings first, then its header, whose
insert the database checks (two or more postings, balanced, open period). The Python
checks here come first and give a clerk an exact message; the database's checks stand
behind them for anything that bypasses this module.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import ARRAY, Connection, Row, any_, bindparam, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger.accounts import check_postable
from ledger.chain import (
    canonical_content,
    canonical_parts,
    content_hash,
    link_new_entries,
    note_linked,
    note_unsealed,
)
from ledger.clock import utcnow
from ledger.db import copy_rows
from ledger.errors import (
    ClosedPeriodError,
    EntryError,
    IdempotencyConflictError,
    OverdraftError,
    ReversalError,
    UnbalancedEntryError,
)
from ledger.models import Account, AccountType, JournalEntry, PeriodClose, Posting, Side
from ledger.money import MAX_POSTING_FEN, format_yuan
from ledger.rows import allocate_ids

#: Most entries one bulk call may post; a bank file is split into batches of this size.
MAX_BATCH = 100_000
#: Most postings one entry may carry.
MAX_LEGS = 1_000
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
_MEMORANDUM = AccountType.MEMORANDUM.value
_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,59}$")


class Leg(NamedTuple):
    """One side of an entry: ``amount`` fen debited or credited to the account ``account``.

    A named tuple rather than a frozen dataclass: a bank file's entries carry a hundred
    thousand legs, and a tuple is made several times faster.
    """

    account: str
    side: Side
    amount: int


def debit(account: str, fen: int) -> Leg:
    return Leg(account, Side.DEBIT, fen)


def credit(account: str, fen: int) -> Leg:
    return Leg(account, Side.CREDIT, fen)


@dataclass(frozen=True)
class EntryDraft:
    """An entry to post. ``idempotency_key`` makes a retried post return the original."""

    effective_date: dt.date
    kind: str
    legs: tuple[Leg, ...]
    description: str = ""
    idempotency_key: str | None = None
    reverses_id: int | None = None

    def fingerprint(self) -> tuple:
        """What must be equal for a second post with the same key to be the same entry."""
        return fingerprint(
            self.effective_date,
            self.kind,
            self.description,
            self.reverses_id,
            ((leg.account, leg.side, leg.amount) for leg in self.legs),
        )


def fingerprint(
    effective_date: dt.date,
    kind: str,
    description: str,
    reverses_id: int | None,
    legs: Iterable[tuple[str, str, int]],
) -> tuple:
    """The content idempotency compares, for a draft or a stored entry alike."""
    postings = tuple(sorted((code, str(side), amount) for code, side, amount in legs))
    return (effective_date, kind, description, reverses_id, postings)


@dataclass(frozen=True)
class Posted:
    """The outcome of posting one draft: the entry's id, and whether this call created it."""

    entry_id: int
    created: bool


@dataclass
class _Batch:
    drafts: list[EntryDraft]
    accounts: dict[str, Row]
    results: list[Posted | None] = field(default_factory=list)
    new: list[int] = field(default_factory=list)  # indexes into drafts


def post_entry(session: Session, draft: EntryDraft, *, actor: str) -> Posted:
    """Post one entry in the session's transaction. See :func:`post_entries`."""
    return post_entries(session, [draft], actor=actor)[0]


def post_entries(session: Session, drafts: Iterable[EntryDraft], *, actor: str) -> list[Posted]:
    """Post many entries in the session's transaction, all or none.

    Raises a :class:`~ledger.errors.LedgerError` naming the first draft at fault. Entries
    whose idempotency key was posted before with the same content are not posted again;
    their result carries the original id and ``created=False``.
    """
    drafts = list(drafts)
    if not drafts:
        return []
    if len(drafts) > MAX_BATCH:
        raise EntryError(f"at most {MAX_BATCH} entries may be posted at once, not {len(drafts)}")
    _check_actor(actor)
    for n, draft in enumerate(drafts):
        _check_draft(draft, n if len(drafts) > 1 else None)
    if len(drafts) == 1 and drafts[0].reverses_id is None:
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            posted = _post_server_side(session, conn, drafts[0], actor)
            if posted is not None:
                return [posted]
            # Something would refuse it: the checks below say what, in this transaction.
    # Draw ids with the locks for small posts (the ids ride on every row returned), and
    # not when some drafts may turn out to be replays of an idempotency key.
    small = len(drafts) <= _COPY_THRESHOLD
    prefetch = len(drafts) if small and not any(d.idempotency_key for d in drafts) else 0
    locked = _lock_accounts(session, {leg.account for d in drafts for leg in d.legs}, prefetch)
    batch = _Batch(drafts, locked.accounts)
    for n, draft in enumerate(drafts):
        _check_memorandum_balances(draft, batch.accounts, n if len(drafts) > 1 else None)
    _check_open_period(locked.closed, drafts)
    _resolve_idempotency(session, batch)
    if batch.new:
        _check_overdrafts(batch)
        _write(session, batch, actor, locked.ids)
    return [r for r in batch.results if r is not None]


def reverse_entry(
    session: Session,
    entry_id: int,
    *,
    actor: str,
    effective_date: dt.date | None = None,
    description: str | None = None,
    idempotency_key: str | None = None,
) -> Posted:
    """Post the entry that undoes ``entry_id``: the same postings on the opposite sides.

    The reversal is dated ``effective_date``, by default the original's date. An entry is
    reversed at most once.
    """
    # Lock the original: a concurrent reversal of it waits here, then sees ours.
    original = session.scalar(
        select(JournalEntry).where(JournalEntry.id == entry_id).with_for_update()
    )
    if original is None:
        raise ReversalError(f"entry {entry_id} does not exist; nothing to reverse")
    if (
        idempotency_key is None
        or session.scalar(
            select(JournalEntry.id).where(JournalEntry.idempotency_key == idempotency_key)
        )
        is None
    ):
        earlier = session.scalar(
            select(JournalEntry.id).where(JournalEntry.reverses_id == entry_id)
        )
        if earlier is not None:
            raise ReversalError(f"entry {entry_id} was already reversed by entry {earlier}")
    codes = dict(
        session.execute(
            select(Account.id, Account.code).where(
                Account.id.in_({p.account_id for p in original.postings})
            )
        ).all()
    )
    legs = tuple(
        Leg(codes[p.account_id], Side(p.side).opposite, p.amount) for p in original.postings
    )
    draft = EntryDraft(
        effective_date=effective_date or original.effective_date,
        kind="reversal",
        legs=legs,
        description=description or f"Reversal of entry {entry_id}: {original.description}",
        idempotency_key=idempotency_key,
        reverses_id=entry_id,
    )
    try:
        return post_entry(session, draft, actor=actor)
    except ClosedPeriodError as exc:
        raise ClosedPeriodError(
            f"{exc} — entry {entry_id} is dated {original.effective_date}; "
            "give the reversal a date in the open period"
        ) from exc


# ----------------------------------------------------------------------------- checks


def _where(n: int | None) -> str:
    return "" if n is None else f"entry #{n + 1} of the batch: "


def _check_actor(actor: str) -> None:
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 120:
        raise EntryError("every entry needs an actor: the user or job that posts it (≤120 chars)")


def _check_draft(draft: EntryDraft, n: int | None) -> None:
    where = _where(n)
    date = draft.effective_date
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise EntryError(f"{where}effective_date must be a date, not {date!r}")
    if not EARLIEST_DATE <= date <= LATEST_DATE:
        raise EntryError(f"{where}effective_date {date} is outside {EARLIEST_DATE}…{LATEST_DATE}")
    if not isinstance(draft.kind, str) or not _KIND.match(draft.kind):
        raise EntryError(
            f"{where}kind {draft.kind!r} is not valid: lower-case letters, digits, '.', '_', '-'"
        )
    if not isinstance(draft.description, str) or len(draft.description) > 2000:
        raise EntryError(f"{where}description must be text of at most 2000 characters")
    key = draft.idempotency_key
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 200):
        raise EntryError(f"{where}idempotency key must be 1 to 200 characters")
    if not 2 <= len(draft.legs) <= MAX_LEGS:
        raise EntryError(f"{where}an entry needs 2 to {MAX_LEGS} postings, not {len(draft.legs)}")
    debits = credits = 0
    for leg in draft.legs:
        amount = leg.amount
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise EntryError(
                f"{where}posting to {leg.account}: amount must be whole fen (int), not {amount!r}"
            )
        if not 0 < amount <= MAX_POSTING_FEN:
            raise EntryError(
                f"{where}posting to {leg.account}: amount must be more than 0 and at most "
                f"{format_yuan(MAX_POSTING_FEN)} yuan, not {format_yuan(amount)}"
            )
        # Plain comparisons: Side is a StrEnum, so Side.DEBIT == "D" (hot loop, no Side()).
        if leg.side == "D":
            debits += amount
        elif leg.side == "C":
            credits += amount
        else:
            raise EntryError(
                f"{where}posting to {leg.account}: side must be D or C, not {leg.side!r}"
            )
    if debits != credits:
        raise UnbalancedEntryError(
            f"{where}entry does not balance: debits {format_yuan(debits)} yuan, credits "
            f"{format_yuan(credits)} yuan, difference {format_yuan(debits - credits)} yuan"
        )


def _check_memorandum_balances(draft: EntryDraft, accounts: dict[str, Row], n) -> None:
    """Memorandum accounts keep their own double entry: their postings balance apart."""
    net = 0
    for leg in draft.legs:
        if accounts[leg.account].type == _MEMORANDUM:
            net += leg.amount if leg.side == "D" else -leg.amount
    if net:
        raise UnbalancedEntryError(
            f"{_where(n)}the memorandum postings of the entry do not balance among "
            f"themselves (difference {format_yuan(net)} yuan)"
        )


def _check_open_period(closed: dt.date | None, drafts: Sequence[EntryDraft]) -> None:
    if closed is None:
        return
    for n, draft in enumerate(drafts):
        if draft.effective_date <= closed:
            raise ClosedPeriodError(
                f"{_where(n if len(drafts) > 1 else None)}the books are closed through "
                f"{closed}; an entry dated {draft.effective_date} is refused"
            )


def _resolve_idempotency(session: Session, batch: _Batch) -> None:
    keys = [d.idempotency_key for d in batch.drafts if d.idempotency_key is not None]
    existing = _existing_fingerprints(session, keys) if keys else {}
    first_in_batch: dict[str, int] = {}
    for n, draft in enumerate(batch.drafts):
        key = draft.idempotency_key
        if key is not None and key in existing:
            entry_id, fingerprint = existing[key]
            if fingerprint != draft.fingerprint():
                raise IdempotencyConflictError(
                    f"idempotency key {key!r} was used for entry {entry_id} with different "
                    "content; use a new key for a new entry",
                    key=key,
                )
            batch.results.append(Posted(entry_id, created=False))
            continue
        if key is not None and key in first_in_batch:
            first = batch.drafts[first_in_batch[key]]
            if first.fingerprint() != draft.fingerprint():
                raise IdempotencyConflictError(
                    f"idempotency key {key!r} appears twice in the batch with different content",
                    key=key,
                )
            batch.results.append(None)  # filled in with the first one's id after writing
            continue
        if key is not None:
            first_in_batch[key] = n
        batch.results.append(None)
        batch.new.append(n)


def _existing_fingerprints(session: Session, keys: Sequence[str]) -> dict[str, tuple[int, tuple]]:
    found: dict[str, tuple[int, tuple]] = {}
    for start in range(0, len(keys), 500):
        chunk = list(set(keys[start : start + 500]))
        rows = session.execute(
            select(
                JournalEntry.id,
                JournalEntry.idempotency_key,
                JournalEntry.effective_date,
                JournalEntry.kind,
                JournalEntry.description,
                JournalEntry.reverses_id,
            ).where(JournalEntry.idempotency_key.in_(chunk))
        ).all()
        if not rows:
            continue
        legs: dict[int, list] = defaultdict(list)
        for entry_id, code, side, amount in session.execute(
            select(Posting.entry_id, Account.code, Posting.side, Posting.amount)
            .join(Account, Account.id == Posting.account_id)
            .where(Posting.entry_id.in_([r.id for r in rows]))
        ):
            legs[entry_id].append((code, side, amount))
        for r in rows:
            found[r.idempotency_key] = (
                r.id,
                fingerprint(r.effective_date, r.kind, r.description, r.reverses_id, legs[r.id]),
            )
    return found


_ACCOUNT_COLUMNS = (
    Account.id,
    Account.code,
    Account.type,
    Account.normal_side,
    Account.is_group,
    Account.no_overdraft,
    Account.balance,
)
#: Codes looked up and locked in one statement (on PostgreSQL up to :data:`_ARRAY_CHUNK`);
#: larger batches take two passes: the ids first, then the locks in id order.
_LOCK_CHUNK = 500


@dataclass(frozen=True)
class _Locked:
    accounts: dict[str, Row]
    #: The books are closed through this date (``None``: nothing closed yet).
    closed: dt.date | None
    #: Entry ids drawn from the sequence in the same round trip (PostgreSQL), or ``None``.
    ids: list[int] | None


def _locking_statement(*, draw_ids: bool, by: str, array: bool = False):
    """Select and lock accounts (``by`` code or id); the closed-through date rides along."""
    extra = [select(func.max(PeriodClose.closed_through)).scalar_subquery().label("closed")]
    if draw_ids:
        series = func.generate_series(1, bindparam("n")).table_valued("n")
        draw = func.nextval(text("'journal_entries_id_seq'"))
        extra.append(
            select(func.array_agg(draw)).select_from(series).scalar_subquery().label("ids")
        )
    key = Account.code if by == "code" else Account.id
    if array:  # PostgreSQL: the keys as one array parameter
        wanted = key == any_(bindparam("keys", type_=ARRAY(key.type)))
    else:
        wanted = key.in_(bindparam("keys", expanding=True))
    return (
        select(*_ACCOUNT_COLUMNS, *extra)
        .where(wanted)
        .order_by(Account.id)
        .with_for_update(of=Account)
    )


# Built once: constructing a statement costs more than running it.
_LOCK_BY_CODE = _locking_statement(draw_ids=False, by="code")
_LOCK_BY_CODE_DRAWING_IDS = _locking_statement(draw_ids=True, by="code")
_LOCK_BY_ID = _locking_statement(draw_ids=False, by="id")
_IDS_BY_CODE = select(Account.id).where(Account.code.in_(bindparam("keys", expanding=True)))
#: The same on PostgreSQL with ``= ANY(array)``, many more keys a statement.
_ARRAY_CHUNK = 50_000
_IDS_BY_CODE_ARRAY = select(Account.id).where(
    Account.code == any_(bindparam("keys", type_=ARRAY(Account.code.type)))
)
_LOCK_BY_ID_ARRAY = _locking_statement(draw_ids=False, by="id", array=True)
_LOCK_BY_CODE_ARRAY = _locking_statement(draw_ids=False, by="code", array=True)


def _lock_accounts(session: Session, codes: set[str], entries: int) -> _Locked:
    """Load and lock (in id order, so writers cannot deadlock) every account named.

    Returns the accounts by code with balances read under the lock, the date the books
    are closed through and, on PostgreSQL, ``entries`` new entry ids (ids left unused by
    a refused post are a gap in ids, never in the chain's ``seq``): one round trip for an
    ordinary entry.
    """
    conn = session.connection()
    postgresql = conn.dialect.name == "postgresql"
    wanted = sorted(codes)
    if len(wanted) <= _LOCK_CHUNK:
        if postgresql and entries:
            rows = conn.execute(_LOCK_BY_CODE_DRAWING_IDS, {"keys": wanted, "n": entries}).all()
        else:
            rows = conn.execute(_LOCK_BY_CODE, {"keys": wanted}).all()
    elif postgresql and len(wanted) <= _ARRAY_CHUNK:
        # One statement locks them all in id order: no need to look the ids up first.
        rows = conn.execute(_LOCK_BY_CODE_ARRAY, {"keys": wanted}).all()
    else:
        # PostgreSQL takes each pass as one array parameter (an IN list binds each value).
        chunk = _ARRAY_CHUNK if postgresql else _LOCK_CHUNK
        by_code, by_id = (
            (_IDS_BY_CODE_ARRAY, _LOCK_BY_ID_ARRAY) if postgresql else (_IDS_BY_CODE, _LOCK_BY_ID)
        )
        ids = sorted(
            account_id
            for start in range(0, len(wanted), chunk)
            for account_id in conn.execute(by_code, {"keys": wanted[start : start + chunk]})
            .scalars()
        )  # fmt: skip
        rows = [
            row
            for start in range(0, len(ids), chunk)
            for row in conn.execute(by_id, {"keys": ids[start : start + chunk]})
        ]
    found = {row.code: row for row in rows}
    check_postable(wanted, found)
    return _Locked(found, rows[0].closed, getattr(rows[0], "ids", None))


def _check_overdrafts(batch: _Batch) -> None:
    """Replay the batch, in order, on the locked balances of must-not-go-negative accounts."""
    balances = {a.id: a.balance for a in batch.accounts.values() if a.no_overdraft}
    if not balances:
        return
    codes = {a.id: code for code, a in batch.accounts.items()}
    for n in batch.new:
        change: dict[int, int] = defaultdict(int)
        for leg in batch.drafts[n].legs:
            account = batch.accounts[leg.account]
            if account.id in balances:
                change[account.id] += _signed(account, leg)
        for account_id, delta in change.items():
            after = balances[account_id] + delta
            if after < 0:
                code = codes[account_id]
                raise OverdraftError(
                    f"{_where(n if len(batch.drafts) > 1 else None)}account {code} must not go "
                    f"negative: balance {format_yuan(balances[account_id])} yuan, this entry "
                    f"takes {format_yuan(-delta)} yuan, short by {format_yuan(-after)} yuan",
                    account_code=code,
                )
            balances[account_id] = after


def _signed(account: Row, leg: Leg) -> int:
    return leg.amount if leg.side == account.normal_side else -leg.amount


# ---------------------------------------------------------------------------- writing

_POST_SERVER_SIDE = (
    "SELECT fl_post_entry(%s::text[], %s::text[], %s::bigint[], %s::date, %s::timestamp, "
    "%s::text, %s::text, %s::text, %s::text, %s::bytea, %s::bytea, %s::bytea)"
)


def _post_server_side(
    session: Session, conn: Connection, draft: EntryDraft, actor: str
) -> Posted | None:
    """Post one entry in one round trip (PostgreSQL's ``fl_post_entry``, migration 0003).

    The function locks the accounts in id order and writes nothing, returning ``None``
    here, when any check of :func:`post_entries` would refuse the entry or the key was
    used before; it hashes the entry over the canonical content sent in parts.
    """
    recorded_at = utcnow()
    head, middle, tail = canonical_parts(
        effective_date=draft.effective_date,
        recorded_at=recorded_at,
        kind=draft.kind,
        description=draft.description,
        actor=actor,
        idempotency_key=draft.idempotency_key,
        reverses_id=None,
    )
    legs = draft.legs
    params = (
        [leg.account for leg in legs],
        [str(leg.side) for leg in legs],
        [leg.amount for leg in legs],
        draft.effective_date,
        recorded_at,
        draft.kind,
        draft.description,
        actor,
        draft.idempotency_key,
        head,
        middle,
        tail,
    )
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor:
            cursor.execute(_POST_SERVER_SIDE, params)
            entry_id = cursor.fetchone()[0]
    except dbapi.Error as exc:  # let callers see it as SQLAlchemy shows any other
        raise DBAPIError.instance("SELECT fl_post_entry", None, exc, dbapi.Error) from exc
    if entry_id is None:
        return None
    note_unsealed(session, (entry_id,))
    return Posted(entry_id, created=True)


def _write(session: Session, batch: _Batch, actor: str, ids: list[int] | None) -> None:
    if ids:
        ids = ids[: len(batch.new)]
    else:
        ids = allocate_ids(session.connection(), "journal_entries", len(batch.new))
    recorded_at = utcnow()
    entry_rows, posting_rows = [], []
    first_id_by_key: dict[str, int] = {}
    for entry_id, n in zip(ids, batch.new, strict=True):
        draft = batch.drafts[n]
        triples = _postings_in_order(draft, batch.accounts)
        posting_rows.extend(
            (entry_id, account_id, side, amount, draft.effective_date)
            for account_id, side, amount in triples
        )
        digest = content_hash(
            canonical_content(
                entry_id=entry_id,
                effective_date=draft.effective_date,
                recorded_at=recorded_at,
                kind=draft.kind,
                description=draft.description,
                actor=actor,
                idempotency_key=draft.idempotency_key,
                reverses_id=draft.reverses_id,
                postings=triples,
            )
        )
        entry_rows.append(
            (
                entry_id,
                draft.effective_date,
                recorded_at,
                draft.kind,
                draft.description,
                actor,
                draft.idempotency_key,
                draft.reverses_id,
                digest,
            )
        )
        batch.results[n] = Posted(entry_id, created=True)
        if draft.idempotency_key is not None:
            first_id_by_key[draft.idempotency_key] = entry_id
    for n, result in enumerate(batch.results):
        if result is None:  # a repeat of a key first seen earlier in this batch
            batch.results[n] = Posted(first_id_by_key[batch.drafts[n].idempotency_key], False)
    conn = session.connection()
    if conn.dialect.name == "sqlite" or len(entry_rows) > _COPY_THRESHOLD:
        # One writer (SQLite) or one commit for many entries: hold the chain head until
        # commit and write the entries sealed, instead of rewriting them after.
        links = link_new_entries(conn, [row[-1] for row in entry_rows])
        note_linked(session)
        entry_rows = [row + link for row, link in zip(entry_rows, links, strict=True)]
        entry_columns = SEALED_ENTRY_COLUMNS
    else:
        entry_columns = ENTRY_COLUMNS
    # After commit, someone must look for entries that found the head busy meanwhile.
    if conn.dialect.name == "postgresql":
        note_unsealed(session, ids)
    _insert(conn, posting_rows, entry_rows, entry_columns)


def _postings_in_order(draft: EntryDraft, accounts: dict[str, Row]) -> list[tuple]:
    """The draft's postings as (account id, side, amount) in account order; on an account
    that must not go negative, increases first (SQLite checks it row by row)."""
    pairs = [(accounts[leg.account], leg) for leg in draft.legs]
    guarded = any(account.no_overdraft for account, _ in pairs)
    if guarded:
        pairs.sort(key=lambda pair: (pair[0].id, _signed(*pair) < 0))
    # str(): a plain "D"/"C" for the driver, never an enum object.
    triples = [(account.id, str(leg.side), leg.amount) for account, leg in pairs]
    if not guarded:
        triples.sort()
    return triples


POSTING_COLUMNS = ("entry_id", "account_id", "side", "amount", "effective_date")
ENTRY_COLUMNS = (
    "id",
    "effective_date",
    "recorded_at",
    "kind",
    "description",
    "actor",
    "idempotency_key",
    "reverses_id",
    "content_hash",
)
SEALED_ENTRY_COLUMNS = (*ENTRY_COLUMNS, "seq", "prev_hash", "hash")


#: Batches up to this many rows go in one INSERT; larger ones by COPY on PostgreSQL.
_COPY_THRESHOLD = 64


def _insert(
    conn: Connection,
    posting_rows: list[tuple],
    entry_rows: list[tuple],
    entry_columns: Sequence[str],
) -> None:
    """Write the postings, then the entries (whose insert the database checks)."""
    tables = (
        (Posting.__table__, POSTING_COLUMNS, posting_rows),
        (JournalEntry.__table__, entry_columns, entry_rows),
    )
    if conn.dialect.name != "postgresql":
        for table, columns, rows in tables:
            conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
        return
    if len(posting_rows) > _COPY_THRESHOLD:
        # COPY: the statement-level triggers check the whole batch once.
        for table, columns, rows in tables:
            copy_rows(conn, table.name, columns, rows)
        return
    driver = conn.connection.driver_connection
    dbapi = conn.dialect.loaded_dbapi
    try:
        # Two multi-row INSERTs sent together: one round trip, each trigger fires once.
        with driver.pipeline(), driver.cursor() as cursor:
            for table, columns, rows in tables:
                values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
                cursor.execute(
                    f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {values}",
                    [value for row in rows for value in row],
                )
    except dbapi.Error as exc:  # let callers see it as SQLAlchemy shows any other
        raise DBAPIError.instance(f"INSERT INTO {table.name}", None, exc, dbapi.Error) from exc
