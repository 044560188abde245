"""Importing a partner bank's file, or one of the bureau's lists: all of it or nothing, once,
with a receipt.

:func:`import_file` is the one way in (the CLI, the web upload, the API and the drop
folder all call it). It

1. reads the file once to hash it and tell its format and encoding
   (:mod:`ledger.bankfiles.reading`); a file it cannot read is rejected as a whole;
2. in one transaction: takes the bank's accepted-file key for the file's SHA-256 (the
   same bytes accepted before, or by a concurrent upload that commits first, make this
   upload a *duplicate* and post nothing), then streams the rows, reads each cell
   (:mod:`ledger.bankfiles.kinds`) and hands the rows in chunks to the fund's own batch
   operations (:func:`~ledger.fund.disbursements.apply_disbursements`,
   :func:`~ledger.fund.repayments.apply_repayments`; for the bureau's lists, through
   :mod:`ledger.bankfiles.bureau`) or stores them (balances, statement lines, with the
   statement's running balance checked line to line);
3. commits only when no row anywhere in the file has an error. Otherwise it rolls
   everything back and records a *rejected* receipt with every error: row, column
   (the English header), the value as given and the message in English and Chinese.

Memory does not grow with the file: rows are read one at a time and posted in chunks
of :data:`CHUNK_LINES`; repayments, which must be applied per loan in date order, are
sorted by contract through a spool that moves to a temporary SQLite file past
:data:`SPILL_ROWS` rows. Every chunk is posted in the same transaction, so a crash or a
kill at any moment leaves nothing of the file behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import logging
import os
import sqlite3
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from ledger.bankfiles import bureau
from ledger.bankfiles.kinds import Kind, kind_named
from ledger.bankfiles.models import (
    BankBalanceLine,
    BankFileError,
    BankFileImport,
    BankFileImportEntry,
    BankStatementLine,
)
from ledger.bankfiles.reading import FileRejected, Sniffed, rows, sniff
from ledger.bankfiles.receipts import (
    STATUS_ZH,
    Problem,
    Receipt,
    error_lines,
    get_receipt,
    receipts,
)
from ledger.bankfiles.values import is_blank
from ledger.clock import business_today, utcnow
from ledger.db import run_in_transaction
from ledger.fund.disbursements import DisbursementLine, apply_disbursements
from ledger.fund.errors import (
    DuplicateReferenceError,
    FundError,
    RepaymentError,
    RowsRejectedError,
)
from ledger.fund.reference import Role, get_bank, require_bank_access, require_role
from ledger.fund.repayments import RepaymentLine, apply_repayments
from ledger.money import format_yuan
from ledger.rows import chunks, insert_rows

log = logging.getLogger(__name__)

#: Rows handed to the fund's batch operations at a time.
CHUNK_LINES = 50_000
#: Repayment rows kept in memory for sorting; past this they go to a temporary file.
SPILL_ROWS = 200_000
#: Rows read between two progress reports (and one after each chunk is checked).
PROGRESS_ROWS = 5_000

#: The value of an error found after reading, filled in from the file at the end.
_LATER = "\0"

#: Who may import the bureau's lists: whom the operations they call allow (a borrowers
#: list also registers certificates, a clerk's; a guarantees list approves).
BUREAU_ROLES = {"borrowers": (Role.CLERK,), "guarantees": (Role.APPROVER,)}


#: Error lines kept and reported in full; past them only their rows are counted (a file
#: with more bad rows than this is a wrong export, and the first ones say how).
MAX_ERRORS = 100_000


class _Problems:
    """The error lines found, the first :data:`MAX_ERRORS` kept, and every bad row."""

    def __init__(self):
        self.items: list[Problem] = []
        self.rows: set[int] = set()
        self.count = 0

    def append(self, problem: Problem) -> None:
        self.count += 1
        if problem.row is not None:
            self.rows.add(problem.row)
        if len(self.items) < MAX_ERRORS:
            self.items.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.append(problem)

    def merged(self, other: _Problems) -> _Problems:
        both = _Problems()
        both.items = (self.items + other.items)[:MAX_ERRORS]
        both.rows = self.rows | other.rows
        both.count = self.count + other.count
        return both

    def listed(self) -> list[Problem]:
        """The lines to record: the kept ones, and one saying how many were left out."""
        left_out = self.count - len(self.items)
        if not left_out:
            return list(self.items)
        note = Problem(
            None, "", "", "too-many-errors",
            f"the file has {self.count:,} errors in {len(self.rows):,} rows; the first "
            f"{len(self.items):,} are listed",
            f"文件共有 {self.count:,} 处错误，涉及 {len(self.rows):,} 行；以下列出前 "
            f"{len(self.items):,} 处",
        )  # fmt: skip
        return [note, *self.items]


class _Rejected(Exception):
    def __init__(self, problems: _Problems, reading: _Reading | None):
        super().__init__(f"{problems.count} error(s)")
        self.problems, self.reading = problems, reading


# ------------------------------------------------------------------------ the entry point


def import_file(
    factory: sessionmaker[Session],
    *,
    kind: str,
    path: Path | str,
    actor: str,
    bank: str | None = None,
    file_name: str | None = None,
    today: dt.date | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Receipt:
    """Import the file at ``path`` for ``bank`` as ``kind`` and return its receipt.

    A partner bank's file (disbursement, repayment, balances, statement) names its
    ``bank``; the bureau's lists (borrowers, guarantees) name none.

    The receipt's status says what happened: ``accepted`` (posted or stored),
    ``duplicate`` (the same bytes were accepted before: nothing posted) or ``rejected``
    (nothing posted; :func:`error_lines` lists why). Raises only for what is wrong with
    the request rather than the file: an unknown kind or bank, a bank given for a
    bureau list or none for a bank's file
    (:class:`~ledger.bankfiles.reading.FileRejected`,
    :class:`~ledger.fund.errors.ReferenceDataError`) or an actor who may not act for
    the bank or import the list (:class:`~ledger.fund.errors.PermissionDeniedError`).

    ``progress``, if given, is called with a :class:`Progress` every
    :data:`PROGRESS_ROWS` rows read and after each chunk is checked, from inside the
    import's transaction (so it must write, if at all, through a session of its own). An
    exception it raises ends the import with nothing posted.
    """
    path = Path(path)
    spec = kind_named(kind)
    _check_bank(spec, bank)
    today = today or business_today()
    name = (file_name or path.name)[:255]
    run_in_transaction(factory, lambda session: check_request(session, kind, bank, actor))
    head = _Head(bank=bank, kind=spec.name, file_name=name, actor=actor)
    try:
        sniffed = sniff(path)
    except FileRejected as error:
        head.sha256, head.size = _hash_anyway(path)
        return _record_rejected(factory, head, _only(_whole(error, path)), None)
    head.sniffed(sniffed)
    try:
        return run_in_transaction(
            factory,
            lambda session: _Import(session, spec, head, path, sniffed, today, progress).run(),
        )
    except _Rejected as rejected:
        return _record_rejected(factory, head, rejected.problems, rejected.reading)


def check_request(session: Session, kind: str, bank: str | None, actor: str) -> None:
    """What :func:`import_file` refuses before it reads a file (see there): an unknown
    kind or bank, a bank given for a bureau list or none for a bank's file, an actor who
    may not act for the bank or import the list. Also for a file queued to be imported
    later (``ledger.ops.queue.enqueue_import``)."""
    spec = kind_named(kind)
    _check_bank(spec, bank)
    if spec.bureau:
        require_role(session, actor, *BUREAU_ROLES[spec.name])
        return
    get_bank(session, bank)
    # The scheduler (system) takes in the drop folder's files.
    require_bank_access(session, actor, bank, Role.CLERK, Role.APPROVER, Role.BANK, Role.SYSTEM)


def _check_bank(kind: Kind, bank: str | None) -> None:
    if kind.bureau and bank is not None:
        raise FileRejected(
            f"a {kind.name} list is the bureau's own: it belongs to no bank, so name none "
            f"(not {bank})",
            zh=f"{kind.zh}是本局自己的名单，不属于任何经办银行，请勿指定银行（{bank}）",
        )
    if not kind.bureau and not bank:
        raise FileRejected(
            f"a {kind.name} file comes from a partner bank: name the bank",
            zh=f"{kind.zh}由经办银行报送，请指定银行",
        )


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while files are imported.

    An import keeps hundreds of thousands of objects alive until its transaction ends
    (lines, loan states, rows to write), and the collector walks them all again each
    time enough new objects pile up: 0.9 s of a 100,000-row file's 5.2 s. Reference
    counting still frees everything else at once. The collector resumes, if it was on,
    when the last pause in this process ends.

    The pause is process-wide, so :func:`import_file` never takes it: only a process
    that does nothing but import may (``fundledger import``, ``fundledger imports
    drop-folder``, the import worker). A web server's threads keep their collector.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


@dataclass
class _Head:
    #: None for the bureau's lists.
    bank: str | None
    kind: str
    file_name: str
    actor: str
    sha256: str = ""
    size: int = 0
    format: str | None = None
    encoding: str | None = None

    def sniffed(self, sniffed: Sniffed) -> None:
        self.sha256, self.size = sniffed.sha256, sniffed.size
        self.format, self.encoding = sniffed.format, sniffed.encoding

    @property
    def sender(self) -> str:
        """Whose file it is, for the log."""
        return self.bank or "bureau"

    def row(self, status: str, **more) -> dict:
        return {
            "bank_code": self.bank,
            "kind": self.kind,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "size": self.size,
            "format": self.format,
            "encoding": self.encoding,
            "status": status,
            "rows": 0,
            "posted": 0,
            "skipped": 0,
            "error_rows": 0,
            "totals": {},
            "message": None,
            "message_zh": None,
            "duplicate_of_id": None,
            "uploaded_by": self.actor,
            "uploaded_at": utcnow(),
        } | more


def _hash_anyway(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file that could not be read as a bank file, for its receipt."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                size += len(block)
    except OSError:
        pass
    return digest.hexdigest(), size


def _only(problem: Problem) -> _Problems:
    problems = _Problems()
    problems.append(problem)
    return problems


def _whole(error: FundError, path: Path) -> Problem:
    """The problem of a file rejected as a whole. Its message goes back to the bank, so
    a path of this machine that a library put in it is cut down to the file's name."""
    message, zh = str(error), error.zh or str(error)
    for where, name in ((str(path), path.name), (str(path.parent) + os.sep, "")):
        message, zh = message.replace(where, name), zh.replace(where, name)
    return Problem(None, "", "", error.code, message, zh)


