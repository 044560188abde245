"""Reading the receipts of file uploads (a bank's files, the bureau's lists) back: one
receipt, a page of them filtered by bank, kind, status and upload date, and an import's
error lines. Values only; the upload itself is ``ledger.bankfiles.imports``. Kept apart
from it so that listing receipts does not load the posting machinery."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.bankfiles.kinds import KINDS
from ledger.bankfiles.models import (
    IMPORT_LIFECYCLE,
    BankFileError,
    BankFileImport,
    BankFileImportEntry,
    ImportStatus,
)
from ledger.clock import CHINA_OFFSET
from ledger.money import fen_to_yuan
from ledger.paging import Cursor, Page, SortKey, check_range, keyset_page, one_of
from ledger.rows import chunks

STATUS_ZH = IMPORT_LIFECYCLE.names_zh


@dataclass(frozen=True)
class Receipt:
    """What became of one upload (a ``bank_file_imports`` row and its entries)."""

    id: int
    #: The partner bank whose file it was; None for the bureau's lists.
    bank: str | None
    kind: str
    file_name: str
    sha256: str
    size: int
    format: str | None
    encoding: str | None
    status: str
    rows: int
    posted: int
    skipped: int
    error_rows: int
    #: Total fen of each amount column over the rows read.
    totals: dict[str, int]
    entry_ids: tuple[int, ...]
    duplicate_of: int | None
    uploaded_by: str
    uploaded_at: dt.datetime
    message: str | None = None
    message_zh: str | None = None
    #: Error lines recorded (a row may have several).
    errors: int = 0

    def as_dict(self) -> dict:
        """JSON-ready: amounts as yuan strings with two decimals, the time in UTC."""
        data = dataclasses.asdict(self)
        data["totals"] = {k: str(fen_to_yuan(v)) for k, v in self.totals.items()}
        data["entry_ids"] = list(self.entry_ids)
        data["uploaded_at"] = self.uploaded_at.isoformat(timespec="seconds") + "Z"
        return data


@dataclass(frozen=True)
class Problem:
    """One error line of a report; ``row`` None means the file as a whole."""

    row: int | None
    column: str
    value: str
    code: str
    message: str
    zh: str


def get_receipt(session: Session, import_id: int) -> Receipt:
    table = BankFileImport.__table__
    row = session.execute(select(table).where(table.c.id == import_id)).one()
    return _receipts(session, [row])[0]


def _receipts(session: Session, rows: list) -> tuple[Receipt, ...]:
    """``bank_file_imports`` rows as receipts, their entries and error counts read for all
    of them at once (two queries a chunk of ids)."""
    ids = [r.id for r in rows]
    entries, errors = BankFileImportEntry.__table__, BankFileError.__table__
    entry_ids: dict[int, list[int]] = defaultdict(list)
    counts: dict[int, int] = {}
    for chunk in chunks(ids):
        for import_id, entry_id in session.execute(
            select(entries.c.import_id, entries.c.entry_id)
            .where(entries.c.import_id.in_(chunk))
            .order_by(entries.c.import_id, entries.c.entry_id)
        ):
            entry_ids[import_id].append(entry_id)
        counts.update(
            session.execute(
                select(errors.c.import_id, func.count())
                .where(errors.c.import_id.in_(chunk))
                .group_by(errors.c.import_id)
            )
            .tuples()
            .all()
        )
    return tuple(_receipt(r._mapping, entry_ids[r.id], counts.get(r.id, 0)) for r in rows)


def _receipt(row, entry_ids: list[int], errors: int) -> Receipt:
    return Receipt(
        id=row["id"], bank=row["bank_code"], kind=row["kind"], file_name=row["file_name"],
        sha256=row["sha256"], size=row["size"], format=row["format"],
        encoding=row["encoding"], status=row["status"], rows=row["rows"],
        posted=row["posted"], skipped=row["skipped"], error_rows=row["error_rows"],
        totals=row["totals"], entry_ids=tuple(entry_ids),
        duplicate_of=row["duplicate_of_id"], uploaded_by=row["uploaded_by"],
        uploaded_at=row["uploaded_at"], message=row["message"],
        message_zh=row["message_zh"], errors=errors,
    )  # fmt: skip


def error_lines(session: Session, import_id: int) -> Iterator[Problem]:
    """The errors of an import in row order, streamed."""
    table = BankFileError.__table__
    query = (
        select(table)
        .where(table.c.import_id == import_id)
        .order_by(table.c.row.is_not(None), table.c.row, table.c.id)
        .execution_options(yield_per=5_000)
    )
    for row in session.execute(query).mappings():
        yield Problem(
            row["row"], row["column"], row["value"], row["code"], row["message"],
            row["message_zh"],
        )  # fmt: skip


#: The orders the receipts may be sorted in: the moment of the upload.
RECEIPT_SORTS = (SortKey("uploaded_at", BankFileImport.__table__.c.uploaded_at, dt.datetime),)


def receipts(
    session: Session,
    *,
    bank: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    uploaded_from: dt.date | None = None,
    uploaded_to: dt.date | None = None,
    sort: str | None = None,
    after: Cursor | str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[Receipt]:
    """Receipts newest first, or sorted by one of :data:`RECEIPT_SORTS`
    (``ledger.paging``): of a bank, of a kind of file, in a status
    (:class:`~ledger.bankfiles.models.ImportStatus`), uploaded in a date range (both ends
    included; China dates, as the business date is)."""
    one_of(kind, KINDS, "file kind", "文件类型")
    one_of(status, ImportStatus, "receipt status", "导入状态")
    check_range(uploaded_from, uploaded_to, "upload date", "上传日期")
    table = BankFileImport.__table__
    query = select(table)
    if bank is not None:
        query = query.where(table.c.bank_code == bank)
    if kind is not None:
        query = query.where(table.c.kind == kind)
    if status is not None:
        query = query.where(table.c.status == status)
    if uploaded_from is not None:
        query = query.where(table.c.uploaded_at >= _utc_start(uploaded_from))
    if uploaded_to is not None:
        query = query.where(table.c.uploaded_at < _utc_start(uploaded_to + dt.timedelta(days=1)))
    return keyset_page(
        session,
        query,
        table.c.id,
        before=before,
        limit=limit,
        sort=sort,
        sorts=RECEIPT_SORTS,
        after=after,
        values=lambda rows: _receipts(session, rows),
    )


def upload_counts(session: Session, day: dt.date, *, bank: str | None = None) -> dict[str, int]:
    """How many files (of ``bank``, or of every bank) were uploaded on the China date
    ``day``, by status: one count query, however many files and entries."""
    table = BankFileImport.__table__
    query = (
        select(table.c.status, func.count())
        .where(
            table.c.uploaded_at >= _utc_start(day),
            table.c.uploaded_at < _utc_start(day + dt.timedelta(days=1)),
        )
        .group_by(table.c.status)
    )
    if bank is not None:
        query = query.where(table.c.bank_code == bank)
    return {status: int(n) for status, n in session.execute(query)}


def _utc_start(day: dt.date) -> dt.datetime:
    """The moment (naive UTC, as ``uploaded_at`` is) the China date ``day`` begins."""
    return dt.datetime.combine(day, dt.time()) - CHINA_OFFSET
