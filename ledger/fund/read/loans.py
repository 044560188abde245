"""Loans as values: a keyset-paged list with filters, and one loan in full as of a date.

:func:`loan_detail` is everything ``fundledger loan show`` and a loan's page print: the
loan, its borrower and commitment, its position and schedule, its exposure and
compensation receivable on the date, its repayments, claims, recoveries, counter-guarantees
and extensions, and the journal entries that moved its own accounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledger.fund.books import balances_as_of, loan_exposure_account, receivable_account
from ledger.fund.loans import get_loan, loan_schedule
from ledger.fund.models import (
    CITY_FUND,
    Borrower,
    Claim,
    Commitment,
    CounterGuarantee,
    Extension,
    Loan,
    LoanStatus,
    Recovery,
    Repayment,
)
from ledger.fund.personal import mask_id_number, mask_name
from ledger.fund.read.views import (
    BorrowerView,
    ClaimView,
    CommitmentView,
    LoanRow,
    borrower_view,
    claim_view,
    commitment_view,
    loan_row,
    loan_rows,
)
from ledger.fund.schedule import Installment, Payment, Position, position
from ledger.journal import EntryView, entry_views
from ledger.models import Account, Posting
from ledger.paging import Cursor, Page, SortKey, check_range, keyset_page, one_of

__all__ = [
    "LOAN_SORTS",
    "ClaimView",
    "CounterGuaranteeView",
    "ExtensionView",
    "LoanDetail",
    "LoanRow",
    "LoanView",
    "RecoveryView",
    "RepaymentView",
    "loan_detail",
    "loans_page",
]


#: The orders the loan list may be sorted in (``sort=``, ``-`` for descending). Each has an
#: index on (its expression, id) and on (bank, its expression, id): migration 0026. Not the
#: principal outstanding: it changes with every repayment, and an index on it would make
#: each repayment's update of its loan rewrite every index of the loan.
LOAN_SORTS = (
    SortKey("disbursed_on", Loan.disbursed_on, dt.date),
    SortKey("principal", Loan.principal, int),
    #: The final maturity: the extended one if the loan was extended.
    SortKey("maturity", func.coalesce(Loan.extended_to, Loan.maturity_on), dt.date),
    SortKey("contract_no", Loan.contract_no, str),
)


def loans_page(
    session: Session,
    *,
    bank: str | None = None,
    district: str | None = None,
    status: str | None = None,
    disbursed_from: dt.date | None = None,
    disbursed_to: dt.date | None = None,
    fund: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    after: Cursor | str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[LoanRow]:
    """Loans newest first, or sorted by one of :data:`LOAN_SORTS` (``ledger.paging``:
    ``sort``, the cursor ``after``), of a bank, of borrowers of a district, in a status
    (:class:`~ledger.fund.models.LoanStatus`), disbursed in a date range (both ends
    included) and drawing on a fund; ``search`` finds a contract number, a borrower's
    whole resident ID number or the start of their name."""
    one_of(status, LoanStatus, "loan status", "贷款状态")
    check_range(disbursed_from, disbursed_to, "disbursement date", "放款日期")
    stmt = loan_rows()
    if bank is not None:
        stmt = stmt.where(Loan.bank_code == bank)
    if district is not None:
        stmt = stmt.where(Borrower.district_code == district)
    if status is not None:
        stmt = stmt.where(Loan.status == status)
    if disbursed_from is not None:
        stmt = stmt.where(Loan.disbursed_on >= disbursed_from)
    if disbursed_to is not None:
        stmt = stmt.where(Loan.disbursed_on <= disbursed_to)
    if fund is not None:
        stmt = stmt.where(Loan.fund_code == fund)
    if search is not None and search.strip():
        text = search.strip()
        stmt = stmt.where(
            or_(
                Loan.contract_no == text,
                Borrower.id_number == text.upper(),
                Borrower.name.startswith(text, autoescape=True),
            )
        )
    return keyset_page(
        session, stmt, Loan.id, before=before, limit=limit, sort=sort, sorts=LOAN_SORTS,
        after=after, values=lambda rows: map(loan_row, rows),
    )  # fmt: skip


@dataclass(frozen=True)
class LoanView:
    id: int
    bank_code: str
    contract_no: str
    #: Fen lent.
    principal: int
    #: Parts per million a year.
    annual_rate_ppm: int
    #: bullet, interest_only, annuity or equal_principal.
    method: str
    disbursed_on: dt.date
    #: The contract's maturity (an extension keeps it and sets ``extended_to``).
    maturity_on: dt.date
    extended_to: dt.date | None
    extended_on: dt.date | None
    #: The fund's share of a loss, ppm.
    coverage_ppm: int
    status: str
    #: The date the principal was repaid in full, if it was.
    repaid_on: dt.date | None
    #: Fen of principal repaid by the effective repayments (the running total).
    repaid_principal: int
    last_paid_on: dt.date | None
    created_by: str
    #: UTC.
    created_at: dt.datetime
    #: The fund the loan draws on (its commitment's).
    fund: str = CITY_FUND

    @property
    def maturity(self) -> dt.date:
        """The final maturity: the extended one if the loan was extended."""
        return self.extended_to or self.maturity_on

    @property
    def principal_outstanding(self) -> int:
        """Fen of principal not repaid (now, by the running total)."""
        return self.principal - self.repaid_principal


@dataclass(frozen=True)
class RepaymentView:
    """A repayment the bank reported, or the reversal of one."""

    id: int
    bank_ref: str
    paid_on: dt.date
    principal: int
    interest: int
    penalty: int
    #: On a reversal: the repayment it cancels, and that repayment's bank reference.
    reversal_of_id: int | None
    reverses: str | None
    #: On a reversed repayment: the bank reference of the reversal.
    reversed_by: str | None
    #: The exposure entry its principal moved (None when it moved none).
    entry_id: int | None
    recorded_by: str
    #: UTC.
    recorded_at: dt.datetime


@dataclass(frozen=True)
class RecoveryView:
    id: int
    claim_id: int
    recovered_on: dt.date
    #: Everything recovered this time, and the fund's and the bank's shares, fen.
    total: int
    fund_share: int
    bank_share: int
    #: borrower or counter_guarantee.
    source: str
    counter_guarantee_id: int | None
    reference: str
    recorded_by: str


@dataclass(frozen=True)
class CounterGuaranteeView:
    id: int
    #: guarantor, mortgage, pledge, joint_group or credit_community.
    kind: str
    guarantor_name: str
    guarantor_id_number: str | None
    employer_type: str | None
    description: str
    #: Assessed value, fen (0 for a waiver).
    value: int
    #: held, released or enforced.
    status: str
    recorded_by: str
    recorded_on: dt.date
    closed_on: dt.date | None

    def masked(self) -> CounterGuaranteeView:
        """The counter-guarantee with its guarantor's name and ID number masked."""
        return replace(
            self,
            guarantor_name=mask_name(self.guarantor_name),
            guarantor_id_number=mask_id_number(self.guarantor_id_number),
        )


