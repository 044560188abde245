"""The ``fundledger`` command line, end to end against the test database."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from ledger import migrate
from ledger.cli import cli


@pytest.fixture
def run(db_url):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--database-url", db_url, *args], catch_exceptions=False)

    return invoke


#: What ``init --demo --loans 12`` builds (the fund demo, ledger.demo.city).
DEMO_LINE = (
    "demo city built: 13 borrowers, 12 loans, 67 repayments, 3 claims, 3 recoveries, "
    "1 write-offs, 106 entries"
)


@pytest.fixture
def demo(run):
    result = run("init", "--demo", "--loans", "12")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"database at revision {migrate.head_revision()}\n{DEMO_LINE}\n"
    return run


def test_init_demo_then_verify(demo):
    result = demo("verify")
    assert result.exit_code == 0
    assert result.stdout == (
        # 99 accounts: the standard chart's group of guarantee fee income among them.
        "ok: 106 entries (106 sealed, 0 awaiting seal), 329 postings, 99 accounts\n"
    )


def test_init_is_idempotent(run):
    expected = f"database at revision {migrate.head_revision()}\n"
    assert run("init").stdout == expected
    assert run("init").stdout == expected


def test_balances_and_as_of(demo):
    out = demo("balances", "--under", "capital").stdout.splitlines()
    assert out[0].split() == ["capital", "6,700,000.00", "基金资本"]
    assert ["capital:district-D03", "140,000.00", "新河县配套"] in [x.split() for x in out]
    early = demo("balances", "--under", "capital", "--as-of", "2025-01-31").stdout.splitlines()
    assert [line.split()[:2] for line in early] == [
        ["capital", "5,390,000.00"],
        ["capital:D01-own", "210,000.00"],
        ["capital:city", "1,000,000.00"],
        ["capital:district-D01", "470,000.00"],
        ["capital:district-D02", "170,000.00"],
        ["capital:other", "200,000.00"],
        ["capital:provincial", "3,340,000.00"],
    ]


def test_trial_balance_nets_zero(demo):
    result = demo("trial-balance", "--as-of", "2025-12-31")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[-1] == "net 0.00"
    totals = [line.split() for line in lines if line.startswith("total")]
    assert totals == [
        ["total", "6,742,815.68", "6,742,815.68"],
        ["total", "494,494.07", "494,494.07"],
    ]


def test_post_reverse_and_idempotent_retry(demo):
    # A bank charge on the treasury account: an admin's manual entry on accounts of its own.
    assert (
        demo("account", "open", "expense:bank-charges", "银行手续费", "--actor", "admin").stdout
        == "account expense:bank-charges opened\n"
    )
    args = (
        "post", "--date", "2025-07-02", "--kind", "manual",
        "--debit", "expense:bank-charges=100.50", "--credit", "asset:treasury=100.50",
        "--key", "charge-1", "--actor", "admin",
    )  # fmt: skip
    assert demo(*args).stdout == "entry 107 posted\n"
    assert demo(*args).stdout == "entry 107 already posted\n"
    assert demo("reverse", "107", "--actor", "admin").stdout == "entry 108 reverses entry 107\n"
    shown = demo("entries", "--limit", "1").stdout.splitlines()
    assert shown[0].startswith("#108 2025-07-02 reversal reverses 107 by admin (seq 108)")
    assert demo("verify").exit_code == 0


FUND_ONLY = (
    "error: a manual entry may not {} the fund's own account(s) {}: they move only through "
    "the fund's operations\n"
)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ("post", "--date", "2025-07-02", "--kind", "manual", "--actor", "admin",
             "--debit", "asset:treasury=1", "--credit", "expense:bank-charges=2"),
            1,
            "error: entry does not balance: debits 1.00 yuan, credits 2.00 yuan, "
            "difference -1.00 yuan\n",
        ),
        (
            ("post", "--date", "2025-06-30", "--kind", "manual", "--actor", "admin",
             "--debit", "expense:bank-charges=1", "--credit", "asset:treasury=1"),
            1,
            "error: the books are closed through 2025-06-30; an entry dated 2025-06-30 is "
            "refused\n",
        ),
        (
            ("post", "--date", "2025-07-02", "--kind", "manual", "--actor", "admin",
             "--debit", "expense:bank-charges=99999999", "--credit", "asset:treasury=99999999"),
            1,
            "error: account asset:treasury must not go negative: balance 3,490,000.00 yuan, "
            "this entry takes 99,999,999.00 yuan, short by 96,509,999.00 yuan\n",
        ),
        # A withdrawal from a special account past the leverage cap, or any other move of
        # the fund's accounts, goes through the fund's operations only.
        (
            ("post", "--date", "2025-07-02", "--kind", "manual", "--actor", "admin",
             "--debit", "asset:treasury=100", "--credit", "asset:special:ABC=100"),
            1,
            FUND_ONLY.format("post to", "asset:special:ABC"),
        ),
        (
            ("post", "--date", "2025-07-02", "--kind", "manual", "--actor", "admin",
             "--debit", "capital:city=5", "--credit", "memo:exposure-contra:ABC=5"),
            1,
            FUND_ONLY.format("post to", "capital:city, memo:exposure-contra:ABC"),
        ),
        (("reverse", "4", "--actor", "admin"), 1,  # a placement at ICBC
         FUND_ONLY.format("reverse an entry of", "asset:special:ICBC")),
        (("account", "open", "capital:township", "乡镇配套", "--actor", "admin"), 1,
         FUND_ONLY.format("open", "capital:township")),
        (
            ("post", "--date", "2025-07-02", "--kind", "manual", "--actor", "wang.fang",
             "--debit", "expense:bank-charges=1", "--credit", "asset:treasury=1"),
            1,
            "error: user wang.fang may not do this: it needs the admin role\n",
        ),
        (("reverse", "554", "--actor", "admin"), 1,
         "error: entry 554 does not exist; nothing to reverse\n"),
        (
            ("close-period", "--through", "2025-03-31", "--actor", "li.jun"),
            1,
            "error: the books are already closed through 2025-06-30\n",
        ),
    ],
)  # fmt: skip
def test_refusals_are_one_line(demo, args, code, message):
    demo("account", "open", "expense:bank-charges", "银行手续费", "--actor", "admin")
    result = demo(*args)
    assert result.exit_code == code
    assert result.stderr.splitlines()[0] + "\n" == message


def test_a_command_that_changes_the_books_says_who_acts(demo, monkeypatch):
    monkeypatch.delenv("FUNDLEDGER_ACTOR", raising=False)
    result = demo("close-period", "--through", "2025-09-30")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: say who acts: --actor USER or FUNDLEDGER_ACTOR=USER (a user of the books)"
    )
    refused = demo("close-period", "--through", "2025-09-30", "--actor", "wang.fang")
    assert (refused.exit_code, refused.stderr.splitlines()[0]) == (
        1, "error: user wang.fang may not do this: it needs the approver or admin role",
    )  # fmt: skip
    monkeypatch.setenv("FUNDLEDGER_ACTOR", "li.jun")
    assert demo("close-period", "--through", "2025-09-30").stdout == (
        "books closed through 2025-09-30\n"
    )


def test_bad_amount_is_a_usage_error(demo):
    result = demo(
        "post", "--date", "2025-07-02", "--kind", "m", "--actor", "admin",
        "--debit", "asset:treasury=1.001", "--credit", "expense:bank-charges=1.001",
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
    assert result.stderr.splitlines()[-1].startswith("error: 7 problem(s) in 106 entries")


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


def test_balances_depth_and_trial_balance_totals(demo):
    lines = demo("balances", "--depth", "2", "--under", "memo").stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["memo", "0.00"],
        ["memo:counter-guarantees", "0.00"],
        ["memo:counter-guarantees-contra", "0.00"],
        ["memo:exposure", "674,803.03"],
        ["memo:exposure-contra", "674,803.03"],
    ]
    result = demo("trial-balance", "--totals-only")
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [
        ["--", "balance", "sheet", "and", "results"],
        ["total", "6,757,292.03", "6,757,292.03"],
        ["--", "memorandum"],
        ["total", "674,803.03", "674,803.03"],
        ["net", "0.00"],
    ]
