"""Keyset pages and the checks of a list's filters, shared by every list the command line,
the web pages and the API show.

A list is newest first by id unless asked for another order: a list that may be sorted
names its :class:`SortKey`\\ s, and ``sort="principal"`` (ascending) or
``sort="-principal"`` (descending) orders it by that key, then by id in the same
direction, so that every row has one place in the order. ``sort="id"`` is oldest first;
no sort (or ``"-id"``) is newest first.

A page holds at most ``limit`` rows (1 to :data:`MAX_PAGE`). The first page has no
cursor; the page after it starts after the last row of the page before, told by its
``next_after`` (a :class:`Cursor`'s token: the order it was made in, the last row's sort
value and its id), never by an offset: a page is one index range however deep it is, and
a row written meanwhile neither shifts nor repeats the rows that follow. In the
newest-first order ``before`` (an id, the page's ``next_before``) says the same. The same
cursor asked for again gives the same rows as long as nothing new was written after it.

A filter, a sort or a cursor the list cannot have is a :class:`FilterError` (a
``ValueError``) naming what it may be.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Date, DateTime, Select, String, and_, literal, tuple_
from sqlalchemy.orm import Session

from ledger.errors import FilterError

T = TypeVar("T")

#: The most rows one page may hold.
MAX_PAGE = 1000
#: The order of a list not asked for another: newest first, by id.
NEWEST_FIRST = "-id"
#: The largest id a cursor may carry (the database's ids are 64-bit).
MAX_ID = 2**63 - 1
#: The longest cursor token read (a sort value is a date, a number or a short text).
MAX_TOKEN = 400

_KIND_TYPES = {int: BigInteger, str: String, dt.date: Date, dt.datetime: DateTime}
_BEFORE = re.compile(r"b([1-9][0-9]{0,18})")


@dataclass(frozen=True)
class SortKey:
    """One order a list may be sorted in: its ``name`` (what ``sort=`` says), the SQL
    expression it sorts by, and the Python type of its values (``int``, ``str``,
    ``datetime.date`` or ``datetime.datetime``).

    The expression must never be NULL — a cursor compares its value with ``<``/``>``, and
    NULL compares with nothing: wrap a nullable column in ``coalesce``. A key used over a
    large table wants an index on (its expression, id), and one on (the filter's column,
    its expression, id) for a filter that is usually given (a bank's own loans).
    """

    name: str
    column: Any
    kind: type


@dataclass(frozen=True)
class Order:
    """A list's order: by a sort key (None: by id alone), then by id, both descending or
    both ascending."""

    key: SortKey | None
    descending: bool

    @property
    def name(self) -> str:
        """The order as ``sort=`` says it: ``"-principal"``, ``"id"``."""
        return ("-" if self.descending else "") + (self.key.name if self.key else "id")


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after the row with this ``id`` and sort ``value`` in the order
    named ``sort``. ``value`` is as a token carries it (a date as ISO text); in an order by
    id alone it is the id."""

    sort: str
    value: int | str
    id: int

    def token(self) -> str:
        """The cursor as an opaque text for a URL: ``b<id>`` (base64) in the newest-first
        order, as lists have always paged, else its order, value and id as JSON."""
        if self.sort == NEWEST_FIRST:
            text = f"b{self.id}"
        else:
            text = json.dumps([self.sort, self.value, self.id], ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """The cursor of a :meth:`token`; FilterError for a text no page made."""
        try:
            if len(token) > MAX_TOKEN:
                raise ValueError(token)
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            match = _BEFORE.fullmatch(text)
            if match is not None and _is_id(int(match.group(1))):
                return cls(NEWEST_FIRST, int(match.group(1)), int(match.group(1)))
            if match is not None:
                raise ValueError(text)
            sort, value, id_ = json.loads(text)
            if (
                isinstance(sort, str)
                and isinstance(value, int | str)
                and not isinstance(value, bool)
                and _is_id(id_)
            ):
                return cls(sort, value, id_)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            pass
        raise FilterError(
            f"cursor {token[:40]!r} is not one this list gave: follow the next page's link",
            zh=f"分页游标 {token[:40]!r} 无效：请使用“下一页”链接中的游标",
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paged list."""

    items: tuple[T, ...]
    #: The ``before`` of the next page in the newest-first order; None when this is the
    #: last, and in every other order.
    next_before: int | None
    #: The cursor (:meth:`Cursor.token`) of the next page; None when this is the last.
    next_after: str | None = None
    #: The page's order, as ``sort=`` says it.
    sort: str = NEWEST_FIRST


def check_limit(limit: int, noun: str = "rows") -> int:
    """``limit`` if a page may hold that many rows, else :class:`FilterError`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise FilterError(
            f"a page holds 1 to {MAX_PAGE} {noun}, not {limit}",
            zh=f"每页可显示 1 至 {MAX_PAGE} 条，不能为 {limit}",
        )
    return limit


def sort_order(sort: str | None, keys: Sequence[SortKey]) -> Order:
    """The order ``sort`` names among ``keys`` (and ``id``); none: newest first."""
    if sort is None or sort.strip() == "":
        return Order(None, True)
    text = sort.strip()
    descending = text.startswith("-")
    name = text[1:] if descending else text
    if name == "id":
        return Order(None, descending)
    for key in keys:
        if key.name == name:
            return Order(key, descending)
    allowed = ["id", *(k.name for k in keys)]
    raise FilterError(
        f"unknown sort {sort!r}; sort by one of: {', '.join(allowed)} "
        "(ascending; with a leading - descending)",
        zh=f"排序方式 {sort!r} 无效，可按以下之一排序：{'、'.join(allowed)}（升序；前加 - 为降序）",
    )


def keyset_page(
    session: Session,
    stmt: Select,
    id_column: Any,
    *,
    before: int | None = None,
    limit: int,
    values: Callable[[Sequence[Any]], Iterable[T]],
    noun: str = "rows",
    scalars: bool = False,
    sort: str | None = None,
    sorts: Sequence[SortKey] = (),
    after: Cursor | str | None = None,
) -> Page[T]:
    """One page of ``stmt`` in the order ``sort`` names among ``sorts``
    (:func:`sort_order`; newest first by ``id_column`` when none), turned into values by
    ``values`` (given the page's rows at once): the rows after the cursor ``after`` (a
    :class:`Cursor` or its token), or in the newest-first order below the id ``before``.

    One query reads ``limit + 1`` rows, the last only to tell whether a next page exists.
    Each row (a result row, or with ``scalars`` the first column's value) has the id as
    ``.id``: a statement of an entity with other columns selects ``id_column`` too.
    """
    check_limit(limit, noun)
    order = sort_order(sort, sorts)
    if isinstance(after, str):
        after = Cursor.parse(after) if after else None
    if before is not None:
        if after is not None:
            raise FilterError(
                "give the next page's cursor or before=, not both",
                zh="分页游标与 before= 只能给出其一",
            )
        if order.name != NEWEST_FIRST:
            raise FilterError(
                f"before= pages the newest-first order only, not sort {order.name!r}: "
                "follow the next page's link",
                zh=f"before= 仅用于按最新排序的列表，不能用于排序 {order.name}：请使用“下一页”链接",
            )
        # An id past any the database can hold: every row is below it (the first page).
        before = min(before, MAX_ID)
        after = Cursor(NEWEST_FIRST, before, before)
    key = order.key
    if key is not None:
        stmt = stmt.add_columns(key.column.label("_page_sort"))
    if after is not None:
        stmt = stmt.where(_beyond(order, after, id_column))
    columns = [id_column] if key is None else [key.column, id_column]
    ordering = [c.desc() if order.descending else c.asc() for c in columns]
    rows = list(session.execute(stmt.order_by(*ordering).limit(limit + 1)))
    more = len(rows) > limit
    del rows[limit:]
    items = [r[0] for r in rows] if scalars else rows
    page = Page(tuple(values(items)), None, None, order.name)
    if not more:
        return page
    last_id = items[-1].id
    value = last_id if key is None else _wire(rows[-1]._page_sort)
    return Page(
        page.items,
        last_id if order.name == NEWEST_FIRST else None,
        Cursor(order.name, value, last_id).token(),
        order.name,
    )


def _beyond(order: Order, cursor: Cursor, id_column: Any):
    """The condition of the rows after ``cursor`` in ``order``: ``(value, id) < (v, i)``
    descending, ``>`` ascending — a row comparison, which SQLite (3.15 on) and PostgreSQL
    both read, and which PostgreSQL's index on (…, value, id) takes as one range. The
    value's own bound (``value <= v``) beside it says nothing more, but lets SQLite start
    an index on an expression (a coalesce, a difference) at the cursor rather than scan
    it from the start."""
    if cursor.sort != order.name:
        raise FilterError(
            f"the cursor was made for sort {cursor.sort!r}, not {order.name!r}: "
            "send it with the sort it came with",
            zh=f"该分页游标属于排序 {cursor.sort}，不能用于排序 {order.name}：请与原排序一起使用",
        )
    last = literal(cursor.id, BigInteger)
    if order.key is None:
        return id_column < last if order.descending else id_column > last
    column = order.key.column
    value = literal(_value(order.key, cursor), _KIND_TYPES[order.key.kind]())
    left, right = tuple_(column, id_column), tuple_(value, last)
    if order.descending:
        return and_(column <= value, left < right)
    return and_(column >= value, left > right)


def _wire(value: Any) -> int | str:
    """A sort value as a cursor's token carries it."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _value(key: SortKey, cursor: Cursor) -> Any:
    """The cursor's value as ``key``'s kind; FilterError if it cannot be one."""
    value = cursor.value
    try:
        if key.kind is int and isinstance(value, int) and -MAX_ID <= value <= MAX_ID:
            return value
        if key.kind is str and isinstance(value, str):
            return value
        if key.kind is dt.datetime and isinstance(value, str):
            return dt.datetime.fromisoformat(value)
        if key.kind is dt.date and isinstance(value, str):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise FilterError(
        f"the cursor's {key.name} {str(value)[:40]!r} is not one this list gave: "
        "follow the next page's link",
        zh=f"分页游标中的 {key.name} 值 {str(value)[:40]!r} 无效：请使用“下一页”链接中的游标",
    )


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


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
