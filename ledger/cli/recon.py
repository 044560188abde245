"""``fundledger breaks``: reconciliation breaks — list, show, assign, explain, resolve,
comment — and ``fundledger reconcile`` of a stored bank file."""

from __future__ import annotations

import click

from ledger.cli.options import actor_of, parse_date
from ledger.money import format_yuan


def _money(value):
    return "-" if value is None else format_yuan(value)


@click.group("breaks")
def breaks_group():
    """Reconciliation breaks: list, show, assign, explain, resolve, comment."""


@breaks_group.command("list")
@click.option("--bank")
@click.option("--fund")
@click.option("--status")
@click.option("--type", "type_")
@click.option("--found-from", callback=parse_date)
@click.option("--found-to", callback=parse_date)
@click.option("--before", type=int)
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--actor")
@click.pass_obj
def list_cmd(obj, bank, fund, status, type_, found_from, found_to, before, limit, actor):
    """Breaks, newest first."""
    from ledger.errors import FilterError
    from ledger.recon.breaks import breaks_page

    with obj.factory() as s:
        try:
            page = breaks_page(
                s, actor=actor_of(actor), bank=bank, fund=fund, status=status, type=type_,
                found_from=found_from, found_to=found_to, before=before, limit=limit,
            )  # fmt: skip
        except FilterError as exc:
            raise click.UsageError(exc.zh or str(exc)) from None
    for b in page.items:
        click.echo(
            f"{b.id}\t{b.status}\t{b.type}\t{b.bank}\t{b.fund}\t{b.subject}\t{b.ref}\t"
            f"{_money(b.fund_figure)}\t{_money(b.bank_figure)}\t{format_yuan(b.difference)}\t"
            f"{b.found_on}\t{b.assignee or '-'}"
        )
    if page.next_before is not None:
        click.echo(f"(more: --before {page.next_before})")


@breaks_group.command("show")
@click.argument("break_id", type=int)
@click.option("--actor")
@click.pass_obj
def show_cmd(obj, break_id, actor):
    """A break with its history."""
    from ledger.recon.breaks import break_detail

    with obj.factory() as s:
        d = break_detail(s, break_id, actor=actor_of(actor))
    b = d.brk
    click.echo(f"差异 {b.id}  {b.type_zh} ({b.type})  状态 {b.status}")
    click.echo(f"银行 {b.bank}  基金 {b.fund}  对象 {b.subject} {b.ref}".rstrip())
    click.echo(b.summary_zh())
    click.echo(b.detail_zh)
    click.echo(f"发现 {b.found_on}  最近 {b.last_seen_on}  经办 {b.assignee or '-'}")
    if b.explanation:
        click.echo(f"说明 {b.explanation}")
    if b.resolved_on:
        by = (
            f"凭证 {b.resolved_by_entry_id}"
            if b.resolved_by_entry_id
            else f"文件 {b.resolved_by_import_id} 第 {b.resolved_by_row or '-'} 行"
        )
        click.echo(f"解决 {b.resolved_on}  {by}")
    for e in d.history:
        click.echo(
            f"  {e.at:%Y-%m-%d %H:%M}  {e.actor}  {e.action}  "
            f"{e.old_status or '-'} -> {e.new_status or '-'}  {e.text}"
        )


def _work(obj, fn):
    from ledger.db import run_in_transaction

    b = run_in_transaction(obj.factory, fn)
    click.echo(f"break {b.id}: {b.status}, assignee {b.assignee or '-'}")


@breaks_group.command("assign")
@click.argument("break_id", type=int)
@click.argument("assignee")
@click.option("--actor")
@click.pass_obj
def assign_cmd(obj, break_id, assignee, actor):
    """Give a break to a clerk or an approver."""
    from ledger.recon.breaks import assign

    _work(obj, lambda s: assign(s, break_id, assignee, actor=actor_of(actor)))


@breaks_group.command("comment")
@click.argument("break_id", type=int)
@click.argument("text")
@click.option("--actor")
@click.pass_obj
def comment_cmd(obj, break_id, text, actor):
    """Add a comment to a break's history."""
    from ledger.recon.breaks import comment

    _work(obj, lambda s: comment(s, break_id, text, actor=actor_of(actor)))


