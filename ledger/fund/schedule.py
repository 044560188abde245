"""Repayment schedules of guaranteed loans, a loan's position on a date, and overdue ageing.

Pure functions of integers and dates; nothing here touches the database.

Units: money is integer fen; an interest rate is an integer number of parts per million of
a year (3.85 % a year = ``38_500``). Every rounding is ROUND_HALF_UP to the fen, done once
per figure on an exact ``Fraction``.

Schedule conventions (``build_schedule``):

- **Due dates.** Monthly on the disbursement day of month, clamped to the last day of a
  shorter month and always counted from the disbursement date (disbursed Jan 31 → Feb 29,
  Mar 31, Apr 30, …), starting one month after disbursement, for every such date strictly
  before maturity. The last installment is due on the maturity date itself, so a term that
  is not a whole number of months ends with a short period. ``BULLET`` has one installment,
  due on maturity.
- **BULLET**: interest = principal × rate × days(disbursement → maturity) / 360 (actual/360).
- **INTEREST_ONLY**: each period's interest = principal × rate × days in the period / 360,
  rounded per installment; all principal is due with the last installment.
- **ANNUITY**: monthly rate r = rate / 12; the payment A = P·r·(1+r)^n / ((1+r)^n − 1) is
  computed exactly and rounded to the fen. Each installment's interest = outstanding × r
  (rounded) and its principal = A − interest; the last installment takes all remaining
  principal (interest again outstanding × r), so it may differ from A by a few fen. Periods
  are treated as equal months even when the last one is short.
- **EQUAL_PRINCIPAL**: principal per installment = P // n, the remainder fen going to the last
  installment; interest = outstanding before the installment × rate / 12 (rounded).
- A rate of 0 gives interest 0; ANNUITY at rate 0 is then equal principal parts.
- The installments' principal always sums to the loan's principal.

Position conventions (``position``, ``overdue_periods``):

- Payments on or before ``as_of`` count; they are applied cumulatively, oldest installment
  first. Principal and interest are covered separately.
- An installment due on d is overdue on a day t > d if the cumulative principal paid by t
  does not cover the cumulative principal scheduled up to and including it, or the same for
  interest. On its due date an installment is never overdue.
- Once the principal is repaid in full (the *payoff date*), interest scheduled on
  installments due after that date is no longer owed: a loan prepaid in full does not fall
  overdue on interest it will never accrue. A *partial* prepayment does not change the
  schedule; the bank is expected to supply a re-amortised schedule for that.
- ``first_unpaid_due_on`` is the due date of the first installment not yet covered, whether
  or not it has fallen due (so for a current loan it is the next due date); the loan is
  overdue exactly when that date is before ``as_of``, and ``days_overdue`` counts from it.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from itertools import accumulate, pairwise

#: Parts per million: the unit of an annual interest rate.
PPM = 1_000_000
#: Days in the interest year of the actual/360 convention.
DAY_COUNT_BASIS = 360
#: The highest annual rate accepted: 100 % a year.
MAX_RATE_PPM = 1_000_000
#: The most installments one schedule may have (50 years of months).
MAX_INSTALLMENTS = 600

BUCKETS = ("current", "1-30", "31-90", "91-180", ">180")


class Method(StrEnum):
    """How a loan is repaid (还款方式)."""

    BULLET = "bullet"
    INTEREST_ONLY = "interest_only"
    ANNUITY = "annuity"
    EQUAL_PRINCIPAL = "equal_principal"


METHOD_NAMES_ZH: dict[Method, str] = {
    Method.BULLET: "到期一次还本付息",
    Method.INTEREST_ONLY: "按月付息到期还本",
    Method.ANNUITY: "按月等额本息",
    Method.EQUAL_PRINCIPAL: "按月等额本金",
}
_METHOD_BY_NAME: dict[str, Method] = {
    **{m.value: m for m in Method},
    **{zh: m for m, zh in METHOD_NAMES_ZH.items()},
}
_WHITESPACE = re.compile(r"\s+")


def parse_method(text: str) -> Method:
    """Return the method named by ``text``: its English value or its Chinese name.

    Whitespace anywhere (including the full-width space) is ignored; English is
    case-insensitive.
    """
    key = _WHITESPACE.sub("", str(text)).lower()
    try:
        return _METHOD_BY_NAME[key]
    except KeyError:
        known = ", ".join(f"{m.value} ({METHOD_NAMES_ZH[m]})" for m in Method)
        raise ValueError(f"unknown repayment method {text!r}; expected one of: {known}") from None


@dataclass(frozen=True)
class Installment:
    """One scheduled repayment."""

    #: 1-based position in the schedule.
    number: int
    due_on: date
    #: Principal due, fen.
    principal: int
    #: Interest due, fen.
    interest: int


@dataclass(frozen=True)
class Payment:
    """One repayment received by the bank."""

    paid_on: date
    #: Principal repaid, fen.
    principal: int
    #: Interest paid, fen.
    interest: int


def round_half_up(value: Fraction | int) -> int:
    """Round an exact value to the nearest integer, halves away from zero (ROUND_HALF_UP)."""
    value = Fraction(value)
    magnitude = (2 * abs(value.numerator) + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def add_months(start: date, months: int) -> date:
    """Return ``start`` moved by whole months, the day clamped to the end of a short month."""
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def due_dates(disbursed_on: date, maturity_on: date) -> tuple[date, ...]:
    """Return the monthly due dates of a loan; the last one is ``maturity_on``.

    Raises ``ValueError`` when there would be more than ``MAX_INSTALLMENTS``.
    """
    if maturity_on <= disbursed_on:
        raise ValueError(f"maturity {maturity_on} must be after disbursement {disbursed_on}")
    dates: list[date] = []
    for k in range(1, MAX_INSTALLMENTS + 1):
        due = add_months(disbursed_on, k)
        if due >= maturity_on:
            dates.append(maturity_on)
            return tuple(dates)
        dates.append(due)
    raise ValueError(
        f"term {disbursed_on} to {maturity_on} has more than {MAX_INSTALLMENTS} installments"
    )


def _check_loan(principal: int, annual_rate_ppm: int) -> None:
    if isinstance(principal, bool) or not isinstance(principal, int):
        raise ValueError(f"principal must be an integer number of fen, not {principal!r}")
    if principal <= 0:
        raise ValueError(f"principal must be positive, got {principal} fen")
    if isinstance(annual_rate_ppm, bool) or not isinstance(annual_rate_ppm, int):
        raise ValueError(f"annual rate must be an integer in ppm, not {annual_rate_ppm!r}")
    if not 0 <= annual_rate_ppm <= MAX_RATE_PPM:
        raise ValueError(
            f"annual rate must be between 0 and {MAX_RATE_PPM} ppm, got {annual_rate_ppm}"
        )


def day_interest(principal: int, annual_rate_ppm: int, days: int) -> Fraction:
    """Exact actual/360 interest in fen (not rounded)."""
    return Fraction(principal * annual_rate_ppm * days, PPM * DAY_COUNT_BASIS)


def build_schedule(
    principal: int,
    annual_rate_ppm: int,
    method: Method,
    disbursed_on: date,
    maturity_on: date,
) -> tuple[Installment, ...]:
    """Return the installments of a loan (conventions in the module docstring)."""
    _check_loan(principal, annual_rate_ppm)
    method = parse_method(method)
    if method is Method.BULLET:
        if maturity_on <= disbursed_on:
            raise ValueError(f"maturity {maturity_on} must be after disbursement {disbursed_on}")
        days = (maturity_on - disbursed_on).days
        interest = round_half_up(day_interest(principal, annual_rate_ppm, days))
        return (Installment(1, maturity_on, principal, interest),)
    dates = due_dates(disbursed_on, maturity_on)
    if method is Method.INTEREST_ONLY:
        parts = _interest_only(principal, annual_rate_ppm, disbursed_on, dates)
    elif method is Method.ANNUITY and annual_rate_ppm > 0:
        parts = _annuity(principal, annual_rate_ppm, len(dates))
    else:
        parts = _equal_principal(principal, annual_rate_ppm, len(dates))
    schedule = tuple(
        Installment(number, due, p, i)
        for number, (due, (p, i)) in enumerate(zip(dates, parts, strict=True), start=1)
    )
    assert sum(item.principal for item in schedule) == principal
    return schedule


def _interest_only(
    principal: int, rate: int, disbursed_on: date, dates: Sequence[date]
) -> list[tuple[int, int]]:
    parts = []
    starts = (disbursed_on, *dates[:-1])
    for start, due in zip(starts, dates, strict=True):
        interest = round_half_up(day_interest(principal, rate, (due - start).days))
        parts.append((0, interest))
    parts[-1] = (principal, parts[-1][1])
    return parts


def _annuity(principal: int, rate: int, n: int) -> list[tuple[int, int]]:
    r = Fraction(rate, 12 * PPM)
    growth = (1 + r) ** n
    payment = round_half_up(principal * r * growth / (growth - 1))
    parts = []
    outstanding = principal
    for k in range(1, n + 1):
        interest = round_half_up(outstanding * r)
        part = outstanding if k == n else min(outstanding, payment - interest)
        parts.append((part, interest))
        outstanding -= part
    return parts


def _equal_principal(principal: int, rate: int, n: int) -> list[tuple[int, int]]:
    r = Fraction(rate, 12 * PPM)
    base = principal // n
    parts = []
    outstanding = principal
    for k in range(1, n + 1):
        part = outstanding if k == n else base
        parts.append((part, round_half_up(outstanding * r)))
        outstanding -= part
    return parts


def extend_schedule(
    schedule: Sequence[Installment],
    *,
    extended_on: date,
    new_maturity: date,
    annual_rate_ppm: int,
    method: Method,
    disbursed_on: date,
) -> tuple[Installment, ...]:
    """Return the schedule after an extension (展期) agreed on ``extended_on``.

    Installments due before ``extended_on`` are kept unchanged. The principal of the others
    is rescheduled with ``build_schedule`` from the due date of the last kept installment
    (or ``disbursed_on`` if none is kept) to ``new_maturity``; numbering continues.
    """
    _check_schedule(schedule)
    old_maturity = schedule[-1].due_on
    if new_maturity <= old_maturity:
        raise ValueError(
            f"new maturity {new_maturity} must be after the current maturity {old_maturity}"
        )
    kept = tuple(item for item in schedule if item.due_on < extended_on)
    remaining = sum(item.principal for item in schedule) - sum(item.principal for item in kept)
    if remaining <= 0:
        raise ValueError(f"no principal is scheduled on or after {extended_on}: nothing to extend")
    start = kept[-1].due_on if kept else disbursed_on
    rest = build_schedule(remaining, annual_rate_ppm, method, start, new_maturity)
    renumbered = tuple(
        Installment(len(kept) + item.number, item.due_on, item.principal, item.interest)
        for item in rest
    )
    return kept + renumbered


def _check_schedule(schedule: Sequence[Installment]) -> None:
    if not schedule:
        raise ValueError("schedule has no installments")
    for before, after in pairwise(schedule):
        if after.due_on <= before.due_on:
            raise ValueError(
                f"installment {after.number} due {after.due_on} is not after "
                f"installment {before.number} due {before.due_on}"
            )
    for item in schedule:
        if item.principal < 0 or item.interest < 0:
            raise ValueError(f"installment {item.number} has a negative amount")


def bucket(days_overdue: int) -> str:
    """Return the ageing bucket of a number of days overdue."""
    if days_overdue < 0:
        raise ValueError(f"days overdue cannot be negative, got {days_overdue}")
    if days_overdue == 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 90:
        return "31-90"
    if days_overdue <= 180:
        return "91-180"
    return ">180"


@dataclass(frozen=True)
class Position:
    """Where a loan stands at the end of ``as_of``; amounts in fen."""

    as_of: date
    #: Original principal (the schedule's total).
    principal: int
    #: Principal repaid on or before ``as_of``.
    principal_paid: int
    principal_outstanding: int
    #: Interest paid on or before ``as_of``.
    interest_paid: int
    #: Scheduled principal due on or before ``as_of``.
    principal_due: int
    #: Scheduled interest due on or before ``as_of`` (waived interest after payoff excluded).
    interest_due: int
    #: Principal of installments due before ``as_of`` not covered by payments.
    overdue_principal: int
    #: Interest of installments due before ``as_of`` not covered by payments.
    overdue_interest: int
    #: Days since the earliest overdue installment fell due; 0 when not overdue.
    days_overdue: int
    #: Due date of the first installment not covered by payments (due or not), or None.
    first_unpaid_due_on: date | None
    #: One of ``BUCKETS``.
    bucket: str

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


class _Track:
    """Cumulative scheduled and paid amounts of one loan, for lookups by date."""

    def __init__(self, schedule: Sequence[Installment], payments: Iterable[Payment]) -> None:
        _check_schedule(schedule)
        self.due = [item.due_on for item in schedule]
        self.sched_p = [0, *accumulate(item.principal for item in schedule)]
        self.sched_i = [0, *accumulate(item.interest for item in schedule)]
        self.total = self.sched_p[-1]
        ordered = sorted(payments, key=lambda pay: pay.paid_on)
        for pay in ordered:
            if pay.principal < 0 or pay.interest < 0:
                raise ValueError(f"payment on {pay.paid_on} has a negative amount")
        self.paid_on = [pay.paid_on for pay in ordered]
        self.paid_p = [0, *accumulate(pay.principal for pay in ordered)]
        self.paid_i = [0, *accumulate(pay.interest for pay in ordered)]
        if self.paid_p[-1] > self.total:
            raise ValueError(
                f"payments repay {self.paid_p[-1]} fen of principal, "
                f"more than the {self.total} fen lent"
            )
        self.payoff_on: date | None = None
        if self.total and self.paid_p[-1] == self.total:
            self.payoff_on = self.paid_on[bisect_left(self.paid_p, self.total) - 1]

    def paid(self, day: date) -> tuple[int, int]:
        """Principal and interest paid on or before ``day``."""
        j = bisect_right(self.paid_on, day)
        return self.paid_p[j], self.paid_i[j]

    def owed_count(self, day: date) -> int:
        """How many leading installments still owe their interest as seen on ``day``."""
        if self.payoff_on is not None and self.payoff_on <= day:
            return bisect_right(self.due, self.payoff_on)
        return len(self.due)

    def interest_owed(self, count: int, day: date) -> int:
        """Cumulative interest owed by the first ``count`` installments as seen on ``day``."""
        return self.sched_i[min(count, self.owed_count(day))]

    def first_uncovered(self, day: date) -> int | None:
        """0-based index of the first installment not covered by payments up to ``day``."""
        paid_p, paid_i = self.paid(day)
        by_principal = bisect_right(self.sched_p, paid_p)
        by_interest = bisect_right(self.sched_i, paid_i)
        if by_interest > self.owed_count(day):
            by_interest = len(self.sched_i)
        first = min(by_principal, by_interest)
        return first - 1 if first < len(self.sched_p) else None

    def overdue_since(self, day: date) -> date | None:
        """Due date of the earliest overdue installment on ``day``, or None."""
        index = self.first_uncovered(day)
        if index is None or self.due[index] >= day:
            return None
        return self.due[index]


def position(schedule: Sequence[Installment], payments: Iterable[Payment], as_of: date) -> Position:
    """Return the loan's position at the end of ``as_of`` (conventions in the module doc)."""
    track = _Track(schedule, payments)
    paid_p, paid_i = track.paid(as_of)
    due_through = bisect_right(track.due, as_of)
    due_before = bisect_left(track.due, as_of)
    index = track.first_uncovered(as_of)
    first_unpaid = None if index is None else track.due[index]
    days = (as_of - first_unpaid).days if first_unpaid is not None and first_unpaid < as_of else 0
    return Position(
        as_of=as_of,
        principal=track.total,
        principal_paid=paid_p,
        principal_outstanding=track.total - paid_p,
        interest_paid=paid_i,
        principal_due=track.sched_p[due_through],
        interest_due=track.interest_owed(due_through, as_of),
        overdue_principal=max(0, track.sched_p[due_before] - paid_p),
        overdue_interest=max(0, track.interest_owed(due_before, as_of) - paid_i),
        days_overdue=days,
        first_unpaid_due_on=first_unpaid,
        bucket=bucket(days),
    )


def overdue_periods(
    schedule: Sequence[Installment], payments: Iterable[Payment], start: date, end: date
) -> list[tuple[date, date]]:
    """Return the half-open intervals [a, b) within [start, end) on which the loan is overdue.

    The status can change only on the day after a due date and on a payment date, so only
    those days are examined.
    """
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    track = _Track(schedule, payments)
    one_day = timedelta(days=1)
    changes = {start}
    changes.update(due + one_day for due in track.due)
    changes.update(track.paid_on)
    periods: list[tuple[date, date]] = []
    opened: date | None = None
    for day in sorted(d for d in changes if start <= d < end):
        is_overdue = track.overdue_since(day) is not None
        if is_overdue and opened is None:
            opened = day
        elif not is_overdue and opened is not None:
            periods.append((opened, day))
            opened = None
    if opened is not None:
        periods.append((opened, end))
    return periods
