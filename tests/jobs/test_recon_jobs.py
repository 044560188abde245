"""The reconciliation's jobs in the scheduler's registry: the files accepted since the
last run reconciled once (a second run records nothing twice), ageing's proposal,
month-end's alert."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from jobs.config import Config
from jobs.recon import breaks_old_job, month_end_job, reconcile_files
from jobs.registry import Registry, default_registry
from ledger.bankfiles.imports import import_file
from ledger.clock import CHINA_OFFSET
from ledger.demo.city import build_fund_demo
from ledger.demo.recon_files import write_balances
from ledger.fund.models import Loan
from ledger.ops.models import Alert
from ledger.ops.runs import Period
from ledger.principal import SYSTEM
from ledger.recon.models import Break, ReconciledFile

TODAY = dt.date(2026, 11, 30)


def test_the_registry_has_the_reconciliation_jobs():
    names = default_registry(Config()).names()
    for name in ("reconcile", "ageing", "breaks-old", "month-end", "deposit-interest"):
        assert name in names


def test_the_days_files_are_reconciled_once_and_month_end_says_what_holds_the_close(
    factory, tmp_path
):
    build_fund_demo(factory, loans=60, today=TODAY)
    with factory() as s:
        as_of = s.scalar(select(func.max(Loan.disbursed_on)))
        path = tmp_path / "ICBC_balances.csv"
        planted = write_balances(s, "ICBC", as_of, path)
    receipt = import_file(factory, kind="balances", path=path, bank="ICBC", actor=SYSTEM)
    assert receipt.status == "accepted"
    day = (receipt.uploaded_at + CHINA_OFFSET).date()
    planted_count = sum(len(v) for v in planted.values())

    first = reconcile_files(factory, day)
    assert first == {"balances_files": 1, "findings": planted_count}
    # Reconciled: the same day run again, and the next day, take nothing.
    assert reconcile_files(factory, day) == {}
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Break)) == planted_count
        done = s.get(ReconciledFile, receipt.id)
        assert (done.reconciled_by, done.findings) == ("system", planted_count)
    assert reconcile_files(factory, day + dt.timedelta(days=1)) == {}

    month_end = dt.date(day.year, day.month, 1) - dt.timedelta(days=1)
    counts = month_end_job(factory, month_end)
    assert counts["trial_balance_net"] == 0
    with factory() as s:
        alert = s.scalars(select(Alert).where(Alert.kind == "month-end")).one()
    assert alert.subject.startswith(f"{month_end:%Y-%m} 月末：试算平衡与基金报表已生成")

    old = breaks_old_job(0)(factory, day)
    assert old == {"old_breaks": planted_count}
    with factory() as s:
        alert = s.scalars(select(Alert).where(Alert.kind == "breaks-old")).one()
    assert alert.subject == f"{planted_count} 项对账差异已超过 0 天未处理"


def test_a_file_accepted_after_a_days_run_is_taken_by_the_next_days_run(city, clock):
    """The runs take the files not reconciled yet, whatever the hour of upload: a file
    uploaded after day 1's run goes to day 2's run, and past days run in order (time
    travel) take what was taken in before each of them."""
    from jobs.scheduler import Runner
    from tests.bankfiles.conftest import do_import

    config = Config()
    runner = Runner(city, Registry([default_registry(config).get("reconcile")]), config, now=clock)
    job = runner.registry.get("reconcile")
    day = dt.date(2025, 7, 1)

    def run(on):
        outcome = runner.run(job, Period.containing("daily", on))
        assert outcome.status == "succeeded"
        return outcome.counts

    june = do_import(city, "balances", "icbc_balances_0630.csv")
    assert run(day) == {"balances_files": 1, "findings": 7}
    july = do_import(city, "statement", "icbc_statement_0731.csv")
    second = run(day + dt.timedelta(days=1))
    assert second == {"statement_files": 1, "findings": 8}
    assert run(day + dt.timedelta(days=2)) == {}
    # Day 2 once more: nothing is left to take, and no break is recorded twice.
    with city() as s:
        breaks = s.scalar(select(func.count()).select_from(Break))
        assert [r.import_id for r in s.scalars(select(ReconciledFile))] == [june.id, july.id]
    again = runner.run(job, Period.containing("daily", day + dt.timedelta(days=1)), again=True)
    assert again.counts == {}
    with city() as s:
        assert s.scalar(select(func.count()).select_from(Break)) == breaks
