"""The command line loads a command's module only when it runs, and lists every command
from one table that must match the commands themselves."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ledger.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_matches_each_command(name):
    module, attribute, help_line = COMMANDS[name]
    command = getattr(importlib.import_module(f"ledger.cli.{module}"), attribute)
    assert command.name == name
    first = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
    assert help_line == first


def test_help_lists_every_command_as_the_commands_describe_themselves():
    listed = CliRunner().invoke(cli, ["--help"]).output
    for name in COMMANDS:
        assert f"\n  {name} " in listed


def test_help_imports_neither_sqlalchemy_nor_the_fund_nor_alembic():
    code = (
        "import sys\n"
        "from ledger.cli import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='fundledger')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('sqlalchemy', 'alembic', 'openpyxl')\n"
        "               or m.startswith(('ledger.fund', 'ledger.bankfiles', 'ledger.cli.'))\n"
        # The shared option parsers (click and datetime only) are what plugins import.
        "               and m != 'ledger.cli.options')\n"
        "print(heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip() == "[]"
    assert "Commands:" in result.stdout


def test_a_tabled_command_reads_no_package_metadata_and_a_plugin_still_runs(monkeypatch):
    import importlib.metadata

    import click

    import ledger.cli as package

    @click.command("hello")
    def hello():
        click.echo("hello from a plugin")

    class Point:
        name = "hello"

        def load(self):
            return hello

    scans = []

    def entry_points(group):
        scans.append(group)
        return [Point()]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(package, "_plugins_loaded", False)
    monkeypatch.setattr(package.cli, "commands", dict(package.cli.commands))
    assert package.cli.get_command(click.Context(package.cli), "entries").name == "entries"
    assert scans == []
    result = CliRunner().invoke(package.cli, ["hello"])
    assert (result.exit_code, result.output) == (0, "hello from a plugin\n")
    assert scans == ["fundledger.commands"]
