"""Borrowers registered as a list: every row checked first, every refusal reported with
its row and column, nobody registered unless all rows pass."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.fund.borrowers import BorrowerSpec, get_borrower, register_borrowers
from ledger.fund.errors import (
    EligibilityError,
    InvalidIdNumberError,
    ReferenceDataError,
    RowsRejectedError,
)
from ledger.fund.models import Borrower
from ledger.fund.read.borrowers import borrower_detail
from tests.fund.conftest import D, borrower_id, run

TODAY = D(2025, 12, 31)


def register(fund, specs):
    return run(fund, lambda s: register_borrowers(s, specs, actor="clerk", today=TODAY))


def count(fund):
    with fund() as s:
        return s.scalar(select(func.count()).select_from(Borrower))


def test_a_list_is_registered_in_order(fund):
    ids = register(
        fund,
        [
            BorrowerSpec(borrower_id(11), " 李四 ", "D01", categories=["graduate"]),
            BorrowerSpec(borrower_id(12), "合伙甲", "D02", "partnership", ["veteran"], 3),
        ],
    )
    assert len(ids) == 2
    with fund() as s:
        first, second = (s.get(Borrower, i) for i in ids)
        assert (first.name, first.categories, first.birth_date) == (
            "李四",
            "graduate",
            D(1990, 5, 17),
        )
        assert (second.borrower_type, second.head_count, second.district_code) == (
            "partnership",
            3,
            "D02",
        )


def test_every_bad_row_is_reported_and_nobody_is_registered(fund, borrower):
    wrong_digit = borrower_id(13)[:-1] + ("0" if borrower_id(13)[-1] != "0" else "1")
    specs = [
        BorrowerSpec(borrower_id(14), "甲", "D01", row=2),
        BorrowerSpec(wrong_digit, "乙", "D01", row=3),
        BorrowerSpec(borrower, "丙", "D01", row=4),  # 张三 is registered already
        BorrowerSpec(borrower_id(15), "丁", "D09", row=5),
        BorrowerSpec(borrower_id(16), "戊", "D01", "company", row=6),
        BorrowerSpec(borrower_id(17), "己", "D01", "partnership", head_count=1, row=7),
        BorrowerSpec(borrower_id(18), "庚", "D01", categories=["astronaut"], row=8),
        BorrowerSpec(borrower_id(14), "辛", "D01", row=9),  # twice in the list
        BorrowerSpec(borrower_id(19), " ", "D01", row=10),
    ]
    with pytest.raises(RowsRejectedError) as info:
        register(fund, specs)
    errors = info.value.errors
    assert [(e.row, e.column, type(e.error)) for e in errors] == [
        (3, "id_number", InvalidIdNumberError),
        (4, "id_number", ReferenceDataError),
        (5, "district", ReferenceDataError),
        (6, "borrower_type", EligibilityError),
        (7, "head_count", EligibilityError),
        (8, "categories", EligibilityError),
        (9, "id_number", ReferenceDataError),
        (10, "name", ReferenceDataError),
    ]
    assert errors[0].message == (
        f"ID number {wrong_digit} has a wrong check digit: {wrong_digit[-1]}, "
        f"expected {borrower_id(13)[-1]}"
    )
    assert errors[1].message == (
        f"a borrower with ID number {borrower} is already registered (borrower 1, 张三)"
    )
    assert errors[2].message == "no district D09"
    assert errors[4].message == "a partnership has 2 to 100 partners, not 1"
    assert errors[6].message == (
        f"a borrower with ID number {borrower_id(14)} is already registered "
        "(earlier in this list, 甲)"
    )
    assert errors[6].zh == f"身份证号 {borrower_id(14)} 的借款人已登记（甲）"
    assert errors[5].message == "Unknown borrower category 'astronaut'"
    assert errors[7].value == " "
    assert count(fund) == 1


def test_a_row_without_an_id_number_is_refused_by_its_row(fund):
    # None is what a reader gives for an empty cell: refused by name, never a crash.
    specs = [
        BorrowerSpec(borrower_id(21), "甲", "D01", row=2),
        BorrowerSpec(None, "乙", "D01", row=3),
    ]
    with pytest.raises(RowsRejectedError) as info:
        register(fund, specs)
    assert [(e.row, e.column, type(e.error)) for e in info.value.errors] == [
        (3, "id_number", InvalidIdNumberError),
    ]
    assert info.value.errors[0].message == "ID number is empty"
    assert count(fund) == 0


def test_a_first_generation_number_is_kept_as_given_and_matched_in_its_18_digit_form(fund):
    # 110105 491231 002 is the 18-digit 11010519491231002X of GB 11643-1999's example.
    [new] = register(fund, [BorrowerSpec("110105491231002", "王老五", "D01")])
    with fund() as s:
        row = s.get(Borrower, new)
        assert (row.id_number, row.id_number_given, row.birth_date, row.sex) == (
            "11010519491231002X",
            "110105491231002",
            D(1949, 12, 31),
            "F",
        )
        assert get_borrower(s, "110105491231002").id == new
        assert get_borrower(s, "11010519491231002x").id == new
        assert borrower_detail(s, "110105491231002").borrower.id_number_given == ("110105491231002")
    with pytest.raises(RowsRejectedError) as info:
        register(fund, [BorrowerSpec("11010519491231002X", "王老五", "D01")])
    [error] = info.value.errors
    assert (error.column, str(error.error)) == (
        "id_number",
        f"a borrower with ID number 11010519491231002X is already registered "
        f"(borrower {new}, 王老五)",
    )
    [other] = register(fund, [BorrowerSpec(borrower_id(13), "赵六", "D02")])
    with fund() as s:
        assert s.get(Borrower, other).id_number_given is None
