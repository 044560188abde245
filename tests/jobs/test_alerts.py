"""Alerts: one open alert per key, counted when raised again; acknowledged by a person;
raised by the verify and expected-files jobs; mailed through SMTP to a local server."""

from __future__ import annotations

import datetime as dt
import email
import socket

import pytest
from sqlalchemy import inspect

from jobs import books
from jobs.config import parse
from jobs.files import check_expected
from jobs.notify import notify
from ledger.db import run_in_transaction
from ledger.errors import FilterError
from ledger.ops.alerts import acknowledge_alert, alerts_page, raise_alert
from ledger.ops.errors import AlertAcknowledgedError
from ledger.verify import Report
from tests.fund.conftest import setup_fund
from tests.jobs.conftest import T0, Clock

D = dt.date


def test_the_same_alert_raised_again_while_open_is_counted_not_repeated(factory):
    clock = Clock()
    setup_fund(factory)

    def raise_it(s):
        return raise_alert(
            s, "file-missing", "ICBC 未按时报送2026-11-30的专户对账单",
            key="ICBC:statement:2026-11-30", bank="ICBC", now=clock(),
        )  # fmt: skip

    first = run_in_transaction(factory, raise_it)
    clock.advance(days=1)
    again = run_in_transaction(factory, raise_it)
    assert (first.new, again.new, again.id, again.times) == (True, False, first.id, 2)
    assert (again.raised_at, again.last_raised_at) == (T0, T0 + dt.timedelta(days=1))
    done = run_in_transaction(
        factory, lambda s: acknowledge_alert(s, first.id, actor="clerk", now=clock())
    )
    assert (done.acknowledged_by, done.open) == ("clerk", False)
    with pytest.raises(AlertAcknowledgedError) as caught:
        run_in_transaction(factory, lambda s: acknowledge_alert(s, first.id, actor="approver"))
    assert caught.value.zh == f"警报 {first.id} 已由 clerk 确认"
    third = run_in_transaction(factory, raise_it)
    assert (third.new, third.times) == (True, 1)
    with factory() as s:
        assert [a.id for a in alerts_page(s, open_only=True).items] == [third.id]
        assert [a.id for a in alerts_page(s, kind="file-missing").items] == [third.id, first.id]
        with pytest.raises(FilterError):
            alerts_page(s, kind="weather")


def test_a_bank_user_may_not_acknowledge(factory):
    from ledger.fund.errors import PermissionDeniedError

    setup_fund(factory)
    alert = run_in_transaction(factory, lambda s: raise_alert(s, "leverage-high", "x", key="ICBC"))
    with pytest.raises(PermissionDeniedError):
        run_in_transaction(factory, lambda s: acknowledge_alert(s, alert.id, actor="icbc"))


def test_verify_failing_raises_a_critical_chain_verification_alert(factory, monkeypatch):
    report = Report(entries=3, postings=6, accounts=4)
    report.problem("entry 2: hash does not match its content")
    monkeypatch.setattr(books, "verify_books", lambda s: report)
    counts = books.verify(factory, D(2026, 12, 1))
    assert counts == {"entries": 3, "postings": 6, "accounts": 4, "problems": 1}
    with factory() as s:
        (alert,) = alerts_page(s).items
    assert (alert.kind, alert.severity, alert.subject, alert.detail) == (
        "chain-verification", "critical", "账簿校验发现 1 处问题（2026-12-01）",
        "entry 2: hash does not match its content",
    )  # fmt: skip


def test_verify_passing_raises_nothing(factory):
    assert books.verify(factory, D(2026, 12, 1))["problems"] == 0
    with factory() as s:
        assert alerts_page(s).items == ()


def test_expected_files_missing_past_their_due_day(city):
    from tests.bankfiles.conftest import do_import

    # ICBC's statement lines are booked on 2025-06-28, 06-30, 07-01 and 07-21.
    do_import(city, "statement", "icbc_statement_0731.csv")
    config = parse(
        {
            "expected_files": {
                "ICBC": {"daily": ["statement"], "monthly": ["statement"]},
                "ABC": {"monthly": ["balances"], "monthly_due_day": 10},
            }
        }
    )

    def check(on):
        return run_in_transaction(city, lambda s: check_expected(s, config.expected, on))

    assert check(D(2025, 7, 2)) == []
    assert check(D(2025, 7, 3)) == [("ICBC", "statement", "2025-07-02")]
    # June's statement came; ABC's balances for June are not due before the 10th.
    assert check(D(2025, 7, 9)) == [("ICBC", "statement", "2025-07-08")]
    assert check(D(2025, 7, 10)) == [
        ("ABC", "balances", "2025-06"), ("ICBC", "statement", "2025-07-09"),
    ]  # fmt: skip
    assert check(D(2025, 7, 22)) == [("ABC", "balances", "2025-06")]
    with city() as s:
        alerts = alerts_page(s, kind="file-missing").items
    by_subject = {a.subject: a for a in alerts}
    assert sorted(by_subject) == [
        "ABC 未按时报送2025-06的贷款余额表",
        "ICBC 未按时报送2025-07-02的专户对账单",
        "ICBC 未按时报送2025-07-08的专户对账单",
        "ICBC 未按时报送2025-07-09的专户对账单",
    ]
    abc = by_subject["ABC 未按时报送2025-06的贷款余额表"]
    assert (abc.times, abc.bank_code, abc.period) == (2, "ABC", "2025-06")


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def test_new_alerts_are_mailed_once(factory, smtp_server):
    port, received = smtp_server
    smtp = parse(
        {
            "smtp": {
                "host": "127.0.0.1", "port": port, "sender": "fundledger@bureau.example",
                "recipients": ["duty@bureau.example", "head@bureau.example"],
            }
        }
    ).smtp  # fmt: skip
    run_in_transaction(
        factory,
        lambda s: raise_alert(
            s, "job-failed", "任务 verify 在 2026-12-01 期间运行失败（第 1 次）",
            key="verify:2026-12-01", job="verify", period="2026-12-01",
            detail="RuntimeError: boom",
        ),
    )  # fmt: skip
    assert notify(factory, smtp) == 1
    assert notify(factory, smtp) == 0  # mailed once
    (mail,) = received
    assert mail["To"] == "duty@bureau.example, head@bureau.example"
    assert mail["From"] == "fundledger@bureau.example"
    subject = str(email.header.make_header(email.header.decode_header(mail["Subject"])))
    assert subject == "[fundledger 警告] 任务 verify 在 2026-12-01 期间运行失败（第 1 次）"
    body = mail.get_payload(decode=True).decode("utf-8")
    assert "任务 job: verify" in body
    assert body.replace("\r\n", "\n").endswith("\n\nRuntimeError: boom\n")
    with factory() as s:
        (alert,) = alerts_page(s).items
    assert alert.notified_at is not None


def test_without_smtp_nothing_is_mailed_and_alerts_wait(factory):
    run_in_transaction(factory, lambda s: raise_alert(s, "breaks-old", "x", key="CITY"))
    assert notify(factory, None) == 0
    with factory() as s:
        assert alerts_page(s).items[0].notified_at is None


def test_the_operations_tables_match_their_models(engine):
    """The migration creates what the models describe (columns, keys, checks' names)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ledger.models import Base
    from ledger.ops.models import OPS_TABLES

    def ours(name, type_, parent_names):
        return type_ != "table" or name in OPS_TABLES

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if _table_of(d) in OPS_TABLES] == []
    names = set(inspect(engine).get_table_names())
    assert set(OPS_TABLES) <= names


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, str):
            return part
        if name:
            return name
    return None
