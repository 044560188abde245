"""Erasure of a borrower's personal data once its retention period has ended.

The period is the locality's rule, ``personal_data.retention_years`` of the rules in
force on the day of erasure (5 years by default), counted from the day the borrower's last
loan or commitment closed: a loan repaid (its last repayment), recovered in full (its last
recovery) or written off (the write-off, or a recovery after it), a commitment cancelled;
a borrower never given a guarantee counts from their registration. While a loan is active
or compensated and not yet recovered or written off, or a commitment is unused, nothing
is erased (:class:`OpenRecordsError`); before the period ends the refusal names the first
day it may be (:class:`RetentionPeriodError`). The legal basis is the Personal
Information Protection Law, arts. 19 and 47.

Erasure is an admin's, as the retention rule (a policy override) is. It rewrites the
borrower's personal data in place, and what the rules and the reports need stays:

- the borrower's name becomes （已删除）, the ID number the stand-in ``ERASED`` and the
  zero-padded id (so the unique key holds and no real number matches it: the person may
  register again, as a new borrower), the first-generation number is dropped, the birth
  date keeps its year only (1 January), the sex, district, type and declared categories
  stay (statistics by age, sex and category);
- each of their certificates' numbers becomes a stand-in, a revocation's reason is
  erased;
- the guarantors' names and ID numbers and the descriptions of the collateral of their
  commitments' counter-guarantees are erased (kind, value and dates stay);
- their corrections keep who and when, and lose the values and the reason.

The journal is untouched: its entries name loans and borrowers by id, so the hash chain
and ``verify`` are as they were. When and by whom is recorded on the borrower
(``erased_at``, ``erased_by``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, func, or_, select, union, union_all
from sqlalchemy.orm import Session

from ledger.clock import CHINA_OFFSET, business_today, utcnow
from ledger.fund.borrowers import erased_error
from ledger.fund.errors import OpenRecordsError, ReferenceDataError, RetentionPeriodError
from ledger.fund.models import (
    LOAN_LIFECYCLE,
    Borrower,
    BorrowerCorrection,
    Commitment,
    CounterGuarantee,
    Credential,
    Loan,
    Recovery,
    WriteOff,
)
from ledger.fund.personal import ERASED_NAME, erased_id_number
from ledger.fund.policy import rules_on
from ledger.fund.reference import Role, require_role

#: Loan statuses that keep a borrower's data: still lent, or compensated and pursued.
OPEN_LOAN_STATUSES = ("active", "claimed")


@dataclass(frozen=True)
class Retention:
    """How long a borrower's personal data is kept, as of a date."""

    borrower_id: int
    #: ``personal_data.retention_years`` in force on the day asked about.
    retention_years: int
    #: Loans and commitments still open, e.g. ``("loan ICBC/ICBC-001 (active)",)``.
    open: tuple[str, ...]
    #: The day the last loan or commitment closed (the registration day when there was
    #: none); None while one is open.
    closed_on: dt.date | None
    #: True when ``closed_on`` is the registration day (never a guarantee).
    from_registration: bool
    #: The first day the data may be erased; None while a record is open.
    erasable_from: dt.date | None


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 1 March in a common year (as a
    birthday is reached, ``identity.age_on``)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def latest_closing(today: dt.date, years: int) -> dt.date:
    """The last closing day whose retention of ``years`` has ended by ``today``: every day
    ``d`` with ``add_years(d, years) <= today`` is on or before it."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February, back to a common year
        return dt.date(today.year - years, 2, 28)


def retention(session: Session, borrower_id: int, *, today: dt.date | None = None) -> Retention:
    """Borrower ``borrower_id``'s retention as of ``today`` (default: today)."""
    today = today or business_today()
    borrower = session.get(Borrower, borrower_id)
    if borrower is None:
        raise ReferenceDataError(f"no borrower #{borrower_id}", zh=f"借款人 #{borrower_id} 不存在")
    years = rules_on(session, today)["personal_data"]["retention_years"]
    opened = [
        f"loan {bank}/{contract} ({status})"
        for bank, contract, status in session.execute(
            select(Loan.bank_code, Loan.contract_no, Loan.status)
            .where(Loan.borrower_id == borrower_id, Loan.status.in_(OPEN_LOAN_STATUSES))
            .order_by(Loan.id)
        )
    ]
    opened += [
        f"commitment {number} (unused)"
        for number in session.scalars(
            select(Commitment.number)
            .where(Commitment.borrower_id == borrower_id, Commitment.status == "approved")
            .order_by(Commitment.id)
        )
    ]
    if opened:
        return Retention(borrower_id, years, tuple(opened), None, False, None)
    closings = closings_query().subquery()
    closed_on = session.scalar(
        select(func.max(closings.c.closed_on)).where(closings.c.borrower_id == borrower_id)
    )
    from_registration = closed_on is None
    if from_registration:
        closed_on = business_date(borrower.registered_at)
    return Retention(
        borrower_id, years, (), closed_on, from_registration, add_years(closed_on, years)
    )


