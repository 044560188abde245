"""Interest subsidy (贴息): what public finance pays on one loan for one calendar quarter.

Pure functions; nothing here touches the database. Money in fen, rates in ppm a year.

The policy in force on the loan's contract date gives a ``subsidy`` rule, one of:

- ``{"method": "full", "share_ppm": {"individual": 1000000, ...}}``: finance pays that share
  of the interest at the loan's rate; a borrower type not listed gets nothing. With
  ``"rate_basis": {"small_enterprise": "benchmark"}`` a type's share is of the PBoC
  benchmark rate on the contract date instead (the mark-up excluded: 不含利率上浮部分),
  never of more than the loan's own rate; the benchmark is given by the caller.
- ``{"method": "declining", "share_ppm_by_year": [1000000, 666667, 333333],
  "types": ["individual", ...]}``: the share depends on the loan year (year 1 = the first
  12 months from disbursement, anniversaries clamped like due dates); beyond the list, or
  for a type not listed, nothing.
- ``{"method": "lpr_minus", "borrower_pays_spread_bp": -150,
  "small_enterprise_share_ppm": 500000}``: the borrower pays up to LPR + spread and finance
  the rest, i.e. the subsidised rate is max(0, loan rate − (LPR + spread)); for a small
  enterprise finance pays ``small_enterprise_share_ppm`` of that (all of it when missing).
  The LPR is the 1-year LPR on the contract date, given by the caller.

Any rule may also say who gets a subsidy and who pays it:

- ``"micro_profit_only": ["individual", "partnership"]``: a loan of those types earns a
  subsidy only for a micro-profit project (微利项目); ``"restricted_trades": [...]``: a
  loan in one of those trades (国家限制行业) earns none, whatever its type. A loan the
  rule excludes, or whose project kind or trade was not recorded when the rule asks for
  it, earns nothing, and its line says why (``withheld``, one of :data:`WITHHELD`).
- ``"central_share_ppm": {"small_enterprise": 500000, ...}``: central finance pays that
  share of the subsidy of a type listed, local finance the rest. The line then carries
  both, in fen: central = the subsidy × the share, rounded half up; local = the subsidy −
  central, so the two always add up to the subsidy exactly. A type not listed: no split
  (``central`` and ``local`` are None).

Day rule: a day d of the quarter counts when d ≥ disbursement and principal is outstanding at
the start of d (a payment on d reduces it from d + 1). Such a day is an *extension day* when
d ≥ the original maturity, else an *overdue day* when the loan is overdue on d, else a
*subsidised day* earning outstanding × subsidised rate / 360. Extension and overdue days earn
nothing. So ``days_in_quarter = days_subsidised + days_overdue + days_extended``; note that the
maturity day itself, when principal is still outstanding at its start, is an extension day
(interest runs over [disbursement, maturity), as in the schedule).

Sums are exact over the quarter and rounded half-up to the fen once, at the end.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any

from ledger.fund.schedule import (
    DAY_COUNT_BASIS,
    MAX_RATE_PPM,
    PPM,
    Installment,
    Payment,
    add_months,
    overdue_periods,
    round_half_up,
)

METHODS = ("full", "declining", "lpr_minus")
RATE_BASES = ("loan", "benchmark")
SMALL_ENTERPRISE = "small_enterprise"
MICRO_PROFIT = "micro_profit"
#: Why a loan earns no subsidy under its rule, checked in this order.
WITHHELD = ("project_not_recorded", "not_micro_profit", "trade_not_recorded", "restricted_trade")
WITHHELD_ZH = {
    "project_not_recorded": "未登记项目类型",
    "not_micro_profit": "非微利项目",
    "trade_not_recorded": "未登记行业",
    "restricted_trade": "国家限制行业",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_share(value: Any, where: str) -> None:
    if not _is_int(value) or not 0 <= value <= PPM:
        raise ValueError(f"subsidy rule: {where} must be an integer from 0 to {PPM}, not {value!r}")


def _check_names(value: Any, key: str) -> None:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or not all(isinstance(name, str) for name in value)
    ):
        raise ValueError(f"subsidy rule: '{key}' must be a list of names, not {value!r}")


def _check_conditions(rule: Mapping[str, Any]) -> None:
    """The keys any method may have: who gets a subsidy, who pays it."""
    for key in ("micro_profit_only", "restricted_trades"):
        if key in rule:
            _check_names(rule[key], key)
    central = rule.get("central_share_ppm", {})
    if not isinstance(central, Mapping):
        raise ValueError("subsidy rule: 'central_share_ppm' must be {borrower type: ppm}")
    for kind, share in central.items():
        _check_share(share, f"central_share_ppm[{kind!r}]")


def validate_subsidy_rule(rule: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the problem if ``rule`` is not a valid subsidy rule."""
    if not isinstance(rule, Mapping):
        raise ValueError(f"subsidy rule must be a dict, not {type(rule).__name__}")
    method = rule.get("method")
    if method not in METHODS:
        raise ValueError(
            f"subsidy rule: unknown method {method!r}; expected one of {', '.join(METHODS)}"
        )
    _check_conditions(rule)
    if method == "full":
        shares = rule.get("share_ppm")
        if not isinstance(shares, Mapping):
            raise ValueError("subsidy rule 'full' needs 'share_ppm': {borrower type: ppm}")
        for kind, share in shares.items():
            _check_share(share, f"share_ppm[{kind!r}]")
        bases = rule.get("rate_basis", {})
        if not isinstance(bases, Mapping) or any(b not in RATE_BASES for b in bases.values()):
            raise ValueError(
                "subsidy rule 'full': 'rate_basis' must be {borrower type: 'loan' or "
                f"'benchmark'}}, not {bases!r}"
            )
    elif method == "declining":
        by_year = rule.get("share_ppm_by_year")
        types = rule.get("types")
        if not isinstance(by_year, Sequence) or isinstance(by_year, str):
            raise ValueError("subsidy rule 'declining' needs 'share_ppm_by_year': a list of ppm")
        for year, share in enumerate(by_year, start=1):
            _check_share(share, f"share_ppm_by_year year {year}")
        if (
            not isinstance(types, Sequence)
            or isinstance(types, str)
            or not all(isinstance(kind, str) for kind in types)
        ):
            raise ValueError("subsidy rule 'declining' needs 'types': a list of borrower types")
    else:
        spread = rule.get("borrower_pays_spread_bp")
        if not _is_int(spread):
            raise ValueError(
                "subsidy rule 'lpr_minus' needs 'borrower_pays_spread_bp': an integer of "
                f"basis points, not {spread!r}"
            )
        if "small_enterprise_share_ppm" in rule:
            _check_share(rule["small_enterprise_share_ppm"], "small_enterprise_share_ppm")


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """Return [first day of the quarter, first day of the next quarter)."""
    if not _is_int(quarter) or not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1, 2, 3 or 4, not {quarter!r}")
    first = date(year, 3 * quarter - 2, 1)
    return first, add_months(first, 3)