@dataclass(frozen=True)
class ExtensionView:
    id: int
    extended_on: dt.date
    old_maturity: dt.date
    new_maturity: dt.date
    approved_by: str


@dataclass(frozen=True)
class LoanDetail:
    """One loan as of a date, with its history (every record, whatever its date)."""

    loan: LoanView
    borrower: BorrowerView
    commitment: CommitmentView
    as_of: dt.date
    position: Position
    schedule: tuple[Installment, ...]
    #: The loan's guarantee exposure and compensation receivable on ``as_of``, fen.
    exposure: int
    receivable: int
    repayments: tuple[RepaymentView, ...]
    claims: tuple[ClaimView, ...]
    recoveries: tuple[RecoveryView, ...]
    counter_guarantees: tuple[CounterGuaranteeView, ...]
    extensions: tuple[ExtensionView, ...]
    #: The loan's own accounts: its exposure and its compensation receivable.
    exposure_account: str
    receivable_account: str
    #: The journal entries with a posting on the loan's own accounts, oldest first, each
    #: with those postings only (a bank file's entry moves many loans; the entry's own
    #: page has all of it).
    entries: tuple[EntryView, ...]

    def masked(self) -> LoanDetail:
        """The loan with its borrower's and guarantors' names and ID numbers masked."""
        return replace(
            self,
            borrower=self.borrower.masked(),
            counter_guarantees=tuple(cg.masked() for cg in self.counter_guarantees),
        )

    def moved(self, entry: EntryView) -> int:
        """Fen ``entry`` posted to the loan's own accounts (an entry of a bank file or a
        batch moves many loans; this is this loan's part)."""
        own = (self.exposure_account, self.receivable_account)
        return sum(p.amount for p in entry.postings if p.account in own)


