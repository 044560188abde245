"""What the list pages share: reading a filter form's values, and the masking of names
and ID numbers for whoever may not see them whole."""

from __future__ import annotations

import datetime as dt

from flask import current_app, request
from flask_login import current_user

from ledger.errors import FilterError
from ledger.fund.personal import WHOLE_VIEW_ROLES


def date_arg(name: str, label: str) -> dt.date | None:
    """An ISO date from the query, None if absent; FilterError naming the field if bad."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FilterError(
            f"{label}: {value!r} is not a date (YYYY-MM-DD)",
            zh=f"{label}：{value} 不是日期（应为 YYYY-MM-DD）",
        ) from None


def int_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and value > 0 else None


def page_size() -> int:
    """The rows of a list page (the setting ``PAGE_SIZE``)."""
    return current_app.config["PAGE_SIZE"]


def text_arg(name: str) -> str | None:
    value = (request.args.get(name) or "").strip()
    return value or None


def sees_whole() -> bool:
    """Whether the signed-in user may see names and resident ID numbers whole."""
    return current_user.has(*WHOLE_VIEW_ROLES)


def shown(value):
    """``value`` as the signed-in user may see it: masked unless they may see it whole."""
    return value if sees_whole() else value.masked()
