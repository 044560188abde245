"""A month of the demo banks' files through the scheduler over a fixed clock: each day
the day's files land in the drop folder and the scheduler ticks once through every job.
At the end the breaks are exactly those planted, with their figures; the duplicate and
the wrong file are refused and found nothing; the late file was reconciled on the day it
came; the missing one raised one file-missing alert; every job ran once for each day."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter, defaultdict

from click.testing import CliRunner
from sqlalchemy import select

from jobs.config import load, parse
from jobs.files import check_expected
from jobs.registry import default_registry
from jobs.scheduler import Scheduler
from ledger.bankfiles.models import BankFileImport
from ledger.bankfiles.receipts import error_lines
from ledger.cli import cli
from ledger.db import run_in_transaction
from ledger.demo import recon_files
from ledger.demo.city import build_fund_demo
from ledger.ops.models import Alert, JobRun
from ledger.recon.models import Break, BreakEvent
from tests.jobs.conftest import Clock

D = dt.date
TODAY = D(2026, 11, 30)


def test_a_month_of_the_demo_banks_files_finds_exactly_the_planted_breaks(
    factory, db_url, tmp_path
):
    build_fund_demo(factory, loans=150, today=TODAY)
    folder = tmp_path / "month"
    out = CliRunner().invoke(
        cli, ["--database-url", db_url, "imports", "demo", str(folder), "--month"]
    )
    assert out.exit_code == 0, out.output
    assert "2026-06: 83 files of ABC, ICBC, RCB" in out.output
    assert "RCB_statement_20260617_1.xlsx      never arrives  (missing)" in out.output
    with factory() as s:
        month = recon_files.write_month(s, tmp_path / "again")
    assert (month.first, month.last) == (D(2026, 6, 1), D(2026, 6, 30))
    assert f"breaks planted ({len(month.breaks)}):" in out.output
    arriving = {(f"{f.arrives_on}", f.name) for f in month.files if f.arrives_on}
    assert _written(folder) == _written(month.folder) == arriving
    config = load(folder / "jobs.toml")
    expected = parse({"expected_files": month.expected_files()}).expected
    assert (config.drop_folder, config.settle_seconds, config.expected) == (
        (folder / "drop").resolve(), 0, expected,
    )  # fmt: skip
    drop = config.drop_folder
    clock = Clock()
    scheduler = Scheduler(factory, default_registry(config), config, now=clock, holder="month")
    days = [*month.days, month.last + dt.timedelta(days=1)]  # and the 1st: month-end
    for day in days:
        clock.at = dt.datetime.combine(day, dt.time(1))  # 09:00 in China
        for f in month.arriving_on(day):
            shutil.copy(folder / f"{day}" / f.name, drop / "inbox" / f.name)
        outcomes = scheduler.tick(on=day)
        assert {o.status for o in outcomes} == {"succeeded"}, outcomes

    with factory() as s:
        found = s.scalars(select(Break).order_by(Break.id)).all()
        history = defaultdict(list)
        for e in s.scalars(select(BreakEvent).order_by(BreakEvent.id)):
            history[e.break_id].append((e.action, e.on_date))
        receipts = s.scalars(select(BankFileImport).order_by(BankFileImport.id)).all()
        runs = s.execute(
            select(JobRun.job, JobRun.period, JobRun.status, JobRun.attempt, JobRun.counts)
        ).all()
        alerts = s.scalars(select(Alert).where(Alert.kind == "file-missing")).all()
        wrong_id = next(r.id for r in receipts if r.status == "rejected")
        wrong_errors = [(p.row, p.column, p.value, p.code) for p in error_lines(s, wrong_id)]

    by_name = defaultdict(list)
    for r in receipts:
        by_name[r.file_name].append(r)

    # The breaks: exactly the planted ones, with their figures, each one record.
    def figures(b, bank, fund):
        return (
            b.type, b.source, bank, fund, b.subject, b.ref, b.fund_figure, b.bank_figure,
            b.difference, b.fund_days, b.bank_days, b.found_on, b.last_seen_on, b.status,
            b.resolved_on,
        )  # fmt: skip

    assert sorted(figures(b, b.bank_code, b.fund_code) for b in found) == sorted(
        figures(p, p.bank, p.fund) for p in month.breaks
    )
    assert sorted(
        (p.bank, p.type, p.subject, p.ref, p.fund_figure, p.bank_figure, p.fund_days,
         p.bank_days, p.found_on, p.last_seen_on, p.status)
        for p in month.breaks if p.type != "balance_differs"
    ) == [
        ("ABC", "missing_at_bank", "ABC-2024-00001", "", 1_446_487, None, None, None,
         D(2026, 6, 5), D(2026, 6, 30), "open"),
        ("ABC", "missing_in_fund", "16-702101040012345", "ABC202606090001", None, -1_200,
         None, None, D(2026, 6, 9), D(2026, 6, 9), "open"),
        ("ABC", "missing_in_fund", "GHOST-ABC-1", "", None, 500_000, None, None,
         D(2026, 6, 26), D(2026, 6, 30), "open"),
        ("ICBC", "amount_differs", "ICBC-2024-00001", "", 2_469_641, 2_479_641, None, None,
         D(2026, 6, 12), D(2026, 6, 30), "open"),
        ("ICBC", "interest_unrecorded", "1705020129200088516", "ICBC202606240001", None,
         12_345, None, None, D(2026, 6, 24), D(2026, 6, 24), "open"),
        ("RCB", "amount_differs", "RCB-2024-00002", "", 23_213_159, 23_223_159, None, None,
         D(2026, 6, 5), D(2026, 6, 5), "resolved"),
        ("RCB", "missing_in_fund", "81020000006587214", "RCB202606030001", None, 500_000,
         None, None, D(2026, 6, 3), D(2026, 6, 3), "open"),
        ("RCB", "status_differs", "RCB-2024-00005", "", 0, 100_000, 0, 45, D(2026, 6, 19),
         D(2026, 6, 30), "open"),
    ]  # fmt: skip
    # Each planted statement line leaves the bank's balance off at its own closing and
    # at the opening and closing of the later days with lines (the 21st's interest; ABC's
    # recovery of the 24th).
    moved = Counter(p.bank for p in month.breaks if p.type == "balance_differs")
    assert moved == {"ABC": 5, "ICBC": 1, "RCB": 3}
    assert {p.difference for p in month.breaks if p.type == "balance_differs"} == {
        -1_200, 12_345, 500_000,
    }  # fmt: skip
    typo = next(b for b in found if (b.type, b.bank_code) == ("amount_differs", "ICBC"))
    assert (typo.found_on, typo.last_seen_on, typo.difference) == (
        D(2026, 6, 12), D(2026, 6, 30), 10_000,
    )  # fmt: skip
    assert history[typo.id] == [("found", D(2026, 6, 12))]  # seen again on 19, 26 and 30
    gone = next(b for b in found if b.status == "resolved")
    assert (gone.type, gone.bank_code) == ("amount_differs", "RCB")
    assert history[gone.id] == [("found", D(2026, 6, 5)), ("resolved", D(2026, 6, 12))]
    (rcb_june_12,) = by_name["RCB_balances_20260612_1.csv"]
    assert (gone.resolved_on, gone.resolved_by_import_id) == (D(2026, 6, 12), rcb_june_12.id)

    # The duplicate and the wrong file: refused, and no break came of them.
    first, second = by_name[month.one("duplicate").name]
    assert (first.status, second.status, second.duplicate_of_id) == (
        "accepted", "duplicate", first.id,
    )  # fmt: skip
    wrong, corrected = month.one("wrong"), month.one("corrected")
    (rejected,) = by_name[wrong.name]
    assert (rejected.id, rejected.status, rejected.error_rows) == (wrong_id, "rejected", 1)
    assert wrong_errors == [(2, "direction", "收", "invalid-value")]
    assert {b.import_id for b in found}.isdisjoint({second.id, rejected.id})
    assert (drop / "rejected" / f"{wrong.name}.errors.csv").is_file()
    duplicate_receipt = drop / "processed" / "ICBC_balances_20260612_1.1.csv.receipt.json"
    assert json.loads(duplicate_receipt.read_text("utf-8"))["duplicate_of"] == first.id
    (interest,) = [b for b in found if b.type == "interest_unrecorded"]
    (fixed,) = by_name[corrected.name]
    assert (fixed.status, interest.import_id) == ("accepted", fixed.id)

    # Each day's reconciliation took exactly the files accepted that day: the late one
    # on the day it came, the corrected one the day after the wrong one.
    counts = {(job, period): c for job, period, _status, _attempt, c in runs}
    for day in days:
        came = Counter(
            f.kind for f in month.arriving_on(day) if f.note not in ("duplicate", "wrong")
        )
        took = counts[("reconcile", f"{day}")]
        assert (took.get("balances_files", 0), took.get("statement_files", 0)) == (
            came["balances"], came["statement"],
        ), day  # fmt: skip
    late = month.one("late")
    assert (late.day, late.arrives_on) == (D(2026, 6, 9), D(2026, 6, 11))
    assert counts[("reconcile", "2026-06-11")]["statement_files"] == 4
    (charge,) = [b for b in found if b.type == "missing_in_fund" and b.ref.startswith("ABC")]
    (late_receipt,) = by_name[late.name]
    assert (charge.import_id, charge.found_on) == (late_receipt.id, D(2026, 6, 9))

    # The missing file (and the late one, the day it was due): one alert each.
    assert sorted((a.open_key, a.period, a.times) for a in alerts) == [
        (f"file-missing:{a.key}", a.key.rsplit(":", 1)[1], 1) for a in month.alerts
    ]
    assert [a.key for a in month.alerts] == [
        "ABC:statement:2026-06-09", "RCB:statement:2026-06-17",
    ]  # fmt: skip
    raised = {p: c["missing"] for (job, p), c in counts.items() if job == "expected-files"}
    assert {p for p, n in raised.items() if n} == {f"{a.raised_on}" for a in month.alerts}
    assert set(raised.values()) == {0, 1}

    # Every job: one successful run for each day (month, quarter) of the month.
    periods = defaultdict(list)
    for job, period, status, attempt, _counts in runs:
        assert (status, attempt) == ("succeeded", 1), (job, period)
        periods[job].append(period)
    daily = sorted(f"{day}" for day in days)
    assert {job: sorted(p) for job, p in periods.items()} == {
        "verify": daily, "expected-files": daily,
        "reconcile": daily, "ageing": daily, "breaks-old": daily,
        "month-end": ["2026-05", "2026-06"], "deposit-interest": ["2026Q1", "2026Q2"],
    }  # fmt: skip
    open_planted = sum(1 for p in month.breaks if p.status == "open")
    assert counts[("month-end", "2026-06")]["open_breaks"] == open_planted


def _written(folder) -> set[tuple[str, str]]:
    """(arrival day, file name) of every file written into a month's folder."""
    return {(p.parent.name, p.name) for p in folder.glob("2026-*/*")}


def test_a_bank_sending_on_working_days_is_not_expected_to_send_for_a_weekend(city):
    config = parse(
        {"expected_files": {"ICBC": {"daily": ["statement"], "working_days": True},
                            "ABC": {"daily": ["statement"]}}}
    )  # fmt: skip

    def check(on):
        return run_in_transaction(city, lambda s: check_expected(s, config.expected, on))

    # 2026-06-05 is a Friday: Saturday checks it, Sunday and Monday the weekend.
    assert check(D(2026, 6, 6)) == [("ABC", "statement", "2026-06-05"),
                                    ("ICBC", "statement", "2026-06-05")]  # fmt: skip
    assert check(D(2026, 6, 7)) == [("ABC", "statement", "2026-06-06")]
    assert check(D(2026, 6, 8)) == [("ABC", "statement", "2026-06-07")]
    assert check(D(2026, 6, 9)) == [("ABC", "statement", "2026-06-08"),
                                    ("ICBC", "statement", "2026-06-08")]  # fmt: skip
