"""Compensation claims read as values: keyset pages by bank, status and filing date."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.errors import FilterError
from ledger.fund.read.claims import ClaimRow, claims_page
from tests.fund.conftest import D


def ids(page) -> list[int]:
    return [row.id for row in page.items]


def test_a_claim_row_is_a_value_with_its_loan_and_who_acted(portfolio):
    with portfolio() as s:
        page = claims_page(s)
    assert ids(page) == [5, 4, 3, 2, 1]
    # Principal basis: the loss is the principal outstanding, the claim 80 % of it.
    assert page.items[3] == ClaimRow(
        id=2, number="C2025-ABC-00002", bank_code="ABC", contract_no="ABC-001",
        borrower_name="李四", filed_on=D(2025, 7, 12), filed_by="abc", days_overdue=93,
        principal_outstanding=5_000_000, interest_outstanding=0, loss=5_000_000,
        coverage_ppm=800_000, amount=4_000_000, status="paid", decided_by="approver",
        decided_on=D(2025, 7, 14), reject_reason=None, paid_on=D(2025, 7, 15),
        paid_by="approver2",
    )  # fmt: skip
    assert [(c.number, c.contract_no, c.borrower_name, c.status, c.amount) for c in page.items] == [
        ("C2025-ICBC-00003", "ICBC-002", "王五", "filed", 6_400_000),
        ("C2025-ICBC-00002", "ICBC-003", "周八", "approved", 3_200_000),
        ("C2025-ICBC-00001", "ICBC-002", "王五", "rejected", 6_400_000),
        ("C2025-ABC-00002", "ABC-001", "李四", "paid", 4_000_000),
        ("C2025-ABC-00001", "ABC-001", "李四", "rejected", 4_000_000),
    ]
    assert (page.items[2].decided_by, page.items[2].reject_reason) == ("approver", "重复申请")
    assert (page.items[0].decided_by, page.items[0].days_overdue) == (None, 101)
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.items[0].status = "approved"


def test_pages_of_two_give_every_claim_once(portfolio):
    seen, cursors, before = [], [], None
    with portfolio() as s:
        while True:
            page = claims_page(s, limit=2, before=before)
            seen.append(ids(page))
            if page.next_before is None:
                break
            before = page.next_before
            cursors.append(before)
        assert claims_page(s, limit=2, before=4) == claims_page(s, limit=2, before=4)
    assert (seen, cursors) == ([[5, 4], [3, 2], [1]], [4, 2])


def test_filters(portfolio):
    with portfolio() as s:
        assert ids(claims_page(s, bank="ABC")) == [2, 1]
        assert ids(claims_page(s, bank="ICBC")) == [5, 4, 3]
        assert ids(claims_page(s, status="filed")) == [5]
        assert ids(claims_page(s, status="approved")) == [4]
        assert ids(claims_page(s, status="paid")) == [2]
        assert ids(claims_page(s, status="rejected")) == [3, 1]
        assert ids(claims_page(s, bank="ABC", status="rejected")) == [1]
        assert ids(claims_page(s, filed_from=D(2025, 8, 1), filed_to=D(2025, 8, 3))) == [4, 3]
        assert ids(claims_page(s, filed_to=D(2025, 7, 12))) == [2, 1]
        assert ids(claims_page(s, filed_from=D(2025, 8, 4))) == [5]
        page = claims_page(s, bank="ICBC", limit=2)
        assert (ids(page), page.next_before) == ([5, 4], 4)


def test_a_filter_it_cannot_have_is_refused_by_name(fund):
    with fund() as s:
        with pytest.raises(FilterError) as info:
            claims_page(s, status="open")
        assert str(info.value) == (
            "unknown claim status 'open'; use one of: filed, approved, paid, rejected"
        )
        assert info.value.zh == "代偿申请状态 'open' 无效，应为：filed、approved、paid、rejected"
        with pytest.raises(FilterError) as info:
            claims_page(s, filed_from=D(2025, 8, 2), filed_to=D(2025, 8, 1))
        assert str(info.value) == (
            "the filing date range ends (2025-08-01) before it starts (2025-08-02)"
        )
