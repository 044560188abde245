"""Alerts: what the bureau must look at, shown in the app and mailed when a notifier is
configured.

Kinds (:class:`~ledger.ops.models.AlertKind`): ``chain-verification`` (verify found a
problem), ``file-missing`` (a bank's expected file not received by its due day),
``job-failed``, ``import-failed`` (a queued upload that could not be imported after its
attempts), ``breaks-old`` (reconciliation breaks open longer than allowed) and
``leverage-high`` (a fund's guarantees at a bank near or above its cap).

An alert is *open* until someone acknowledges it. Raised again while open — the same
kind and key, e.g. the same bank's file missing on the next day's check — it is the same
alert, counted (``times``) and its ``last_raised_at`` moved; never a second row. Once
acknowledged, the next raise opens a new one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.fund.reference import Role, require_role
from ledger.ops.errors import AlertAcknowledgedError, UnknownAlertError
from ledger.ops.models import Alert, AlertKind, Severity
from ledger.paging import Page, keyset_page, one_of

#: Who may acknowledge an alert.
ACKNOWLEDGING_ROLES = (Role.CLERK, Role.APPROVER, Role.ADMIN)


@dataclass(frozen=True)
class AlertView:
    id: int
    kind: str
    severity: str
    subject: str
    detail: str
    job: str | None
    period: str | None
    bank_code: str | None
    fund_code: str | None
    raised_at: dt.datetime
    last_raised_at: dt.datetime
    times: int
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    notified_at: dt.datetime | None
    #: Raised by this call as a new alert (False: the open one counted again).
    new: bool = False

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None


def _view(row: Alert, new: bool = False) -> AlertView:
    return AlertView(
        row.id, row.kind, row.severity, row.subject, row.detail, row.job, row.period,
        row.bank_code, row.fund_code, row.raised_at, row.last_raised_at, row.times,
        row.acknowledged_by, row.acknowledged_at, row.notified_at, new,
    )  # fmt: skip


def raise_alert(
    session: Session,
    kind: AlertKind | str,
    subject: str,
    *,
    key: str = "",
    detail: str = "",
    severity: Severity | str = Severity.WARNING,
    job: str | None = None,
    period: str | None = None,
    bank: str | None = None,
    fund: str | None = None,
    now: dt.datetime | None = None,
) -> AlertView:
    """Raise an alert of ``kind`` about ``key`` (what makes two raises the same alert:
    a bank and file kind, a fund, a job; empty for one alert of the kind at a time).

    If the same alert is open, it is counted again (its subject and detail the latest)
    and returned with ``new`` False; otherwise a new one is recorded."""
    kind = AlertKind(kind)
    severity = Severity(severity)
    now = now or utcnow()
    open_key = f"{kind}:{key}"[:300]
    row = session.scalars(
        select(Alert).where(Alert.open_key == open_key).with_for_update()
    ).one_or_none()
    if row is not None:
        row.times += 1
        row.last_raised_at = now
        row.subject, row.detail = subject[:300], detail
        session.flush()
        return _view(row)
    row = Alert(
        kind=kind, severity=severity, subject=subject[:300], detail=detail, job=job,
        period=period, bank_code=bank, fund_code=fund, open_key=open_key, raised_at=now,
        last_raised_at=now, times=1,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return _view(row, new=True)


def acknowledge_alert(
    session: Session, alert_id: int, *, actor: str, now: dt.datetime | None = None
) -> AlertView:
    """Acknowledge an open alert (a clerk, an approver or an admin): it leaves the open
    list, and the same alert raised again opens a new one."""
    principal = require_role(session, actor, *ACKNOWLEDGING_ROLES)
    row = session.get(Alert, alert_id, with_for_update=True)
    if row is None:
        raise UnknownAlertError(f"no alert {alert_id}", zh=f"没有编号为 {alert_id} 的警报")
    if row.acknowledged_at is not None:
        raise AlertAcknowledgedError(
            f"alert {alert_id} was acknowledged by {row.acknowledged_by} already",
            zh=f"警报 {alert_id} 已由 {row.acknowledged_by} 确认",
        )
    row.acknowledged_by = str(principal)
    row.acknowledged_at = now or utcnow()
    row.open_key = None
    session.flush()
    return _view(row)


def get_alert(session: Session, alert_id: int) -> AlertView:
    row = session.get(Alert, alert_id)
    if row is None:
        raise UnknownAlertError(f"no alert {alert_id}", zh=f"没有编号为 {alert_id} 的警报")
    return _view(row)


def alerts_page(
    session: Session,
    *,
    kind: str | None = None,
    open_only: bool = False,
    bank: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[AlertView]:
    """Alerts newest first: of one kind, only the open ones, of one bank, if asked."""
    kind = one_of(kind, AlertKind, "alert kind", "警报类型")
    stmt = select(Alert)
    if kind is not None:
        stmt = stmt.where(Alert.kind == kind)
    if open_only:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    if bank is not None:
        stmt = stmt.where(Alert.bank_code == bank)
    return keyset_page(
        session, stmt, Alert.id, before=before, limit=limit,
        values=lambda rows: [_view(r) for r in rows], noun="alerts", scalars=True,
    )  # fmt: skip


def unnotified(session: Session, *, limit: int = 100) -> list[AlertView]:
    """Open alerts not yet mailed, oldest first."""
    rows = session.scalars(
        select(Alert)
        .where(Alert.notified_at.is_(None), Alert.acknowledged_at.is_(None))
        .order_by(Alert.id)
        .limit(limit)
    )
    return [_view(r) for r in rows]


def mark_notified(
    session: Session, alert_ids: list[int], *, now: dt.datetime | None = None
) -> None:
    if alert_ids:
        session.execute(
            update(Alert)
            .where(Alert.id.in_(alert_ids))
            .values(notified_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
