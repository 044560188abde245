"""The leverage cap (放大倍数) and the bank-level rates it and suspension depend on.

A fund's guarantee liability at a bank may not exceed multiplier × its special account
balance there: the cap holds per fund and bank (each district's fund has its own).
What counts as the liability is the policy's ``leverage.basis``: the fund's guarantee
exposure (its covered share of each loan) or the whole principal the bank has outstanding
on guaranteed loans. Both figures, and "leverage used" on each, are in every
:class:`Capacity`, with the floor of ``leverage.min_lending_multiple``: banks are to lend
at least that multiple of the fund, and the shortfall is shown, never enforced.
Every operation that raises exposure or lowers the special account locks the bank's
row first (``SELECT … FOR UPDATE``; SQLite serialises writers anyway), so two
concurrent disbursements can never together breach the cap. A backdated operation (one
dated before later postings on the bank's special account or exposure) must keep the
cap on its own date as well as now (:func:`capacities`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from ledger import chart
from ledger.fund.books import PPM, balance_now, balances_as_of
from ledger.fund.errors import LeverageCapError
from ledger.fund.funds import fund_codes
from ledger.fund.models import CITY_FUND, Claim, Loan, Repayment
from ledger.fund.policy import RuleSet, rules_on
from ledger.fund.reference import banks
from ledger.models import Account, Posting
from ledger.money import format_yuan


@dataclass(frozen=True)
class Capacity:
    bank: str
    #: The fund's guarantee exposure at the bank (fen), now or as of ``as_of``.
    exposure: int
    #: The special account balance (fen), now or as of ``as_of``.
    special: int
    multiplier: int
    #: Last calendar year's repayment rate at maturity (ppm), None if nothing matured.
    repayment_rate_ppm: int | None
    #: The date the balances are read as of; None: they are the balances now.
    as_of: dt.date | None = None
    #: Principal the bank has outstanding on guaranteed loans not compensated (fen).
    outstanding: int = 0
    #: What the cap counts: ``exposure`` or ``principal`` (``leverage.basis``).
    basis: str = "exposure"
    #: Banks are to lend at least this multiple of the special account (0: no floor).
    min_lending_multiple: int = 0
    #: The fund whose special account and exposure these are.
    fund: str = CITY_FUND

    @property
    def label(self) -> str:
        """The bank, and the fund when it is a district's: ``ICBC`` or ``ICBC/D01``."""
        return self.bank if self.fund == CITY_FUND else f"{self.bank}/{self.fund}"

    @property
    def liability(self) -> int:
        """The balance the cap counts, on the policy's basis (fen)."""
        return self.exposure if self.basis == "exposure" else self.outstanding

    @property
    def cap(self) -> int:
        return self.multiplier * self.special

    @property
    def remaining(self) -> int:
        return max(self.cap - self.liability, 0)

    @property
    def exposure_used_ppm(self) -> int | None:
        """Leverage used on the exposure basis: exposure ÷ special account, in ppm of one
        time (3.5 times is 3,500,000); None when the special account is empty."""
        return self.exposure * PPM // self.special if self.special > 0 else None

    @property
    def principal_used_ppm(self) -> int | None:
        """Leverage used on the principal basis: loans outstanding ÷ special account."""
        return self.outstanding * PPM // self.special if self.special > 0 else None

    @property
    def min_lending(self) -> int:
        """What the bank is to have lent at least (fen)."""
        return self.min_lending_multiple * self.special

    @property
    def lending_shortfall(self) -> int:
        """How far the loans outstanding fall short of the floor (fen; 0 when met)."""
        return max(self.min_lending - self.outstanding, 0)


def capacity(
    session: Session,
    bank: str,
    on: dt.date,
    rules: RuleSet | None = None,
    fund: str = CITY_FUND,
) -> Capacity:
    """Exposure, cap and what ``fund`` can still guarantee at the bank now, under the rules
    in force on ``on``."""
    rules = rules or rules_on(session, on)
    return _capacity(session, bank, _terms(session, bank, on, rules), fund)


def capacity_as_of(
    session: Session,
    bank: str,
    on: dt.date,
    rules: RuleSet | None = None,
    fund: str = CITY_FUND,
) -> Capacity:
    """The capacity as it stood on ``on``: the balances as of that date (postings dated
    then or before) under the multiplier of the rules in force then. The one function a
    report or a page asks for a bank's cap, with the disbursement check's arithmetic."""
    rules = rules or rules_on(session, on)
    return _capacity_as_of(session, bank, on, _terms(session, bank, on, rules), fund)


