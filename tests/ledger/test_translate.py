"""``translate`` names the database's own refusals; ``run_in_transaction`` raises them so.

Each refusal is provoked on the real database by raw SQL, as in ``test_db_invariants``:
the triggers of migrations 0001 and 0007 raise a message tagged ``[unbalanced]``,
``[closed-period]``, ``[immutable]``, ``[sealed]``, ``[group-account]``, ``[period]``,
``[account]``, ``[chain]`` or ``[kept]``, and the CHECK constraints ``ck_postings_amount``
and ``ck_accounts_no_overdraft`` name themselves. SQLite's and PostgreSQL's wording
differ, so the tests assert the class, the tag or constraint, and that the message is
"database refused: " and the first line of the database's own.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger import errors
from ledger.accounts import ensure_accounts
from ledger.chain import drain_sealer
from ledger.db import make_engine, run_in_transaction, session_factory, translate
from ledger.demo.city import city_chart
from ledger.entries import EntryDraft, credit, debit, post_entries
from ledger.periods import close_period
from tests.conftest import _empty_postgresql

NOW = "2026-01-01 00:00:00.000000"


@pytest.fixture(scope="module")
def built(database_url, tmp_path_factory):
    """The demo chart, closed through 2025-01-31, and one sealed allocation of 1,000.00
    yuan (entry 1: treasury debit, capital:city credit), built once for the module: every
    test's writes are refused and roll back (``books`` checks that they did)."""
    kind, where = database_url
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("translate") / "books.db"
        shutil.copyfile(where, path)
        url = f"sqlite:///{path}"
    else:
        _empty_postgresql(where)
        url = where
    engine = make_engine(url)
    factory = session_factory(engine)
    run_in_transaction(factory, lambda s: ensure_accounts(s, city_chart()))
    run_in_transaction(factory, lambda s: close_period(s, dt.date(2025, 1, 31), actor="li"))
    allocation = EntryDraft(
        dt.date(2025, 3, 1),
        "capital.allocation",
        (debit("asset:treasury", 100_000), credit("capital:city", 100_000)),
    )
    run_in_transaction(factory, lambda s: post_entries(s, [allocation], actor="clerk"))
    assert drain_sealer(engine)
    yield factory, engine
    assert drain_sealer(engine)
    engine.dispose()


def _state(engine):
    with engine.connect() as conn:
        return [
            tuple(row)
            for sql in (
                "SELECT id, seq, hash FROM journal_entries ORDER BY id",
                "SELECT id, entry_id, account_id, side, amount FROM postings ORDER BY id",
                "SELECT id, code, type, balance FROM accounts ORDER BY id",
                "SELECT id, closed_through FROM period_closes ORDER BY id",
                "SELECT seq, hash FROM ledger_head",
                "SELECT id, code FROM districts ORDER BY id",
            )
            for row in conn.execute(text(sql))
        ]


@pytest.fixture
def books(built):
    """``(factory, engine)`` of the module's books; they must be as they were afterwards."""
    _, engine = built
    before = _state(engine)
    yield built
    assert _state(engine) == before


def entry(entry_id=50, day="2025-03-02", sealed=""):
    columns, values = "", ""
    if sealed:
        columns, values = ", seq", f", {sealed}"
    return (
        "INSERT INTO journal_entries (id, effective_date, recorded_at, kind, description, actor,"
        f" content_hash{columns}) VALUES ({entry_id}, '{day}', '{NOW}', 'manual', '', 'raw', 'x'"
        f"{values})"
    )


def posting(account, side, amount, entry_id=50, day="2025-03-02"):
    """A posting by account code (looked up when the statement runs)."""
    return (
        "INSERT INTO postings (entry_id, account_id, side, amount, effective_date) "
        f"SELECT {entry_id}, id, '{side}', {amount}, '{day}' FROM accounts WHERE code = '{account}'"
    )


def refusal(engine, *statements) -> DBAPIError:
    """Run ``statements`` in one transaction; the database must refuse. Returns the error."""
    with pytest.raises(DBAPIError) as info, engine.connect() as conn, conn.begin():
        for sql in statements:
            conn.execute(text(sql))
    return info.value


