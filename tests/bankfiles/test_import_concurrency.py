"""Two uploads at the same moment (PostgreSQL: real concurrent sessions). The same file
twice: exactly one is accepted and the other is its duplicate, and everything is posted
once — a bank's file and the bureau's list alike. Two different files sharing a row: both
accepted, the shared row posted once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from ledger.bankfiles.imports import import_file
from ledger.bankfiles.models import BankBalanceLine, BankStatementLine
from ledger.chain import drain_sealer
from ledger.fund.models import Borrower, Loan, Repayment
from tests.bankfiles.conftest import FILES, TODAY, verify_ok
from tests.fund.conftest import setup_fund


def at_once(factory, uploads: list[tuple[str, str, str]], bank: str | None = "ICBC") -> list:
    """Run the uploads ``(kind, file, actor)`` in threads released together; returns
    their receipts in the order given."""
    barrier = threading.Barrier(len(uploads))
    receipts: list = [None] * len(uploads)
    failures: list[str] = []

    def upload(n, kind, name, actor):
        barrier.wait()
        try:
            receipts[n] = import_file(
                factory, bank=bank, kind=kind, path=FILES / name, actor=actor, today=TODAY
            )
        except Exception as exc:  # reported below, with the thread's receipt missing
            failures.append(repr(exc))

    threads = [threading.Thread(target=upload, args=(n, *u)) for n, u in enumerate(uploads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    return receipts


def counts(factory) -> dict[str, int]:
    with factory() as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model))
            for model in (Loan, Repayment, BankBalanceLine, BankStatementLine)
        }


@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    ("kind", "name", "posted", "table"),
    [
        ("disbursement", "icbc_disbursement_gbk.csv", 3, "loans"),
        ("repayment", "icbc_repayment_bom.csv", 6, "repayments"),
        ("balances", "icbc_balances_0630.csv", 4, "bank_balance_lines"),
        ("statement", "icbc_statement_0630_gbk.csv", 5, "bank_statement_lines"),
    ],
)
def test_the_same_file_twice_at_once_is_accepted_once(city, kind, name, posted, table):
    before = counts(city)
    first, second = at_once(city, [(kind, name, "icbc"), (kind, name, "clerk")])
    accepted, duplicate = sorted((first, second), key=lambda r: r.status)
    assert (accepted.status, duplicate.status) == ("accepted", "duplicate")
    assert duplicate.duplicate_of == accepted.id
    assert (accepted.posted, duplicate.posted, duplicate.entry_ids) == (posted, 0, ())
    after = counts(city)
    assert after[table] == before[table] + posted
    assert {k: v for k, v in after.items() if k != table} == {
        k: v for k, v in before.items() if k != table
    }
    assert drain_sealer(city.kw["bind"])
    verify_ok(city)


@pytest.mark.postgresql_only
def test_two_files_sharing_a_row_at_once_post_it_once(city):
    # GH2025-0004 is in both files, with the same content.
    one, two = at_once(
        city,
        [
            ("disbursement", "icbc_disbursement_gbk.csv", "icbc"),
            ("disbursement", "icbc_disbursement_more.csv", "clerk"),
        ],
    )
    assert (one.status, two.status) == ("accepted", "accepted")
    assert one.posted + two.posted == 4
    assert one.skipped + two.skipped == 1
    with city() as s:
        contracts = s.scalars(select(Loan.contract_no).order_by(Loan.contract_no)).all()
    assert [c for c in contracts if c.startswith("GH2025-000")] == [
        f"GH2025-000{n}" for n in range(1, 8)
    ]
    assert drain_sealer(city.kw["bind"])
    verify_ok(city)


@pytest.mark.postgresql_only
def test_the_same_bureau_list_twice_at_once_registers_once(factory):
    # No bank: the bureau's accepted lists have their own unique key (kind, SHA-256).
    setup_fund(factory)
    name = "bureau_borrowers_200_gbk.csv"
    first, second = at_once(
        factory, [("borrowers", name, "clerk"), ("borrowers", name, "clerk2")], None
    )
    accepted, duplicate = sorted((first, second), key=lambda r: r.status)
    assert (accepted.status, duplicate.status) == ("accepted", "duplicate")
    assert (accepted.bank, duplicate.bank, duplicate.duplicate_of) == (None, None, accepted.id)
    assert (accepted.posted, duplicate.posted, duplicate.skipped) == (200, 0, 200)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Borrower)) == 200
