"""Benchmark: a partner bank's 100,000-row repayment file (GBK CSV) over the demo city
scaled to 100,000 loans, parsed, checked and posted end to end by ``import_file``;
and a plain COPY of the same rows into a bare table, measured in the same run.

    python bench/import.py --sqlite --postgresql postgresql://postgres@127.0.0.1:5432/test

The demo city is built once per engine (``fundledger init --demo --loans 100000``,
3 min on SQLite, 10 min on PostgreSQL) and kept under ``--work`` (SQLite) or as a
template database (PostgreSQL); every run imports into a fresh copy of it. Targets on
a 2-core machine: ≤ 5 s on PostgreSQL, ≤ 15 s on SQLite; peak memory ≤ 300 MB for a
1,000,000-row file (``--memory-rows``, measured in a child process).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger import migrate  # noqa: E402
from ledger.chain import drain_sealer  # noqa: E402
from ledger.db import make_engine, normalize_url, session_factory  # noqa: E402

BANK = "ICBC"
ACTOR = "icbc.liu"
TODAY = dt.date(2026, 11, 30)
HEADER = [
    "银行流水号",
    "贷款合同号",
    "身份证号",
    "还款日期",
    "归还本金",
    "归还利息",
    "罚息",
    "本金余额",
]
CITY_LOANS = 100_000
TEMPLATE = "fl_bench_city100k"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ the demo city


def sqlite_city(work: Path) -> Path:
    city = work / "city100k.db"
    if not city.exists():
        log(f"building the demo city ({CITY_LOANS:,} loans) on SQLite: about 3 minutes")
        build(f"sqlite:///{city}")
    return city


def pg_city(server: str) -> None:
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": TEMPLATE})
        if not exists:
            log(f"building the demo city ({CITY_LOANS:,} loans) on PostgreSQL: about 10 minutes")
            conn.execute(text(f'CREATE DATABASE "{TEMPLATE}"'))
    admin.dispose()
    if not exists:
        build(_db(server, TEMPLATE))


def build(url: str) -> None:
    from ledger.demo.city import build_fund_demo

    engine = make_engine(url)
    migrate.upgrade(engine)
    build_fund_demo(session_factory(engine), seed=2026, loans=CITY_LOANS)
    drain_sealer(engine)
    engine.dispose()


def _db(server: str, name: str) -> str:
    return make_url(normalize_url(server)).set(database=name).render_as_string(hide_password=False)


def fresh_copy(engine_name: str, work: Path, server: str | None, n: int) -> str:
    if engine_name == "sqlite":
        target = work / f"run{n}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(sqlite_city(work), target)
        url = f"sqlite:///{target}"
    else:
        name = f"fl_bench_run{n}"
        admin = make_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
        admin.dispose()
        url = _db(server, name)
    engine = make_engine(url)
    migrate.upgrade(engine)  # the city may predate the newest migration
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return url


# ------------------------------------------------------------------------ the file


def write_file(url: str, path: Path, rows: int) -> dict:
    """A GBK repayment file of ``rows`` rows over the bank's active loans: each loan
    repaid in a few small instalments after its last payment, balances consistent."""
    engine = make_engine(url)
    with engine.connect() as conn:
        loans = conn.execute(
            text(
                "SELECT l.contract_no, l.principal - l.repaid_principal, b.id_number, "
                "coalesce(l.last_paid_on, l.disbursed_on) FROM loans l "
                "JOIN borrowers b ON b.id = l.borrower_id "
                "WHERE l.bank_code = :bank AND l.status = 'active' ORDER BY l.id"
            ),
            {"bank": BANK},
        ).all()
    engine.dispose()
    per_loan = -(-rows // len(loans))
    outstanding = {c: out for c, out, _, _ in loans}
    written, principal_total = 0, 0
    with open(path, "w", encoding="gbk", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        # Instalment k of every loan, then k+1: a loan's rows are spread over the file.
        for k in range(per_loan):
            for contract, _, id_number, last in loans:
                if written == rows:
                    break
                last = dt.date.fromisoformat(str(last))
                paid_on = max(last, TODAY - dt.timedelta(days=per_loan - k))
                principal = min(outstanding[contract] // (per_loan * 2), 5_000_00)
                outstanding[contract] -= principal
                principal_total += principal
                out.writerow(
                    [
                        f"BR{written + 1:09d}", contract, id_number,
                        paid_on.strftime("%Y年%m月%d日"), _yuan(principal), "12.50", "",
                        _yuan(outstanding[contract]),
                    ]
                )  # fmt: skip
                written += 1
    return {"rows": written, "loans": len(loans), "principal": principal_total}


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


# ------------------------------------------------------------------------ the measures


def run_import(url: str, path: Path) -> tuple[float, dict]:
    from ledger.bankfiles.imports import gc_paused, import_file

    engine = make_engine(url)
    factory = session_factory(engine)
    start = time.perf_counter()
    with gc_paused():  # as `fundledger import` runs it, in a process of its own
        receipt = import_file(
            factory, bank=BANK, kind="repayment", path=path, actor=ACTOR, today=TODAY
        )
    drain_sealer(engine)
    seconds = time.perf_counter() - start
    engine.dispose()
    if receipt.status != "accepted":
        raise SystemExit(f"import was {receipt.status}: {receipt.message or receipt.errors}")
    return seconds, {
        "rows": receipt.rows,
        "posted": receipt.posted,
        "entries": len(receipt.entry_ids),
    }


def run_copy(url: str, path: Path) -> float:
    """Read the same file and load its rows as they are into a bare table."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("DROP TABLE IF EXISTS bench_bare_rows")
        cur.execute(
            "CREATE TABLE bench_bare_rows (bank_ref text, contract_no text, id_number text, "
            "paid_on text, principal text, interest text, penalty text, balance_after text)"
        )
        raw.commit()
        start = time.perf_counter()
        with open(path, encoding="gbk", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            if engine.dialect.name == "postgresql":
                with cur.copy("COPY bench_bare_rows FROM STDIN") as copy:
                    for row in reader:
                        copy.write_row(row)
            else:
                cur.execute("BEGIN")
                cur.executemany("INSERT INTO bench_bare_rows VALUES (?,?,?,?,?,?,?,?)", reader)
        raw.commit()
        seconds = time.perf_counter() - start
    finally:
        raw.close()
        engine.dispose()
    return seconds


def peak_memory(url: str, path: Path) -> int:
    """Peak RSS (bytes) of a child process importing ``path``: its own high-water mark
    from ``/proc/self/status`` where there is one, else ``wait4``'s."""
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); from bench_import_child import main; main()"
    env = os.environ | {"BENCH_URL": url, "BENCH_FILE": str(path)}
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE)
    out = child.stdout.read().decode()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"the child import failed ({child.returncode}): {out}")
    lines = out.strip().splitlines()
    log("\n".join(line for line in lines if not line.startswith("peak_kb=")))
    for line in lines:
        if line.startswith("peak_kb="):  # the child's own figure (see bench_import_child)
            return int(line.removeprefix("peak_kb=")) * 1024
    return usage.ru_maxrss * 1024  # kilobytes on Linux