def balanced(day="2025-03-02", entry_id=50):
    return (
        posting("asset:treasury", "D", 100, entry_id, day),
        posting("capital:city", "C", 100, entry_id, day),
        entry(entry_id, day),
    )


#: (id, statements, the named error, what its message must hold)
REFUSALS = [
    (
        "unbalanced",
        (posting("asset:treasury", "D", 100), posting("capital:city", "C", 90), entry()),
        errors.UnbalancedEntryError,
        "[unbalanced]",
    ),
    (
        "single-posting",
        (posting("asset:treasury", "D", 100), entry()),
        errors.UnbalancedEntryError,
        "[unbalanced]",
    ),
    ("no-postings", (entry(),), errors.UnbalancedEntryError, "[unbalanced]"),
    (
        "posting-misdated",
        (
            posting("asset:treasury", "D", 100, day="2025-03-03"),
            posting("capital:city", "C", 100),
            entry(),
        ),
        errors.UnbalancedEntryError,
        "[unbalanced]",
    ),
    ("closed-period", balanced(day="2025-01-15"), errors.ClosedPeriodError, "[closed-period]"),
    (
        "update-posting",
        ("UPDATE postings SET amount = amount + 1",),
        errors.ImmutableEntryError,
        "[immutable]",
    ),
    ("delete-posting", ("DELETE FROM postings",), errors.ImmutableEntryError, "[immutable]"),
    (
        "update-entry",
        ("UPDATE journal_entries SET description = 'edited' WHERE id = 1",),
        errors.ImmutableEntryError,
        "[immutable]",
    ),
    (
        "delete-entry",
        ("DELETE FROM journal_entries WHERE id = 1",),
        errors.ImmutableEntryError,
        "[immutable]",
    ),
    (
        "update-period-close",
        ("UPDATE period_closes SET closed_through = '2024-12-31'",),
        errors.ImmutableEntryError,
        "[immutable]",
    ),
    (
        "delete-period-close",
        ("DELETE FROM period_closes",),
        errors.ImmutableEntryError,
        "[immutable]",
    ),
    ("delete-chain-head", ("DELETE FROM ledger_head",), errors.ImmutableEntryError, "[immutable]"),
    (
        "posting-added-to-posted-entry",
        (
            posting("asset:treasury", "D", 5, entry_id=1, day="2025-03-01"),
            posting("capital:city", "C", 5, entry_id=1, day="2025-03-01"),
        ),
        errors.ImmutableEntryError,
        "[sealed]",
    ),
    (
        "group-account",
        (posting("asset:special", "D", 1),),
        errors.GroupAccountError,
        "[group-account]",
    ),
    (
        # Treasury holds 100,000 fen and must not go negative.
        "overdraft",
        (
            posting("asset:special:ICBC", "D", 100_001),
            posting("asset:treasury", "C", 100_001),
            entry(),
        ),
        errors.OverdraftError,
        "ck_accounts_no_overdraft",
    ),
    (
        "zero-amount",
        (posting("asset:treasury", "D", 0), posting("capital:city", "C", 0), entry()),
        errors.EntryError,
        "ck_postings_amount",
    ),
    (
        "negative-amount",
        (posting("asset:treasury", "D", -100), posting("capital:city", "C", -100), entry()),
        errors.EntryError,
        "ck_postings_amount",
    ),
    (
        "period-close-moved-back",
        (
            "INSERT INTO period_closes (closed_through, closed_at, actor) "
            f"VALUES ('2025-01-15', '{NOW}', 'raw')",
        ),
        errors.PeriodError,
        "[period]",
    ),
    (
        "account-type-changed",
        ("UPDATE accounts SET type = 'income' WHERE code = 'asset:treasury'",),
        errors.AccountError,
        "[account]",
    ),
    (
        "account-code-changed",
        ("UPDATE accounts SET code = 'asset:treasury2' WHERE code = 'asset:treasury'",),
        errors.AccountError,
        "[account]",
    ),
    # Tags the mapping does not name: the generic refusal.
    (
        "entry-half-sealed",
        (*balanced()[:2], entry(sealed="2")),
        errors.DatabaseRefusedError,
        "[chain]",
    ),
    (
        "account-deleted",
        ("DELETE FROM accounts WHERE code = 'capital:provincial'",),
        errors.DatabaseRefusedError,
        "[kept]",
    ),
]


