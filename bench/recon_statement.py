"""Benchmark: matching a partner bank's 10,000-line special-account statement (专户对账单)
against the fund's postings on that account.

    python bench/recon_statement.py --postgresql postgresql://postgres@127.0.0.1:5432/fl_bench_stmt
    python bench/recon_statement.py --sqlite instance/bench_stmt.db

Each engine gets a database of its own, built once and reused by later runs (``--rebuild``
starts it again): on PostgreSQL the database named in the URL (created if missing), on
SQLite the file named. The build plays a year of movements on ICBC's special account of
the city fund through the fund's operations, in date order, a thousand operations a
transaction, and the books must then pass ``verify``:

- deposit interest credited by the bank (``capital.record_deposit_interest``, its key
  carrying the bank's 流水号): matched by reference;
- placements and withdrawals (``capital.place_capital``, ``capital.withdraw_capital``),
  each one line of the statement: matched by amount, most on the day, some booked by the
  bank one to three days later, a few pairs of equal amounts two days apart (the nearest
  date wins);
- days whose two to four placements or withdrawals the bank books as one line: matched
  many to one;
- planted on the last day: deposit interest the fund has not recorded, a bank charge, a
  placement the bank has not booked yet, and an interest line whose amount differs from
  the fund's record.

The statement file (the same seed gives the same file) is imported with
``ledger.bankfiles.imports.import_file`` (once; an accepted import of it is reused), and
``ledger.recon.statement.reconcile_statement`` is timed ``--repeat`` times, each in a
transaction rolled back afterwards. Every run must find exactly what the plan says:
the matches by each rule, every planted break, and the closing balances that differ
(days on which a posting waits for the bank's later booking). Target: ≤ 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import case, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from ledger import chart, migrate  # noqa: E402
from ledger.bankfiles.imports import import_file  # noqa: E402
from ledger.bankfiles.models import BankFileImport  # noqa: E402
from ledger.chain import drain_sealer  # noqa: E402
from ledger.db import make_engine, normalize_url, run_in_transaction, session_factory  # noqa: E402
from ledger.fund import capital, reference  # noqa: E402
from ledger.fund.models import Bank  # noqa: E402
from ledger.fund.reference import SYSTEM  # noqa: E402
from ledger.models import Account, Posting  # noqa: E402
from ledger.money import fen_to_yuan  # noqa: E402
from ledger.recon.models import ReconMatch  # noqa: E402
from ledger.recon.statement import WINDOW_DAYS, reconcile_statement  # noqa: E402
from ledger.verify import verify  # noqa: E402

BANK, BANK_NO = "ICBC", "1202020129900012345"
#: Capital received before the statement (fen): 200 million yuan in all.
CAPITAL = {"provincial": 12_000_000_000, "city": 6_000_000_000, "other": 2_000_000_000}
#: Placed at the bank before the statement starts (fen): 100 million yuan.
OPENING_PLACEMENT = 10_000_000_000
RECEIVED_ON, PLACED_ON = dt.date(2024, 12, 2), dt.date(2024, 12, 20)
#: The statement's days (weekdays of 2025).
START, END = dt.date(2025, 1, 2), dt.date(2025, 12, 31)
INTEREST_LINES = 6_000
SINGLE_LINES = 3_850
SUM_LINES = 150
SHIFTED = 100  # single lines the bank books 1-3 days after the fund
EQUAL_PAIRS = 20  # pairs of equal single amounts two days apart
#: Operations per transaction while building.
BATCH = 1_000
FILE_NAME = "BENCH_STMT_ICBC_2025.csv"
#: Planted on END.
UNRECORDED_INTEREST, BANK_CHARGE, INTEREST_TYPO = 12_345, 1_200, 100


@dataclass
class Move:
    """One movement on the special account and how the bank's statement shows it."""

    on: dt.date
    kind: str  # interest | place | withdraw
    amount: int  # fen, positive
    ref: str = ""  # interest: the bank's 流水号
    booked_on: dt.date | None = None  # the statement line's date (None: not on it)
    group: int | None = None  # many-to-one: the line that sums its group

    @property
    def signed(self) -> int:  # + into the account, - out of it
        return -self.amount if self.kind == "withdraw" else self.amount