def _record_rejected(
    factory: sessionmaker[Session],
    head: _Head,
    found: _Problems,
    reading: _Reading | None,
) -> Receipt:
    problems = [p if p.value != _LATER else replace(p, value="") for p in found.listed()]
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    bad_rows = found.rows
    whole = next((p for p in problems if p.row is None), None)
    counts = {
        "rows": reading.rows if reading else 0,
        "error_rows": len(bad_rows),
        "totals": reading.totals if reading else {},
        "message": whole.message if whole else None,
        "message_zh": whole.zh if whole else None,
    }

    def work(session: Session) -> Receipt:
        (import_id,) = insert_rows(
            session, BankFileImport.__table__, [head.row("rejected", **counts)]
        )
        for chunk in chunks(problems):
            insert_rows(
                session,
                BankFileError.__table__,
                [
                    {
                        "import_id": import_id,
                        "row": p.row,
                        "column": p.column[:40],
                        "value": p.value,
                        "code": p.code[:40],
                        "message": p.message,
                        "message_zh": p.zh,
                    }
                    for p in chunk
                ],
            )
        return get_receipt(session, import_id)

    receipt = run_in_transaction(factory, work)
    log.info(
        "file %s (%s, %s) rejected: %d error(s) in %d row(s)",
        head.file_name, head.sender, head.kind, found.count, len(bad_rows),
    )  # fmt: skip
    return receipt


