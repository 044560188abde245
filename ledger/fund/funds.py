"""Several funds in one set of books: the city-level fund and the funds that districts and
counties set up of their own ("县级以上人民政府应建立小额贷款担保基金").

Each fund has its capital sources, its treasury, its special account and exposure at
every partner bank, its leverage cap and its statements. A borrower's loan draws on the
fund that guarantees it: by default the fund of the borrower's district when the district
had one on the application date, else the city-level fund; the city-level fund may
guarantee anyone in the city, a district's fund only its own residents.

The city-level fund is not a row: every city has it, under :data:`CITY_FUND`. Figures
are asked for per fund (a fund's code) or consolidated for the city (``fund=None``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.accounts import ensure_accounts
from ledger.clock import utcnow
from ledger.fund.errors import FundJurisdictionError, ReferenceDataError
from ledger.fund.models import CITY_FUND, CITY_FUND_NAME, Bank, Fund
from ledger.fund.reference import (
    Role,
    check_code,
    check_name,
    ensure_standard_chart,
    get_district,
    require_role,
)

__all__ = [
    "CITY_FUND",
    "FundView",
    "add_fund",
    "check_fund",
    "fund_codes",
    "fund_for",
    "funds",
    "get_fund",
]


@dataclass(frozen=True)
class FundView:
    code: str
    name: str
    #: The district or county whose fund it is; None for the city-level fund.
    district: str | None
    #: The day it was set up; None for the city-level fund, which always was.
    established_on: dt.date | None

    @property
    def is_city(self) -> bool:
        return self.district is None


CITY = FundView(CITY_FUND, CITY_FUND_NAME, None, None)


def _view(fund: Fund) -> FundView:
    return FundView(fund.code, fund.name, fund.district_code, fund.established_on)


def add_fund(
    session: Session,
    code: str,
    name: str,
    district: str,
    established_on: dt.date,
    *,
    actor: str,
) -> FundView:
    """Register a district's (county's) own fund and open its accounts: its treasury, and
    its special account, exposure, claims payable and counter-guarantee accounts at every
    partner bank. One fund per district."""
    require_role(session, actor, Role.ADMIN)
    check_code(code, "fund")
    if code == CITY_FUND:
        raise ReferenceDataError(
            f"{CITY_FUND} is the city-level fund's code", zh=f"{CITY_FUND} 为市本级担保基金代码"
        )
    get_district(session, district)
    if session.scalar(select(Fund.id).where(Fund.code == code)) is not None:
        raise ReferenceDataError(f"fund {code} already exists", zh=f"担保基金 {code} 已存在")
    existing = session.scalar(select(Fund.code).where(Fund.district_code == district))
    if existing is not None:
        raise ReferenceDataError(
            f"district {district} already has its fund {existing}",
            zh=f"区县 {district} 已设立担保基金 {existing}",
        )
    fund = Fund(
        code=code,
        name=check_name(name),
        district_code=district,
        established_on=established_on,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(fund)
    ensure_standard_chart(session)
    specs = chart.fund_accounts(code, fund.name)
    for bank in session.scalars(select(Bank).order_by(Bank.code)):
        specs += chart.bank_accounts(bank.code, bank.name, code, fund.name)
    ensure_accounts(session, specs)
    session.flush()
    return _view(fund)


def funds(session: Session) -> tuple[FundView, ...]:
    """Every fund: the city-level fund first, then the districts' by code."""
    rows = session.scalars(select(Fund).order_by(Fund.code))
    return (CITY, *(_view(f) for f in rows))


def fund_codes(session: Session) -> list[str]:
    return [f.code for f in funds(session)]


def get_fund(session: Session, code: str) -> FundView:
    """The fund named ``code`` (:data:`CITY_FUND` is the city-level fund)."""
    if code == CITY_FUND:
        return CITY
    fund = session.scalar(select(Fund).where(Fund.code == code))
    if fund is None:
        raise ReferenceDataError(f"no fund {code}", zh=f"担保基金 {code} 不存在")
    return _view(fund)


def check_fund(session: Session, code: str | None) -> str | None:
    """A fund filter as given (None: every fund, consolidated), refused if unknown."""
    return None if code is None else get_fund(session, code).code


def fund_for(
    session: Session, district: str, applied_on: dt.date, fund: str | None = None
) -> FundView:
    """The fund that guarantees a loan to a resident of ``district`` applied for on
    ``applied_on``: ``fund`` when given (the city-level fund, or the district's own fund
    once set up), else the district's fund when it had one by then, else the city's."""
    return pick_fund({f.code: f for f in funds(session)}, district, applied_on, fund)


def pick_fund(
    known: dict[str, FundView], district: str, applied_on: dt.date, fund: str | None = None
) -> FundView:
    """:func:`fund_for` over the funds already read (``known``, by code)."""
    if fund is None:
        own = next((f for f in known.values() if f.district == district), None)
        if own is not None and own.established_on <= applied_on:
            return own
        return CITY
    chosen = known.get(fund)
    if chosen is None:
        raise ReferenceDataError(f"no fund {fund}", zh=f"担保基金 {fund} 不存在")
    if chosen.is_city:
        return chosen
    if chosen.district != district:
        raise FundJurisdictionError(
            f"fund {chosen.code} guarantees residents of {chosen.district} only, not of {district}",
            zh=f"担保基金 {chosen.code} 仅为 {chosen.district} 户籍居民担保，"
            f"借款人所在区县为 {district}",
        )
    if chosen.established_on > applied_on:
        raise FundJurisdictionError(
            f"fund {chosen.code} was set up on {chosen.established_on}, after the "
            f"application date {applied_on}",
            zh=f"担保基金 {chosen.code} 于 {chosen.established_on} 设立，晚于申请日期 {applied_on}",
        )
    return chosen
