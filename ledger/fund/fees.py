"""The guarantee fee (担保费): what a loan's guarantee earns the fund over a period, and
the fee received, recorded as income of the fund.

Where a locality charges one (``guarantee_fee.rate_ppm`` of its rules, at most 1% a year;
0: not charged), the finance bureau pays it, never the borrower (``guarantee_fee.payer``).
A loan's rate is that of its own rule set (the rules in force on its disbursement date), as
for everything else about it: a later rule never changes it.

The fee of a loan is on the principal the fund guarantees: the loan's principal
outstanding, day by day, not only the fund's covered share of it. Day rule (as for the
interest subsidy): a day counts from disbursement while principal is outstanding at its
start (a repayment on a day reduces it from the next), and no longer once the fund paid
compensation on the loan, which ends the guarantee. Day count actual/actual: a day weighs
1/365, or 1/366 in a leap year, so a whole calendar year at 1% is exactly 1% of the
principal and never more. The exact sum is rounded half up to the fen once, at the end.

Posts, for a fee received: treasury ↑ (or the special account of the bank it was paid
into), ``income:guarantee-fee:<source>`` ↑ for each capital source pro rata to its
contributed capital on the date received (largest remainder: the parts add up exactly).
"""

from __future__ import annotations

import calendar
import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.accounts import ensure_accounts
from ledger.clock import utcnow
from ledger.entries import credit, debit
from ledger.fund.books import PPM, post
from ledger.fund.capital import attribute_pro_rata
from ledger.fund.errors import DuplicateReferenceError, GuaranteeFeeError
from ledger.fund.funds import get_fund
from ledger.fund.loans import loan_payments, loan_rules
from ledger.fund.models import CITY_FUND, Claim, GuaranteeFee, Loan
from ledger.fund.policy import rules_on
from ledger.fund.reference import (
    Role,
    all_sources,
    get_bank,
    refuse_future,
    require_role,
)
from ledger.fund.schedule import Payment, round_half_up
from ledger.money import format_percent, format_yuan
from ledger.rows import among, chunks

__all__ = ["FeeDue", "FeeLine", "fees_due", "guarantee_fee", "record_guarantee_fee"]

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class FeeLine:
    """The guarantee fee of one loan over a period."""

    #: Days of the period on which the fund guaranteed principal of the loan.
    days: int
    #: Fen.
    fee: int


def guarantee_fee(
    *,
    principal: int,
    rate_ppm: int,
    disbursed_on: dt.date,
    payments: Iterable[Payment],
    period_from: dt.date,
    period_to: dt.date,
    ended_on: dt.date | None = None,
) -> FeeLine:
    """The fee on a loan of ``principal`` fen at ``rate_ppm`` a year over the days
    ``period_from`` to ``period_to`` (both included); ``ended_on``: the day the guarantee
    ended (compensation paid), from which no day counts. Rules in the module docstring."""
    if isinstance(principal, bool) or not isinstance(principal, int) or principal <= 0:
        raise ValueError(f"principal must be a positive integer of fen, not {principal!r}")
    if isinstance(rate_ppm, bool) or not isinstance(rate_ppm, int) or not 0 <= rate_ppm <= PPM:
        raise ValueError(f"the fee rate must be 0 to {PPM} ppm a year, not {rate_ppm!r}")
    if period_to < period_from:
        raise ValueError(f"the period ends ({period_to}) before it starts ({period_from})")
    payments = sorted(payments, key=lambda pay: pay.paid_on)
    after = period_to + _DAY
    # What decides a day's fee is constant between these days (a new year changes the
    # weight of a day).
    changes = {period_from, after, disbursed_on}
    changes.update(dt.date(year, 1, 1) for year in range(period_from.year + 1, after.year + 1))
    changes.update(pay.paid_on + _DAY for pay in payments)
    if ended_on is not None:
        changes.add(ended_on)
    bounds = sorted(day for day in changes if period_from <= day <= after)
    paid_by = [pay.paid_on for pay in payments]
    repaid = [0]
    for pay in payments:
        repaid.append(repaid[-1] + pay.principal)
    days, total = 0, Fraction(0)
    for start, end in pairwise(bounds):
        outstanding = principal - repaid[bisect_right(paid_by, start - _DAY)]
        if start < disbursed_on or outstanding <= 0 or (ended_on and start >= ended_on):
            continue
        n = (end - start).days
        days += n
        year_days = 366 if calendar.isleap(start.year) else 365
        total += Fraction(outstanding * rate_ppm * n, PPM * year_days)
    return FeeLine(days, round_half_up(total))


@dataclass(frozen=True)
class FeeDue:
    """A loan's guarantee fee over a period, at the rate of its own rules."""

    bank: str
    contract_no: str
    #: The loan's rules' fee, ppm a year.
    rate_ppm: int
    days: int
    #: Fen.
    fee: int


