"""Borrowers read as values: keyset pages by district and declared category, and one
borrower with their commitments and loans."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.errors import FilterError
from ledger.fund.eligibility import Category
from ledger.fund.errors import ReferenceDataError
from ledger.fund.read.borrowers import borrower_detail, borrowers_page
from ledger.fund.read.views import BorrowerView, CommitmentView, LoanRow
from tests.fund.conftest import BORN, D, borrower_id


def ids(page) -> list[int]:
    return [row.id for row in page.items]


def test_a_borrower_is_a_value(portfolio):
    with portfolio() as s:
        page = borrowers_page(s)
    assert ids(page) == [6, 5, 4, 3, 2, 1]
    wang = page.items[3]
    assert dataclasses.replace(wang, registered_at=None) == BorrowerView(
        id=3, id_number=borrower_id(3), name="王五", birth_date=BORN, sex="M", district="D01",
        borrower_type="individual", head_count=1, categories=("graduate", "veteran"),
        registered_by="clerk", registered_at=None,
    )  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        wang.name = "王六"


def test_pages_of_two_give_every_borrower_once(portfolio):
    seen, before = [], None
    with portfolio() as s:
        while True:
            page = borrowers_page(s, limit=2, before=before)
            seen += ids(page)
            if page.next_before is None:
                break
            before = page.next_before
        assert borrowers_page(s, limit=2, before=4) == borrowers_page(s, limit=2, before=4)
        assert (
            ids(borrowers_page(s, limit=2, before=4)),
            borrowers_page(s, limit=2).next_before,
        ) == (
            [3, 2],
            5,
        )
    assert seen == [6, 5, 4, 3, 2, 1]


def test_filters(portfolio):
    with portfolio() as s:
        assert ids(borrowers_page(s, district="D01")) == [4, 3, 1]
        assert ids(borrowers_page(s, district="D09")) == []
        assert ids(borrowers_page(s, category="veteran")) == [4, 3, 2]
        # A whole item of the list: graduate first or alone.
        assert ids(borrowers_page(s, category="graduate")) == [6, 3]
        assert ids(borrowers_page(s, category="registered_unemployed", district="D03")) == [5]
        assert ids(borrowers_page(s, category="disabled")) == []
        page = borrowers_page(s, category="veteran", limit=1, before=4)
        assert (ids(page), page.next_before) == ([3], 3)


def test_a_category_it_cannot_list_by_is_refused(fund):
    with fund() as s:
        with pytest.raises(FilterError) as info:
            borrowers_page(s, category="boss")
        assert str(info.value) == (
            "unknown borrower category 'boss'; use one of: registered_unemployed, "
            "reemployment_certificate, person_4050, veteran, graduate, disabled, "
            "returning_migrant, zero_employment_household, poverty_alleviated, "
            "both_spouses_laid_off, landless_farmer, woman_entrepreneur"
        )
        with pytest.raises(FilterError, match="a page holds 1 to 1000 rows, not 0"):
            borrowers_page(s, limit=0)


def test_borrower_detail(portfolio):
    with portfolio() as s:
        zhang = borrower_detail(s, borrower_id(1))
        zhao = borrower_detail(s, borrower_id(5, born=D(1970, 2, 1)))
        # 11010519900517061X, asked for with a small x.
        sun = borrower_detail(s, borrower_id(6).lower())
    assert (zhang.borrower.name, zhang.borrower.id_number) == ("张三", borrower_id(1))
    assert zhang.commitments == (
        CommitmentView(
            id=1, number="G2025-ABC-00001", bank_code="ABC", amount=1_000_000, term_months=12,
            approved_on=D(2025, 2, 1), approved_by="approver",
            categories=("registered_unemployed",), status="cancelled",
            cancelled_on=D(2025, 2, 10), cancelled_by="clerk", cancel_reason="借款人放弃",
        ),
        CommitmentView(
            id=2, number="G2025-ICBC-00001", bank_code="ICBC", amount=10_000_000,
            term_months=12, approved_on=D(2025, 3, 2), approved_by="approver",
            categories=("registered_unemployed",), status="used", cancelled_on=None,
            cancelled_by=None, cancel_reason=None,
        ),
    )  # fmt: skip
    assert zhang.loans == (
        LoanRow(
            id=1, bank_code="ICBC", contract_no="ICBC-001", borrower_name="张三",
            borrower_id_number=borrower_id(1), district="D01", principal=10_000_000,
            principal_outstanding=8_000_000, annual_rate_ppm=45_000,
            disbursed_on=D(2025, 3, 5), maturity=D(2026, 3, 5), status="active",
        ),
    )  # fmt: skip
    # Born 1970-02-01: a man of 55 is a 4050 person, derived on the date, never stored.
    assert zhao.borrower.categories == ("registered_unemployed",)
    # Of the age, but not registered as a 4050 person: never inferred.
    assert zhao.borrower.categories_on(D(2025, 12, 31)) == {Category.registered_unemployed}
    assert zhao.borrower.categories_on(D(2019, 12, 31)) == {Category.registered_unemployed}
    assert [(ln.contract_no, ln.status, ln.principal_outstanding) for ln in zhao.loans] == [
        ("ICBC-004", "repaid", 0)
    ]
    assert [(ln.contract_no, ln.maturity) for ln in sun.loans] == [("ABC-002", D(2026, 12, 1))]
    with pytest.raises(dataclasses.FrozenInstanceError):
        zhang.loans = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        zhang.commitments[0].status = "approved"


def test_borrower_detail_of_an_unregistered_number(fund):
    with fund() as s, pytest.raises(ReferenceDataError) as info:
        borrower_detail(s, borrower_id(99))
    assert str(info.value) == f"no borrower with ID number {borrower_id(99)} is registered"
