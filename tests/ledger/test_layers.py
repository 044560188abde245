"""The books (``ledger`` itself: accounts, entries, chain, balances, periods, verify, db)
depend on nothing above them: the fund and the bank files register their checks and
constraint names through hooks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LEDGER = Path(__file__).resolve().parents[2] / "ledger"
#: The core's modules; the command line sits above every layer and may import them all.
CORE = sorted(p for p in LEDGER.glob("*.py") if p.name != "cli.py")
ABOVE = (
    "ledger.fund", "ledger.bankfiles", "ledger.recon", "ledger.ops", "ledger.reports", "web",
    "jobs",
)  # fmt: skip


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_the_core_imports_nothing_above_it(path):
    above = sorted(n for n in imported(path) if n.startswith(ABOVE))
    assert above == [], f"{path.name} imports {above}"


@pytest.mark.parametrize("package", ["fund", "bankfiles", "recon", "ops", "reports"])
def test_the_domain_never_imports_the_web_or_the_jobs(package):
    for path in sorted((LEDGER / package).rglob("*.py")):
        assert not {n for n in imported(path) if n.startswith(("web", "jobs"))}, path.name


#: Each domain package and the packages above it, which it never imports.
LAYERS = {
    "fund": ("ledger.bankfiles", "ledger.recon", "ledger.ops", "ledger.reports"),
    "bankfiles": ("ledger.recon", "ledger.ops", "ledger.reports"),
    "recon": ("ledger.ops", "ledger.reports"),
    "ops": ("ledger.reports",),
    "reports": ("ledger.cli", "ledger.demo"),
}


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_a_domain_package_never_imports_one_above_it(package):
    for path in sorted((LEDGER / package).rglob("*.py")):
        above = sorted(n for n in imported(path) if n.startswith(LAYERS[package]))
        assert above == [], f"{package}/{path.name} imports {above}"


def test_the_fund_registers_its_verify_checks_and_race_constraints():
    import ledger.fund.models  # noqa: F401  (registers)
    from ledger import db, verify

    assert "ledger.fund.checks:check_fund" in verify._CHECKS
    assert "uq_repayments_bank_code_bank_ref" in db._RACE_CONSTRAINTS


def test_only_the_command_line_imports_the_demo_city():
    users = sorted(
        str(path.relative_to(LEDGER))
        for path in LEDGER.rglob("*.py")
        if not path.is_relative_to(LEDGER / "demo")
        and any(n == "ledger.demo" or n.startswith("ledger.demo.") for n in imported(path))
    )
    assert users == ["cli/bankfiles.py", "cli/books.py"]
