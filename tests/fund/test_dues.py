"""Stored installments give every loan's overdue position in one query, equal to the
position the schedule gives (``schedule.position``) on every date of a whole demo city;
an extension replaces a loan's stored installments."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select

from ledger.demo.city import build_fund_demo
from ledger.fund.dues import ensure_dues, overdue_positions
from ledger.fund.leverage import effective_repayments
from ledger.fund.loans import loan_schedule
from ledger.fund.models import Loan, LoanDue, Repayment
from ledger.fund.schedule import Payment, position
from tests.fund.conftest import D, build_portfolio

TODAY = dt.date(2026, 11, 30)


def by_schedule(s, as_of: dt.date) -> tuple[list[int], dict[int, tuple[int, int]]]:
    """The loans outstanding at the end of ``as_of`` and, of them, the overdue ones'
    (overdue principal, days) from ``schedule.position``."""
    payments = defaultdict(list)
    for loan_id, paid_on, principal, interest in s.execute(
        select(Repayment.loan_id, Repayment.paid_on, Repayment.principal, Repayment.interest)
        .where(Repayment.paid_on <= as_of, effective_repayments())
        .order_by(Repayment.loan_id, Repayment.paid_on, Repayment.id)
    ):
        payments[loan_id].append(Payment(paid_on, principal, interest))
    outstanding, overdue = [], {}
    for loan in s.scalars(select(Loan).where(Loan.disbursed_on <= as_of).order_by(Loan.id)):
        pos = position(loan_schedule(loan), payments[loan.id], as_of)
        if pos.principal_outstanding <= 0:
            continue
        outstanding.append(loan.id)
        if pos.days_overdue:
            overdue[loan.id] = (pos.overdue_principal, pos.days_overdue)
    return outstanding, overdue


def test_the_stored_installments_give_the_schedules_position_on_every_date(factory):
    build_fund_demo(factory, loans=150, today=TODAY)
    with factory() as s:
        first = s.scalar(select(func.min(Loan.disbursed_on)))
        dates = [first + dt.timedelta(days=d) for d in range(20, 760, 37)]
        checked = 0
        for as_of in dates:
            outstanding, expected = by_schedule(s, as_of)
            assert overdue_positions(s, as_of, outstanding) == expected, as_of
            checked += len(expected)
        s.commit()
    assert checked > 100  # overdue loans were really compared, on many dates


def test_an_extension_replaces_the_stored_installments(factory):
    from ledger.db import run_in_transaction
    from ledger.fund import loans

    build_portfolio(factory)
    with factory() as s:
        loan_id = s.scalar(select(Loan.id).where(Loan.contract_no == "ICBC-001"))
        assert ensure_dues(s, [loan_id]) == 1
        assert ensure_dues(s, [loan_id]) == 0
        s.commit()
        assert s.scalar(select(func.max(LoanDue.due_on)).where(LoanDue.loan_id == loan_id)) == (
            D(2026, 3, 5)
        )
    run_in_transaction(
        factory,
        lambda s: loans.extend_loan(
            s, bank="ICBC", contract_no="ICBC-001", new_maturity=D(2026, 12, 5),
            on=D(2026, 2, 20), actor="approver", today=TODAY,
        ),
    )  # fmt: skip
    with factory() as s:
        assert s.scalar(select(func.count()).where(LoanDue.loan_id == loan_id)) == 0
        assert ensure_dues(s, [loan_id]) == 1
        loan = s.get(Loan, loan_id)
        schedule = loan_schedule(loan)
        stored = s.execute(
            select(LoanDue.due_on, LoanDue.cum_principal, LoanDue.cum_interest)
            .where(LoanDue.loan_id == loan_id)
            .order_by(LoanDue.n)
        ).all()
    assert [r.due_on for r in stored] == [i.due_on for i in schedule]
    assert stored[-1] == (D(2026, 12, 5), 10_000_000, sum(i.interest for i in schedule))


def test_a_repayment_after_the_positions_were_read_is_counted(factory):
    from ledger.db import run_in_transaction
    from ledger.fund.models import LoanDueState
    from ledger.fund.repayments import RepaymentLine, apply_repayments
    from ledger.principal import SYSTEM

    build_fund_demo(factory, loans=60, today=TODAY)
    with factory() as s:
        outstanding, expected = by_schedule(s, TODAY)
        assert overdue_positions(s, TODAY, outstanding) == expected
        s.commit()

        def owed_by(loan):
            payments = [
                Payment(r.paid_on, r.principal, r.interest)
                for r in s.scalars(
                    select(Repayment)
                    .where(Repayment.loan_id == loan.id, effective_repayments())
                    .order_by(Repayment.paid_on, Repayment.id)
                )
            ]
            return position(loan_schedule(loan), payments, TODAY)

        # An active loan behind on some installments, with more still to fall due.
        loan, owed = next(
            (ln, owed)
            for i in sorted(expected)
            if (ln := s.get(Loan, i)).status == "active"
            and (owed := owed_by(ln)).principal_outstanding > owed.overdue_principal
        )
        bank, contract = loan.bank_code, loan.contract_no
    assert owed.overdue_principal + owed.overdue_interest > 0
    line = RepaymentLine(
        "CATCH-UP-1", contract, TODAY, owed.overdue_principal, owed.overdue_interest
    )
    run_in_transaction(
        factory,
        lambda s: apply_repayments(s, bank=bank, lines=[line], actor=SYSTEM, today=TODAY),
    )
    with factory() as s:
        outstanding, expected = by_schedule(s, TODAY)
        assert loan.id not in expected  # caught up: nothing overdue on the day it paid
        assert overdue_positions(s, TODAY, outstanding) == expected
        state = s.get(LoanDueState, loan.id)
        paid = s.get(Loan, loan.id)
        assert (state.repaid_principal, state.repaid_interest) == (
            paid.repaid_principal,
            paid.repaid_interest,
        )
        assert state.unpaid_since >= TODAY
