"""Month-end snapshots: the trial balance and the month's fund statement kept as the
month-end job prepared them, with the chain head then; what changed since; who may read."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from jobs.recon import month_end_job
from ledger.cli import cli
from ledger.fund import capital
from ledger.fund.errors import PermissionDeniedError
from ledger.models import LedgerHead
from ledger.recon.errors import ReconError
from ledger.recon.monthend import (
    changed_since_snapshot,
    month_end_snapshot,
    prepare_snapshot,
    snapshot_month_end,
)
from tests.fund.conftest import CAPITAL, PLACED, D, run, setup_fund

#: The fixture's trial balance at the end of January 2025, fen: the sources' money
#: received into the treasury, 4,000,000 yuan of it placed at the two banks.
JANUARY = {
    "asset:treasury": (400_000_000, 0),
    "asset:special:ICBC": (PLACED["ICBC"], 0),
    "asset:special:ABC": (PLACED["ABC"], 0),
    **{f"capital:{source}": (0, fen) for source, fen in CAPITAL.items()},
}


@pytest.fixture
def fund(factory):
    return setup_fund(factory)


def lines(snap):
    return {code: (d, c) for code, d, c in snap.lines}


def test_the_month_end_job_keeps_the_months_snapshot_with_the_chain_head(fund):
    counts = month_end_job(fund, D(2025, 1, 31))
    with fund() as s:
        snap = month_end_snapshot(s, "2025-01", actor="auditor")
        head = s.get(LedgerHead, 1)
        assert (snap.chain_seq, snap.chain_hash) == (head.seq, head.hash)
    assert counts == {"open_breaks": 0, "trial_balance_net": 0, "chain_seq": snap.chain_seq}
    assert lines(snap) == JANUARY
    assert snap.totals == (800_000_000, 800_000_000)
    assert (snap.as_of, snap.prepared_by, snap.open_breaks) == (D(2025, 1, 31), "system", 0)
    assert (snap.opening, snap.closing) == (0, 800_000_000)
    assert snap.sources == {source: (0, fen) for source, fen in CAPITAL.items()}


def test_an_entry_backdated_into_the_month_shows_against_the_snapshot_until_prepared_again(fund):
    month_end_job(fund, D(2025, 1, 31))

    def late(s):
        a = capital.record_allocation(
            s, "other", 12_345_678, D(2025, 1, 20), actor="clerk", reference="财字〔2025〕9号"
        )
        capital.approve_allocation(s, a.id, actor="approver")

    run(fund, late)
    with fund() as s:
        assert lines(month_end_snapshot(s, "2025-01", actor="clerk")) == JANUARY
        assert changed_since_snapshot(s, "2025-01", actor="clerk") == (
            ("asset:treasury", 400_000_000, 0, 412_345_678, 0),
            ("capital:other", 0, 40_000_000, 0, 52_345_678),
        )
    again = prepare_snapshot(fund, "2025-01", actor="approver")
    assert again.prepared_by == "approver"
    assert again.totals == (812_345_678, 812_345_678)
    with fund() as s:
        assert changed_since_snapshot(s, "2025-01", actor="auditor") == ()
        assert month_end_snapshot(s, "2025-01", actor="auditor").chain_seq > 0


def test_who_may_prepare_and_read_and_what_is_refused(fund):
    with pytest.raises(PermissionDeniedError):
        run(fund, lambda s: snapshot_month_end(s, "2025-01", actor="icbc"))
    with pytest.raises(PermissionDeniedError), fund() as s:
        month_end_snapshot(s, "2025-01", actor="icbc")
    with fund() as s:
        with pytest.raises(ReconError) as never:
            month_end_snapshot(s, "2025-02", actor="auditor")
        with pytest.raises(ReconError) as bad:
            month_end_snapshot(s, "2025-13", actor="auditor")
    assert never.value.zh == "2025-02 月末尚未生成试算平衡快照"
    assert bad.value.zh == "月份格式不正确：'2025-13'（应为 YYYY-MM）"


def test_the_month_end_commands(fund, db_url):
    runner = CliRunner()
    url = ["--database-url", db_url]
    out = runner.invoke(cli, [*url, "month-end", "prepare", "2025-01", "--actor", "clerk"])
    assert out.exit_code == 0, out.output
    assert "试算平衡  7 个账户  借方 8,000,000.00  贷方 8,000,000.00" in out.output
    out = runner.invoke(cli, [*url, "month-end", "show", "2025-01", "--actor", "auditor"])
    assert out.exit_code == 0, out.output
    assert "净资本  期初 0.00  期末 8,000,000.00" in out.output
    assert "未处理对账差异  0" in out.output
    assert "生成后变动" not in out.output
    out = runner.invoke(cli, [*url, "month-end", "show", "2025-02", "--actor", "auditor"])
    assert out.exit_code == 1
    assert "2025-02 月末尚未生成试算平衡快照" in out.output
