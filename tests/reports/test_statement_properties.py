"""The fund statement's proof line holds over random sequences of the fund's operations
(disbursements, repayments, claims, recoveries, write-offs, interest, placements,
withdrawals: the fund tests' strategy), for random periods: net capital = assets −
liabilities to the fen, opening and closing; the capital lines add up to the
totals; the movements of each line add up to its closing − opening, and their effect on
net capital to the capital's."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.reports.fund_statement import fund_statement_report
from tests.fund.conftest import D, run, setup_fund
from tests.fund.test_fund_properties import OPS, _apply

DAYS = st.integers(0, 800).map(lambda n: D(2025, 1, 1) + dt.timedelta(days=n))
PERIODS = st.tuples(DAYS, DAYS).map(sorted)


@pytest.fixture
def fund(factory):
    return setup_fund(factory)


def check(report):
    capital = [row.cells for row in report.section("capital").rows]
    *sources, total = capital
    for n in range(2, 9):
        assert total[n] == sum(c[n] for c in sources)
    for c in capital:  # opening + allocations + interest + fees − written off + recovered
        assert c[8] == c[2] + c[3] + c[4] + c[5] - c[6] + c[7], c
    *kinds, moved = [row.cells for row in report.section("movements").rows]
    for n in range(2, 7):
        assert moved[n] == sum(k[n] for k in kinds)
    for k in kinds:
        assert k[6] == k[2] + k[3] + k[4] - k[5], k
    assert moved[6] == total[8] - total[2]
    assets = {row.cells[0] or row.cells[1]: row.cells for row in report.section("assets").rows}
    special = [c for code, c in assets.items() if code.startswith("asset:special:")]
    for line, cells in (
        (2, [assets["asset:treasury"]]),
        (3, special),
        (4, [assets["asset:receivable"]]),
        (5, [assets["liability:claims-payable"]]),
    ):
        assert moved[line] == sum(c[3] - c[2] for c in cells)
    proof = [row.cells for row in report.section("proof").rows]
    assert [p[4] for p in proof] == [0, 0]  # net capital = assets − liabilities, to the fen
    assert (proof[0][1], proof[1][1]) == (total[2], total[8])
    net = assets["净资产（资产减负债）"]
    assert (proof[0][2] - proof[0][3], proof[1][2] - proof[1][3]) == (net[2], net[3])


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(OPS, min_size=1, max_size=10), st.lists(PERIODS, min_size=1, max_size=3))
def test_the_proof_line_holds_after_any_operations(fund, ops, periods):
    for op in ops:
        with contextlib.suppress(LedgerError):  # refused: the books are as they were
            run(fund, lambda s, op=op: _apply(s, op))
    with fund() as s:
        for start, end in periods:
            check(fund_statement_report(s, start, end))
            check(fund_statement_report(s, start, end, fund="CITY"))
