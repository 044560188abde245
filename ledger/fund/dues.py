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

Because what is due and what is paid both only grow, an installment not covered has only
uncovered ones after it: the query keeps just the uncovered installments due before the
date, so a loan that is current returns no row, and the earliest and the last of a
loan's are its overdue position.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from itertools import accumulate

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from ledger.fund.leverage import effective_repayments
from ledger.fund.loans import loan_schedule
from ledger.fund.models import Loan, LoanDue, LoanDueState, Repayment
from ledger.rows import CHUNK, among, chunks, insert_rows


def ensure_dues(session: Session, loan_ids: Iterable[int]) -> int:
    """Write the installments of those of ``loan_ids`` that have none; returns how many
    loans were written."""
    wanted = sorted(set(loan_ids))
    missing = []
    for chunk in chunks(wanted, _size(session, wanted)):
        missing += session.scalars(_without_dues(among(session, Loan.id, chunk))).all()
    return _write_dues(session, missing)


def _size(session: Session, ids: list) -> int:
    # PostgreSQL takes the ids as one array parameter; SQLite binds each, in chunks.
    return len(ids) or 1 if session.get_bind().dialect.name == "postgresql" else CHUNK


def _without_dues(*where):
    """The ids of the loans matching ``where`` with no stored installments (a loan's first
    stands for all of them: they are written together)."""
    first = select(LoanDue.id).where(LoanDue.loan_id == Loan.id, LoanDue.n == 1)
    return select(Loan.id).where(*where, ~first.exists()).order_by(Loan.id)


def _write_dues(session: Session, loan_ids: list[int]) -> int:
    written = 0
    for chunk in chunks(loan_ids, 5_000):
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


def repaid_after(as_of: dt.date, *where):
    """Subquery (loan_id, p, i): the principal and interest of the effective repayments
    dated after ``as_of`` of the loans matching ``where`` — only a loan whose last
    repayment is after ``as_of`` has any, so only those loans' rows are read. A loan's
    running totals less these are what it had paid by ``as_of``."""
    moved = select(Loan.id).where(*where, Loan.last_paid_on > as_of)
    return (
        select(
            Repayment.loan_id,
            func.sum(Repayment.principal).label("p"),
            func.sum(Repayment.interest).label("i"),
        )
        .where(Repayment.loan_id.in_(moved), Repayment.paid_on > as_of, effective_repayments())
        .group_by(Repayment.loan_id)
        .subquery()
    )


def overdue_positions(
    session: Session,
    as_of: dt.date,
    loan_ids: list[int] | None = None,
    *,
    bank: str | None = None,
    fund: str | None = None,
) -> dict[int, tuple[int, int]]:
    """{loan id: (overdue principal, days overdue)} at the end of ``as_of`` of the loans
    overdue then and not repaid in full by then: of ``loan_ids`` if given, of ``bank``'s
    loans if given, else of every loan. Writes missing installments and states first.

    A loan with no repayment after ``as_of`` had paid its running totals by then: it is
    overdue when its state's first unpaid installment fell due before ``as_of`` — an
    indexed read of the few overdue loans. A loan repaid after ``as_of`` had paid its
    totals less those repayments (:func:`repaid_after`), compared with its installments."""
    base = [Loan.disbursed_on < as_of]
    if bank is not None:
        base.append(Loan.bank_code == bank)
    if fund is not None:
        base.append(Loan.fund_code == fund)
    if loan_ids is None:
        scopes = [base]
    else:
        scopes = [
            [*base, among(session, Loan.id, chunk)]
            for chunk in chunks(loan_ids, _size(session, loan_ids))
        ]
    found: dict[int, tuple[int, int]] = {}
    for where in scopes:
        _refresh_states(session, where)
        moved = session.scalars(
            select(Loan.id).where(*where, Loan.last_paid_on > as_of).order_by(Loan.id)
        ).all()
        ensure_dues(session, moved)
        session.flush()
        found.update(_settled(session, as_of, where))
        for chunk in chunks(moved, _size(session, moved)):
            found.update(_moved(session, as_of, [*where, among(session, Loan.id, chunk)]))
    return found


