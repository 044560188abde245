"""Posting throughput of the ledger, against a bare table, on SQLite and PostgreSQL.

A standalone script, not a test. For each engine it builds fresh books (a temporary SQLite
file; a scratch PostgreSQL database created beside the one in ``--postgresql`` and dropped
at the end), opens a few hundred leaf accounts, funds the must-not-go-negative ones, and
measures, ``--repeat`` times each:

bulk
    ``--postings`` postings in entries of 2 to 4 postings (seeded random, balanced),
    posted with ``run_in_transaction(factory, lambda s: post_entries(s, batch, actor=…))``
    in batches of ``--batch`` entries. Reported in postings/s.
concurrent
    ``--clients`` threads, each posting ``--per-client`` single entries of 2 postings with
    ``run_in_transaction(factory, lambda s: post_entry(s, draft, actor=…))``, each thread
    with its own sessions from one engine. Reported in entries/s.

Each is compared with a baseline in the same run: the same postings, as the same rows
(entry_id, account_id, side, amount, effective_date), written into a bare table with no
key, index, constraint or trigger, one transaction per batch (PostgreSQL: COPY; SQLite:
executemany), and for the concurrent case one transaction of two rows per "entry" from the
same number of threads. The medians and ledger/baseline ratios go to stdout as Markdown;
``--markdown FILE`` also writes them into FILE between two marker comments.

After the runs every entry must be sealed into the hash chain and ``verify`` must find no
problem; otherwise the script exits with status 1.

    python bench/posting.py                      # both engines
    python bench/posting.py --sqlite --repeat 1  # SQLite only, once
    python bench/posting.py --postgresql postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import sqlalchemy
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ledger import chain, chart, migrate
from ledger.accounts import AccountSpec, ensure_accounts
from ledger.db import make_engine, normalize_url, run_in_transaction, session_factory
from ledger.demo.city import BANKS, city_chart
from ledger.entries import EntryDraft, Leg, credit, debit, post_entries, post_entry
from ledger.models import Account, JournalEntry, Side
from ledger.verify import verify

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BULK_TARGET = 20_000  # postings/s
PG_CONCURRENT_TARGET = 1_000  # entries/s
BEGIN_MARK = "<!-- bench/posting.py results: begin -->"
END_MARK = "<!-- bench/posting.py results: end -->"
BARE_COLUMNS = ("entry_id", "account_id", "side", "amount", "effective_date")
FUNDING_FEN = 10_000_000_000_000  # per special account; far more than all runs draw
FIRST_DATE = dt.date(2026, 1, 5)
INTEREST_INCOME = chart.interest_income_account("city")

log = logging.getLogger("bench")


# ------------------------------------------------------------------------------- books


@dataclass(frozen=True)
class Loan:
    bank: str
    exposure: str
    contra: str
    receivable: str
    payable: str

    @property
    def special(self) -> str:
        return chart.special_account(self.bank)


def bench_chart(loans_per_bank: int) -> tuple[list[AccountSpec], list[Loan]]:
    """The demo city's chart plus four leaf accounts per loan: exposure pair, receivable,
    payable."""
    specs = city_chart()
    loans = []
    for bank, _name, _account_no in BANKS:
        for n in range(1, loans_per_bank + 1):
            ref = f"{bank}-B{n:04d}"
            loan = Loan(
                bank,
                f"{chart.exposure_account(bank)}:{ref}",
                f"{chart.EXPOSURE_CONTRA}:{ref}",
                f"{chart.RECEIVABLE}:{ref}",
                f"{chart.CLAIMS_PAYABLE}:{ref}",
            )
            specs += [
                AccountSpec(loan.exposure, f"在保责任-{ref}", loan=ref),
                AccountSpec(loan.contra, f"在保责任对方-{ref}", loan=ref),
                AccountSpec(loan.receivable, f"代偿应收-{ref}", bank=bank, loan=ref),
                AccountSpec(loan.payable, f"应付代偿-{ref}", bank=bank, loan=ref),
            ]
            loans.append(loan)
    return specs, loans


def funding_drafts() -> list[EntryDraft]:
    """Capital into the treasury, the treasury into each bank's special account."""
    total = FUNDING_FEN * len(BANKS)
    drafts = [
        EntryDraft(
            FIRST_DATE,
            "capital.allocation",
            (debit(chart.TREASURY, total), credit("capital:provincial", total)),
            "bench funding",
        )
    ]
    for bank, _name, _account_no in BANKS:
        drafts.append(
            EntryDraft(
                FIRST_DATE,
                "capital.placement",
                (
                    debit(chart.special_account(bank), FUNDING_FEN),
                    credit(chart.TREASURY, FUNDING_FEN),
                ),
                f"bench funding {bank}",
            )
        )
    return drafts


