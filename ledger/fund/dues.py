"""Each loan's installments, stored with what is due through each, so that the overdue
position of every loan on a date is one set-based query instead of a schedule rebuilt
per loan.

The rows are derived data: :func:`ensure_dues` writes them, from
:func:`ledger.fund.loans.loan_schedule`, for the loans that have none yet; an extension
deletes a loan's (``ledger.fund.loans.extend_loan``) and the next call writes the new
schedule.
:func:`overdue_positions` then gives, per loan, what ``ledger.fund.schedule.position``
gives for a loan not repaid in full by the date (the conventions of that module: payments
cover the installments cumulatively, principal and interest apart; an installment is
overdue the day after its due date). A test holds the two equal over a whole demo city.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from itertools import accumulate

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ledger.fund.leverage import effective_repayments
from ledger.fund.loans import loan_schedule
from ledger.fund.models import Loan, LoanDue, Repayment
from ledger.rows import CHUNK, among, chunks, insert_rows


def ensure_dues(session: Session, loan_ids: Iterable[int]) -> int:
    """Write the installments of those of ``loan_ids`` that have none; returns how many
    loans were written."""
    wanted = sorted(set(loan_ids))
    missing = []
    size = len(wanted) or 1 if session.get_bind().dialect.name == "postgresql" else CHUNK
    for chunk in chunks(wanted, size):
        # A loan's first installment stands for all of them (they are written together).
        have = set(
            session.scalars(
                select(LoanDue.loan_id).where(
                    among(session, LoanDue.loan_id, chunk), LoanDue.n == 1
                )
            )
        )
        missing += [i for i in chunk if i not in have]
    written = 0
    for chunk in chunks(missing, 5_000):
        rows = []
        for loan in session.scalars(select(Loan).where(among(session, Loan.id, chunk))):
            schedule = loan_schedule(loan)
            cum_p = accumulate(item.principal for item in schedule)
            cum_i = accumulate(item.interest for item in schedule)
            for n, (item, p, i) in enumerate(zip(schedule, cum_p, cum_i, strict=True), 1):
                rows.append(
                    {"loan_id": loan.id, "n": n, "due_on": item.due_on, "cum_principal": p,
                     "cum_interest": i}
                )  # fmt: skip
            written += 1
        insert_rows(session, LoanDue.__table__, rows)
    return written


def overdue_positions(
    session: Session, as_of: dt.date, loan_ids: list[int]
) -> dict[int, tuple[int, int]]:
    """{loan id: (overdue principal, days overdue)} at the end of ``as_of`` for those of
    ``loan_ids`` that are overdue then (none repaid in full by then). Writes missing
    installments first.

    What a loan had paid by ``as_of`` is its running totals (``repaid_principal``,
    ``repaid_interest``) when its last effective repayment is on or before then — nearly
    every loan, on a recent date — and the sum of its effective repayments through then
    for the others."""
    ensure_dues(session, loan_ids)
    session.flush()
    found: dict[int, tuple[int, int]] = {}
    # PostgreSQL takes the ids as one array parameter; SQLite binds each, in chunks.
    size = len(loan_ids) or 1 if session.get_bind().dialect.name == "postgresql" else CHUNK
    settled = or_(Loan.last_paid_on.is_(None), Loan.last_paid_on <= as_of)
    for chunk in chunks(loan_ids, size):
        rows = _first_uncovered(
            session, as_of, chunk, Loan.repaid_principal, Loan.repaid_interest, settled
        )
        found.update(_positions(as_of, rows))
        later = list(
            session.scalars(
                select(Loan.id).where(among(session, Loan.id, chunk), Loan.last_paid_on > as_of)
            )
        )
        if not later:
            continue
        paid = (
            select(
                Repayment.loan_id,
                func.sum(Repayment.principal).label("p"),
                func.sum(Repayment.interest).label("i"),
            )
            .where(
                among(session, Repayment.loan_id, later),
                Repayment.paid_on <= as_of,
                effective_repayments(),
            )
            .group_by(Repayment.loan_id)
            .subquery()
        )
        rows = _first_uncovered(
            session, as_of, later, func.coalesce(paid.c.p, 0), func.coalesce(paid.c.i, 0),
            Loan.last_paid_on > as_of, paid,
        )  # fmt: skip
        found.update(_positions(as_of, rows))
    return found


def _first_uncovered(session, as_of, chunk, paid_p, paid_i, which, paid=None):
    """Per loan of ``chunk`` matching ``which``: the first installment due before
    ``as_of`` that ``paid_p`` / ``paid_i`` do not cover, principal due through the last
    one due before ``as_of``, and principal paid."""
    uncovered = or_(LoanDue.cum_principal > paid_p, LoanDue.cum_interest > paid_i)
    query = (
        select(
            LoanDue.loan_id,
            func.min(case((uncovered, LoanDue.due_on))),
            func.max(LoanDue.cum_principal),
            func.max(paid_p),
        )
        .join(Loan, Loan.id == LoanDue.loan_id)
        .where(and_(among(session, LoanDue.loan_id, chunk), LoanDue.due_on < as_of, which))
        .group_by(LoanDue.loan_id)
    )
    if paid is not None:
        query = query.outerjoin(paid, paid.c.loan_id == LoanDue.loan_id)
    return session.execute(query)


def _positions(as_of, rows):
    for loan_id, first_due, due_p, p in rows:
        if first_due is not None:
            yield loan_id, (max(0, int(due_p) - int(p)), (as_of - first_due).days)
