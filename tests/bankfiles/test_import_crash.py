"""A ``fundledger import`` killed in the middle of a large repayment file leaves nothing
behind: no receipt, no repayment, no entry. Imported again, the file posts once, whole;
a third time it is a duplicate.

The import runs in a child process (``fundledger import`` through ``ledger.cli.main``)
whose fund operation is wrapped to say on stderr when it has posted a chunk (one loan's
rows: a chunk never splits a loan), and then to pause. The test sends SIGKILL during that
pause: the import's transaction is then open with thousands of repayments and their
entries written (the test checks that the database shows a writer at that moment). No
race: the child cannot finish before it is killed, whatever the machine's speed.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from ledger.bankfiles.imports import import_file
from ledger.bankfiles.models import BankFileImport
from ledger.fund.models import Repayment
from tests.bankfiles.conftest import BOOK_LOANS, TODAY, state, verify_ok

ROOT = Path(__file__).resolve().parents[2]
APP = "fl-bankfiles-crash"
ROWS = 20_000
CHILD = """\
import sys
import time

import ledger.bankfiles.imports as imports

imports.CHUNK_LINES = 250
imports.business_today = lambda: __import__("datetime").date(2026, 11, 30)  # TODAY
post = imports.apply_repayments


def then_wait(*args, **kw):
    batch = post(*args, **kw)
    print("posted", batch.posted, file=sys.stderr, flush=True)
    time.sleep(60)
    return batch


imports.apply_repayments = then_wait
from ledger.cli import main

main()
"""


def write_file(path: Path, bank: str, rows: int) -> None:
    """``rows`` repayments of 0.10 yuan spread over the bank's loans in the books, each
    with the balance after it, dated from the day after disbursement to before today."""
    loans = [loan for loan in BOOK_LOANS if loan.bank == bank]
    per_loan = -(-rows // len(loans))
    made = [0] * len(loans)
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["银行流水号", "贷款合同号", "还款日期", "归还本金", "归还利息", "本金余额"])
        for n in range(rows):
            j = n % len(loans)
            loan, k = loans[j], made[j]
            made[j] += 1
            span = (TODAY - loan.disbursed_on).days - 2
            on = loan.disbursed_on + dt.timedelta(days=1 + k * span // per_loan)
            balance = loan.principal - 10 * (k + 1)
            out.writerow(
                [f"{bank}-K{n:07d}", loan.contract_no, on.isoformat(), "0.10", "0.01",
                 f"{balance // 100}.{balance % 100:02d}"]
            )  # fmt: skip


class Watch:
    """Tells whether the child's import transaction is open, per database."""

    def __init__(self, db_url: str):
        url = make_url(db_url)
        self.sqlite = url.get_backend_name() == "sqlite"
        if self.sqlite:
            self.path = url.database
            self.child_url = db_url
        else:
            self.child_url = url.update_query_dict({"application_name": APP}).render_as_string(
                hide_password=False
            )
            self.engine = create_engine(db_url, isolation_level="AUTOCOMMIT")

    def writing(self) -> bool:
        if self.sqlite:
            con = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                return "locked" in str(error)
            else:
                con.execute("ROLLBACK")
                return False
            finally:
                con.close()
        with self.engine.connect() as conn:
            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
                        "AND backend_xid IS NOT NULL"
                    ),
                    {"app": APP},
                ).scalar()
            )

    def wait_gone(self, timeout: float = 60) -> None:
        """PostgreSQL rolls the killed client's transaction back when its backend sees
        the connection gone: wait for that."""
        if self.sqlite:
            return
        deadline = time.monotonic() + timeout
        query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app")
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                if not conn.execute(query, {"app": APP}).scalar():
                    return
            time.sleep(0.05)
        pytest.fail("the killed import's backend is still there after 60 s")

    def close(self) -> None:
        if not self.sqlite:
            self.engine.dispose()


def kill_mid_import(watch: Watch, path: Path) -> int:
    """Run the import in a child, SIGKILL it once it has posted its first chunk; returns
    how many repayments that chunk held."""
    env = dict(os.environ, DATABASE_URL=watch.child_url)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, "import", "repayment", str(path), "--bank", "ICBC",
         "--actor", "icbc"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in child.stderr], daemon=True)
    reader.start()
    try:
        try:
            line = lines.get(timeout=120).decode()
        except queue.Empty:
            pytest.fail("the import posted no chunk within 120 s")
        assert line.startswith("posted "), line + b"".join(lines.queue).decode()
        assert child.poll() is None
        # Its transaction is open, with the chunk written in it.
        assert watch.writing()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        return int(line.split()[1])
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.join(timeout=10)
        child.stderr.close()


def imports_and_repayments(factory) -> tuple[int, int]:
    with factory() as s:
        return (
            s.scalar(select(func.count()).select_from(BankFileImport)),
            s.scalar(select(func.count()).select_from(Repayment)),
        )


def test_a_killed_import_leaves_nothing_and_the_file_then_posts_once(city, db_url, tmp_path):
    path = tmp_path / "ICBC_repayment_20261130_1.csv"
    write_file(path, "ICBC", ROWS)
    before = state(city)
    watch = Watch(db_url)
    try:
        posted = kill_mid_import(watch, path)
        watch.wait_gone()
    finally:
        watch.close()
    # The first chunk is one loan's rows: a third of the file.
    assert posted in (ROWS // 3, ROWS // 3 + 1)

    # Nothing of the killed import: no receipt, no repayment, no entry.
    assert imports_and_repayments(city) == (0, 0)
    assert state(city) == before

    receipt = import_file(city, bank="ICBC", kind="repayment", path=path, actor="icbc", today=TODAY)
    assert receipt.status == "accepted", receipt.message
    assert (receipt.rows, receipt.posted, receipt.skipped, receipt.errors) == (ROWS, ROWS, 0, 0)
    assert receipt.totals["principal"] == 10 * ROWS
    assert imports_and_repayments(city) == (1, ROWS)

    again = import_file(city, bank="ICBC", kind="repayment", path=path, actor="icbc", today=TODAY)
    assert (again.status, again.duplicate_of, again.posted) == ("duplicate", receipt.id, 0)
    assert imports_and_repayments(city) == (2, ROWS)
    verify_ok(city)