def _amount(rng: random.Random) -> int:
    return rng.randrange(100, 5_000_000)


def _entry(rng: random.Random, loans: Sequence[Loan], size: int) -> EntryDraft:
    """One balanced entry of ``size`` (2–4) postings; never overdraws (specials are funded)."""
    loan = rng.choice(loans)
    x, y = _amount(rng), _amount(rng)
    shape = rng.randrange(2)
    if size == 2:
        shape = rng.randrange(4)
        kind, legs = [
            ("loan.disbursement", (debit(loan.exposure, x), credit(loan.contra, x))),
            ("loan.repayment", (debit(loan.contra, x), credit(loan.exposure, x))),
            ("claim.payment", (debit(loan.receivable, x), credit(loan.special, x))),
            ("interest.deposit", (debit(loan.special, x), credit(INTEREST_INCOME, x))),
        ][shape]
    elif size == 3 and shape == 0:
        kind = "capital.topup"
        legs = (
            debit(loan.special, x + y),
            credit("capital:city", x),
            credit(INTEREST_INCOME, y),
        )
    elif size == 3:
        kind = "claim.partial"
        legs = (debit(loan.receivable, x + y), credit(loan.special, x), credit(loan.payable, y))
    elif shape == 0:
        kind = "claim.with-exposure"
        legs = (
            debit(loan.exposure, x),
            credit(loan.contra, x),
            debit(loan.receivable, y),
            credit(loan.special, y),
        )
    else:
        other = rng.choice([ln for ln in rng.sample(loans, 2) if ln is not loan] or loans)
        kind = "loan.transfer"
        legs = (
            debit(loan.exposure, x),
            credit(loan.contra, x),
            debit(other.contra, y),
            credit(other.exposure, y),
        )
    date = FIRST_DATE + dt.timedelta(days=rng.randrange(300))
    return EntryDraft(date, kind, legs, f"bench {kind} {loan.exposure.rsplit(':', 1)[1]}")


def bulk_drafts(rng: random.Random, loans: Sequence[Loan], postings: int) -> list[EntryDraft]:
    """Entries of 2–4 postings adding up to exactly ``postings`` postings."""
    drafts = []
    left = postings
    for _ in range(postings):  # bounded: every entry takes at least 2
        if left < 2:
            break
        sizes = [k for k in (2, 3, 4) if k <= left and left - k != 1]
        size = rng.choice(sizes)
        drafts.append(_entry(rng, loans, size))
        left -= size
    return drafts


def single_drafts(rng: random.Random, loans: Sequence[Loan], count: int) -> list[EntryDraft]:
    """Two-posting entries on per-loan accounts, none must-not-go-negative."""
    drafts = []
    for _ in range(count):
        loan = rng.choice(loans)
        x = _amount(rng)
        legs = rng.choice(
            [
                (debit(loan.exposure, x), credit(loan.contra, x)),
                (debit(loan.receivable, x), credit(loan.payable, x)),
            ]
        )
        date = FIRST_DATE + dt.timedelta(days=rng.randrange(300))
        drafts.append(EntryDraft(date, "loan.event", legs, "bench single"))
    return drafts


def chunks(items: Sequence, size: int) -> list[Sequence]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ------------------------------------------------------------------------- bare tables