def erase_personal_data(
    session: Session, borrower_id: int, *, actor: str, today: dt.date | None = None
) -> Borrower:
    """Erase borrower ``borrower_id``'s personal data (an admin's), once no loan or
    commitment of theirs is open and the retention period after the last closed has
    ended by ``today`` (default: today); returns the borrower, as what is left of it."""
    require_role(session, actor, Role.ADMIN)
    today = today or business_today()
    borrower = session.scalar(select(Borrower).where(Borrower.id == borrower_id).with_for_update())
    if borrower is None:
        raise ReferenceDataError(f"no borrower #{borrower_id}", zh=f"借款人 #{borrower_id} 不存在")
    if borrower.erased_at is not None:
        raise erased_error(borrower)
    kept = retention(session, borrower_id, today=today)
    _refuse_kept(kept, today)
    borrower.name = ERASED_NAME
    borrower.id_number = erased_id_number(borrower.id)
    borrower.id_number_given = None
    borrower.birth_date = borrower.birth_date.replace(month=1, day=1)
    borrower.erased_at, borrower.erased_by = utcnow(), str(actor)
    for credential in session.scalars(
        select(Credential).where(Credential.borrower_id == borrower_id)
    ):
        credential.number = erased_id_number(credential.id)
        if credential.revoke_reason is not None:
            credential.revoke_reason = ERASED_NAME
    for item in session.scalars(
        select(CounterGuarantee)
        .join(Commitment, Commitment.id == CounterGuarantee.commitment_id)
        .where(Commitment.borrower_id == borrower_id)
    ):
        item.guarantor_name = ERASED_NAME if item.guarantor_name else item.guarantor_name
        item.guarantor_id_number = None
        item.description = ERASED_NAME if item.description else item.description
    for correction in session.scalars(
        select(BorrowerCorrection).where(BorrowerCorrection.borrower_id == borrower_id)
    ):
        correction.old_value = correction.new_value = None
        correction.reason = ERASED_NAME
    session.flush()
    return borrower


def _refuse_kept(kept: Retention, today: dt.date) -> None:
    who, years = kept.borrower_id, kept.retention_years
    if kept.open:
        zh_open = "、".join(_open_zh(item) for item in kept.open)
        raise OpenRecordsError(
            f"borrower #{who} still has {', '.join(kept.open)}; personal data may be erased "
            f"{years} years after their last loan or commitment closes",
            zh=f"借款人 #{who} 尚有未了结的业务：{zh_open}；个人信息须在最后一笔贷款或担保承诺"
            f"了结满 {years} 年后方可删除",
        )
    if today < kept.erasable_from:
        if kept.from_registration:
            since = f"they were registered on {kept.closed_on} and never given a guarantee"
            since_zh = f"登记日期 {kept.closed_on}（未获担保）"
        else:
            since = f"their last loan or commitment closed on {kept.closed_on}"
            since_zh = f"最后一笔贷款或担保承诺于 {kept.closed_on} 了结"
        raise RetentionPeriodError(
            f"borrower #{who}'s personal data is kept {years} years after {since}: it may "
            f"be erased from {kept.erasable_from}",
            zh=f"借款人 #{who} 的个人信息保存期为 {years} 年（{since_zh}），"
            f"{kept.erasable_from} 起方可删除",
            erasable_from=kept.erasable_from,
        )


def _open_zh(item: str) -> str:
    kind, key, status = item.replace("(", "").replace(")", "").split(" ")
    if kind == "loan":
        return f"贷款 {key}（{LOAN_LIFECYCLE.names_zh[status]}）"
    return f"担保承诺 {key}（未使用）"


def closings_query() -> Select:
    """(borrower_id, closed_on) of every closing of a loan or commitment: a cancelled
    commitment; a repaid loan's repayment in full and last repayment; a recovered or
    written-off loan's recoveries; a written-off loan's write-off."""
    loan = Loan.borrower_id.label("borrower_id")
    repaid = Loan.status == "repaid"
    return union_all(
        select(Commitment.borrower_id, Commitment.cancelled_on.label("closed_on")).where(
            Commitment.status == "cancelled"
        ),
        select(loan, Loan.repaid_on).where(repaid),
        select(loan, Loan.last_paid_on).where(repaid, Loan.last_paid_on.is_not(None)),
        select(loan, Recovery.recovered_on)
        .join(Recovery, Recovery.loan_id == Loan.id)
        .where(Loan.status.in_(("recovered", "written_off"))),
        select(loan, WriteOff.decided_on)
        .join(WriteOff, WriteOff.loan_id == Loan.id)
        .where(Loan.status == "written_off", WriteOff.status == "approved"),
    )  # fmt: skip


def erasable_query(today: dt.date, years: int) -> Select:
    """(Borrower.id, Borrower, closed_on) of every borrower whose data may be erased on
    ``today`` with a retention of ``years``: not erased, nothing open, and the last
    closing (or the registration, for one never guaranteed) ``years`` or more ago.
    ``closed_on`` is None for one never guaranteed."""
    cutoff = latest_closing(today, years)
    # Registered on or before the cutoff, China time: before the next day's midnight there.
    registered_by = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time()) - CHINA_OFFSET
    closings = closings_query().subquery()
    last = (
        select(closings.c.borrower_id, func.max(closings.c.closed_on).label("closed_on"))
        .group_by(closings.c.borrower_id)
        .subquery()
    )
    still_open = union(
        select(Loan.borrower_id).where(Loan.status.in_(OPEN_LOAN_STATUSES)),
        select(Commitment.borrower_id).where(Commitment.status == "approved"),
    )
    guaranteed = exists().where(Commitment.borrower_id == Borrower.id)
    return (
        select(Borrower.id, Borrower, last.c.closed_on)
        .outerjoin(last, last.c.borrower_id == Borrower.id)
        .where(
            Borrower.erased_at.is_(None),
            Borrower.id.not_in(still_open),
            or_(
                last.c.closed_on <= cutoff,
                and_(~guaranteed, Borrower.registered_at < registered_by),
            ),
        )
    )


def business_date(moment: dt.datetime) -> dt.date:
    """The day in China of a UTC moment."""
    return (moment + CHINA_OFFSET).date()
