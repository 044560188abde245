"""The scheduler over a fixed clock: each period runs once; after an outage every missed
period runs once, in order; a failed run is retried; a crashed one too; a second
scheduler never runs a job while the first holds the lease."""

from __future__ import annotations

import datetime as dt
import threading
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from jobs.registry import Job, Registry, default_registry
from jobs.scheduler import Runner, Scheduler, build
from ledger.db import run_in_transaction
from ledger.ops import leases, runs
from ledger.ops.alerts import alerts_page
from ledger.ops.errors import RunRefusedError, UnknownJobError
from ledger.ops.models import JobRun
from ledger.ops.runs import Period, PeriodKind
from tests.jobs.conftest import T0, config_of, registry_of

D = dt.date
ROOT = Path(__file__).resolve().parents[2]


def recorded(factory) -> list[tuple]:
    with factory() as s:
        return s.execute(
            select(JobRun.job, JobRun.period, JobRun.status, JobRun.attempt).order_by(JobRun.id)
        ).all()


def scheduler(factory, registry, clock, config=None, holder="s1", today=None):
    return Scheduler(
        factory, registry, config or config_of(), holder=holder, now=clock,
        today=today or (lambda: D(2026, 12, 1)),
    )  # fmt: skip


# ------------------------------------------------------------------------ periods


def test_periods_keys_and_due():
    assert Period.containing("daily", D(2026, 12, 1)).key == "2026-12-01"
    month = Period.containing("monthly", D(2026, 2, 14))
    assert (month.key, month.start, month.end) == ("2026-02", D(2026, 2, 1), D(2026, 2, 28))
    quarter = Period.containing("quarterly", D(2026, 11, 5))
    assert (quarter.key, quarter.start, quarter.end) == ("2026Q4", D(2026, 10, 1), D(2026, 12, 31))
    assert quarter.next().key == "2027Q1"
    assert Period.parse("monthly", "2026-11").next().key == "2026-12"
    assert Period.parse("quarterly", "2026Q1").previous().key == "2025Q4"
    noop = lambda f, on: {}  # noqa: E731
    monthly = Job("m", noop, PeriodKind.MONTHLY, "0 3 1 * *", "", lag_days=0)
    assert monthly.due(D(2026, 12, 1)).key == "2026-11"
    assert monthly.due(D(2026, 11, 30)).key == "2026-11"
    assert monthly.due(D(2026, 11, 29)).key == "2026-10"
    quarterly = Job("q", noop, PeriodKind.QUARTERLY, "0 3 1 * *", "")
    assert quarterly.due(D(2027, 1, 1)).key == "2026Q4"
    daily = Job("d", noop, PeriodKind.DAILY, "0 3 * * *", "", lag_days=1)
    assert daily.due(D(2026, 12, 1)).key == "2026-11-30"


def test_a_period_key_that_is_none_is_refused():
    from ledger.errors import FilterError

    with pytest.raises(FilterError) as caught:
        Period.parse("quarterly", "2026Q5")
    assert caught.value.zh == "'2026Q5' 不是有效的季度期间"


# ------------------------------------------------------------------------ time travel


def test_a_daily_job_runs_each_day_once(factory, clock, recorder):
    s = scheduler(factory, registry_of(recorder), clock)
    for day in range(1, 6):
        for _ in range(3):  # triggered three times a day
            s.tick(on=D(2026, 12, day))
            clock.advance(hours=1)
    assert recorder.ran == [D(2026, 12, d) for d in range(1, 6)]
    assert recorded(factory) == [
        ("daily-check", f"2026-12-0{d}", "succeeded", 1) for d in range(1, 6)
    ]


def test_catch_up_after_a_three_day_outage_runs_each_missed_day_once_in_order(
    factory, clock, recorder
):
    s = scheduler(factory, registry_of(recorder), clock)
    s.tick(on=D(2026, 12, 1))
    # Down on the 2nd, 3rd and 4th; back on the 5th.
    outcomes = s.tick(on=D(2026, 12, 5))
    assert [(o.period, o.status) for o in outcomes] == [
        ("2026-12-02", "succeeded"), ("2026-12-03", "succeeded"),
        ("2026-12-04", "succeeded"), ("2026-12-05", "succeeded"),
    ]  # fmt: skip
    s.tick(on=D(2026, 12, 5))
    assert recorder.ran == [D(2026, 12, d) for d in range(1, 6)]
    assert [r[1] for r in recorded(factory)] == [f"2026-12-0{d}" for d in range(1, 6)]


