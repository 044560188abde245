"""Capital allocations (money received from the capital sources) as values: a
keyset-paged list with filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.fund.models import AllocationStatus, CapitalAllocation, CapitalSource
from ledger.paging import Cursor, Page, SortKey, check_range, keyset_page, one_of

__all__ = ["ALLOCATION_SORTS", "AllocationRow", "allocations_page"]

#: The orders the allocation list may be sorted in: the date received, the amount.
ALLOCATION_SORTS = (
    SortKey("received_on", CapitalAllocation.received_on, dt.date),
    SortKey("amount", CapitalAllocation.amount, int),
)


@dataclass(frozen=True)
class AllocationRow:
    id: int
    source_code: str
    source_name: str
    #: Fen received.
    amount: int
    #: The date the money arrived in the treasury account.
    received_on: dt.date
    #: The allocation document's number.
    reference: str
    note: str
    #: pending, approved or rejected.
    status: str
    recorded_by: str
    #: UTC.
    recorded_at: dt.datetime
    #: Who approved or rejected it, and when (UTC).
    decided_by: str | None
    decided_at: dt.datetime | None
    reject_reason: str | None
    #: The entry that posted the capital (approved allocations only).
    entry_id: int | None


def allocations_page(
    session: Session,
    *,
    source: str | None = None,
    status: str | None = None,
    fund: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sort: str | None = None,
    after: Cursor | str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[AllocationRow]:
    """Allocations newest first (by recording), or sorted by one of
    :data:`ALLOCATION_SORTS` (``ledger.paging``), from a capital source, in a status
    (:class:`~ledger.fund.models.AllocationStatus`), to a fund (its sources' fund; None:
    every fund) and received in a date range (both ends included)."""
    one_of(status, AllocationStatus, "allocation status", "资金拨付状态")
    check_range(date_from, date_to, "receipt date", "资金到位日期")
    stmt = select(CapitalAllocation.id, CapitalAllocation, CapitalSource.name).join(
        CapitalSource, CapitalSource.code == CapitalAllocation.source_code
    )
    if source is not None:
        stmt = stmt.where(CapitalAllocation.source_code == source)
    if status is not None:
        stmt = stmt.where(CapitalAllocation.status == status)
    if fund is not None:
        stmt = stmt.where(CapitalSource.fund_code == fund)
    if date_from is not None:
        stmt = stmt.where(CapitalAllocation.received_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(CapitalAllocation.received_on <= date_to)
    return keyset_page(
        session,
        stmt,
        CapitalAllocation.id,
        before=before,
        limit=limit,
        sort=sort,
        sorts=ALLOCATION_SORTS,
        after=after,
        values=lambda rows: map(_row, rows),
    )


def _row(r) -> AllocationRow:
    a = r.CapitalAllocation
    return AllocationRow(
        id=a.id, source_code=a.source_code, source_name=r.name, amount=a.amount,
        received_on=a.received_on, reference=a.reference, note=a.note, status=a.status,
        recorded_by=a.recorded_by, recorded_at=a.recorded_at, decided_by=a.decided_by,
        decided_at=a.decided_at, reject_reason=a.reject_reason, entry_id=a.entry_id,
    )  # fmt: skip
