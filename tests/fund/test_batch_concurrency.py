"""Two banks' clerks upload overlapping repayment files at the same moment: every row is
posted once, the later upload skips what the earlier one posted, and the books verify."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from ledger.chain import drain_sealer
from ledger.fund.models import Loan, Repayment
from ledger.fund.repayments import RepaymentLine, apply_repayments
from ledger.verify import verify
from tests.fund.conftest import D, run
from tests.fund.test_repayment_batches import PRINCIPALS, three_loans  # noqa: F401

ROUNDS = 6


@pytest.mark.postgresql_only
def test_overlapping_batches_post_each_row_once(three_loans):  # noqa: F811
    fund = three_loans
    # Round k repays 1,000.00 yuan of every loan; both clients send every round.
    rounds = [
        [
            RepaymentLine(f"R{k}-{c}", c, D(2025, 6, 1 + k), 100_000, 0, row=n + 2)
            for n, c in enumerate(PRINCIPALS)
        ]
        for k in range(ROUNDS)
    ]
    results, failures = [], []
    barrier = threading.Barrier(2)

    def client():
        barrier.wait()
        try:
            for lines in rounds:
                batch = run(
                    fund,
                    lambda s, lines=lines: apply_repayments(
                        s, bank="ICBC", lines=lines, actor="icbc", today=D(2025, 12, 31)
                    ),
                )
                results.append((batch.posted, batch.skipped))
        except Exception as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    # Each round's three rows were posted by one client and skipped by the other.
    assert sum(p for p, _ in results) == 3 * ROUNDS
    assert sum(s for _, s in results) == 3 * ROUNDS
    assert drain_sealer(fund.kw["bind"])
    with fund() as s:
        assert s.scalar(select(func.count()).select_from(Repayment)) == 3 * ROUNDS
        repaid = dict(s.execute(select(Loan.contract_no, Loan.repaid_principal)).tuples().all())
        assert repaid == dict.fromkeys(PRINCIPALS, 100_000 * ROUNDS)
        assert verify(s).problems == []
