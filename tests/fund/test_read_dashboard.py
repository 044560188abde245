"""The fund on one page: each figure is the one the operations and the reports compute
(capital by source, a bank's capacity), as of the date asked for."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.fund import capital, leverage, queries
from ledger.fund.read.dashboard import Awaiting, LoanTally, dashboard
from tests.fund.conftest import D, run

END = D(2025, 12, 31)


def test_the_dashboard_at_the_end_of_the_year(portfolio):
    with portfolio() as s:
        board = dashboard(s, END)
        sources = tuple(capital.capital_by_source(s, END))
        now = {b: leverage.capacity(s, b, END) for b in ("ABC", "ICBC")}
        as_of = {b: leverage.capacity_as_of(s, b, END) for b in ("ABC", "ICBC")}
        positions = {b.code: b for b in queries.banks_as_of(s, END)}
    assert board.on == END
    assert board.capital == sources
    abc, icbc = board.banks
    assert (abc.code, abc.name, icbc.code, icbc.name) == ("ABC", "农业银行", "ICBC", "工商银行")
    # The cap is leverage's own: the capacity as of the date, which (nothing being dated
    # later) is also the capacity now.
    for line in board.banks:
        assert line.capacity == as_of[line.code]
        assert (line.cap, line.remaining) == (now[line.code].cap, now[line.code].remaining)
        assert (line.placed, line.exposure) == (now[line.code].special, now[line.code].exposure)
        assert line.outstanding.principal == positions[line.code].outstanding
        assert (line.placed, line.exposure) == (
            positions[line.code].placed,
            positions[line.code].exposure,
        )
    # ABC: 1,000,000 placed − the 40,000 claim + the fund's 8,000 recovered; ABC-001 is the
    # fund's receivable now, ABC-002 (60,000, 80 % guaranteed) is all it holds. Nothing
    # matured in 2024: the base multiplier 5.
    assert (abc.placed, abc.exposure, abc.capacity.multiplier, abc.cap, abc.remaining) == (
        96_800_000, 4_800_000, 5, 484_000_000, 479_200_000,
    )  # fmt: skip
    assert (abc.outstanding, abc.overdue) == (LoanTally(1, 6_000_000), LoanTally(0, 0))
    # ICBC: ICBC-001 (80,000 left), ICBC-002 (80,000) and ICBC-003 (40,000) outstanding;
    # the two interest-only loans never paid and are overdue; ICBC-004 was repaid.
    assert (icbc.placed, icbc.exposure, icbc.cap, icbc.remaining) == (
        300_000_000, 16_000_000, 1_500_000_000, 1_484_000_000,
    )  # fmt: skip
    assert (icbc.outstanding, icbc.overdue) == (LoanTally(3, 20_000_000), LoanTally(2, 12_000_000))
    assert (board.placed, board.exposure) == (396_800_000, 20_800_000)
    assert (board.outstanding, board.overdue) == (
        LoanTally(4, 26_000_000),
        LoanTally(2, 12_000_000),
    )
    assert (board.claims_paid, board.recovered, board.recovered_fund_share) == (
        4_000_000,
        1_000_000,
        800_000,
    )
    # Allocation 5, claim 5 (C2025-ICBC-00003) and write-off 1 wait for an approver.
    assert board.awaiting == Awaiting(allocations=1, claims=1, write_offs=1)
    for value, field in ((board, "claims_paid"), (abc, "capacity"), (abc.overdue, "count"),
                         (board.awaiting, "claims")):  # fmt: skip
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, 0)


def test_the_dashboard_on_an_earlier_date(portfolio):
    with portfolio() as s:
        board = dashboard(s, D(2025, 7, 14))
        abc_then = leverage.capacity_as_of(s, "ABC", D(2025, 7, 14))
        abc_now = leverage.capacity(s, "ABC", D(2025, 7, 14))
        positions = {b.code: b.outstanding for b in queries.banks_as_of(s, D(2025, 7, 14))}
    abc, icbc = board.banks
    # The day before the claim was paid: ABC's special account still held 1,000,000 and
    # ABC-001 was still the bank's loan, overdue since its interest of 04-10.
    assert abc.capacity == abc_then
    assert abc_then != abc_now and (abc.placed, abc_now.special) == (100_000_000, 96_800_000)
    assert (abc.exposure, abc.cap, abc.remaining) == (8_800_000, 500_000_000, 491_200_000)
    assert (abc.outstanding, abc.overdue) == (LoanTally(2, 11_000_000), LoanTally(1, 5_000_000))
    # ICBC: nothing repaid yet; ICBC-004's bullet is not due before 11-01.
    assert (icbc.outstanding, icbc.overdue) == (LoanTally(4, 25_000_000), LoanTally(2, 12_000_000))
    assert (icbc.exposure, icbc.remaining) == (20_000_000, 1_480_000_000)
    assert {b.code: b.outstanding.principal for b in board.banks} == positions
    assert (board.claims_paid, board.recovered, board.recovered_fund_share) == (0, 0, 0)


def test_the_dashboard_before_the_first_loan(portfolio):
    with portfolio() as s:
        board = dashboard(s, D(2025, 1, 9))
    # Capital received, nothing placed yet (2025-01-10).
    assert [b.placed for b in board.banks] == [0, 0]
    assert [(x.code, x.contributed) for x in board.capital] == [
        ("city", 200_000_000),
        ("district-D01", 60_000_000),
        ("other", 40_000_000),
        ("provincial", 500_000_000),
    ]
    assert (board.outstanding, board.overdue, board.exposure) == (LoanTally(), LoanTally(), 0)


def test_what_awaits_approval_is_counted_now(portfolio):
    from ledger.fund import claims, recoveries

    def decide(s):
        capital.approve_allocation(s, 5, actor="approver")
        claims.reject_claim(s, "C2025-ICBC-00003", "重复", on=D(2025, 12, 2), actor="approver")
        recoveries.reject_write_off(s, 1, "继续追偿", on=D(2025, 12, 2), actor="approver")

    run(portfolio, decide)
    with portfolio() as s:
        assert dashboard(s, D(2025, 1, 31)).awaiting == Awaiting(0, 0, 0)
