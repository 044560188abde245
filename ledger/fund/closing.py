"""Closing the books through a date: the bureau's decision, an approver's or an admin's.

The books' own rule (``ledger.periods.close_period``) keeps a closed period closed; this
operation decides who may close one. The month-end close of the scheduler prepares the
figures, and a person confirms through here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ledger.fund.reference import Role, require_role
from ledger.models import PeriodClose
from ledger.periods import close_period
from ledger.principal import Principal


def close_books(
    session: Session, through: dt.date, *, actor: Principal | str, today: dt.date | None = None
) -> PeriodClose:
    """Close the books through ``through`` (every later entry dated then or before is
    refused); ``actor`` must be an approver or an admin."""
    principal = require_role(session, actor, Role.APPROVER, Role.ADMIN)
    return close_period(session, through, actor=principal, today=today)
