"""Reference data: districts, partner banks, capital sources, users and their roles.

Adding a bank or a capital source also opens its accounts in the chart, so that the
books and the reference data never disagree about what exists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.accounts import ensure_accounts
from ledger.clock import business_today, utcnow
from ledger.fund.errors import (
    FundError,
    MakerCheckerError,
    PermissionDeniedError,
    ReferenceDataError,
)
from ledger.fund.models import CITY_FUND, Bank, CapitalSource, District, Fund, User
from ledger.principal import SYSTEM, Principal

_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,19}$")
_SOURCE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,39}$")
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,59}$")


class Role(StrEnum):
    CLERK = "clerk"  # 经办
    APPROVER = "approver"  # 审核
    BANK = "bank"  # 经办银行
    AUDITOR = "auditor"  # 审计
    ADMIN = "admin"
    #: The scheduler's own role (ledger.principal.SYSTEM); no user holds it.
    SYSTEM = "system"


class SourceKind(StrEnum):
    PROVINCIAL = "provincial"  # 省级拨付
    CITY = "city"  # 市级配套
    DISTRICT = "district"  # 区县配套
    OTHER = "other"  # 其他


def ensure_standard_chart(session: Session) -> None:
    """Open the fund's standard chart of accounts where it is not open yet."""
    ensure_accounts(session, chart.STANDARD_CHART)


def add_district(session: Session, code: str, name: str, *, actor: str) -> District:
    require_role(session, actor, Role.ADMIN)
    check_code(code, "district")
    if session.scalar(select(District.id).where(District.code == code)) is not None:
        raise ReferenceDataError(f"district {code} already exists", zh=f"区县 {code} 已存在")
    district = District(code=code, name=check_name(name), created_by=actor, created_at=utcnow())
    session.add(district)
    session.flush()
    return district


