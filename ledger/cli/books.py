"""The books' own commands: init, verify, balances, trial-balance, entries, the manual
``post``/``reverse``/``account open`` (an admin's, never on the fund's accounts),
close-period and seal. ``ledger.cli`` loads this module when one of them runs."""

from __future__ import annotations

import datetime as dt
import sys

import click

from ledger.cli.options import actor_of, parse_date
from ledger.models import AccountType, Side
from ledger.money import MoneyError, format_yuan, yuan_to_fen

RECORDED_AT_HELP = "As recorded (committed and sealed) by this UTC moment."

# Each command imports what it calls: `entries` should not pay for the posting machinery.

_actor = actor_of
_date = parse_date


def _datetime(_ctx, _param, value):
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time (YYYY-MM-DDTHH:MM[:SS], UTC)") from None


@click.command()
@click.option("--demo", is_flag=True, help="Also post the demo city's books.")
@click.option("--seed", default=2026, show_default=True)
@click.option("--loans", default=300, show_default=True, help="Demo loans to create.")
@click.pass_obj
def init(obj, demo: bool, seed: int, loans: int):
    """Create or upgrade the database to the newest schema."""
    from ledger import migrate  # Alembic is loaded by this command only

    migrate.upgrade(obj.engine)
    click.echo(f"database at revision {migrate.current_revision(obj.engine)}")
    if demo:
        from ledger.demo.city import build_fund_demo

        summary = build_fund_demo(obj.factory, seed=seed, loans=loans)
        click.echo(summary.line())


@click.command()
@click.pass_obj
def verify(obj):
    """Recompute the hash chain, every invariant and every balance."""
    from ledger.verify import verify as verify_books

    with obj.factory() as session:
        report = verify_books(session)
    for problem in report.problems:
        click.echo(f"FAIL {problem}", err=True)
    summary = (
        f"{report.entries} entries ({report.sealed} sealed, {report.unsealed} awaiting seal), "
        f"{report.postings} postings, {report.accounts} accounts"
    )
    if report.ok:
        click.echo(f"ok: {summary}")
        return
    click.echo(f"error: {len(report.problems)} problem(s) in {summary}", err=True)
    sys.exit(1)


@click.command()
@click.option("--as-of", callback=_date, help="Effective date (inclusive).")
@click.option("--recorded-at", callback=_datetime, help=RECORDED_AT_HELP)
@click.option("--under", help="Only this account and those below it.")
@click.option("--all", "show_all", is_flag=True, help="Include accounts with no postings.")
@click.option("--depth", type=click.IntRange(1, 8), help="Only accounts this many levels deep.")
@click.pass_obj
def balances(obj, as_of, recorded_at, under, show_all, depth):
    """Balances of every account, group totals included (yuan, normal direction)."""
    from ledger import balances as bal

    with obj.factory() as session:
        rows = bal.balances(session, as_of=as_of, recorded_at=recorded_at, under=under)
    if not show_all:
        rows = [r for r in rows if r.debits or r.credits]
    if depth is not None:
        rows = [r for r in rows if r.code.count(":") < depth]
    width = max((len(r.code) for r in rows), default=10)
    for r in rows:
        click.echo(f"{r.code:<{width}}  {format_yuan(r.balance):>20}  {r.name}")


@click.command("trial-balance")
@click.option("--as-of", callback=_date, help="Effective date (inclusive).")
@click.option("--recorded-at", callback=_datetime, help=RECORDED_AT_HELP)
@click.option("--totals-only", is_flag=True, help="Only each section's totals.")
@click.pass_obj
def trial_balance(obj, as_of, recorded_at, totals_only):
    """Debit and credit balance of every account; each section totals to zero."""
    from ledger import balances as bal

    with obj.factory() as session:
        tb = bal.trial_balance(session, as_of=as_of, recorded_at=recorded_at)
    width = max((len(ln.code) for ln in tb.lines), default=10)
    memo = AccountType.MEMORANDUM.value
    for title, is_memo in (("balance sheet and results", False), ("memorandum", True)):
        click.echo(f"-- {title}")
        for ln in (x for x in tb.lines if (x.type == memo) == is_memo and not totals_only):
            d = format_yuan(ln.debit) if ln.debit else ""
            c = format_yuan(ln.credit) if ln.credit else ""
            click.echo(f"{ln.code:<{width}}  {d:>20}  {c:>20}")
        d, c = tb.total(memorandum=is_memo)
        click.echo(f"{'total':<{width}}  {format_yuan(d):>20}  {format_yuan(c):>20}")
    click.echo(f"net {format_yuan(tb.net)}")
    if tb.net:
        sys.exit(1)


def _legs(values: tuple[str, ...], side: Side) -> list:
    from ledger.entries import Leg

    legs = []
    for value in values:
        code, sep, amount = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r}: write ACCOUNT=YUAN, e.g. asset:treasury=100.00")
        try:
            legs.append(Leg(code.strip(), side, yuan_to_fen(amount)))
        except MoneyError as exc:
            raise click.BadParameter(str(exc)) from None
    return legs