def capacities(
    session: Session,
    bank: str,
    on: dt.date,
    rules: RuleSet | None = None,
    fund: str = CITY_FUND,
) -> tuple[Capacity, ...]:
    """What the cap must hold on for an operation dated ``on``: now and, when the bank's
    special account or exposure has postings dated after ``on``, on ``on`` itself too.

    Without such postings the balances as of ``on`` are the balances now.
    """
    rules = rules or rules_on(session, on)
    terms = _terms(session, bank, on, rules)
    now = _capacity(session, bank, terms, fund)
    if not _dated_after(session, bank, on, fund):
        return (now,)
    return now, _capacity_as_of(session, bank, on, terms, fund)


def placements_as_of(
    session: Session, on: dt.date, fund: str | None = None, rules: RuleSet | None = None
) -> tuple[Capacity, ...]:
    """:func:`capacity_as_of` of ``fund`` at every partner bank, or, when None, of every
    fund at every bank: the city-level fund's always, a district fund's where it has
    money, exposure or loans. By fund, then bank."""
    rules = rules or rules_on(session, on)
    # A bank's terms (its repayment rate and so its multiplier) are the same for every fund.
    terms = {bank.code: _terms(session, bank.code, on, rules) for bank in banks(session)}
    result = []
    for f in [fund] if fund is not None else fund_codes(session):
        for code, bank_terms in terms.items():
            cap = _capacity_as_of(session, code, on, bank_terms, f)
            if (
                fund is None
                and f != CITY_FUND
                and not (cap.special or cap.exposure or cap.outstanding)
            ):
                continue
            result.append(cap)
    return tuple(result)


@dataclass(frozen=True)
class _Terms:
    multiplier: int
    rate: int | None
    basis: str
    min_lending_multiple: int


def _terms(session: Session, bank: str, on: dt.date, rules: RuleSet) -> _Terms:
    last_year = dt.date(on.year - 1, 1, 1), dt.date(on.year - 1, 12, 31)
    rate = repayment_rate_ppm(session, bank, *last_year)
    leverage = rules["leverage"]
    return _Terms(
        rules.leverage_multiplier(rate), rate, leverage["basis"], leverage["min_lending_multiple"]
    )


def _capacity(session: Session, bank: str, terms: _Terms, fund: str) -> Capacity:
    return Capacity(
        bank=bank,
        # Every exposure posting (disbursement, repayment and its reversal, claim payment)
        # pairs with the fund's contra account at the bank, so its one balance is the
        # exposure (verify checks it against the sum over the loans).
        exposure=balance_now(session, chart.exposure_contra_account(bank, fund)),
        special=balance_now(session, chart.special_account(bank, fund)),
        multiplier=terms.multiplier,
        repayment_rate_ppm=terms.rate,
        outstanding=principal_outstanding(session, bank, fund=fund),
        basis=terms.basis,
        min_lending_multiple=terms.min_lending_multiple,
        fund=fund,
    )


def _capacity_as_of(session: Session, bank: str, on: dt.date, terms: _Terms, fund: str) -> Capacity:
    """The capacity with the balances as of ``on`` (postings dated ``on`` or before)."""
    special = chart.special_account(bank, fund)
    contra = chart.exposure_contra_account(bank, fund)
    balance = balances_as_of(session, [special, contra], on)
    return Capacity(
        bank=bank,
        exposure=balance[contra],
        special=balance[special],
        multiplier=terms.multiplier,
        repayment_rate_ppm=terms.rate,
        as_of=on,
        outstanding=principal_outstanding(session, bank, on, fund),
        basis=terms.basis,
        min_lending_multiple=terms.min_lending_multiple,
        fund=fund,
    )


def principal_outstanding(
    session: Session, bank: str, as_of: dt.date | None = None, fund: str | None = CITY_FUND
) -> int:
    """Principal ``bank`` lent on loans ``fund`` guarantees (every fund's when None) and
    not repaid, now or as of ``as_of`` (fen). Loans the fund has compensated are its
    receivables instead, and do not count."""
    of_fund = [] if fund is None else [Loan.fund_code == fund]
    if as_of is None:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(Loan.principal - Loan.repaid_principal), 0)).where(
                    Loan.bank_code == bank, Loan.status == "active", *of_fund
                )
            )
        )
    compensated = select(Claim.loan_id).where(Claim.status == "paid", Claim.paid_on <= as_of)
    lent = select(Loan.id, Loan.principal).where(
        Loan.bank_code == bank,
        Loan.disbursed_on <= as_of,
        Loan.id.not_in(compensated),
        *of_fund,
    )
    principal = session.scalar(select(func.coalesce(func.sum(lent.subquery().c.principal), 0)))
    loans = lent.subquery()
    repaid = session.scalar(
        select(func.coalesce(func.sum(Repayment.principal), 0))
        .join(loans, loans.c.id == Repayment.loan_id)
        .where(Repayment.paid_on <= as_of, effective_repayments())
    )
    return int(principal) - int(repaid)