@breaks_group.command("explain")
@click.argument("break_id", type=int)
@click.argument("text")
@click.option("--actor")
@click.pass_obj
def explain_cmd(obj, break_id, text, actor):
    """Mark a break explained (no entry needed), with the explanation."""
    from ledger.recon.breaks import explain

    _work(obj, lambda s: explain(s, break_id, text, actor=actor_of(actor)))


@breaks_group.command("resolve")
@click.argument("break_id", type=int)
@click.option("--entry", "entry_id", type=int, help="The journal entry that resolves it.")
@click.option("--import", "import_id", type=int, help="The bank file that resolves it.")
@click.option("--row", type=int, help="The row of that file.")
@click.option("--note", default="")
@click.option("--actor")
@click.pass_obj
def resolve_cmd(obj, break_id, entry_id, import_id, row, note, actor):
    """Resolve a break by the entry, or the bank file row, that settles it."""
    from ledger.recon.breaks import resolve

    _work(
        obj,
        lambda s: resolve(
            s, break_id, entry_id=entry_id, import_id=import_id, row=row, text=note,
            actor=actor_of(actor),
        ),
    )  # fmt: skip


@click.command("reconcile")
@click.argument("import_id", type=int)
@click.option("--actor")
@click.pass_obj
def reconcile_cmd(obj, import_id, actor):
    """Reconcile a stored balances or statement file against the fund."""
    from ledger.bankfiles.models import BankFileImport
    from ledger.db import run_in_transaction
    from ledger.recon.balances import reconcile_balances
    from ledger.recon.statement import reconcile_statement

    with obj.factory() as s:
        receipt = s.get(BankFileImport, import_id)
        kind = receipt.kind if receipt is not None else "balances"
    fn = reconcile_statement if kind == "statement" else reconcile_balances
    result = run_in_transaction(obj.factory, lambda s: fn(s, import_id, actor=actor_of(actor)))
    for key, value in result.counts().items():
        click.echo(f"{key}\t{value}")


@click.group("month-end")
def month_end_group():
    """Month-end: prepare the month's snapshot, show it."""


@month_end_group.command("prepare")
@click.argument("month")
@click.option("--actor")
@click.pass_obj
def month_end_prepare(obj, month, actor):
    """Prepare MONTH (YYYY-MM) again: its trial balance and fund statement, kept with the
    hash chain's head now (the month-end job does it on the first of the next month)."""
    from ledger.recon.monthend import prepare_snapshot

    snap = prepare_snapshot(obj.factory, month, actor=actor_of(actor))
    _show_snapshot(snap, ())


@month_end_group.command("show")
@click.argument("month")
@click.option("--actor")
@click.pass_obj
def month_end_show(obj, month, actor):
    """MONTH's stored snapshot, and the accounts whose balance at its end has changed
    since it was prepared."""
    from ledger.recon.monthend import changed_since_snapshot, month_end_snapshot

    with obj.factory() as s:
        snap = month_end_snapshot(s, month, actor=actor_of(actor))
        changed = changed_since_snapshot(s, month, actor=actor_of(actor))
    _show_snapshot(snap, changed)


def _show_snapshot(snap, changed):
    debits, credits = snap.totals
    click.echo(f"{snap.month} 月末快照  截至 {snap.as_of}  "
               f"生成 {snap.prepared_at:%Y-%m-%d %H:%M} UTC  由 {snap.prepared_by}")  # fmt: skip
    click.echo(f"链头 #{snap.chain_seq} {snap.chain_hash}")
    click.echo(f"试算平衡  {len(snap.lines)} 个账户  借方 {format_yuan(debits)}  "
               f"贷方 {format_yuan(credits)}")  # fmt: skip
    click.echo(f"净资本  期初 {format_yuan(snap.opening)}  期末 {format_yuan(snap.closing)}")
    for code, (opening, closing) in sorted(snap.sources.items()):
        click.echo(f"  {code}\t{format_yuan(opening)}\t{format_yuan(closing)}")
    click.echo(f"未处理对账差异  {snap.open_breaks}")
    if changed:
        click.echo(f"生成后变动的账户 {len(changed)} 个：")
        for code, d0, c0, d1, c1 in changed:
            click.echo(f"  {code}\t{format_yuan(d0 - c0)} -> {format_yuan(d1 - c1)}")
