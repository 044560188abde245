"""A special-account entry is matched to one statement line only: once a file's line has
taken it, another file's line of the same amount and day finds nothing (and is a break),
while the first file matched again keeps it."""

from __future__ import annotations

from sqlalchemy import select

from ledger.bankfiles import imports
from ledger.db import run_in_transaction
from ledger.fund import capital
from ledger.principal import SYSTEM
from ledger.recon.models import ReconMatch
from ledger.recon.statement import reconcile_statement
from tests.fund.conftest import PLACED, D, run, setup_fund

HEADER = "交易日期,银行流水号,借贷方向,金额,余额,摘要\n"


def _file(path, opening, lines):
    balance, rows = opening, []
    for on, ref, direction, fen, memo in lines:
        balance += fen if direction == "C" else -fen
        rows.append(f"{on},{ref},{direction},{fen / 100:.2f},{balance / 100:.2f},{memo}\n")
    path.write_text(HEADER + "".join(rows), "utf-8")
    return path


def _import(factory, path):
    r = imports.import_file(factory, bank="ICBC", kind="statement", path=path, actor=SYSTEM)
    assert r.status == "accepted", r
    return r.id


def _found(result):
    return sorted((f.type, f.ref, f.bank_figure, f.as_of) for f in result.findings)


def test_an_entry_taken_by_one_files_line_is_not_matched_by_another(factory, tmp_path):
    setup_fund(factory)

    def movements(s):
        interest = capital.record_deposit_interest(
            s, "ICBC", 123_456, D(2025, 3, 21), "INT-1", actor="clerk"
        )
        placed = capital.place_capital(s, "ICBC", 10_000_000, D(2025, 3, 24), actor="clerk")
        back = capital.withdraw_capital(s, "ICBC", 5_000_000, D(2025, 3, 25), actor="clerk")
        return interest.entry_id, placed, back

    interest, placed, back = run(factory, movements)
    opening = PLACED["ICBC"]
    first = _import(
        factory,
        _file(
            tmp_path / "ICBC_statement_a.csv", opening,
            [("2025-03-21", "INT-1", "C", 123_456, "利息"),
             ("2025-03-24", "A-0001", "C", 10_000_000, "转账"),
             ("2025-03-25", "A-0002", "D", 5_000_000, "转账")],
        ),
    )  # fmt: skip
    # The bank's second file books the same two movements again, under other references.
    second = _import(
        factory,
        _file(
            tmp_path / "ICBC_statement_b.csv", opening + 123_456,
            [("2025-03-24", "B-0001", "C", 10_000_000, "转账"),
             ("2025-03-25", "B-0002", "D", 5_000_000, "转账")],
        ),
    )  # fmt: skip

    # Before any file has taken them, the second file's lines match the entries by amount.
    with factory() as s:
        alone = reconcile_statement(s, second, actor=SYSTEM)
        s.rollback()
    assert alone.matched == {"reference": 0, "amount": 2, "sum": 0}
    assert alone.findings == ()

    a = run_in_transaction(factory, lambda s: reconcile_statement(s, first, actor=SYSTEM))
    assert a.matched == {"reference": 1, "amount": 2, "sum": 0}
    assert a.findings == ()

    b = run_in_transaction(factory, lambda s: reconcile_statement(s, second, actor=SYSTEM))
    assert b.matched == {"reference": 0, "amount": 0, "sum": 0}
    assert _found(b) == [
        ("missing_in_fund", "B-0001", 10_000_000, D(2025, 3, 24)),
        ("missing_in_fund", "B-0002", -5_000_000, D(2025, 3, 25)),
    ]

    # The first file reconciled again keeps its own matches.
    again = run_in_transaction(factory, lambda s: reconcile_statement(s, first, actor=SYSTEM))
    assert again.matched == {"reference": 1, "amount": 2, "sum": 0}
    assert again.findings == ()
    with factory() as s:
        taken = s.execute(
            select(ReconMatch.entry_id, ReconMatch.how).order_by(ReconMatch.entry_id)
        ).all()
    assert [tuple(t) for t in taken] == [
        (interest, "reference"), (placed, "amount"), (back, "amount"),
    ]  # fmt: skip
