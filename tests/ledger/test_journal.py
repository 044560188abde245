"""Reading the journal: keyset pages of immutable entry values, with filters."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ledger.chain import drain_sealer
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, credit, debit, post_entries
from ledger.journal import Page, entries_page, entry, entry_views
from ledger.paging import Page as CorePage

D = dt.date(2025, 3, 1)


def placements(chart, count: int) -> None:
    def draft(n):
        bank = ("ICBC", "ABC")[n % 2]
        return EntryDraft(
            D + dt.timedelta(days=n), "capital.placement",
            (debit(f"asset:special:{bank}", 100 + n), credit("asset:treasury", 100 + n)),
            f"placement {n}",
        )  # fmt: skip

    funding = EntryDraft(
        D - dt.timedelta(days=1), "capital.allocation",
        (debit("asset:treasury", 10**9), credit("capital:provincial", 10**9)), "拨付",
    )  # fmt: skip
    run_in_transaction(
        chart,
        lambda s: post_entries(s, [funding, *(draft(n) for n in range(count))], actor="clerk"),
    )
    assert drain_sealer(chart.kw["bind"])  # sealed after the commit on PostgreSQL


def test_pages_walk_the_journal_newest_first_and_end(chart):
    placements(chart, 7)  # entries 1 (funding) to 8
    seen, before = [], None
    with chart() as s:
        while True:
            page = entries_page(s, limit=3, before=before)
            seen.append([e.id for e in page.items])
            if page.next_before is None:
                break
            before = page.next_before
    assert seen == [[8, 7, 6], [5, 4, 3], [2, 1]]


def test_filters_by_kind_account_and_date(chart):
    placements(chart, 7)
    with chart() as s:
        icbc = entries_page(s, account="asset:special:ICBC")
        assert [e.id for e in icbc.items] == [8, 6, 4, 2]
        assert [e.id for e in entries_page(s, account="asset:special").items] == list(
            range(8, 1, -1)
        )
        assert [e.id for e in entries_page(s, kind="capital.allocation").items] == [1]
        window = entries_page(s, date_from=D + dt.timedelta(days=2), date_to=D + dt.timedelta(4))
        assert [e.id for e in window.items] == [6, 5, 4]


def test_an_entry_is_a_value_with_its_postings(chart):
    placements(chart, 1)
    with chart() as s:
        view = entry(s, 2)
        assert entry(s, 99) is None
    assert (view.kind, view.description, view.actor, view.effective_date) == (
        "capital.placement", "placement 0", "clerk", D,
    )  # fmt: skip
    assert [(p.account, p.side, p.amount) for p in view.postings] == [
        ("asset:special:ICBC", "D", 100),
        ("asset:treasury", "C", 100),
    ]
    assert view.sealed and view.seq == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.kind = "other"


def test_a_page_is_between_1_and_1000(chart):
    with chart() as s, pytest.raises(ValueError, match="a page holds 1 to 1000 entries, not 0"):
        entries_page(s, limit=0)


def test_entry_views_are_the_entries_asked_for_in_that_order(chart):
    placements(chart, 4)  # entries 1 to 5
    with chart() as s:
        views = entry_views(s, [4, 99, 2, 4, 5])
        one_by_one = [entry(s, i) for i in (4, 2, 5)]
        assert entry_views(s, []) == ()
    assert list(views) == one_by_one
    assert [(v.id, [p.amount for p in v.postings]) for v in views] == [
        (4, [102, 102]),
        (2, [100, 100]),
        (5, [103, 103]),
    ]


def test_the_page_is_the_core_one():
    assert Page is CorePage


def test_a_summary_page_carries_each_entrys_amount_without_its_postings(chart):
    placements(chart, 3)  # entries 1 (funding, 10**9) to 4
    with chart() as s:
        summary = entries_page(s, postings=False)
        whole = entries_page(s)
        one_account = entry_views(s, [1, 3], accounts=["asset:treasury"])
    assert [(e.id, e.amount, e.postings) for e in summary.items] == [
        (4, 102, ()), (3, 101, ()), (2, 100, ()), (1, 10**9, ()),
    ]  # fmt: skip
    assert [(e.id, e.amount) for e in whole.items] == [(4, 102), (3, 101), (2, 100), (1, 10**9)]
    assert [dataclasses.replace(e, postings=()) for e in whole.items] == list(summary.items)
    # Postings on the accounts asked for only; the amount is still the whole entry's.
    assert [(e.id, e.amount, [(p.account, p.side, p.amount) for p in e.postings])
            for e in one_account] == [
        (1, 10**9, [("asset:treasury", "D", 10**9)]),
        (3, 101, [("asset:treasury", "C", 101)]),
    ]  # fmt: skip
