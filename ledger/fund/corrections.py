"""Corrections of a borrower's name or resident ID number, each one kept in a history.

A clerk (or an approver) corrects a misspelt name or a mistyped ID number, giving a
reason; every field changed is a row of ``borrower_corrections``: who, when, why, the
value before and the value after (the values are personal data too, and are erased with
the borrower's). A corrected ID number is checked as a new one is — valid, not another
borrower's, not a guarantor's of the borrower's own loans — and the birth date and sex
are read from it again. When they change, the borrower must still have been eligible on
the approval date of every commitment they hold (unused or used by a loan), under that
commitment's own frozen rules: otherwise the correction is refused, naming the
commitment, since the guarantee was given to someone the rules did not allow.

Journal entries are untouched: they name the borrower by id, never by name or number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.fund.approvals import check_borrower_eligible
from ledger.fund.borrowers import erased_error
from ledger.fund.credentials import credentials_of
from ledger.fund.errors import (
    CorrectionError,
    DuplicateBorrowerError,
    EligibilityError,
    ReferenceDataError,
)
from ledger.fund.identity import ResidentId, parse_resident_id
from ledger.fund.models import (
    Borrower,
    BorrowerCorrection,
    Commitment,
    CommitmentStatus,
    CounterGuarantee,
)
from ledger.fund.personal import mask_id_number, mask_name
from ledger.fund.policy import stored_rules
from ledger.fund.reference import Role, require_role

#: The fields a correction may change, and their names in Chinese.
FIELDS_ZH = {"name": "姓名", "id_number": "身份证号"}
_SEX_ZH = {"M": "男", "F": "女"}


@dataclass(frozen=True)
class CorrectionView:
    """A correction of one field, as a value."""

    id: int
    borrower_id: int
    #: name or id_number.
    field: str
    #: The value before and after (an ID number as given); None once erased.
    old_value: str | None
    new_value: str | None
    reason: str
    corrected_by: str
    #: UTC.
    corrected_at: dt.datetime

    def masked(self) -> CorrectionView:
        """The correction with its values masked as the field's values are."""
        mask = mask_name if self.field == "name" else mask_id_number
        return replace(self, old_value=mask(self.old_value), new_value=mask(self.new_value))


def correct_borrower(
    session: Session,
    borrower_id: int,
    *,
    name: str | None = None,
    id_number: str | None = None,
    reason: str,
    actor: str,
    today: dt.date | None = None,
) -> Borrower:
    """Correct borrower ``borrower_id``'s name, ID number or both (a clerk's or an
    approver's), recording each changed field with ``reason``; returns the borrower.

    Refuses, changing nothing: an unknown or erased borrower, no reason, nothing that
    changes (:class:`CorrectionError`), an invalid ID number
    (:class:`InvalidIdNumberError`; birth dates are checked against ``today``), one
    registered to another borrower (:class:`DuplicateBorrowerError`), and a birth date or
    sex with which a commitment the borrower holds would not have been approved.
    """
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    borrower = session.scalar(select(Borrower).where(Borrower.id == borrower_id).with_for_update())
    if borrower is None:
        raise ReferenceDataError(f"no borrower #{borrower_id}", zh=f"借款人 #{borrower_id} 不存在")
    if borrower.erased_at is not None:
        raise erased_error(borrower)
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise CorrectionError(
            "a reason of 1-200 characters is required", zh="应填写更正原因（1-200 个字符）"
        )
    if name is None and id_number is None:
        raise CorrectionError(
            "say what to correct: the name, the ID number or both",
            zh="请填写要更正的姓名或身份证号",
        )
    changes: list[tuple[str, str, str]] = []
    if name is not None:
        new_name = name.strip()
        if not new_name or len(new_name) > 100:
            raise ReferenceDataError(
                "a borrower name of 1-100 characters is required",
                zh="借款人姓名应为 1-100 个字符",
            )
        if new_name != borrower.name:
            changes.append(("name", borrower.name, new_name))
    resident = None
    if id_number is not None:
        resident = parse_resident_id(id_number, today=today)
        given = borrower.id_number_given or borrower.id_number
        if resident.given != given:
            _check_number(session, borrower, resident)
            changes.append(("id_number", given, resident.given))
    if not changes:
        raise CorrectionError(
            f"nothing to correct: borrower #{borrower.id} already has that name and ID number",
            zh=f"无需更正：借款人 #{borrower.id} 的姓名和身份证号与所填相同",
        )
    if resident is not None:
        borrower.id_number = resident.number
        borrower.id_number_given = resident.given if resident.first_generation else None
        borrower.birth_date, borrower.sex = resident.birth_date, resident.sex.value
    if name is not None:
        borrower.name = name.strip()
    now = utcnow()
    for field, old, new in changes:
        session.add(
            BorrowerCorrection(
                borrower_id=borrower.id, field=field, old_value=old, new_value=new,
                reason=reason, corrected_by=actor, corrected_at=now,
            )
        )  # fmt: skip
    session.flush()
    return borrower


