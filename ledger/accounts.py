"""The chart of accounts: opening accounts and finding them by code.

Codes are colon-separated paths (``asset:special:ICBC``); an account's parent is its code
minus the last segment and must be a group account of the same type. Dimensions
(capital source, bank, district, loan, fund) are inherited from the parent unless given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.errors import AccountError, GroupAccountError, UnknownAccountError
from ledger.models import NORMAL_SIDE, Account, AccountType, Side
from ledger.rows import chunks

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,59}$")
#: Deepest hierarchy allowed; the fund's chart needs four levels.
MAX_DEPTH = 8
DIMENSIONS = ("capital_source", "bank", "district", "loan", "fund")


@dataclass(frozen=True)
class AccountSpec:
    """What it takes to open one account; see :func:`open_account`."""

    code: str
    name: str
    type: AccountType | None = None
    normal_side: Side | None = None
    is_group: bool = False
    no_overdraft: bool = False
    capital_source: str | None = None
    bank: str | None = None
    district: str | None = None
    loan: str | None = None
    fund: str | None = None


def validate_code(code: str) -> list[str]:
    segments = code.split(":") if isinstance(code, str) else []
    if not segments or len(segments) > MAX_DEPTH or not all(_SEGMENT.match(s) for s in segments):
        raise AccountError(
            f"account code {code!r} is not valid: use up to {MAX_DEPTH} segments of letters, "
            "digits and '-', joined by ':'"
        )
    return segments


def open_account(session: Session, spec: AccountSpec) -> Account:
    """Open an account; refuse a duplicate code, a missing or non-group parent, a type clash."""
    segments = validate_code(spec.code)
    if session.scalar(select(Account.id).where(Account.code == spec.code)) is not None:
        raise AccountError(f"account {spec.code} already exists")
    parent = None
    if len(segments) > 1:
        parent_code = ":".join(segments[:-1])
        parent = session.scalar(select(Account).where(Account.code == parent_code))
        if parent is None:
            raise UnknownAccountError(f"parent account {parent_code} of {spec.code} does not exist")
        if not parent.is_group:
            raise AccountError(
                f"parent account {parent_code} is not a group account; "
                f"{spec.code} cannot go under it"
            )
    acc_type = _resolve_type(spec, parent)
    side = _resolve_side(spec, acc_type, parent)
    dims = {d: getattr(spec, d) or (getattr(parent, d) if parent else None) for d in DIMENSIONS}
    account = Account(
        code=spec.code,
        name=spec.name,
        type=acc_type.value,
        normal_side=side.value,
        parent_id=parent.id if parent else None,
        is_group=spec.is_group,
        no_overdraft=spec.no_overdraft,
        balance=0,
        opened_at=utcnow(),
        **dims,
    )
    session.add(account)
    session.flush()
    return account


def ensure_accounts(session: Session, specs: Iterable[AccountSpec]) -> list[Account]:
    """Open each account that does not exist yet (parents first); return them all."""
    result = []
    for spec in specs:
        existing = session.scalar(select(Account).where(Account.code == spec.code))
        result.append(existing if existing is not None else open_account(session, spec))
    return result


def open_accounts(session: Session, specs: Iterable[AccountSpec]) -> None:
    """Open many accounts at once under existing parents (a batch of new loans' accounts).

    The same rules as :func:`open_account`, with one query for the parents, one for
    codes already taken and one multi-row insert.
    """
    specs = list(specs)
    if not specs:
        return
    parents: dict[str, str] = {}
    for spec in specs:
        segments = validate_code(spec.code)
        if len(segments) < 2:
            raise AccountError(f"account {spec.code} needs a parent to be opened in a batch")
        parents[spec.code] = ":".join(segments[:-1])
    codes = [spec.code for spec in specs]
    if len(set(codes)) != len(codes):
        raise AccountError("the batch opens the same account twice")
    taken = []
    for chunk in chunks(codes):
        taken += session.scalars(select(Account.code).where(Account.code.in_(chunk))).all()
    if taken:
        raise AccountError(f"account {sorted(taken)[0]} already exists")
    found = {
        a.code: a
        for a in session.scalars(select(Account).where(Account.code.in_(set(parents.values()))))
    }
    now = utcnow()
    rows = []
    for spec in specs:
        parent = found.get(parents[spec.code])
        if parent is None:
            raise UnknownAccountError(
                f"parent account {parents[spec.code]} of {spec.code} does not exist"
            )
        if not parent.is_group:
            raise AccountError(
                f"parent account {parent.code} is not a group account; "
                f"{spec.code} cannot go under it"
            )
        acc_type = _resolve_type(spec, parent)
        rows.append(
            {
                "code": spec.code,
                "name": spec.name,
                "type": acc_type.value,
                "normal_side": _resolve_side(spec, acc_type, parent).value,
                "parent_id": parent.id,
                "is_group": spec.is_group,
                "no_overdraft": spec.no_overdraft,
                "balance": 0,
                "opened_at": now,
                **{d: getattr(spec, d) or getattr(parent, d) for d in DIMENSIONS},
            }
        )
    session.execute(insert(Account), rows)


def _resolve_type(spec: AccountSpec, parent: Account | None) -> AccountType:
    if parent is not None:
        parent_type = AccountType(parent.type)
        if spec.type is not None and AccountType(spec.type) is not parent_type:
            raise AccountError(
                f"account {spec.code} must have its parent's type {parent_type.value}, "
                f"not {AccountType(spec.type).value}"
            )
        return parent_type
    if spec.type is None:
        raise AccountError(f"root account {spec.code} needs a type")
    return AccountType(spec.type)


def _resolve_side(spec: AccountSpec, acc_type: AccountType, parent: Account | None) -> Side:
    if acc_type is AccountType.MEMORANDUM:
        if spec.normal_side is not None:
            return Side(spec.normal_side)
        if parent is not None:
            return Side(parent.normal_side)
        raise AccountError(f"memorandum account {spec.code} needs a normal side (D or C)")
    natural = NORMAL_SIDE[acc_type]
    if spec.normal_side is not None and Side(spec.normal_side) is not natural:
        raise AccountError(
            f"a {acc_type.value} account grows on the {natural.value} side; "
            f"{spec.code} cannot be {Side(spec.normal_side).value}"
        )
    return natural


def get_account(session: Session, code: str) -> Account:
    account = session.scalar(select(Account).where(Account.code == code))
    if account is None:
        raise UnknownAccountError(f"account {code} does not exist")
    return account


def check_postable(wanted: Iterable[str], found: dict) -> None:
    """Refuse codes missing from ``found`` and group accounts among them."""
    missing = [c for c in wanted if c not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise UnknownAccountError(f"no such account: {shown}")
    groups = [c for c in wanted if found[c].is_group]
    if groups:
        raise GroupAccountError(
            f"account {groups[0]} is a group account and takes no postings; post to one of "
            "its sub-accounts"
        )


def subtree_filter(code: str):
    """SQL condition selecting the account ``code`` and every account below it."""
    validate_code(code)
    # Not LIKE: SQLite's LIKE ignores case, and codes are case-sensitive on both engines.
    prefix = code + ":"
    return or_(Account.code == code, func.substr(Account.code, 1, len(prefix)) == prefix)