# ------------------------------------------------------------------------ reading rows


@dataclass
class _Reading:
    """Counts and totals of the rows read so far, and the cell errors found."""

    kind: Kind
    rows: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    problems: _Problems = field(default_factory=_Problems)

    def __post_init__(self):
        self.totals = dict.fromkeys(self.kind.money, 0)


def _records(
    kind: Kind, path: Path, sniffed: Sniffed, today: dt.date, reading: _Reading
) -> Iterator[tuple[int, dict]]:
    """Yield ``(row number, values)`` for every data row whose cells all read; count
    the rows, total the amounts and collect the cell errors in ``reading``."""
    read = None
    money_fields = kind.money
    totals = reading.totals
    for number, cells in rows(path, sniffed):
        if all(is_blank(cell) for cell in cells):
            continue
        if read is None:
            read = kind.reader(kind.header(cells), today)
            continue
        reading.rows += 1
        record, problems = read(cells)
        for money in money_fields:
            value = record.get(money)
            if value is not None:
                totals[money] += value
        if problems:
            reading.problems.extend(
                Problem(number, p.column, p.value, p.code, p.message, p.zh) for p in problems
            )
            continue
        yield number, record
    if read is None:
        raise FileRejected("the file has no header row and no data", zh="文件没有表头，也没有数据")