@dataclass(frozen=True)
class SubsidyLine:
    """The subsidy of one loan for one quarter."""

    year: int
    quarter: int
    #: Days of the quarter on which principal was outstanding (from disbursement).
    days_in_quarter: int
    days_subsidised: int
    #: Days excluded because the loan was overdue.
    days_overdue: int
    #: Days excluded because they fall on or after the original maturity (extension).
    days_extended: int
    #: Interest at the loan's full rate over the subsidised days, fen (informational).
    interest_base: int
    #: Subsidy payable, fen.
    subsidy: int
    #: Why the loan earns nothing under its rule (one of :data:`WITHHELD`); None when it
    #: qualifies.
    withheld: str | None = None
    #: The subsidy's split where the rule splits it: central finance's part and local
    #: finance's, fen (central + local = subsidy); None where it does not.
    central: int | None = None
    local: int | None = None


def withheld_reason(
    rule: Mapping[str, Any], borrower_type: str, project_kind: str | None, trade: str | None
) -> str | None:
    """Why a loan of ``borrower_type`` for a ``project_kind`` project in ``trade`` earns no
    subsidy under ``rule`` (one of :data:`WITHHELD`), or None when it qualifies. ``None``
    for the project kind or the trade: not recorded."""
    if borrower_type in rule.get("micro_profit_only", ()):
        if project_kind is None:
            return "project_not_recorded"
        if project_kind != MICRO_PROFIT:
            return "not_micro_profit"
    restricted = rule.get("restricted_trades", ())
    if restricted:
        if trade is None:
            return "trade_not_recorded"
        if trade in restricted:
            return "restricted_trade"
    return None


