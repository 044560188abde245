"""The fund's records as values, shared by the read modules: a borrower, a commitment and
a loan's line in a list, each built from its row once and never tied to a session."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import Select, select

from ledger.fund.eligibility import Category, categories_on
from ledger.fund.models import CITY_FUND, Borrower, Claim, Commitment, Loan
from ledger.fund.personal import mask_id_number, mask_name


def _split(text: str) -> tuple[str, ...]:
    return tuple(c for c in text.split(",") if c)


@dataclass(frozen=True)
class BorrowerView:
    id: int
    #: 18-character resident ID number.
    id_number: str
    name: str
    birth_date: dt.date
    #: ``M`` or ``F``.
    sex: str
    #: District code.
    district: str
    #: individual, partnership or small_enterprise.
    borrower_type: str
    #: People in a partnership (1 otherwise).
    head_count: int
    #: The declared categories (a 4050 registration holds on a date: :meth:`categories_on`).
    categories: tuple[str, ...]
    registered_by: str
    #: UTC.
    registered_at: dt.datetime
    #: The 15-digit number of a first-generation card, as given (None otherwise).
    id_number_given: str | None = None
    #: When (UTC) and by whom the personal data was erased; None while it is kept. An
    #: erased borrower's name is （已删除）, the ID number its ``ERASED…`` stand-in.
    erased_at: dt.datetime | None = None
    erased_by: str | None = None
    #: True when only the year of ``birth_date`` is known (its 1 January stands for it):
    #: in a masked value, and once erased.
    birth_year_only: bool = False

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    def categories_on(self, on: dt.date) -> frozenset[Category]:
        """The declared categories that hold on ``on`` (4050 only at the qualifying age).
        Asked of a value that knows only the birth year, ValueError: a 4050 registration
        depends on the day."""
        if self.birth_year_only:
            raise ValueError(f"borrower #{self.id}: only the birth year is known")
        return categories_on(self.categories, self.sex, self.birth_date, on)

    def masked(self) -> BorrowerView:
        """This borrower as shown to someone who may not see them whole: the name and ID
        numbers masked (``ledger.fund.personal``), the birth date cut to its year."""
        return replace(
            self,
            name=mask_name(self.name),
            id_number=mask_id_number(self.id_number),
            id_number_given=mask_id_number(self.id_number_given),
            birth_date=self.birth_date.replace(month=1, day=1),
            birth_year_only=True,
        )


def borrower_view(row: Borrower) -> BorrowerView:
    return BorrowerView(
        id=row.id, id_number=row.id_number, name=row.name, birth_date=row.birth_date,
        sex=row.sex, district=row.district_code, borrower_type=row.borrower_type,
        head_count=row.head_count, categories=_split(row.categories),
        registered_by=row.registered_by, registered_at=row.registered_at,
        id_number_given=row.id_number_given, erased_at=row.erased_at,
        erased_by=row.erased_by, birth_year_only=row.erased_at is not None,
    )  # fmt: skip


@dataclass(frozen=True)
class CommitmentView:
    id: int
    #: The number on the 担保承诺书, e.g. ``G2025-ICBC-00017``.
    number: str
    bank_code: str
    #: Fen.
    amount: int
    term_months: int
    approved_on: dt.date
    approved_by: str
    #: The borrower's categories on the approval date.
    categories: tuple[str, ...]
    #: approved (unused), used or cancelled.
    status: str
    cancelled_on: dt.date | None
    cancelled_by: str | None
    cancel_reason: str | None
    #: The project the loan is for: micro_profit (微利项目) or other; None: not recorded.
    project_kind: str | None = None
    #: The project's trade (a code of the policy file's trade catalogue); None: not recorded.
    trade: str | None = None


def commitment_view(row: Commitment) -> CommitmentView:
    return CommitmentView(
        id=row.id, number=row.number, bank_code=row.bank_code, amount=row.amount,
        term_months=row.term_months, approved_on=row.approved_on, approved_by=row.approved_by,
        categories=_split(row.categories), status=row.status, cancelled_on=row.cancelled_on,
        cancelled_by=row.cancelled_by, cancel_reason=row.cancel_reason,
        project_kind=row.project_kind, trade=row.trade,
    )  # fmt: skip


@dataclass(frozen=True)
class LoanRow:
    """A loan's line in a list."""

    id: int
    bank_code: str
    contract_no: str
    borrower_name: str
    borrower_id_number: str
    #: The borrower's district code.
    district: str
    #: Fen lent.
    principal: int
    #: Fen of principal not repaid (the loan's running total of effective repayments); a
    #: compensated loan keeps what the borrower still owed.
    principal_outstanding: int
    #: Parts per million a year (4.35 % = 43,500).
    annual_rate_ppm: int
    disbursed_on: dt.date
    #: The final maturity: the extended one if the loan was extended.
    maturity: dt.date
    status: str
    #: The fund the loan draws on.
    fund: str = CITY_FUND

    def masked(self) -> LoanRow:
        """The line with the borrower's name and ID number masked."""
        return replace(
            self,
            borrower_name=mask_name(self.borrower_name),
            borrower_id_number=mask_id_number(self.borrower_id_number),
        )


def loan_rows() -> Select:
    """The columns of :class:`LoanRow`, the loan joined to its borrower (for
    :func:`loan_row`)."""
    return select(
        Loan.id, Loan.bank_code, Loan.contract_no, Borrower.name, Borrower.id_number,
        Borrower.district_code, Loan.principal, Loan.repaid_principal, Loan.annual_rate_ppm,
        Loan.disbursed_on, Loan.maturity_on, Loan.extended_to, Loan.status, Loan.fund_code,
    ).join(Borrower, Borrower.id == Loan.borrower_id)  # fmt: skip


def loan_row(r) -> LoanRow:
    """A row of :func:`loan_rows` as a value."""
    return LoanRow(
        id=r.id, bank_code=r.bank_code, contract_no=r.contract_no, borrower_name=r.name,
        borrower_id_number=r.id_number, district=r.district_code, principal=r.principal,
        principal_outstanding=r.principal - r.repaid_principal,
        annual_rate_ppm=r.annual_rate_ppm, disbursed_on=r.disbursed_on,
        maturity=r.extended_to or r.maturity_on, status=r.status, fund=r.fund_code,
    )  # fmt: skip


@dataclass(frozen=True)
class ClaimView:
    """A compensation claim (代偿申请) as a value."""

    id: int
    number: str
    filed_on: dt.date
    filed_by: str
    days_overdue: int
    principal_outstanding: int
    interest_outstanding: int
    #: The loss claimed for, and the fund's share of it (``amount``), fen.
    loss: int
    coverage_ppm: int
    amount: int
    #: filed, approved, paid or rejected.
    status: str
    decided_by: str | None
    decided_on: dt.date | None
    reject_reason: str | None
    paid_on: dt.date | None
    paid_by: str | None


def claim_view(c: Claim) -> ClaimView:
    return ClaimView(
        id=c.id, number=c.number, filed_on=c.filed_on, filed_by=c.filed_by,
        days_overdue=c.days_overdue, principal_outstanding=c.principal_outstanding,
        interest_outstanding=c.interest_outstanding, loss=c.loss, coverage_ppm=c.coverage_ppm,
        amount=c.amount, status=c.status, decided_by=c.decided_by, decided_on=c.decided_on,
        reject_reason=c.reject_reason, paid_on=c.paid_on, paid_by=c.paid_by,
    )  # fmt: skip
