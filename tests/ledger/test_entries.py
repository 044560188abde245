"""Posting rules: validation, idempotency, no-overdraft, reversal, closed periods, balances."""

import datetime as dt

import pytest
from sqlalchemy import select

from ledger.balances import balance, balances, trial_balance
from ledger.chain import drain_sealer
from ledger.clock import utcnow
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, Leg, credit, debit, post_entries, post_entry, reverse_entry
from ledger.errors import (
    ClosedPeriodError,
    EntryError,
    GroupAccountError,
    IdempotencyConflictError,
    OverdraftError,
    ReversalError,
    UnbalancedEntryError,
    UnknownAccountError,
)
from ledger.models import JournalEntry
from ledger.periods import close_period, closed_through

D = dt.date(2025, 3, 5)


def allocate(fen, day=D, source="capital:provincial", key=None):
    return EntryDraft(
        day, "capital.allocation", (debit("asset:treasury", fen), credit(source, fen)), "拨付", key
    )


def place(fen, bank="ICBC", day=D):
    return EntryDraft(
        day,
        "capital.placement",
        (debit(f"asset:special:{bank}", fen), credit("asset:treasury", fen)),
    )


def post(factory, *drafts, actor="clerk:wang"):
    posted = run_in_transaction(factory, lambda s: post_entries(s, list(drafts), actor=actor))
    assert drain_sealer(factory.kw["bind"])
    return posted


def bal(factory, code, **kw):
    with factory() as s:
        return balance(s, code, **kw)


def test_post_moves_balances_and_seals(chart):
    [posted] = post(chart, allocate(5_000_000_00))
    assert posted.created
    assert bal(chart, "asset:treasury") == 5_000_000_00
    assert bal(chart, "capital:provincial") == 5_000_000_00
    assert bal(chart, "capital") == 5_000_000_00
    with chart() as s:
        entry = s.get(JournalEntry, posted.entry_id)
        assert entry.seq == 1 and len(entry.hash) == 64 and entry.prev_hash == "0" * 64
        assert [(p.side, p.amount) for p in entry.postings] == [("D", 500000000), ("C", 500000000)]
        assert entry.actor == "clerk:wang" and entry.kind == "capital.allocation"


@pytest.mark.parametrize(
    ("legs", "error", "message"),
    [
        (
            (debit("asset:treasury", 100),),
            EntryError,
            "an entry needs 2 to 1000 postings, not 1",
        ),
        (
            (debit("asset:treasury", 100), credit("capital:city", 90)),
            UnbalancedEntryError,
            "entry does not balance: debits 1.00 yuan, credits 0.90 yuan, difference 0.10 yuan",
        ),
        (
            (debit("asset:treasury", 0), credit("capital:city", 0)),
            EntryError,
            "posting to asset:treasury: amount must be more than 0 and at most "
            "10,000,000,000,000.00 yuan, not 0.00",
        ),
        (
            (debit("asset:treasury", -5), credit("capital:city", -5)),
            EntryError,
            "posting to asset:treasury: amount must be more than 0 and at most "
            "10,000,000,000,000.00 yuan, not -0.05",
        ),
        (
            (debit("asset:treasury", 1.5), credit("capital:city", 1.5)),
            EntryError,
            "posting to asset:treasury: amount must be whole fen (int), not 1.5",
        ),
        (
            (Leg("asset:treasury", "X", 5), credit("capital:city", 5)),
            EntryError,
            "posting to asset:treasury: side must be D or C, not 'X'",
        ),
        (
            (debit("asset:nope", 5), credit("capital:city", 5)),
            UnknownAccountError,
            "no such account: asset:nope",
        ),
        (
            (debit("asset:special", 5), credit("capital:city", 5)),
            GroupAccountError,
            "account asset:special is a group account and takes no postings; post to one of "
            "its sub-accounts",
        ),
    ],
)
def test_malformed_entries_are_refused(chart, legs, error, message):
    with pytest.raises(error) as exc:
        post(chart, EntryDraft(D, "manual", legs))
    assert str(exc.value) == message
    with chart() as s:
        assert s.scalar(select(JournalEntry.id)) is None