def test_a_job_never_run_starts_at_its_configured_start(factory, clock, recorder):
    config = config_of(jobs={"daily-check": {"start": "2026-11-28"}})
    s = scheduler(factory, registry_of(recorder), clock, config)
    s.tick(on=D(2026, 12, 1))
    assert recorder.ran == [D(2026, 11, 28), D(2026, 11, 29), D(2026, 11, 30), D(2026, 12, 1)]


def test_a_monthly_job_catches_up_each_month_with_its_last_day(factory, clock, recorder):
    config = config_of(jobs={"month-end": {"start": "2026-08-01"}})
    registry = registry_of(recorder, PeriodKind.MONTHLY, name="month-end")
    s = scheduler(factory, registry, clock, config)
    s.tick(on=D(2026, 12, 1))
    assert recorder.ran == [D(2026, 8, 31), D(2026, 9, 30), D(2026, 10, 31), D(2026, 11, 30)]
    assert [r[1] for r in recorded(factory)] == ["2026-08", "2026-09", "2026-10", "2026-11"]


def test_a_failed_run_is_retried_and_then_succeeds(factory, clock, recorder):
    s = scheduler(factory, registry_of(recorder), clock)
    s.tick(on=D(2026, 12, 1))
    recorder.fail = {D(2026, 12, 3)}
    outcomes = s.tick(on=D(2026, 12, 4))
    # The 3rd failed: the 4th waits for it (the periods run in order).
    assert [(o.period, o.status, o.attempt) for o in outcomes] == [
        ("2026-12-02", "succeeded", 1), ("2026-12-03", "failed", 1),
    ]  # fmt: skip
    assert outcomes[1].error == "RuntimeError: bank file for 2026-12-03 unreadable"
    with factory() as session:
        (alert,) = alerts_page(session).items
    assert (alert.kind, alert.job, alert.period, alert.severity) == (
        "job-failed", "daily-check", "2026-12-03", "warning",
    )  # fmt: skip
    assert alert.subject == "任务 daily-check 在 2026-12-03 期间运行失败（第 1 次）"
    outcomes = s.tick(on=D(2026, 12, 4))
    assert [(o.period, o.status, o.attempt) for o in outcomes] == [
        ("2026-12-03", "succeeded", 2), ("2026-12-04", "succeeded", 1),
    ]  # fmt: skip
    assert recorder.ran == [
        D(2026, 12, 1), D(2026, 12, 2), D(2026, 12, 3), D(2026, 12, 3), D(2026, 12, 4)
    ]  # fmt: skip
    with factory() as session:
        assert runs.get_run(session, "daily-check", "2026-12-03").counts == {"days": 1}


def test_a_crashed_run_is_retried_once_its_heartbeat_is_stale(factory, clock, recorder):
    period = Period.containing("daily", D(2026, 12, 1))
    crashed = run_in_transaction(
        factory, lambda s: runs.claim_run(s, "daily-check", period, holder="dead", now=clock())
    )
    assert (crashed.status, crashed.attempt) == ("running", 1)
    s = scheduler(factory, registry_of(recorder), clock)
    clock.advance(minutes=5)
    assert [o.status for o in s.tick(on=D(2026, 12, 1))] == ["skipped"]  # still alive?
    assert recorder.ran == []
    clock.advance(minutes=6)  # 11 minutes without a heartbeat: it crashed
    assert [(o.status, o.attempt) for o in s.tick(on=D(2026, 12, 1))] == [("succeeded", 2)]
    assert recorder.ran == [D(2026, 12, 1)]


def test_claim_run_refuses_a_period_that_succeeded_unless_again(session, clock):
    period = Period.containing("daily", D(2026, 12, 1))
    run = runs.claim_run(session, "j", period, holder="a", now=clock())
    runs.finish_run(session, run.id, counts={"n": 3}, now=clock())
    assert runs.claim_run(session, "j", period, holder="b", now=clock()) is None
    again = runs.claim_run(session, "j", period, holder="b", again=True, now=clock())
    assert (again.attempt, again.holder, again.status) == (2, "b", "running")


# ------------------------------------------------------------------------ the lease


