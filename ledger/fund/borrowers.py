"""Borrowers: registered once, identified by their resident ID number (GB 11643).

Birth date and sex come from the ID number; a registered 4050 person counts as one on an
application date only at the age and sex the rules name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.clock import CHINA_OFFSET, utcnow
from ledger.fund.batches import Refused
from ledger.fund.eligibility import BorrowerType, Category, categories_on, category_of
from ledger.fund.errors import (
    EligibilityError,
    ErasedBorrowerError,
    InvalidIdNumberError,
    ReferenceDataError,
    RowsRejectedError,
)
from ledger.fund.identity import normalize_id_number, parse_resident_id
from ledger.fund.models import Borrower, District
from ledger.fund.reference import Role, require_role
from ledger.rows import chunks, insert_rows

MAX_PARTNERS = 100


@dataclass(frozen=True)
class BorrowerSpec:
    """A borrower to register (one row of a list the bureau registers at once)."""

    id_number: str
    name: str
    district: str
    borrower_type: BorrowerType | str = BorrowerType.individual
    categories: Iterable[Category | str] = ()
    head_count: int = 1
    row: int = 0


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
    spec = BorrowerSpec(id_number, name, district, borrower_type, tuple(categories), head_count)
    try:
        (borrower_id,) = register_borrowers(session, [spec], actor=actor, today=today)
    except RowsRejectedError as rejected:
        raise rejected.errors[0].error from None
    return session.get(Borrower, borrower_id)


def register_borrowers(
    session: Session,
    specs: Sequence[BorrowerSpec],
    *,
    actor: str,
    today: dt.date | None = None,
) -> list[int]:
    """Register many borrowers, all or none; returns their ids in the order given.

    Every spec is checked first (ID number, type, head count, categories, district, name,
    not registered before nor twice in the list); the refused ones are raised together
    in a :class:`RowsRejectedError`.
    """
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    districts = set(session.scalars(select(District.code)))
    # A spec without a text ID number is refused by its own check below.
    wanted = {normalize_id_number(s.id_number) for s in specs if isinstance(s.id_number, str)}
    known = {}
    for chunk in chunks(sorted(wanted)):
        rows = session.execute(
            select(Borrower.id_number, Borrower.id, Borrower.name).where(
                Borrower.id_number.in_(chunk)
            )
        )
        known.update({number: (id_, name) for number, id_, name in rows})
    rows, errors, seen = [], [], {}
    now = utcnow()
    for spec in specs:
        try:
            rows.append(_checked(spec, districts, known, seen, actor, now, today))
        except Refused as refused:
            errors.append(refused.at(spec))
    if errors:
        raise RowsRejectedError(errors)
    if not rows:
        return []
    return insert_rows(session, Borrower.__table__, rows)


def _checked(spec: BorrowerSpec, districts, known, seen, actor, now, today) -> dict:
    try:
        resident = parse_resident_id(spec.id_number, today=today)
    except InvalidIdNumberError as exc:
        raise Refused("id_number", exc) from None
    try:
        kind = BorrowerType(spec.borrower_type)
    except ValueError:
        raise Refused(
            "borrower_type",
            EligibilityError(
                f"borrower type {spec.borrower_type!r} is not individual, partnership or "
                "small_enterprise",
                zh=f"借款人类型 {spec.borrower_type!r} 无效：应为个人、合伙创业或小微企业",
            ),
        ) from None
    try:
        _check_head_count(kind, spec.head_count)
    except EligibilityError as exc:
        raise Refused("head_count", exc) from None
    try:
        declared = frozenset(category_of(c) for c in spec.categories)
    except EligibilityError as exc:
        raise Refused("categories", exc) from None
    if spec.district not in districts:
        raise Refused(
            "district",
            ReferenceDataError(f"no district {spec.district}", zh=f"区县 {spec.district} 不存在"),
        )
    name = (spec.name or "").strip()
    if not name or len(name) > 100:
        raise Refused(
            "name",
            ReferenceDataError(
                "a borrower name of 1-100 characters is required",
                zh="借款人姓名应为 1-100 个字符",
            ),
        )
    if resident.number in known or resident.number in seen:
        if resident.number in known:
            id_, other = known[resident.number]
            where = f"borrower {id_}, {other}"
        else:
            id_, other = None, seen[resident.number]
            where = f"earlier in this list, {other}"
        raise Refused(
            "id_number",
            ReferenceDataError(
                f"a borrower with ID number {resident.number} is already registered ({where})",
                zh=f"身份证号 {resident.number} 的借款人已登记（{other}）",
            ),
        )
    seen[resident.number] = name
    return {
        "id_number": resident.number,
        "id_number_given": resident.given if resident.first_generation else None,
        "name": name,
        "birth_date": resident.birth_date,
        "sex": resident.sex.value,
        "district_code": spec.district,
        "borrower_type": kind.value,
        "head_count": spec.head_count,
        "categories": ",".join(sorted(c.value for c in declared)),
        "registered_by": actor,
        "registered_at": now,
    }


def get_borrower(session: Session, id_number: str, *, erased: bool = False) -> Borrower:
    """The borrower registered with ``id_number``. One whose personal data was erased is
    found by its stand-in (``ERASED…``) and refused with :class:`ErasedBorrowerError`
    unless ``erased`` (a read of what is left of it)."""
    number = normalize_id_number(id_number)
    borrower = session.scalar(select(Borrower).where(Borrower.id_number == number))
    if borrower is None:
        raise ReferenceDataError(
            f"no borrower with ID number {number} is registered",
            zh=f"身份证号 {number} 的借款人未登记",
        )
    if borrower.erased_at is not None and not erased:
        raise erased_error(borrower)
    return borrower


def erased_error(borrower: Borrower) -> ErasedBorrowerError:
    """The refusal of anything more for a borrower whose personal data was erased."""
    on = (borrower.erased_at + CHINA_OFFSET).date()
    return ErasedBorrowerError(
        f"borrower #{borrower.id}'s personal data was erased on {on} by {borrower.erased_by}; "
        "nothing more is recorded for this record (register the person anew)",
        zh=f"借款人 #{borrower.id} 的个人信息已于 {on} 由 {borrower.erased_by} 删除，"
        "该记录不再办理业务（如需办理请重新登记）",
    )


def borrower_categories(borrower: Borrower, on: dt.date) -> frozenset[Category]:
    """The borrower's categories on ``on``: the declared ones that hold then (a registered
    4050 person only at the age the rules name)."""
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