def _values_as_given(
    kind: Kind, path: Path, sniffed: Sniffed, wanted: dict[int, list[int]], problems
) -> None:
    """Fill in the value as given of errors found after reading (``wanted``: row →
    indexes into ``problems``), by reading the file once more."""
    positions = None
    for number, cells in rows(path, sniffed):
        if positions is None:
            if not all(is_blank(cell) for cell in cells):
                positions = kind.header(cells)
            continue
        indexes = wanted.get(number, ())
        raw = kind.raw(positions, cells) if indexes else None
        for index in indexes:
            problem = problems[index]
            problems[index] = Problem(
                problem.row, problem.column, raw.get(problem.column, ""),
                problem.code, problem.message, problem.zh,
            )  # fmt: skip


# ------------------------------------------------------------------------ the transaction


@dataclass(frozen=True)
class Progress:
    """How far an import has come: data rows read from the file, rows checked by the
    fund's operations (or stored), rows posted or stored so far (in the import's own
    transaction: none of them are in the books until it commits)."""

    read: int
    checked: int
    posted: int


class _Import:
    def __init__(
        self,
        session: Session,
        kind: Kind,
        head: _Head,
        path: Path,
        sniffed: Sniffed,
        today,
        progress: Callable[[Progress], None] | None = None,
    ):
        self.session, self.kind, self.head = session, kind, head
        self.path, self.sniffed, self.today = path, sniffed, today
        self.progress = progress
        self.checked = 0
        self.reading = _Reading(kind)
        self.problems = _Problems()
        self.posted = self.skipped = 0
        self.entry_ids: list[int] = []
        self.import_id = 0

    def run(self) -> Receipt:
        table = BankFileImport.__table__
        earlier = self.session.execute(
            select(table.c.id, table.c.rows, table.c.posted, table.c.skipped, table.c.totals).where(
                table.c.bank_code == self.head.bank,
                table.c.kind == self.head.kind,
                table.c.sha256 == self.head.sha256,
                table.c.status == "accepted",
            )
        ).first()
        if earlier is not None:
            # Every row was posted (or skipped) by the accepted import: all are skipped now.
            row = self.head.row(
                "duplicate", duplicate_of_id=earlier.id, rows=earlier.rows,
                skipped=earlier.posted + earlier.skipped, totals=earlier.totals,
            )  # fmt: skip
            (import_id,) = insert_rows(self.session, table, [row])
            earlier = earlier.id
            log.info("file %s is a duplicate of import %d", self.head.file_name, earlier)
            return get_receipt(self.session, import_id)
        # Taken first: a concurrent upload of the same bytes waits here for this one.
        (self.import_id,) = insert_rows(self.session, table, [self.head.row("accepted")])
        try:
            getattr(self, f"_{self.kind.name}")()
        except FileRejected as error:
            raise _Rejected(_only(_whole(error, self.path)), self.reading) from None
        problems = self.reading.problems.merged(self.problems)
        if problems.count:
            self._fill_values(problems.items)
            raise _Rejected(problems, self.reading)
        self.session.execute(
            update(table)
            .where(table.c.id == self.import_id)
            .values(
                rows=self.reading.rows,
                posted=self.posted,
                skipped=self.skipped,
                totals=self.reading.totals,
            )
        )
        insert = BankFileImportEntry.__table__.insert()
        for chunk in chunks(sorted(set(self.entry_ids))):
            self.session.execute(
                insert, [{"import_id": self.import_id, "entry_id": e} for e in chunk]
            )
        log.info(
            "file %s (%s, %s) accepted: %d rows, %d posted, %d skipped",
            self.head.file_name, self.head.sender, self.head.kind, self.reading.rows,
            self.posted, self.skipped,
        )  # fmt: skip
        return get_receipt(self.session, self.import_id)

    def records(self) -> Iterator[tuple[int, dict]]:
        records = _records(self.kind, self.path, self.sniffed, self.today, self.reading)
        if self.progress is None:
            return records
        return self._reporting(records)

    def _reporting(self, records: Iterator[tuple[int, dict]]) -> Iterator[tuple[int, dict]]:
        reading, due = self.reading, PROGRESS_ROWS
        for record in records:
            if reading.rows >= due:
                due = reading.rows + PROGRESS_ROWS
                self.report()
            yield record
        self.report()

    def report(self, checked: int = 0) -> None:
        """Count ``checked`` rows more as checked and tell the progress callback."""
        self.checked = min(self.checked + checked, self.reading.rows)
        if self.progress is not None:
            self.progress(Progress(self.reading.rows, self.checked, self.posted))

    def _fill_values(self, problems: list[Problem]) -> None:
        wanted: dict[int, list[int]] = defaultdict(list)
        for index, problem in enumerate(problems):
            if problem.row is not None and problem.value == _LATER:
                wanted[problem.row].append(index)
        if wanted:
            _values_as_given(self.kind, self.path, self.sniffed, wanted, problems)

    # -- posting through the fund's batch operations

    def apply(
        self,
        operation: Callable[[list], object],
        lines: list,
        columns: dict[str, str] | None = None,
    ) -> None:
        """Post ``lines``; refused lines become problems and the rest is posted anyway
        (in this transaction, which is then rolled back), so that every later line is
        checked against the state the good lines before it leave. ``columns`` names the
        file's column for an operation's name of it, where they differ."""
        columns = columns or {}
        given = len(lines)
        while lines:
            try:
                batch = operation(lines)
            except RowsRejectedError as rejected:
                refused = {e.row for e in rejected.errors}
                self.problems.extend(
                    # The value as given is filled in from the file at the end.
                    Problem(
                        e.row,
                        columns.get(e.column, e.column),
                        _LATER,
                        e.error.code,
                        e.message,
                        e.zh,
                    )
                    for e in rejected.errors
                )
                lines = [line for line in lines if line.row not in refused]
                continue
            self.posted += batch.posted
            self.skipped += batch.skipped
            self.entry_ids.extend(batch.entry_ids)
            break
        self.session.flush()
        self.session.expunge_all()
        self.report(given)

    def _disbursement(self) -> None:
        def post(lines):
            return apply_disbursements(
                self.session, bank=self.head.bank, lines=lines, actor=self.head.actor,
                today=self.today,
            )  # fmt: skip

        for chunk in chunks(self.records(), CHUNK_LINES):
            lines = [
                DisbursementLine(
                    r["contract_no"],
                    r["guarantee_no"],
                    r["borrower_name"],
                    r["id_number"],
                    r["disbursed_on"],
                    r["maturity_on"],
                    r["principal"],
                    r["annual_rate"],
                    r["repayment_method"],
                    row=number,
                )
                for number, r in chunk
            ]
            self.apply(post, lines)

    def _repayment(self) -> None:
        def post(lines):
            return apply_repayments(
                self.session, bank=self.head.bank, lines=lines, actor=self.head.actor,
                today=self.today,
            )  # fmt: skip

        with _Spool() as spool:
            for number, r in self.records():
                spool.add(
                    r["contract_no"], number,
                    (r["bank_ref"], r["id_number"], r["paid_on"].toordinal(), r["principal"],
                     r["interest"], r["penalty"], r["balance_after"], r["reversal_of"]),
                )  # fmt: skip
            for group in spool.groups(CHUNK_LINES):
                lines = [
                    RepaymentLine(
                        bank_ref,
                        contract_no,
                        dt.date.fromordinal(paid_on),
                        principal,
                        interest,
                        penalty,
                        id_number,
                        balance_after,
                        reversal_of,
                        row=number,
                    )
                    for contract_no, number, (
                        bank_ref,
                        id_number,
                        paid_on,
                        principal,
                        interest,
                        penalty,
                        balance_after,
                        reversal_of,
                    ) in group
                ]
                self.apply(post, lines)

    # -- the bureau's lists

    def _borrowers(self) -> None:
        bureau.post_borrowers(self)

    def _guarantees(self) -> None:
        bureau.post_guarantees(self)

    # -- stored for reconciliation

    def _balances(self) -> None:
        table = BankBalanceLine.__table__
        for chunk in chunks(self.records(), CHUNK_LINES):
            keys = {(r["as_of"], r["contract_no"]) for _, r in chunk}
            stored = self._stored(
                table, (table.c.as_of, table.c.contract_no), keys,
                (table.c.principal_outstanding, table.c.overdue_principal,
                 table.c.days_overdue),
            )  # fmt: skip
            new = []
            for number, r in chunk:
                key = (r["as_of"], r["contract_no"])
                content = (r["principal_outstanding"], r["overdue_principal"], r["days_overdue"])
                if not self._repeat(number, "contract_no", key, content, stored, _balance_clash):
                    new.append(
                        {
                            "import_id": self.import_id, "bank_code": self.head.bank,
                            "row": number, "as_of": r["as_of"], "contract_no": r["contract_no"],
                            "principal_outstanding": r["principal_outstanding"],
                            "overdue_principal": r["overdue_principal"],
                            "days_overdue": r["days_overdue"],
                        }
                    )  # fmt: skip
            self._store(table, new)

    def _statement(self) -> None:
        table = BankStatementLine.__table__
        previous: tuple[int, int] | None = None  # (row, balance) of the line before
        for chunk in chunks(self._statement_rows(), CHUNK_LINES):
            keys = {r["bank_ref"] for _, r in chunk if r is not None}
            stored = self._stored(
                table, (table.c.bank_ref,), {(k,) for k in keys},
                (table.c.booked_on, table.c.direction, table.c.amount, table.c.balance),
            )  # fmt: skip
            new = []
            for number, r in chunk:
                if r is None:  # a row with a cell error breaks the chain of balances
                    previous = None
                    continue
                ok = self._check_balance(number, r, previous)
                previous = (number, r["balance"])
                content = (r["booked_on"], r["direction"], r["amount"], r["balance"])
                repeat = self._repeat(
                    number, "bank_ref", (r["bank_ref"],), content, stored, _statement_clash
                )
                if ok and not repeat:
                    new.append(
                        {
                            "import_id": self.import_id, "bank_code": self.head.bank,
                            "row": number, "booked_on": r["booked_on"],
                            "bank_ref": r["bank_ref"], "direction": r["direction"],
                            "amount": r["amount"], "balance": r["balance"],
                            "counterparty": r["counterparty"], "memo": r["memo"],
                            "account_no": r["account_no"],
                        }
                    )  # fmt: skip
            self._store(table, new)

    def _statement_rows(self) -> Iterator[tuple[int, dict | None]]:
        # Rows with cell errors come through as None so the balance chain restarts there.
        seen = self.reading.problems.count
        for number, record in self.records():
            if self.reading.problems.count > seen:
                seen = self.reading.problems.count
                yield 0, None
            yield number, record

    def _check_balance(self, number: int, r: dict, previous) -> bool:
        if previous is None:
            return True
        row, balance = previous
        sign = -1 if r["direction"] == "D" else 1
        expected = balance + sign * r["amount"]
        if r["balance"] == expected:
            return True
        moved = "minus" if sign < 0 else "plus"
        self.problem(
            number, "balance",
            RepaymentError(
                f"running balance {format_yuan(r['balance'])} does not follow from row {row}: "
                f"{format_yuan(balance)} {moved} {format_yuan(r['amount'])} is "
                f"{format_yuan(expected)}",
                zh=f"余额 {format_yuan(r['balance'])} 与上一行（第 {row} 行）不连续："
                f"{format_yuan(balance)} {'减' if sign < 0 else '加'} "
                f"{format_yuan(r['amount'])} 应为 {format_yuan(expected)}",
            ),
        )  # fmt: skip
        return False

    def _stored(self, table, key_columns, keys: set[tuple], content_columns) -> dict:
        """Rows of this bank already stored under ``keys`` (earlier files, or earlier
        chunks of this one): key → (content, import id, row)."""
        found = {}
        for chunk in chunks(sorted(keys)):
            query = select(*key_columns, *content_columns, table.c.import_id, table.c.row).where(
                table.c.bank_code == self.head.bank,
                tuple_(*key_columns).in_(chunk)
                if len(key_columns) > 1
                else key_columns[0].in_([k[0] for k in chunk]),
            )
            n = len(key_columns)
            for row in self.session.execute(query):
                found[tuple(row[:n])] = (tuple(row[n:-2]), row[-2], row[-1])
        return found

    def _repeat(self, number, column, key, content, stored, clash) -> bool:
        """True if the row repeats one stored before (skipped, or an error if its
        content differs); else remembers it, so a later row of this file repeating it
        is told apart the same way."""
        earlier = stored.get(key)
        if earlier is None:
            stored[key] = (content, self.import_id, number)
            return False
        if earlier[0] == content:
            self.skipped += 1
            return True
        self.problem(number, column, clash(self.head.bank, key, earlier, self.import_id))
        return True

    def _store(self, table, new: list[dict]) -> None:
        # Stored even when the file has errors: the transaction is then rolled back, and
        # meanwhile a later chunk's repeats of these rows are recognised.
        insert_rows(self.session, table, new)
        self.posted += len(new)
        self.report(self.reading.rows)

    def problem(self, number: int, column: str, error: FundError) -> None:
        self.problems.append(
            Problem(number, column, _LATER, error.code, str(error), error.zh or str(error))
        )


