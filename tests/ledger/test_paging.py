"""The checks every keyset-paged list shares: page size, a filter's allowed values, a date
range."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import FilterError, LedgerError
from ledger.paging import MAX_PAGE, check_limit, check_range, one_of


@pytest.mark.parametrize("limit", [1, 50, MAX_PAGE])
def test_a_page_holds_1_to_1000(limit):
    assert check_limit(limit) == limit


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1, True, 2.0, "5"])
def test_any_other_page_size_is_refused(limit):
    with pytest.raises(FilterError) as info:
        check_limit(limit, "receipts")
    assert str(info.value) == f"a page holds 1 to 1000 receipts, not {limit}"
    assert info.value.zh == f"每页可显示 1 至 1000 条，不能为 {limit}"
    assert isinstance(info.value, ValueError) and isinstance(info.value, LedgerError)


def test_a_filter_value_is_one_of_those_allowed():
    assert one_of(None, ["a", "b"], "colour", "颜色") is None
    assert one_of("b", ["a", "b"], "colour", "颜色") == "b"
    with pytest.raises(FilterError) as info:
        one_of("c", ["a", "b"], "colour", "颜色")
    assert (str(info.value), info.value.zh) == (
        "unknown colour 'c'; use one of: a, b",
        "颜色 'c' 无效，应为：a、b",
    )


def test_a_date_range_may_be_open_or_one_day_but_not_backwards():
    day = dt.date(2025, 3, 1)
    for start, end in ((None, None), (day, None), (None, day), (day, day)):
        check_range(start, end, "filing date", "申请日期")
    with pytest.raises(FilterError) as info:
        check_range(day, day - dt.timedelta(days=1), "filing date", "申请日期")
    assert (str(info.value), info.value.zh) == (
        "the filing date range ends (2025-02-28) before it starts (2025-03-01)",
        "申请日期范围的结束日期 2025-02-28 早于开始日期 2025-03-01",
    )
