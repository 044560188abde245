"""Sorted keyset pages (``ledger.paging``) over the portfolio: the exact order of every
sort of the loans and claims in both directions, every page size giving the same rows
once each (ties on the sort value across page boundaries included), a row written while
paging, the refusals of a sort or a cursor the list cannot have, and on PostgreSQL an
index under each sort of the loans (no sort step in the plan)."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from ledger.chain import drain_sealer
from ledger.errors import FilterError
from ledger.fund import capital
from ledger.fund.read.allocations import allocations_page
from ledger.fund.read.claims import claims_page
from ledger.fund.read.loans import LOAN_SORTS, loans_page
from ledger.journal import entries_page
from ledger.paging import Cursor, keyset_page
from tests.fund.conftest import D, run

# The portfolio's loans (tests/fund/conftest.py), by id: 1 ICBC-001 (principal 100,000,
# disbursed 2025-03-05, maturity 2026-03-05), 2 ABC-001 (50,000, 03-10, 2026-03-10),
# 3 ICBC-002 (80,000, 04-01, 2026-04-01), 4 ICBC-003 (40,000, 04-01, 2026-04-01),
# 5 ICBC-004 (30,000, 05-01, 2025-11-01), 6 ABC-002 (60,000, 06-01, extended to
# 2026-12-01). Ties: disbursed 3 and 4, maturity 3 and 4 — broken by id, in the sort's
# direction.
LOAN_ORDERS = {
    None: [6, 5, 4, 3, 2, 1],
    "-id": [6, 5, 4, 3, 2, 1],
    "id": [1, 2, 3, 4, 5, 6],
    "disbursed_on": [1, 2, 3, 4, 5, 6],
    "-disbursed_on": [6, 5, 4, 3, 2, 1],
    "principal": [5, 4, 2, 6, 3, 1],
    "-principal": [1, 3, 6, 2, 4, 5],
    "maturity": [5, 1, 2, 3, 4, 6],
    "-maturity": [6, 4, 3, 2, 1, 5],
    "contract_no": [2, 6, 1, 3, 4, 5],
    "-contract_no": [5, 4, 3, 1, 6, 2],
}
# Claims by id: 1 filed 07-10 (fund's share 40,000), 2 07-12 (40,000), 3 08-01 (64,000),
# 4 08-03 (32,000), 5 08-10 (64,000): 1 and 2 tie on the amount, and 3 and 5.
CLAIM_ORDERS = {
    "filed_on": [1, 2, 3, 4, 5],
    "-filed_on": [5, 4, 3, 2, 1],
    "amount": [4, 1, 2, 3, 5],
    "-amount": [5, 3, 2, 1, 4],
}


def ids(page) -> list[int]:
    return [row.id for row in page.items]


def every_page(read, limit: int, **filters) -> list[list[int]]:
    """The ids of each page of ``read``, following each page's cursor to the end."""
    pages, after = [], None
    while True:
        page = read(limit=limit, after=after, **filters)
        pages.append(ids(page))
        if page.next_after is None:
            return pages
        after = page.next_after
        assert len(pages) < 20


@pytest.mark.parametrize("sort", list(LOAN_ORDERS))
def test_each_loan_sort_in_each_direction_and_every_page_size(portfolio, sort):
    with portfolio() as s:
        first = loans_page(s, sort=sort)
        assert (ids(first), first.next_after, first.sort) == (
            LOAN_ORDERS[sort],
            None,
            sort or "-id",
        )
        for limit in range(1, 7):
            pages = every_page(lambda **kw: loans_page(s, sort=sort, **kw), limit)
            assert [i for p in pages for i in p] == LOAN_ORDERS[sort], limit
            assert [len(p) for p in pages[:-1]] == [limit] * (len(pages) - 1)


@pytest.mark.parametrize("sort", list(CLAIM_ORDERS))
def test_each_claim_sort_pages_through_its_ties(portfolio, sort):
    with portfolio() as s:
        for limit in range(1, 6):
            pages = every_page(lambda **kw: claims_page(s, sort=sort, **kw), limit)
            assert [i for p in pages for i in p] == CLAIM_ORDERS[sort], limit


def test_a_sorted_page_keeps_the_filters_and_a_bank_its_own_loans(portfolio):
    with portfolio() as s:
        assert ids(loans_page(s, bank="ICBC", sort="-principal")) == [1, 3, 4, 5]
        assert every_page(lambda **kw: loans_page(s, bank="ICBC", sort="-maturity", **kw), 1) == [
            [4],
            [3],
            [1],
            [5],
        ]
        assert ids(loans_page(s, status="active", sort="maturity")) == [1, 3, 4, 6]
        assert ids(claims_page(s, bank="ICBC", sort="-amount")) == [5, 3, 4]