def split_subsidy(subsidy: int, central_share_ppm: int) -> tuple[int, int]:
    """(central, local): central finance's share of ``subsidy`` fen rounded half up, and
    the rest to local finance, so that the two add up to ``subsidy`` exactly."""
    central = round_half_up(Fraction(subsidy * central_share_ppm, PPM))
    return central, subsidy - central


class _SubsidisedRate:
    """The subsidised annual rate in ppm (possibly fractional) as a function of the day."""

    def __init__(
        self,
        rule: Mapping[str, Any],
        borrower_type: str,
        annual_rate_ppm: int,
        disbursed_on: date,
        lpr_ppm: int | None,
        benchmark_ppm: int | None,
    ) -> None:
        self.anniversaries: list[date] = []
        self.by_year: list[Fraction] = []
        self.flat = Fraction(0)
        method = rule["method"]
        if method == "full":
            base = annual_rate_ppm
            if rule.get("rate_basis", {}).get(borrower_type, "loan") == "benchmark":
                if not _is_int(benchmark_ppm) or benchmark_ppm < 0:
                    raise ValueError(
                        f"a share of the benchmark needs the contract-date benchmark rate, "
                        f"got {benchmark_ppm!r}"
                    )
                base = min(annual_rate_ppm, benchmark_ppm)
            self.flat = Fraction(base * rule["share_ppm"].get(borrower_type, 0), PPM)
        elif method == "declining":
            if borrower_type in rule["types"]:
                self.by_year = [
                    Fraction(annual_rate_ppm * share, PPM) for share in rule["share_ppm_by_year"]
                ]
            self.anniversaries = [
                add_months(disbursed_on, 12 * year) for year in range(1, len(self.by_year) + 1)
            ]
        else:
            if not _is_int(lpr_ppm) or lpr_ppm < 0:
                raise ValueError(f"rule 'lpr_minus' needs the contract-date LPR, got {lpr_ppm!r}")
            borrower_rate = lpr_ppm + rule["borrower_pays_spread_bp"] * 100
            self.flat = Fraction(max(0, annual_rate_ppm - borrower_rate))
            if borrower_type == SMALL_ENTERPRISE:
                self.flat *= Fraction(rule.get("small_enterprise_share_ppm", PPM), PPM)

    def on(self, day: date) -> Fraction:
        if not self.by_year and not self.anniversaries:
            return self.flat
        loan_year = bisect_right(self.anniversaries, day)  # 0-based
        return self.by_year[loan_year] if loan_year < len(self.by_year) else Fraction(0)


