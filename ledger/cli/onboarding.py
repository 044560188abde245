"""``fundledger onboard FILE.xlsx`` and ``fundledger onboard --template OUT.xlsx``:
existing books taken over from a workbook as opening entries (``ledger.bankfiles.onboarding``).

Exit codes: 0 when the workbook was posted and the books equal its totals; 1 when it was
refused (every bad cell is listed: sheet, row, column, value and the Chinese message) or
the books do not equal its totals; 2 for a usage error.
"""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.options import actor_of
from ledger.money import format_yuan


@click.command("onboard")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--template",
    "template",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the workbook's template (Chinese headers, an example row per sheet) here.",
)
@click.option("--actor", help="Who records it: admin and clerk (default: $FUNDLEDGER_ACTOR).")
@click.option("--approver", help="Who approves the allocations and guarantees: another user.")
@click.pass_obj
def onboard_command(obj, file, template, actor, approver):
    """Take over existing books from a workbook (--template writes one).

    Posts FILE.xlsx's opening position as of its cut-over date, or lists every bad cell.
    """
    from ledger.bankfiles import onboarding

    if template is not None:
        if file is not None:
            raise click.UsageError("give FILE or --template OUT, not both")
        onboarding.write_template(template)
        click.echo(f"template written: {template}")
        click.echo(f"模板已生成：{template}")
        return
    if file is None:
        raise click.UsageError("give the workbook FILE, or --template OUT to write a template")
    if not file.is_file():
        raise click.UsageError(f"no file {file}")
    actor = actor_of(actor)
    if not approver:
        raise click.UsageError("say who approves: --approver USER (not the actor)")
    from ledger.chain import drain_sealer
    from ledger.db import run_in_transaction

    try:
        book = onboarding.read_workbook(file)
        result = run_in_transaction(
            obj.factory,
            lambda s: onboarding.onboard(s, book, actor=actor, approver=approver),
        )
    except onboarding.OnboardingRejectedError as refused:
        _print_refused(refused)
        raise SystemExit(1) from None
    drain_sealer(obj.engine)
    _print_totals(result)
    if not result.matches:
        click.echo("error: the books do not equal the workbook's totals", err=True)
        click.echo("错误：入账结果与工作簿合计不一致", err=True)
        raise SystemExit(1)


def _print_refused(refused) -> None:
    click.echo(f"error: {refused}", err=True)
    click.echo(f"错误：{refused.zh}", err=True)
    click.echo("工作表\t行\t列\t内容\t错误", err=True)
    for c in refused.cells:
        click.echo(f"{c.sheet}\t{c.row}\t{c.column}\t{c.value}\t{c.zh}", err=True)


def _print_totals(result) -> None:
    books, wb = result.books, result.workbook
    echo = click.echo
    echo(f"onboarded as of {result.cut_over} 期初数据已入账（切换日期 {result.cut_over}）")
    echo(f"{'':<28}{'books 账簿':>20}{'workbook 工作簿':>20}")

    def line(label: str, a: int, b: int) -> None:
        mark = "" if a == b else "  ≠"
        echo(f"{label:<28}{format_yuan(a):>20}{format_yuan(b):>20}{mark}")

    for code in sorted(wb.contributed):
        line(f"capital 资本金 {code}", books.contributed.get(code, 0), wb.contributed[code])
    for fund in sorted(wb.treasury):
        line(f"treasury 待存放 {fund}", books.treasury.get(fund, 0), wb.treasury[fund])
    for fund, bank in sorted(wb.placed):
        key = (fund, bank)
        line(f"special 专户 {bank}/{fund}", books.placed.get(key, 0), wb.placed[key])
    for fund, bank in sorted(wb.exposure):
        key = (fund, bank)
        line(f"exposure 在保 {bank}/{fund}", books.exposure.get(key, 0), wb.exposure[key])
    line("principal 本金余额", books.principal_outstanding, wb.principal_outstanding)
    line("claims pending 待代偿", books.claimed, wb.claimed)
    echo(f"{'loans 在保贷款笔数':<28}{books.loans:>20}{wb.loans:>20}")