@dataclass
class Line:
    booked_on: dt.date
    ref: str
    signed: int
    memo: str


@dataclass
class Plan:
    moves: list[Move] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)


def _weekdays(start: dt.date, end: dt.date) -> list[dt.date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def make_plan(seed: int) -> Plan:
    """The movements, the statement's lines and what reconciling them must find."""
    rng = random.Random(seed)
    days = _weekdays(START, END)
    body = days[:-1]  # END holds the planted lines only, besides its own movements
    plan = Plan()
    used: set[int] = set()

    def unique_amount() -> int:
        while True:
            fen = rng.randrange(100_000, 10_000_000)  # 1,000.00 - 99,999.99 yuan
            if fen not in used:
                used.add(fen)
                return fen

    def out_or_in() -> str:
        return rng.choice(("place", "withdraw"))

    for n in range(INTEREST_LINES):
        on = rng.choice(body)
        fen = rng.randrange(1, 200_000)
        plan.moves.append(Move(on, "interest", fen, ref=f"INT{n + 1:07d}", booked_on=on))
    singles = []
    for _ in range(SINGLE_LINES - 2 * EQUAL_PAIRS):
        on = rng.choice(body)
        singles.append(Move(on, out_or_in(), unique_amount(), booked_on=on))
    for move in rng.sample(singles, SHIFTED):
        later = [d for d in body if move.on < d <= move.on + dt.timedelta(days=WINDOW_DAYS)]
        move.booked_on = rng.choice(later) if later else move.on
    for _ in range(EQUAL_PAIRS):
        first = rng.randrange(0, len(body) - 5)
        on, then = body[first], body[first] + dt.timedelta(days=2)
        fen, kind = unique_amount(), out_or_in()
        singles.append(Move(on, kind, fen, booked_on=on))
        singles.append(Move(then, kind, fen, booked_on=then))
    plan.moves += singles
    # Many to one: days with no other movement of that direction left for the sum stage.
    group_days = rng.sample(body[:-WINDOW_DAYS], SUM_LINES)
    for g, on in enumerate(group_days):
        kind = out_or_in()
        for _ in range(rng.randrange(2, 5)):
            plan.moves.append(Move(on, kind, unique_amount(), booked_on=on, group=g))
    # Planted on END.
    plan.moves.append(Move(END, "interest", 50_000, ref="INT-TYPO", booked_on=END))
    plan.moves.append(Move(END, "place", unique_amount()))  # not on the statement
    # A sum of a group must not be any single amount (it would match one to one).
    sums: dict[int, int] = defaultdict(int)
    for m in plan.moves:
        if m.group is not None:
            sums[m.group] += m.amount
    assert not set(sums.values()) & used, "a group's sum equals a single amount: change seed"
    _write_lines(plan)
    _expect(plan)
    return plan


def _write_lines(plan: Plan) -> None:
    lines: list[Line] = []
    groups: dict[int, list[Move]] = defaultdict(list)
    for n, m in enumerate(plan.moves):
        if m.booked_on is None:
            continue
        if m.group is not None:
            groups[m.group].append(m)
            continue
        if m.kind == "interest":
            amount = m.amount + (INTEREST_TYPO if m.ref == "INT-TYPO" else 0)
            lines.append(Line(m.booked_on, m.ref, amount, "利息"))
        else:
            lines.append(Line(m.booked_on, f"B{n + 1:08d}", m.signed, "转账"))
    for g, members in sorted(groups.items()):
        total = sum(m.signed for m in members)
        lines.append(Line(members[0].booked_on, f"S{g + 1:06d}", total, "批量转账"))
    lines.append(Line(END, f"INT{END:%Y%m%d}", UNRECORDED_INTEREST, "利息"))
    lines.append(Line(END, f"FEE{END:%Y%m%d}", -BANK_CHARGE, "手续费"))
    lines.sort(key=lambda x: (x.booked_on, x.ref))
    plan.lines = lines


def _expect(plan: Plan) -> None:
    fund_daily: dict[dt.date, int] = defaultdict(int)
    for m in plan.moves:
        fund_daily[m.on] += m.signed
    bank_daily: dict[dt.date, int] = defaultdict(int)
    for line in plan.lines:
        bank_daily[line.booked_on] += line.signed
    differs, mine, theirs = 0, 0, 0
    for day in sorted(set(fund_daily) | set(bank_daily)):
        mine += fund_daily[day]
        theirs += bank_daily[day]
        if day in bank_daily and mine != theirs:
            differs += 1
    plan.expected = {
        "lines": len(plan.lines),
        "matched_reference": INTEREST_LINES + 1,
        "matched_amount": SINGLE_LINES,
        "matched_sum": SUM_LINES,
        "balance_differs": differs,
        "amount_differs": 1,
        "interest_unrecorded": 1,
        "missing_in_fund": 1,
        "missing_at_bank": 1,
    }


# ----------------------------------------------------------------------------- the books


def _setup(s) -> None:
    reference.add_user(s, "admin", "系统管理员", ["admin"], actor=SYSTEM)
    reference.add_bank(s, BANK, "工商银行", BANK_NO, actor="admin")
    for code, name, kind in (
        ("provincial", "省级拨付", "provincial"), ("city", "市级配套", "city"),
        ("other", "社会捐赠", "other"),
    ):  # fmt: skip
        reference.add_capital_source(s, code, name, kind, actor="admin")
    reference.add_user(s, "clerk", "王经办", ["clerk"], actor="admin")
    reference.add_user(s, "approver", "李审核", ["approver"], actor="admin")
    for n, (source, fen) in enumerate(CAPITAL.items()):
        a = capital.record_allocation(
            s, source, fen, RECEIVED_ON + dt.timedelta(days=n), actor="clerk",
            reference=f"财字〔2024〕{n + 1}号",
        )  # fmt: skip
        capital.approve_allocation(s, a.id, actor="approver")
    capital.place_capital(s, BANK, OPENING_PLACEMENT, PLACED_ON, actor="clerk")


def _play(s, move: Move) -> None:
    if move.kind == "interest":
        capital.record_deposit_interest(s, BANK, move.amount, move.on, move.ref, actor="clerk")
    elif move.kind == "place":
        capital.place_capital(s, BANK, move.amount, move.on, actor="clerk")
    else:
        capital.withdraw_capital(s, BANK, move.amount, move.on, actor="clerk")


def build(factory, plan: Plan) -> None:
    started = time.perf_counter()
    run_in_transaction(factory, _setup)
    ordered = sorted(plan.moves, key=lambda m: (m.on, m.kind != "place"))  # money in first
    for i in range(0, len(ordered), BATCH):
        batch = ordered[i : i + BATCH]
        run_in_transaction(factory, lambda s, batch=batch: [_play(s, m) for m in batch])
    drain_sealer(factory.kw["bind"])
    log(f"  {len(ordered):,} movements played in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with factory() as s:
        report = verify(s)
    if report.problems:
        sys.exit("verify found problems:\n" + "\n".join(map(str, report.problems)))
    log(
        f"  verify: no problems, {report.entries:,} entries, {report.postings:,} postings "
        f"({time.perf_counter() - started:.1f} s)"
    )


def write_statement(factory, plan: Plan, path: Path) -> None:
    code = chart.special_account(BANK)
    with factory() as s:
        account_id = s.scalar(select(Account.id).where(Account.code == code))
        signed = func.sum(case((Posting.side == "D", Posting.amount), else_=-Posting.amount))
        opening = int(
            s.scalar(
                select(func.coalesce(signed, 0)).where(
                    Posting.account_id == account_id, Posting.effective_date < START
                )
            )
        )
    balance = opening
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("交易日期,银行流水号,借贷方向,金额,余额,摘要\n")
        for line in plan.lines:
            balance += line.signed
            direction = "C" if line.signed > 0 else "D"
            out.write(
                f"{line.booked_on.isoformat()},{line.ref},{direction},"
                f"{fen_to_yuan(abs(line.signed))},{fen_to_yuan(balance)},{line.memo}\n"
            )


def prepare(factory, plan: Plan, rebuild_hint: str) -> int:
    """The accepted import of the statement, building the books first if they are empty."""
    with factory() as s:
        built = s.scalar(select(Bank.code).where(Bank.code == BANK)) is not None
        done = s.scalar(
            select(BankFileImport.id).where(
                BankFileImport.file_name == FILE_NAME, BankFileImport.status == "accepted"
            )
        )
    if done:
        return done
    if built:
        sys.exit(f"the database holds books but no accepted statement: {rebuild_hint}")
    log(f"  building the books ({len(plan.moves):,} movements)")
    build(factory, plan)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FILE_NAME
        write_statement(factory, plan, path)
        started = time.perf_counter()
        receipt = import_file(factory, kind="statement", path=path, bank=BANK, actor=SYSTEM)
    if receipt.status != "accepted":
        sys.exit(f"the statement was not accepted: {receipt}")
    log(f"  statement of {receipt.rows:,} lines imported in {time.perf_counter() - started:.1f} s")
    return receipt.id


def digest(result, matches) -> str:
    """A fingerprint of what a run found: every finding and every match."""
    h = hashlib.sha256()
    for f in sorted(result.findings, key=lambda f: (f.type, f.ref, str(f.as_of))):
        h.update(repr((f.type, f.subject, f.as_of, f.ref, f.fund_figure, f.bank_figure,
                       f.row, f.detail, f.detail_zh)).encode())  # fmt: skip
    for m in sorted(matches):
        h.update(repr(m).encode())
    return h.hexdigest()[:16]


def run(url: str, repeat: int, seed: int, rebuild_hint: str) -> None:
    engine = make_engine(normalize_url(url))
    name = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
    migrate.upgrade(engine)
    factory = session_factory(engine)
    plan = make_plan(seed)
    import_id = prepare(factory, plan, rebuild_hint)
    times, digests = [], set()
    for _ in range(repeat):
        with factory() as s:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            result = reconcile_statement(s, import_id, actor=SYSTEM)
            times.append(time.perf_counter() - started)
            matches = s.execute(
                select(ReconMatch.line_id, ReconMatch.entry_id, ReconMatch.how)
            ).all()
            s.rollback()
        counts = result.counts()
        got = {k: counts.get(k, 0) for k in plan.expected}
        if got != plan.expected:
            sys.exit(f"{name}: found {got}, the plan says {plan.expected}")
        digests.add(digest(result, [tuple(m) for m in matches]))
        log(f"  run {len(times)}: {times[-1]:.3f} s (load {load:.2f})")
    if len(digests) != 1:
        sys.exit(f"{name}: runs differ: {sorted(digests)}")
    median = statistics.median(times)
    found = Counter(str(f.type) for f in result.findings)
    print(
        f"{name}: {result.lines:,} lines; matched {result.matched['reference']:,} by reference, "
        f"{result.matched['amount']:,} by amount, {result.matched['sum']} many to one; "
        f"breaks {dict(sorted(found.items()))}; digest {digests.pop()}"
    )
    print(
        f"{name}: reconcile_statement median {median:.3f} s "
        f"(runs: {', '.join(f'{t:.3f}' for t in times)}); {median:.2f}× the 1 s target "
        f"({'met' if median <= 1 else 'NOT met'})"
    )
    engine.dispose()


def ensure_pg_database(url: str, rebuild: bool) -> None:
    parsed = make_url(normalize_url(url))
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        if rebuild:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", help="URL of the benchmark's own PostgreSQL database")
    parser.add_argument("--sqlite", help="path of the benchmark's own SQLite file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rebuild", action="store_true", help="build the books again")
    args = parser.parse_args()
    if not (args.postgresql or args.sqlite):
        parser.error("name --postgresql URL and/or --sqlite FILE")
    if args.postgresql:
        ensure_pg_database(args.postgresql, args.rebuild)
        log(f"PostgreSQL: {make_url(args.postgresql).database}")
        run(args.postgresql, args.repeat, args.seed, "run again with --rebuild")
    if args.sqlite:
        path = Path(args.sqlite)
        if args.rebuild and path.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        log(f"SQLite: {path}")
        run(f"sqlite:///{path}", args.repeat, args.seed, "run again with --rebuild")


if __name__ == "__main__":
    main()