def quarter_subsidy(
    *,
    subsidy_rule: Mapping[str, Any],
    borrower_type: str,
    principal: int,
    annual_rate_ppm: int,
    disbursed_on: date,
    original_maturity: date,
    schedule: Sequence[Installment],
    payments: Iterable[Payment],
    year: int,
    quarter: int,
    lpr_ppm: int | None = None,
    benchmark_ppm: int | None = None,
    project_kind: str | None = None,
    trade: str | None = None,
) -> SubsidyLine:
    """Return the subsidy of one loan for one quarter (rules in the module docstring).

    ``project_kind`` (``micro_profit`` or ``other``) and ``trade`` (a trade code) are what
    the guarantee approval recorded, None where nothing was; they matter only to a rule
    that names them.
    """
    validate_subsidy_rule(subsidy_rule)
    if not _is_int(principal) or principal <= 0:
        raise ValueError(f"principal must be a positive integer of fen, not {principal!r}")
    if not _is_int(annual_rate_ppm) or not 0 <= annual_rate_ppm <= MAX_RATE_PPM:
        raise ValueError(f"annual rate must be 0 to {MAX_RATE_PPM} ppm, not {annual_rate_ppm!r}")
    if original_maturity <= disbursed_on:
        raise ValueError(
            f"original maturity {original_maturity} must be after disbursement {disbursed_on}"
        )
    scheduled = sum(item.principal for item in schedule)
    if scheduled != principal:
        raise ValueError(f"schedule totals {scheduled} fen of principal, the loan {principal}")
    payments = sorted(payments, key=lambda pay: pay.paid_on)
    withheld = withheld_reason(subsidy_rule, borrower_type, project_kind, trade)
    rate = _SubsidisedRate(
        subsidy_rule, borrower_type, annual_rate_ppm, disbursed_on, lpr_ppm, benchmark_ppm
    )
    first, after = quarter_bounds(year, quarter)
    overdue = overdue_periods(schedule, payments, first, after)

    # Everything that decides a day's treatment is constant between these days.
    one_day = timedelta(days=1)
    changes = {first, after, disbursed_on, original_maturity, *rate.anniversaries}
    changes.update(pay.paid_on + one_day for pay in payments)
    changes.update(day for period in overdue for day in period)
    bounds = sorted(day for day in changes if first <= day <= after)

    repaid_by = [pay.paid_on for pay in payments]
    repaid = [0]
    for pay in payments:
        repaid.append(repaid[-1] + pay.principal)
    overdue_starts = [start for start, _ in overdue]

    days_in = days_sub = days_overdue = days_extended = 0
    base = subsidy = Fraction(0)
    for start, end in pairwise(bounds):
        outstanding = principal - repaid[bisect_right(repaid_by, start - one_day)]
        if start < disbursed_on or outstanding <= 0:
            continue
        days = (end - start).days
        days_in += days
        if start >= original_maturity:
            days_extended += days
            continue
        k = bisect_right(overdue_starts, start) - 1
        if k >= 0 and start < overdue[k][1]:
            days_overdue += days
            continue
        days_sub += days
        base += outstanding * annual_rate_ppm * days
        if withheld is None:
            subsidy += outstanding * rate.on(start) * days
    per_fen = PPM * DAY_COUNT_BASIS
    payable = round_half_up(subsidy / per_fen)
    central = local = None
    central_share = subsidy_rule.get("central_share_ppm", {}).get(borrower_type)
    if central_share is not None:
        central, local = split_subsidy(payable, central_share)
    return SubsidyLine(
        year=year,
        quarter=quarter,
        days_in_quarter=days_in,
        days_subsidised=days_sub,
        days_overdue=days_overdue,
        days_extended=days_extended,
        interest_base=round_half_up(base / per_fen),
        subsidy=payable,
        withheld=withheld,
        central=central,
        local=local,
    )


def subsidy_claim(lines: Iterable[tuple[str, SubsidyLine]]) -> dict[str, Any]:
    """Aggregate per-loan lines of one quarter into a claim.

    Returns ``{"loans": number of loans, "subsidy": total fen, "lines": [...]}``, each line a
    dict with ``"loan"`` (the caller's loan reference) and the fields of ``SubsidyLine``, in
    the order given. A loan listed twice, or lines of different quarters, raise ``ValueError``.
    """
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    quarters: set[tuple[int, int]] = set()
    for loan, line in lines:
        if loan in seen:
            raise ValueError(f"loan {loan!r} appears twice in the subsidy claim")
        seen.add(loan)
        quarters.add((line.year, line.quarter))
        rows.append({"loan": loan, **asdict(line)})
    if len(quarters) > 1:
        listed = ", ".join(f"{y}Q{q}" for y, q in sorted(quarters))
        raise ValueError(f"a subsidy claim covers one quarter, these lines cover {listed}")
    return {"loans": len(rows), "subsidy": sum(row["subsidy"] for row in rows), "lines": rows}