def add_bank(
    session: Session, code: str, name: str, special_account_no: str, *, actor: str
) -> Bank:
    """Register a partner bank and open every fund's special account and memorandum
    accounts at it."""
    require_role(session, actor, Role.ADMIN)
    check_code(code, "bank")
    if session.scalar(select(Bank.id).where(Bank.code == code)) is not None:
        raise ReferenceDataError(f"bank {code} already exists", zh=f"经办银行 {code} 已存在")
    if not special_account_no.strip():
        raise ReferenceDataError(
            f"bank {code} needs its special account number", zh=f"经办银行 {code} 缺少专户账号"
        )
    bank = Bank(
        code=code,
        name=check_name(name),
        special_account_no=special_account_no.strip(),
        active=True,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(bank)
    ensure_standard_chart(session)
    specs = chart.bank_accounts(code, bank.name)
    for fund in session.scalars(select(Fund).order_by(Fund.code)):
        specs += chart.bank_accounts(code, bank.name, fund.code, fund.name)
    ensure_accounts(session, specs)
    session.flush()
    return bank


def add_capital_source(
    session: Session,
    code: str,
    name: str,
    kind: SourceKind | str,
    *,
    actor: str,
    district: str | None = None,
    committed: int | None = None,
    due_on: dt.date | None = None,
    fund: str = CITY_FUND,
) -> CapitalSource:
    """Register a capital source and open its capital, income and loss accounts.
    ``committed`` is what it must (or pledged to) contribute, by ``due_on`` if given, to
    ``fund`` (the city-level fund unless a district's is named)."""
    require_role(session, actor, Role.ADMIN)
    if not _SOURCE_CODE.match(code or ""):
        raise ReferenceDataError(
            f"capital source code {code!r} is not valid: use 2-40 letters, digits "
            "and '-', starting with a letter",
            zh=f"资金来源代码 {code!r} 无效：应为 2-40 位字母、数字或 '-'，以字母开头",
        )
    try:
        kind = SourceKind(kind)
    except ValueError:
        raise ReferenceDataError(
            f"capital source kind {kind!r} is not one of provincial, city, district, other",
            zh=f"资金来源类别 {kind!r} 无效",
        ) from None
    if (kind is SourceKind.DISTRICT) != (district is not None):
        raise ReferenceDataError(
            "a district matching source names its district, and only it does",
            zh="区县配套资金必须且只能由区县配套来源指定所属区县",
        )
    if district is not None:
        get_district(session, district)
    if fund != CITY_FUND:
        owner = session.scalar(select(Fund).where(Fund.code == fund))
        if owner is None:
            raise ReferenceDataError(f"no fund {fund}", zh=f"担保基金 {fund} 不存在")
        if kind is SourceKind.DISTRICT and district != owner.district_code:
            raise ReferenceDataError(
                f"district {district}'s matching money cannot go to fund {fund} of "
                f"{owner.district_code}",
                zh=f"区县 {district} 的配套资金不能计入 {owner.district_code} 的担保基金 {fund}",
            )
    if committed is not None and committed < 0:
        raise ReferenceDataError("committed amount must not be negative", zh="承诺金额不能为负")
    if due_on is not None and committed is None:
        raise ReferenceDataError(
            "a due date needs a committed amount", zh="填写到位期限时须同时填写承诺金额"
        )
    if session.scalar(select(CapitalSource.id).where(CapitalSource.code == code)) is not None:
        raise ReferenceDataError(
            f"capital source {code} already exists", zh=f"资金来源 {code} 已存在"
        )
    source = CapitalSource(
        code=code,
        name=check_name(name),
        kind=kind.value,
        district_code=district,
        committed=committed,
        committed_due_on=due_on,
        fund_code=fund,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(source)
    ensure_standard_chart(session)
    ensure_accounts(session, chart.source_accounts(code, source.name, fund))
    session.flush()
    return source


def add_user(
    session: Session,
    username: str,
    name: str,
    roles: Iterable[Role | str],
    *,
    actor: str,
    bank: str | None = None,
) -> User:
    """Create a user. The first user of an empty database may be created by ``system``."""
    if session.scalar(select(User.id).limit(1)) is not None or actor != SYSTEM:
        require_role(session, actor, Role.ADMIN)
    if not _USERNAME.match(username or ""):
        raise ReferenceDataError(
            f"user name {username!r} is not valid: use 2-60 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter",
            zh=f"用户名 {username!r} 无效",
        )
    try:
        role_set = sorted({Role(r) for r in roles})
        if Role.SYSTEM in role_set:
            raise ValueError("'system' is the scheduler's own role")
    except ValueError as exc:
        raise ReferenceDataError(
            f"{exc}; roles are clerk, approver, bank, auditor, admin", zh="角色无效"
        ) from None
    if not role_set:
        raise ReferenceDataError(
            f"user {username} needs at least one role", zh="用户至少需要一个角色"
        )
    if (Role.BANK in role_set) != (bank is not None):
        raise ReferenceDataError(
            "a bank user names their bank, and only a bank user does",
            zh="银行用户必须且只能由银行用户指定所属银行",
        )
    if bank is not None:
        get_bank(session, bank)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ReferenceDataError(f"user {username} already exists", zh=f"用户 {username} 已存在")
    user = User(
        username=username,
        name=check_name(name),
        roles=",".join(r.value for r in role_set),
        bank_code=bank,
        active=True,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise PermissionDeniedError(
            f"user {username} does not exist or is inactive", zh=f"用户 {username} 不存在或已停用"
        )
    return user


def roles_of(user: User) -> set[Role]:
    return {Role(r) for r in user.roles.split(",") if r}


def authenticate(session: Session, username: str) -> Principal:
    """The principal of active user ``username`` (or the scheduler's own, ``system``, or
    an API token's, ``api-token:<id>``, while the token is not revoked: the import worker
    takes in a file a token queued as that token)."""
    if isinstance(username, Principal):
        return username
    if username == SYSTEM:
        return SYSTEM
    from ledger.fund import tokens  # it builds on this module

    if tokens.is_token_principal(username):
        return tokens.token_principal(session, username)
    user = get_user(session, username)
    return Principal(user.username, roles_of(user), user.bank_code)


def require_role(session: Session, actor: Principal | str, *roles: Role) -> Principal:
    """The acting principal, if it holds one of ``roles`` (admin holds none implicitly).

    ``actor`` is a principal, or a username authenticated here against the users table.
    """
    principal = authenticate(session, actor)
    if not principal.has(*roles):
        wanted = " or ".join(r.value for r in roles)
        raise PermissionDeniedError(
            f"user {principal} may not do this: it needs the {wanted} role",
            zh=f"用户 {principal} 无权执行此操作：需要{_roles_zh(roles)}角色",
        )
    return principal


def require_bank_access(
    session: Session, actor: Principal | str, bank: str, *roles: Role
) -> Principal:
    """Like :func:`require_role`, and a bank user may act for their own bank only."""
    principal = require_role(session, actor, *roles)
    if principal.bank is not None and principal.bank != bank:
        raise PermissionDeniedError(
            f"user {principal} works for bank {principal.bank} and may not act for bank {bank}",
            zh=f"用户 {principal} 属于 {principal.bank}，不能代 {bank} 操作",
        )
    return principal


def check_maker_checker(maker: str, checker: str, what: str, what_zh: str) -> None:
    """Refuse ``checker`` approving what ``maker`` recorded. No one is exempt: the
    scheduler proposes, and a person approves."""
    if str(maker) == str(checker):
        raise MakerCheckerError(
            f"{checker} recorded {what} and may not approve it: another approver must",
            zh=f"{checker} 是{what_zh}的经办人，不能自己审核，须由其他审核人审核",
        )


def refuse_future(
    on: dt.date, today: dt.date | None, what: str, what_zh: str, error: type[FundError]
) -> None:
    """Refuse an effective date after ``today`` (default: the real date) with ``error``.

    ``what`` and ``what_zh`` name the date: ``"claim date"`` and ``"代偿申请日期"`` give
    "claim date 2026-12-01 is in the future" and "代偿申请日期 2026-12-01 晚于今天".
    """
    if on > (today or business_today()):
        raise error(f"{what} {on} is in the future", zh=f"{what_zh} {on} 晚于今天")


@dataclass(frozen=True)
class BankView:
    code: str
    name: str
    special_account_no: str
    active: bool


def banks(session: Session) -> tuple[BankView, ...]:
    """Every partner bank, by code."""
    return tuple(
        BankView(b.code, b.name, b.special_account_no, b.active)
        for b in session.scalars(select(Bank).order_by(Bank.code))
    )


@dataclass(frozen=True)
class DistrictView:
    code: str
    name: str


def districts(session: Session) -> tuple[DistrictView, ...]:
    """Every district, by code."""
    return tuple(
        DistrictView(d.code, d.name)
        for d in session.scalars(select(District).order_by(District.code))
    )


def get_bank(session: Session, code: str, *, for_update: bool = False) -> Bank:
    query = select(Bank).where(Bank.code == code)
    if for_update:
        query = query.with_for_update()
    bank = session.scalar(query)
    if bank is None:
        raise ReferenceDataError(f"no partner bank {code}", zh=f"经办银行 {code} 不存在")
    return bank


def get_district(session: Session, code: str) -> District:
    district = session.scalar(select(District).where(District.code == code))
    if district is None:
        raise ReferenceDataError(f"no district {code}", zh=f"区县 {code} 不存在")
    return district


def get_source(session: Session, code: str) -> CapitalSource:
    source = session.scalar(select(CapitalSource).where(CapitalSource.code == code))
    if source is None:
        raise ReferenceDataError(f"no capital source {code}", zh=f"资金来源 {code} 不存在")
    return source


def all_sources(session: Session, fund: str | None = None) -> list[CapitalSource]:
    """The capital sources of ``fund``, or of every fund when None, by code."""
    query = select(CapitalSource).order_by(CapitalSource.code)
    if fund is not None:
        query = query.where(CapitalSource.fund_code == fund)
    return list(session.scalars(query))


_ROLE_ZH = {
    "clerk": "经办",
    "approver": "审核",
    "bank": "银行",
    "auditor": "审计",
    "admin": "管理员",
    "system": "系统",
}


def _roles_zh(roles: Iterable[Role]) -> str:
    return "或".join(_ROLE_ZH[r.value] for r in roles)


def check_code(code: str, what: str) -> None:
    if not _CODE.match(code or ""):
        raise ReferenceDataError(
            f"{what} code {code!r} is not valid: use 2-20 upper-case letters and digits, "
            "starting with a letter",
            zh=f"代码 {code!r} 无效：应为 2-20 位大写字母或数字，以字母开头",
        )


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ReferenceDataError(
            "a name of 1-100 characters is required", zh="名称应为 1-100 个字符"
        )
    return name
