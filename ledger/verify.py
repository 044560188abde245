"""Check the books end to end: the hash chain, every entry's invariants, every balance.

``verify`` reads only. It recomputes each entry's content hash and chain hash, checks
that every entry balances and every reversal mirrors its original, recomputes every
account's balance from the postings, checks that nothing was dated into a period after
it was closed, and runs the checks the layers above register (:func:`register_check`:
the fund cross-checks its loans, claims, capital sources and counter-guarantees against
the books). It imports nothing from those layers. Each problem names the entry or
account and what is wrong.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session, noload

from ledger.chain import canonical_content, chain_hash, content_hash
from ledger.models import (
    GENESIS_HASH,
    Account,
    AccountType,
    ChainMark,
    JournalEntry,
    LedgerHead,
    PeriodClose,
    Posting,
    Side,
)
from ledger.rows import chunks

CHUNK = 2000


@dataclass
class Report:
    entries: int = 0
    postings: int = 0
    sealed: int = 0
    unsealed: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        self.problems.append(message)


@dataclass(frozen=True)
class _Row:
    entry: JournalEntry
    postings: list[tuple[int, str, int, object]]  # account_id, side, amount, effective_date


def verify(session: Session) -> Report:
    """Check the books as one consistent snapshot, whatever others write meanwhile.

    On PostgreSQL it runs in a read-only REPEATABLE READ transaction of its own (a chain
    walk and a head read in READ COMMITTED could straddle a sealing commit). On SQLite
    it uses ``session``, whose immediate transaction keeps writers out.
    """
    if session.get_bind().dialect.name != "postgresql":
        return _verify(session)  # its immediate transaction already keeps writers out
    with Session(session.get_bind()) as snapshot:
        snapshot.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        snapshot.execute(text("SET TRANSACTION READ ONLY"))
        return _verify(snapshot)


def _verify(session: Session) -> Report:
    report = Report()
    accounts = {a.id: a for a in session.scalars(select(Account))}
    report.accounts = len(accounts)
    _check_chain(session, report, accounts)
    _check_unsealed(session, report, accounts)
    _check_orphans(session, report)
    _check_balances(session, report, accounts)
    _check_closed_periods(session, report)
    for check in _CHECKS:
        _loaded(check)(session, report.problem)
    return report


#: Checks that the layers above the books add (the fund's cross-checks): a function
#: ``check(session, problem)`` that calls ``problem(message)`` for each disagreement, or
#: its dotted path ``"package.module:function"``, imported when verify runs.
Check = Callable[[Session, Callable[[str], None]], None]
_CHECKS: list[Check | str] = []


def register_check(check: Check | str) -> None:
    """Have :func:`verify` also run ``check`` (once, however often it is registered)."""
    if check not in _CHECKS:
        _CHECKS.append(check)


def _loaded(check: Check | str) -> Check:
    if not isinstance(check, str):
        return check
    module, _, name = check.partition(":")
    return getattr(importlib.import_module(module), name)


def _rows(session: Session, sealed: bool) -> Iterator[_Row]:
    """Entries with their postings, in chain order (sealed) or id order (unsealed)."""
    key = JournalEntry.seq if sealed else JournalEntry.id
    last = None
    while True:
        stmt = select(JournalEntry).order_by(key).limit(CHUNK)
        stmt = stmt.where(JournalEntry.seq.is_not(None) if sealed else JournalEntry.seq.is_(None))
        if last is not None:
            stmt = stmt.where(key > last)
        entries = list(session.scalars(stmt.options(noload(JournalEntry.postings))))
        if not entries:
            return
        by_entry = defaultdict(list)
        for p in session.execute(
            select(
                Posting.entry_id,
                Posting.account_id,
                Posting.side,
                Posting.amount,
                Posting.effective_date,
            )
            .where(Posting.entry_id.in_([e.id for e in entries]))
            .order_by(Posting.id)
        ):
            by_entry[p.entry_id].append((p.account_id, p.side, p.amount, p.effective_date))
        for e in entries:
            yield _Row(e, by_entry[e.id])
        last = getattr(entries[-1], "seq" if sealed else "id")
        session.expunge_all()


def _check_entry(row: _Row, report: Report, accounts: dict[int, Account]) -> None:
    e = row.entry
    report.entries += 1
    report.postings += len(row.postings)
    recomputed = content_hash(
        canonical_content(
            entry_id=e.id,
            effective_date=e.effective_date,
            recorded_at=e.recorded_at,
            kind=e.kind,
            description=e.description,
            actor=e.actor,
            idempotency_key=e.idempotency_key,
            reverses_id=e.reverses_id,
            postings=[(a, s, m) for a, s, m, _ in row.postings],
        )
    )
    if recomputed != e.content_hash:
        report.problem(
            f"entry {e.id}: content does not match its content hash — the entry or its "
            "postings were changed after posting"
        )
    if len(row.postings) < 2:
        report.problem(f"entry {e.id}: has {len(row.postings)} posting(s); at least 2 are required")
    debits = sum(m for _, s, m, _ in row.postings if s == "D")
    credits = sum(m for _, s, m, _ in row.postings if s == "C")
    if debits != credits:
        report.problem(f"entry {e.id}: debits {debits} fen ≠ credits {credits} fen")
    memo = sum(
        (m if s == "D" else -m)
        for a, s, m, _ in row.postings
        if a in accounts and accounts[a].type == AccountType.MEMORANDUM.value
    )
    if memo:
        report.problem(f"entry {e.id}: memorandum postings do not balance (difference {memo} fen)")
    for a, s, m, d in row.postings:
        if m <= 0:
            report.problem(f"entry {e.id}: posting to account {a} has amount {m} fen (must be > 0)")
        if s not in ("D", "C"):
            report.problem(f"entry {e.id}: posting to account {a} has side {s!r}")
        if d != e.effective_date:
            report.problem(f"entry {e.id}: a posting is dated {d}, the entry {e.effective_date}")
        if a not in accounts:
            report.problem(f"entry {e.id}: posting to account id {a}, which does not exist")
        elif accounts[a].is_group:
            report.problem(f"entry {e.id}: posting to group account {accounts[a].code}")


def _check_chain(session: Session, report: Report, accounts: dict[int, Account]) -> None:
    prev, expected_seq = GENESIS_HASH, 1
    reversals: dict[int, list] = {}
    for row in _rows(session, sealed=True):
        e = row.entry
        _check_entry(row, report, accounts)
        report.sealed += 1
        if e.seq != expected_seq:
            report.problem(
                f"entry {e.id}: chain position {e.seq}, expected {expected_seq} — an entry is "
                "missing from the chain or was inserted into it"
            )
        if e.prev_hash != prev:
            report.problem(
                f"entry {e.id} (seq {e.seq}): previous-hash link does not match the hash of the "
                "entry before it — the chain is broken"
            )
        if chain_hash(e.prev_hash or "", e.seq, e.content_hash) != e.hash:
            report.problem(
                f"entry {e.id} (seq {e.seq}): chain hash does not match its content hash — "
                "the entry was altered after sealing"
            )
        prev, expected_seq = e.hash or "", (e.seq or 0) + 1
        if e.reverses_id is not None:
            reversals[e.id] = [e.reverses_id, row.postings]
    head = session.execute(select(LedgerHead.seq, LedgerHead.hash)).one_or_none()
    if head is None:
        report.problem("the chain head row is missing")
    elif (head.seq, head.hash) != (expected_seq - 1, prev):
        report.problem(
            f"chain head says seq {head.seq}, but the last sealed entry is seq {expected_seq - 1} "
            "or its hash differs — entries were removed from or added to the end of the chain"
        )
    _check_marks(session, report, expected_seq - 1)
    _check_reversals(session, report, reversals)


def _check_marks(session: Session, report: Report, last_seq: int) -> None:
    """The chain marks (commit order) cover the chain and never go back in time."""
    last = session.execute(
        select(ChainMark.seq).order_by(ChainMark.seq.desc()).limit(1)
    ).scalar_one_or_none()
    if (last or 0) != last_seq:
        report.problem(
            f"the last chain mark is at seq {last or 0}, but the chain ends at seq {last_seq} — "
            "a commit that sealed entries left no mark, so 'as recorded at' cannot place them"
        )
    prev = func.lag(ChainMark.marked_at).over(order_by=ChainMark.seq)
    marks = select(ChainMark.seq, ChainMark.marked_at, prev.label("prev")).subquery()
    back = session.execute(
        select(marks.c.seq, marks.c.marked_at, marks.c.prev)
        .where(marks.c.marked_at < marks.c.prev)
        .limit(1)
    ).first()
    if back is not None:
        report.problem(
            f"chain mark at seq {back.seq} goes back in time: {back.marked_at} follows {back.prev}"
        )


def _check_unsealed(session: Session, report: Report, accounts: dict[int, Account]) -> None:
    for row in _rows(session, sealed=False):
        _check_entry(row, report, accounts)
        report.unsealed += 1
        if row.entry.prev_hash is not None or row.entry.hash is not None:
            report.problem(f"entry {row.entry.id}: has chain hashes but no chain position")


def _check_reversals(session: Session, report: Report, reversals: dict[int, list]) -> None:
    for chunk in chunks(reversals.items(), 1000):
        originals: dict[int, list] = defaultdict(list)
        for original_id, account_id, side, amount in session.execute(
            select(Posting.entry_id, Posting.account_id, Posting.side, Posting.amount).where(
                Posting.entry_id.in_({original_id for _, (original_id, _) in chunk})
            )
        ):
            originals[original_id].append((account_id, side, amount))
        for entry_id, (original_id, postings) in chunk:
            if original_id not in originals:
                report.problem(
                    f"entry {entry_id}: reverses entry {original_id}, which does not exist"
                )
                continue
            mirrored = sorted((a, Side(s).opposite.value, m) for a, s, m in originals[original_id])
            if mirrored != sorted((a, s, m) for a, s, m, _ in postings):
                report.problem(
                    f"entry {entry_id}: does not mirror the postings of entry {original_id}, "
                    "which it claims to reverse"
                )


def _check_orphans(session: Session, report: Report) -> None:
    orphans = session.execute(
        select(Posting.id, Posting.entry_id)
        .outerjoin(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.id.is_(None))
        .limit(20)
    ).all()
    for posting_id, entry_id in orphans:
        report.problem(f"posting {posting_id}: belongs to entry {entry_id}, which does not exist")


def _check_balances(session: Session, report: Report, accounts: dict[int, Account]) -> None:
    dr = func.sum(case((Posting.side == "D", Posting.amount), else_=0))
    cr = func.sum(case((Posting.side == "C", Posting.amount), else_=0))
    per_account = select(Posting.account_id, dr, cr).group_by(Posting.account_id)
    sums = {a: (int(d or 0), int(c or 0)) for a, d, c in session.execute(per_account)}
    total_dr = total_cr = 0
    for account in sorted(accounts.values(), key=lambda a: a.code):
        d, c = sums.get(account.id, (0, 0))
        total_dr, total_cr = total_dr + d, total_cr + c
        net = d - c if account.normal_side == Side.DEBIT.value else c - d
        if net != account.balance:
            report.problem(
                f"account {account.code}: stored balance {account.balance} fen, postings sum to "
                f"{net} fen"
            )
        if account.no_overdraft and net < 0:
            report.problem(f"account {account.code}: must not go negative but is {net} fen")
    if total_dr != total_cr:
        report.problem(f"trial balance: debits {total_dr} fen ≠ credits {total_cr} fen")


def _check_closed_periods(session: Session, report: Report) -> None:
    for close in session.scalars(select(PeriodClose).order_by(PeriodClose.closed_through)):
        late = session.execute(
            select(JournalEntry.id, JournalEntry.effective_date)
            .where(
                JournalEntry.effective_date <= close.closed_through,
                JournalEntry.recorded_at > close.closed_at,
            )
            .limit(20)
        ).all()
        for entry_id, date in late:
            report.problem(
                f"entry {entry_id}: dated {date}, recorded after the books were closed through "
                f"{close.closed_through}"
            )
