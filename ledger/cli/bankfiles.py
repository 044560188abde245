"""``fundledger import KIND FILE [--bank CODE]`` and ``fundledger imports …``: a partner
bank's files (``--bank``) and the bureau's own lists (``borrowers``, ``guarantees``: no bank).

``import`` prints the receipt and exits 0 when the file was accepted or was a
duplicate of one accepted before, 1 when it was rejected (the error report's path is
printed; the report lists every bad row), and 2 for a usage or system error (unknown
kind or bank, ``--bank`` missing for a bank's file or given for a bureau list, a user
who may not act for the bank or import the list, a missing file, no database).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ledger.bankfiles import reports
from ledger.bankfiles.kinds import BANK_KINDS, BUREAU_KINDS, KINDS
from ledger.cli.options import actor_of, parse_date
from ledger.errors import FilterError, LedgerError
from ledger.money import format_yuan

if TYPE_CHECKING:
    from ledger.bankfiles.receipts import Problem, Receipt

# Each command imports what it calls: `imports list` and `import --help` should not pay
# for the posting machinery.

#: Errors shown on the terminal before pointing at the report.
SHOWN = 10


def print_receipt(receipt: Receipt) -> None:
    from ledger.bankfiles.receipts import STATUS_ZH

    echo = click.echo
    status_zh = STATUS_ZH[receipt.status]
    echo(f"receipt {receipt.id}: {receipt.status} {status_zh}")
    kind_zh = KINDS[receipt.kind].zh
    what = ", ".join(x for x in (receipt.format, receipt.encoding) if x)
    sender = "bureau" if receipt.bank is None else f"bank {receipt.bank}"
    echo(f"  {sender}, {receipt.kind} {kind_zh}, file {receipt.file_name}")
    echo(f"  {receipt.size:,} bytes{f' ({what})' if what else ''}, sha256 {receipt.sha256}")
    echo(
        f"  rows {receipt.rows:,}, posted {receipt.posted:,}, skipped {receipt.skipped:,}, "
        f"rows with errors {receipt.error_rows:,}"
    )
    if receipt.totals:
        echo("  totals " + ", ".join(f"{k} {format_yuan(v)}" for k, v in receipt.totals.items()))
    if receipt.entry_ids:
        shown = ", ".join(str(e) for e in receipt.entry_ids[:20])
        more = f" … ({len(receipt.entry_ids)} in all)" if len(receipt.entry_ids) > 20 else ""
        echo(f"  entries {shown}{more}")
    if receipt.duplicate_of is not None:
        echo(f"  already imported as receipt {receipt.duplicate_of}; nothing posted")
        echo(f"  已于第 {receipt.duplicate_of} 号回执导入，本次未入账")
    if receipt.message:
        echo(f"  {receipt.message}")
        echo(f"  {receipt.message_zh}")


def _problem_line(problem: Problem) -> str:
    where = "file" if problem.row is None else f"row {problem.row}"
    column = f", {problem.column}" if problem.column else ""
    value = f" [{problem.value}]" if problem.value else ""
    return f"  {where}{column}{value}: {problem.message} / {problem.zh}"


@click.command("import")
@click.argument("kind", type=click.Choice(sorted(KINDS), case_sensitive=False))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--bank",
    help="The partner bank the file comes from: required for "
    + ", ".join(BANK_KINDS)
    + "; none for the bureau's own lists ("
    + ", ".join(BUREAU_KINDS)
    + ").",
)
@click.option("--actor", help="The user who uploads (default: $FUNDLEDGER_ACTOR).")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the error report of a rejected file (default: FILE.errors.csv; "
    "a .xlsx name gives XLSX).",
)
@click.pass_obj
def import_command(obj, kind, file, bank, actor, report):
    """Import a partner bank's FILE, or the bureau's list, of KIND and print its receipt.

    A bank's files (disbursement, repayment, balances, statement) need --bank. The
    bureau's lists need none: borrowers (借款人名单, registered by a clerk) and
    guarantees (承诺担保名单, approved by an approver).
    """
    from sqlalchemy.exc import OperationalError

    from ledger.bankfiles import imports
    from ledger.chain import drain_sealer

    kind = kind.lower()
    if kind in BUREAU_KINDS and bank is not None:
        raise click.UsageError(
            f"a {kind} list is the bureau's own and belongs to no bank: leave out --bank "
            f"({BUREAU_KINDS[kind].zh}不属于任何经办银行，请勿指定 --bank)"
        )
    if kind in BANK_KINDS and bank is None:
        raise click.UsageError(
            f"a {kind} file comes from a partner bank: --bank CODE is required "
            f"({BANK_KINDS[kind].zh}须用 --bank 指定经办银行)"
        )
    try:
        with imports.gc_paused():  # this process does nothing else
            receipt = imports.import_file(
                obj.factory, bank=bank, kind=kind, path=file, actor=actor_of(actor)
            )
    except LedgerError as exc:
        click.echo(f"error: {exc}", err=True)
        if getattr(exc, "zh", None):
            click.echo(f"错误：{exc.zh}", err=True)
        raise SystemExit(2) from None
    except (OperationalError, OSError) as exc:  # no database, an unreadable file …
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        click.echo("错误：系统错误，文件未导入，请稍后重试或联系管理员", err=True)
        raise SystemExit(2) from None
    drain_sealer(obj.engine)
    print_receipt(receipt)
    if receipt.status != "rejected":
        return
    path = report or file.with_name(file.name + ".errors.csv")
    problems = reports.write_receipt_report(obj.factory, receipt.id, path)
    for problem in problems[:SHOWN]:
        click.echo(_problem_line(problem), err=True)
    if len(problems) > SHOWN:
        click.echo(f"  … and {len(problems) - SHOWN:,} more", err=True)
    click.echo(f"rejected: nothing was posted; error report: {path}", err=True)
    click.echo(f"文件被拒绝，未入账；错误报告：{path}", err=True)
    raise SystemExit(1)


@click.group("imports")
def imports_group():
    """Receipts of bank file uploads, their error reports, and the drop folder."""


@imports_group.command("list")
@click.option("--bank", help="Receipts of this bank's files (the bureau's lists: --kind).")
@click.option("--kind", help="Receipts of this kind of file: " + ", ".join(sorted(KINDS)) + ".")
@click.option("--status", help="Receipts in this status (accepted, rejected, …).")
@click.option("--uploaded-from", callback=parse_date, help="Uploaded on or after this date.")
@click.option("--uploaded-to", callback=parse_date, help="Uploaded on or before this date.")
@click.option("--limit", default=20, show_default=True, type=int, help="Receipts a page.")
@click.option("--before", type=int, help="Only receipts with ids below this (the next page).")
@click.pass_obj
def list_command(obj, bank, kind, status, uploaded_from, uploaded_to, limit, before):
    """The newest receipts first (upload dates are China dates; times are UTC)."""
    from ledger.bankfiles.receipts import receipts

    try:
        with obj.factory() as session:
            page = receipts(
                session, bank=bank, kind=kind, status=status, uploaded_from=uploaded_from,
                uploaded_to=uploaded_to, before=before, limit=limit,
            )  # fmt: skip
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    for r in page.items:
        click.echo(
            f"{r.id:>6}  {r.uploaded_at:%Y-%m-%d %H:%M}  {r.bank or 'bureau':<8} {r.kind:<12} "
            f"{r.status:<9} rows {r.rows:>9,}  posted {r.posted:>9,}  skipped {r.skipped:>7,}  "
            f"errors {r.error_rows:>7,}  {r.file_name}"
        )
    if page.next_before is not None:
        click.echo(f"next page: --before {page.next_before}")


@imports_group.command("show")
@click.argument("import_id", type=int)
@click.pass_obj
def show_command(obj, import_id):
    """One receipt and its first errors."""
    from ledger.bankfiles.receipts import error_lines, get_receipt
    from ledger.db import run_in_transaction

    def work(session):
        receipt = get_receipt(session, import_id)
        lines = []
        for problem in error_lines(session, import_id):
            lines.append(problem)
            if len(lines) >= SHOWN:
                break
        return receipt, lines

    receipt, problems = run_in_transaction(obj.factory, work)
    print_receipt(receipt)
    for problem in problems:
        click.echo(_problem_line(problem))
    if receipt.errors > len(problems):
        click.echo(f"  … and {receipt.errors - len(problems):,} more (fundledger imports report)")


@imports_group.command("report")
@click.argument("import_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(reports.FORMATS), help="Default: by --out.")
@click.pass_obj
def report_command(obj, import_id, out, fmt):
    """Write the error report of a receipt as CSV or XLSX."""
    problems = reports.write_receipt_report(obj.factory, import_id, out, fmt)
    click.echo(f"{len(problems):,} error(s) written to {out}")


@imports_group.command("drop-folder")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@click.option("--actor", default="system", show_default=True)
@click.option("--settle", default=10.0, show_default=True, help="Seconds a file must be unchanged.")
@click.pass_obj
def drop_folder_command(obj, root, actor, settle):
    """Import every file waiting in ROOT/inbox (see docs/bank-files.md)."""
    from ledger.bankfiles import dropfolder, imports
    from ledger.chain import drain_sealer

    with imports.gc_paused():  # this process does nothing else
        done = dropfolder.process(obj.factory, root, actor=actor, settle_seconds=settle)
    drain_sealer(obj.engine)
    for outcome in done:
        if outcome.status == "failed":
            click.echo(f"{outcome.name}: failed, left in the inbox (see the log)", err=True)
        else:
            click.echo(f"{outcome.name}: {outcome.status} → {outcome.moved_to}")
    if not done:
        click.echo("nothing to import")
    if any(outcome.status == "failed" for outcome in done):
        raise SystemExit(2)


@imports_group.command("demo")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--month",
    is_flag=False,
    flag_value="last",
    default=None,
    metavar="[YYYY-MM]",
    help="Instead: write a month of the banks' files (default: the last month of the books) "
    "into FOLDER, one folder per day of arrival, with a jobs.toml for running the jobs "
    "over them day by day; import nothing.",
)
@click.pass_obj
def demo_command(obj, folder, month):
    """Write the demo city's bank files into FOLDER and import them (after init --demo).

    With --month, a month of the demo banks' statements and balances with planted
    differences (docs/reconciliation.md, "A month of the demo banks' files")."""
    if month is not None:
        _demo_month(obj, folder, None if month == "last" else month)
        return
    from ledger.bankfiles.receipts import STATUS_ZH
    from ledger.chain import drain_sealer
    from ledger.demo.bank_files import demo_bank_files

    done = demo_bank_files(obj.factory, folder)
    drain_sealer(obj.engine)
    for path, r in done:
        click.echo(
            f"{path.name}: receipt {r.id} {r.status} {STATUS_ZH[r.status]}, "
            f"rows {r.rows}, posted {r.posted}, skipped {r.skipped}, errors {r.errors}"
        )


def _demo_month(obj, folder: Path, month: str | None) -> None:
    """Write the month's files and its jobs.toml; print the arrivals, the breaks planted
    and the alerts expected."""
    import json

    from ledger.demo.recon_files import write_month

    with obj.factory() as s:
        planted = write_month(s, folder, month=month)
    drop = (folder / "drop").resolve()
    lines = [
        "# The jobs over the month's files (docs/reconciliation.md).",
        "[drop_folder]",
        f"root = {json.dumps(str(drop), ensure_ascii=False)}",
        "settle_seconds = 0",
    ]
    for bank, spec in planted.expected_files().items():
        lines += ["", f"[expected_files.{bank}]", 'daily = ["statement"]',
                  f"working_days = {str(spec['working_days']).lower()}",
                  f"due_days = {spec['due_days']}"]  # fmt: skip
    (drop / "inbox").mkdir(parents=True, exist_ok=True)
    (folder / "jobs.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    click.echo(f"{planted.key}: {len(planted.files)} files of {', '.join(planted.banks)}")
    for f in planted.files:
        when = f"arrives {f.arrives_on}" if f.arrives_on else "never arrives"
        click.echo(f"  {f.name:<34} {when}{f'  ({f.note})' if f.note else ''}")
    click.echo(f"breaks planted ({len(planted.breaks)}):")
    for b in sorted(planted.breaks, key=lambda b: (b.bank, b.found_on, b.type, b.ref)):
        figures = f"fund {_yuan(b.fund_figure)}, bank {_yuan(b.bank_figure)}"
        if b.type == "status_differs":
            figures += f", {b.fund_days} / {b.bank_days} days overdue"
        state = b.status + (f" {b.resolved_on}" if b.resolved_on else "")
        click.echo(
            f"  {b.bank:<5} {b.type:<20} {b.subject} {b.ref}".rstrip()
            + f": {figures}; found {b.found_on}, last seen {b.last_seen_on}, {state}"
        )
    click.echo("file-missing alerts expected:")
    for a in planted.alerts:
        click.echo(f"  {a.key} raised {a.raised_on}")
    click.echo(f"jobs configuration: {folder / 'jobs.toml'}")


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else format_yuan(fen)


def register(cli: click.Group) -> None:
    cli.add_command(import_command)
    cli.add_command(imports_group)
