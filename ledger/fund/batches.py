"""What batches of lines (a bank file's rows) share: the refused line and its report.

A batch operation checks every line before it writes anything; each refusal becomes a
:class:`LineError` naming the row, the column and the value as given, and the batch
raises :class:`~ledger.fund.errors.RowsRejectedError` carrying all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


def chunks(items: Iterable) -> Iterable[Sequence]:
    items = list(items)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
