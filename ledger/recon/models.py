"""Tables of reconciliation: the breaks found, their history, a district fund's special
account numbers at each bank, and which statement line matched which fund entry."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import register_race_constraints
from ledger.fund.lifecycle import Lifecycle
from ledger.models import ENTRY_FK, Base, BigId, JsonText

# Two runs over the same file may race to record the same break or the same match.
register_race_constraints(
    "uq_recon_breaks_natural_key",
    "uq_recon_matches_entry_id",
    "uq_special_account_numbers_bank_code_account_no",
    "uq_month_end_snapshots_month",
    "pk_reconciled_files",
)


class BreakStatus(StrEnum):
    OPEN = "open"
    EXPLAINED = "explained"
    RESOLVED = "resolved"


class BreakType(StrEnum):
    #: The fund has it (a loan outstanding, an entry on the special account); the bank not.
    MISSING_AT_BANK = "missing_at_bank"
    #: The bank has it (a loan balance, a statement line); the fund not.
    MISSING_IN_FUND = "missing_in_fund"
    AMOUNT_DIFFERS = "amount_differs"
    #: Overdue or not, or a different ageing bucket.
    STATUS_DIFFERS = "status_differs"
    #: A statement's opening or a day's closing balance differs from the special account's.
    BALANCE_DIFFERS = "balance_differs"
    #: A deposit-interest line (摘要 利息) the fund has not recorded: proposed interest.
    INTEREST_UNRECORDED = "interest_unrecorded"
    #: A statement line names an account number that is no fund's special account.
    UNKNOWN_ACCOUNT = "unknown_account"


TYPE_ZH = {
    "missing_at_bank": "银行无记录",
    "missing_in_fund": "基金无记录",
    "amount_differs": "金额不符",
    "status_differs": "逾期状态不符",
    "balance_differs": "余额不符",
    "interest_unrecorded": "利息未入账",
    "unknown_account": "账号不明",
}

#: open → explained (with a text) or resolved; explained → resolved, or open again when
#: the explanation is withdrawn; resolved → open when the break is found again.
BREAK_LIFECYCLE = Lifecycle(
    "break", "差异",
    {"open": "未处理", "explained": "已说明", "resolved": "已解决"},
    {"open": {"explained", "resolved"}, "explained": {"resolved", "open"},
     "resolved": {"open"}},
)  # fmt: skip


class Break(Base):
    """A difference between the fund's figures and a bank's, found by a reconciliation.

    ``natural_key`` names it (type, bank, fund, loan or account, and a statement item's
    reference): found again, it is the same break (``last_seen_on`` moves, a resolved
    one is reopened). ``fund_figure``/``bank_figure``/``difference`` are fen (bank minus
    fund); a status difference carries the days overdue in ``fund_days``/``bank_days``.
    """

    __tablename__ = "recon_breaks"
    lifecycle: ClassVar[Lifecycle] = BREAK_LIFECYCLE

    @property
    def status_label(self) -> str:
        return str(self.id)

    __table_args__ = (
        UniqueConstraint("natural_key"),
        CheckConstraint("status IN ('open','explained','resolved')", name="status"),
        CheckConstraint(
            "type IN ('missing_at_bank','missing_in_fund','amount_differs','status_differs',"
            "'balance_differs','interest_unrecorded','unknown_account')",
            name="type",
        ),
        CheckConstraint("source IN ('balances','statement')", name="source"),
        Index("ix_recon_breaks_bank_status", "bank_code", "status"),
        Index("ix_recon_breaks_found_on", "found_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    natural_key: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(30))
    #: The kind of bank file whose reconciliation finds it: balances or statement.
    source: Mapped[str] = mapped_column(String(10))
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.code"))
    fund_code: Mapped[str] = mapped_column(String(20))
    #: The loan's contract number, or the special account's number.
    subject: Mapped[str] = mapped_column(String(80))
    #: A statement line's bank_ref, ``entry:{id}`` for a fund entry, a date for a balance.
    ref: Mapped[str] = mapped_column(String(80), default="")
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    #: The date the compared figures are of (balances as_of, statement line's day).
    as_of: Mapped[dt.date] = mapped_column(Date)
    fund_figure: Mapped[int | None] = mapped_column(BigInteger)
    bank_figure: Mapped[int | None] = mapped_column(BigInteger)
    difference: Mapped[int] = mapped_column(BigInteger, default=0)
    fund_days: Mapped[int | None] = mapped_column(Integer)
    bank_days: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    detail_zh: Mapped[str] = mapped_column(Text, default="")
    found_on: Mapped[dt.date] = mapped_column(Date)
    last_seen_on: Mapped[dt.date] = mapped_column(Date)
    #: The bank file (and row) whose reconciliation last found it.
    import_id: Mapped[int | None] = mapped_column(ForeignKey("bank_file_imports.id"))
    row: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="open")
    assignee: Mapped[str | None] = mapped_column(String(60))
    explanation: Mapped[str | None] = mapped_column(Text)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    resolved_by_entry_id: Mapped[int | None] = mapped_column(ForeignKey(ENTRY_FK))
    resolved_by_import_id: Mapped[int | None] = mapped_column(ForeignKey("bank_file_imports.id"))
    resolved_by_row: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class BreakEvent(Base):
    """One change of a break: found, seen again, reopened, assigned, commented,
    explained, resolved; who, when, the status before and after, and the text."""

    __tablename__ = "recon_break_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    break_id: Mapped[int] = mapped_column(ForeignKey("recon_breaks.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(60))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    on_date: Mapped[dt.date | None] = mapped_column(Date)
    old_status: Mapped[str | None] = mapped_column(String(10))
    new_status: Mapped[str | None] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, default="")


class SpecialAccountNumber(Base):
    """The number of a district fund's special account at a bank (the city fund's is the
    bank's ``special_account_no``): how a statement's 账号 column names the fund."""

    __tablename__ = "special_account_numbers"
    __table_args__ = (UniqueConstraint("bank_code", "account_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.code"))
    fund_code: Mapped[str] = mapped_column(String(20))
    account_no: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ReconMatch(Base):
    """A fund entry on a special account matched to a bank statement line: an entry is
    matched once; a line may take several entries (a day's postings summed)."""

    __tablename__ = "recon_matches"
    __table_args__ = (UniqueConstraint("entry_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("bank_statement_lines.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey(ENTRY_FK))
    #: reference, amount (one to one within the window) or sum (a day's postings).
    how: Mapped[str] = mapped_column(String(10))


class MonthEndSnapshot(Base):
    """What month-end prepared for a month, kept as it was: the trial balance as of the
    month's last day and the month's fund statement (city consolidated), with the hash
    chain's head at that moment. Prepared again before the close, it is replaced; the
    approver closes the period against what it shows."""

    __tablename__ = "month_end_snapshots"
    __table_args__ = (UniqueConstraint("month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: YYYY-MM.
    month: Mapped[str] = mapped_column(String(7))
    as_of: Mapped[dt.date] = mapped_column(Date)
    prepared_at: Mapped[dt.datetime] = mapped_column(DateTime)
    prepared_by: Mapped[str] = mapped_column(String(60))
    #: The hash chain's head (``ledger_head``) when it was prepared.
    chain_seq: Mapped[int] = mapped_column(BigInteger)
    chain_hash: Mapped[str] = mapped_column(String(64))
    #: {"lines": [[code, debit, credit], ...]}, every account with a balance.
    trial_balance: Mapped[dict] = mapped_column(JsonText)
    #: {"opening", "closing", "sources": {code: [opening, closing]}, "movements": {...}}.
    statement: Mapped[dict] = mapped_column(JsonText)
    #: Breaks found by the month's end still open and unexplained then.
    open_breaks: Mapped[int] = mapped_column(Integer)


class ReconciledFile(Base):
    """A bank file that has been reconciled: when, by whom, and what it found the last
    time. The reconcile job takes the accepted balances and statement files without one,
    whatever the hour they came, so none is skipped and none waits for a watermark."""

    __tablename__ = "reconciled_files"

    import_id: Mapped[int] = mapped_column(ForeignKey("bank_file_imports.id"), primary_key=True)
    reconciled_at: Mapped[dt.datetime] = mapped_column(DateTime)
    reconciled_by: Mapped[str] = mapped_column(String(60))
    #: Differences found the last time it was reconciled.
    findings: Mapped[int] = mapped_column(Integer)


RECON_TABLES = (
    "reconciled_files",
    "month_end_snapshots",
    "recon_matches",
    "recon_break_events",
    "recon_breaks",
    "special_account_numbers",
)
