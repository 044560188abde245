"""The e-mail notifier: open alerts not yet mailed go out through SMTP, one message
each, when ``[smtp]`` is configured; each is marked notified once sent."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy.orm import Session, sessionmaker

from jobs.config import SmtpSettings
from ledger.db import run_in_transaction
from ledger.ops.alerts import AlertView, mark_notified, unnotified

log = logging.getLogger(__name__)

SEVERITY_ZH = {"info": "提示", "warning": "警告", "critical": "严重"}


def message(alert: AlertView, smtp: SmtpSettings) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = (
        f"[fundledger {SEVERITY_ZH.get(alert.severity, alert.severity)}] {alert.subject}"
    )
    mail["From"] = smtp.sender
    mail["To"] = ", ".join(smtp.recipients)
    lines = [
        alert.subject,
        "",
        f"类型 kind: {alert.kind}",
        f"级别 severity: {alert.severity}",
        f"时间 raised (UTC): {alert.raised_at:%Y-%m-%d %H:%M:%S}",
    ]
    for label, value in (
        ("任务 job", alert.job), ("期间 period", alert.period),
        ("银行 bank", alert.bank_code), ("基金 fund", alert.fund_code),
    ):  # fmt: skip
        if value:
            lines.append(f"{label}: {value}")
    if alert.detail:
        lines += ["", alert.detail]
    mail.set_content("\n".join(lines) + "\n")
    return mail


def notify(factory: sessionmaker[Session], smtp: SmtpSettings | None) -> int:
    """Mail every open alert not mailed yet; how many were sent. Without SMTP settings,
    or with no recipient, nothing is sent (and the alerts stay unmarked). A failure to
    send is logged and the alerts are tried again next time."""
    if smtp is None or not smtp.recipients:
        return 0
    with factory() as s:
        alerts = unnotified(s)
    if not alerts:
        return 0
    sent = []
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            for alert in alerts:
                client.send_message(message(alert, smtp))
                sent.append(alert.id)
    except (OSError, smtplib.SMTPException):
        log.exception("alert mail failed after %d of %d", len(sent), len(alerts))
    run_in_transaction(factory, lambda s: mark_notified(s, sent))
    return len(sent)