class RowMaker:
    """Turns drafts into the rows a bare postings table receives, with made-up entry ids."""

    def __init__(self, account_ids: dict[str, int], iso_dates: bool):
        self.ids = account_ids
        self.iso = iso_dates
        self.next_entry = 1

    def rows(self, drafts: Sequence[EntryDraft]) -> list[tuple]:
        out = []
        for draft in drafts:
            date = draft.effective_date.isoformat() if self.iso else draft.effective_date
            for leg in draft.legs:
                out.append((self.next_entry, self.ids[leg.account], _side(leg), leg.amount, date))
            self.next_entry += 1
        return out


def _side(leg: Leg) -> str:
    return Side(leg.side).value


class Backend:
    """One engine's books plus its bare table."""

    name: str
    engine: Engine
    factory: sessionmaker[Session]

    def setup_bare(self) -> None: ...

    def bare_bulk(self, batches: Sequence[list[tuple]]) -> float: ...

    def bare_client(self) -> Callable[[Sequence[list[tuple]], threading.Barrier], None]: ...

    def bare_count(self) -> int: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class SqliteBackend(Backend):
    name = "SQLite"

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fl-bench-")
        self.path = Path(self.tmp.name) / "books.db"
        self.engine = make_engine(f"sqlite:///{self.path}")
        migrate.upgrade(self.engine)
        self.factory = session_factory(self.engine)

    def _connect(self) -> sqlite3.Connection:
        # The same settings the ledger's SQLite engine uses (see ledger/db.py).
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 60000")
        return conn

    def setup_bare(self) -> None:
        conn = self._connect()
        conn.execute(
            "CREATE TABLE bench_bare (entry_id INTEGER, account_id INTEGER, side VARCHAR(1), "
            "amount BIGINT, effective_date DATE)"
        )
        conn.close()

    def bare_bulk(self, batches):
        conn = self._connect()
        insert = f"INSERT INTO bench_bare ({', '.join(BARE_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
        start = time.perf_counter()
        for rows in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, rows)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed

    def bare_client(self):
        insert = (
            f"INSERT INTO bench_bare ({', '.join(BARE_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)"
        )

        def run(entries, barrier):
            conn = self._connect()
            try:
                barrier.wait()
                for rows in entries:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(insert, rows[0] + rows[1])
                    conn.execute("COMMIT")
            finally:
                conn.close()

        return run

    def bare_count(self) -> int:
        conn = self._connect()
        try:
            return conn.execute("SELECT count(*) FROM bench_bare").fetchone()[0]
        finally:
            conn.close()

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL, temporary file)"

    def close(self) -> None:
        drain_sealing(self.engine)
        self.engine.dispose()
        self.tmp.cleanup()


