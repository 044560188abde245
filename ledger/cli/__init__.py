"""The ``fundledger`` command line.

The commands live in the modules of this package — ``books`` (the books' own),
``fund`` (the fund's operations and reports), ``reports`` (the reports' documents: fund
statement, trial balance, balance sheet, ledger detail, joining ``fund``'s ``report``
group, and ``verify-report``), ``bankfiles`` (the banks' files and the bureau's lists),
``audit`` (the audit log) — and
each is imported only when it runs: ``fundledger --help`` lists them from the table
below without importing SQLAlchemy, the fund or Alembic. Other packages add commands
through the ``fundledger.commands`` entry-point group (the ledger imports neither
``web`` nor ``jobs``).

Errors print one line to stderr and exit non-zero: 1 when the books refuse or a check
fails, 2 for usage errors and when the database cannot be reached. A command that
changes the books acts as ``--actor`` or ``$FUNDLEDGER_ACTOR``, a user of the books;
the operation it calls authenticates that user and checks what they may do.
"""

from __future__ import annotations

import importlib
from functools import cached_property

import click
from click.formatting import HelpFormatter

from ledger.errors import LedgerError

#: Command name → (module in this package, attribute, the first line of its help).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("books", "init", "Create or upgrade the database to the newest schema."),
    "verify": ("books", "verify", "Recompute the hash chain, every invariant and every balance."),
    "balances": ("books", "balances",
                 "Balances of every account, group totals included (yuan, normal direction)."),
    "trial-balance": ("books", "trial_balance",
                      "Debit and credit balance of every account; each section totals to zero."),
    "post": ("books", "post",
             "Post one manual journal entry (admin; never on the fund's own accounts)."),
    "reverse": ("books", "reverse",
                "Post the reversing entry of manual entry ENTRY_ID (admin)."),
    "entries": ("books", "entries", "The most recent journal entries with their postings."),
    "account": ("books", "account", "Open and list accounts."),
    "close-period": ("books", "close_period_cmd",
                     "Close the books through a date; entries dated then or earlier are "
                     "refused after (an approver or an admin)."),
    "breaks": ("recon", "breaks_group",
               "Reconciliation breaks: list, show, assign, explain, resolve, comment."),
    "reconcile": ("recon", "reconcile_cmd",
                  "Reconcile a stored balances or statement file against the fund."),
    "month-end": ("recon", "month_end_group",
                  "Month-end: prepare the month's snapshot, show it."),
    "seal": ("books", "seal",
             "Seal entries still awaiting their place in the hash chain (after a crash)."),
    "district": ("fund", "district", "Districts (区县)."),
    "fund": ("fund", "fund_group", "Funds: the city's and each district's own (担保基金)."),
    "bank": ("fund", "bank", "Partner banks (经办银行)."),
    "source": ("fund", "source", "Capital sources (资金来源)."),
    "user": ("fund", "user",
             "Users and their roles; passwords, unlocking after failed sign-ins."),
    "audit": ("audit", "audit_group",
              "The audit log: who did what, when, from which address (auditor, admin)."),
    "borrower": ("fund", "borrower", "Borrowers (借款人), keyed by their resident ID number."),
    "policy": ("fund", "policy_group",
               "The rules in force: national eras and the locality's overrides."),
    "capital": ("fund", "capital_group",
                "Capital: allocations, placement at banks, deposit interest, guarantee fees, "
                "capital by source."),
    "guarantee": ("fund", "guarantee", "Guarantee approvals (承诺担保)."),
    "loan": ("fund", "loan",
             "Loans: disbursement, repayments, reversals, extension, a loan's state."),
    "claim": ("fund", "claim", "Compensation claims (代偿)."),
    "recovery": ("fund", "recovery", "Recoveries (追偿) on compensated loans."),
    "counter-guarantee": ("fund", "counter_guarantee", "Counter-guarantees (反担保)."),
    "write-off": ("fund", "write_off", "Write-offs (核销) of compensation receivables."),
    "report": ("fund", "report",
               "Reports: fund statement, trial balance, balance sheet, ledger detail, "
               "banks' positions and capacity, interest subsidy, guarantee fees."),
    "verify-report": ("reports", "verify_report",
                      "Recompute a report file (CSV, XLSX) from the books and say whether "
                      "every figure still matches."),
    "import": ("bankfiles", "import_command",
               "Import a partner bank's FILE, or the bureau's list, of KIND and print its "
               "receipt."),
    "onboard": ("onboarding", "onboard_command",
                "Take over existing books from a workbook (--template writes one)."),
    "imports": ("bankfiles", "imports_group",
                "Receipts of bank file uploads, their error reports, and the drop folder."),
}  # fmt: skip


class Context:
    """What every command shares: the database URL, and the engine made when first used."""

    def __init__(self, url: str | None):
        self.url = url

    @cached_property
    def engine(self):
        from ledger.db import make_engine

        return make_engine(self.url)

    @cached_property
    def factory(self):
        from ledger.db import session_factory

        return session_factory(self.engine)


class FundledgerGroup(click.Group):
    """Loads a command's module when the command runs; turns refusals and unreachable
    databases into one-line errors."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        _plugins()
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name not in COMMANDS:
            # Only a name the table lacks pays for reading the installed packages' metadata.
            _plugins()
            return self.commands.get(name)
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"ledger.cli.{module}"), attribute)

    def format_commands(self, ctx: click.Context, formatter: HelpFormatter) -> None:
        # From the table: listing the commands imports none of them.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in COMMANDS:
                stand_in = click.Command(name, help=COMMANDS[name][2])
                text = stand_in.get_short_help_str(limit)
            else:
                text = self.commands[name].get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LedgerError as exc:
            click.echo(f"error: {exc}", err=True)
            if getattr(exc, "zh", None):
                click.echo(f"错误：{exc.zh}", err=True)
            ctx.exit(1)
        except Exception as exc:
            from sqlalchemy.exc import OperationalError  # loaded already by any query

            if not isinstance(exc, OperationalError):
                raise
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            click.echo(f"error: database unavailable or not initialised: {first}", err=True)
            ctx.exit(2)


@click.group(cls=FundledgerGroup)
@click.option("--database-url", envvar="DATABASE_URL", help="Default: SQLite under instance/.")
@click.pass_context
def cli(ctx, database_url):
    """fundledger: the books of a micro-loan guarantee fund."""
    ctx.obj = Context(database_url)


_plugins_loaded = False


def _plugins() -> None:
    """Add the commands other packages install (the ``fundledger.commands`` group), once."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group="fundledger.commands"):
        cli.add_command(point.load(), point.name)


def main() -> None:
    cli(prog_name="fundledger")


__all__ = ["COMMANDS", "Context", "cli", "main"]