def test_a_second_scheduler_idles_while_the_first_holds_the_lease(factory, clock, recorder):
    first = scheduler(factory, registry_of(recorder), clock, holder="first")
    second = scheduler(factory, registry_of(recorder), clock, holder="second")
    assert [o.period for o in first.tick(on=D(2026, 12, 1))] == ["2026-12-01"]
    assert second.tick(on=D(2026, 12, 2)) == []
    clock.advance(seconds=30)
    assert first.keep_lease()
    clock.advance(seconds=45)  # renewed 45 s ago, lease 60 s: still the first's
    assert second.tick(on=D(2026, 12, 2)) == []
    clock.advance(seconds=16)  # the first stopped renewing: expired
    assert [o.period for o in second.tick(on=D(2026, 12, 2))] == ["2026-12-02"]
    assert first.tick(on=D(2026, 12, 3)) == []
    second.release()
    assert [o.period for o in first.tick(on=D(2026, 12, 3))] == ["2026-12-03"]
    assert recorder.ran == [D(2026, 12, 1), D(2026, 12, 2), D(2026, 12, 3)]


def test_lease_functions(session, clock):
    ttl = dt.timedelta(seconds=60)
    assert leases.acquire_lease(session, "x", "a", ttl, now=clock())
    assert not leases.acquire_lease(session, "x", "b", ttl, now=clock())
    assert leases.renew_lease(session, "x", "a", ttl, now=clock())
    assert not leases.renew_lease(session, "x", "b", ttl, now=clock())
    held = leases.lease_holder(session, "x", now=clock())
    assert (held.holder, held.expires_at) == ("a", T0 + ttl)
    assert leases.release_lease(session, "x", "a", now=clock())
    assert leases.lease_holder(session, "x", now=clock()) is None
    assert leases.acquire_lease(session, "x", "b", ttl, now=clock())
    assert leases.lease_holder(session, "x", now=clock()).holder == "b"


@pytest.mark.postgresql_only
def test_two_schedulers_on_postgresql_run_each_period_once(engine, recorder):
    """Two schedulers (two threads, each with its own connections) tick through a month;
    the lease and the run records let each day's period run once."""
    from ledger.db import session_factory

    days = [D(2026, 11, 1) + dt.timedelta(days=n) for n in range(30)]
    barrier = threading.Barrier(2)
    errors = []
    #: Day → who released the lease the day before, and the other's tick done that day:
    #: the releaser waits for it, so the other takes the lease (a handover, every time).
    released: dict[dt.date, str] = {}
    taken = {day: threading.Event() for day in days}

    def work(holder):
        factory = session_factory(engine)
        s = Scheduler(factory, registry_of(recorder), config_of(), holder=holder)
        try:
            for day in days:
                barrier.wait()
                if released.get(day) == holder:
                    assert taken[day].wait(30)
                s.tick(on=day)
                if released.get(day) not in (None, holder):
                    taken[day].set()
                barrier.wait()  # both ticked before either hands over
                if day.day % 7 == 0 and s.holds():
                    s.release()  # hand over now and then: the other takes the lease
                    released[day + dt.timedelta(days=1)] = holder
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(h,)) for h in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(recorder.ran) == days
    with session_factory(engine)() as s:
        rows = s.execute(select(JobRun.period, JobRun.attempt, JobRun.holder)).all()
    assert sorted(r.period for r in rows) == [d.isoformat() for d in days]
    assert {r.attempt for r in rows} == {1}
    assert {r.holder for r in rows} == {"one", "two"}


