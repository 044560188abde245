"""Single-entry posting throughput from N client *processes* (a multi-worker deployment).

``bench/posting.py`` runs its concurrent clients as threads of one Python process, where
the GIL caps the client side. Here each client is a process with its own engine, as
gunicorn workers or separate uploads would be. Each run builds a fresh scratch
PostgreSQL database (or SQLite file), opens per-loan accounts, and has every client post
``--per-client`` two-posting entries through ``run_in_transaction``; the clock runs from
a common start until every client has posted and drained its sealer. Afterwards every
entry must be sealed and ``verify`` must find no problem. Prints the median entries/s.

    python bench/processes.py --postgresql postgresql://postgres@127.0.0.1:5432/test
    python bench/processes.py --sqlite --clients 8 --per-client 300 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from ledger import migrate
from ledger.accounts import AccountSpec, ensure_accounts
from ledger.chain import drain_sealer
from ledger.db import make_engine, normalize_url, run_in_transaction, session_factory
from ledger.demo.city import city_chart
from ledger.entries import EntryDraft, credit, debit, post_entry
from ledger.verify import verify

LOANS = 200


def _accounts() -> list[AccountSpec]:
    specs = city_chart()
    for n in range(LOANS):
        specs.append(AccountSpec(f"memo:exposure:ICBC:B{n}", f"在保责任-B{n}"))
        specs.append(AccountSpec(f"memo:exposure-contra:B{n}", f"在保责任对方-B{n}"))
    return specs


def _draft(client: int, k: int) -> EntryDraft:
    loan = (client * 37 + k) % LOANS
    fen = 100 + k
    return EntryDraft(
        dt.date(2025, 5, 1),
        "loan.disbursement",
        (
            debit(f"memo:exposure:ICBC:B{loan}", fen),
            credit(f"memo:exposure-contra:B{loan}", fen),
        ),
    )


def _client(url: str, client: int, count: int, barrier, results) -> None:
    engine = make_engine(url)
    factory = session_factory(engine)
    drafts = [_draft(client, k) for k in range(count + 1)]
    run_in_transaction(factory, lambda s: post_entry(s, drafts[0], actor="warm-up"))
    drain_sealer(engine)
    barrier.wait()
    for draft in drafts[1:]:
        run_in_transaction(factory, lambda s, d=draft: post_entry(s, d, actor=f"client{client}"))
    # Child processes leave through os._exit, which skips atexit: drain explicitly.
    drain_sealer(engine)
    results.put(time.perf_counter())
    engine.dispose()


def one_run(url: str, clients: int, per_client: int) -> float:
    engine = make_engine(url)
    migrate.upgrade(engine)
    run_in_transaction(session_factory(engine), lambda s: ensure_accounts(s, _accounts()))
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(clients + 1), ctx.Queue()
    procs = [
        ctx.Process(target=_client, args=(url, n, per_client, barrier, results))
        for n in range(clients)
    ]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    ends = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    rate = clients * per_client / (max(ends) - start)
    with session_factory(engine)() as session:
        report = verify(session)
    engine.dispose()
    if report.problems or report.unsealed or report.entries != clients * (per_client + 1):
        sys.exit(f"error: after the run: {report.problems[:3]}, {report.unsealed} unsealed")
    return rate


def _postgresql_runs(server: str, args) -> list[float]:
    server_url = make_url(normalize_url(server))
    admin = make_engine(
        server_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    rates = []
    try:
        for _ in range(args.repeat):
            name = f"fl_bench_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = server_url.set(database=name).render_as_string(hide_password=False)
                rates.append(one_run(url, args.clients, args.per_client))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
    return rates


def _sqlite_runs(args) -> list[float]:
    rates = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            rates.append(
                one_run(f"sqlite:///{Path(tmp) / 'books.db'}", args.clients, args.per_client)
            )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", metavar="URL")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.postgresql and not args.sqlite:
        args.postgresql = "postgresql://postgres@127.0.0.1:5432/test"
    runs = []
    if args.sqlite:
        runs.append(("SQLite", _sqlite_runs(args)))
    if args.postgresql:
        runs.append(("PostgreSQL", _postgresql_runs(args.postgresql, args)))
    print(f"| Engine | {args.clients} client processes (entries/s, median) | All runs |")
    print("|---|---:|---|")
    for engine, rates in runs:
        shown = " / ".join(f"{r:,.0f}" for r in rates)
        print(f"| {engine} | {statistics.median(rates):,.0f} | {shown} |")


if __name__ == "__main__":
    main()