def _where(earlier, import_id: int) -> tuple[str, str]:
    _content, earlier_import, row = earlier
    if earlier_import == import_id:
        return f"row {row} of this file", f"本文件第 {row} 行"
    return f"import {earlier_import} (row {row})", f"第 {earlier_import} 号导入（第 {row} 行）"


def _balance_clash(bank, key, earlier, import_id) -> FundError:
    as_of, contract = key
    en, zh = _where(earlier, import_id)
    return DuplicateReferenceError(
        f"bank {bank} already reported a different balance of loan {contract} on {as_of}, in {en}",
        zh=f"{bank} 已在{zh}报送过贷款 {contract} 在 {as_of} 的余额，且内容不同",
    )


def _statement_clash(bank, key, earlier, import_id) -> FundError:
    (ref,) = key
    en, zh = _where(earlier, import_id)
    return DuplicateReferenceError(
        f"bank reference {ref} was already used by a different statement line, in {en}",
        zh=f"银行流水号 {ref} 已在{zh}用于另一笔不同的对账单记录",
    )


# ------------------------------------------------------------------------ sorting repayments


class _Spool:
    """Repayment rows sorted by contract number, then row: in memory, or past
    :data:`SPILL_ROWS` rows in a temporary SQLite file, so memory stays bounded."""

    def __init__(self):
        self.items: list[tuple] = []
        self.db: sqlite3.Connection | None = None
        self.dir: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> _Spool:
        return self

    def __exit__(self, *exc) -> None:
        if self.db is not None:
            self.db.close()
        if self.dir is not None:
            self.dir.cleanup()

    def add(self, key: str, number: int, values: tuple) -> None:
        self.items.append((key, number, values))
        if len(self.items) >= SPILL_ROWS:
            self._spill()

    def _spill(self) -> None:
        if self.db is None:
            self.dir = tempfile.TemporaryDirectory(prefix="fundledger-import-")
            self.db = sqlite3.connect(os.path.join(self.dir.name, "spool.db"))
            self.db.execute("PRAGMA journal_mode = OFF")
            self.db.execute("PRAGMA synchronous = OFF")
            width = len(self.items[0][2])
            columns = ", ".join(f"v{i}" for i in range(width))
            self.db.execute(f"CREATE TABLE spool (k TEXT, n INTEGER, {columns})")
            self.insert = f"INSERT INTO spool VALUES (?, ?, {', '.join('?' for _ in range(width))})"
        self.db.executemany(self.insert, ((k, n, *v) for k, n, v in self.items))
        self.items = []

    def groups(self, size: int) -> Iterator[list[tuple]]:
        """Chunks of about ``size`` rows, never splitting one contract's rows."""
        if self.db is None:
            self.items.sort(key=lambda item: (item[0], item[1]))
            ordered: Iterable = self.items
        else:
            if self.items:
                self._spill()
            self.db.execute("CREATE INDEX spool_order ON spool (k, n)")
            ordered = (
                (row[0], row[1], row[2:])
                for row in self.db.execute("SELECT * FROM spool ORDER BY k, n")
            )
        chunk: list[tuple] = []
        for item in ordered:
            if len(chunk) >= size and item[0] != chunk[-1][0]:
                yield chunk
                chunk = []
            chunk.append(item)
        if chunk:
            yield chunk
        self.items = []


__all__ = [
    "CHUNK_LINES",
    "STATUS_ZH",
    "Problem",
    "Progress",
    "Receipt",
    "error_lines",
    "get_receipt",
    "import_file",
    "receipts",
]
