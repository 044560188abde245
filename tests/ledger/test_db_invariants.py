"""The database itself refuses what would break the books, whoever writes the SQL."""

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.chain import drain_sealer
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, credit, debit, post_entries
from ledger.periods import close_period

NOW = "2026-01-01 00:00:00.000000"


@pytest.fixture
def books(chart, engine):
    """Chart, books closed through 2025-01-31, one sealed allocation of 1,000.00 (entry 1)."""
    run_in_transaction(chart, lambda s: close_period(s, dt.date(2025, 1, 31), actor="li"))
    run_in_transaction(
        chart,
        lambda s: post_entries(
            s,
            [
                EntryDraft(
                    dt.date(2025, 3, 1),
                    "capital.allocation",
                    (debit("asset:treasury", 100000), credit("capital:city", 100000)),
                )
            ],
            actor="clerk",
        ),
    )
    assert drain_sealer(engine)
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT code, id FROM accounts")).all())
    return engine, ids


def raw(engine, *statements, **params):
    """Run statements in one transaction and commit; return the refusal's text."""
    with pytest.raises(DBAPIError) as exc, engine.connect() as conn, conn.begin():
        for sql in statements:
            conn.execute(text(sql), params)
    return str(exc.value.orig)


def new_entry_sql(entry_id=50, day="2025-03-02"):
    return (
        "INSERT INTO journal_entries (id, effective_date, recorded_at, kind, description, actor,"
        f" content_hash) VALUES ({entry_id}, '{day}', '{NOW}', 'manual', '', 'raw', 'x')"
    )


def posting_sql(entry_id, account_id, side, amount, day="2025-03-02"):
    return (
        "INSERT INTO postings (entry_id, account_id, side, amount, effective_date) VALUES "
        f"({entry_id}, {account_id}, '{side}', {amount}, '{day}')"
    )


def test_unbalanced_entry_is_refused(books):
    engine, ids = books
    msg = raw(
        engine,
        posting_sql(50, ids["asset:treasury"], "D", 100),
        posting_sql(50, ids["capital:city"], "C", 90),
        new_entry_sql(50),
    )
    assert "[unbalanced]" in msg


def test_single_posting_entry_is_refused(books):
    engine, ids = books
    msg = raw(engine, posting_sql(50, ids["asset:treasury"], "D", 100), new_entry_sql(50))
    assert "[unbalanced]" in msg


def test_entry_without_postings_is_refused(books):
    engine, _ = books
    assert "[unbalanced]" in raw(engine, new_entry_sql(50))


def test_posting_dated_otherwise_than_entry_is_refused(books):
    engine, ids = books
    msg = raw(
        engine,
        posting_sql(50, ids["asset:treasury"], "D", 100, day="2025-03-03"),
        posting_sql(50, ids["capital:city"], "C", 100),
        new_entry_sql(50),
    )
    assert "[unbalanced]" in msg


def test_posting_without_entry_fails_at_commit(books):
    engine, ids = books
    msg = raw(engine, posting_sql(77, ids["asset:treasury"], "D", 100))
    assert "FOREIGN KEY" in msg.upper()


def test_posting_to_no_account_is_refused(books):
    engine, ids = books
    missing = max(ids.values()) + 1000
    msg = raw(
        engine,
        posting_sql(50, ids["asset:treasury"], "D", 100),
        posting_sql(50, missing, "C", 100),
        new_entry_sql(50),
    )
    assert "FOREIGN KEY" in msg.upper()
    with engine.connect() as conn:
        balance = conn.scalar(text("SELECT balance FROM accounts WHERE code = 'asset:treasury'"))
    assert balance == 100000


def test_posting_added_to_posted_entry_is_refused(books):
    engine, ids = books
    msg = raw(
        engine,
        posting_sql(1, ids["asset:treasury"], "D", 5, day="2025-03-01"),
        posting_sql(1, ids["capital:city"], "C", 5, day="2025-03-01"),
    )
    assert "[sealed]" in msg


@pytest.mark.parametrize("amount", [0, -100])
def test_non_positive_amount_is_refused(books, amount):
    engine, ids = books
    msg = raw(
        engine,
        posting_sql(50, ids["asset:treasury"], "D", amount),
        posting_sql(50, ids["capital:city"], "C", amount),
        new_entry_sql(50),
    )
    assert "ck_postings_amount" in msg


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE postings SET amount = amount + 1",
        "UPDATE postings SET account_id = account_id",
        "DELETE FROM postings",
        "UPDATE journal_entries SET description = 'edited'",
        "UPDATE journal_entries SET effective_date = '2025-03-02'",
        "UPDATE journal_entries SET seq = 2",
        "UPDATE journal_entries SET hash = 'x'",
        "DELETE FROM journal_entries",
        "DELETE FROM period_closes",
        "DELETE FROM ledger_head",
    ],
)
def test_updates_and_deletes_are_refused(books, sql):
    engine, _ = books
    refusal = raw(engine, sql)
    assert "[immutable]" in refusal or "[chain]" in refusal


def test_sealed_state_survives_refused_edits(books):
    engine, _ = books
    raw(engine, "UPDATE postings SET amount = 1")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sum(amount) FROM postings")).scalar() == 200000
        assert conn.execute(text("SELECT seq FROM journal_entries")).scalar() == 1


def test_overdraft_through_raw_sql_is_refused(books):
    engine, ids = books
    msg = raw(
        engine,
        posting_sql(50, ids["asset:special:ICBC"], "D", 100_001),
        posting_sql(50, ids["asset:treasury"], "C", 100_001),
        new_entry_sql(50),
    )
    assert "ck_accounts_no_overdraft" in msg


