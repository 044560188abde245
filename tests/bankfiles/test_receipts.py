"""Receipts read back: keyset pages by bank, kind, status and upload date (a China
date), each receipt with its entries and error count, in three queries a page."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ledger.bankfiles.imports import get_receipt, receipts
from ledger.bankfiles.models import BankFileImport
from ledger.bankfiles.receipts import upload_counts
from ledger.chain import update
from ledger.errors import FilterError
from tests.bankfiles.conftest import do_import
from tests.conftest import selects
from tests.fund.conftest import run


@pytest.fixture
def uploads(city):
    """Six uploads, oldest first: ICBC balances (accepted), an ICBC repayment file with
    bad rows (rejected), the same balances again (duplicate), ICBC repayments (accepted,
    posted), ABC repayments from XLSX (accepted), an ICBC statement (accepted). Returns
    (factory, their receipts)."""
    done = [
        do_import(city, "balances", "icbc_balances_0630.csv"),
        do_import(city, "repayment", "icbc_repayment_dirty.csv"),
        do_import(city, "balances", "icbc_balances_0630.csv"),
        do_import(city, "repayment", "icbc_repayment_bom.csv"),
        do_import(city, "repayment", "abc_repayment_formulas.xlsx", bank="ABC"),
        do_import(city, "statement", "icbc_statement_0630_gbk.csv"),
    ]
    assert [r.status for r in done] == [
        "accepted", "rejected", "duplicate", "accepted", "accepted", "accepted",
    ]  # fmt: skip
    return city, done


def test_a_page_of_receipts_is_the_receipts_in_three_queries(uploads):
    factory, done = uploads
    newest_first = [r.id for r in reversed(done)]
    with factory() as s:
        with selects(factory) as seen:
            page = receipts(s)
        assert len(seen) == 3  # the receipts, their entries, their error counts
        one_by_one = tuple(get_receipt(s, i) for i in newest_first)
    assert [r.id for r in page.items] == newest_first
    assert page.items == one_by_one
    assert page.next_before is None
    posted, dirty = done[3], done[1]
    assert page.items[2] == posted and page.items[2].entry_ids == posted.entry_ids != ()
    assert (page.items[4].errors, page.items[4].error_rows) == (dirty.errors, dirty.error_rows)
    assert page.items[4].errors > 0
    assert page.items[3].duplicate_of == done[0].id
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.items[0].status = "rejected"


def test_pages_of_two_give_every_receipt_once(uploads):
    factory, done = uploads
    seen, before = [], None
    with factory() as s:
        while True:
            page = receipts(s, limit=2, before=before)
            seen += [r.id for r in page.items]
            if page.next_before is None:
                break
            before = page.next_before
        again = receipts(s, limit=2, before=done[3].id)
        assert again == receipts(s, limit=2, before=done[3].id)
        assert [r.id for r in again.items] == [done[2].id, done[1].id]
    assert seen == [r.id for r in reversed(done)]


def test_filters(uploads):
    factory, done = uploads
    ids = lambda page: [r.id for r in page.items]  # noqa: E731
    with factory() as s:
        assert ids(receipts(s, bank="ABC")) == [done[4].id]
        assert ids(receipts(s, bank="ICBC")) == [r.id for r in reversed(done) if r.bank == "ICBC"]
        assert ids(receipts(s, kind="balances")) == [done[2].id, done[0].id]
        assert ids(receipts(s, kind="repayment", bank="ICBC")) == [done[3].id, done[1].id]
        assert ids(receipts(s, status="rejected")) == [done[1].id]
        assert ids(receipts(s, status="duplicate")) == [done[2].id]
        assert ids(receipts(s, status="accepted", kind="statement")) == [done[5].id]
        page = receipts(s, status="accepted", limit=2)
        assert (ids(page), page.next_before) == ([done[5].id, done[4].id], done[4].id)


def test_the_upload_date_is_the_china_date(uploads):
    factory, done = uploads
    # 15:59:59 UTC is 23:59:59 in China; 16:00 UTC is the next China day.
    times = [
        dt.datetime(2026, 11, 28, 15, 59, 59),
        dt.datetime(2026, 11, 28, 16, 0),
        dt.datetime(2026, 11, 29, 15, 59, 59),
        dt.datetime(2026, 11, 29, 16, 0),
        dt.datetime(2026, 11, 30, 2, 0),
        dt.datetime(2026, 12, 1, 1, 0),
    ]

    def backdate(s):
        for receipt, at in zip(done, times, strict=True):
            s.execute(
                update(BankFileImport).where(BankFileImport.id == receipt.id).values(uploaded_at=at)
            )

    run(factory, backdate)
    ids = lambda page: [r.id for r in page.items]  # noqa: E731
    day = dt.date
    with factory() as s:
        assert ids(receipts(s, uploaded_to=day(2026, 11, 28))) == [done[0].id]
        on_29th = receipts(s, uploaded_from=day(2026, 11, 29), uploaded_to=day(2026, 11, 29))
        assert ids(on_29th) == [done[2].id, done[1].id]
        assert ids(receipts(s, uploaded_from=day(2026, 11, 30))) == [
            done[5].id, done[4].id, done[3].id,
        ]  # fmt: skip
        assert ids(receipts(s, uploaded_from=day(2026, 12, 1), bank="ICBC")) == [done[5].id]
        # The dashboard's counts of a day's uploads, by status, on the same China dates.
        assert upload_counts(s, day(2026, 11, 29)) == {"rejected": 1, "duplicate": 1}
        assert upload_counts(s, day(2026, 11, 30)) == {"accepted": 2}
        assert upload_counts(s, day(2026, 11, 30), bank="ABC") == {"accepted": 1}
        assert upload_counts(s, day(2026, 11, 30), bank="RCB") == {}


def test_a_filter_it_cannot_have_is_refused_by_name(city):
    with city() as s:
        with pytest.raises(FilterError) as info:
            receipts(s, kind="loans")
        assert str(info.value) == (
            "unknown file kind 'loans'; use one of: disbursement, repayment, balances, statement, "
            "borrowers, guarantees"
        )
        with pytest.raises(FilterError) as info:
            receipts(s, status="posted")
        assert str(info.value) == (
            "unknown receipt status 'posted'; use one of: accepted, rejected, duplicate"
        )
        with pytest.raises(FilterError) as info:
            receipts(s, uploaded_from=dt.date(2026, 2, 1), uploaded_to=dt.date(2026, 1, 31))
        assert str(info.value) == (
            "the upload date range ends (2026-01-31) before it starts (2026-02-01)"
        )
        with pytest.raises(FilterError, match=r"^a page holds 1 to 1000 rows, not 0$"):
            receipts(s, limit=0)
        assert receipts(s) == receipts(s, bank="ICBC")
        assert receipts(s).items == ()