class PostgresBackend(Backend):
    name = "PostgreSQL"

    def __init__(self, server_url: str, clients: int):
        server = make_url(normalize_url(server_url))
        self.clients = clients
        self.engine = None
        self.db_name = f"fl_bench_{uuid.uuid4().hex[:12]}"
        self.admin = make_engine(
            server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        try:
            self._open(server)
        except BaseException:
            self.close()
            raise

    def _open(self, server) -> None:
        url = server.set(database=self.db_name)
        self.url = url.render_as_string(hide_password=False)
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.engine = make_engine(self.url, pool_size=self.clients + 2, max_overflow=self.clients)
        migrate.upgrade(self.engine)
        self.factory = session_factory(self.engine)
        with self.engine.connect() as conn:
            self.version = conn.execute(text("SHOW server_version")).scalar_one()
            self.settings = {
                name: conn.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("synchronous_commit", "fsync", "shared_buffers")
            }

    def setup_bare(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE bench_bare (entry_id bigint, account_id bigint, side varchar(1), "
                "amount bigint, effective_date date)"
            )

    def bare_bulk(self, batches):
        copy_sql = f"COPY bench_bare ({', '.join(BARE_COLUMNS)}) FROM STDIN"
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            start = time.perf_counter()
            for rows in batches:
                with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            return time.perf_counter() - start

    def bare_client(self):
        insert = (
            f"INSERT INTO bench_bare ({', '.join(BARE_COLUMNS)}) "
            "VALUES (%s, %s, %s, %s, %s), (%s, %s, %s, %s, %s)"
        )

        def run(entries, barrier):
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                barrier.wait()
                for rows in entries:
                    with conn.transaction():
                        conn.execute(insert, rows[0] + rows[1])

        return run

    def bare_count(self) -> int:
        with psycopg.connect(self.conninfo) as conn:
            return conn.execute("SELECT count(*) FROM bench_bare").fetchone()[0]

    def describe(self) -> str:
        s = self.settings
        return (
            f"PostgreSQL {self.version} (synchronous_commit={s['synchronous_commit']}, "
            f"fsync={s['fsync']}, shared_buffers={s['shared_buffers']}, scratch database)"
        )

    def close(self) -> None:
        if self.engine is not None:
            drain_sealing(self.engine)
            self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        self.admin.dispose()


# ------------------------------------------------------------------------ measurements


class RetryCounter(logging.Handler):
    """Counts the transactions ``run_in_transaction`` retried (it logs each at INFO)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.count = 0
        self.lock_ = threading.Lock()

    def emit(self, record):
        if "retried" in record.getMessage():
            with self.lock_:
                self.count += 1


@dataclass
class Measure:
    label: str
    unit: str
    ledger: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    target: float | None = None

    @property
    def ledger_median(self) -> float:
        return statistics.median(self.ledger)

    @property
    def bare_median(self) -> float:
        return statistics.median(self.bare)

    @property
    def ratio(self) -> float:
        return self.ledger_median / self.bare_median


@dataclass
class EngineResult:
    name: str
    description: str
    accounts: int
    bulk: Measure
    concurrent: Measure
    retries: int = 0
    entries: int = 0
    postings: int = 0
    verify_seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)


def run_threads(
    work: Callable[[int, threading.Barrier], None],
    clients: int,
    after: Callable[[], None] | None = None,
) -> tuple[float, list[BaseException]]:
    """Start ``clients`` threads, release them together, return the wall time until all end.

    ``after`` runs once they have ended, inside the timed window.
    """
    barrier = threading.Barrier(clients + 1)
    failures: list[BaseException] = []

    def target(i: int) -> None:
        try:
            work(i, barrier)
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        if not failures:
            raise
    start = time.perf_counter()
    for t in threads:
        t.join()
    if after is not None and not failures:
        after()
    return time.perf_counter() - start, failures


def drain_sealing(engine: Engine) -> None:
    """Wait for the ledger's background sealer, where it has one, to seal what was posted.

    Sealing is part of posting, so callers keep this inside the timed window.
    """
    drain = getattr(chain, "drain_sealer", None)
    if drain is not None and not drain(engine):
        log.warning("the ledger's sealer did not finish within its timeout")


def _post_one(factory: sessionmaker[Session], draft: EntryDraft, actor: str) -> None:
    run_in_transaction(factory, lambda s: post_entry(s, draft, actor=actor))


def ledger_clients(factory: sessionmaker[Session], per_client: Sequence[list[EntryDraft]]) -> float:
    """Each thread posts its drafts one entry per transaction; returns the wall time."""

    def client(i: int, barrier: threading.Barrier) -> None:
        actor = f"bench:client-{i}"
        barrier.wait()
        for draft in per_client[i]:
            _post_one(factory, draft, actor)

    engine = factory.kw["bind"]
    elapsed, failures = run_threads(client, len(per_client), after=lambda: drain_sealing(engine))
    if failures:
        raise failures[0]
    return elapsed


def bare_clients(backend: Backend, per_client: Sequence[list[list[tuple]]]) -> float:
    """Each thread writes its entries' two rows per transaction; returns the wall time."""
    run = backend.bare_client()
    elapsed, failures = run_threads(lambda i, barrier: run(per_client[i], barrier), len(per_client))
    if failures:
        raise failures[0]
    return elapsed


def bench_engine(backend: Backend, args, counter: RetryCounter) -> EngineResult:
    factory = backend.factory
    load = os.getloadavg()[0]
    specs, loans = bench_chart(args.loans_per_bank)
    run_in_transaction(factory, lambda s: ensure_accounts(s, specs))
    run_in_transaction(factory, lambda s: post_entries(s, funding_drafts(), actor="bench:setup"))
    drain_sealing(backend.engine)
    with factory() as s:
        account_ids = dict(s.execute(select(Account.code, Account.id)).all())
        leaves = s.scalar(select(func.count()).where(Account.is_group.is_(False)))
    backend.setup_bare()
    rows = RowMaker(account_ids, iso_dates=isinstance(backend, SqliteBackend))
    bulk = Measure("bulk", "postings/s", target=PG_BULK_TARGET)
    conc = Measure(f"{args.clients} clients", "entries/s", target=PG_CONCURRENT_TARGET)
    retries_before = counter.count
    expected_entries = 4  # the funding entries
    problems: list[str] = []
    for r in range(args.repeat):
        rng = random.Random(args.seed * 1000 + r)
        drafts = bulk_drafts(rng, loans, args.postings)
        postings = sum(len(d.legs) for d in drafts)
        batches = chunks(drafts, args.batch)
        start = time.perf_counter()
        for batch in batches:
            run_in_transaction(factory, lambda s, b=batch: post_entries(s, b, actor="bench:bulk"))
        drain_sealing(backend.engine)
        bulk.ledger.append(postings / (time.perf_counter() - start))
        expected_entries += len(drafts)
        bare_batches = [rows.rows(b) for b in batches]
        bulk.bare.append(postings / backend.bare_bulk(bare_batches))
        log.info(
            "%s bulk #%d: ledger %.0f, bare %.0f postings/s (%d entries, %d postings)",
            backend.name,
            r + 1,
            bulk.ledger[-1],
            bulk.bare[-1],
            len(drafts),
            postings,
        )

        per_client = [
            single_drafts(random.Random(args.seed * 1000 + r * 100 + i), loans, args.per_client)
            for i in range(args.clients)
        ]
        total = args.clients * args.per_client
        conc.ledger.append(total / ledger_clients(factory, per_client))
        expected_entries += total
        with factory() as s:
            unsealed = s.scalar(select(func.count()).where(JournalEntry.seq.is_(None)))
        if unsealed:
            problems.append(f"{unsealed} entries unsealed after client run #{r + 1}")
        bare_entries = [[rows.rows([d]) for d in drafts] for drafts in per_client]
        conc.bare.append(total / bare_clients(backend, bare_entries))
        log.info(
            "%s %d clients #%d: ledger %.0f, bare %.0f entries/s",
            backend.name,
            args.clients,
            r + 1,
            conc.ledger[-1],
            conc.bare[-1],
        )

    result = EngineResult(backend.name, backend.describe(), leaves, bulk, conc)
    result.retries = counter.count - retries_before
    result.load = (load, os.getloadavg()[0])
    start = time.perf_counter()
    with factory() as s:
        report = verify(s)
        unsealed = s.scalar(select(func.count()).where(JournalEntry.seq.is_(None)))
    result.verify_seconds = time.perf_counter() - start
    result.entries, result.postings = report.entries, report.postings
    result.problems = problems + list(report.problems[:10])
    result.unsealed = unsealed
    if unsealed:
        result.problems.append(f"{unsealed} entries are not sealed")
    if report.entries != expected_entries:
        result.problems.append(f"{report.entries} entries in the books, {expected_entries} posted")
    bare_expected = rows.next_entry - 1
    bare_rows = backend.bare_count()
    bare_postings = sum(len(d.legs) for d in funding_drafts())
    if bare_rows != report.postings - bare_postings:
        result.problems.append(
            f"bare table holds {bare_rows} rows for {bare_expected} entries; "
            f"the ledger holds {report.postings - bare_postings} postings"
        )
    log.info(
        "%s verify: %d entries, %d postings, %d problems, %.1f s",
        backend.name,
        report.entries,
        report.postings,
        len(report.problems),
        result.verify_seconds,
    )
    return result


# ----------------------------------------------------------------------------- output


def _num(x: float) -> str:
    return f"{x:,.0f}"


def render(results: Sequence[EngineResult], args, started: dt.datetime, code: str) -> str:
    lines = [
        f"Measured {started:%Y-%m-%d %H:%M} UTC with `bench/posting.py "
        f"--repeat {args.repeat} --postings {args.postings} --batch {args.batch} "
        f"--clients {args.clients} --per-client {args.per_client}` "
        f"(medians of {args.repeat} runs).",
        "",
        f"- Machine: {machine()}",
        f"- Ledger code: {code}",
        f"- Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"psycopg {psycopg.__version__}",
    ]
    lines += [f"- {r.description}; {r.accounts} postable accounts" for r in results]
    lines += [
        "",
        "| Engine | Measure | Ledger | Bare table | Ledger/bare | All ledger runs | Target |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in results:
        for m in (r.bulk, r.concurrent):
            target = ""
            if r.name == "PostgreSQL" and m.target is not None:
                met = "met" if m.ledger_median >= m.target else "**not met**"
                target = f"≥ {_num(m.target)}: {met}"
            runs = " / ".join(_num(x) for x in m.ledger)
            lines.append(
                f"| {r.name} | {m.label} ({m.unit}) | {_num(m.ledger_median)} | "
                f"{_num(m.bare_median)} | {m.ratio:.2f} | {runs} | {target} |"
            )
    lines.append("")
    for r in results:
        status = "no problems" if not r.problems else "PROBLEMS: " + "; ".join(r.problems)
        sealed = "all sealed" if not r.unsealed else f"{r.unsealed:,} NOT sealed"
        lines.append(
            f"- {r.name}: afterwards {r.entries:,} entries / {r.postings:,} postings, {sealed}; "
            f"`verify`: {status} ({r.verify_seconds:.1f} s); {r.retries} transaction retries; "
            f"1-minute load average before/after the {r.name} runs: "
            f"{r.load[0]:.2f} / {r.load[1]:.2f}."
        )
    return "\n".join(lines) + "\n"


def code_version() -> str:
    """The commit of the ledger code that was measured, with '+changes' for a dirty tree."""
    import ledger

    root = Path(ledger.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "ledger", "migrations"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    changes = " + uncommitted changes in ledger/ or migrations/" if dirty else ""
    return f"commit {commit}{changes}"


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({model or platform.machine()}), {platform.system()}"


def write_markdown(path: Path, block: str) -> None:
    """Replace the block between the markers in ``path``, or append it with the markers."""
    section = f"{BEGIN_MARK}\n{block}{END_MARK}\n"
    old = path.read_text() if path.exists() else ""
    if BEGIN_MARK in old and END_MARK in old:
        head, rest = old.split(BEGIN_MARK, 1)
        tail = rest.split(END_MARK, 1)[1].lstrip("\n")
        new = head + section + tail
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + section
    path.write_text(new)


# ------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sqlite", action="store_true", help="benchmark SQLite")
    p.add_argument("--postgresql", metavar="URL", help="benchmark PostgreSQL on this server")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    p.add_argument("--postings", type=int, default=100_000, help="postings per bulk run")
    p.add_argument("--batch", type=int, default=2_000, help="entries per bulk transaction")
    p.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    p.add_argument("--per-client", type=int, default=500, help="entries each client posts")
    p.add_argument("--loans-per-bank", type=int, default=40, help="loans per bank (4 accounts)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--markdown", "--write", metavar="FILE", help="also write results into FILE")
    args = p.parse_args(argv)
    if not args.sqlite and not args.postgresql:
        args.sqlite, args.postgresql = True, DEFAULT_PG_URL
    for name in ("repeat", "postings", "batch", "clients", "per_client", "loans_per_bank"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.postings < 2:
        p.error("--postings must be at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started, code = dt.datetime.now(dt.UTC), code_version()  # the code imported now
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    counter = RetryCounter()
    db_log = logging.getLogger("ledger.db")
    db_log.setLevel(logging.INFO)
    db_log.addHandler(counter)
    db_log.propagate = False
    makers: list[Callable[[], Backend]] = []
    if args.sqlite:
        makers.append(lambda: SqliteBackend())
    if args.postgresql:
        makers.append(lambda: PostgresBackend(args.postgresql, args.clients))
    results = []
    for make in makers:
        backend = make()
        try:
            results.append(bench_engine(backend, args, counter))
        finally:
            backend.close()
    block = render(results, args, started, code)
    print(block, end="")
    if args.markdown:
        write_markdown(Path(args.markdown), block)
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
