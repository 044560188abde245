"""Rows in bulk, the same way on SQLite and PostgreSQL: lists cut into chunks, ``IN`` over
a chunk, ids drawn before the rows are written, multi-row inserts and updates.

The books and every layer above them use these; none writes its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import ARRAY, Connection, Table, any_, bindparam, insert, text, update
from sqlalchemy.orm import Session

from ledger.db import copy_rows

#: Values per IN (…) list or rows per statement: far below SQLite's and psycopg's limits
#: on parameters.
CHUNK = 5_000
#: Rows up to this many go in one INSERT on PostgreSQL; more by COPY.
COPY_THRESHOLD = 64


def chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    """``items`` in lists of at most ``size``, read as they come (a generator is never
    held whole)."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def among(session: Session, column, values: Sequence):
    """``column IN values`` for a chunk of values: ``= ANY(array)`` on PostgreSQL, one
    parameter however many values (an IN list binds each)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def allocate_ids(conn: Connection, table: str, count: int) -> list[int]:
    """``count`` new ids for ``table``, in order, before its rows are written.

    On PostgreSQL they come from the table's sequence; on SQLite the transaction holds
    the only write lock (``BEGIN IMMEDIATE``), so they follow the highest id.
    """
    if conn.dialect.name == "postgresql":
        return list(
            conn.execute(
                text(
                    # OFFSET 0 keeps the subquery apart: it runs once, not for every id.
                    "SELECT array_agg(nextval(q.seq)) FROM generate_series(1, :n), "
                    f"(SELECT pg_get_serial_sequence('{table}', 'id')::regclass AS seq "
                    "OFFSET 0) AS q"
                ),
                {"n": count},
            ).scalar_one()
        )
    last = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(last + 1, last + 1 + count))


def insert_rows(
    session: Session, table: Table, rows: list[dict], *, draw_ids: bool = True
) -> list[int]:
    """Insert ``rows`` into ``table`` with ids drawn first; returns the ids in order
    (none when ``draw_ids`` is false: the rows carry their own key).

    PostgreSQL takes more than :data:`COPY_THRESHOLD` rows by ``COPY`` (ten times an
    ``executemany``'s speed for a bank file's rows), SQLite by ``executemany``. Every
    row must name the same columns.
    """
    if not rows:
        return []
    session.flush()
    conn = session.connection()
    ids = allocate_ids(conn, table.name, len(rows)) if draw_ids else []
    for row, id_ in zip(rows, ids, strict=False):
        row["id"] = id_
    if conn.dialect.name == "postgresql" and len(rows) > COPY_THRESHOLD:
        columns = list(rows[0])
        copy_rows(conn, table.name, columns, ([row[c] for c in columns] for row in rows))
    else:
        for chunk in chunks(rows):
            conn.execute(insert(table), chunk)
    return ids


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