@click.command()
@click.option("--date", "effective_date", required=True, callback=_date)
@click.option("--kind", required=True, help="e.g. capital.allocation")
@click.option("--description", default="")
@click.option("--debit", "debits", multiple=True, metavar="ACCOUNT=YUAN")
@click.option("--credit", "credits", multiple=True, metavar="ACCOUNT=YUAN")
@click.option("--key", "idempotency_key", help="Idempotency key: a retry returns the original.")
@click.option("--actor", help="The user who acts (default: $FUNDLEDGER_ACTOR).")
@click.pass_obj
def post(obj, effective_date, kind, description, debits, credits, idempotency_key, actor):
    """Post one manual journal entry (admin; never on the fund's own accounts)."""
    from ledger.chain import drain_sealer
    from ledger.db import run_in_transaction
    from ledger.entries import EntryDraft
    from ledger.fund.manual import post_manual_entry

    draft = EntryDraft(
        effective_date,
        kind,
        tuple(_legs(debits, Side.DEBIT) + _legs(credits, Side.CREDIT)),
        description,
        idempotency_key,
    )
    result = run_in_transaction(
        obj.factory, lambda s: post_manual_entry(s, draft, actor=_actor(actor))
    )
    drain_sealer(obj.engine)
    click.echo(f"entry {result.entry_id} {'posted' if result.created else 'already posted'}")


@click.command()
@click.argument("entry_id", type=int)
@click.option("--date", "effective_date", callback=_date, help="Default: the original's date.")
@click.option("--description")
@click.option("--actor", help="The user who acts (default: $FUNDLEDGER_ACTOR).")
@click.pass_obj
def reverse(obj, entry_id, effective_date, description, actor):
    """Post the reversing entry of manual entry ENTRY_ID (admin)."""
    from ledger.chain import drain_sealer
    from ledger.db import run_in_transaction
    from ledger.fund.manual import reverse_manual_entry

    result = run_in_transaction(
        obj.factory,
        lambda s: reverse_manual_entry(
            s, entry_id, actor=_actor(actor), effective_date=effective_date, description=description
        ),
    )
    drain_sealer(obj.engine)
    click.echo(f"entry {result.entry_id} reverses entry {entry_id}")


@click.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--before", type=int, help="Show entries with ids below this (paging).")
@click.option("--kind", help="Only entries of this kind, e.g. loan.disbursement.")
@click.option("--account", help="Only entries posting to this account or one below it.")
@click.option("--from", "date_from", callback=_date, help="Effective on or after this date.")
@click.option("--to", "date_to", callback=_date, help="Effective on or before this date.")
@click.pass_obj
def entries(obj, limit, before, kind, account, date_from, date_to):
    """The most recent journal entries with their postings."""
    from ledger.journal import entries_page

    with obj.factory() as session:
        page = entries_page(
            session, limit=limit, before=before, kind=kind, account=account,
            date_from=date_from, date_to=date_to,
        )  # fmt: skip
    for e in page.items:
        sealed = f"seq {e.seq}" if e.sealed else "awaiting seal"
        rev = f" reverses {e.reverses_id}" if e.reverses_id else ""
        click.echo(
            f"#{e.id} {e.effective_date} {e.kind}{rev} by {e.actor} ({sealed}) {e.description}"
        )
        for p in e.postings:
            click.echo(f"    {p.side} {p.account:<40} {format_yuan(p.amount):>18}")
    if page.next_before is not None:
        click.echo(f"… more: --before {page.next_before}")


@click.group()
def account():
    """Open and list accounts."""


@account.command("open")
@click.argument("code")
@click.argument("name")
@click.option("--type", "acc_type", type=click.Choice([t.value for t in AccountType]))
@click.option("--side", type=click.Choice(["D", "C"]), help="Normal side (memorandum roots).")
@click.option("--group", is_flag=True, help="A group account: sums children, takes no postings.")
@click.option("--no-overdraft", is_flag=True, help="Balance may never go below zero.")
@click.option("--bank")
@click.option("--capital-source")
@click.option("--district")
@click.option("--loan")
@click.option("--actor", help="The user who acts (default: $FUNDLEDGER_ACTOR).")
@click.pass_obj
def account_open(obj, code, name, acc_type, side, group, no_overdraft, actor, **dims):
    """Open account CODE named NAME (admin; never under the fund's own accounts)."""
    from ledger.accounts import AccountSpec
    from ledger.db import run_in_transaction
    from ledger.fund.manual import open_manual_account

    spec = AccountSpec(
        code,
        name,
        AccountType(acc_type) if acc_type else None,
        Side(side) if side else None,
        group,
        no_overdraft,
        **dims,
    )
    run_in_transaction(obj.factory, lambda s: open_manual_account(s, spec, actor=_actor(actor)))
    click.echo(f"account {code} opened")


@click.command("close-period")
@click.option("--through", required=True, callback=_date, help="Last day of the closed period.")
@click.option("--actor", help="The user who acts (default: $FUNDLEDGER_ACTOR).")
@click.pass_obj
def close_period_cmd(obj, through, actor):
    """Close the books through a date; entries dated then or earlier are refused after
    (an approver or an admin)."""
    from ledger.db import run_in_transaction
    from ledger.recon.monthend import close_through

    run_in_transaction(obj.factory, lambda s: close_through(s, through, actor=_actor(actor)))
    click.echo(f"books closed through {through}")


@click.command()
@click.pass_obj
def seal(obj):
    """Seal entries still awaiting their place in the hash chain (after a crash)."""
    from ledger.chain import seal_pending

    click.echo(f"sealed {seal_pending(obj.engine)} entries")