def test_batch_error_names_the_entry_and_posts_nothing(chart):
    bad = EntryDraft(D, "manual", (debit("asset:treasury", 5), credit("capital:city", 4)))
    with pytest.raises(UnbalancedEntryError) as exc:
        post(chart, allocate(100), bad)
    assert str(exc.value).startswith("entry #2 of the batch: entry does not balance")
    assert bal(chart, "asset:treasury") == 0


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (
            EntryDraft(dt.datetime(2025, 1, 1), "manual", ()),
            "effective_date must be a date, not datetime.datetime(2025, 1, 1, 0, 0)",
        ),
        (
            EntryDraft(dt.date(1999, 12, 31), "manual", ()),
            "effective_date 1999-12-31 is outside 2000-01-01…2099-12-31",
        ),
        (
            EntryDraft(D, "Bad Kind", ()),
            "kind 'Bad Kind' is not valid: lower-case letters, digits, '.', '_', '-'",
        ),
        (
            EntryDraft(D, "manual", (), idempotency_key=""),
            "idempotency key must be 1 to 200 characters",
        ),
    ],
)
def test_header_validation(chart, draft, message):
    with pytest.raises(EntryError) as exc:
        post(chart, draft)
    assert str(exc.value) == message


def test_actor_is_required(chart):
    with pytest.raises(EntryError) as exc:
        post(chart, allocate(1), actor=" ")
    assert str(exc.value) == (
        "every entry needs an actor: the user or job that posts it (≤120 chars)"
    )


def test_memorandum_postings_balance_among_themselves(chart):
    with chart() as s, s.begin():
        from ledger.accounts import AccountSpec, ensure_accounts

        ensure_accounts(
            s,
            [
                AccountSpec("memo:exposure:ICBC:L1", "L1"),
                AccountSpec("memo:exposure-contra:ICBC-L1", "L1"),
            ],
        )
    mixed = EntryDraft(
        D, "manual", (debit("memo:exposure:ICBC:L1", 100), credit("capital:city", 100))
    )
    with pytest.raises(UnbalancedEntryError) as exc:
        post(chart, mixed)
    assert str(exc.value) == (
        "the memorandum postings of the entry do not balance among themselves "
        "(difference 1.00 yuan)"
    )
    ok = EntryDraft(
        D,
        "loan.disbursement",
        (debit("memo:exposure:ICBC:L1", 8000_00), credit("memo:exposure-contra:ICBC-L1", 8000_00)),
    )
    post(chart, ok)
    assert bal(chart, "memo:exposure:ICBC") == 8000_00
    assert bal(chart, "memo") == 0


@pytest.mark.parametrize("array_chunk", [50_000, 300], ids=["one-pass", "ids-then-locks"])
def test_a_batch_over_many_accounts_locks_and_moves_each(chart, monkeypatch, array_chunk):
    """1,200 accounts: past one statement's lock list, in one array statement (PostgreSQL)
    or in two passes, ids first; every balance moves by its postings."""
    import ledger.entries
    from ledger.accounts import AccountSpec, ensure_accounts

    monkeypatch.setattr(ledger.entries, "_ARRAY_CHUNK", array_chunk)
    loans = range(1, 1201)
    with chart() as s, s.begin():
        ensure_accounts(s, [AccountSpec(f"memo:exposure:ICBC:L{n}", f"L{n}") for n in loans])
        ensure_accounts(s, [AccountSpec("memo:exposure-contra:ICBC-all", "ICBC contra")])
    drafts = [
        EntryDraft(
            D,
            "loan.disbursement",
            (
                *(debit(f"memo:exposure:ICBC:L{n}", n) for n in part),
                credit("memo:exposure-contra:ICBC-all", sum(part)),
            ),
        )
        for part in (range(1, 601), range(601, 1201))
    ]
    post(chart, *drafts)
    assert [bal(chart, f"memo:exposure:ICBC:L{n}") for n in (1, 600, 601, 1200)] == [
        1,
        600,
        601,
        1200,
    ]
    assert bal(chart, "memo:exposure:ICBC") == sum(loans)
    assert bal(chart, "memo") == 0


# ------------------------------------------------------------------------ idempotency


def test_same_key_same_content_returns_original(chart):
    [first] = post(chart, allocate(100, key="alloc-2025-001"))
    [again] = post(chart, allocate(100, key="alloc-2025-001"))
    assert again.entry_id == first.entry_id and first.created and not again.created
    assert bal(chart, "asset:treasury") == 100


def test_same_key_different_content_is_refused_naming_key(chart):
    post(chart, allocate(100, key="alloc-2025-001"))
    with pytest.raises(IdempotencyConflictError) as exc:
        post(chart, allocate(101, key="alloc-2025-001"))
    assert exc.value.key == "alloc-2025-001"
    assert str(exc.value) == (
        "idempotency key 'alloc-2025-001' was used for entry 1 with different content; "
        "use a new key for a new entry"
    )


def test_key_repeated_within_one_batch(chart):
    results = post(chart, allocate(100, key="k1"), allocate(100, key="k1"), allocate(5))
    assert [(r.entry_id, r.created) for r in results] == [(1, True), (1, False), (2, True)]
    with pytest.raises(IdempotencyConflictError) as exc:
        post(chart, allocate(7, key="k2"), allocate(8, key="k2"))
    assert str(exc.value) == (
        "idempotency key 'k2' appears twice in the batch with different content"
    )
    assert bal(chart, "asset:treasury") == 105


