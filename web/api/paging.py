"""Cursor pagination over the books' keyset pages (``ledger.paging.Page``).

A list answers ``{"items": [...], "next_cursor": "..."}``; ``next_cursor`` is null on the
last page, else what to send as ``?cursor=`` for the next one (with the same filters).
A cursor is opaque to clients: today the ``before`` id of the keyset page, encoded.
"""

from __future__ import annotations

import base64
import binascii
import re

from ledger.errors import FilterError
from ledger.paging import Page

_CURSOR = re.compile(r"b([1-9][0-9]{0,17})")


def encode(before: int | None) -> str | None:
    if before is None:
        return None
    return base64.urlsafe_b64encode(f"b{before}".encode("ascii")).decode("ascii").rstrip("=")


def decode(cursor: str | None) -> int | None:
    """The page's ``before`` from a cursor; FilterError for one the API did not make."""
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise FilterError(
            f"cursor {cursor[:40]!r} is not one this API gave: use next_cursor as given",
            zh=f"分页游标 {cursor[:40]!r} 无效：请原样使用 next_cursor 的值",
        )
    return int(match.group(1))


def page_body(page: Page, schema) -> dict:
    """A page as the API answers it, its items dumped by ``schema`` (many=True)."""
    return {"items": schema.dump(page.items), "next_cursor": encode(page.next_before)}
