"""Cursor pagination over the books' keyset pages (``ledger.paging.Page``).

A list answers ``{"items": [...], "next_cursor": "..."}``; ``next_cursor`` is null on the
last page, else what to send as ``?cursor=`` for the next one (with the same filters and
the same ``sort``). A cursor is opaque to clients: the page's order, the last item's sort
value and its id (``ledger.paging.Cursor``; in the newest-first order the ``before`` id
it has always been). A cursor sent with another sort than the one it was made for is
refused by the list (``invalid-filter``).
"""

from __future__ import annotations

from ledger.errors import FilterError
from ledger.paging import NEWEST_FIRST, Cursor, Page


def _refused(token: str) -> FilterError:
    return FilterError(
        f"cursor {token[:40]!r} is not one this API gave: use next_cursor as given",
        zh=f"分页游标 {token[:40]!r} 无效：请原样使用 next_cursor 的值",
    )


def cursor(token: str | None) -> Cursor | None:
    """The ``?cursor=`` of a sortable list; FilterError for one the API did not make."""
    if token is None or token == "":
        return None
    try:
        return Cursor.parse(token)
    except FilterError:
        raise _refused(token) from None


def encode(before: int | None) -> str | None:
    """The cursor of a newest-first list's next page, from its ``before``."""
    if before is None:
        return None
    return Cursor(NEWEST_FIRST, before, before).token()


def decode(token: str | None) -> int | None:
    """The page's ``before`` from the cursor of a list that is only newest first;
    FilterError for one the API did not make."""
    found = cursor(token)
    if found is None:
        return None
    if found.sort != NEWEST_FIRST:
        raise _refused(token)
    return found.id


def page_body(page: Page, schema) -> dict:
    """A page as the API answers it, its items dumped by ``schema`` (many=True)."""
    return {"items": schema.dump(page.items), "next_cursor": page.next_after}
