"""``fundledger audit list``: the audit log — sign-ins, failed sign-ins, sign-outs and
every change made through the web, the API or a password command (auditors and admins)."""

from __future__ import annotations

import json

import click

from ledger.cli.options import actor_of, parse_date


@click.group("audit")
def audit_group():
    """The audit log: who did what, when, from which address (auditor, admin)."""


@audit_group.command("list")
@click.option("--who", help="Only what this user did.")
@click.option("--action", help="Only this action (sign-in, sign-in-failed, password-reset, …).")
@click.option("--target", help="Only what was done to this (user/wang.fang, allocation/12).")
@click.option("--outcome", help="Only ok or refused.")
@click.option("--since", callback=parse_date, help="From this day on (YYYY-MM-DD, China time).")
@click.option("--until", callback=parse_date, help="Through this day (YYYY-MM-DD, China time).")
@click.option("--before", type=int, help="Only ids below this (the next page).")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows a page.")
@click.option("--actor", help="Who asks (default: $FUNDLEDGER_ACTOR).")
@click.pass_obj
def list_cmd(obj, who, action, target, outcome, since, until, before, limit, actor):
    """The audit log, newest first; times are China time."""
    from ledger.clock import CHINA_OFFSET
    from ledger.errors import FilterError
    from ledger.fund.access import read_audit

    with obj.factory() as s:
        try:
            page = read_audit(
                s, actor=actor_of(actor), who=who, action=action, target=target,
                outcome=outcome, since=since, until=until, before=before, limit=limit,
            )  # fmt: skip
        except FilterError as exc:
            raise click.UsageError(str(exc)) from None
    if page.items:
        click.echo("id\ttime\tactor\taction\ttarget\toutcome\taddress\tdetail")
    for r in page.items:
        detail = json.dumps(r.detail, ensure_ascii=False, sort_keys=True) if r.detail else "-"
        click.echo(
            f"{r.id}\t{r.at + CHINA_OFFSET:%Y-%m-%d %H:%M:%S}\t{r.actor or '-'}\t{r.action}\t"
            f"{r.target or '-'}\t{r.outcome}\t{r.address or '-'}\t{detail}"
        )
    if page.next_before is not None:
        click.echo(f"next page: --before {page.next_before}")