def test_the_next_page_of_a_sort_starts_after_the_last_rows_value_and_id(portfolio):
    with portfolio() as s:
        page = loans_page(s, sort="-maturity", limit=2)
        assert (ids(page), page.next_before) == ([6, 4], None)
        assert Cursor.parse(page.next_after) == Cursor("-maturity", "2026-04-01", 4)
        page = loans_page(s, sort="-principal", limit=1)
        assert Cursor.parse(page.next_after) == Cursor("-principal", 10_000_000, 1)
        page = loans_page(s, sort="maturity", limit=2)
        assert Cursor.parse(page.next_after) == Cursor("maturity", "2026-03-05", 1)
        # The newest-first order still pages with before= (and its cursor says the same).
        page = loans_page(s, limit=2)
        assert (ids(page), page.next_before) == ([6, 5], 5)
        assert Cursor.parse(page.next_after) == Cursor("-id", 5, 5)
        assert ids(loans_page(s, before=5, limit=2)) == [4, 3]
        assert ids(loans_page(s, before=10**20, limit=2)) == [6, 5]
        assert ids(loans_page(s, after=page.next_after, limit=2)) == [4, 3]


@contextmanager
def executed(factory):
    """The statements and parameters run on the factory's engine inside the block."""
    engine = factory.kw["bind"]
    assert drain_sealer(engine)
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def test_a_page_is_one_query_from_the_cursor_with_a_limit_and_no_offset(portfolio):
    with portfolio() as s:
        after = loans_page(s, sort="-principal", limit=2).next_after
        with executed(portfolio) as seen:
            loans_page(s, sort="-principal", after=after, limit=2)
    [(statement, parameters)] = seen
    where = " ".join(statement.split()).split(" WHERE ", 1)[1]
    # After the cursor (80,000 yuan, id 3), one row more than the page, and no offset
    # (SQLite's always has one: zero).
    if isinstance(parameters, dict):
        assert where == (
            "loans.principal <= %(param_1)s::BIGINT AND (loans.principal, loans.id) < "
            "(%(param_1)s::BIGINT, %(param_2)s::BIGINT) "
            "ORDER BY loans.principal DESC, loans.id DESC LIMIT %(param_3)s::INTEGER"
        )
        assert parameters == {"param_1": 8_000_000, "param_2": 3, "param_3": 3}
    else:
        assert where == (
            "loans.principal <= ? AND (loans.principal, loans.id) < (?, ?) "
            "ORDER BY loans.principal DESC, loans.id DESC LIMIT ? OFFSET ?"
        )
        assert list(parameters) == [8_000_000, 8_000_000, 3, 3, 0]


def test_equal_amounts_across_page_boundaries_and_a_row_written_while_paging(portfolio):
    """Six allocations of 10,000 yuan (ids 7-12) among the portfolio's: paged by amount
    three at a time, each shows once, in id order among the equal ones; one recorded
    after the first page with the same amount (id 13) comes after the cursor, and a
    larger one (14) before it, so the pages that follow neither repeat nor lose a row."""

    def record(amount):
        return lambda s: capital.record_allocation(s, "city", amount, D(2025, 7, 1), actor="clerk")

    for _ in range(6):
        run(portfolio, record(1_000_000))
    with portfolio() as s:
        pages = every_page(lambda **kw: allocations_page(s, sort="amount", **kw), 3)
        # 6 (rejected) has 10,000 yuan too; then 5 (50,000) and the approved 1-4.
        assert pages == [[6, 7, 8], [9, 10, 11], [12, 5, 4], [3, 2, 1]]
        first = allocations_page(s, sort="amount", limit=3)
    run(portfolio, record(1_000_000))
    run(portfolio, record(90_000_000))
    with portfolio() as s:
        second = allocations_page(s, sort="amount", limit=3, after=first.next_after)
        rest = every_page(lambda **kw: allocations_page(s, sort="amount", **kw), 3)
        assert ids(second) == [9, 10, 11]
        assert rest == [[6, 7, 8], [9, 10, 11], [12, 13, 5], [4, 3, 14], [2, 1]]
        assert ids(allocations_page(s, sort="-received_on", limit=3)) == [14, 13, 12]


def test_the_journal_sorted_by_effective_date(portfolio):
    with portfolio() as s:
        newest = entries_page(s, limit=1000)
        by_date = sorted(newest.items, key=lambda e: (e.effective_date, e.id), reverse=True)
        pages = every_page(lambda **kw: entries_page(s, sort="-effective_date", **kw), 7)
        assert [i for p in pages for i in p] == [e.id for e in by_date]
        oldest = entries_page(s, sort="effective_date", limit=2)
    assert [e.effective_date for e in oldest.items] == [D(2025, 1, 2), D(2025, 1, 3)]


def test_an_unknown_sort_names_the_ones_the_list_has(portfolio):
    with portfolio() as s, pytest.raises(FilterError) as refused:
        loans_page(s, sort="-rate")
    assert str(refused.value) == (
        "unknown sort '-rate'; sort by one of: id, disbursed_on, principal, maturity, "
        "contract_no (ascending; with a leading - descending)"
    )
    assert refused.value.zh == (
        "排序方式 '-rate' 无效，可按以下之一排序：id、disbursed_on、principal、maturity、"
        "contract_no（升序；前加 - 为降序）"
    )
    assert refused.value.code == "invalid-filter"
    with portfolio() as s, pytest.raises(FilterError) as refused:
        claims_page(s, sort="principal")
    assert refused.value.zh == (
        "排序方式 'principal' 无效，可按以下之一排序：id、filed_on、amount（升序；前加 - 为降序）"
    )


