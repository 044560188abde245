"""The ``fundledger`` command line, end to end against the test database."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from ledger.cli import cli


@pytest.fixture
def run(db_url):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--database-url", db_url, *args], catch_exceptions=False)

    return invoke


@pytest.fixture
def demo(run):
    result = run("init", "--demo", "--loans", "12")
    assert result.exit_code == 0, result.output
    return run


def test_init_demo_then_verify(demo):
    result = demo("verify")
    assert result.exit_code == 0
    assert result.stdout == (
        "ok: 40 entries (40 sealed, 0 awaiting seal), 80 postings, 57 accounts\n"
    )


def test_init_is_idempotent(run):
    assert run("init").stdout == "database at revision 0001\n"
    assert run("init").stdout == "database at revision 0001\n"


def test_balances_and_as_of(demo):
    out = demo("balances", "--under", "capital").stdout.splitlines()
    assert out[0].split() == ["capital", "8,730,000.00", "基金资本"]
    assert ["capital:district:D03", "150,000.00", "区县配套-新河县"] in [x.split() for x in out]
    early = demo("balances", "--under", "capital", "--as-of", "2025-01-31").stdout.splitlines()
    assert [line.split()[:2] for line in early] == [
        ["capital", "7,500,000.00"],
        ["capital:city", "2,500,000.00"],
        ["capital:provincial", "5,000,000.00"],
    ]


def test_trial_balance_nets_zero(demo):
    result = demo("trial-balance", "--as-of", "2025-12-31")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[-1] == "net 0.00"
    totals = [line.split() for line in lines if line.startswith("total")]
    assert totals[0] == ["total", "8,799,750.00", "8,799,750.00"]


def test_post_reverse_and_idempotent_retry(demo):
    args = (
        "post", "--date", "2025-07-02", "--kind", "capital.placement",
        "--debit", "asset:special:ABC=100.50", "--credit", "asset:treasury=100.50",
        "--key", "place-abc-1", "--actor", "clerk:wang",
    )  # fmt: skip
    assert demo(*args).stdout == "entry 41 posted\n"
    assert demo(*args).stdout == "entry 41 already posted\n"
    assert demo("reverse", "41", "--actor", "approver:li").stdout == "entry 42 reverses entry 41\n"
    shown = demo("entries", "--limit", "1").stdout.splitlines()
    assert shown[0].startswith("#42 2025-07-02 reversal reverses 41 by approver:li (seq 42)")
    assert demo("verify").exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ("post", "--date", "2025-07-02", "--kind", "manual",
             "--debit", "asset:treasury=1", "--credit", "capital:city=2"),
            1,
            "error: entry does not balance: debits 1.00 yuan, credits 2.00 yuan, "
            "difference -1.00 yuan\n",
        ),
        (
            ("post", "--date", "2025-06-30", "--kind", "manual",
             "--debit", "asset:treasury=1", "--credit", "capital:city=1"),
            1,
            "error: the books are closed through 2025-06-30; an entry dated 2025-06-30 is "
            "refused\n",
        ),
        (
            ("post", "--date", "2025-07-02", "--kind", "manual",
             "--debit", "asset:special:RCB=99999999", "--credit", "asset:treasury=99999999"),
            1,
            "error: account asset:treasury must not go negative: balance 730,000.00 yuan, this "
            "entry takes 99,999,999.00 yuan, short by 99,269,999.00 yuan\n",
        ),
        (("reverse", "554"), 1, "error: entry 554 does not exist; nothing to reverse\n"),
        (
            ("close-period", "--through", "2025-03-31"),
            1,
            "error: the books are already closed through 2025-06-30\n",
        ),
    ],
)  # fmt: skip
def test_refusals_are_one_line(demo, args, code, message):
    result = demo(*args)
    assert result.exit_code == code
    assert result.stderr == message


def test_bad_amount_is_a_usage_error(demo):
    result = demo(
        "post", "--date", "2025-07-02", "--kind", "m",
        "--debit", "asset:treasury=1.001", "--credit", "capital:city=1.001",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not an amount of yuan with at most 2 decimals: '1.001'" in result.stderr


def test_verify_fails_with_exit_1_on_tampering(demo, engine):
    from tests.ledger.test_verify import tamper

    tamper(engine, "UPDATE postings SET amount = amount + 100 WHERE entry_id = 7")
    result = demo("verify")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "FAIL entry 7: content does not match its content hash — the entry or its postings "
        "were changed after posting"
    )
    assert result.stderr.splitlines()[-1].startswith("error: 3 problem(s) in 40 entries")


def test_console_script_reports_unreachable_database(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from ledger.cli import main; main()", "balances"],
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/empty.db", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "error: database unavailable or not initialised: no such table: postings\n"
    )


def _demo_exposure_fen(loans):
    """Guaranteed principal outstanding in the demo, summed straight from its drafts."""
    import datetime as dt
    import random

    from ledger.demo import _loans

    drafts, _ = _loans(random.Random(2026), dt.date(2025, 1, 6), loans)
    out = 0
    for d in drafts:
        exposure_leg = next(leg for leg in d.legs if leg.account.startswith("memo:exposure:"))
        out += exposure_leg.amount if exposure_leg.side == "D" else -exposure_leg.amount
    return out


def test_balances_depth_and_trial_balance_totals(demo):
    from ledger.money import format_yuan

    exposure = format_yuan(_demo_exposure_fen(12))
    lines = demo("balances", "--depth", "2", "--under", "memo").stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["memo", "0.00"],
        ["memo:exposure", exposure],
        ["memo:exposure-contra", exposure],
    ]
    result = demo("trial-balance", "--totals-only")
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [
        ["--", "balance", "sheet", "and", "results"],
        ["total", "8,799,750.00", "8,799,750.00"],
        ["--", "memorandum"],
        ["total", exposure, exposure],
        ["net", "0.00"],
    ]
