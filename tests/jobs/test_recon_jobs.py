"""The reconciliation's jobs in the scheduler's registry: the day's files reconciled
once (a second run records nothing twice), ageing's proposal, month-end's alert."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from jobs.config import Config
from jobs.recon import breaks_old_job, month_end_job, reconcile_files
from jobs.registry import default_registry
from ledger.bankfiles.imports import import_file
from ledger.clock import CHINA_OFFSET
from ledger.demo.city import build_fund_demo
from ledger.demo.recon_files import write_balances
from ledger.fund.models import Loan
from ledger.ops.models import Alert
from ledger.principal import SYSTEM
from ledger.recon.models import Break

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
    again = reconcile_files(factory, day)
    assert again == first
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Break)) == planted_count
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
