"""Migration 0015 (receipts without a bank, for the bureau's lists) on a database that
holds receipts of every kind and status: down and up again, every receipt a bank's file
left keeps its error lines, entries and stored lines, the references to the receipts hold,
and both kinds of file are still taken once and only once."""

from __future__ import annotations

from sqlalchemy import func, inspect, select, text

from ledger import migrate
from ledger.bankfiles.imports import import_file
from ledger.bankfiles.models import (
    BankBalanceLine,
    BankFileError,
    BankFileImport,
    BankFileImportEntry,
    BankStatementLine,
)
from ledger.chain import drain_sealer
from ledger.fund.identity import make_resident_id
from ledger.fund.models import Borrower
from tests.bankfiles.conftest import FILES, TODAY, do_import, verify_ok
from tests.fund.conftest import D

CHILDREN = (BankFileError, BankFileImportEntry, BankBalanceLine, BankStatementLine)


def stored(factory) -> dict:
    """Every receipt (id, bank, kind, status, duplicate of) and the rows that refer to one."""
    with factory() as s:
        receipts = s.execute(
            select(
                BankFileImport.id, BankFileImport.bank_code, BankFileImport.kind,
                BankFileImport.status, BankFileImport.duplicate_of_id,
            ).order_by(BankFileImport.id)
        ).all()  # fmt: skip
        lines = {
            model.__tablename__: s.execute(
                select(model.import_id, func.count())
                .group_by(model.import_id)
                .order_by(model.import_id)
            ).all()
            for model in CHILDREN
        }
    return {"receipts": receipts, **lines}


def bureau(factory, kind, name, actor):
    return import_file(factory, kind=kind, path=FILES / name, actor=actor, today=TODAY)


def test_down_and_up_again_keeps_every_bank_receipt_and_its_references(city, engine, tmp_path):
    banks = [
        do_import(city, "disbursement", "icbc_disbursement_gbk.csv"),  # entries
        do_import(city, "disbursement", "icbc_disbursement_gbk.csv"),  # its duplicate
        do_import(city, "repayment", "icbc_repayment_dirty.csv"),  # error lines
        do_import(city, "balances", "icbc_balances_0630.csv"),  # stored lines
        do_import(city, "statement", "icbc_statement_0630_gbk.csv"),
    ]
    assert [r.status for r in banks] == [
        "accepted", "duplicate", "rejected", "accepted", "accepted",
    ]  # fmt: skip
    only_banks = stored(city)
    lists = [
        bureau(city, "borrowers", "bureau_borrowers_3_bad.csv", "clerk"),
        bureau(city, "borrowers", "bureau_borrowers_200_gbk.csv", "clerk"),
        bureau(city, "borrowers", "bureau_borrowers_200_gbk.csv", "clerk"),
        bureau(city, "guarantees", "bureau_guarantees.csv", "approver"),
    ]
    assert [r.status for r in lists] == ["rejected", "accepted", "duplicate", "accepted"]
    with_lists = stored(city)
    assert len(with_lists["receipts"]) == 9
    assert drain_sealer(engine)

    try:
        migrate.downgrade(engine, "0014")
        # The older table has no room for a receipt without a bank: the lists' receipts
        # go, with their error lines and entries; what they registered stays.
        assert stored(city) == only_banks
        _references_hold(engine)
    finally:
        migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert stored(city) == only_banks
    _references_hold(engine)

    # Both kinds are taken again, and once: the accepted disbursement file is still
    # known, and a new list is accepted, then recognised.
    again = do_import(city, "disbursement", "icbc_disbursement_gbk.csv")
    assert (again.status, again.duplicate_of) == ("duplicate", banks[0].id)
    newcomer = make_resident_id("110105", D(1995, 9, 9), 1, "F")
    path = tmp_path / "one_more.csv"
    path.write_text(f"借款人姓名,身份证号,区县\n钱小梅,{newcomer},D03\n", encoding="utf-8")
    first, second = (
        import_file(city, kind="borrowers", path=path, actor="clerk", today=TODAY) for _ in range(2)
    )
    assert (first.status, first.bank, first.posted) == ("accepted", None, 1)
    assert (second.status, second.duplicate_of) == ("duplicate", first.id)
    with city() as s:
        assert s.scalar(select(func.count()).select_from(Borrower)) == 14 + 200 + 1
    verify_ok(city)


def _references_hold(engine) -> None:
    """Every table that refers to the receipts still does, and no reference points nowhere;
    on SQLite, the connections the migration used have their foreign keys on again."""
    inspector = inspect(engine)
    for model in CHILDREN:
        targets = {
            (fk["referred_table"], tuple(fk["constrained_columns"]))
            for fk in inspector.get_foreign_keys(model.__tablename__)
        }
        assert ("bank_file_imports", ("import_id",)) in targets, model.__tablename__
    own = {
        (fk["referred_table"], tuple(fk["constrained_columns"]))
        for fk in inspector.get_foreign_keys("bank_file_imports")
    }
    assert own == {("banks", ("bank_code",)), ("bank_file_imports", ("duplicate_of_id",))}
    if engine.dialect.name == "sqlite":
        # Every connection the pool holds, the migration's among them, at once.
        connections = [engine.connect() for _ in range(max(engine.pool.checkedin(), 1))]
        try:
            for conn in connections:
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connections[0].execute(text("PRAGMA foreign_key_check")).all() == []
        finally:
            for conn in connections:
                conn.close()
