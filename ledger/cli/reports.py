"""The reports on the command line: ``fundledger report fund-statement``,
``report trial-balance``, ``report balance-sheet``, ``report ledger`` (attached to the
``report`` group of ``ledger.cli.fund`` by :func:`attach`) and ``fundledger
verify-report FILE``.

A report command builds the one report value (``ledger.reports``) and writes it in the
format asked for: ``--format text`` (the default, to the terminal), ``csv`` or ``xlsx``
(to ``--out FILE``; CSV may also go to the terminal) — or any format another module
registered (``ledger.reports.export.register_format``: the PDF renderer). The file is
written inside the session the report was read in, so a register's rows stream into it.

``verify-report`` exits 0 when the file matches the books, 1 when it differs, and 2 when
it cannot be read as a report (or the database cannot be reached).
"""

from __future__ import annotations

import sys

import click

from ledger.cli.options import parse_date


class FormatType(click.ParamType):
    """A report format: text, csv, xlsx, or any registered (checked when given)."""

    name = "format"

    def convert(self, value, param, ctx):
        from ledger.reports.export import formats

        known = formats()
        if value not in known:
            self.fail(f"{value!r} is not one of {', '.join(known)}", param, ctx)
        return value

    def get_metavar(self, param, ctx=None):
        return "[text|csv|xlsx|…]"


def _output(f):
    f = click.option(
        "--out", "out", type=click.Path(dir_okay=False, writable=True),
        help="The file to write (default: the terminal, for text and csv).",
    )(f)  # fmt: skip
    return click.option(
        "--format", "fmt", type=FormatType(), default="text", show_default=True,
        help="text, csv, xlsx, or another installed format (pdf).",
    )(f)  # fmt: skip


def _emit(report, fmt: str, out: str | None) -> None:
    from ledger.reports.export import export

    if out is None:
        if fmt not in ("text", "csv"):
            raise click.UsageError(f"--format {fmt} writes a file: give --out FILE")
        stream = sys.stdout.buffer
        sys.stdout.flush()
        export(report, fmt, stream)
        stream.flush()
        return
    with open(out, "wb") as f:
        export(report, fmt, f)
    click.echo(f"{report.kind} written to {out} ({fmt}); fingerprint {report.fingerprint}")


def _produce(obj, build, fmt: str, out: str | None) -> None:
    """Build the report and write it in one session (a register's rows stream from it).

    What is committed and awaits its seal is sealed first: the anchor of an open period
    (the chain's head) then covers every entry the figures count."""
    from ledger.chain import seal_pending
    from ledger.errors import FilterError

    seal_pending(obj.engine)
    try:
        with obj.factory() as s:
            _emit(build(s), fmt, out)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None


@click.command("fund-statement")
@click.option("--from", "start", required=True, callback=parse_date, help="The first day.")
@click.option("--to", "end", required=True, callback=parse_date, help="The last day.")
@click.option("--fund", "fund_code", help="One fund only (default: the city, consolidated).")
@_output
@click.pass_obj
def fund_statement_cmd(obj, start, end, fund_code, fmt, out):
    """The fund statement for a period: capital by source, movements by kind, assets and
    liabilities, exposure by bank, and the proof net capital = assets − liabilities."""
    from ledger.reports.fund_statement import fund_statement_report

    _produce(obj, lambda s: fund_statement_report(s, start, end, fund_code), fmt, out)


@click.command("trial-balance")
@click.option("--as-of", "as_of", required=True, callback=parse_date, help="The date.")
@_output
@click.pass_obj
def trial_balance_cmd(obj, as_of, fmt, out):
    """The trial balance as of a date: every account's debit or credit balance."""
    from ledger.reports.trial_balance import trial_balance_report

    _produce(obj, lambda s: trial_balance_report(s, as_of), fmt, out)


@click.command("balance-sheet")
@click.option("--as-of", "as_of", required=True, callback=parse_date, help="The date.")
@_output
@click.pass_obj
def balance_sheet_cmd(obj, as_of, fmt, out):
    """The balance sheet as of a date: assets, liabilities, net assets, memorandum."""
    from ledger.reports.trial_balance import balance_sheet_report

    _produce(obj, lambda s: balance_sheet_report(s, as_of), fmt, out)


@click.command("ledger")
@click.argument("accounts", metavar="ACCOUNT...", nargs=-1, required=True)
@click.option("--from", "start", callback=parse_date,
              help="The first day (default: from the first posting).")  # fmt: skip
