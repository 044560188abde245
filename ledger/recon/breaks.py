"""Breaks: recording what a reconciliation finds (the same break found again is the same
record), working them (assign, comment, explain, resolve, reopen) and reading them.

Every change writes a :class:`~ledger.recon.models.BreakEvent`. A break is resolved by a
person (naming the entry, or the bank file and row, that settles it) or by the next
reconciliation of the same scope that no longer finds it (``resolved_by_import_id`` is
that file); a resolved break found again is reopened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import BigInteger, func, select
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.fund.lifecycle import set_status
from ledger.fund.reference import Role, authenticate, require_bank_access, require_role
from ledger.money import format_yuan
from ledger.paging import Cursor, Page, SortKey, check_range, keyset_page, one_of
from ledger.principal import Principal
from ledger.recon.errors import BreakError, BreakNotFoundError
from ledger.recon.models import (
    TYPE_ZH,
    Break,
    BreakEvent,
    BreakStatus,
    BreakType,
)
from ledger.rows import among, chunks, insert_rows, update_rows

#: Who works breaks; who may only read them (a bank user: their own bank's).
WORKERS = (Role.CLERK, Role.APPROVER)
READERS = (Role.CLERK, Role.APPROVER, Role.AUDITOR, Role.BANK, Role.ADMIN)


@dataclass(frozen=True)
class Finding:
    """One difference a reconciliation found, before it is recorded as a break."""

    type: str
    bank: str
    fund: str
    subject: str
    as_of: dt.date
    ref: str = ""
    fund_figure: int | None = None
    bank_figure: int | None = None
    fund_days: int | None = None
    bank_days: int | None = None
    loan_id: int | None = None
    row: int | None = None
    detail: str = ""
    detail_zh: str = ""

    @property
    def difference(self) -> int:
        return (self.bank_figure or 0) - (self.fund_figure or 0)

    @property
    def key(self) -> str:
        return natural_key(self.type, self.bank, self.fund, self.subject, self.ref)


def natural_key(type: str, bank: str, fund: str, subject: str, ref: str = "") -> str:
    """What makes a break the same break when found again."""
    return f"{type}|{bank}|{fund}|{subject}|{ref}"


@dataclass(frozen=True)
class Recorded:
    """What recording a run's findings did, in counts."""

    new: int = 0
    seen_again: int = 0
    reopened: int = 0
    resolved: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "breaks_new": self.new,
            "breaks_seen_again": self.seen_again,
            "breaks_reopened": self.reopened,
            "breaks_resolved": self.resolved,
        }


