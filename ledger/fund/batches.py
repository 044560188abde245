"""What batches of lines (a bank file's rows) share: the refused line and its report.

A batch operation checks every line before it writes anything; each refusal becomes a
:class:`LineError` naming the row, the column and the value as given, and the batch
raises :class:`~ledger.fund.errors.RowsRejectedError` carrying all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ledger import chart
from ledger.entries import MAX_LEGS, EntryDraft, credit, debit, post_entries
from ledger.fund.books import loan_exposure_account
from ledger.fund.errors import FundError


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


def post_exposure_moves(
    session: Session,
    *,
    bank: str,
    kind: str,
    moves: Mapping[dt.date, Mapping[int, int]],
    describe: Callable[[dt.date, list[int]], str],
    actor: str,
    funds: Mapping[int, str] | None = None,
) -> tuple[dict[tuple[dt.date, int], int], tuple[int, ...]]:
    """Post each date's changes of loans' exposure (``moves[date][loan id]``, + up, − down)
    against the contra account of each loan's fund at the bank (``funds[loan id]``, the
    city-level fund when not given): one entry per date and fund, or several when they move
    more loans than an entry has room for. Returns the entry of each (date, loan) and all
    the entries' ids, in date order."""
    funds = funds or {}
    drafts, members = [], []
    for on, changes in sorted(moves.items()):
        by_fund: dict[str, list[int]] = {}
        for loan_id in sorted(loan_id for loan_id, change in changes.items() if change):
            by_fund.setdefault(funds.get(loan_id, chart.CITY_FUND), []).append(loan_id)
        for fund, loan_ids in sorted(by_fund.items()):
            contra = chart.exposure_contra_account(bank, fund)
            for start in range(0, len(loan_ids), MAX_LEGS - 1):
                part = loan_ids[start : start + MAX_LEGS - 1]
                legs = []
                for loan_id in part:
                    account = loan_exposure_account(bank, loan_id, fund)
                    change = changes[loan_id]
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
