"""Borrowers: registered once, identified by their resident ID number (GB 11643).

Birth date and sex come from the ID number; the 4050 category is derived from them on
each application date, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.fund.eligibility import BorrowerType, Category, categories_on, category_of
from ledger.fund.errors import EligibilityError, ReferenceDataError
from ledger.fund.identity import normalize_id_number, parse_resident_id
from ledger.fund.models import Borrower
from ledger.fund.reference import Role, get_district, require_role

MAX_PARTNERS = 100


def register_borrower(
    session: Session,
    *,
    id_number: str,
    name: str,
    district: str,
    borrower_type: BorrowerType | str = BorrowerType.individual,
    categories: Iterable[Category | str] = (),
    head_count: int = 1,
    actor: str,
    today: dt.date | None = None,
) -> Borrower:
    """Register a borrower after checking the ID number and the declared categories."""
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    resident = parse_resident_id(id_number, today=today)
    try:
        kind = BorrowerType(borrower_type)
    except ValueError:
        raise EligibilityError(
            f"borrower type {borrower_type!r} is not individual, partnership or small_enterprise",
            zh=f"借款人类型 {borrower_type!r} 无效：应为个人、合伙创业或小微企业",
        ) from None
    _check_head_count(kind, head_count)
    declared = frozenset(category_of(c) for c in categories)
    # Validates the declaration (4050 may not be declared); the date does not matter here.
    categories_on(declared, resident.sex, resident.birth_date, resident.birth_date)
    get_district(session, district)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ReferenceDataError(
            "a borrower name of 1-100 characters is required", zh="借款人姓名应为 1-100 个字符"
        )
    existing = session.scalar(select(Borrower).where(Borrower.id_number == resident.number))
    if existing is not None:
        raise ReferenceDataError(
            f"a borrower with ID number {resident.number} is already registered "
            f"(borrower {existing.id}, {existing.name})",
            zh=f"身份证号 {resident.number} 的借款人已登记（{existing.name}）",
        )
    borrower = Borrower(
        id_number=resident.number,
        name=name,
        birth_date=resident.birth_date,
        sex=resident.sex.value,
        district_code=district,
        borrower_type=kind.value,
        head_count=head_count,
        categories=",".join(sorted(c.value for c in declared)),
        registered_by=actor,
        registered_at=utcnow(),
    )
    session.add(borrower)
    session.flush()
    return borrower


def get_borrower(session: Session, id_number: str) -> Borrower:
    number = normalize_id_number(id_number)
    borrower = session.scalar(select(Borrower).where(Borrower.id_number == number))
    if borrower is None:
        raise ReferenceDataError(
            f"no borrower with ID number {number} is registered",
            zh=f"身份证号 {number} 的借款人未登记",
        )
    return borrower


def borrower_categories(borrower: Borrower, on: dt.date) -> frozenset[Category]:
    """The borrower's categories on ``on``: declared ones plus 4050 when it applies."""
    declared = [c for c in borrower.categories.split(",") if c]
    return categories_on(declared, borrower.sex, borrower.birth_date, on)


def _check_head_count(kind: BorrowerType, head_count: int) -> None:
    if kind is BorrowerType.partnership:
        if not 2 <= head_count <= MAX_PARTNERS:
            raise EligibilityError(
                f"a partnership has 2 to {MAX_PARTNERS} partners, not {head_count}",
                zh=f"合伙创业人数应为 2 至 {MAX_PARTNERS} 人，实为 {head_count} 人",
            )
    elif head_count != 1:
        raise EligibilityError(
            f"head count applies to partnerships only; a {kind.value} has 1, not {head_count}",
            zh="只有合伙创业可以填写合伙人数",
        )
