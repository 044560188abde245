"""Benchmark: loan-level reconciliation of the partner banks' whole balances files over
the demo city scaled to 100,000 loans.

    python bench/recon.py --postgresql postgresql://postgres@127.0.0.1:5432/fl_bench_recon
    python bench/recon.py --sqlite instance/city100k.db

The database must already hold the city (``fundledger init --demo --loans 100000``,
10 min on PostgreSQL). For two dates — the books' last business day (the last repayment:
the daily case, a file reconciled on the day it comes) and the last disbursement, a week
earlier (a late reconciliation: a fifth of the loans have repayments after it) — the
script writes one balances file for every bank from the fund's own figures (with the
demo's planted differences: ``ledger.demo.recon_files``), imports them (once; an import
already accepted is reused) and times ``reconcile_balances`` over the three files
together, ``--repeat`` times, in a transaction rolled back each time, once every loan's
installments and their states are stored (``ledger.fund.dues``; the time that takes,
once, is printed too). Target (issue): ≤ 2 s on PostgreSQL for 100,000 rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from ledger.bankfiles.imports import import_file  # noqa: E402
from ledger.bankfiles.models import BankFileImport  # noqa: E402
from ledger.db import make_engine, normalize_url, session_factory  # noqa: E402
from ledger.demo.recon_files import write_balances  # noqa: E402
from ledger.fund.dues import ensure_dues, overdue_positions  # noqa: E402
from ledger.fund.models import Bank, Loan  # noqa: E402
from ledger.principal import SYSTEM  # noqa: E402
from ledger.recon.balances import reconcile_balances  # noqa: E402


def prepare(factory, folder: Path, as_of) -> tuple[list[int], int]:
    """The accepted balances imports of every bank on ``as_of``."""
    with factory() as s:
        banks = list(s.scalars(select(Bank.code).order_by(Bank.code)))
        done = list(
            s.scalars(
                select(BankFileImport.id).where(
                    BankFileImport.kind == "balances", BankFileImport.status == "accepted",
                    BankFileImport.file_name.like(f"BENCH_%_{as_of:%Y%m%d}.csv"),
                )
            )
        )  # fmt: skip
    if done:
        ids = done
    else:
        ids = []
        for bank in banks:
            path = folder / f"BENCH_{bank}_balances_{as_of:%Y%m%d}.csv"
            with factory() as s:
                write_balances(s, bank, as_of, path)
            receipt = import_file(factory, kind="balances", path=path, bank=bank, actor=SYSTEM)
            assert receipt.status == "accepted", receipt
            ids.append(receipt.id)
    with factory() as s:
        rows = s.scalar(select(func.sum(BankFileImport.rows)).where(BankFileImport.id.in_(ids)))
    return ids, int(rows or 0)


def run(url: str, repeat: int) -> None:
    engine = make_engine(normalize_url(url))
    factory = session_factory(engine)
    with factory() as s:
        last_repayment = s.scalar(select(func.max(Loan.last_paid_on)))
        last_disbursement = s.scalar(select(func.max(Loan.disbursed_on)))
    for label, as_of in (("last business day", last_repayment),
                         ("a week earlier", last_disbursement)):  # fmt: skip
        measure(engine, factory, label, as_of, repeat)


def measure(engine, factory, label: str, as_of, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ids, rows = prepare(factory, Path(tmp), as_of)
    with factory() as s:
        started = time.perf_counter()
        written = ensure_dues(s, s.scalars(select(Loan.id)).all())
        s.commit()
        warm = time.perf_counter() - started
        started = time.perf_counter()
        overdue_positions(s, as_of)
        s.commit()
        states = time.perf_counter() - started
    print(f"{engine.dialect.name}: installments stored for {written:,} loans in {warm:.2f} s; "
          f"their states (first unpaid installment) in {states:.2f} s")  # fmt: skip
    times = []
    for _ in range(repeat):
        with factory() as s:
            started = time.perf_counter()
            results = [reconcile_balances(s, i, actor=SYSTEM) for i in ids]
            times.append(time.perf_counter() - started)
            s.rollback()
    breaks = sum(len(r.findings) for r in results)
    print(
        f"{engine.dialect.name}, as of {as_of} ({label}): {rows:,} balance rows of "
        f"{len(ids)} banks, {breaks} breaks; "
        f"reconcile median {statistics.median(times):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", help="URL of a database holding the 100k city")
    parser.add_argument("--sqlite", help="path of an SQLite file holding the 100k city")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.postgresql:
        run(args.postgresql, args.repeat)
    if args.sqlite:
        run(f"sqlite:///{args.sqlite}", args.repeat)


if __name__ == "__main__":
    main()
