"""Reconciling the demo banks' files with planted differences: exactly the planted breaks,
with exact figures; a second run finds the same breaks; resolving and reopening."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ledger.bankfiles import imports
from ledger.db import run_in_transaction
from ledger.demo import recon_files
from ledger.demo.city import build_fund_demo
from ledger.fund.errors import PermissionDeniedError, StatusTransitionError
from ledger.fund.models import Loan
from ledger.fund.positions import outstanding_loans
from ledger.fund.read.dashboard import dashboard
from ledger.principal import SYSTEM
from ledger.recon import breaks
from ledger.recon.balances import reconcile_balances
from ledger.recon.errors import BreakError
from ledger.recon.statement import reconcile_statement

TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def demo(factory):
    build_fund_demo(factory, loans=150, today=TODAY)
    with factory() as s:
        as_of = s.scalar(select(func.max(func.coalesce(Loan.last_paid_on, Loan.disbursed_on))))
    return factory, as_of


def _import(factory, bank, kind, path):
    r = imports.import_file(factory, bank=bank, kind=kind, path=path, actor=SYSTEM, today=TODAY)
    assert r.status == "accepted", r
    return r.id


def test_outstanding_loans_agree_with_the_dashboard(demo):
    factory, as_of = demo
    with factory() as s:
        figures = outstanding_loans(s, as_of)
        board = dashboard(s, as_of)
    for line in board.banks:
        mine = [f for f in figures if (f.bank, f.fund) == (line.code, line.fund)]
        assert len(mine) == line.outstanding.count
        assert sum(f.principal_outstanding for f in mine) == line.outstanding.principal
        assert sum(1 for f in mine if f.days_overdue) == line.overdue.count


def test_balances_find_exactly_the_planted_breaks(demo, tmp_path):
    factory, as_of = demo
    path = tmp_path / f"ICBC_balances_{as_of:%Y%m%d}_1.csv"
    with factory() as s:
        planted = recon_files.write_balances(s, "ICBC", as_of, path)
    import_id = _import(factory, "ICBC", "balances", path)
    result = run_in_transaction(factory, lambda s: reconcile_balances(s, import_id, actor=SYSTEM))
    got = sorted(
        (f.type, f.subject, f.fund_figure, f.bank_figure, f.difference)
        for f in result.findings
        if f.type != "status_differs"
    )
    (typo,) = planted["amount_differs"]
    (gone,) = planted["missing_at_bank"]
    (ghost,) = planted["missing_in_fund"]
    assert got == sorted(
        [
            ("amount_differs", typo[0], typo[1], typo[1] + 10_000, 10_000),
            ("missing_at_bank", gone[0], gone[1], None, -gone[1]),
            ("missing_in_fund", "GHOST-ICBC-1", None, 500_000, 500_000),
        ]
    )
    assert ghost == ("GHOST-ICBC-1", None, 500_000)
    (status,) = [f for f in result.findings if f.type == "status_differs"]
    (planted_status,) = planted["status_differs"]
    assert (status.subject, status.fund_days, status.bank_days) == planted_status
    counts = result.counts()
    assert counts["breaks_new"] == 4 and counts["breaks_seen_again"] == 0
    # The same file again: the same four breaks, seen again, none new.
    again = run_in_transaction(factory, lambda s: reconcile_balances(s, import_id, actor=SYSTEM))
    assert again.counts()["breaks_new"] == 0 and again.counts()["breaks_seen_again"] == 4
    with factory() as s:
        page = breaks.breaks_page(s, actor="wang.fang", bank="ICBC")
        assert len(page.items) == 4
        assert {b.status for b in page.items} == {"open"}
        assert all(b.found_on == as_of for b in page.items)


def test_working_a_break_resolve_reopen_and_history(demo, tmp_path):
    factory, as_of = demo
    path = tmp_path / "ICBC_balances.csv"
    with factory() as s:
        recon_files.write_balances(s, "ICBC", as_of, path)
    import_id = _import(factory, "ICBC", "balances", path)
    run_in_transaction(factory, lambda s: reconcile_balances(s, import_id, actor=SYSTEM))
    with factory() as s:
        (ghost,) = breaks.breaks_page(s, actor="wang.fang", type="missing_in_fund").items
    bid = ghost.id
    run_in_transaction(factory, lambda s: breaks.assign(s, bid, "wang.fang", actor="li.jun"))
    run_in_transaction(factory, lambda s: breaks.comment(s, bid, "问银行", actor="wang.fang"))
    with pytest.raises(BreakError) as info:
        run_in_transaction(factory, lambda s: breaks.explain(s, bid, " ", actor="wang.fang"))
    assert info.value.code == "break" and info.value.zh == "说明不能为空"
    with pytest.raises(PermissionDeniedError):
        run_in_transaction(factory, lambda s: breaks.comment(s, bid, "x", actor="abc.sun"))
    run_in_transaction(
        factory,
        lambda s: breaks.resolve(s, bid, import_id=import_id, row=3, actor="wang.fang", on=as_of),
    )
    with pytest.raises(StatusTransitionError):
        run_in_transaction(factory, lambda s: breaks.explain(s, bid, "银行错报", actor="wang.fang"))
    # Found again by the next run: reopened, with a history event.
    again = run_in_transaction(factory, lambda s: reconcile_balances(s, import_id, actor=SYSTEM))
    assert again.counts()["breaks_reopened"] == 1
    with factory() as s:
        detail = breaks.break_detail(s, bid, actor="audit.he")
    assert detail.brk.status == "open" and detail.brk.resolved_by_import_id is None
    assert [(e.action, e.old_status, e.new_status) for e in detail.history] == [
        ("found", None, "open"),
        ("assigned", "open", "open"),
        ("commented", "open", "open"),
        ("resolved", "open", "resolved"),
        ("reopened", "resolved", "open"),
    ]
    assert detail.brk.assignee == "wang.fang"
    # A later file without the difference resolves it automatically.
    clean = tmp_path / "ICBC_balances_clean.csv"
    next_day = as_of + dt.timedelta(days=1)
    with factory() as s:
        figures = outstanding_loans(s, next_day, bank="ICBC")
    clean.write_text(
        "as_of,contract_no,principal_outstanding,days_overdue\n"
        + "".join(
            f"{next_day},{f.contract_no},{f.principal_outstanding / 100:.2f},{f.days_overdue}\n"
            for f in figures.values()
        ),
        "utf-8",
    )
    clean_id = _import(factory, "ICBC", "balances", clean)
    done = run_in_transaction(factory, lambda s: reconcile_balances(s, clean_id, actor=SYSTEM))
    assert done.findings == () and done.counts()["breaks_resolved"] == 4
    with factory() as s:
        b = breaks.break_detail(s, bid, actor="wang.fang").brk
    assert (b.status, b.resolved_by_import_id, b.resolved_on) == ("resolved", clean_id, next_day)


def test_statement_matches_and_finds_the_planted_lines(demo, tmp_path):
    factory, as_of = demo
    start = dt.date(as_of.year, 1, 1)
    path = tmp_path / "ICBC_statement.csv"
    with factory() as s:
        rows = recon_files.write_statement(s, "ICBC", start, as_of, path)
    import_id = _import(factory, "ICBC", "statement", path)
    result = run_in_transaction(factory, lambda s: reconcile_statement(s, import_id, actor=SYSTEM))
    got = sorted((f.type, f.ref, f.bank_figure, f.as_of) for f in result.findings)
    end = rows[-1][0]
    closing_fund = rows[-3][4] if len(rows) > 2 else None
    assert got == sorted(
        [
            ("interest_unrecorded", f"INT{as_of:%Y%m%d}", 12_345, as_of),
            ("missing_in_fund", f"FEE{as_of:%Y%m%d}", -1_200, as_of),
            ("balance_differs", f"closing:{end}", rows[-1][4], end),
        ]
    )
    (closing,) = [f for f in result.findings if f.type == "balance_differs"]
    assert closing.difference == 12_345 - 1_200
    assert closing_fund is None or closing.fund_figure == closing_fund
    assert result.matched["reference"] + result.matched["amount"] == len(rows) - 2
    again = run_in_transaction(factory, lambda s: reconcile_statement(s, import_id, actor=SYSTEM))
    assert again.counts()["breaks_new"] == 0 and again.counts()["breaks_seen_again"] == 3


def test_month_end_guard_ageing_and_the_cli(demo, tmp_path, db_url):
    from click.testing import CliRunner

    from ledger.cli import cli
    from ledger.recon.ageing import ageing
    from ledger.recon.errors import OpenBreaksError
    from ledger.recon.monthend import close_month, prepare_month_end

    factory, as_of = demo
    path = tmp_path / "ICBC_balances.csv"
    with factory() as s:
        recon_files.write_balances(s, "ICBC", as_of, path)
        aged = ageing(s, as_of)
        figures = outstanding_loans(s, as_of)
    assert sum(aged.buckets.values()) == sum(1 for f in figures if f.days_overdue)
    assert all(f.days_overdue == 90 for f in aged.claim_eligible)
    import_id = _import(factory, "ICBC", "balances", path)
    run_in_transaction(factory, lambda s: reconcile_balances(s, import_id, actor=SYSTEM))
    month = f"{as_of:%Y-%m}"
    with pytest.raises(OpenBreaksError) as info:
        run_in_transaction(factory, lambda s: close_month(s, month, actor="li.jun", today=TODAY))
    assert info.value.code == "open-breaks"
    assert info.value.zh.startswith(f"截至 {as_of.replace(day=30)} 发现的 4 项对账差异尚未处理")
    with factory() as s:
        assert len(prepare_month_end(s, month).open_breaks) == 4
    runner = CliRunner()
    url = ["--database-url", db_url]
    out = runner.invoke(cli, [*url, "breaks", "list", "--actor", "audit.he"])
    assert out.exit_code == 0, out.output
    assert len(out.output.splitlines()) == 4
    first = int(out.output.split("\t", 1)[0])
    out = runner.invoke(
        cli, [*url, "breaks", "explain", str(first), "银行补报", "--actor", "wang.fang"]
    )
    assert out.exit_code == 0 and "explained" in out.output
    out = runner.invoke(cli, [*url, "breaks", "show", str(first), "--actor", "wang.fang"])
    assert "explained" in out.output and "银行补报" in out.output