def _dated_after(session: Session, bank: str, on: dt.date, fund: str) -> bool:
    """Whether the fund's special account or exposure at the bank has a posting dated
    after ``on``."""
    codes = [chart.special_account(bank, fund), chart.exposure_contra_account(bank, fund)]
    later = (
        select(Posting.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code.in_(codes), Posting.effective_date > on)
        .exists()
    )
    return bool(session.scalar(select(later)))


def exposure_error(cap: Capacity, amount: int) -> LeverageCapError | None:
    """The refusal of ``amount`` more exposure under ``cap``, or None when the cap allows it."""
    if cap.liability + amount <= cap.cap:
        return None
    bank, shortfall, now = cap.label, cap.liability + amount - cap.cap, cap.liability
    at, when = ("", "now") if cap.as_of is None else (f" on {cap.as_of}", "then")
    at_zh, when_zh = ("", "现") if cap.as_of is None else (f" {cap.as_of}", "当日")
    what, short, what_zh = LIABILITY_NAMES[cap.basis]
    return LeverageCapError(
        f"bank {bank}: {what} would be {format_yuan(now + amount)} "
        f"yuan{at}, over the leverage cap of {format_yuan(cap.cap)} yuan "
        f"({cap.multiplier} × special account {format_yuan(cap.special)} yuan; {short} {when} "
        f"{format_yuan(now)} yuan); short by {format_yuan(shortfall)} yuan",
        zh=f"{bank}{at_zh} {what_zh}将达 {format_yuan(now + amount)} 元，超过放大倍数上限 "
        f"{format_yuan(cap.cap)} 元（{cap.multiplier} 倍 × 专户余额 "
        f"{format_yuan(cap.special)} 元；{when_zh}{what_zh} {format_yuan(now)} 元），"
        f"缺口 {format_yuan(shortfall)} 元",
        cap=cap.cap,
        exposure=now,
        shortfall=shortfall,
    )


#: How a refusal names the liability of each basis: (English, short English, Chinese).
LIABILITY_NAMES = {
    "exposure": ("guarantee exposure", "exposure", "在保余额"),
    "principal": ("loans outstanding", "outstanding", "担保贷款余额"),
}


def check_new_exposure(
    session: Session, bank: str, amount: int, on: dt.date, fund: str = CITY_FUND
) -> Capacity:
    """Refuse ``amount`` more of ``fund``'s exposure at ``bank`` if it would break the cap
    now or, for a backdated operation, on ``on``; returns the capacity now.

    The caller must hold the bank's row lock (``get_bank(…, for_update=True)``).
    """
    caps = capacities(session, bank, on, fund=fund)
    for cap in caps:
        error = exposure_error(cap, amount)
        if error is not None:
            raise error
    return caps[0]


def check_withdrawal(
    session: Session, bank: str, amount: int, on: dt.date, fund: str = CITY_FUND
) -> None:
    """Refuse a withdrawal the special account does not hold or the cap cannot bear, now
    or, for a backdated withdrawal, on ``on``.

    The caller must hold the bank's row lock (``get_bank(…, for_update=True)``).
    """
    for cap in capacities(session, bank, on, fund=fund):
        label = cap.label
        at, at_zh = ("", "") if cap.as_of is None else (f" on {cap.as_of}", f" {cap.as_of}")
        if amount > cap.special:
            raise LeverageCapError(
                f"bank {label}: the special account {'holds' if cap.as_of is None else 'held'} "
                f"{format_yuan(cap.special)} yuan{at}; cannot withdraw {format_yuan(amount)} yuan",
                zh=f"{label}{at_zh} 专户余额 {format_yuan(cap.special)} 元，"
                f"不足以调回 {format_yuan(amount)} 元",
                cap=cap.cap,
                exposure=cap.exposure,
                shortfall=amount - cap.special,
            )
        new_cap = cap.multiplier * (cap.special - amount)
        if cap.liability > new_cap:
            shortfall = cap.liability - new_cap
            then, then_zh = ("", "") if cap.as_of is None else (" then", "当日")
            what, _short, what_zh = LIABILITY_NAMES[cap.basis]
            raise LeverageCapError(
                f"bank {label}: after withdrawing {format_yuan(amount)} yuan the leverage cap "
                f"would be {format_yuan(new_cap)} yuan{at}, below the {what}{then} "
                f"of {format_yuan(cap.liability)} yuan; short by {format_yuan(shortfall)} yuan",
                zh=f"{label}{at_zh} 调回 {format_yuan(amount)} 元后放大倍数上限为 "
                f"{format_yuan(new_cap)} 元，低于{then_zh}{what_zh} {format_yuan(cap.liability)} "
                f"元，缺口 {format_yuan(shortfall)} 元",
                cap=new_cap,
                exposure=cap.liability,
                shortfall=shortfall,
            )


