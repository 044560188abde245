"""Figures that are costly to compute (the dashboard over a whole city: every loan's
position), kept in the application's memory for as long as the books have not moved.

A cached value is keyed by what was asked (the page, the fund, the day) and stamped with
the books' version when it was computed: the newest journal entry, loan extension and
repayment row (:func:`books_version`, three index reads). Any posting, repayment or
extension moves the version and the next request computes afresh; a value is also
dropped after ``MAX_AGE`` whatever happens. What changes without a posting (the records
awaiting approval) is read fresh by the page. Each web process keeps its own."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.fund.models import Extension, Repayment
from ledger.models import JournalEntry

#: Seconds a value is kept at most.
MAX_AGE = 600
#: Values kept at most (oldest dropped first).
SIZE = 64


def books_version(session: Session) -> tuple:
    """What changes whenever a figure of the fund may change."""
    return (
        session.scalar(select(func.max(JournalEntry.id))),
        session.scalar(select(func.max(Repayment.id))),
        session.scalar(select(func.max(Extension.id))),
    )


class FigureCache:
    def __init__(self, max_age: float = MAX_AGE, size: int = SIZE):
        self.max_age, self.size = max_age, size
        self._values: OrderedDict[Hashable, tuple[tuple, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        # One computation per key at a time: the others wait for it rather than repeat it.
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, version: tuple, compute: Callable[[], Any]) -> Any:
        found = self._fresh(key, version)
        if found is not None:
            return found[0]
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            found = self._fresh(key, version)
            if found is not None:
                return found[0]
            value = compute()
            with self._lock:
                self._values[key] = (version, time.monotonic(), value)
                self._values.move_to_end(key)
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
            return value

    def _fresh(self, key: Hashable, version: tuple) -> tuple[Any] | None:
        with self._lock:
            entry = self._values.get(key)
            if entry is None:
                return None
            stamped, at, value = entry
            if stamped != version or time.monotonic() - at > self.max_age:
                return None
            return (value,)