def _check_number(session: Session, borrower: Borrower, resident: ResidentId) -> None:
    """Refuse a corrected number that is another borrower's, a guarantor's of this
    borrower's own loans, or with which a commitment they hold would not have been given."""
    number = resident.number
    if number != borrower.id_number:
        other = session.scalar(select(Borrower.id).where(Borrower.id_number == number))
        if other is not None:
            raise DuplicateBorrowerError(
                f"ID number {number} is already registered to borrower #{other}; a person is "
                "registered once",
                zh=f"身份证号 {number} 已登记为借款人 #{other}，一人只能登记一次",
            )
    commitments = session.scalars(
        select(Commitment)
        .where(
            Commitment.borrower_id == borrower.id,
            Commitment.status != CommitmentStatus.CANCELLED.value,
        )
        .order_by(Commitment.id)
    ).all()
    guarantor_of = session.scalar(
        select(Commitment.number)
        .join(CounterGuarantee, CounterGuarantee.commitment_id == Commitment.id)
        .where(
            Commitment.borrower_id == borrower.id,
            CounterGuarantee.guarantor_id_number == number,
            CounterGuarantee.status == "held",
        )
        .limit(1)
    )
    if guarantor_of is not None:
        raise CorrectionError(
            f"ID number {number} is the guarantor's of commitment {guarantor_of}; a borrower "
            "cannot be the guarantor of their own loan",
            zh=f"身份证号 {number} 是担保承诺 {guarantor_of} 的反担保人，借款人不能为自己的贷款"
            "提供保证",
        )
    sex = resident.sex.value
    if (resident.birth_date, sex) == (borrower.birth_date, borrower.sex) or not commitments:
        return
    corrected = SimpleNamespace(
        borrower_type=borrower.borrower_type, categories=borrower.categories, sex=sex,
        birth_date=resident.birth_date,
    )  # fmt: skip
    held = credentials_of(session, [borrower.id])[borrower.id]
    for commitment in commitments:
        try:
            rules = stored_rules(session, commitment.rule_set_id)
            check_borrower_eligible(rules, corrected, held, commitment.approved_on)
        except EligibilityError as exc:
            raise CorrectionError(
                f"with ID number {number} (born {resident.birth_date}, "
                f"{'male' if sex == 'M' else 'female'}) the borrower would not have been "
                f"eligible for commitment {commitment.number} approved on "
                f"{commitment.approved_on}: {exc}",
                zh=f"按身份证号 {number}（{resident.birth_date} 出生，{_SEX_ZH[sex]}），借款人"
                f"不符合 {commitment.approved_on} 批准的担保承诺 {commitment.number} 的条件："
                f"{exc.zh}",
            ) from None


def corrections_of(session: Session, borrower_id: int) -> tuple[CorrectionView, ...]:
    """The borrower's corrections, oldest first."""
    rows = session.scalars(
        select(BorrowerCorrection)
        .where(BorrowerCorrection.borrower_id == borrower_id)
        .order_by(BorrowerCorrection.id)
    )
    return tuple(map(_view, rows))


def _view(r: BorrowerCorrection) -> CorrectionView:
    return CorrectionView(
        r.id, r.borrower_id, r.field, r.old_value, r.new_value, r.reason, r.corrected_by,
        r.corrected_at,
    )  # fmt: skip