@click.option("--to", "end", required=True, callback=parse_date, help="The last day.")
@click.option("--fund", "fund_code", help="Only the accounts of this fund.")
@click.option("--kind", help="Only the entries of this kind (e.g. claim.payment).")
@click.option("--side", type=click.Choice(["D", "C"]), help="Only the debits or the credits.")
@_output
@click.pass_obj
def ledger_cmd(obj, accounts, start, end, fund_code, kind, side, fmt, out):
    """General-ledger detail of ACCOUNT (and the accounts below it; several may be named)
    for a period: opening balance, every posting with its running balance and source,
    closing balance."""
    from ledger.reports.general_ledger import general_ledger

    _produce(
        obj,
        lambda s: general_ledger(s, accounts, start, end, fund=fund_code, kind=kind, side=side),
        fmt,
        out,
    )


COMMANDS = (fund_statement_cmd, trial_balance_cmd, balance_sheet_cmd, ledger_cmd)


def attach(group: click.Group) -> None:
    """Add the reports' commands to the ``report`` group."""
    for command in COMMANDS:
        group.add_command(command)


@click.command("verify-report")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.pass_obj
@click.pass_context
def verify_report(ctx, obj, path):
    """Recompute a report file (CSV, XLSX) from the books and say whether every figure
    still matches.

    FILE as `report … --format csv|xlsx` wrote it. Exit 0 if every figure matches; 1
    naming each that differs and the entries posted since the file's anchor; 2 if the
    file cannot be read as a report."""
    from ledger.reports.errors import UnreadableReportError
    from ledger.reports.verify import read_file, verify

    try:
        found = read_file(path)
        with obj.factory() as s:
            verdict = verify(s, found)
            _show_verdict(verdict)
    except UnreadableReportError as exc:
        click.echo(f"error: {path}: {exc}", err=True)
        if exc.zh:
            click.echo(f"错误：{exc.zh}", err=True)
        ctx.exit(2)
    ctx.exit(0 if verdict.matches else 1)


def _show_verdict(v) -> None:
    from ledger.money import format_yuan

    found, books = v.file, v.books
    params = "，".join(f"{k}={val}" for k, val in found.params)
    a = found.anchor
    state = f"closed through {a.closed_through}" if a.closed else "open period"
    click.echo(f"{found.kind} ({params}), {found.format}: anchor seq {a.seq} ({state})")
    if v.matches:
        click.echo(f"MATCHES the books: all {v.figures} figures are the same.")
        if books.anchor != found.anchor:
            b = books.anchor
            click.echo(
                f"The books' head has moved since (seq {a.seq} → {b.seq}); nothing the "
                "report shows changed."
            )
    else:
        n = len(v.differences) + len(v.only_in_file) + len(v.only_in_books)
        click.echo(f"DIFFERS from the books: {n} difference{'s' if n != 1 else ''}")
        for d in v.differences:
            click.echo(f"  {d.section} / {d.row} / {d.column}: file {d.file}, books {d.books}")
        for label in v.only_in_file:
            click.echo(f"  row only in the file: {label}")
        for label in v.only_in_books:
            click.echo(f"  row only in the books: {label}")
    if not v.fingerprint_holds:
        click.echo(
            "The file's figures do not give the fingerprint it carries: it was changed "
            "after it was produced."
        )
        for d in v.edited:
            click.echo(f"  changed in the file: {d.section} / {d.row} / {d.column}: "
                       f"{d.books} → {d.file}")  # fmt: skip
    if v.matches:
        return
    if v.since_count:
        click.echo(
            f"{v.since_count} entr{'ies' if v.since_count != 1 else 'y'} posted since the "
            f"file's anchor (seq > {a.seq}), dated on or before the period's end:"
        )
        for e in v.since:
            seq = e.seq if e.seq is not None else "unsealed"
            click.echo(
                f"  entry {e.id} (seq {seq}) {e.effective_date} {e.kind} "
                f"{format_yuan(e.amount)}: {e.description}"
            )
        if v.since_count > len(v.since):
            click.echo(f"  … and {v.since_count - len(v.since)} more")
    else:
        click.echo(
            f"No entry posted since the file's anchor (seq {a.seq}) is dated in the period: "
            "the books did not change what it reports."
        )
