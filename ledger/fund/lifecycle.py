"""Statuses and the moves allowed between them, for every kind of record that has a
status (the fund's records and the bank files' receipts). Plain Python: a module that
only names a lifecycle loads no database layer."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ledger.fund.errors import StatusTransitionError


class Lifecycle:
    """The statuses of one kind of record, their Chinese names, and the moves allowed
    between them; every status change of the fund goes through :meth:`move`."""

    def __init__(
        self,
        record: str,
        record_zh: str,
        names_zh: Mapping[str, str],
        moves: Mapping[str, Collection[str]],
    ):
        self.record, self.record_zh = record, record_zh
        self.names_zh, self.moves = dict(names_zh), {k: frozenset(v) for k, v in moves.items()}

    def move(self, label: str, current: str, new: str) -> str:
        """``new``, if a record in ``current`` may move to it; else StatusTransitionError."""
        if new not in self.moves.get(current, ()):
            raise StatusTransitionError(
                f"{self.record} {label} is {current} and cannot become {new}",
                zh=f"{self.record_zh} {label} 状态为{self.names_zh[current]}，"
                f"不能变为{self.names_zh[new]}",
            )
        return str(new)  # stored as the plain text the CHECK constraint names


def set_status(record, new: str) -> None:
    """Move ``record`` (a model with a ``lifecycle``) to status ``new``, or refuse."""
    record.status = record.lifecycle.move(record.status_label, record.status, new)