def record_breaks(
    session: Session,
    findings: Sequence[Finding],
    *,
    source: str,
    found_on: dt.date,
    import_id: int | None,
    actor: str,
    scope: Iterable[int] = (),
) -> Recorded:
    """Record ``findings`` as breaks, set-based: a finding whose natural key is a break
    already is that break seen again (``last_seen_on`` moves on; a resolved one is
    reopened); the others are new. Each break of ``scope`` (ids of the open and explained
    breaks the run covered) not found again is resolved by the file ``import_id``."""
    now = utcnow()
    actor = str(actor)
    existing: dict[str, tuple[int, str]] = {}
    keys = [f.key for f in findings]
    for chunk in chunks(keys):
        for id_, key, status in session.execute(
            select(Break.id, Break.natural_key, Break.status).where(
                among(session, Break.natural_key, chunk)
            )
        ):
            existing[key] = (id_, status)
    new_rows, updates, events = [], [], []
    seen, reopened = 0, 0
    found_ids: set[int] = set()
    for f in findings:
        if f.key in existing:
            id_, status = existing[f.key]
            found_ids.add(id_)
            update = {
                "id": id_, "last_seen_on": found_on, "fund_figure": f.fund_figure,
                "bank_figure": f.bank_figure, "difference": f.difference,
                "fund_days": f.fund_days, "bank_days": f.bank_days, "import_id": import_id,
                "row": f.row, "status": status, "resolved_on": None,
                "resolved_by_entry_id": None, "resolved_by_import_id": None,
                "resolved_by_row": None,
            }  # fmt: skip
            if status == BreakStatus.RESOLVED:
                reopened += 1
                update["status"] = BREAK_OPEN
                events.append(_event(id_, "reopened", actor, now, found_on, status, BREAK_OPEN,
                                     "found again"))  # fmt: skip
            else:
                seen += 1
                update.pop("resolved_on")
                for k in ("resolved_by_entry_id", "resolved_by_import_id", "resolved_by_row"):
                    update.pop(k)
            updates.append(update)
            continue
        existing[f.key] = (0, BREAK_OPEN)  # a file repeating a finding records it once
        new_rows.append(
            {
                "natural_key": f.key, "type": f.type, "source": source, "bank_code": f.bank,
                "fund_code": f.fund, "subject": f.subject, "ref": f.ref, "loan_id": f.loan_id,
                "as_of": f.as_of, "fund_figure": f.fund_figure, "bank_figure": f.bank_figure,
                "difference": f.difference, "fund_days": f.fund_days, "bank_days": f.bank_days,
                "detail": f.detail, "detail_zh": f.detail_zh, "found_on": found_on,
                "last_seen_on": found_on, "import_id": import_id, "row": f.row,
                "status": BREAK_OPEN, "assignee": None, "explanation": None,
                "resolved_on": None, "resolved_by_entry_id": None,
                "resolved_by_import_id": None, "resolved_by_row": None, "created_at": now,
            }
        )  # fmt: skip
    # Rows with different column sets go in separate batches.
    for group in (
        [u for u in updates if "resolved_on" in u],
        [u for u in updates if "resolved_on" not in u],
    ):
        update_rows(session, Break.__table__, group)
    ids = insert_rows(session, Break.__table__, new_rows)
    events += [_event(id_, "found", actor, now, found_on, None, BREAK_OPEN, "") for id_ in ids]
    gone = sorted(set(scope) - found_ids)
    if gone:
        update_rows(
            session,
            Break.__table__,
            [
                {"id": id_, "status": BreakStatus.RESOLVED.value, "resolved_on": found_on,
                 "resolved_by_import_id": import_id}
                for id_ in gone
            ],
        )  # fmt: skip
        statuses = dict(
            session.execute(
                select(BreakEvent.break_id, BreakEvent.new_status)
                .where(among(session, BreakEvent.break_id, gone))
                .order_by(BreakEvent.id)
            ).all()
        )
        events += [
            _event(id_, "resolved", actor, now, found_on, statuses.get(id_, BREAK_OPEN),
                   BreakStatus.RESOLVED.value, "no longer found")
            for id_ in gone
        ]  # fmt: skip
    insert_rows(session, BreakEvent.__table__, events)
    session.expire_all()
    return Recorded(len(ids), seen, reopened, len(gone))


BREAK_OPEN = BreakStatus.OPEN.value


def _event(break_id, action, actor, at, on, old, new, text) -> dict:
    return {
        "break_id": break_id, "action": action, "actor": str(actor), "at": at,
        "on_date": on, "old_status": old, "new_status": new, "text": text,
    }  # fmt: skip


def record_break(
    session: Session, finding: Finding, *, source: str, found_on: dt.date, actor: str,
    import_id: int | None = None,
) -> BreakView:  # fmt: skip
    """Record one finding (see :func:`record_breaks`); returns the break."""
    require_role(session, actor, *WORKERS, Role.SYSTEM)
    record_breaks(
        session, [finding], source=source, found_on=found_on, import_id=import_id, actor=actor
    )
    id_ = session.scalar(select(Break.id).where(Break.natural_key == finding.key))
    return break_detail(session, id_, actor=actor).brk


# ------------------------------------------------------------------------ working a break


def _get(session: Session, break_id: int, actor, *roles) -> tuple[Break, Principal]:
    brk = session.scalar(select(Break).where(Break.id == break_id).with_for_update())
    if brk is None:
        raise BreakNotFoundError(f"no break {break_id}", zh=f"差异 {break_id} 不存在")
    principal = require_bank_access(session, actor, brk.bank_code, *roles)
    return brk, principal


def _log(session, brk: Break, action: str, actor, old: str | None, text: str = "", on=None):
    session.add(
        BreakEvent(
            break_id=brk.id, action=action, actor=str(actor), at=utcnow(), on_date=on,
            old_status=old, new_status=brk.status, text=text,
        )
    )  # fmt: skip
    session.flush()


def assign(session: Session, break_id: int, assignee: str, *, actor: str) -> BreakView:
    """Give the break to ``assignee`` (a clerk or an approver) to work."""
    brk, _ = _get(session, break_id, actor, *WORKERS)
    require_role(session, assignee, *WORKERS)
    old = brk.assignee
    brk.assignee = str(assignee)
    _log(session, brk, "assigned", actor, brk.status, f"{old or '-'} -> {assignee}")
    return break_view(brk)