@pytest.mark.parametrize(
    ("statements", "named", "mark"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSALS],
)
def test_each_refusal_is_named(books, statements, named, mark):
    _, engine = books
    exc = refusal(engine, *statements)
    found = translate(exc)
    assert type(found) is named
    assert str(found).startswith("database refused: ")
    assert str(found) == "database refused: " + str(exc.orig).splitlines()[0].strip()
    assert mark in str(found)


@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    ("sql", "named", "mark"),
    [
        pytest.param(
            "UPDATE accounts SET balance = 5 WHERE code = 'capital:city'",
            errors.AccountError,
            "[account]",
            id="balance-edited",
        ),
        pytest.param(
            "TRUNCATE postings CASCADE", errors.ImmutableEntryError, "[immutable]", id="truncate"
        ),
    ],
)
def test_refusals_only_postgresql_makes(books, sql, named, mark):
    """SQLite has no TRUNCATE, and no trigger on an account's balance: there a raw
    ``UPDATE accounts SET balance`` goes through (``verify`` reports it afterwards)."""
    _, engine = books
    found = translate(refusal(engine, sql))
    assert type(found) is named
    assert mark in str(found)
    assert str(found).startswith("database refused: ")


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        pytest.param(("DELETE FROM postings",), errors.ImmutableEntryError, id="immutable"),
        pytest.param(
            (posting("asset:treasury", "D", 100), posting("capital:city", "C", 90), entry()),
            errors.UnbalancedEntryError,
            id="unbalanced",
        ),
        pytest.param(
            (
                posting("asset:special:ICBC", "D", 100_001),
                posting("asset:treasury", "C", 100_001),
                entry(),
            ),
            errors.OverdraftError,
            id="overdraft",
        ),
        pytest.param(balanced(day="2025-01-31"), errors.ClosedPeriodError, id="closed-period"),
    ],
)
def test_run_in_transaction_raises_the_named_error(books, statements, named):
    factory, _ = books

    def work(s):
        for sql in statements:
            s.execute(text(sql))

    with pytest.raises(errors.LedgerError) as info:
        run_in_transaction(factory, work)
    assert type(info.value) is named
    assert str(info.value).startswith("database refused: ")
    assert isinstance(info.value.__cause__, DBAPIError)
    assert translate(info.value.__cause__).args == info.value.args


def _district(code):
    return (
        "INSERT INTO districts (code, name, created_by, created_at) "
        f"VALUES ('{code}', '城东区', 'raw', '{NOW}')"
    )


UNRELATED = [
    pytest.param(("SELEC 1",), id="syntax-error"),
    pytest.param(("SELECT * FROM no_such_table",), id="unknown-table"),
    # uq_districts_code is neither a refusal of the books nor a race the retry loop knows.
    pytest.param((_district("D01"), _district("D01")), id="unique-violation"),
]


@pytest.mark.parametrize("statements", UNRELATED)
def test_an_unrelated_error_is_not_translated(books, statements):
    _, engine = books
    assert translate(refusal(engine, *statements)) is None


@pytest.mark.parametrize("statements", UNRELATED)
def test_run_in_transaction_reraises_an_unrelated_error_unchanged(books, statements):
    factory, _ = books
    raised = []

    def work(s):
        try:
            for sql in statements:
                s.execute(text(sql))
        except DBAPIError as exc:
            raised.append(exc)
            raise

    with pytest.raises(DBAPIError) as info:
        run_in_transaction(factory, work)
    assert len(raised) == 1  # not retried
    assert info.value is raised[0]


def test_a_tag_in_the_data_of_an_unrelated_error(books):
    """A duplicate key whose value looks like a tag is still not a refusal of the books.

    PostgreSQL's message carries the key (``DETAIL: Key (code)=([overdraft]) already
    exists.``) and, for errors with a position, the statement (``LINE 1: ...``): only
    the message's first line, the refusal itself, is searched for a tag."""
    _, engine = books
    exc = refusal(engine, _district("[overdraft]"), _district("[overdraft]"))
    assert translate(exc) is None
