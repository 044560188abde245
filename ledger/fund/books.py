"""What the fund's operations share about the books: account codes per loan, named
rounding, pro-rata attribution to capital sources, and posting one entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.accounts import AccountSpec, ensure_accounts, subtree_filter
from ledger.entries import EntryDraft, Leg, post_entry
from ledger.models import Account, Posting

PPM = 1_000_000


def loan_key(loan_id: int) -> str:
    """The loan's segment in account codes (contract numbers may hold any character)."""
    return f"L{loan_id}"


def loan_exposure_account(bank: str, loan_id: int, fund: str = chart.CITY_FUND) -> str:
    return f"{chart.exposure_account(bank, fund)}:{loan_key(loan_id)}"


def receivable_account(loan_id: int) -> str:
    return f"{chart.RECEIVABLE}:{loan_key(loan_id)}"


claims_payable_account = chart.claims_payable_account
counter_guarantee_accounts = chart.counter_guarantee_accounts


def loan_accounts(
    bank: str, loan_id: int, contract_no: str, fund: str = chart.CITY_FUND
) -> list[AccountSpec]:
    """A loan's own accounts: its exposure, under its fund's exposure at the bank, and the
    compensation receivable once a claim is paid."""
    dims = {"bank": bank, "loan": loan_key(loan_id), "fund": fund}
    return [
        AccountSpec(loan_exposure_account(bank, loan_id, fund), f"在保-{contract_no}", **dims),
        AccountSpec(receivable_account(loan_id), f"代偿应收-{contract_no}", **dims),
    ]


def open_loan_accounts(
    session: Session, bank: str, loan_id: int, contract_no: str, fund: str = chart.CITY_FUND
) -> None:
    ensure_accounts(session, loan_accounts(bank, loan_id, contract_no, fund))


def share(amount: int, ppm: int) -> int:
    """``amount × ppm / 1,000,000`` rounded half up to the fen (amounts are never negative)."""
    return (amount * ppm * 2 + PPM) // (2 * PPM)


def ratio_share(amount: int, numerator: int, denominator: int) -> int:
    """``amount × numerator / denominator`` rounded half up to the fen."""
    return (amount * numerator * 2 + denominator) // (2 * denominator)


def pro_rata(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` fen in proportion to ``weights`` (largest remainder, ties by key).

    The parts always add up to ``total`` exactly. Keys with a zero weight get nothing.
    """
    positive = {k: w for k, w in weights.items() if w > 0}
    if total == 0 or not positive:
        return {}
    whole = sum(positive.values())
    parts = {k: total * w // whole for k, w in positive.items()}
    remainders = sorted(positive, key=lambda k: (-(total * positive[k] % whole), k))
    for k in remainders[: total - sum(parts.values())]:
        parts[k] += 1
    return {k: v for k, v in parts.items() if v}


def balance_now(session: Session, code: str) -> int:
    """Current balance of a postable account (the database keeps it with every posting)."""
    return int(session.scalar(select(Account.balance).where(Account.code == code)) or 0)


def subtree_balance_now(session: Session, code: str) -> int:
    """Current balance of all postable accounts under ``code``, in their normal direction."""
    total = session.scalar(
        select(func.coalesce(func.sum(Account.balance), 0)).where(
            subtree_filter(code), Account.is_group.is_(False)
        )
    )
    return int(total or 0)


def balances_as_of(session: Session, codes: Sequence[str], as_of: dt.date) -> dict[str, int]:
    """Balances of postable accounts by effective date, in their normal direction."""
    rows = session.execute(
        select(Account.code, Account.normal_side, Posting.side, func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id)
        .where(Account.code.in_(codes), Posting.effective_date <= as_of)
        .group_by(Account.code, Account.normal_side, Posting.side)
    )
    result = dict.fromkeys(codes, 0)
    for code, normal, side, amount in rows:
        result[code] += int(amount) if side == normal else -int(amount)
    return result


def post(
    session: Session,
    on: dt.date,
    kind: str,
    legs: Sequence[Leg],
    description: str,
    *,
    actor: str,
    key: str | None = None,
) -> int:
    """Post one entry of the fund and return its id."""
    draft = EntryDraft(on, kind, tuple(legs), description, idempotency_key=key)
    return post_entry(session, draft, actor=actor).entry_id