def comment(session: Session, break_id: int, text: str, *, actor: str) -> BreakView:
    """Add a comment to the break's history."""
    brk, _ = _get(session, break_id, actor, *WORKERS, Role.BANK)
    _log(session, brk, "commented", actor, brk.status, _text(text, "comment", "备注"))
    return break_view(brk)


def explain(session: Session, break_id: int, text: str, *, actor: str) -> BreakView:
    """Mark the break explained: the difference is understood and needs no entry (a
    timing difference, the bank's own error it will correct)."""
    brk, _ = _get(session, break_id, actor, *WORKERS)
    text = _text(text, "explanation", "说明")
    old = brk.status
    set_status(brk, BreakStatus.EXPLAINED)
    brk.explanation = text
    _log(session, brk, "explained", actor, old, text)
    return break_view(brk)


def resolve(
    session: Session,
    break_id: int,
    *,
    actor: str,
    entry_id: int | None = None,
    import_id: int | None = None,
    row: int | None = None,
    text: str = "",
    on: dt.date | None = None,
) -> BreakView:
    """Resolve the break by the journal entry, or the bank file (and row), that settles
    it; ``on`` is the business date (default: the entry's or today)."""
    from ledger.bankfiles.models import BankFileImport
    from ledger.clock import business_today
    from ledger.models import JournalEntry

    brk, _ = _get(session, break_id, actor, *WORKERS)
    if (entry_id is None) == (import_id is None):
        raise BreakError(
            "name either the entry or the bank file that resolves the break",
            zh="请指明解决该差异的记账凭证或银行文件（二者选一）",
        )
    if entry_id is not None and session.get(JournalEntry, entry_id) is None:
        raise BreakError(f"no journal entry {entry_id}", zh=f"记账凭证 {entry_id} 不存在")
    if import_id is not None:
        receipt = session.get(BankFileImport, import_id)
        if receipt is None or receipt.bank_code != brk.bank_code:
            raise BreakError(
                f"no file {import_id} of bank {brk.bank_code}",
                zh=f"{brk.bank_code} 没有编号为 {import_id} 的文件",
            )
    old = brk.status
    set_status(brk, BreakStatus.RESOLVED)
    brk.resolved_on = on or business_today()
    brk.resolved_by_entry_id, brk.resolved_by_import_id = entry_id, import_id
    brk.resolved_by_row = row
    by = f"entry {entry_id}" if entry_id is not None else f"import {import_id} row {row}"
    _log(session, brk, "resolved", actor, old, f"{by}. {text}".strip(" ."), brk.resolved_on)
    return break_view(brk)


def reopen(session: Session, break_id: int, text: str, *, actor: str) -> BreakView:
    """Open a resolved or explained break again (the resolution did not hold)."""
    brk, _ = _get(session, break_id, actor, *WORKERS)
    old = brk.status
    set_status(brk, BreakStatus.OPEN)
    brk.resolved_on = None
    brk.resolved_by_entry_id = brk.resolved_by_import_id = brk.resolved_by_row = None
    _log(session, brk, "reopened", actor, old, _text(text, "reason", "原因"))
    return break_view(brk)


