"""Capital allocations read as values: keyset pages by source, status and receipt date."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ledger.errors import FilterError
from ledger.fund.read.allocations import AllocationRow, allocations_page
from tests.fund.conftest import CAPITAL, D


def ids(page) -> list[int]:
    return [row.id for row in page.items]


def test_an_allocation_row_is_a_value(portfolio):
    with portfolio() as s:
        page = allocations_page(s)
    assert ids(page) == [6, 5, 4, 3, 2, 1]
    pending, rejected = page.items[1], page.items[0]
    assert dataclasses.replace(pending, recorded_at=None) == AllocationRow(
        id=5, source_code="city", source_name="市级配套", amount=5_000_000,
        received_on=D(2025, 6, 1), reference="财字〔2025〕9号", note="", status="pending",
        recorded_by="clerk", recorded_at=None, decided_by=None, decided_at=None,
        reject_reason=None, entry_id=None,
    )  # fmt: skip
    assert isinstance(pending.recorded_at, dt.datetime)
    assert (rejected.status, rejected.decided_by, rejected.reject_reason, rejected.entry_id) == (
        "rejected",
        "approver",
        "重复登记",
        None,
    )
    approved = page.items[2:]
    # The fixture's capital, one source a day from 2025-01-02, each posted by entries 1-4.
    assert [(a.source_code, a.amount, a.received_on, a.status, a.entry_id) for a in approved] == [
        ("other", CAPITAL["other"], D(2025, 1, 5), "approved", 4),
        ("district-D01", CAPITAL["district-D01"], D(2025, 1, 4), "approved", 3),
        ("city", CAPITAL["city"], D(2025, 1, 3), "approved", 2),
        ("provincial", CAPITAL["provincial"], D(2025, 1, 2), "approved", 1),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        pending.status = "approved"


def test_pages_of_two_give_every_allocation_once(portfolio):
    seen, before = [], None
    with portfolio() as s:
        while True:
            page = allocations_page(s, limit=2, before=before)
            seen.append(ids(page))
            if page.next_before is None:
                break
            before = page.next_before
        assert allocations_page(s, limit=2, before=5) == allocations_page(s, limit=2, before=5)
    assert seen == [[6, 5], [4, 3], [2, 1]]


def test_filters(portfolio):
    with portfolio() as s:
        assert ids(allocations_page(s, source="city")) == [5, 2]
        assert ids(allocations_page(s, source="nobody")) == []
        assert ids(allocations_page(s, status="pending")) == [5]
        assert ids(allocations_page(s, status="rejected")) == [6]
        assert ids(allocations_page(s, status="approved")) == [4, 3, 2, 1]
        assert ids(allocations_page(s, source="city", status="approved")) == [2]
        window = allocations_page(s, date_from=D(2025, 1, 3), date_to=D(2025, 1, 4))
        assert ids(window) == [3, 2]
        assert ids(allocations_page(s, date_from=D(2025, 6, 1))) == [6, 5]
        page = allocations_page(s, status="approved", limit=3)
        assert (ids(page), page.next_before) == ([4, 3, 2], 2)
        assert ids(allocations_page(s, fund="CITY", status="approved")) == [4, 3, 2, 1]


def test_the_fund_filter_keeps_a_district_funds_allocations_apart(portfolio):
    from ledger.fund import capital, reference
    from ledger.fund.funds import add_fund
    from tests.fund.conftest import run

    def work(s):
        add_fund(s, "D02", "城西区担保基金", "D02", D(2025, 1, 1), actor="admin")
        reference.add_capital_source(
            s, "d02-own", "城西区本级", "district", district="D02", fund="D02", actor="admin"
        )
        return capital.record_allocation(s, "d02-own", 300_000, D(2025, 7, 1), actor="clerk").id

    district = run(portfolio, work)
    with portfolio() as s:
        assert ids(allocations_page(s, fund="D02")) == [district]
        assert ids(allocations_page(s, fund="CITY")) == [6, 5, 4, 3, 2, 1]
        assert ids(allocations_page(s)) == [district, 6, 5, 4, 3, 2, 1]


def test_a_filter_it_cannot_have_is_refused_by_name(fund):
    with fund() as s:
        with pytest.raises(FilterError) as info:
            allocations_page(s, status="approve")
        assert str(info.value) == (
            "unknown allocation status 'approve'; use one of: pending, approved, rejected"
        )
        with pytest.raises(FilterError) as info:
            allocations_page(s, date_from=D(2025, 2, 1), date_to=D(2025, 1, 1))
        assert str(info.value) == (
            "the receipt date range ends (2025-01-01) before it starts (2025-02-01)"
        )