@pytest.mark.postgresql_only
def test_two_runners_without_the_lease_still_run_each_period_once(engine, recorder):
    """The run records alone (no lease) keep racing runners from running a period twice."""
    from ledger.db import session_factory

    barrier = threading.Barrier(4)
    config = config_of(jobs={"daily-check": {"start": "2026-11-01"}})

    def work(holder):
        runner = Runner(session_factory(engine), registry_of(recorder), config, holder=holder)
        barrier.wait()
        runner.catch_up(runner.registry.get("daily-check"), D(2026, 11, 30))

    threads = [threading.Thread(target=work, args=(f"r{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(recorder.ran) == [D(2026, 11, 1) + dt.timedelta(days=n) for n in range(30)]


# ------------------------------------------------------------------------ commands


def test_jobs_run_refuses_a_period_that_succeeded_unless_again(factory, clock, recorder):
    runner = Runner(factory, registry_of(recorder), config_of(), holder="cli", now=clock)
    assert runner.run_now("daily-check", D(2026, 12, 1)).status == "succeeded"
    with pytest.raises(RunRefusedError) as caught:
        runner.run_now("daily-check", D(2026, 12, 1))
    assert caught.value.code == "run-refused"
    assert caught.value.zh == "任务 daily-check 已在 2026-12-01 期间成功运行；如需重跑请加 --again"
    outcome = runner.run_now("daily-check", D(2026, 12, 1), again=True)
    assert (outcome.status, outcome.attempt) == ("succeeded", 2)
    with pytest.raises(UnknownJobError) as caught:
        runner.run_now("nightly", D(2026, 12, 1))
    assert caught.value.zh == "没有名为 'nightly' 的任务，现有任务：daily-check"


def _cli(db_url, *args, env=None):
    from jobs.cli import alerts_group, jobs_group
    from ledger.cli import cli

    cli.add_command(jobs_group, "jobs")
    cli.add_command(alerts_group, "alerts")
    return CliRunner().invoke(cli, ["--database-url", db_url, *args], env=env or {})


def test_the_jobs_commands(db_url, tmp_path):
    env = {"FUNDLEDGER_INSTANCE_PATH": str(tmp_path)}
    ran = _cli(db_url, "jobs", "run", "verify", "--date", "2026-12-01", env=env)
    assert ran.exit_code == 0, ran.output
    assert ran.output == (
        "verify 2026-12-01 succeeded accounts=0 entries=0 postings=0 problems=0\n"
    )
    again = _cli(db_url, "jobs", "run", "verify", "--date", "2026-12-01", env=env)
    assert again.exit_code == 1
    assert "错误：任务 verify 已在 2026-12-01 期间成功运行；如需重跑请加 --again" in again.output
    listed = _cli(db_url, "jobs", "list", "--date", "2026-12-02", env=env)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[2].split() == [
        "verify", "30", "2", "*", "*", "*", "daily", "enabled", "last:", "2026-12-01",
        "succeeded", "(attempt", "1);", "due:", "2026-12-02",
    ]  # fmt: skip
    history = _cli(db_url, "jobs", "history", "--job", "verify", env=env)
    assert history.exit_code == 0
    assert history.output.split()[1:5] == ["verify", "2026-12-01", "succeeded", "#1"]
    bad = _cli(db_url, "jobs", "history", "--status", "done", env=env)
    assert bad.exit_code == 2
    assert "unknown run status 'done'" in bad.output


def test_the_commands_are_entry_points_of_the_command_line():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    points = data["project"]["entry-points"]["fundledger.commands"]
    assert points == {
        "scheduler": "jobs.cli:scheduler",
        "jobs": "jobs.cli:jobs_group",
        "alerts": "jobs.cli:alerts_group",
        "serve": "web.cli:serve",
    }
    import importlib

    for target in points.values():
        module, name = target.split(":")
        assert getattr(importlib.import_module(module), name).name in points


def test_apscheduler_drives_each_job_with_its_id_and_schedule(factory, tmp_path):
    config = config_of(
        jobs={"verify": {"schedule": "15 1 * * *"}, "seal": {"enabled": False}},
        drop_folder={"root": str(tmp_path)},
    )
    aps = build(Scheduler(factory, default_registry(config), config))
    jobs = {j.id: j for j in aps.get_jobs()}
    assert sorted(jobs) == sorted(
        [
            "lease", "catch-up", "verify", "drop-folder", "import-queue", "expected-files",
            "reconcile", "ageing", "breaks-old", "month-end", "deposit-interest",
        ]
    )  # fmt: skip
    assert str(jobs["month-end"].trigger).startswith(
        "cron[month='*', day='1', day_of_week='*', hour='7', minute='0']"
    )
    assert str(aps.timezone) == "Asia/Shanghai"
    assert (
        str(jobs["verify"].trigger)
        == "cron[month='*', day='*', day_of_week='*', hour='1', minute='15']"
    )
    assert str(jobs["verify"].trigger.timezone) == "Asia/Shanghai"
    assert jobs["verify"].kwargs == {"names": ["verify"]}
    assert str(jobs["drop-folder"].trigger).startswith(
        "cron[month='*', day='*', day_of_week='*', hour='*', minute='*/5']"
    )
    assert jobs["lease"].trigger.interval == dt.timedelta(seconds=20)


def test_the_registry_holds_the_operational_jobs():
    registry = default_registry(config_of())
    assert registry.names() == [
        "seal", "verify", "drop-folder", "import-queue", "expected-files",
        "reconcile", "ageing", "breaks-old", "month-end", "deposit-interest",
    ]  # fmt: skip
    assert [j.period for j in registry] == [
        None, "daily", None, None, "daily", "daily", "daily", "daily", "monthly",
        "quarterly",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        Registry([*registry, registry.get("seal")])
