"""What batches of lines (a bank file's rows) share: the refused line and its report.

A batch operation checks every line before it writes anything; each refusal becomes a
:class:`LineError` naming the row, the column and the value as given, and the batch
raises :class:`~ledger.fund.errors.RowsRejectedError` carrying all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, any_, bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ledger import chart
from ledger.db import copy_rows
from ledger.entries import MAX_LEGS, EntryDraft, credit, debit, post_entries
from ledger.fund.books import loan_exposure_account
from ledger.fund.errors import FundError

#: Values per IN (…) list: far below SQLite's and psycopg's limits on parameters.
CHUNK = 5_000


@dataclass(frozen=True)
class LineError:
    """A refused line: which row, which column, the value as given, and why."""

    row: int
    column: str
    value: str
    error: FundError

    @property
    def message(self) -> str:
        return str(self.error)

    @property
    def zh(self) -> str:
        return self.error.zh or str(self.error)


class Refused(Exception):
    """Raised while checking a line: the column at fault and the named error."""

    def __init__(self, column: str, error: FundError):
        super().__init__(str(error))
        self.column, self.error = column, error

    def at(self, line) -> LineError:
        value = getattr(line, self.column, None)
        return LineError(line.row, self.column, "" if value is None else str(value), self.error)


def chunks(items: Iterable, size: int = CHUNK) -> Iterable[Sequence]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_rows(session: Session, table: Table, rows: list[dict]) -> list[int]:
    """Insert ``rows`` into ``table`` with ids drawn first; returns the ids in order.

    The ids come from the table's sequence on PostgreSQL; on SQLite this transaction
    holds the only write lock, so they follow the highest id. PostgreSQL takes the rows
    by ``COPY`` (ten times an ``executemany``'s speed for a bank file's rows), SQLite by
    one ``executemany``. Every row must name the same columns.
    """
    if not rows:
        return []
    session.flush()
    conn = session.connection()
    name = table.name
    if conn.dialect.name == "postgresql":
        ids = conn.execute(
            text(
                # OFFSET 0 keeps the subquery apart, so it runs once and not for every id.
                "SELECT array_agg(nextval(q.seq)) FROM generate_series(1, :n), "
                f"(SELECT pg_get_serial_sequence('{name}', 'id')::regclass AS seq OFFSET 0) AS q"
            ),
            {"n": len(rows)},
        ).scalar_one()
    else:
        last = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {name}")).scalar_one()
        ids = list(range(last + 1, last + 1 + len(rows)))
    for row, id_ in zip(rows, ids, strict=True):
        row["id"] = id_
    if conn.dialect.name == "postgresql" and len(rows) > _COPY_THRESHOLD:
        _copy(conn, table, rows)
    else:
        for chunk in chunks(rows):
            conn.execute(insert(table), list(chunk))
    return ids


#: Rows up to this many go in one INSERT on PostgreSQL; more by COPY.
_COPY_THRESHOLD = 64


def _copy(conn, table: Table, rows: list[dict]) -> None:
    columns = list(rows[0])
    copy_rows(conn, table.name, columns, ([row[c] for c in columns] for row in rows))


def update_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """Set the columns each row names on the row with its ``id``: on PostgreSQL one
    ``UPDATE … FROM unnest(arrays)``, on SQLite one executemany."""
    if not rows:
        return
    session.flush()
    columns = [c for c in rows[0] if c != "id"]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        types = {c: table.c[c].type.compile(conn.dialect) for c in ["id", *columns]}
        arrays = ", ".join(f"CAST(:{c} AS {types[c]}[])" for c in ["id", *columns])
        sets = ", ".join(f"{c} = v.{c}" for c in columns)
        statement = text(
            f"UPDATE {table.name} SET {sets} FROM unnest({arrays}) "
            f"AS v(id, {', '.join(columns)}) WHERE {table.name}.id = v.id"
        )
        for chunk in chunks(rows, 50_000):
            conn.execute(statement, {c: [row[c] for row in chunk] for c in ["id", *columns]})
        return
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({c: bindparam(f"b_{c}") for c in columns})
    )
    for chunk in chunks(rows):
        conn.execute(statement, [{f"b_{k}": v for k, v in row.items()} for row in chunk])


def among(session: Session, column, values: Sequence):
    """``column IN values`` for a chunk of values: ``= ANY(array)`` on PostgreSQL, one
    parameter however many values (an IN list binds each)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def post_exposure_moves(
    session: Session,
    *,
    bank: str,
    kind: str,
    moves: Mapping[dt.date, Mapping[int, int]],
    describe: Callable[[dt.date, list[int]], str],
    actor: str,
) -> tuple[dict[tuple[dt.date, int], int], tuple[int, ...]]:
    """Post each date's changes of loans' exposure (``moves[date][loan id]``, + up, − down)
    against the bank's contra account: one entry per date, or several when a date moves
    more loans than an entry has room for. Returns the entry of each (date, loan) and all
    the entries' ids, in date order."""
    contra = chart.exposure_contra_account(bank)
    drafts, members = [], []
    for on, changes in sorted(moves.items()):
        loan_ids = sorted(loan_id for loan_id, change in changes.items() if change)
        for start in range(0, len(loan_ids), MAX_LEGS - 1):
            part = loan_ids[start : start + MAX_LEGS - 1]
            legs = []
            for loan_id in part:
                account, change = loan_exposure_account(bank, loan_id), changes[loan_id]
                legs.append(debit(account, change) if change > 0 else credit(account, -change))
            total = sum(changes[loan_id] for loan_id in part)
            if total:
                legs.append(credit(contra, total) if total > 0 else debit(contra, -total))
            drafts.append(EntryDraft(on, kind, tuple(legs), describe(on, part)))
            members.append((on, part))
    posted = post_entries(session, drafts, actor=actor)
    entry_of = {}
    for (on, part), result in zip(members, posted, strict=True):
        for loan_id in part:
            entry_of[(on, loan_id)] = result.entry_id
    return entry_of, tuple(p.entry_id for p in posted)