def loan_detail(session: Session, bank: str, contract_no: str, as_of: dt.date) -> LoanDetail:
    """Bank ``bank``'s loan ``contract_no`` as of ``as_of``; StateError if there is none."""
    loan = get_loan(session, bank, contract_no)
    exposure = loan_exposure_account(bank, loan.id, loan.fund_code)
    receivable = receivable_account(loan.id)
    balance = balances_as_of(session, [exposure, receivable], as_of)
    repayments = session.scalars(
        select(Repayment).where(Repayment.loan_id == loan.id).order_by(Repayment.id)
    ).all()
    schedule = loan_schedule(loan)
    # The effective repayments (neither a reversal nor reversed), as loan_position reads
    # them, taken from the rows already read.
    reversed_ids = {r.reversal_of_id for r in repayments if r.reversal_of_id is not None}
    payments = [
        Payment(r.paid_on, r.principal, r.interest)
        for r in sorted(repayments, key=lambda r: (r.paid_on, r.id))
        if r.reversal_of_id is None and r.id not in reversed_ids
    ]
    entry_ids = session.scalars(
        select(Posting.entry_id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code.in_([exposure, receivable]))
        .distinct()
        .order_by(Posting.entry_id)
    ).all()
    return LoanDetail(
        loan=_loan_view(loan),
        borrower=borrower_view(session.get(Borrower, loan.borrower_id)),
        commitment=commitment_view(session.get(Commitment, loan.commitment_id)),
        as_of=as_of,
        position=position(schedule, payments, as_of),
        schedule=schedule,
        exposure=balance[exposure],
        receivable=balance[receivable],
        repayments=_repayment_views(repayments),
        claims=tuple(
            claim_view(c)
            for c in session.scalars(
                select(Claim).where(Claim.loan_id == loan.id).order_by(Claim.id)
            )
        ),
        recoveries=tuple(
            _recovery_view(r)
            for r in session.scalars(
                select(Recovery).where(Recovery.loan_id == loan.id).order_by(Recovery.id)
            )
        ),
        counter_guarantees=tuple(
            _counter_guarantee_view(cg)
            for cg in session.scalars(
                select(CounterGuarantee)
                .where(CounterGuarantee.commitment_id == loan.commitment_id)
                .order_by(CounterGuarantee.id)
            )
        ),
        extensions=tuple(
            ExtensionView(e.id, e.extended_on, e.old_maturity, e.new_maturity, e.approved_by)
            for e in session.scalars(
                select(Extension).where(Extension.loan_id == loan.id).order_by(Extension.id)
            )
        ),
        exposure_account=exposure,
        receivable_account=receivable,
        entries=entry_views(session, entry_ids, accounts=(exposure, receivable), amounts=False),
    )


def _loan_view(row: Loan) -> LoanView:
    return LoanView(
        id=row.id, bank_code=row.bank_code, contract_no=row.contract_no,
        principal=row.principal, annual_rate_ppm=row.annual_rate_ppm, method=row.method,
        disbursed_on=row.disbursed_on, maturity_on=row.maturity_on,
        extended_to=row.extended_to, extended_on=row.extended_on,
        coverage_ppm=row.coverage_ppm, status=row.status, repaid_on=row.repaid_on,
        repaid_principal=row.repaid_principal, last_paid_on=row.last_paid_on,
        created_by=row.created_by, created_at=row.created_at, fund=row.fund_code,
    )  # fmt: skip


def _repayment_views(rows: list[Repayment]) -> tuple[RepaymentView, ...]:
    ref = {r.id: r.bank_ref for r in rows}
    reversed_by = {r.reversal_of_id: r.bank_ref for r in rows if r.reversal_of_id is not None}
    return tuple(_repayment_view(r, ref, reversed_by) for r in rows)


def _repayment_view(r: Repayment, ref: dict, reversed_by: dict) -> RepaymentView:
    return RepaymentView(
        id=r.id, bank_ref=r.bank_ref, paid_on=r.paid_on, principal=r.principal,
        interest=r.interest, penalty=r.penalty, reversal_of_id=r.reversal_of_id,
        reverses=ref.get(r.reversal_of_id) if r.reversal_of_id is not None else None,
        reversed_by=reversed_by.get(r.id), entry_id=r.entry_id, recorded_by=r.recorded_by,
        recorded_at=r.recorded_at,
    )  # fmt: skip


def _recovery_view(r: Recovery) -> RecoveryView:
    return RecoveryView(
        id=r.id, claim_id=r.claim_id, recovered_on=r.recovered_on, total=r.total,
        fund_share=r.fund_share, bank_share=r.bank_share, source=r.source,
        counter_guarantee_id=r.counter_guarantee_id, reference=r.reference,
        recorded_by=r.recorded_by,
    )  # fmt: skip


def _counter_guarantee_view(cg: CounterGuarantee) -> CounterGuaranteeView:
    return CounterGuaranteeView(
        id=cg.id, kind=cg.kind, guarantor_name=cg.guarantor_name,
        guarantor_id_number=cg.guarantor_id_number, employer_type=cg.employer_type,
        description=cg.description, value=cg.value, status=cg.status,
        recorded_by=cg.recorded_by, recorded_on=cg.recorded_on, closed_on=cg.closed_on,
    )  # fmt: skip