def fees_due(
    session: Session, period_from: dt.date, period_to: dt.date, *, bank: str | None = None
) -> list[FeeDue]:
    """The guarantee fee each loan (of ``bank``, or every bank) earned over the period, by
    bank and contract; loans whose rules charge none are left out."""
    if period_to < period_from:
        raise GuaranteeFeeError(
            f"the period ends ({period_to}) before it starts ({period_from})",
            zh=f"期间结束日 {period_to} 早于开始日 {period_from}",
        )
    query = select(Loan).where(Loan.disbursed_on <= period_to)
    if bank is not None:
        query = query.where(Loan.bank_code == bank)
    loans = [
        loan
        for loan in session.scalars(query.order_by(Loan.bank_code, Loan.contract_no))
        if loan.repaid_on is None or loan.repaid_on >= period_from
    ]
    paid: dict[int, dt.date] = {}
    for chunk in chunks([loan.id for loan in loans]):
        rows = session.execute(
            select(Claim.loan_id, Claim.paid_on).where(
                Claim.status == "paid", among(session, Claim.loan_id, chunk)
            )
        )
        paid.update((loan_id, paid_on) for loan_id, paid_on in rows)
    lines = []
    for loan in loans:
        rate = loan_rules(loan).guarantee_fee_rate_ppm()
        if rate == 0:
            continue
        line = guarantee_fee(
            principal=loan.principal,
            rate_ppm=rate,
            disbursed_on=loan.disbursed_on,
            payments=loan_payments(session, loan.id),
            period_from=period_from,
            period_to=period_to,
            ended_on=paid.get(loan.id),
        )
        if line.days:
            lines.append(FeeDue(loan.bank_code, loan.contract_no, rate, line.days, line.fee))
    return lines


def record_guarantee_fee(
    session: Session,
    amount: int,
    received_on: dt.date,
    reference: str,
    *,
    period_from: dt.date,
    period_to: dt.date,
    actor: str,
    bank: str | None = None,
    note: str = "",
    today: dt.date | None = None,
    fund: str = CITY_FUND,
) -> GuaranteeFee:
    """A guarantee fee received for the period ``period_from`` to ``period_to``: income of
    the fund, attributed to the capital sources pro rata to their contributed capital on
    ``received_on``. Paid into the treasury account, or into ``bank``'s special account.
    ``fund``: the fund it is income of (its treasury or special account, its sources).

    A clerk or an approver records it, as a placement. Refused: a fee where the rules in
    force at the period's start charge none; a date in the future; an amount that is not
    positive; no reference. The same reference again with the same content is the fee
    already recorded; with other content, :class:`DuplicateReferenceError`.
    """
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    refuse_future(received_on, today, "fee date", "担保费到账日期", GuaranteeFeeError)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise GuaranteeFeeError(
            "the guarantee fee must be a positive number of fen", zh="担保费金额必须大于零"
        )
    reference = reference.strip()
    if not reference:
        raise GuaranteeFeeError(
            "a guarantee fee needs its payment's reference", zh="担保费入账须填写付款凭证号"
        )
    if period_to < period_from:
        raise GuaranteeFeeError(
            f"the period ends ({period_to}) before it starts ({period_from})",
            zh=f"担保费所属期间结束日 {period_to} 早于开始日 {period_from}",
        )
    bank_row = get_bank(session, bank) if bank is not None else None
    owner = get_fund(session, fund)
    earlier = session.scalar(select(GuaranteeFee).where(GuaranteeFee.reference == reference))
    if earlier is not None:
        same = (earlier.amount, earlier.received_on, earlier.period_from, earlier.period_to)
        same += (earlier.bank_code, earlier.fund_code)
        if same == (amount, received_on, period_from, period_to, bank, fund):
            return earlier
        raise DuplicateReferenceError(
            f"reference {reference} was already recorded as a guarantee fee of "
            f"{format_yuan(earlier.amount)} yuan received on {earlier.received_on}",
            zh=f"凭证号 {reference} 已登记为 {earlier.received_on} 到账的担保费 "
            f"{format_yuan(earlier.amount)} 元",
        )
    fee = rules_on(session, period_from)["guarantee_fee"]
    if fee["rate_ppm"] == 0:
        raise GuaranteeFeeError(
            f"the rules in force on {period_from} charge no guarantee fee "
            "(guarantee_fee.rate_ppm is 0); a locality that charges one records it in its rules",
            zh=f"{period_from} 适用的政策不收取担保费（guarantee_fee.rate_ppm 为 0），"
            "收取担保费须先在本地政策中规定",
        )
    allocation = attribute_pro_rata(session, amount, received_on, fund)
    _open_income_accounts(session, allocation)
    into = chart.treasury_account(fund) if bank is None else chart.special_account(bank, fund)
    legs = [debit(into, amount)]
    legs += [
        credit(chart.guarantee_fee_income_account(src), fen) for src, fen in allocation.items()
    ]
    where = f"，存入{bank_row.name}担保基金专户" if bank_row is not None else ""
    if not owner.is_city:
        where = f"（{owner.name}）{where}"
    entry_id = post(
        session,
        received_on,
        "fee.guarantee",
        legs,
        f"担保费收入 {reference}（{period_from}至{period_to}，"
        f"费率每年{format_percent(fee['rate_ppm'])}）{where}",
        actor=actor,
        key=f"guarantee-fee:{reference}",
    )
    row = GuaranteeFee(
        reference=reference,
        received_on=received_on,
        amount=amount,
        period_from=period_from,
        period_to=period_to,
        payer=fee["payer"],
        bank_code=bank,
        fund_code=fund,
        allocation=allocation,
        note=note.strip(),
        entry_id=entry_id,
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _open_income_accounts(session: Session, allocation: dict[str, int]) -> None:
    """The fee income group (for books opened before it was in the standard chart) and
    the accounts of the sources the fee is attributed to, where not open yet."""
    sources = {s.code: s for s in all_sources(session)}
    specs = [spec for spec in chart.STANDARD_CHART if spec.code == chart.GUARANTEE_FEE_INCOME]
    for code in sorted(allocation):
        source = sources[code]
        specs += chart.guarantee_fee_accounts(code, source.name, source.fund_code)
    ensure_accounts(session, specs)