def bench(engine_name: str, args, server: str | None) -> dict:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if engine_name == "sqlite":
        sqlite_city(work)
    else:
        pg_city(server)
    imports, copies, shapes = [], [], None
    for n in range(args.repeat):
        url = fresh_copy(engine_name, work, server, n)
        path = work / f"{BANK}_repayment_20261130_{n + 1}.csv"
        shape = write_file(url, path, args.rows)
        copies.append(run_copy(url, path))
        seconds, receipt = run_import(url, path)
        imports.append(seconds)
        shapes = shape | receipt | {"bytes": path.stat().st_size}
        log(f"{engine_name} run {n + 1}: import {seconds:.2f} s, copy {copies[-1]:.3f} s")
    result = {
        "engine": engine_name,
        "import_s": statistics.median(imports),
        "copy_s": statistics.median(copies),
        "runs": imports,
        "file": shapes,
    }
    result["ratio"] = result["import_s"] / result["copy_s"]
    if args.memory_rows:
        url = fresh_copy(engine_name, work, server, 99)
        path = work / f"{BANK}_repayment_20261130_big.csv"
        big = write_file(url, path, args.memory_rows)
        result["memory"] = {"rows": big["rows"], "peak_bytes": peak_memory(url, path)}
        peak = result["memory"]["peak_bytes"] / 2**20
        log(f"{engine_name} {big['rows']:,} rows: peak RSS {peak:.0f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--postgresql", metavar="URL")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-rows", type=int, default=0, help="e.g. 1000000")
    parser.add_argument("--work", default=str(ROOT / "instance" / "bench"))
    parser.add_argument("--json", metavar="FILE", help="Write the results as JSON.")
    args = parser.parse_args()
    results = []
    if args.sqlite:
        results.append(bench("sqlite", args, None))
    if args.postgresql:
        results.append(bench("postgresql", args, normalize_url(args.postgresql)))
    for r in results:
        line = (
            f"{r['engine']}: {r['file']['rows']:,} rows, import median {r['import_s']:.2f} s "
            f"(runs {', '.join(f'{s:.2f}' for s in r['runs'])}), plain COPY {r['copy_s']:.3f} s, "
            f"ratio {r['ratio']:.1f}×"
        )
        if "memory" in r:
            m = r["memory"]
            line += f"; {m['rows']:,}-row file peak RSS {m['peak_bytes'] / 2**20:.0f} MB"
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
