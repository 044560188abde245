"""Keyset pages and the checks of a list's filters, shared by every list the command line,
the web pages and the API show.

A list is newest first by id. A page holds at most ``limit`` rows (1 to :data:`MAX_PAGE`)
with ids below ``before``; its ``next_before`` is the cursor of the page after it (None on
the last page). The same cursor asked for again gives the same rows as long as nothing
new was written below it. A filter the list cannot have is a :class:`FilterError` (a
``ValueError``) naming what it may be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ledger.errors import FilterError

T = TypeVar("T")

#: The most rows one page may hold.
MAX_PAGE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paged list, newest first."""

    items: tuple[T, ...]
    #: The ``before`` of the next page; None when this is the last.
    next_before: int | None


def check_limit(limit: int, noun: str = "rows") -> int:
    """``limit`` if a page may hold that many rows, else :class:`FilterError`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise FilterError(
            f"a page holds 1 to {MAX_PAGE} {noun}, not {limit}",
            zh=f"每页可显示 1 至 {MAX_PAGE} 条，不能为 {limit}",
        )
    return limit


def keyset_page(
    session: Session,
    stmt: Select,
    id_column: Any,
    *,
    before: int | None,
    limit: int,
    values: Callable[[Sequence[Any]], Iterable[T]],
    noun: str = "rows",
    scalars: bool = False,
) -> Page[T]:
    """One page of ``stmt``, newest first by ``id_column``: its rows below ``before``,
    turned into values by ``values`` (given the page's rows at once).

    One query reads ``limit + 1`` rows, the last only to tell whether a next page exists.
    Each row (a result row, or with ``scalars`` the first column's value) has the id as
    ``.id``: a statement of an entity with other columns selects ``id_column`` too.
    """
    check_limit(limit, noun)
    if before is not None:
        stmt = stmt.where(id_column < before)
    result = session.execute(stmt.order_by(id_column.desc()).limit(limit + 1))
    rows = list(result.scalars() if scalars else result)
    more = len(rows) > limit
    del rows[limit:]
    return Page(tuple(values(rows)), rows[-1].id if more else None)


def one_of(value: str | None, allowed: Iterable[str], what: str, what_zh: str) -> str | None:
    """``value`` as a filter on ``what`` (None: no filter), if it is one of ``allowed``."""
    if value is None:
        return None
    allowed = [str(a) for a in allowed]
    if value not in allowed:
        raise FilterError(
            f"unknown {what} {value!r}; use one of: {', '.join(allowed)}",
            zh=f"{what_zh} {value!r} 无效，应为：{'、'.join(allowed)}",
        )
    return value


def check_range(start: dt.date | None, end: dt.date | None, what: str, what_zh: str) -> None:
    """Refuse a date range (either end may be open) that ends before it starts."""
    if start is not None and end is not None and end < start:
        raise FilterError(
            f"the {what} range ends ({end}) before it starts ({start})",
            zh=f"{what_zh}范围的结束日期 {end} 早于开始日期 {start}",
        )
