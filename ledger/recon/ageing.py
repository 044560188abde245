"""Overdue ageing of the loans outstanding on a day, the loans that became eligible for a
claim that day (listed, never filed), and the deposit interest expected per special
account over a quarter."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger.fund.policy import rules_on
from ledger.fund.positions import LoanFigures, outstanding_loans
from ledger.models import Account, Posting


@dataclass(frozen=True)
class Ageing:
    on: dt.date
    #: {(bank, fund, bucket): loans}; buckets 1-30, 31-90, 91-180, >180.
    buckets: dict[tuple[str, str, str], int]
    overdue: tuple[LoanFigures, ...]
    #: Loans reaching the policy's claim days overdue exactly on ``on``: proposed only.
    claim_eligible: tuple[LoanFigures, ...]


def ageing(session: Session, on: dt.date) -> Ageing:
    loans = outstanding_loans(session, on)
    overdue = tuple(f for f in loans if f.days_overdue)
    needed = rules_on(session, on)["claim_after_days_overdue"]
    counts = Counter((f.bank, f.fund, f.bucket) for f in overdue)
    return Ageing(
        on, dict(sorted(counts.items())), overdue,
        tuple(f for f in overdue if f.days_overdue == needed),
    )  # fmt: skip


@dataclass(frozen=True)
class ExpectedInterest:
    account: str
    #: Sum of the day-end balances over the quarter (fen-days).
    balance_days: int
    expected: int


def expected_interest(
    session: Session, year: int, quarter: int, *, rate_ppm: int | None = None
) -> tuple[ExpectedInterest, ...]:
    """Per special account, the interest expected for the quarter: the day-end balances'
    sum × rate / 360 (actual/360), rounded half up to the fen. The rate is the policy's
    ``deposit_interest.rate_ppm`` on the quarter's last day unless ``rate_ppm`` is given."""
    start = dt.date(year, 3 * quarter - 2, 1)
    end = dt.date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    if rate_ppm is None:
        last = end - dt.timedelta(days=1)
        rate_ppm = rules_on(session, last)["deposit_interest"]["rate_ppm"]
    signed = case((Posting.side == "D", Posting.amount), else_=-Posting.amount)
    found = []
    accounts = session.execute(
        select(Account.id, Account.code).where(
            Account.code.like("asset:special:%"), Account.is_group.is_(False)
        )
    ).all()
    for account_id, code in accounts:
        opening = int(
            session.scalar(
                select(func.coalesce(func.sum(signed), 0)).where(
                    Posting.account_id == account_id, Posting.effective_date < start
                )
            )
        )
        moves = dict(
            session.execute(
                select(Posting.effective_date, func.sum(signed))
                .where(Posting.account_id == account_id, Posting.effective_date >= start,
                       Posting.effective_date < end)
                .group_by(Posting.effective_date)
            ).all()
        )  # fmt: skip
        total, balance, day = 0, opening, start
        while day < end:
            balance += int(moves.get(day, 0))
            total += balance
            day += dt.timedelta(days=1)
        expected = (total * rate_ppm * 2 + 360_000_000) // (2 * 360_000_000)
        found.append(ExpectedInterest(code, total, expected))
    return tuple(found)