def test_a_cursor_serves_only_the_sort_it_was_made_for(portfolio):
    with portfolio() as s:
        by_principal = loans_page(s, sort="-principal", limit=2).next_after
        newest = loans_page(s, limit=2).next_after
        cases = [
            (dict(sort="principal", after=by_principal),
             "该分页游标属于排序 -principal，不能用于排序 principal：请与原排序一起使用"),
            (dict(after=by_principal),
             "该分页游标属于排序 -principal，不能用于排序 -id：请与原排序一起使用"),
            (dict(sort="-principal", after=newest),
             "该分页游标属于排序 -id，不能用于排序 -principal：请与原排序一起使用"),
            (dict(sort="-principal", before=3),
             "before= 仅用于按最新排序的列表，不能用于排序 -principal：请使用“下一页”链接"),
            (dict(after=newest, before=3), "分页游标与 before= 只能给出其一"),
            (dict(after="zzz"), "分页游标 'zzz' 无效：请使用“下一页”链接中的游标"),
            (dict(sort="-principal", after=Cursor("-principal", "many", 3).token()),
             "分页游标中的 principal 值 'many' 无效：请使用“下一页”链接中的游标"),
            (dict(sort="maturity", after=Cursor("maturity", "2026-02-30", 3).token()),
             "分页游标中的 maturity 值 '2026-02-30' 无效：请使用“下一页”链接中的游标"),
            (dict(sort="-principal", after=Cursor("-principal", 2**64, 3).token()),
             f"分页游标中的 principal 值 '{2**64}' 无效：请使用“下一页”链接中的游标"),
        ]  # fmt: skip
        for arguments, zh in cases:
            with pytest.raises(FilterError) as refused:
                loans_page(s, **arguments)
            assert refused.value.zh == zh, arguments


def test_a_sort_of_a_list_without_sorts_is_refused(portfolio):
    from ledger.fund.models import Loan
    from ledger.fund.read.views import loan_row, loan_rows

    with portfolio() as s:
        page = keyset_page(s, loan_rows(), Loan.id, sort="id", limit=2, values=lambda r: r)
        assert [r.id for r in page.items] == [1, 2]
        assert loan_row(page.items[0]).contract_no == "ICBC-001"
        with pytest.raises(FilterError) as refused:
            keyset_page(s, loan_rows(), Loan.id, sort="principal", limit=2, values=lambda r: r)
    assert (
        refused.value.zh == "排序方式 'principal' 无效，可按以下之一排序：id（升序；前加 - 为降序）"
    )


#: The index each sort of the loans reads, without a bank and with one (migration 0026).
LOAN_INDEXES = {
    "disbursed_on": ("ix_loans_disbursed_on_id", "ix_loans_bank_disbursed_on_id"),
    "principal": ("ix_loans_principal_id", "ix_loans_bank_principal_id"),
    "maturity": ("ix_loans_maturity_id", "ix_loans_bank_maturity_id"),
    "contract_no": ("ix_loans_contract_no_id", "uq_loans_bank_code_contract_no"),
}


@pytest.mark.postgresql_only
@pytest.mark.parametrize("bank", [None, "ICBC"])
def test_each_loan_sort_reads_its_index_on_postgresql(portfolio, bank):
    """With sorting and sequential scans switched off, a plan that still needs a sort
    step would show one: each sort of the loans, both ways, with and without a bank, reads
    its index (migration 0026) in its order from the cursor on — the cursor a range of the
    index, not a filter — and stops after the page."""
    plans = {}
    with portfolio() as s:
        s.execute(text("SET LOCAL enable_sort = off"))
        s.execute(text("SET LOCAL enable_seqscan = off"))
        for key in LOAN_SORTS:
            for sort in (key.name, "-" + key.name):
                after = loans_page(s, bank=bank, sort=sort, limit=1).next_after
                with executed(portfolio) as seen:
                    loans_page(s, bank=bank, sort=sort, after=after, limit=1)
                [(statement, parameters)] = seen
                plan = s.connection().exec_driver_sql("EXPLAIN " + statement, parameters)
                plans[sort] = "\n".join(plan.scalars())
    for sort, plan in plans.items():
        index = LOAN_INDEXES[sort.lstrip("-")][bank is not None]
        scan = "Index Scan Backward" if sort.startswith("-") else "Index Scan"
        assert f"{scan} using {index} on loans" in plan, (sort, plan)
        if index == "uq_loans_bank_code_contract_no":
            # The bank's contract numbers are its own once each: the index's order is the
            # page's, and the "sort" after it is of groups of one row.
            assert "Incremental Sort" in plan and "Presorted Key: loans.contract_no" in plan
            assert "Filter: (ROW((contract_no)::text, id)" in plan, (sort, plan)
        else:
            assert "Sort" not in plan, (sort, plan)
            assert re.search(r"Index Cond: .*AND \(ROW\(", plan), (sort, plan)