_REVERSAL = aliased(Repayment)


def effective_repayments():
    """Repayment rows that count: not reversal rows, and not reversed by one.

    ``reversal_of_id + 0 IS NULL`` rather than ``reversal_of_id IS NULL``: SQLite would
    otherwise answer the test through the unique index on ``reversal_of_id``, where nearly
    every row is NULL, and read the whole table on every query (one loan's repayments
    took time growing with all the repayments ever recorded).
    """
    return and_(
        (Repayment.reversal_of_id + 0).is_(None),
        ~select(_REVERSAL.id).where(_REVERSAL.reversal_of_id == Repayment.id).exists(),
    )


def repayment_rate_ppm(
    session: Session, bank: str | None, start: dt.date, end: dt.date, fund: str | None = None
) -> int | None:
    """Share of principal falling due in [start, end] (final maturity) repaid by then, on
    the loans of ``bank`` and ``fund`` (None: every bank, every fund). The leverage
    multiplier reads a bank's rate over all the funds it lends for.

    ``None`` when no loan matured in the period. Rounded down: a bank reaches 90% only
    when it really did.
    """
    final = func.coalesce(Loan.extended_to, Loan.maturity_on)
    matured = [final.between(start, end)]
    if bank is not None:
        matured.append(Loan.bank_code == bank)
    if fund is not None:
        matured.append(Loan.fund_code == fund)
    # A loan whose last repayment came by its maturity repaid its running total by then;
    # only the others need their repayments read.
    on_time = or_(Loan.last_paid_on.is_(None), Loan.last_paid_on <= final)
    due, repaid = session.execute(
        select(
            func.sum(Loan.principal),
            func.coalesce(func.sum(case((on_time, Loan.repaid_principal), else_=0)), 0),
        ).where(*matured)
    ).one()
    if not due:
        return None
    # The loans paid after maturity are few: read their repayments by loan id (an index
    # lookup each) rather than joining the whole repayments table.
    late = dict(session.execute(select(Loan.id, final).where(*matured, ~on_time)).tuples().all())
    ids = sorted(late)
    for start_at in range(0, len(ids), 5_000):
        rows = session.execute(
            select(Repayment.loan_id, Repayment.paid_on, Repayment.principal).where(
                Repayment.loan_id.in_(ids[start_at : start_at + 5_000]), effective_repayments()
            )
        )
        repaid += sum(p for loan_id, paid_on, p in rows if paid_on <= late[loan_id])
    return int(repaid) * PPM // int(due)


def compensation_totals(
    session: Session, bank: str | None, on: dt.date, fund: str | None = None
) -> tuple[int, int]:
    """(claims paid, principal guaranteed) up to ``on`` on the loans of ``bank`` and
    ``fund`` (None: all), in fen: the compensation rate's parts."""
    guaranteed = select(func.coalesce(func.sum(Loan.principal), 0)).where(Loan.disbursed_on <= on)
    paid = (
        select(func.coalesce(func.sum(Claim.amount), 0))
        .join(Loan, Loan.id == Claim.loan_id)
        .where(Claim.status == "paid", Claim.paid_on <= on)
    )
    if bank is not None:
        guaranteed = guaranteed.where(Loan.bank_code == bank)
        paid = paid.where(Loan.bank_code == bank)
    if fund is not None:
        guaranteed = guaranteed.where(Loan.fund_code == fund)
        paid = paid.where(Loan.fund_code == fund)
    return int(session.scalar(paid)), int(session.scalar(guaranteed))


def compensation_rate_ppm(
    session: Session, bank: str | None, on: dt.date, fund: str | None = None
) -> int | None:
    """Claims paid ÷ principal guaranteed, up to ``on``; None when nothing was guaranteed."""
    paid, guaranteed = compensation_totals(session, bank, on, fund)
    return paid * PPM // guaranteed if guaranteed else None
