"""The audit log: every sign-in, failed sign-in, sign-out and change made through the web,
the API or a password command — who, what, when, from which address.

:func:`record` writes one row in the caller's transaction; :func:`audit_page` reads them
as values, newest first. The table is append-only: the database itself refuses every
UPDATE and DELETE of its rows (migration 0024). Who may read it is the fund's rule
(``ledger.fund.access.read_audit``: auditors and admins), since roles live there.

A resident ID number (18 characters: 17 digits and a digit or ``X``) never reaches the
table whole: :func:`record` masks every one found in the detail's strings (and in the
target) to its first four and last four characters, ``3201**********1234``. A password
is never given to it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.clock import CHINA_OFFSET, utcnow
from ledger.errors import AuditError, FilterError
from ledger.models import AuditLog
from ledger.paging import Page, keyset_page, one_of

#: What an audited action came to.
OK, REFUSED = "ok", "refused"
OUTCOMES = (OK, REFUSED)

_ACTION = re.compile(r"^[a-z][a-z0-9._-]{0,59}$")
_ID_NUMBER = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{10}([0-9]{3}[0-9Xx])(?![0-9])")


def mask_id_numbers(text: str) -> str:
    """``text`` with every resident ID number in it masked to its first and last four
    characters: ``3201**********1234``. A run of more than 18 digits (a bank account
    number) is not one and is left as it is."""
    return _ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 10}{m.group(2)}", text)


@dataclass(frozen=True)
class AuditView:
    """One row of the audit log."""

    id: int
    #: When (naive UTC).
    at: dt.datetime
    #: The signed-in user who acted; None when nobody was (a failed sign-in).
    actor: str | None
    action: str
    target: str
    #: ``ok`` or ``refused``.
    outcome: str
    #: The detail as stored (a dict parsed from its JSON; ID numbers already masked).
    detail: dict[str, Any] | None
    address: str | None


def record(
    session: Session,
    action: str,
    *,
    actor: str | None,
    target: str = "",
    outcome: str = OK,
    detail: dict[str, Any] | None = None,
    address: str | None = None,
    at: dt.datetime | None = None,
) -> AuditView:
    """Record ``action`` in the caller's transaction and return the row written.

    ``action`` is a short stable code (``sign-in``, ``allocation.approve``), ``actor``
    the signed-in user (None when nobody is), ``target`` what it was done to
    (``allocation/12``), ``detail`` a dict of JSON values (dates, datetimes and Decimals
    are kept as their ISO text), ``address`` the client's IP address. Resident ID numbers
    in the detail's strings and keys and in the target are masked before they are stored.
    A record that cannot be written as given is an :class:`AuditError`.
    """
    if not _ACTION.match(action or ""):
        raise AuditError(
            f"audit action {action!r} is not a code: 1-60 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter",
            zh=f"审计操作代码 {action!r} 无效",
        )
    if outcome not in OUTCOMES:
        raise AuditError(
            f"audit outcome {outcome!r} is not one of {', '.join(OUTCOMES)}",
            zh=f"审计结果 {outcome!r} 无效，应为：{'、'.join(OUTCOMES)}",
        )
    if actor is not None and not 1 <= len(str(actor)) <= 60:
        raise AuditError(f"audit actor {actor!r} is not a user name", zh="审计记录的用户名无效")
    if detail is not None and not isinstance(detail, dict):
        raise AuditError(
            f"audit detail must be a dict, not {type(detail).__name__}", zh="审计明细格式无效"
        )
    row = AuditLog(
        at=at or utcnow(),
        actor=None if actor is None else str(actor),
        action=action,
        target=mask_id_numbers(str(target or "")),
        outcome=outcome,
        detail=None if detail is None else _clean(detail),
        address=_address(address),
    )
    session.add(row)
    session.flush()
    return _view(row)


def audit_page(
    session: Session,
    *,
    who: str | None = None,
    action: str | None = None,
    target: str | None = None,
    outcome: str | None = None,
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[AuditView]:
    """The audit log newest first: of one actor (``who``), one action, one target, one
    outcome, and within a time range, if asked.

    ``since`` and ``until`` are datetimes (naive UTC, both ends included) or dates, which
    mean days in China time: ``since=2026-12-01`` from that day's first moment in China,
    ``until=2026-12-01`` through its last.
    """
    outcome = one_of(outcome, OUTCOMES, "outcome", "结果")
    start = _bound(since, end=False)
    end = _bound(until, end=True)
    if start is not None and end is not None and (end[0] < start[0] or end == (start[0], False)):
        raise FilterError(
            f"the time range ends ({until}) before it starts ({since})",
            zh=f"时间范围的结束 {until} 早于开始 {since}",
        )
    stmt = select(AuditLog)
    if who is not None:
        stmt = stmt.where(AuditLog.actor == who)
    if action is not None:
        stmt = stmt.where(AuditLog.action == action)
    if target is not None:
        stmt = stmt.where(AuditLog.target == target)
    if outcome is not None:
        stmt = stmt.where(AuditLog.outcome == outcome)
    if start is not None:
        stmt = stmt.where(AuditLog.at >= start[0])
    if end is not None:
        moment, included = end
        stmt = stmt.where(AuditLog.at <= moment if included else AuditLog.at < moment)
    return keyset_page(
        session, stmt, AuditLog.id, before=before, limit=limit,
        values=lambda rows: [_view(r) for r in rows], noun="audit records", scalars=True,
    )  # fmt: skip


def _bound(value: dt.date | dt.datetime | None, *, end: bool) -> tuple[dt.datetime, bool] | None:
    """A range's end as (UTC moment, whether it is included)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value, True
    if isinstance(value, dt.date):
        day = value + dt.timedelta(days=1) if end else value
        return dt.datetime.combine(day, dt.time()) - CHINA_OFFSET, not end
    raise FilterError(f"{value!r} is not a date or a time", zh=f"{value!r} 不是日期或时间")


def _clean(value: Any) -> Any:
    """``value`` as JSON values, resident ID numbers in its strings masked."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return mask_id_numbers(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):  # and datetimes
        return value.isoformat()
    if isinstance(value, dict):
        return {mask_id_numbers(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_clean(v) for v in items]
    raise AuditError(
        f"audit detail cannot hold a {type(value).__name__} (money is fen or a Decimal)",
        zh="审计明细含有无法记录的值",
    )


def _address(address: str | None) -> str | None:
    if address is None or address == "":
        return None
    try:
        text = str(ipaddress.ip_address(str(address).strip()))
    except ValueError:
        raise AuditError(
            f"{address!r} is not an IP address", zh=f"{address!r} 不是有效的 IP 地址"
        ) from None
    if len(text) > 45:
        raise AuditError(f"{address!r} is not an IP address", zh=f"{address!r} 不是有效的 IP 地址")
    return text


def _view(row: AuditLog) -> AuditView:
    return AuditView(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        outcome=row.outcome,
        detail=row.detail,
        address=row.address,
    )
