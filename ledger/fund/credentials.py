"""Credentials: the documents the labour office issues to one person, of which the
re-employment certificate (再就业优惠证) is the one the rules have required.

A certificate is a record — number, issuing office, issue date, status — registered
against one borrower by a clerk. One certificate belongs to one person: a number already
registered (to anyone) is refused with :class:`DuplicateCredentialError`, which is how
a borrowed or forged certificate (冒名顶替) is stopped. A revoked certificate stays on
record and no longer counts. When the rules of the application date require a kind of
certificate for the borrower's type (``credential.required_for``), a guarantee is
refused without a valid one issued by then (:func:`check_credential`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.clock import business_today, utcnow
from ledger.fund.batches import Refused
from ledger.fund.borrowers import erased_error
from ledger.fund.errors import (
    CredentialError,
    DuplicateCredentialError,
    FundError,
    MissingCredentialError,
    ReferenceDataError,
    RevokedCredentialError,
    RowsRejectedError,
)
from ledger.fund.identity import normalize_id_number
from ledger.fund.lifecycle import set_status
from ledger.fund.models import Borrower, Credential, CredentialStatus
from ledger.fund.personal import mask_number
from ledger.fund.policy import CREDENTIAL_KINDS, RuleSet
from ledger.fund.reference import Role, refuse_future, require_role
from ledger.rows import chunks, insert_rows

KIND_NAMES_ZH = {"reemployment_certificate": "再就业优惠证"}


@dataclass(frozen=True)
class CredentialView:
    id: int
    borrower_id: int
    kind: str
    number: str
    issued_by: str
    issued_on: dt.date
    status: str
    revoked_on: dt.date | None
    revoke_reason: str | None

    def valid_on(self, on: dt.date) -> bool:
        """Issued by ``on`` and not revoked by then."""
        revoked = self.revoked_on is not None and self.revoked_on <= on
        return self.issued_on <= on and not revoked

    def masked(self) -> CredentialView:
        """The certificate with its number masked (it names one person)."""
        return replace(self, number=mask_number(self.number))


@dataclass(frozen=True)
class CredentialSpec:
    """A certificate to record (one row of a list the bureau registers at once)."""

    id_number: str
    number: str
    issued_by: str
    issued_on: dt.date
    kind: str = "reemployment_certificate"
    row: int = 0


def register_credential(
    session: Session,
    id_number: str,
    kind: str,
    number: str,
    *,
    issued_by: str,
    issued_on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> Credential:
    """Record that the borrower holds certificate ``number`` of ``kind`` (a clerk's)."""
    spec = CredentialSpec(id_number, number, issued_by, issued_on, kind)
    try:
        (credential_id,) = register_credentials(session, [spec], actor=actor, today=today)
    except RowsRejectedError as rejected:
        raise rejected.errors[0].error from None
    return session.get(Credential, credential_id)


def register_credentials(
    session: Session,
    specs: Sequence[CredentialSpec],
    *,
    actor: str,
    today: dt.date | None = None,
) -> list[int]:
    """Record many certificates, all or none (a clerk's); returns their ids in the order
    given.

    Each is checked as one is — kind, number, issuing office, issue date, a registered
    holder born by then, a number nobody holds — and a number may come once in the list;
    the refused ones are raised together in a :class:`RowsRejectedError`.
    """
    require_role(session, actor, Role.CLERK)
    today = today or business_today()
    holders = _registered(session, specs)
    seen: dict[tuple[str, str], int] = {}
    rows, errors = [], []
    now = utcnow()
    for spec in specs:
        try:
            rows.append(_checked(spec, holders, seen, actor, now, today))
        except Refused as refused:
            errors.append(refused.at(spec))
    if errors:
        raise RowsRejectedError(errors)
    return insert_rows(session, Credential.__table__, rows)


@dataclass
class _Registered:
    """What the checks need to know of a list: its holders and the numbers taken."""

    #: ID number (18-digit form) → (borrower id, birth date).
    borrowers: dict[str, tuple[int, dt.date]]
    #: ID number → the refusal of a borrower whose personal data was erased.
    erased: dict[str, FundError]
    #: (kind, number) → the borrower id holding it.
    taken: dict[tuple[str, str], int]


def _registered(session: Session, specs: Sequence[CredentialSpec]) -> _Registered:
    numbers = sorted(
        {normalize_id_number(s.id_number) for s in specs if isinstance(s.id_number, str)}
    )
    borrowers, erased = {}, {}
    for chunk in chunks(numbers):
        for borrower in session.scalars(select(Borrower).where(Borrower.id_number.in_(chunk))):
            borrowers[borrower.id_number] = (borrower.id, borrower.birth_date)
            if borrower.erased_at is not None:
                erased[borrower.id_number] = erased_error(borrower)
    certificates = sorted({(s.number or "").strip() for s in specs})
    taken = {}
    for chunk in chunks(certificates):
        rows = session.execute(
            select(Credential.kind, Credential.number, Credential.borrower_id).where(
                Credential.number.in_(chunk)
            )
        )
        taken.update({(kind, number): holder for kind, number, holder in rows})
    return _Registered(borrowers=borrowers, erased=erased, taken=taken)


def _checked(spec: CredentialSpec, known: _Registered, seen, actor, now, today) -> dict:
    kind = spec.kind
    if kind not in CREDENTIAL_KINDS:
        raise Refused(
            "kind",
            CredentialError(
                f"unknown kind of certificate {kind!r}: use one of {', '.join(CREDENTIAL_KINDS)}",
                zh=f"证件类型 {kind!r} 无效",
            ),
        )
    name_zh = KIND_NAMES_ZH[kind]
    number = (spec.number or "").strip()
    issued_by = (spec.issued_by or "").strip()
    if not number or len(number) > 40:
        raise Refused(
            "number",
            CredentialError(
                "a certificate number of 1-40 characters is required",
                zh=f"{name_zh}编号应为 1-40 个字符",
            ),
        )
    if not issued_by or len(issued_by) > 100:
        raise Refused(
            "issued_by",
            CredentialError(
                "the issuing office (1-100 characters) is required",
                zh="应填写发证机关（1-100 个字符）",
            ),
        )
    try:
        refuse_future(spec.issued_on, today, "issue date", "发证日期", CredentialError)
    except CredentialError as exc:
        raise Refused("issued_on", exc) from None
    holder_number = normalize_id_number(spec.id_number or "")
    if holder_number not in known.borrowers:
        raise Refused(
            "id_number",
            ReferenceDataError(
                f"no borrower with ID number {holder_number} is registered",
                zh=f"身份证号 {holder_number} 的借款人未登记",
            ),
        )
    if holder_number in known.erased:
        raise Refused("id_number", known.erased[holder_number])
    borrower_id, born = known.borrowers[holder_number]
    if spec.issued_on < born:
        raise Refused(
            "issued_on",
            CredentialError(
                f"certificate {number} is dated {spec.issued_on}, before its holder was born",
                zh=f"{name_zh} {number} 的发证日期 {spec.issued_on} 早于持证人出生日期",
            ),
        )
    holder = known.taken.get((kind, number))
    if holder is not None:
        whose = "this borrower" if holder == borrower_id else f"borrower #{holder}"
        whose_zh = "该借款人" if holder == borrower_id else f"借款人 #{holder}"
        raise Refused(
            "number",
            DuplicateCredentialError(
                f"{kind} {number} is already registered to {whose}; one certificate belongs "
                "to one person",
                zh=f"{name_zh} {number} 已登记在{whose_zh}名下，一证只能属于一人",
            ),
        )
    if (kind, number) in seen:
        row = seen[(kind, number)]
        raise Refused(
            "number",
            DuplicateCredentialError(
                f"{kind} {number} comes twice in this list (row {row} first); one "
                "certificate belongs to one person",
                zh=f"{name_zh} {number} 在本名单中出现两次（第 {row} 行已有），一证只能属于一人",
            ),
        )
    seen[(kind, number)] = spec.row
    return {
        "borrower_id": borrower_id,
        "kind": kind,
        "number": number,
        "issued_by": issued_by,
        "issued_on": spec.issued_on,
        "status": CredentialStatus.VALID.value,
        "revoked_on": None,
        "revoked_by": None,
        "revoke_reason": None,
        "recorded_by": actor,
        "recorded_at": now,
    }


def revoke_credential(
    session: Session,
    kind: str,
    number: str,
    *,
    on: dt.date,
    reason: str,
    actor: str,
    today: dt.date | None = None,
) -> Credential:
    """Record that the office revoked the certificate on ``on`` (an approver's): it no
    longer counts for applications from that date."""
    require_role(session, actor, Role.APPROVER)
    refuse_future(on, today or business_today(), "revocation date", "注销日期", CredentialError)
    row = session.scalar(
        select(Credential)
        .where(Credential.kind == kind, Credential.number == (number or "").strip())
        .with_for_update()
    )
    if row is None:
        raise CredentialError(
            f"no {kind} {number} is registered",
            zh=f"{KIND_NAMES_ZH.get(kind, kind)} {number} 未登记",
        )
    if row.status == CredentialStatus.REVOKED:
        raise CredentialError(
            f"certificate {row.number} was already revoked on {row.revoked_on}",
            zh=f"{KIND_NAMES_ZH[row.kind]} {row.number} 已于 {row.revoked_on} 注销",
        )
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise CredentialError(
            "a reason of 1-200 characters is required", zh="应填写注销原因（1-200 个字符）"
        )
    if on < row.issued_on:
        raise CredentialError(
            f"certificate {row.number} cannot be revoked on {on}, before it was issued on "
            f"{row.issued_on}",
            zh=f"{KIND_NAMES_ZH[row.kind]} {row.number} 的注销日期 {on} "
            f"早于发证日期 {row.issued_on}",
        )
    set_status(row, CredentialStatus.REVOKED)
    row.revoked_on, row.revoked_by, row.revoke_reason = on, actor, reason
    session.flush()
    return row


def credentials_of(
    session: Session, borrower_ids: Iterable[int]
) -> dict[int, list[CredentialView]]:
    """Each borrower's certificates, oldest first."""
    ids = sorted(set(borrower_ids))
    found: dict[int, list[CredentialView]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        for row in session.scalars(
            select(Credential).where(Credential.borrower_id.in_(chunk)).order_by(Credential.id)
        ):
            found[row.borrower_id].append(view(row))
    return found


def view(row: Credential) -> CredentialView:
    return CredentialView(
        row.id, row.borrower_id, row.kind, row.number, row.issued_by, row.issued_on,
        row.status, row.revoked_on, row.revoke_reason,
    )  # fmt: skip


def check_credential(
    rules: RuleSet, borrower_type: str, held: Iterable[CredentialView], on: dt.date
) -> CredentialView | None:
    """The valid certificate the rules in force on ``on`` require of ``borrower_type``,
    or None when they require none; refuses when the borrower holds none."""
    required = dict(rules["credential"])
    kind = required["kind"]
    if borrower_type not in required["required_for"]:
        return None
    name_zh = KIND_NAMES_ZH[kind]
    mine = [c for c in held if c.kind == kind]
    valid = [c for c in mine if c.valid_on(on)]
    if valid:
        return valid[-1]
    revoked = [c for c in mine if c.revoked_on is not None and c.revoked_on <= on]
    if revoked:
        last = revoked[-1]
        raise RevokedCredentialError(
            f"{kind} {last.number} was revoked on {last.revoked_on} ({last.revoke_reason}); "
            f"the rules in force on {on} require a valid one",
            zh=f"{name_zh} {last.number} 已于 {last.revoked_on} 注销（{last.revoke_reason}），"
            f"{on} 适用的政策要求持有有效的{name_zh}",
        )
    later = [c for c in mine if c.issued_on > on]
    if later:
        raise MissingCredentialError(
            f"{kind} {later[0].number} was issued on {later[0].issued_on}, after the "
            f"application date {on}; the rules in force then require one",
            zh=f"{name_zh} {later[0].number} 发证日期 {later[0].issued_on} 晚于申请日期 {on}",
        )
    raise MissingCredentialError(
        f"the rules in force on {on} require a {kind} for {borrower_type} loans; the "
        "borrower has none registered",
        zh=f"{on} 适用的政策要求借款人持有{name_zh}，该借款人未登记{name_zh}",
    )
