"""Reading the journal: pages of entries with their postings, and one entry, as immutable
values that the command line, the web pages and the API render alike.

Pages are keyset-paged (:mod:`ledger.paging`), newest first: a page holds at most ``limit``
entries with ids below ``before``, and its ``next_before`` is the cursor of the page after
it (None on the last page). Asking for the same cursor later gives the same entries:
posted entries never change. :func:`entry_views` reads given entries the same way, for the
read models that list a record's entries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from ledger.models import Account, JournalEntry, Posting
from ledger.paging import MAX_PAGE, Cursor, Page, SortKey, keyset_page
from ledger.rows import chunks

__all__ = [
    "ENTRY_SORTS",
    "MAX_PAGE",
    "EntryView",
    "Page",
    "PostingLine",
    "entries_page",
    "entry",
    "entry_views",
]

#: The orders the journal may be listed in: the effective (business) date.
ENTRY_SORTS = (SortKey("effective_date", JournalEntry.effective_date, dt.date),)


@dataclass(frozen=True)
class PostingLine:
    account: str
    #: ``D`` or ``C``.
    side: str
    #: Fen.
    amount: int


@dataclass(frozen=True)
class EntryView:
    id: int
    effective_date: dt.date
    recorded_at: dt.datetime
    kind: str
    description: str
    actor: str
    idempotency_key: str | None
    reverses_id: int | None
    #: The entry's place in the hash chain; None while it awaits its seal.
    seq: int | None
    content_hash: str
    hash: str | None
    #: Its postings (none when a list read it as a summary: ``postings=False``).
    postings: tuple[PostingLine, ...]
    #: Fen: the sum of its debits, the entry's size (a list's "amount").
    amount: int = 0

    @property
    def sealed(self) -> bool:
        return self.seq is not None


def entries_page(
    session: Session,
    *,
    limit: int = 50,
    before: int | None = None,
    kind: str | None = None,
    account: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sort: str | None = None,
    after: Cursor | str | None = None,
    postings: bool = True,
) -> Page[EntryView]:
    """Entries newest first, or sorted by one of :data:`ENTRY_SORTS` (``ledger.paging``),
    filtered by kind, by an account (and the accounts below it) and by effective date,
    with their postings — or, with ``postings=False``, with their amount only (a page of
    bank files' entries holds tens of thousands of postings)."""
    stmt = select(JournalEntry).options(_POSTINGS_APART)
    if kind is not None:
        stmt = stmt.where(JournalEntry.kind == kind)
    if date_from is not None:
        stmt = stmt.where(JournalEntry.effective_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(JournalEntry.effective_date <= date_to)
    if account is not None:
        touching = (
            select(Posting.entry_id)
            .join(Account, Account.id == Posting.account_id)
            .where((Account.code == account) | Account.code.startswith(account + ":"))
        )
        stmt = stmt.where(JournalEntry.id.in_(touching))
    return keyset_page(
        session,
        stmt,
        JournalEntry.id,
        before=before,
        limit=limit,
        values=lambda rows: _views(session, rows, postings=postings),
        noun="entries",
        scalars=True,
        sort=sort,
        sorts=ENTRY_SORTS,
        after=after,
    )


def entry(session: Session, entry_id: int) -> EntryView | None:
    """One entry with its postings, or None if there is none with that id."""
    row = session.get(JournalEntry, entry_id)
    return _views(session, [row])[0] if row is not None else None


#: The views read an entry's postings in a query of their own (only the accounts asked
#: for); the mapping's eager load of every posting would read a bank file's thousands.
_POSTINGS_APART = lazyload(JournalEntry.postings)


def entry_views(
    session: Session,
    ids: Iterable[int],
    *,
    accounts: Sequence[str] | None = None,
    amounts: bool = True,
) -> tuple[EntryView, ...]:
    """The entries with these ids, with their postings, in the order given (an id with no
    entry is left out). Reads them in chunks: a few queries however many.

    With ``accounts``, an entry carries only its postings on those accounts: what one
    loan's page shows of a bank file's entry that moves a thousand loans. With
    ``amounts=False`` its ``amount`` is left 0 (one query less where nobody shows it)."""
    ids = list(dict.fromkeys(ids))
    rows: dict[int, JournalEntry] = {}
    for chunk in chunks(ids):
        found = session.scalars(
            select(JournalEntry).options(_POSTINGS_APART).where(JournalEntry.id.in_(chunk))
        )
        rows.update((r.id, r) for r in found)
    return _views(session, [rows[i] for i in ids if i in rows], accounts, sums=amounts)


def _views(
    session: Session,
    rows: list[JournalEntry],
    accounts: Sequence[str] | None = None,
    postings: bool = True,
    sums: bool = True,
) -> tuple[EntryView, ...]:
    lines: dict[int, list[PostingLine]] = defaultdict(list)
    amounts: dict[int, int] = {}
    for chunk in chunks([r.id for r in rows]):
        if sums and (accounts is not None or not postings):
            amounts.update(
                (entry_id, int(total))
                for entry_id, total in session.execute(
                    select(Posting.entry_id, func.sum(Posting.amount))
                    .where(Posting.entry_id.in_(chunk), Posting.side == "D")
                    .group_by(Posting.entry_id)
                )
            )
        if not postings:
            continue
        stmt = (
            select(Posting.entry_id, Account.code, Posting.side, Posting.amount)
            .join(Account, Account.id == Posting.account_id)
            .where(Posting.entry_id.in_(chunk))
        )
        if accounts is not None:
            stmt = stmt.where(Account.code.in_(accounts))
        for entry_id, code, side, amount in session.execute(
            stmt.order_by(Posting.entry_id, Posting.side.desc(), Account.code)
        ):
            lines[entry_id].append(PostingLine(code, str(side), int(amount)))
    if accounts is None and postings:
        amounts = {i: sum(p.amount for p in found if p.side == "D") for i, found in lines.items()}
    return tuple(
        EntryView(
            id=r.id,
            effective_date=r.effective_date,
            recorded_at=r.recorded_at,
            kind=r.kind,
            description=r.description,
            actor=r.actor,
            idempotency_key=r.idempotency_key,
            reverses_id=r.reverses_id,
            seq=r.seq,
            content_hash=r.content_hash,
            hash=r.hash,
            postings=tuple(lines[r.id]),
            amount=amounts.get(r.id, 0),
        )
        for r in rows
    )
