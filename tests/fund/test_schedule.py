"""Repayment schedules, positions, extension and overdue periods (ledger/fund/schedule.py)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.fund.schedule import (
    BUCKETS,
    METHOD_NAMES_ZH,
    Installment,
    Method,
    Payment,
    bucket,
    build_schedule,
    extend_schedule,
    overdue_periods,
    parse_method,
    position,
    round_half_up,
)

P = 10_000_000  # 100,000.00 yuan
RATE = 43_500  # 4.35 % a year
D0 = date(2024, 1, 15)
MAT = date(2026, 1, 15)


def total_principal(schedule):
    return sum(item.principal for item in schedule)


def total_interest(schedule):
    return sum(item.interest for item in schedule)


# --- methods -------------------------------------------------------------------------------


def test_parse_method_english_and_chinese():
    assert parse_method("annuity") is Method.ANNUITY
    assert parse_method(" Interest_Only ") is Method.INTEREST_ONLY
    assert parse_method("按月等额 本金") is Method.EQUAL_PRINCIPAL
    assert parse_method("\u3000到期一次还本付息 ") is Method.BULLET
    for method, name in METHOD_NAMES_ZH.items():
        assert parse_method(name) is method
    with pytest.raises(ValueError, match="unknown repayment method 'monthly'"):
        parse_method("monthly")


def test_round_half_up():
    from fractions import Fraction

    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(249, 100)) == 2
    assert round_half_up(7) == 7


# --- build_schedule: 100,000.00 yuan at 4.35 %, 2024-01-15 → 2026-01-15 ----------------------


def test_bullet():
    (only,) = build_schedule(P, RATE, Method.BULLET, D0, MAT)
    # 731 days (2024 is a leap year): 10_000_000 × 0.0435 × 731 / 360
    # = 435_000 × 731 / 360 = 883_291.666… → 883_292 fen.
    assert only == Installment(1, MAT, P, 883_292)


def test_interest_only():
    s = build_schedule(P, RATE, Method.INTEREST_ONLY, D0, MAT)
    assert len(s) == 24
    assert (s[0].due_on, s[-1].due_on) == (date(2024, 2, 15), MAT)
    # One day of interest = 435_000 / 360 = 1_208.333… fen.
    # 2024-01-15 → 02-15, 31 days: 37_458.33 → 37_458; 02-15 → 03-15, 29 days: 35_041.67 → 35_042.
    assert (s[0].principal, s[0].interest) == (0, 37_458)
    assert (s[1].principal, s[1].interest) == (0, 35_042)
    assert s[-1] == Installment(24, MAT, P, 37_458)  # 2025-12-15 → 2026-01-15, 31 days
    assert all(item.principal == 0 for item in s[:-1])
    # Periods: 14 of 31 days (each −1/3 fen by rounding), 8 of 30 (exact), one of 29 (+1/3)
    # and one of 28 (−1/3): 883_291.67 − 14/3 = 883_287.
    assert total_interest(s) == 883_287
    assert total_principal(s) == P


def test_annuity():
    s = build_schedule(P, RATE, Method.ANNUITY, D0, MAT)
    assert len(s) == 24
    assert (s[0].due_on, s[-1].due_on) == (date(2024, 2, 15), MAT)
    # r = 0.0435 / 12 = 0.003625; A = P·r·(1+r)^24 / ((1+r)^24 − 1) = 435_808.72 → 435_809.
    # 1: interest 10_000_000 × r = 36_250, principal 435_809 − 36_250 = 399_559.
    # 2: interest 9_600_441 × r = 34_801.60 → 34_802, principal 401_007.
    assert (s[0].principal, s[0].interest) == (399_559, 36_250)
    assert (s[1].principal, s[1].interest) == (401_007, 34_802)
    assert all(item.principal + item.interest == 435_809 for item in s[:-1])
    # Last: the remaining 434_228, interest 434_228 × r = 1_574.08 → 1_574 (one fen off A).
    assert s[-1] == Installment(24, MAT, 434_228, 1_574)
    assert total_principal(s) == P
    assert total_interest(s) == 23 * 435_809 + 434_228 + 1_574 - P == 459_409


def test_annuity_small_by_hand():
    # 12_000.00 yuan at 3.6 % (r = 0.003) over 4 months.
    s = build_schedule(1_200_000, 36_000, Method.ANNUITY, date(2024, 1, 31), date(2024, 5, 20))
    # A = 1_200_000 × 0.003 × 1.003^4 / (1.003^4 − 1) = 302_253.37 → 302_253.
    # 1: 3_600, 298_653 → 901_347; 2: 2_704.04 → 2_704, 299_549 → 601_798;
    # 3: 1_805.39 → 1_805, 300_448 → 301_350; 4: 904.05 → 904, the rest 301_350.
    assert [(i.principal, i.interest) for i in s] == [
        (298_653, 3_600),
        (299_549, 2_704),
        (300_448, 1_805),
        (301_350, 904),
    ]


def test_equal_principal():
    s = build_schedule(P, RATE, Method.EQUAL_PRINCIPAL, D0, MAT)
    assert len(s) == 24
    # 10_000_000 // 24 = 416_666, remainder 16 fen on the last: 416_682.
    # 1: 10_000_000 × 0.003625 = 36_250; 2: 9_583_334 × 0.003625 = 34_739.59 → 34_740.
    assert (s[0].principal, s[0].interest) == (416_666, 36_250)
    assert (s[1].principal, s[1].interest) == (416_666, 34_740)
    # Last: outstanding 416_682 × 0.003625 = 1_510.47 → 1_510.
    assert s[-1] == Installment(24, MAT, 416_682, 1_510)
    assert total_principal(s) == P
    # Σ outstanding = 24·P − 416_666·(0+…+23) = 125_000_184; × r = 453_125.67 exact; the
    # 24 roundings add up to 453_126.
    assert total_interest(s) == 453_126


def test_month_end_clamping_and_short_last_period():
    # 12_000.00 yuan at 3.6 %: one day of interest is 1_200_000 × 0.036 / 360 = 120 fen.
    s = build_schedule(
        1_200_000, 36_000, Method.INTEREST_ONLY, date(2024, 1, 31), date(2024, 5, 20)
    )
    assert [i.due_on for i in s] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 20),  # May 31 is not before maturity: short last period of 20 days
    ]
    assert [i.interest for i in s] == [29 * 120, 31 * 120, 30 * 120, 20 * 120]
    assert [i.principal for i in s] == [0, 0, 0, 1_200_000]
    (bullet,) = build_schedule(
        1_200_000, 36_000, Method.BULLET, date(2024, 1, 31), date(2024, 5, 20)
    )
    assert bullet.interest == 110 * 120 == 13_200
    ep = build_schedule(
        1_200_000, 36_000, Method.EQUAL_PRINCIPAL, date(2024, 1, 31), date(2024, 5, 20)
    )
    assert [(i.principal, i.interest) for i in ep] == [
        (300_000, 3_600),
        (300_000, 2_700),
        (300_000, 1_800),
        (300_000, 900),
    ]


def test_clamping_outside_leap_year():
    s = build_schedule(100_000, 0, Method.EQUAL_PRINCIPAL, date(2025, 1, 31), date(2025, 6, 30))
    assert [i.due_on for i in s] == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
        date(2025, 6, 30),
    ]


def test_less_than_one_month():
    s = build_schedule(500_000, 36_000, Method.ANNUITY, date(2024, 3, 1), date(2024, 3, 20))
    # One installment; interest = 500_000 × 0.003 = 1_500 (annuity uses whole months).
    assert s == (Installment(1, date(2024, 3, 20), 500_000, 1_500),)


@pytest.mark.parametrize("method", [Method.ANNUITY, Method.EQUAL_PRINCIPAL])
def test_rate_zero(method):
    s = build_schedule(1_000_000, 0, method, D0, date(2024, 4, 15))
    assert [(i.principal, i.interest) for i in s] == [
        (333_333, 0),
        (333_333, 0),
        (333_334, 0),
    ]


def test_rate_zero_bullet_and_interest_only():
    assert build_schedule(1_000, 0, Method.BULLET, D0, MAT)[0].interest == 0
    assert total_interest(build_schedule(1_000, 0, Method.INTEREST_ONLY, D0, MAT)) == 0


def test_fewer_fen_than_installments():
    s = build_schedule(5, 43_500, Method.EQUAL_PRINCIPAL, D0, MAT)
    assert [i.principal for i in s] == [0] * 23 + [5]
    assert total_interest(s) == 0  # 5 fen × 0.003625 rounds to 0 each month


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, RATE, Method.BULLET, D0, MAT), "principal must be positive"),
        ((-1, RATE, Method.BULLET, D0, MAT), "principal must be positive"),
        ((1.5, RATE, Method.BULLET, D0, MAT), "integer number of fen"),
        ((P, -1, Method.BULLET, D0, MAT), "between 0 and 1000000"),
        ((P, 1_000_001, Method.BULLET, D0, MAT), "between 0 and 1000000"),
        ((P, RATE, Method.ANNUITY, D0, D0), "must be after disbursement"),
        ((P, RATE, Method.BULLET, MAT, D0), "must be after disbursement"),
        ((P, RATE, Method.ANNUITY, D0, date(2074, 1, 16)), "more than 600 installments"),
        ((P, RATE, "weekly", D0, MAT), "unknown repayment method"),
    ],
)
def test_invalid_inputs(args, message):
    with pytest.raises(ValueError, match=message):
        build_schedule(*args)


def test_600_installments_allowed():
    s = build_schedule(P, RATE, Method.ANNUITY, D0, date(2074, 1, 15))
    assert len(s) == 600
    assert total_principal(s) == P


@settings(max_examples=200, deadline=None)
@given(
    principal=st.integers(1, 10**10),
    rate=st.integers(0, 1_000_000),
    method=st.sampled_from(Method),
    start=st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    days=st.integers(1, 3650),
)
def test_principal_always_sums(principal, rate, method, start, days):
    s = build_schedule(principal, rate, method, start, start + timedelta(days=days))
    assert total_principal(s) == principal
    assert all(i.principal >= 0 and i.interest >= 0 for i in s)
    assert [i.number for i in s] == list(range(1, len(s) + 1))
    assert s[-1].due_on == start + timedelta(days=days)
    assert all(a.due_on < b.due_on for a, b in pairwise(s))


# --- position -----------------------------------------------------------------------------
# 12_000.00 yuan at 3.6 %, equal principal, 2024-01-15 → 2024-05-15:
# 02-15 300_000 + 3_600, 03-15 300_000 + 2_700, 04-15 300_000 + 1_800, 05-15 300_000 + 900.

EP = build_schedule(1_200_000, 36_000, Method.EQUAL_PRINCIPAL, D0, date(2024, 5, 15))
DUES = [date(2024, 2, 15), date(2024, 3, 15), date(2024, 4, 15), date(2024, 5, 15)]


def on_time(count):
    return [Payment(i.due_on, i.principal, i.interest) for i in EP[:count]]


def test_schedule_fixture():
    assert [(i.due_on, i.principal, i.interest) for i in EP] == [
        (DUES[0], 300_000, 3_600),
        (DUES[1], 300_000, 2_700),
        (DUES[2], 300_000, 1_800),
        (DUES[3], 300_000, 900),
    ]


def test_on_time_is_current():
    pos = position(EP, on_time(2), date(2024, 3, 20))
    assert pos.principal == 1_200_000
    assert pos.principal_paid == 600_000
    assert pos.principal_outstanding == 600_000
    assert pos.interest_paid == 6_300
    assert pos.principal_due == 600_000
    assert pos.interest_due == 6_300
    assert (pos.overdue_principal, pos.overdue_interest) == (0, 0)
    assert pos.days_overdue == 0
    assert pos.first_unpaid_due_on == DUES[2]  # the next installment, not yet due
    assert pos.bucket == "current"
    assert not pos.overdue


def test_before_first_due_and_after_payoff():
    pos = position(EP, [], date(2024, 1, 20))
    assert (pos.principal_due, pos.interest_due, pos.days_overdue) == (0, 0, 0)
    assert pos.first_unpaid_due_on == DUES[0]
    done = position(EP, on_time(4), date(2024, 12, 31))
    assert done.principal_outstanding == 0
    assert done.first_unpaid_due_on is None
    assert done.bucket == "current"


def test_due_date_itself_is_not_overdue():
    pos = position(EP, [], DUES[0])
    assert pos.principal_due == 300_000
    assert pos.interest_due == 3_600
    assert (pos.overdue_principal, pos.overdue_interest, pos.days_overdue) == (0, 0, 0)
    assert pos.bucket == "current"
    # Paying on the due date keeps it current the day after.
    assert position(EP, on_time(1), DUES[0] + timedelta(days=1)).days_overdue == 0


def test_missed_installment_day_after():
    pos = position(EP, [], date(2024, 2, 16))
    assert pos.days_overdue == 1
    assert pos.first_unpaid_due_on == DUES[0]
    assert (pos.overdue_principal, pos.overdue_interest) == (300_000, 3_600)
    assert pos.bucket == "1-30"
    assert pos.overdue


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-90"),
        (90, "31-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, ">180"),
    ],
)
def test_ageing_buckets(days, expected):
    # Installment 1 paid; installment 2 (due 2024-03-15) missed, and nothing after it.
    pos = position(EP, on_time(1), DUES[1] + timedelta(days=days))
    assert pos.days_overdue == days
    assert pos.first_unpaid_due_on == DUES[1]
    assert pos.bucket == expected
    assert bucket(days) == expected


def test_ageing_bucket_amounts_at_181_days():
    pos = position(EP, on_time(1), date(2024, 9, 12))  # 03-15 + 181 days
    assert pos.days_overdue == 181
    # Installments 2, 3 and 4 are all past due and unpaid.
    assert (pos.overdue_principal, pos.overdue_interest) == (900_000, 2_700 + 1_800 + 900)


def test_bucket_function():
    assert BUCKETS == ("current", "1-30", "31-90", "91-180", ">180")
    assert bucket(0) == "current"
    with pytest.raises(ValueError, match="cannot be negative"):
        bucket(-1)


def test_partial_principal():
    pays = [Payment(DUES[0], 200_000, 3_600)]
    pos = position(EP, pays, date(2024, 2, 20))
    assert (pos.overdue_principal, pos.overdue_interest) == (100_000, 0)
    assert (pos.days_overdue, pos.first_unpaid_due_on) == (5, DUES[0])
    # The missing 100_000 arrives on 03-01: current again.
    pays.append(Payment(date(2024, 3, 1), 100_000, 0))
    assert position(EP, pays, date(2024, 3, 1)).days_overdue == 0


def test_partial_interest():
    pays = [Payment(DUES[0], 300_000, 3_000)]
    pos = position(EP, pays, date(2024, 2, 25))
    assert (pos.overdue_principal, pos.overdue_interest) == (0, 600)
    assert pos.days_overdue == 10


def test_late_payment_cures_oldest_first():
    # Nothing paid on 02-15 or 03-15; on 03-20 one installment's worth arrives.
    pays = [Payment(date(2024, 3, 20), 300_000, 3_600)]
    before = position(EP, pays, date(2024, 3, 19))
    assert before.days_overdue == 33  # since 02-15
    after = position(EP, pays, date(2024, 3, 20))
    assert after.first_unpaid_due_on == DUES[1]
    assert after.days_overdue == 5  # since 03-15
    assert (after.overdue_principal, after.overdue_interest) == (300_000, 2_700)


def test_prepayment_of_principal():
    # 02-15: the principal of installments 1 to 3 at once; 03-15: installment 2's interest.
    pays = [Payment(DUES[0], 900_000, 3_600), Payment(DUES[1], 0, 2_700)]
    pos = position(EP, pays, date(2024, 4, 10))
    assert pos.principal_outstanding == 300_000
    assert pos.days_overdue == 0
    assert pos.first_unpaid_due_on == DUES[2]
    # Installment 3 (04-15) then owes only its interest: its principal is already covered.
    late = position(EP, pays, date(2024, 4, 20))
    assert (late.overdue_principal, late.overdue_interest) == (0, 1_800)
    assert late.days_overdue == 5


def test_full_prepayment_waives_later_interest():
    # Paid off on 03-01 with the interest accrued since 02-15 (15 days × 90 fen).
    pays = [*on_time(1), Payment(date(2024, 3, 1), 900_000, 1_350)]
    pos = position(EP, pays, date(2024, 6, 1))
    assert pos.principal_outstanding == 0
    assert pos.days_overdue == 0
    assert pos.first_unpaid_due_on is None
    assert pos.principal_due == 1_200_000
    assert pos.interest_due == 3_600  # only installment 1 fell due before the payoff
    assert (pos.overdue_principal, pos.overdue_interest) == (0, 0)


def test_payoff_does_not_waive_interest_already_due():
    pays = [Payment(date(2024, 3, 1), 1_200_000, 0)]
    pos = position(EP, pays, date(2024, 3, 2))
    assert pos.principal_outstanding == 0
    assert (pos.overdue_principal, pos.overdue_interest) == (0, 3_600)
    assert (pos.days_overdue, pos.first_unpaid_due_on) == (16, DUES[0])


def test_payments_after_as_of_are_ignored():
    pos = position(EP, on_time(4), date(2024, 3, 14))
    assert pos.principal_paid == 300_000
    assert pos.interest_paid == 3_600


def test_position_rejects_overpayment_and_bad_schedule():
    with pytest.raises(ValueError, match="more than the 1200000 fen lent"):
        position(EP, [Payment(DUES[0], 1_200_001, 0)], DUES[0])
    with pytest.raises(ValueError, match="negative amount"):
        position(EP, [Payment(DUES[0], -1, 0)], DUES[0])
    with pytest.raises(ValueError, match="no installments"):
        position((), [], DUES[0])
    with pytest.raises(ValueError, match="is not after"):
        position((EP[1], EP[0]), [], DUES[0])


# --- extend_schedule ----------------------------------------------------------------------


def test_extension_keeps_past_and_reschedules_rest():
    new = extend_schedule(
        EP,
        extended_on=date(2024, 4, 1),
        new_maturity=date(2024, 7, 15),
        annual_rate_ppm=36_000,
        method=Method.EQUAL_PRINCIPAL,
        disbursed_on=D0,
    )
    assert new[:2] == EP[:2]
    # 600_000 left, from 03-15 to 07-15: 4 × 150_000; interest at 0.003 on
    # 600_000, 450_000, 300_000, 150_000 = 1_800, 1_350, 900, 450.
    assert new[2:] == (
        Installment(3, date(2024, 4, 15), 150_000, 1_800),
        Installment(4, date(2024, 5, 15), 150_000, 1_350),
        Installment(5, date(2024, 6, 15), 150_000, 900),
        Installment(6, date(2024, 7, 15), 150_000, 450),
    )
    assert total_principal(new) == total_principal(EP) == 1_200_000


def test_extension_on_a_due_date_reschedules_that_installment():
    new = extend_schedule(
        EP,
        extended_on=DUES[1],
        new_maturity=date(2024, 6, 15),
        annual_rate_ppm=36_000,
        method=Method.INTEREST_ONLY,
        disbursed_on=D0,
    )
    assert new[:1] == EP[:1]
    # 900_000 at 3.6 % = 90 fen a day from 02-15: 29, 31, 30, 31 days.
    assert [(i.number, i.due_on, i.principal, i.interest) for i in new[1:]] == [
        (2, date(2024, 3, 15), 0, 2_610),
        (3, date(2024, 4, 15), 0, 2_790),
        (4, date(2024, 5, 15), 0, 2_700),
        (5, date(2024, 6, 15), 900_000, 2_790),
    ]


def test_extension_of_bullet_starts_from_disbursement():
    old = build_schedule(1_000_000, 36_000, Method.BULLET, D0, date(2025, 1, 15))
    new = extend_schedule(
        old,
        extended_on=date(2024, 12, 20),
        new_maturity=date(2025, 7, 15),
        annual_rate_ppm=36_000,
        method=Method.BULLET,
        disbursed_on=D0,
    )
    # 2024-01-15 → 2025-07-15 = 547 days × 100 fen.
    assert new == (Installment(1, date(2025, 7, 15), 1_000_000, 54_700),)


def test_extension_errors():
    kwargs = {"annual_rate_ppm": 36_000, "method": Method.BULLET, "disbursed_on": D0}
    with pytest.raises(ValueError, match="must be after the current maturity 2024-05-15"):
        extend_schedule(EP, extended_on=DUES[1], new_maturity=DUES[3], **kwargs)
    with pytest.raises(ValueError, match="nothing to extend"):
        extend_schedule(EP, extended_on=date(2024, 5, 16), new_maturity=date(2024, 8, 1), **kwargs)


# --- overdue_periods ----------------------------------------------------------------------


def test_overdue_periods_example():
    # Installment 1 paid 10 days late, installment 3 never paid.
    pays = [
        Payment(date(2024, 2, 25), 300_000, 3_600),
        Payment(DUES[1], 300_000, 2_700),
    ]
    assert overdue_periods(EP, pays, date(2024, 1, 1), date(2024, 7, 1)) == [
        (date(2024, 2, 16), date(2024, 2, 25)),
        (date(2024, 4, 16), date(2024, 7, 1)),
    ]
    assert overdue_periods(EP, pays, date(2024, 2, 20), date(2024, 4, 20)) == [
        (date(2024, 2, 20), date(2024, 2, 25)),
        (date(2024, 4, 16), date(2024, 4, 20)),
    ]
    assert overdue_periods(EP, pays, date(2024, 3, 1), date(2024, 3, 1)) == []
    with pytest.raises(ValueError, match="before its start"):
        overdue_periods(EP, pays, date(2024, 3, 2), date(2024, 3, 1))


def brute_force_periods(schedule, payments, start, end):
    periods: list[tuple[date, date]] = []
    day = start
    while day < end:
        if position(schedule, payments, day).days_overdue > 0:
            if periods and periods[-1][1] == day:
                periods[-1] = (periods[-1][0], day + timedelta(days=1))
            else:
                periods.append((day, day + timedelta(days=1)))
        day += timedelta(days=1)
    return periods


@st.composite
def loans_with_payments(draw):
    principal = draw(st.integers(1, 2_000_000))
    rate = draw(st.sampled_from([0, 36_000, 43_500, 150_000]))
    method = draw(st.sampled_from(Method))
    disbursed = draw(st.dates(date(2023, 1, 1), date(2024, 12, 31)))
    term = draw(st.integers(1, 400))
    schedule = build_schedule(principal, rate, method, disbursed, disbursed + timedelta(days=term))
    payments = []
    left = principal
    for _ in range(draw(st.integers(0, 8))):
        # Payments cluster around due dates (early, on time, late) and sometimes anywhere.
        item = draw(st.sampled_from(schedule))
        when = item.due_on + timedelta(days=draw(st.integers(-5, 60)))
        paid_p = draw(st.sampled_from([0, item.principal, left, draw(st.integers(0, left))]))
        paid_p = min(paid_p, left)
        paid_i = draw(st.sampled_from([0, item.interest, draw(st.integers(0, 10_000))]))
        left -= paid_p
        payments.append(Payment(when, paid_p, paid_i))
    start = disbursed + timedelta(days=draw(st.integers(-10, term)))
    end = start + timedelta(days=draw(st.integers(0, 200)))
    return schedule, payments, start, end


@settings(max_examples=150, deadline=None)
@given(loans_with_payments())
def test_overdue_periods_match_day_by_day_position(case):
    schedule, payments, start, end = case
    assert overdue_periods(schedule, payments, start, end) == brute_force_periods(
        schedule, payments, start, end
    )