def _refresh_states(session: Session, where: list) -> None:
    """Work out again the states of the loans matching ``where`` (not repaid in full)
    whose totals moved since, or that have none, writing their installments first if
    they have none (a loan with a state has them: an extension deletes both)."""
    stale = session.scalars(
        select(Loan.id)
        .outerjoin(LoanDueState, LoanDueState.loan_id == Loan.id)
        .where(
            *where,
            Loan.repaid_principal < Loan.principal,
            or_(
                LoanDueState.loan_id.is_(None),
                LoanDueState.repaid_principal != Loan.repaid_principal,
                LoanDueState.repaid_interest != Loan.repaid_interest,
            ),
        )
        .order_by(Loan.id)
    ).all()
    ensure_dues(session, stale)
    session.flush()
    for chunk in chunks(stale, _size(session, stale)):
        first = dict(
            session.execute(
                select(LoanDue.loan_id, func.min(LoanDue.due_on))
                .join(Loan, Loan.id == LoanDue.loan_id)
                .where(
                    among(session, LoanDue.loan_id, chunk),
                    or_(
                        LoanDue.cum_principal > Loan.repaid_principal,
                        LoanDue.cum_interest > Loan.repaid_interest,
                    ),
                )
                .group_by(LoanDue.loan_id)
            ).all()
        )
        totals = session.execute(
            select(Loan.id, Loan.repaid_principal, Loan.repaid_interest).where(
                among(session, Loan.id, chunk)
            )
        ).all()
        session.execute(delete(LoanDueState).where(among(session, LoanDueState.loan_id, chunk)))
        insert_rows(
            session,
            LoanDueState.__table__,
            [
                {"loan_id": i, "repaid_principal": p, "repaid_interest": n,
                 "unpaid_since": first.get(i)}
                for i, p, n in totals
            ],
            draw_ids=False,
        )  # fmt: skip


def _settled(session: Session, as_of: dt.date, where: list):
    """The overdue loans of ``where`` with no repayment after ``as_of``."""
    overdue = session.execute(
        select(Loan.id, LoanDueState.unpaid_since, Loan.repaid_principal)
        .join(LoanDueState, LoanDueState.loan_id == Loan.id)
        .where(
            *where,
            or_(Loan.last_paid_on.is_(None), Loan.last_paid_on <= as_of),
            Loan.repaid_principal < Loan.principal,
            LoanDueState.unpaid_since < as_of,
        )
    ).all()
    ids = [r[0] for r in overdue]
    due: dict[int, int] = {}
    for chunk in chunks(ids, _size(session, ids)):
        due.update(
            session.execute(
                select(LoanDue.loan_id, func.max(LoanDue.cum_principal))
                .where(among(session, LoanDue.loan_id, chunk), LoanDue.due_on < as_of)
                .group_by(LoanDue.loan_id)
            ).all()
        )
    for loan_id, since, paid in overdue:
        yield loan_id, (max(0, int(due[loan_id]) - paid), (as_of - since).days)


def _moved(session: Session, as_of: dt.date, where: list):
    """The overdue loans of ``where`` repaid after ``as_of``: their installments against
    what they had paid by then."""
    after = repaid_after(as_of, *where)
    paid_p = Loan.repaid_principal - func.coalesce(after.c.p, 0)
    paid_i = Loan.repaid_interest - func.coalesce(after.c.i, 0)
    query = (
        select(
            LoanDue.loan_id,
            func.min(LoanDue.due_on),
            func.max(LoanDue.cum_principal),
            func.max(paid_p),
        )
        .join(Loan, Loan.id == LoanDue.loan_id)
        .outerjoin(after, after.c.loan_id == Loan.id)
        .where(
            *where,
            LoanDue.due_on < as_of,
            paid_p < Loan.principal,
            or_(LoanDue.cum_principal > paid_p, LoanDue.cum_interest > paid_i),
        )
        .group_by(LoanDue.loan_id)
    )
    for loan_id, first_due, due_p, p in session.execute(query):
        yield loan_id, (max(0, int(due_p) - int(p)), (as_of - first_due).days)
