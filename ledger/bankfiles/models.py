"""Tables of the partner banks' and the bureau's files: the receipt of every upload, the
journal entries an accepted file posted, a rejected file's error lines, and the balance and
statement lines stored for reconciliation. Written by ``ledger.bankfiles.imports`` only.
"""

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import register_race_constraints
from ledger.fund.lifecycle import Lifecycle
from ledger.models import ENTRY_FK, Base, BigId, JsonText

# A bank's (or the bureau's) accepted file (by SHA-256) and a bank's stored balance and
# statement lines: two uploads of the same file, or of overlapping ones, may race for them.
register_race_constraints(
    "uq_bank_file_imports_accepted",
    "uq_bank_file_imports_bureau_accepted",
    "uq_bank_balance_lines_bank_code_as_of_contract_no",
    "uq_bank_statement_lines_bank_code_bank_ref",
)


class ImportStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


#: A receipt is written once, with its final status: no moves.
IMPORT_LIFECYCLE = Lifecycle(
    "bank file import", "文件导入",
    {"accepted": "已接收", "rejected": "已拒绝", "duplicate": "重复文件"},
    {},
)  # fmt: skip


#: The bureau's own lists (borrowers to register, guarantees to approve): no bank's files.
BUREAU_KINDS_SQL = "kind IN ('borrowers','guarantees')"


class BankFileImport(Base):
    """The receipt of one file upload: what came, from whom, and what became of it.

    A partner bank's file names its bank; a bureau list (``borrowers``, ``guarantees``)
    has none. ``status`` is accepted (posted or stored), rejected (nothing posted; the
    error rows are in ``bank_file_errors``) or duplicate (the same bytes were accepted
    before as the same kind, see ``duplicate_of_id``). A bank's accepted files of a kind,
    and the bureau's, are unique by SHA-256, so two uploads of the same bytes at the same
    moment post once.
    """

    __tablename__ = "bank_file_imports"
    lifecycle: ClassVar[Lifecycle] = IMPORT_LIFECYCLE

    @property
    def status_label(self) -> str:
        return str(self.id)

    __table_args__ = (
        CheckConstraint("status IN ('accepted','rejected','duplicate')", name="status"),
        CheckConstraint(
            "kind IN ('disbursement','repayment','balances','statement','borrowers','guarantees')",
            name="kind",
        ),
        CheckConstraint(
            f"({BUREAU_KINDS_SQL} AND bank_code IS NULL) "
            f"OR (NOT {BUREAU_KINDS_SQL} AND bank_code IS NOT NULL)",
            name="bank",
        ),
        CheckConstraint(
            "rows >= 0 AND posted >= 0 AND skipped >= 0 AND error_rows >= 0", name="counts"
        ),
        Index(
            "uq_bank_file_imports_accepted",
            "bank_code",
            "kind",
            "sha256",
            unique=True,
            sqlite_where=text("status = 'accepted'"),
            postgresql_where=text("status = 'accepted'"),
        ),
        # A NULL bank is distinct from every other in the index above: the bureau's files
        # have their own.
        Index(
            "uq_bank_file_imports_bureau_accepted",
            "kind",
            "sha256",
            unique=True,
            sqlite_where=text("status = 'accepted' AND bank_code IS NULL"),
            postgresql_where=text("status = 'accepted' AND bank_code IS NULL"),
        ),
        Index("ix_bank_file_imports_bank_uploaded", "bank_code", "uploaded_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The partner bank whose file it is; None for the bureau's lists.
    bank_code: Mapped[str | None] = mapped_column(ForeignKey("banks.code"))
    #: disbursement, repayment, balances or statement (a bank's); borrowers or
    #: guarantees (the bureau's).
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    #: csv or xlsx, and the CSV's encoding (utf-8, utf-8-sig, gb18030); None if unread.
    format: Mapped[str | None] = mapped_column(String(4))
    encoding: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    #: Data rows (blank rows not counted), rows posted or stored, rows skipped as exact
    #: repeats of rows posted before, and rows with at least one error.
    rows: Mapped[int] = mapped_column(Integer, default=0)
    posted: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    error_rows: Mapped[int] = mapped_column(Integer, default=0)
    #: {amount column: total fen over the rows read}.
    totals: Mapped[dict] = mapped_column(JsonText, default=dict)
    #: Why a file was rejected as a whole (encoding, header, size), in English and Chinese.
    message: Mapped[str | None] = mapped_column(Text)
    message_zh: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("bank_file_imports.id"))
    uploaded_by: Mapped[str] = mapped_column(String(60))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class BankFileImportEntry(Base):
    """A journal entry a bank file posted: the receipt's link to the books."""

    __tablename__ = "bank_file_import_entries"

    import_id: Mapped[int] = mapped_column(ForeignKey("bank_file_imports.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey(ENTRY_FK), primary_key=True)


class BankFileError(Base):
    """One error of a rejected file: the row (None: the file as a whole), the column
    (its English header), the value as given, and the message in English and Chinese."""

    __tablename__ = "bank_file_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_file_imports.id"), index=True)
    row: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(40), default="")
    value: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    message_zh: Mapped[str] = mapped_column(Text)


class BankBalanceLine(Base):
    """A row of a bank's loan balances file (贷款余额表), kept for reconciliation."""

    __tablename__ = "bank_balance_lines"
    __table_args__ = (
        UniqueConstraint("bank_code", "as_of", "contract_no"),
        CheckConstraint(
            "principal_outstanding >= 0 AND coalesce(overdue_principal, 0) >= 0 "
            "AND coalesce(days_overdue, 0) >= 0",
            name="amounts",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_file_imports.id"), index=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.code"))
    row: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[dt.date] = mapped_column(Date)
    contract_no: Mapped[str] = mapped_column(String(60))
    principal_outstanding: Mapped[int] = mapped_column(BigInteger)
    overdue_principal: Mapped[int | None] = mapped_column(BigInteger)
    days_overdue: Mapped[int | None] = mapped_column(Integer)


class BankStatementLine(Base):
    """A line of a bank's special-account statement (专户对账单), kept for reconciliation.

    ``direction`` is D (借, money out) or C (贷, money in); ``balance`` is the running
    balance after the line, checked line to line when the file was imported.
    """

    __tablename__ = "bank_statement_lines"
    __table_args__ = (
        UniqueConstraint("bank_code", "bank_ref"),
        CheckConstraint("direction IN ('D','C')", name="direction"),
        CheckConstraint("amount >= 0 AND balance >= 0", name="amounts"),
        Index("ix_bank_statement_lines_bank_booked", "bank_code", "booked_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_file_imports.id"), index=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.code"))
    row: Mapped[int] = mapped_column(Integer)
    booked_on: Mapped[dt.date] = mapped_column(Date)
    bank_ref: Mapped[str] = mapped_column(String(60))
    direction: Mapped[str] = mapped_column(String(1))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    counterparty: Mapped[str | None] = mapped_column(String(200))
    memo: Mapped[str | None] = mapped_column(String(200))
    #: The special account the line is of (账号, optional): absent, the city fund's.
    account_no: Mapped[str | None] = mapped_column(String(40))


#: Every table above, children first: the order a test reset truncates them in.


BANKFILE_TABLES = (
    "bank_statement_lines",
    "bank_balance_lines",
    "bank_file_errors",
    "bank_file_import_entries",
    "bank_file_imports",
)
