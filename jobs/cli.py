"""``fundledger scheduler``, ``fundledger jobs list|history|run`` and ``fundledger alerts
list|ack``: added to the command line through the ``fundledger.commands`` entry points
(the ledger imports nothing from ``jobs``)."""

from __future__ import annotations

import logging

import click

from ledger.cli.options import actor_of, parse_date

CONFIG_HELP = (
    "The jobs' TOML configuration (default: $FUNDLEDGER_JOBS_CONFIG or instance/jobs.toml)."
)


def _config(path):
    from jobs.config import load

    return load(path)


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.pass_obj
def scheduler(obj, config_path):
    """Run the scheduled jobs (APScheduler, Asia/Shanghai time) until stopped."""
    from jobs.registry import default_registry
    from jobs.scheduler import serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = _config(config_path)
    serve(obj.factory, default_registry(config), config)


@click.group("jobs")
def jobs_group():
    """Scheduled jobs: what they are, their runs, running one now."""


@jobs_group.command("list")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--date", "on", callback=parse_date, help="Business date (default: today).")
@click.pass_obj
def list_jobs(obj, config_path, on):
    """Each job: its schedule, period, last run and the period due next."""
    from jobs.registry import default_registry
    from jobs.scheduler import Runner
    from ledger.clock import business_today
    from ledger.ops.runs import latest_runs

    config = _config(config_path)
    registry = default_registry(config)
    on = on or business_today()
    runner = Runner(obj.factory, registry, config)
    with obj.factory() as s:
        latest = latest_runs(s)
    for job in registry:
        settings = config.job(job.name)
        last = latest.get(job.name)
        last_text = f"{last.period} {last.status} (attempt {last.attempt})" if last else "never run"
        pending = runner.pending(job, on)
        due = ", ".join(p.key for p in pending[:3]) + (" …" if len(pending) > 3 else "")
        click.echo(
            f"{job.name:<16} {settings.schedule:<14} {job.period or 'every trigger':<13} "
            f"{'enabled' if settings.enabled else 'disabled':<9} last: {last_text}; "
            f"due: {due or '-'}"
        )
        click.echo(f"{'':<16} {job.description}")


@jobs_group.command("history")
@click.option("--job", help="Only this job's runs.")
@click.option("--status", help="running, succeeded or failed.")
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--before", type=int, help="Runs with ids below this (the next page).")
@click.pass_obj
def history(obj, job, status, limit, before):
    """Runs of the jobs, newest first."""
    from ledger.errors import FilterError
    from ledger.ops.runs import runs_page

    try:
        with obj.factory() as s:
            page = runs_page(s, job=job, status=status, limit=limit, before=before)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    for r in page.items:
        took = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
        counts = " ".join(f"{k}={v}" for k, v in sorted((r.counts or {}).items()))
        click.echo(
            f"{r.id:>6} {r.job:<16} {r.period:<10} {r.status:<9} #{r.attempt} "
            f"{r.started_at:%Y-%m-%d %H:%M:%S}Z "
            f"{f'{took:.1f}s' if took is not None else '-':>8} {counts}"
        )
        if r.error:
            click.echo(f"{'':>6} error: {r.error.splitlines()[0]}")
    if page.next_before:
        click.echo(f"more: --before {page.next_before}")


@jobs_group.command("run")
@click.argument("name")
@click.option("--date", "on", callback=parse_date, help="Business date (default: today).")
@click.option("--again", is_flag=True, help="Run a period that already succeeded once more.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.pass_obj
def run(obj, name, on, again, config_path):
    """Run job NAME now for the period due on --date, recorded like a scheduled run."""
    import sys

    from jobs.registry import default_registry
    from jobs.scheduler import Runner, holder_name
    from ledger.clock import business_today

    config = _config(config_path)
    runner = Runner(obj.factory, default_registry(config), config, holder=holder_name("cli"))
    outcome = runner.run_now(name, on or business_today(), again=again)
    counts = " ".join(f"{k}={v}" for k, v in sorted(outcome.counts.items()))
    click.echo(f"{outcome.job} {outcome.period or ''} {outcome.status} {counts}".replace("  ", " "))
    if outcome.error:
        click.echo(f"error: {outcome.error}", err=True)
        sys.exit(1)


@click.group("alerts")
def alerts_group():
    """Alerts raised by the jobs: list and acknowledge."""


@alerts_group.command("list")
@click.option("--kind", help="Only alerts of this kind.")
@click.option("--open", "open_only", is_flag=True, help="Only alerts not acknowledged.")
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--before", type=int)
@click.pass_obj
def list_alerts(obj, kind, open_only, limit, before):
    """Alerts, newest first."""
    from ledger.errors import FilterError
    from ledger.ops.alerts import alerts_page

    try:
        with obj.factory() as s:
            page = alerts_page(s, kind=kind, open_only=open_only, limit=limit, before=before)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    for a in page.items:
        state = "open" if a.open else f"ack {a.acknowledged_by}"
        click.echo(
            f"{a.id:>6} {a.raised_at:%Y-%m-%d %H:%M}Z {a.severity:<8} {a.kind:<18} "
            f"x{a.times} {state:<12} {a.subject}"
        )
    if page.next_before:
        click.echo(f"more: --before {page.next_before}")


@alerts_group.command("ack")
@click.argument("alert_id", type=int)
@click.option("--actor", help="Who acknowledges (default: $FUNDLEDGER_ACTOR).")
@click.pass_obj
def ack(obj, alert_id, actor):
    """Acknowledge alert ALERT_ID."""
    from ledger.db import run_in_transaction
    from ledger.ops.alerts import acknowledge_alert

    who = actor_of(actor)
    alert = run_in_transaction(obj.factory, lambda s: acknowledge_alert(s, alert_id, actor=who))
    click.echo(f"alert {alert.id} acknowledged by {alert.acknowledged_by}")