def _text(text: str, what: str, what_zh: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BreakError(f"the {what} is empty", zh=f"{what_zh}不能为空")
    return text


# ------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class BreakView:
    id: int
    type: str
    source: str
    bank: str
    fund: str
    subject: str
    ref: str
    loan_id: int | None
    as_of: dt.date
    fund_figure: int | None
    bank_figure: int | None
    difference: int
    fund_days: int | None
    bank_days: int | None
    detail: str
    detail_zh: str
    found_on: dt.date
    last_seen_on: dt.date
    status: str
    assignee: str | None
    explanation: str | None
    resolved_on: dt.date | None
    resolved_by_entry_id: int | None
    resolved_by_import_id: int | None
    resolved_by_row: int | None
    import_id: int | None
    row: int | None

    @property
    def type_zh(self) -> str:
        return TYPE_ZH[self.type]

    def summary_zh(self) -> str:
        """One line in Chinese: what differs, with both figures."""
        if self.type == BreakType.STATUS_DIFFERS:
            return f"逾期天数：基金 {self.fund_days} 天，银行 {self.bank_days} 天"
        fund = "-" if self.fund_figure is None else format_yuan(self.fund_figure)
        bank = "-" if self.bank_figure is None else format_yuan(self.bank_figure)
        return f"基金 {fund} 元，银行 {bank} 元，差额 {format_yuan(self.difference)} 元"


@dataclass(frozen=True)
class EventView:
    id: int
    action: str
    actor: str
    at: dt.datetime
    on: dt.date | None
    old_status: str | None
    new_status: str | None
    text: str


@dataclass(frozen=True)
class BreakDetail:
    brk: BreakView
    history: tuple[EventView, ...] = field(default_factory=tuple)


def break_view(b: Break) -> BreakView:
    return BreakView(
        b.id, b.type, b.source, b.bank_code, b.fund_code, b.subject, b.ref, b.loan_id, b.as_of,
        b.fund_figure, b.bank_figure, b.difference, b.fund_days, b.bank_days, b.detail,
        b.detail_zh, b.found_on, b.last_seen_on, b.status, b.assignee, b.explanation,
        b.resolved_on, b.resolved_by_entry_id, b.resolved_by_import_id, b.resolved_by_row,
        b.import_id, b.row,
    )  # fmt: skip


def _reader(session: Session, actor, bank: str | None) -> str | None:
    """The bank filter a reader may use: a bank user sees only their own bank's."""
    principal = require_role(session, actor, *READERS, Role.SYSTEM)
    if principal.bank is not None:
        if bank is not None and bank != principal.bank:
            require_bank_access(session, principal, bank, *READERS)
        return principal.bank
    return bank


#: The orders the break queue may be sorted in: the date found (oldest first is the
#: longest open), and the size of the difference (its absolute value, in fen).
BREAK_SORTS = (
    SortKey("found_on", Break.found_on, dt.date),
    SortKey("difference", func.abs(Break.difference, type_=BigInteger), int),
)


def breaks_page(
    session: Session,
    *,
    actor: str,
    bank: str | None = None,
    fund: str | None = None,
    status: str | None = None,
    type: str | None = None,
    found_from: dt.date | None = None,
    found_to: dt.date | None = None,
    sort: str | None = None,
    after: Cursor | str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[BreakView]:
    """Breaks newest first, or sorted by one of :data:`BREAK_SORTS` (``ledger.paging``),
    filtered; a bank user sees only their own bank's."""
    bank = _reader(session, actor, bank)
    status = one_of(status, [s.value for s in BreakStatus], "status", "状态")
    type = one_of(type, [t.value for t in BreakType], "break type", "差异类型")
    check_range(found_from, found_to, "found-on", "发现日期")
    stmt = select(Break)
    for column, value in ((Break.bank_code, bank), (Break.fund_code, fund),
                          (Break.status, status), (Break.type, type)):  # fmt: skip
        if value is not None:
            stmt = stmt.where(column == value)
    if found_from is not None:
        stmt = stmt.where(Break.found_on >= found_from)
    if found_to is not None:
        stmt = stmt.where(Break.found_on <= found_to)
    return keyset_page(
        session, stmt, Break.id, before=before, limit=limit, scalars=True, noun="breaks",
        sort=sort, sorts=BREAK_SORTS, after=after,
        values=lambda rows: [break_view(b) for b in rows],
    )  # fmt: skip


def break_detail(session: Session, break_id: int, *, actor: str) -> BreakDetail:
    """A break with its whole history, oldest first."""
    authenticate(session, actor)
    brk = session.get(Break, break_id)
    if brk is None:
        raise BreakNotFoundError(f"no break {break_id}", zh=f"差异 {break_id} 不存在")
    _reader(session, actor, brk.bank_code)
    events = session.scalars(
        select(BreakEvent).where(BreakEvent.break_id == break_id).order_by(BreakEvent.id)
    )
    return BreakDetail(
        break_view(brk),
        tuple(
            EventView(e.id, e.action, e.actor, e.at, e.on_date, e.old_status, e.new_status, e.text)
            for e in events
        ),
    )


def open_in_scope(session: Session, *where) -> list[int]:
    """Ids of the open and explained breaks matching ``where``: what a run covers."""
    return list(
        session.scalars(select(Break.id).where(Break.status != BreakStatus.RESOLVED.value, *where))
    )
