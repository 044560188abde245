"""Tables of the fund's domain: reference data, borrowers, policy overrides, commitments,
loans, repayments, claims, recoveries, write-offs, counter-guarantees, deposit interest,
guarantee fees.

Money columns are integer fen with ``CHECK`` constraints; every row that moved money
points at the journal entry that did it. Rows are written by the operations in
``ledger.fund`` and never by hand.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.chart import CITY_FUND
from ledger.db import register_race_constraints
from ledger.fund.lifecycle import Lifecycle, set_status  # noqa: F401 (re-exported)
from ledger.models import ENTRY_FK, Base, BigId, JsonText
from ledger.verify import register_check

# The fund's natural keys, which two concurrent uploads or clerks may race for: a bank's
# repayment reference and contract number, a loan's commitment, a reversal's original, a
# borrower's ID number, a commitment number.
register_race_constraints(
    "uq_repayments_bank_code_bank_ref",
    "uq_repayments_reversal_of_id",
    "uq_loans_bank_code_contract_no",
    "uq_loans_commitment_id",
    "uq_borrowers_id_number",
    "uq_commitments_number",
    # Derived rows two readers may both write first (ledger.fund.dues).
    "uq_loan_dues_loan_id_n",
    "pk_loan_due_states",
)
# verify cross-checks the fund's records against the books (loaded when it runs).
register_check("ledger.fund.checks:check_fund")


class District(Base):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Short code, e.g. ``D01``; used in capital source and account codes.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    #: Name shown to people, e.g. 城东区.
    name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Bank(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Short code, e.g. ``ICBC``; appears in account codes and bank file names.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    #: Name shown to people, e.g. 工商银行.
    name: Mapped[str] = mapped_column(String(100))
    #: Number of the fund's special account (担保基金专户) at this bank.
    special_account_no: Mapped[str] = mapped_column(String(40))
    #: An inactive bank takes no new guarantees.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


#: The city-level fund (市本级) is not a row of ``funds``: every city has it, under
#: :data:`CITY_FUND`. How it is named to people:
CITY_FUND_NAME = "市本级担保基金"


class Fund(Base):
    """A district's or county's own guarantee fund (区县担保基金), beside the city-level
    fund (:data:`CITY_FUND`): its own capital sources, treasury, special accounts at the
    partner banks, leverage cap and statements."""

    __tablename__ = "funds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Short code, e.g. ``D01``; appears in its accounts' codes (``asset:special:ICBC-D01``).
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The district or county whose government set it up: one fund per jurisdiction.
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), unique=True)
    #: The day it was set up; it guarantees loans applied for from then on.
    established_on: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CapitalSource(Base):
    __tablename__ = "capital_sources"
    __table_args__ = (
        CheckConstraint("kind IN ('provincial','city','district','other')", name="kind"),
        CheckConstraint("committed IS NULL OR committed >= 0", name="committed"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Code used in account codes, e.g. ``provincial``, ``city``, ``district-D01``.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: provincial allocation, city matching, district matching or other.
    kind: Mapped[str] = mapped_column(String(12))
    #: The district whose matching money this is (district sources only).
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    #: Fen this source is required or has pledged to contribute; None when open-ended.
    committed: Mapped[int | None] = mapped_column(BigInteger)
    #: The date the committed money is due by; None when no date was set.
    committed_due_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The fund the money is contributed to (:data:`CITY_FUND` or a ``funds`` code).
    fund_code: Mapped[str] = mapped_column(String(20), default=CITY_FUND, server_default=CITY_FUND)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class User(Base):
    """A person who signs in (``ledger.fund.access``) and acts on the books."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("failed_logins >= 0", name="failed_logins"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Login name; also the ``actor`` recorded on everything the user does.
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: Comma-separated roles: clerk, approver, bank, auditor, admin.
    roles: Mapped[str] = mapped_column(String(100))
    #: The bank a bank user works for; they act for that bank only.
    bank_code: Mapped[str | None] = mapped_column(ForeignKey("banks.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: The argon2id hash of the password (its parameters and salt included); NULL until
    #: one is set, and a user without one cannot sign in.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: When the password was last set (UTC).
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: Set by an admin's reset: the user must choose a password of their own first.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    #: Consecutive failed sign-ins since the last success (or unlock).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Sign-in is refused until then (UTC), after too many failures; NULL: not locked.
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: The last successful sign-in (UTC).
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class PolicyOverride(Base):
    """A locality's change to the national rules, in force from its date on."""

    __tablename__ = "policy_overrides"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    effective_from: Mapped[dt.date] = mapped_column(Date, unique=True)
    #: JSON object of the parameters it changes (merged over earlier rules).
    params: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Borrower(Base):
    __tablename__ = "borrowers"
    __table_args__ = (
        CheckConstraint("sex IN ('M','F')", name="sex"),
        CheckConstraint(
            "borrower_type IN ('individual','partnership','small_enterprise')", name="type"
        ),
        CheckConstraint("head_count >= 1", name="head_count"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: 18-character resident ID (GB 11643), check digit verified; the person's key. Once
    #: the personal data is erased, ``ERASED`` and the zero-padded id, which no resident ID
    #: number can equal (``ledger.fund.personal.erased_id_number``).
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    #: The 15-digit number of a first-generation card, as given; None when the 18-digit
    #: number was given.
    id_number_given: Mapped[str | None] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(100))
    #: Derived from the ID number; once erased, 1 January of the birth year.
    birth_date: Mapped[dt.date] = mapped_column(Date)
    #: ``M`` or ``F``, derived from the ID number.
    sex: Mapped[str] = mapped_column(String(1))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    #: individual, partnership or small_enterprise.
    borrower_type: Mapped[str] = mapped_column(String(20))
    #: People in a partnership (1 for an individual).
    head_count: Mapped[int] = mapped_column(Integer, default=1)
    #: Comma-separated declared eligibility categories (a 4050 registration among them
    #: counts only on dates the borrower's age and sex qualify).
    categories: Mapped[str] = mapped_column(String(400))
    registered_by: Mapped[str] = mapped_column(String(60))
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: When (UTC) and by whom the personal data was erased after its retention period;
    #: None while it is kept.
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    erased_by: Mapped[str | None] = mapped_column(String(60))


class BorrowerCorrection(Base):
    """A correction of a borrower's name or ID number (a misspelling, a mistyped digit):
    who made it, when and why, with the values before and after. The values are personal
    data too: they are erased with the borrower's."""

    __tablename__ = "borrower_corrections"
    __table_args__ = (CheckConstraint("field IN ('name','id_number')", name="field"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    #: name or id_number.
    field: Mapped[str] = mapped_column(String(20))
    #: The value before and after (an ID number as given); None once erased.
    old_value: Mapped[str | None] = mapped_column(String(100))
    new_value: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(200))
    corrected_by: Mapped[str] = mapped_column(String(60))
    corrected_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CredentialStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


CREDENTIAL_LIFECYCLE = Lifecycle(
    "certificate", "证件",
    {"valid": "有效", "revoked": "已注销"},
    {CredentialStatus.VALID: {CredentialStatus.REVOKED}},
)  # fmt: skip


class Credential(Base):
    """A document the labour office issued to one person, such as the re-employment
    certificate (再就业优惠证): a record with its number, office, date and status, not a
    flag. One certificate belongs to one person (unique kind and number)."""

    __tablename__ = "credentials"
    lifecycle: ClassVar[Lifecycle] = CREDENTIAL_LIFECYCLE
    __table_args__ = (
        UniqueConstraint("kind", "number"),
        CheckConstraint("status IN ('valid','revoked')", name="status"),
        CheckConstraint("kind IN ('reemployment_certificate')", name="kind"),
    )

    @property
    def status_label(self) -> str:
        return self.number

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    #: reemployment_certificate.
    kind: Mapped[str] = mapped_column(String(40))
    #: The number printed on the document.
    number: Mapped[str] = mapped_column(String(40))
    #: The office that issued it.
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    #: valid or revoked.
    status: Mapped[str] = mapped_column(String(10), default="valid")
    revoked_on: Mapped[dt.date | None] = mapped_column(Date)
    revoked_by: Mapped[str | None] = mapped_column(String(60))
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AllocationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


ALLOCATION_LIFECYCLE = Lifecycle(
    "capital allocation", "资金拨付记录",
    {"pending": "待审核", "approved": "已审核", "rejected": "已驳回"},
    {AllocationStatus.PENDING: {AllocationStatus.APPROVED, AllocationStatus.REJECTED}},
)  # fmt: skip


class CapitalAllocation(Base):
    """Money received from a capital source: recorded by a clerk, approved by another."""

    lifecycle: ClassVar[Lifecycle] = ALLOCATION_LIFECYCLE

    __tablename__ = "capital_allocations"

    @property
    def status_label(self) -> str:
        return str(self.id)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("status IN ('pending','approved','rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_code: Mapped[str] = mapped_column(ForeignKey("capital_sources.code"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The date the money arrived in the treasury account; the entry's effective date.
    received_on: Mapped[dt.date] = mapped_column(Date)
    #: The allocation document's number (e.g. a provincial finance department file).
    reference: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))


class StoredRuleSet(Base):
    """A rule set as commitments and loans froze it: stored once, never changed.

    ``rules`` is :meth:`ledger.fund.policy.RuleSet.to_json`; ``fingerprint`` its SHA-256.
    """

    __tablename__ = "rule_sets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    rules: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CommitmentStatus(StrEnum):
    APPROVED = "approved"  # unused
    USED = "used"  # a loan was disbursed on it
    CANCELLED = "cancelled"


COMMITMENT_LIFECYCLE = Lifecycle(
    "commitment", "担保承诺",
    {"approved": "已批准", "used": "已放款", "cancelled": "已撤销"},
    {CommitmentStatus.APPROVED: {CommitmentStatus.USED, CommitmentStatus.CANCELLED}},
)  # fmt: skip


class Commitment(Base):
    """A guarantee approval (承诺担保): the fund will guarantee a loan up to ``amount``."""

    __tablename__ = "commitments"
    lifecycle: ClassVar[Lifecycle] = COMMITMENT_LIFECYCLE

    @property
    def status_label(self) -> str:
        return self.number

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("term_months > 0", name="term"),
        CheckConstraint("status IN ('approved','used','cancelled')", name="status"),
        CheckConstraint("project_kind IN ('micro_profit','other')", name="project_kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The commitment number printed on the 担保承诺书, e.g. ``G2025-ICBC-00017``.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.code"), index=True)
    #: The fund that guarantees it: the city's, or that of the borrower's district.
    fund_code: Mapped[str] = mapped_column(String(20), default=CITY_FUND, server_default=CITY_FUND)
    amount: Mapped[int] = mapped_column(BigInteger)
    term_months: Mapped[int] = mapped_column(Integer)
    approved_on: Mapped[dt.date] = mapped_column(Date)
    approved_by: Mapped[str] = mapped_column(String(60))
    #: Comma-separated eligibility categories the borrower had on the approval date.
    categories: Mapped[str] = mapped_column(String(400))
    #: approved (unused), used (a loan was disbursed) or cancelled.
    status: Mapped[str] = mapped_column(String(10), default="approved")
    #: The rule set in force on ``approved_on``, frozen with the commitment.
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_sets.id"))
    cancelled_on: Mapped[dt.date | None] = mapped_column(Date)
    cancelled_by: Mapped[str | None] = mapped_column(String(60))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: The project the loan is for: micro_profit (微利项目) or other; None when not
    #: recorded. The subsidy of the 2002 and 2008 rules depends on it.
    project_kind: Mapped[str | None] = mapped_column(String(20))
    #: The project's trade, a code of the policy file's trade catalogue; None when not
    #: recorded. No subsidy for a trade the loan's rules restrict.
    trade: Mapped[str | None] = mapped_column(String(40))


class LoanStatus(StrEnum):
    ACTIVE = "active"
    REPAID = "repaid"
    CLAIMED = "claimed"  # the fund paid compensation
    WRITTEN_OFF = "written_off"
    RECOVERED = "recovered"  # the compensation was recovered in full


LOAN_LIFECYCLE = Lifecycle(
    "loan", "贷款",
    {"active": "正常", "repaid": "已结清", "claimed": "已代偿", "written_off": "已核销",
     "recovered": "已追回"},
    {
        LoanStatus.ACTIVE: {LoanStatus.REPAID, LoanStatus.CLAIMED},
        # A reversed repayment re-opens a loan repaid in full.
        LoanStatus.REPAID: {LoanStatus.ACTIVE},
        LoanStatus.CLAIMED: {LoanStatus.RECOVERED, LoanStatus.WRITTEN_OFF},
    },
)  # fmt: skip


class Loan(Base):
    """A loan a partner bank disbursed against a commitment; the fund guarantees a share."""

    __tablename__ = "loans"
    lifecycle: ClassVar[Lifecycle] = LOAN_LIFECYCLE

    @property
    def status_label(self) -> str:
        return f"{self.bank_code}/{self.contract_no}"

    __table_args__ = (
        UniqueConstraint("bank_code", "contract_no"),
        #: The key repayments point at: a repayment's bank is its loan's bank.
        UniqueConstraint("id", "bank_code"),
        CheckConstraint("principal > 0", name="principal"),
        CheckConstraint("annual_rate_ppm >= 0 AND annual_rate_ppm <= 1000000", name="rate"),
        CheckConstraint("coverage_ppm > 0 AND coverage_ppm <= 1000000", name="coverage"),
        CheckConstraint("maturity_on > disbursed_on", name="maturity"),
        CheckConstraint(
            "repaid_principal >= 0 AND repaid_principal <= principal", name="repaid_principal"
        ),
        CheckConstraint("repaid_interest >= 0", name="repaid_interest"),
        CheckConstraint(
            "status IN ('active','repaid','claimed','written_off','recovered')", name="status"
        ),
        CheckConstraint(
            "method IN ('bullet','interest_only','annuity','equal_principal')", name="method"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.code"), index=True)
    #: The bank's loan contract number, unique per bank.
    contract_no: Mapped[str] = mapped_column(String(60))
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    #: The fund the loan draws on: its commitment's.
    fund_code: Mapped[str] = mapped_column(
        String(20), default=CITY_FUND, server_default=CITY_FUND, index=True
    )
    principal: Mapped[int] = mapped_column(BigInteger)
    #: Annual interest rate in parts per million (3.85% = 38500).
    annual_rate_ppm: Mapped[int] = mapped_column(Integer)
    #: bullet, interest_only, annuity or equal_principal.
    method: Mapped[str] = mapped_column(String(20))
    disbursed_on: Mapped[dt.date] = mapped_column(Date)
    #: The contract's maturity; an extension sets ``extended_to`` and keeps this.
    maturity_on: Mapped[dt.date] = mapped_column(Date)
    extended_to: Mapped[dt.date | None] = mapped_column(Date)
    extended_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The fund's share of a loss, in ppm, from the loan's rule set.
    coverage_ppm: Mapped[int] = mapped_column(Integer)
    #: active, repaid, claimed (compensation paid), written_off or recovered.
    status: Mapped[str] = mapped_column(String(12), default="active")
    #: Date the principal was repaid in full (None while outstanding).
    repaid_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Running totals of the effective repayments (not reversed, not reversals), kept by
    #: every repayment and reversal and recomputed by ``verify``.
    repaid_principal: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    repaid_interest: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_paid_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The rule set in force on ``disbursed_on``: a later rule never changes it.
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_sets.id"))
    #: The disbursement's journal entry (exposure up); written with the loan.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))
    #: A hash of the bank file row's content, for idempotent imports.
    row_hash: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


#: The loan list's sort keys on columns, each followed by the id, alone and after the bank
#: (``ledger.fund.read.loans.LOAN_SORTS``). Migration 0026 also makes those on the final
#: maturity, an expression, which are not declared here: Alembic cannot compare an index
#: on an expression with SQLite's. A bank's list by contract number reads the unique
#: (bank_code, contract_no).
Index("ix_loans_disbursed_on_id", Loan.disbursed_on, Loan.id)
Index("ix_loans_bank_disbursed_on_id", Loan.bank_code, Loan.disbursed_on, Loan.id)
Index("ix_loans_principal_id", Loan.principal, Loan.id)
Index("ix_loans_bank_principal_id", Loan.bank_code, Loan.principal, Loan.id)
Index("ix_loans_contract_no_id", Loan.contract_no, Loan.id)


class Repayment(Base):
    """A repayment the bank reported, or the reversal of one (``reversal_of_id``)."""

    __tablename__ = "repayments"
    __table_args__ = (
        UniqueConstraint("bank_code", "bank_ref"),
        CheckConstraint("principal >= 0 AND interest >= 0 AND penalty >= 0", name="amounts"),
        # One key for both: the loan, and that the bank reporting it is the loan's bank.
        ForeignKeyConstraint(["loan_id", "bank_code"], ["loans.id", "loans.bank_code"]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    loan_id: Mapped[int] = mapped_column(BigId, index=True)
    bank_code: Mapped[str] = mapped_column(String(20))
    #: The bank's transaction reference (银行流水号), unique per bank.
    bank_ref: Mapped[str] = mapped_column(String(60))
    paid_on: Mapped[dt.date] = mapped_column(Date)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    penalty: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Set on a reversal row: the repayment it cancels (once).
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("repayments.id"), unique=True)
    #: The exposure entry, when the principal part moved the guaranteed share.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))
    row_hash: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LoanDue(Base):
    """One installment of a loan's schedule, with what is due through it: derived from the
    loan (``ledger.fund.loans.loan_schedule``), stored so that the overdue position of
    every loan can be read in one query (``ledger.fund.dues``). Written when first asked
    for, deleted when the loan is extended; never edited."""

    __tablename__ = "loan_dues"
    __table_args__ = (UniqueConstraint("loan_id", "n"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    #: 1-based installment number.
    n: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date] = mapped_column(Date)
    #: Principal and interest scheduled through this installment, fen.
    cum_principal: Mapped[int] = mapped_column(BigInteger)
    cum_interest: Mapped[int] = mapped_column(BigInteger)


class LoanDueState(Base):
    """Where a loan's running totals leave it in its stored schedule: the due date of the
    first installment they do not cover, for the totals it was worked out from. Derived
    (``ledger.fund.dues``): stale as soon as the loan's totals differ from those kept
    here, and then worked out again; deleted with the installments on an extension."""

    __tablename__ = "loan_due_states"

    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), primary_key=True)
    #: The loan's running totals it was worked out from, fen.
    repaid_principal: Mapped[int] = mapped_column(BigInteger)
    repaid_interest: Mapped[int] = mapped_column(BigInteger)
    #: Due date of the first installment not covered; None when every one is.
    unpaid_since: Mapped[dt.date | None] = mapped_column(Date, index=True)


class Extension(Base):
    """An extension (展期) of a loan's maturity."""

    __tablename__ = "extensions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    extended_on: Mapped[dt.date] = mapped_column(Date)
    old_maturity: Mapped[dt.date] = mapped_column(Date)
    new_maturity: Mapped[dt.date] = mapped_column(Date)
    approved_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CounterGuaranteeStatus(StrEnum):
    HELD = "held"
    RELEASED = "released"
    ENFORCED = "enforced"


COUNTER_GUARANTEE_LIFECYCLE = Lifecycle(
    "counter-guarantee", "反担保",
    {"held": "持有", "released": "已解除", "enforced": "已处置"},
    {CounterGuaranteeStatus.HELD: {CounterGuaranteeStatus.RELEASED,
                                   CounterGuaranteeStatus.ENFORCED}},
)  # fmt: skip


class CounterGuarantee(Base):
    """A counter-guarantee (反担保) the borrower gave for a commitment and its loan."""

    __tablename__ = "counter_guarantees"
    lifecycle: ClassVar[Lifecycle] = COUNTER_GUARANTEE_LIFECYCLE

    @property
    def status_label(self) -> str:
        return str(self.id)

    __table_args__ = (
        CheckConstraint("value >= 0", name="value"),
        CheckConstraint(
            "kind IN ('guarantor','mortgage','pledge','joint_group','credit_community')",
            name="kind",
        ),
        CheckConstraint("status IN ('held','released','enforced')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    #: guarantor (a person), mortgage, pledge, joint_group (联保小组) or credit_community
    #: (信用社区 waiver: no collateral, value 0).
    kind: Mapped[str] = mapped_column(String(20))
    #: The guarantor or owner of the collateral.
    guarantor_name: Mapped[str] = mapped_column(String(100), default="")
    guarantor_id_number: Mapped[str | None] = mapped_column(String(18))
    #: A guarantor's employer type, e.g. civil_servant, public_institution, enterprise.
    employer_type: Mapped[str | None] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Assessed value in fen (0 for a waiver).
    value: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="held")
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    #: Memorandum entry registering it (None for a zero-value waiver).
    entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Memorandum entry releasing it on repayment or enforcement.
    close_entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))


class ClaimStatus(StrEnum):
    FILED = "filed"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


CLAIM_LIFECYCLE = Lifecycle(
    "claim", "代偿申请",
    {"filed": "已申请", "approved": "已审核", "paid": "已代偿", "rejected": "已驳回"},
    {
        ClaimStatus.FILED: {ClaimStatus.APPROVED, ClaimStatus.REJECTED},
        ClaimStatus.APPROVED: {ClaimStatus.PAID},
    },
)  # fmt: skip


class Claim(Base):
    """A compensation claim (代偿申请) on a defaulted loan."""

    __tablename__ = "claims"
    lifecycle: ClassVar[Lifecycle] = CLAIM_LIFECYCLE

    @property
    def status_label(self) -> str:
        return self.number

    __table_args__ = (
        CheckConstraint("loss > 0 AND amount > 0 AND amount <= loss", name="amounts"),
        CheckConstraint("status IN ('filed','approved','paid','rejected')", name="status"),
        Index(
            "uq_claims_open_loan",
            "loan_id",
            unique=True,
            postgresql_where=text("status <> 'rejected'"),
            sqlite_where=text("status <> 'rejected'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    filed_by: Mapped[str] = mapped_column(String(60))
    days_overdue: Mapped[int] = mapped_column(Integer)
    principal_outstanding: Mapped[int] = mapped_column(BigInteger)
    interest_outstanding: Mapped[int] = mapped_column(BigInteger)
    #: The loss the claim is for (principal, or principal and interest, per policy).
    loss: Mapped[int] = mapped_column(BigInteger)
    coverage_ppm: Mapped[int] = mapped_column(Integer)
    #: The fund's share: loss × coverage, rounded half up to the fen.
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="filed")
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    approve_entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    paid_by: Mapped[str | None] = mapped_column(String(60))
    pay_entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))


class Recovery(Base):
    """Money recovered (追偿) on a paid claim, shared between the fund and the bank."""

    __tablename__ = "recoveries"
    __table_args__ = (
        CheckConstraint("total > 0 AND fund_share >= 0 AND bank_share >= 0", name="amounts"),
        CheckConstraint("fund_share + bank_share = total", name="shares"),
        CheckConstraint("source IN ('borrower','counter_guarantee')", name="source"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    recovered_on: Mapped[dt.date] = mapped_column(Date)
    #: Everything recovered this time, before sharing.
    total: Mapped[int] = mapped_column(BigInteger)
    fund_share: Mapped[int] = mapped_column(BigInteger)
    bank_share: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20))
    counter_guarantee_id: Mapped[int | None] = mapped_column(ForeignKey("counter_guarantees.id"))
    #: Recovered after the loan was written off (账销案存): the write-off whose losses the
    #: fund's share reduces, source by source, instead of the receivable.
    after_write_off_id: Mapped[int | None] = mapped_column(ForeignKey("write_offs.id"))
    #: Then: the fund's share given back to each capital source's losses (fen).
    allocation: Mapped[dict | None] = mapped_column(JsonText)
    reference: Mapped[str] = mapped_column(String(60), default="")
    entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class WriteOffStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


WRITE_OFF_LIFECYCLE = Lifecycle(
    "write-off", "核销申请",
    {"requested": "已申请", "approved": "已核销", "rejected": "已驳回"},
    {WriteOffStatus.REQUESTED: {WriteOffStatus.APPROVED, WriteOffStatus.REJECTED}},
)  # fmt: skip


class WriteOff(Base):
    """A write-off (核销) of what is left of a compensation receivable."""

    __tablename__ = "write_offs"
    lifecycle: ClassVar[Lifecycle] = WRITE_OFF_LIFECYCLE

    @property
    def status_label(self) -> str:
        return str(self.id)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("status IN ('requested','approved','rejected')", name="status"),
        Index(
            "uq_write_offs_open_claim",
            "claim_id",
            unique=True,
            postgresql_where=text("status <> 'rejected'"),
            sqlite_where=text("status <> 'rejected'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    #: The receivable balance when requested; the approval writes off what is left then.
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="requested")
    requested_by: Mapped[str] = mapped_column(String(60))
    requested_on: Mapped[dt.date] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    #: pro_rata or first_loss: the rule that attributed the loss to capital sources.
    rule: Mapped[str | None] = mapped_column(String(12))
    #: {source code: fen}: the attribution.
    allocation: Mapped[dict | None] = mapped_column(JsonText)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))


class DepositInterest(Base):
    """Interest the bank credited to the fund's special account."""

    __tablename__ = "deposit_interest"
    __table_args__ = (
        UniqueConstraint("bank_code", "bank_ref"),
        CheckConstraint("amount > 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.code"), index=True)
    #: The fund whose special account at the bank earned it.
    fund_code: Mapped[str] = mapped_column(String(20), default=CITY_FUND, server_default=CITY_FUND)
    credited_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The statement line's reference.
    bank_ref: Mapped[str] = mapped_column(String(60))
    #: {source code: fen}: the income attributed to each capital source.
    allocation: Mapped[dict] = mapped_column(JsonText)
    entry_id: Mapped[int] = mapped_column(ForeignKey(ENTRY_FK))
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class GuaranteeFee(Base):
    """A guarantee fee (担保费) the fund received, for a period: income of the fund,
    attributed to the capital sources pro rata to their contributed capital."""

    __tablename__ = "guarantee_fees"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("period_to >= period_from", name="period"),
        CheckConstraint("payer IN ('finance_bureau','borrower')", name="payer"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The payment's document or bank reference; one fee per reference.
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The period the fee is for, both days included.
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    #: finance_bureau or borrower, from the rules in force at the period's start.
    payer: Mapped[str] = mapped_column(String(20))
    #: The bank whose special account received it; None: the treasury account.
    bank_code: Mapped[str | None] = mapped_column(ForeignKey("banks.code"))
    #: The fund whose treasury or special account received it, and whose sources it is
    #: attributed to.
    fund_code: Mapped[str] = mapped_column(String(20), default=CITY_FUND, server_default=CITY_FUND)
    #: {source code: fen}: the income attributed to each capital source.
    allocation: Mapped[dict] = mapped_column(JsonText)
    note: Mapped[str] = mapped_column(Text, default="")
    entry_id: Mapped[int] = mapped_column(ForeignKey(ENTRY_FK))
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)


FUND_TABLES = (
    "loan_due_states",
    "loan_dues",
    "guarantee_fees",
    "deposit_interest",
    "write_offs",
    "recoveries",
    "claims",
    "counter_guarantees",
    "extensions",
    "repayments",
    "loans",
    "commitments",
    "capital_allocations",
    "credentials",
    "borrower_corrections",
    "borrowers",
    "rule_sets",
    "policy_overrides",
    "users",
    "capital_sources",
    "funds",
    "banks",
    "districts",
)