# ----------------------------------------------------------------------- no overdraft


def test_overdraft_refused_with_exact_shortfall(chart):
    post(chart, allocate(1_000_00), place(600_00))
    with pytest.raises(OverdraftError) as exc:
        post(chart, place(400_01, bank="ABC"))
    assert exc.value.account_code == "asset:treasury"
    assert str(exc.value) == (
        "account asset:treasury must not go negative: balance 400.00 yuan, this entry takes "
        "400.01 yuan, short by 0.01 yuan"
    )
    post(chart, place(400_00, bank="ABC"))
    assert bal(chart, "asset:treasury") == 0


def test_overdraft_checked_in_batch_order(chart):
    with pytest.raises(OverdraftError) as exc:
        post(chart, place(10), allocate(10))
    assert str(exc.value).startswith("entry #1 of the batch: account asset:treasury")
    post(chart, allocate(10), place(10))
    assert bal(chart, "asset:special:ICBC") == 10


# --------------------------------------------------------------------------- reversal


def test_reversal_restores_balances_and_links(chart):
    post(chart, allocate(1_000_00))
    [placed] = post(chart, place(300_00))
    rev = run_in_transaction(chart, lambda s: reverse_entry(s, placed.entry_id, actor="li"))
    assert bal(chart, "asset:treasury") == 1_000_00
    assert bal(chart, "asset:special:ICBC") == 0
    with chart() as s:
        entry = s.get(JournalEntry, rev.entry_id)
        assert entry.reverses_id == placed.entry_id and entry.kind == "reversal"
        assert entry.effective_date == D
        assert sorted((p.side, p.amount) for p in entry.postings) == [("C", 30000), ("D", 30000)]


def test_reversing_twice_is_refused(chart):
    [e] = post(chart, allocate(100))
    run_in_transaction(chart, lambda s: reverse_entry(s, e.entry_id, actor="li"))
    with pytest.raises(ReversalError) as exc:
        run_in_transaction(chart, lambda s: reverse_entry(s, e.entry_id, actor="li"))
    assert str(exc.value) == "entry 1 was already reversed by entry 2"


def test_reversal_of_unknown_entry(chart):
    with pytest.raises(ReversalError) as exc:
        run_in_transaction(chart, lambda s: reverse_entry(s, 999, actor="li"))
    assert str(exc.value) == "entry 999 does not exist; nothing to reverse"


def test_reversal_that_would_overdraw_is_refused(chart):
    [a] = post(chart, allocate(100))
    post(chart, place(100))
    with pytest.raises(OverdraftError):
        run_in_transaction(chart, lambda s: reverse_entry(s, a.entry_id, actor="li"))


# ---------------------------------------------------------------------- closed period


def test_closed_period_refuses_entries_and_reversals_need_new_date(chart):
    [e] = post(chart, allocate(100, day=dt.date(2025, 6, 30)))
    run_in_transaction(chart, lambda s: close_period(s, dt.date(2025, 6, 30), actor="li"))
    with pytest.raises(ClosedPeriodError) as exc:
        post(chart, allocate(5, day=dt.date(2025, 6, 30)))
    assert str(exc.value) == (
        "the books are closed through 2025-06-30; an entry dated 2025-06-30 is refused"
    )
    with pytest.raises(ClosedPeriodError) as exc:
        run_in_transaction(chart, lambda s: reverse_entry(s, e.entry_id, actor="li"))
    assert str(exc.value) == (
        "the books are closed through 2025-06-30; an entry dated 2025-06-30 is refused — "
        "entry 1 is dated 2025-06-30; give the reversal a date in the open period"
    )
    run_in_transaction(
        chart,
        lambda s: reverse_entry(s, e.entry_id, actor="li", effective_date=dt.date(2025, 7, 1)),
    )
    assert bal(chart, "asset:treasury") == 0
    assert bal(chart, "asset:treasury", as_of=dt.date(2025, 6, 30)) == 100


def test_period_close_only_moves_forward(chart):
    from ledger.errors import PeriodError

    close = lambda day: run_in_transaction(  # noqa: E731
        chart, lambda s: close_period(s, day, actor="li", today=dt.date(2026, 1, 1))
    )
    close(dt.date(2025, 6, 30))
    with pytest.raises(PeriodError) as exc:
        close(dt.date(2025, 3, 31))
    assert str(exc.value) == "the books are already closed through 2025-06-30"
    with pytest.raises(PeriodError) as exc:
        close(dt.date(2026, 1, 1))
    assert str(exc.value) == (
        "cannot close through 2026-01-01: only days before today (2026-01-01) can be closed"
    )


