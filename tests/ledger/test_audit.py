"""The audit log: rows written as given with resident ID numbers masked, read as keyset
pages of values with filters, and refused by the database itself if changed or deleted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from ledger.audit import AuditView, audit_page, mask_id_numbers, record
from ledger.db import run_in_transaction
from ledger.errors import AuditError, FilterError, ImmutableEntryError

T0 = dt.datetime(2026, 12, 1, 2, 0, 0)  # 10:00 on 1 December in China
ID = "320102199001011234"


def test_an_id_number_is_masked_to_its_first_and_last_four():
    assert mask_id_numbers(ID) == "3201**********1234"
    assert mask_id_numbers("11010519900517123X") == "1101**********123X"
    assert mask_id_numbers(f"借款人{ID}，担保人 11010519850801002x。") == (
        "借款人3201**********1234，担保人 1101**********002x。"
    )
    # A longer run of digits (a bank account number) is not an ID number.
    assert mask_id_numbers("6228480010000000001") == "6228480010000000001"
    assert mask_id_numbers("32010219900101123") == "32010219900101123"


def test_a_record_is_stored_as_given_with_id_numbers_masked(factory):
    detail = {
        "borrower": ID,
        "changes": [{"id_number": f"旧 {ID}"}, 3],
        ID: "as a key",
        "amount": Decimal("1234.50"),
        "on": dt.date(2026, 11, 30),
        "approved": True,
    }
    written = run_in_transaction(
        factory,
        lambda s: record(
            s, "borrower.correct", actor="clerk", target=f"borrower/{ID}", detail=detail,
            address="2001:DB8::1", at=T0,
        ),
    )  # fmt: skip
    masked = "3201**********1234"
    expected = AuditView(
        id=1,
        at=T0,
        actor="clerk",
        action="borrower.correct",
        target=f"borrower/{masked}",
        outcome="ok",
        detail={
            "borrower": masked,
            "changes": [{"id_number": f"旧 {masked}"}, 3],
            masked: "as a key",
            "amount": "1234.50",
            "on": "2026-11-30",
            "approved": True,
        },
        address="2001:db8::1",
    )
    assert written == expected
    with factory() as s:
        assert audit_page(s).items == (expected,)
    with factory.kw["bind"].connect() as conn:
        stored = conn.execute(text("SELECT target, detail FROM audit_log")).one()
    assert ID not in stored.target and ID not in stored.detail
    assert stored.detail == (
        '{"3201**********1234": "as a key", "amount": "1234.50", "approved": true, '
        '"borrower": "3201**********1234", "changes": [{"id_number": "旧 3201**********1234"}, '
        '3], "on": "2026-11-30"}'
    )


@pytest.mark.parametrize(
    ("kw", "zh"),
    [
        ({"action": "Sign In"}, "审计操作代码 'Sign In' 无效"),
        ({"outcome": "failed"}, "审计结果 'failed' 无效，应为：ok、refused"),
        ({"detail": {"rate": 0.1}}, "审计明细含有无法记录的值"),
        ({"detail": ["not", "a", "dict"]}, "审计明细格式无效"),
        ({"address": "10.0.0.300"}, "'10.0.0.300' 不是有效的 IP 地址"),
    ],
)
def test_a_record_that_cannot_be_written_is_refused(factory, kw, zh):
    args = {"action": "sign-in", "actor": "clerk"} | kw
    with pytest.raises(AuditError) as caught:
        run_in_transaction(factory, lambda s: record(s, args.pop("action"), **args))
    assert (caught.value.code, caught.value.zh) == ("audit", zh)
    with factory() as s:
        assert audit_page(s).items == ()


def _raw(engine, sql: str) -> str:
    with pytest.raises(DBAPIError) as caught, engine.connect() as conn, conn.begin():
        conn.execute(text(sql))
    return str(caught.value.orig)


def test_the_database_refuses_to_change_or_delete_an_audit_row(factory, engine):
    run_in_transaction(factory, lambda s: record(s, "sign-in", actor="clerk", at=T0))
    assert "[immutable]" in _raw(engine, "UPDATE audit_log SET actor = 'someone else'")
    assert "[immutable]" in _raw(engine, "UPDATE audit_log SET outcome = 'refused' WHERE id = 1")
    assert "[immutable]" in _raw(engine, "DELETE FROM audit_log")
    assert "[immutable]" in _raw(engine, "DELETE FROM audit_log WHERE id = 1")
    if engine.dialect.name == "postgresql":
        assert "[immutable]" in _raw(engine, "TRUNCATE audit_log")
    # Through the transaction helper it is the books' named refusal.
    with pytest.raises(ImmutableEntryError):
        run_in_transaction(factory, lambda s: s.execute(text("DELETE FROM audit_log")))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, actor, action, outcome FROM audit_log")).all()
    assert [tuple(r) for r in rows] == [(1, "clerk", "sign-in", "ok")]


def _some(factory):
    """Seven rows: (actor, action, target, outcome) at T0 plus 0..5 hours, the last at
    T0 plus 14 hours (16:00 UTC, the next day in China)."""
    rows = [
        ("clerk", "sign-in", "user/clerk", "ok"),
        (None, "sign-in-failed", "user/clerk", "refused"),
        ("admin", "user-unlock", "user/clerk", "ok"),
        ("clerk", "allocation.record", "allocation/1", "ok"),
        ("approver", "allocation.approve", "allocation/1", "ok"),
        ("clerk", "sign-out", "user/clerk", "ok"),
        (None, "sign-in-failed", "user/nobody", "refused"),
    ]

    def write(s):
        for n, (actor, action, target, outcome) in enumerate(rows):
            record(
                s, action, actor=actor, target=target, outcome=outcome, address="10.1.2.3",
                at=T0 + dt.timedelta(hours=n if n < 6 else 14),
            )  # fmt: skip

    run_in_transaction(factory, write)


def test_pages_and_filters(factory):
    _some(factory)
    with factory() as s:

        def ids(**kw):
            return [r.id for r in audit_page(s, **kw).items]

        first = audit_page(s, limit=3)
        assert ([r.id for r in first.items], first.next_before) == ([7, 6, 5], 5)
        second = audit_page(s, limit=3, before=5)
        assert ([r.id for r in second.items], second.next_before) == ([4, 3, 2], 2)
        last = audit_page(s, limit=3, before=2)
        assert ([r.id for r in last.items], last.next_before) == ([1], None)
        assert ids(who="clerk") == [6, 4, 1]
        assert ids(action="sign-in-failed") == [7, 2]
        assert ids(target="allocation/1") == [5, 4]
        assert ids(outcome="refused") == [7, 2]
        assert ids(who="clerk", action="sign-out") == [6]
        # Times: T0 is 10:00 in China; rows 1-6 are on 1 December there, row 7 (16:00
        # UTC) at 00:00 on 2 December.
        assert ids(since=dt.date(2026, 12, 2)) == [7]
        assert ids(until=dt.date(2026, 12, 1)) == [6, 5, 4, 3, 2, 1]
        assert ids(since=dt.date(2026, 12, 1), until=dt.date(2026, 12, 1)) == [6, 5, 4, 3, 2, 1]
        assert ids(until=dt.date(2026, 11, 30)) == []
        assert ids(since=T0 + dt.timedelta(hours=2), until=T0 + dt.timedelta(hours=4)) == [5, 4, 3]
        with pytest.raises(FilterError) as caught:
            audit_page(s, since=dt.date(2026, 12, 2), until=dt.date(2026, 12, 1))
        assert caught.value.zh == "时间范围的结束 2026-12-01 早于开始 2026-12-02"
        with pytest.raises(FilterError) as caught:
            audit_page(s, outcome="failed")
        assert caught.value.zh == "结果 'failed' 无效，应为：ok、refused"
        with pytest.raises(FilterError):
            audit_page(s, limit=0)


def test_the_audit_log_matches_its_model(engine):
    """The migration creates what the model describes (columns, keys, indexes)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ledger.models import Base

    def ours(name, type_, parent_names):
        return type_ != "table" or name == "audit_log"

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if "audit_log" in repr(d)] == []
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("audit_log")}
    assert indexes == {"ix_audit_log_at": ["at"], "ix_audit_log_actor": ["actor"]}
