"""Manual journal entries and accounts: the raw commands ``post``, ``reverse`` and
``account open``, for what the fund's operations do not cover (a bank charge, a
correction between two of the bureau's own accounts).

Only an admin may use them, and never on the fund's own accounts: a special account,
a loan's exposure, a source's capital, a compensation receivable, claims payable,
deposit interest, guarantee fees and losses attributed to sources, and the
counter-guarantee memorandum. Those move only through the fund's operations, whose rules
(the leverage cap, maker-checker, attribution to sources) a raw entry would bypass, and
which ``verify`` cross-checks against the fund's records.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.accounts import AccountSpec, open_account
from ledger.entries import EntryDraft, Posted, post_entry, reverse_entry
from ledger.fund.errors import ProtectedAccountError
from ledger.fund.reference import Role, require_role
from ledger.models import Account, Posting

#: The roots of the accounts that only the fund's operations move.
PROTECTED_ROOTS = (
    chart.SPECIAL,
    chart.RECEIVABLE,
    chart.CLAIMS_PAYABLE,
    chart.CAPITAL,
    chart.INTEREST_INCOME,
    chart.GUARANTEE_LOSS,
    chart.EXPOSURE,
    chart.EXPOSURE_CONTRA,
    chart.COUNTER_GUARANTEES,
    chart.COUNTER_GUARANTEES_CONTRA,
    chart.GUARANTEE_FEE_INCOME,
)


def is_protected(code: str) -> bool:
    """Whether account ``code`` is one of the fund's own (or a group above one)."""
    return any(
        code == root or code.startswith(root + ":") or root.startswith(code + ":")
        for root in PROTECTED_ROOTS
    )


def post_manual_entry(session: Session, draft: EntryDraft, *, actor: str) -> Posted:
    """Post ``draft`` as an admin's manual entry, if it touches none of the fund's accounts."""
    require_role(session, actor, Role.ADMIN)
    _refuse_protected([leg.account for leg in draft.legs], "post to")
    return post_entry(session, draft, actor=actor)


def reverse_manual_entry(
    session: Session,
    entry_id: int,
    *,
    actor: str,
    effective_date: dt.date | None = None,
    description: str | None = None,
) -> Posted:
    """Reverse entry ``entry_id`` as an admin, if it touched none of the fund's accounts
    (an entry of a fund operation is undone by that operation's own reversal)."""
    require_role(session, actor, Role.ADMIN)
    codes = session.scalars(
        select(Account.code)
        .join(Posting, Posting.account_id == Account.id)
        .where(Posting.entry_id == entry_id)
    ).all()
    _refuse_protected(codes, "reverse an entry of")
    return reverse_entry(
        session, entry_id, actor=actor, effective_date=effective_date, description=description
    )


def open_manual_account(session: Session, spec: AccountSpec, *, actor: str) -> Account:
    """Open an account as an admin, outside the fund's own accounts."""
    require_role(session, actor, Role.ADMIN)
    _refuse_protected([spec.code], "open")
    return open_account(session, spec)


def _refuse_protected(codes, action: str) -> None:
    touched = sorted({code for code in codes if is_protected(code)})
    if touched:
        raise ProtectedAccountError(
            f"a manual entry may not {action} the fund's own account(s) {', '.join(touched)}: "
            "they move only through the fund's operations",
            zh=f"手工分录不能涉及基金专用科目 {'、'.join(touched)}，请通过相应业务办理",
        )
