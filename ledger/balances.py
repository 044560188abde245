"""Balances of accounts and subtrees, as of an effective date and as recorded at a moment.

``as_of`` keeps postings whose effective date is on or before it; ``recorded_at`` keeps
the entries that had been committed and sealed by then, in commit order
(``ledger.chain.recorded_through``), so a report can be reproduced as it stood.
Balances are in each account's normal direction: positive is the usual side.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger.accounts import get_account, subtree_filter
from ledger.chain import recorded_through
from ledger.models import Account, AccountType, JournalEntry, Posting, Side


@dataclass(frozen=True)
class AccountBalance:
    code: str
    name: str
    type: str
    normal_side: str
    is_group: bool
    #: Sum of debit postings, in fen (for a group: over its whole subtree).
    debits: int
    #: Sum of credit postings, in fen.
    credits: int

    @property
    def balance(self) -> int:
        """Balance in the account's normal direction, in fen."""
        net = self.debits - self.credits
        return net if self.normal_side == Side.DEBIT.value else -net


@dataclass(frozen=True)
class TrialBalanceLine:
    code: str
    name: str
    type: str
    #: Debit balance in fen (0 when the account's net is on the credit side).
    debit: int
    #: Credit balance in fen.
    credit: int


@dataclass(frozen=True)
class TrialBalance:
    as_of: dt.date | None
    lines: list[TrialBalanceLine]

    def total(self, *, memorandum: bool) -> tuple[int, int]:
        memo = AccountType.MEMORANDUM.value
        chosen = [ln for ln in self.lines if (ln.type == memo) == memorandum]
        return sum(ln.debit for ln in chosen), sum(ln.credit for ln in chosen)

    @property
    def net(self) -> int:
        """Total debits minus total credits: zero in balanced books."""
        return sum(ln.debit - ln.credit for ln in self.lines)


def _activity(session: Session, as_of: dt.date | None, recorded_at: dt.datetime | None, where=None):
    """Per account id: (debits, credits) of the postings that count."""
    dr = func.sum(case((Posting.side == "D", Posting.amount), else_=0))
    cr = func.sum(case((Posting.side == "C", Posting.amount), else_=0))
    stmt = select(Posting.account_id, dr, cr).group_by(Posting.account_id)
    if as_of is not None:
        stmt = stmt.where(Posting.effective_date <= as_of)
    if recorded_at is not None:
        through = recorded_through(session, recorded_at)
        stmt = stmt.join(JournalEntry, JournalEntry.id == Posting.entry_id).where(
            JournalEntry.seq <= through
        )
    if where is not None:
        stmt = stmt.join(Account, Account.id == Posting.account_id).where(where)
    return {account_id: (int(d or 0), int(c or 0)) for account_id, d, c in session.execute(stmt)}


def balance(
    session: Session,
    code: str,
    *,
    as_of: dt.date | None = None,
    recorded_at: dt.datetime | None = None,
) -> int:
    """Balance of account ``code`` and everything below it, in its normal direction (fen)."""
    root = get_account(session, code)
    activity = _activity(session, as_of, recorded_at, subtree_filter(code))
    net = sum(d - c for d, c in activity.values())
    return net if root.normal_side == Side.DEBIT.value else -net


def balances(
    session: Session,
    *,
    as_of: dt.date | None = None,
    recorded_at: dt.datetime | None = None,
    under: str | None = None,
) -> list[AccountBalance]:
    """Every account (optionally only ``under`` a code) with group totals rolled up."""
    where = subtree_filter(under) if under else None
    activity = _activity(session, as_of, recorded_at, where)
    stmt = select(Account).order_by(Account.code)
    if where is not None:
        stmt = stmt.where(where)
    accounts = list(session.scalars(stmt))
    by_id = {a.id: a for a in accounts}
    totals: dict[int, list[int]] = {a.id: [0, 0] for a in accounts}
    for account_id, (d, c) in activity.items():
        node = by_id.get(account_id)
        while node is not None:
            totals[node.id][0] += d
            totals[node.id][1] += c
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
    return [
        AccountBalance(a.code, a.name, a.type, a.normal_side, a.is_group, *totals[a.id])
        for a in accounts
    ]


def trial_balance(
    session: Session, *, as_of: dt.date | None = None, recorded_at: dt.datetime | None = None
) -> TrialBalance:
    """Net balance of every postable account on its debit or credit side."""
    activity = _activity(session, as_of, recorded_at)
    lines = []
    accounts = session.execute(
        select(Account.id, Account.code, Account.name, Account.type).order_by(Account.code)
    )
    for account_id, code, name, acc_type in accounts:
        if account_id not in activity:
            continue
        d, c = activity[account_id]
        net = d - c
        lines.append(TrialBalanceLine(code, name, acc_type, max(net, 0), max(-net, 0)))
    return TrialBalance(as_of, lines)
