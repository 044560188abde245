"""Random sequences of the fund's operations keep the books' invariants.

The database is per test, not per Hypothesis example (building a fund per example is too
slow), so every example continues the books the previous ones left, with its own contract
numbers and references; state carried over is read back from the database. After every
operation, accepted or refused, the invariants are checked; a refused operation must
leave the trial balance exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger import chart
from ledger.balances import trial_balance
from ledger.errors import LedgerError
from ledger.fund import capital, claims, guarantees, leverage, loans, queries, recoveries
from ledger.fund.books import subtree_balance_now
from ledger.fund.borrowers import register_borrower
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.identity import Sex, make_resident_id
from ledger.fund.models import Claim, Loan, Recovery
from tests.fund.conftest import D, run

BANKS = ("ICBC", "ABC")
FAR = D(2030, 12, 31)
_SERIAL = itertools.count(1)

OPS = st.one_of(
    st.tuples(st.just("disburse"), st.sampled_from(BANKS), st.integers(1, 20_000_000),
              st.integers(0, 300), st.booleans()),
    st.tuples(st.just("repay"), st.integers(0, 99), st.integers(0, 12_000_000),
              st.integers(1, 60)),
    st.tuples(st.just("claim"), st.integers(0, 99)),
    st.tuples(st.just("recover"), st.integers(0, 99), st.integers(1, 12_000_000)),
    st.tuples(st.just("write_off"), st.integers(0, 99)),
    st.tuples(st.just("interest"), st.sampled_from(BANKS), st.integers(1, 5_000_000)),
    st.tuples(st.just("withdraw"), st.sampled_from(BANKS), st.integers(1, 120_000_000)),
    st.tuples(st.just("place"), st.sampled_from(BANKS), st.integers(1, 30_000_000)),
)  # fmt: skip


def _pick(session, n, *statuses):
    rows = session.scalars(select(Loan).where(Loan.status.in_(statuses)).order_by(Loan.id)).all()
    return rows[n % len(rows)] if rows else None


def _disburse(s, bank, principal, day, interest_only):
    k = next(_SERIAL)
    born = D(1975, 1, 1) + dt.timedelta(days=k)
    number = make_resident_id("110105", born, k % 100, Sex.MALE)
    on = D(2025, 1, 15) + dt.timedelta(days=day)
    register_borrower(
        s, id_number=number, name=f"性质{k}", district="D01", categories=["graduate"],
        actor="clerk",
    )  # fmt: skip
    c = guarantees.approve_guarantee(
        s, id_number=number, bank=bank, amount=principal, term_months=12, on=on,
        actor="approver", counter_guarantees=(CounterGuaranteeSpec("credit_community"),),
    )  # fmt: skip
    loans.disburse(
        s, bank=bank, contract_no=f"P-{k}", guarantee_no=c.number, borrower_name=f"性质{k}",
        id_number=number, disbursed_on=on, maturity_on=D(on.year + 1, on.month, on.day),
        principal=principal, annual_rate_ppm=45_000,
        method="interest_only" if interest_only else "bullet", actor=bank.lower(),
    )  # fmt: skip


def _repay(s, n, principal, days):
    loan = _pick(s, n, "active")
    if loan is None:
        return False
    loans.repay(
        s, bank=loan.bank_code, bank_ref=f"PR-{next(_SERIAL)}", contract_no=loan.contract_no,
        paid_on=loan.disbursed_on + dt.timedelta(days=days), principal=principal,
        interest=0, actor="clerk",
    )  # fmt: skip


def _claim(s, n):
    loan = _pick(s, n, "active")
    if loan is None:
        return False
    on = loan.disbursed_on + dt.timedelta(days=460)  # ≥ 95 days past maturity
    c = claims.file_claim(
        s, bank=loan.bank_code, contract_no=loan.contract_no, on=on, actor="clerk"
    )
    claims.approve_claim(s, c.number, on=on, actor="approver")
    claims.pay_claim(s, c.number, on=on + dt.timedelta(days=1), actor="approver2")


def _recover(s, n, amount):
    loan = _pick(s, n, "claimed", "recovered", "written_off")
    if loan is None:
        return False
    recoveries.record_recovery(
        s, bank=loan.bank_code, contract_no=loan.contract_no, amount=amount,
        on=_paid_on(s, loan) + dt.timedelta(days=5), actor="clerk",
    )  # fmt: skip


def _write_off(s, n):
    loan = _pick(s, n, "claimed")
    if loan is None:
        return False
    w = recoveries.request_write_off(
        s, bank=loan.bank_code, contract_no=loan.contract_no, reason="性质测试",
        on=_paid_on(s, loan) + dt.timedelta(days=6), actor="clerk",
    )  # fmt: skip
    recoveries.approve_write_off(s, w.id, on=w.requested_on, actor="approver")


def _paid_on(s, loan):
    return s.scalar(select(Claim.paid_on).where(Claim.loan_id == loan.id, Claim.status == "paid"))


def _apply(s, op):
    """Run the operation; False when there was nothing to run it on."""
    kind, *args = op
    if kind in STEPS:
        return STEPS[kind](s, *args)
    if kind == "interest":
        bank, fen = args
        capital.record_deposit_interest(
            s, bank, fen, D(2025, 6, 21), f"INT-{next(_SERIAL)}", actor="clerk"
        )
    elif kind == "withdraw":
        capital.withdraw_capital(s, args[0], args[1], D(2025, 6, 1), actor="clerk")
    else:
        capital.place_capital(s, args[0], args[1], D(2025, 6, 1), actor="clerk")
    return True


STEPS = {
    "disburse": _disburse,
    "repay": _repay,
    "claim": _claim,
    "recover": _recover,
    "write_off": _write_off,
}


def _trial(s):
    tb = trial_balance(s)
    assert tb.net == 0
    return [(x.code, x.debit, x.credit) for x in tb.lines]


def _check(s):
    by_source = queries.capital_by_source(s, FAR)
    net = capital.net_capital_as_of(s, FAR)
    for x in by_source:
        assert x.net == x.contributed + x.income - x.losses == net[x.code]
    assets = sum(
        subtree_balance_now(s, code) for code in (chart.TREASURY, chart.SPECIAL, chart.RECEIVABLE)
    )
    liabilities = subtree_balance_now(s, chart.CLAIMS_PAYABLE)
    assert sum(x.net for x in by_source) == assets - liabilities
    for claim in s.scalars(select(Claim).where(Claim.status == "paid")):
        total, fund_share = s.execute(
            select(
                func.coalesce(func.sum(Recovery.total), 0),
                func.coalesce(func.sum(Recovery.fund_share), 0),
            ).where(Recovery.claim_id == claim.id)
        ).one()
        assert total <= claim.loss
        assert fund_share <= claim.amount
    for bank in BANKS:
        assert subtree_balance_now(s, chart.special_account(bank)) >= 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(OPS, min_size=1, max_size=12))
def test_random_operations_keep_the_invariants(fund, ops):
    # Make the cap bite at ABC: keep only 50,000 yuan there (cap 250,000 yuan at 5×).
    with fund() as s:
        first = s.scalar(select(func.count(Loan.id))) == 0
        special = subtree_balance_now(s, chart.special_account("ABC"))
    if first and special == 100_000_000:
        run(fund, lambda s: capital.withdraw_capital(s, "ABC", 95_000_000, D(2025, 2, 1),
                                                     actor="clerk"))  # fmt: skip
    for op in ops:
        with fund() as s:
            before = _trial(s)
        try:
            done = run(fund, lambda s, op=op: _apply(s, op))
        except LedgerError as exc:
            event(f"{op[0]} refused: {type(exc).__name__}")
            with fund() as s:
                assert _trial(s) == before, op  # a refusal changes nothing
                _check(s)
            continue
        event(f"{op[0]} {'skipped' if done is False else 'accepted'}")
        with fund() as s:
            _trial(s)
            _check(s)
            if op[0] == "disburse":
                cap = leverage.capacity(s, op[1], D(2025, 12, 31))
                assert cap.exposure <= cap.cap, op