def test_posting_to_group_account_is_refused(books):
    engine, ids = books
    msg = raw(engine, posting_sql(50, ids["asset:special"], "D", 1))
    assert "[group-account]" in msg


def test_account_identity_is_fixed(books):
    engine, _ = books
    msg = raw(engine, "UPDATE accounts SET type = 'income' WHERE code = 'asset:treasury'")
    assert "[account]" in msg


def test_closed_period_refuses_raw_insert_and_reopening(books, chart):
    engine, ids = books
    run_in_transaction(chart, lambda s: close_period(s, dt.date(2025, 3, 31), actor="li"))
    msg = raw(
        engine,
        posting_sql(50, ids["asset:treasury"], "D", 100),
        posting_sql(50, ids["capital:city"], "C", 100),
        new_entry_sql(50),
    )
    assert "[closed-period]" in msg
    assert "[period]" in raw(
        engine,
        "INSERT INTO period_closes (closed_through, closed_at, actor) "
        f"VALUES ('2025-02-28', '{NOW}', 'raw')",
    )


def test_entry_inserted_sealed_is_refused(books):
    engine, ids = books
    msg = raw(
        engine,
        posting_sql(50, ids["asset:treasury"], "D", 100),
        posting_sql(50, ids["capital:city"], "C", 100),
        new_entry_sql(50).replace("content_hash)", "content_hash, seq)").replace("'x')", "'x', 2)"),
    )
    assert "[chain]" in msg


def _sealed_entry_sql(engine, seq, prev):
    from ledger.chain import chain_hash

    digest = chain_hash(prev, seq, "x")
    return (
        new_entry_sql(50)
        .replace("content_hash)", "content_hash, seq, prev_hash, hash)")
        .replace("'x')", f"'x', {seq}, '{prev}', '{digest}')")
    )


def test_sealed_insert_must_continue_the_chain(books):
    engine, ids = books
    with engine.connect() as conn:
        head = conn.execute(text("SELECT seq, hash FROM ledger_head")).one()
    legs = (
        posting_sql(50, ids["asset:treasury"], "D", 100),
        posting_sql(50, ids["capital:city"], "C", 100),
    )
    assert "[chain]" in raw(engine, *legs, _sealed_entry_sql(engine, head.seq + 1, "0" * 64))
    assert "[chain]" in raw(engine, *legs, _sealed_entry_sql(engine, head.seq + 2, head.hash))
    with engine.begin() as conn:
        for sql in (*legs, _sealed_entry_sql(engine, head.seq + 1, head.hash)):
            conn.execute(text(sql))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT seq FROM ledger_head")).scalar() == head.seq + 1


def test_balanced_raw_insert_is_accepted_and_moves_balance(books):
    engine, ids = books
    with engine.begin() as conn:
        conn.execute(text(posting_sql(50, ids["asset:treasury"], "D", 100)))
        conn.execute(text(posting_sql(50, ids["capital:city"], "C", 100)))
        conn.execute(text(new_entry_sql(50)))
    with engine.connect() as conn:
        balance = "SELECT balance FROM accounts WHERE code = 'asset:treasury'"
        assert conn.execute(text(balance)).scalar() == 100100


@pytest.mark.postgresql_only
def test_postgresql_refuses_direct_balance_edit_and_truncate(books):
    engine, _ = books
    assert "[account]" in raw(engine, "UPDATE accounts SET balance = 5 WHERE code = 'capital:city'")
    assert "[immutable]" in raw(engine, "TRUNCATE postings CASCADE")
    assert "[immutable]" in raw(engine, "TRUNCATE journal_entries CASCADE")


@pytest.mark.postgresql_only
def test_postgresql_checks_a_postings_entries_at_commit_and_leaves_no_queue(books):
    engine, ids = books
    # Two statements, two entries: both checked at commit, and the queue emptied.
    with engine.connect() as conn, conn.begin():
        for entry_id in (50, 51):
            conn.execute(text(posting_sql(entry_id, ids["asset:treasury"], "D", 100)))
            conn.execute(text(posting_sql(entry_id, ids["capital:city"], "C", 100)))
            conn.execute(text(new_entry_sql(entry_id)))
        assert conn.scalar(text("SELECT count(*) FROM fl_postings_pending")) == 4
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM fl_postings_pending")) == 0
    # One of two entries missing at commit: refused, naming it and the constraint.
    with pytest.raises(DBAPIError) as exc, engine.connect() as conn, conn.begin():
        conn.execute(text(posting_sql(52, ids["asset:treasury"], "D", 100)))
        conn.execute(text(posting_sql(52, ids["capital:city"], "C", 100)))
        conn.execute(text(new_entry_sql(52)))
        conn.execute(text(posting_sql(53, ids["asset:treasury"], "D", 100)))
    assert exc.value.orig.diag.constraint_name == "fk_postings_entry_id_journal_entries"
    assert "Key (entry_id)=(53) is not present" in str(exc.value.orig)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM journal_entries WHERE id >= 50")) == 2


def test_a_statement_of_no_postings_changes_nothing(books):
    engine, _ = books
    with engine.connect() as conn, conn.begin():
        conn.execute(
            text(
                "INSERT INTO postings (entry_id, account_id, side, amount, effective_date) "
                "SELECT entry_id, account_id, side, amount, effective_date FROM postings "
                "WHERE false"
            )
        )
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM postings")) == 2