# --------------------------------------------------------------------------- balances


def test_as_of_and_recorded_at_balances(chart):
    post(chart, allocate(100, day=dt.date(2025, 1, 10)))
    moment = utcnow()
    post(chart, allocate(20, day=dt.date(2025, 1, 5)), allocate(3, day=dt.date(2025, 2, 1)))
    assert bal(chart, "asset:treasury", as_of=dt.date(2025, 1, 4)) == 0
    assert bal(chart, "asset:treasury", as_of=dt.date(2025, 1, 5)) == 20
    assert bal(chart, "asset:treasury", as_of=dt.date(2025, 1, 31)) == 120
    assert bal(chart, "asset:treasury") == 123
    assert bal(chart, "asset:treasury", recorded_at=moment) == 100
    assert bal(chart, "asset:treasury", as_of=dt.date(2025, 1, 31), recorded_at=moment) == 100


def test_balances_roll_up_groups_and_trial_balance_nets_zero(chart):
    post(
        chart,
        allocate(5_000_000_00),
        allocate(2_500_000_00, source="capital:city"),
        allocate(600_000_00, source="capital:district-D01"),
        place(3_500_000_00),
        place(2_500_000_00, bank="ABC"),
        EntryDraft(
            D,
            "interest.deposit",
            (
                debit("asset:special:ICBC", 10_500_00),
                credit("income:deposit-interest:city", 10_500_00),
            ),
        ),
    )
    with chart() as s:
        rows = {r.code: r for r in balances(s)}
        tb = trial_balance(s)
    assert rows["asset"].balance == 8_110_500_00
    assert rows["asset:special"].balance == 6_010_500_00
    assert rows["capital"].balance == 8_100_000_00
    assert rows["capital:district-D01"].balance == 600_000_00
    assert rows["income:deposit-interest"].balance == 10_500_00  # a group: rolled up
    assert rows["income"].balance == 10_500_00
    assert rows["asset:treasury"].debits == 8_100_000_00
    assert rows["asset:treasury"].credits == 6_000_000_00
    assert tb.net == 0
    assert tb.total(memorandum=False) == (8_110_500_00, 8_110_500_00)
    assert {ln.code: (ln.debit, ln.credit) for ln in tb.lines}["capital:city"] == (0, 2_500_000_00)


def test_post_entry_single_and_empty_batch(chart):
    assert run_in_transaction(chart, lambda s: post_entries(s, [], actor="x")) == []
    r = run_in_transaction(chart, lambda s: post_entry(s, allocate(1), actor="x"))
    assert (r.entry_id, r.created) == (1, True)


# ------------------------------------------------------------------------------- bulk


def test_bulk_batch_posts_sealed_in_order(chart):
    drafts = [
        allocate(100 + n, day=dt.date(2025, 1, 1) + dt.timedelta(days=n % 90)) for n in range(150)
    ]
    results = post(chart, *drafts)
    assert [r.entry_id for r in results] == list(range(1, 151))
    with chart() as s:
        from ledger.verify import verify

        report = verify(s)
        assert report.problems == [] and report.sealed == 150 and report.unsealed == 0
        seqs = s.execute(select(JournalEntry.id, JournalEntry.seq).order_by(JournalEntry.id)).all()
        assert [tuple(r) for r in seqs] == [(n, n) for n in range(1, 151)]
    assert bal(chart, "asset:treasury") == sum(100 + n for n in range(150))


def test_bulk_after_single_posts_keeps_one_chain(chart):
    post(chart, allocate(1))
    post(chart, *[allocate(2) for _ in range(70)])
    post(chart, allocate(3))
    with chart() as s:
        from ledger.verify import verify

        report = verify(s)
    assert report.problems == [] and report.sealed == 72
    assert bal(chart, "asset:treasury") == 1 + 140 + 3


def test_period_close_counts_today_in_china_time(chart, monkeypatch):
    # 2026-01-01 01:00 in Beijing is still 2025-12-31 in UTC: yesterday (12-31) may be
    # closed, as the bureau sees the calendar.
    from ledger import periods

    monkeypatch.setattr(periods, "business_today", lambda: dt.date(2026, 1, 1))
    monkeypatch.setattr(periods, "utcnow", lambda: dt.datetime(2025, 12, 31, 17, 0))
    run_in_transaction(chart, lambda s: close_period(s, dt.date(2025, 12, 31), actor="li"))
    with chart() as s:
        assert closed_through(s) == dt.date(2025, 12, 31)
