"""The quarter's expected deposit interest on each special account: the day-end balances
over the quarter × the policy's agreed rate / 360, to the fen; a locality's own rate
replaces the national default."""

from __future__ import annotations

import pytest

from ledger.fund import policy
from ledger.recon.ageing import expected_interest
from tests.fund.conftest import D, run, setup_fund


@pytest.fixture
def fund(factory):
    return setup_fund(factory)


def test_expected_interest_at_the_policy_rate_and_at_a_local_one(fund):
    # ICBC holds 3,000,000 yuan and ABC 1,000,000 from 2025-01-10: 81 days of Q1 2025.
    with fund() as s:
        got = {e.account: (e.balance_days, e.expected) for e in expected_interest(s, 2025, 1)}
    assert got == {
        "asset:special:ICBC": (300_000_000 * 81, 607_500),  # × 0.90 % / 360: 6,075.00
        "asset:special:ABC": (100_000_000 * 81, 202_500),
    }
    run(
        fund,
        lambda s: policy.record_override(
            s, effective_from=D(2025, 1, 1), params={"deposit_interest": {"rate_ppm": 3_500}},
            actor="admin", note="协定存款利率 0.35%", backdated=True,
        ),
    )  # fmt: skip
    with fund() as s:
        got = {e.account: e.expected for e in expected_interest(s, 2025, 1)}
    # 24,300,000,000 fen-days × 0.35 % / 360 = 236,250 fen; ABC 78,750.
    assert got == {"asset:special:ICBC": 236_250, "asset:special:ABC": 78_750}
