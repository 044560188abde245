"""The checks every keyset-paged list shares: page size, a filter's allowed values, a date
range, a sort and a cursor (the sorted lists themselves: tests/fund/test_sorting.py)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from ledger.errors import FilterError, LedgerError
from ledger.paging import (
    MAX_PAGE,
    Cursor,
    Order,
    SortKey,
    check_limit,
    check_range,
    one_of,
    sort_order,
)


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


KEYS = (SortKey("found_on", None, dt.date), SortKey("difference", None, int))


def test_a_sort_names_a_key_or_the_id_either_way():
    found_on, difference = KEYS
    assert sort_order(None, KEYS) == Order(None, True)
    assert sort_order(" ", KEYS) == Order(None, True)
    assert sort_order("-id", KEYS) == Order(None, True)
    assert sort_order("id", KEYS) == Order(None, False)
    assert sort_order("found_on", KEYS) == Order(found_on, False)
    assert sort_order(" -difference ", KEYS) == Order(difference, True)
    assert Order(difference, True).name == "-difference"
    for bad in ("--found_on", "Found_on", "-", "age"):
        with pytest.raises(FilterError) as info:
            sort_order(bad, KEYS)
        assert (str(info.value), info.value.zh) == (
            f"unknown sort {bad!r}; sort by one of: id, found_on, difference (ascending; "
            "with a leading - descending)",
            f"排序方式 {bad!r} 无效，可按以下之一排序：id、found_on、difference"
            "（升序；前加 - 为降序）",
        )


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        b64("b0"),
        b64("b99999999999999999999"),  # not a 64-bit id
        Cursor("-principal", 3, 3).token()[:-2],
        b64('[["a"], 1, 2]'),
        b64('["a", true, 2]'),
        b64('["a", null, 2]'),
        b64('["a", 1, 0]'),
        b64('["a", 1]'),
        b64('{"a": 1, "b": 2, "c": 3}'),
        "x" * 500,
    ],
)
def test_a_cursor_no_page_made_is_refused(token):
    with pytest.raises(FilterError) as refused:
        Cursor.parse(token)
    assert refused.value.zh == f"分页游标 {token[:40]!r} 无效：请使用“下一页”链接中的游标"


def test_a_cursor_token_round_trips():
    for cursor in (
        Cursor("-id", 17, 17),
        Cursor("id", 17, 17),
        Cursor("maturity", "2026-03-05", 4),
        Cursor("-contract_no", "合同-001 ü", 9),
        Cursor("uploaded_at", "2025-09-01T02:03:04.000005", 2**63 - 1),
        Cursor("-difference", -5, 1),
    ):
        assert Cursor.parse(cursor.token()) == cursor
    # The newest-first cursor is the one the API has always given: "b" and the id.
    assert Cursor("-id", 123, 123).token() == "YjEyMw"
