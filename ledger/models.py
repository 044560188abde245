"""Tables of the books: accounts, journal entries, postings, the chain head, period closes,
the audit log.

The database refuses what would break the books (see the migration that creates the
triggers); these classes describe the tables and are used for reading.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Primary keys are BIGINT on PostgreSQL and INTEGER (the rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: The column every record that moved money points at.
ENTRY_FK = "journal_entries.id"

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class JsonText(TypeDecorator):
    """A JSON object kept as text, written with sorted keys: the one place the books' JSON
    columns are encoded and parsed. The attribute is the object (a ``dict``), never its
    text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise TypeError(f"a JSON column takes a dict, not {type(value).__name__}")
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    CAPITAL = "capital"
    INCOME = "income"
    EXPENSE = "expense"
    MEMORANDUM = "memorandum"


class Side(StrEnum):
    DEBIT = "D"
    CREDIT = "C"

    @property
    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


#: The side on which each account type's balance grows. Memorandum accounts choose.
NORMAL_SIDE = {
    AccountType.ASSET: Side.DEBIT,
    AccountType.EXPENSE: Side.DEBIT,
    AccountType.LIABILITY: Side.CREDIT,
    AccountType.CAPITAL: Side.CREDIT,
    AccountType.INCOME: Side.CREDIT,
}

GENESIS_HASH = "0" * 64


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "type IN ('asset','liability','capital','income','expense','memorandum')", name="type"
        ),
        CheckConstraint("normal_side IN ('D','C')", name="normal_side"),
        CheckConstraint("NOT no_overdraft OR balance >= 0", name="no_overdraft"),
    )

    #: Surrogate key; postings refer to it.
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Colon-separated path, e.g. ``asset:special:ICBC``; its parent is the path minus the
    #: last segment. Never changes.
    code: Mapped[str] = mapped_column(String(200), unique=True)
    #: Name shown to people (Chinese in the UI).
    name: Mapped[str] = mapped_column(String(200))
    #: One of :class:`AccountType`; the same as the parent's.
    type: Mapped[str] = mapped_column(String(12))
    #: ``D`` or ``C``: the side on which the balance grows.
    normal_side: Mapped[str] = mapped_column(String(1))
    #: The parent account in the hierarchy; ``None`` for a root.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: A group account only sums its children; postings to it are refused.
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The balance (in the normal direction) must never go below zero, e.g. a special account.
    no_overdraft: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Dimension: capital source code, where the account belongs to one.
    capital_source: Mapped[str | None] = mapped_column(String(40), index=True)
    #: Dimension: partner bank code, where the account belongs to one.
    bank: Mapped[str | None] = mapped_column(String(40), index=True)
    #: Dimension: district code, where the account belongs to one.
    district: Mapped[str | None] = mapped_column(String(40), index=True)
    #: Dimension: the fund (of several in one set of books) the account belongs to.
    fund: Mapped[str | None] = mapped_column(String(20), index=True)
    #: Dimension: loan reference, where the account belongs to one.
    loan: Mapped[str | None] = mapped_column(String(80), index=True)
    #: Balance of all postings in the normal direction, in fen. Kept by the database's
    #: triggers, never by application code; ``verify`` recomputes it.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    #: When the account was opened (UTC).
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime)

    parent: Mapped[Account | None] = relationship(remote_side=[id])


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    # The migrations also make a partial index of the entries awaiting their seal
    # (ix_journal_entries_unsealed, WHERE seq IS NULL). It is not declared here: a
    # dialect's keyword (postgresql_where) imports that dialect's modules when this module
    # loads, which was a tenth of the start of every one-row command.
    __table_args__ = (Index("ix_journal_entries_recorded_at", "recorded_at"),)

    #: Allocated before the postings are written; postings are written first.
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    #: The date the entry counts from in the books.
    effective_date: Mapped[dt.date] = mapped_column(Date, index=True)
    #: When it was posted (UTC, microseconds); part of the hashed content.
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: What kind of business event it records, e.g. ``capital.allocation``.
    kind: Mapped[str] = mapped_column(String(60))
    #: Free text for people.
    description: Mapped[str] = mapped_column(Text, default="")
    #: Who posted it (user name, or ``system:<job>``).
    actor: Mapped[str] = mapped_column(String(120))
    #: Client-chosen key that makes a retried post return the original entry.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: The entry this one reverses; an entry can be reversed once.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    #: SHA-256 (hex) of the canonical content, computed when posted.
    content_hash: Mapped[str] = mapped_column(String(64))
    #: Position in the hash chain; ``None`` until sealed (moments after commit).
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    #: Chain hash of the entry sealed just before this one.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 over ``prev_hash``, ``seq`` and ``content_hash``.
    hash: Mapped[str | None] = mapped_column(String(64))

    postings: Mapped[list[Posting]] = relationship(
        back_populates="entry", order_by="Posting.id", lazy="selectin"
    )


class Posting(Base):
    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("side IN ('D','C')", name="side"),
        CheckConstraint("amount > 0 AND amount <= 1000000000000000", name="amount"),
        Index("ix_postings_account_id_effective_date", "account_id", "effective_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The entry; the foreign key is checked at commit because postings come first.
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entries.id", deferrable=True, initially="DEFERRED"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    #: ``D`` debit or ``C`` credit.
    side: Mapped[str] = mapped_column(String(1))
    #: Amount in fen, always positive; the side gives the direction.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: Copy of the entry's effective date, for as-of balances by index.
    effective_date: Mapped[dt.date] = mapped_column(Date)

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship()


class LedgerHead(Base):
    """The single row that holds the last sealed position of the hash chain."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``seq`` of the last sealed entry; 0 when none is.
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    #: ``hash`` of the last sealed entry; the genesis hash when none is.
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class ChainMark(Base):
    """How far the hash chain had reached when a transaction that moved it committed.

    One row per such transaction, written as it commits while it still holds the chain
    head, so marks are in commit order and their times never go back. "As recorded at
    T" is the entries up to the last mark at or before T: the same whenever it is asked
    after T. Append-only.
    """

    __tablename__ = "chain_marks"

    #: ``seq`` of the chain's last entry when the transaction committed.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    #: When it committed (UTC, never earlier than the mark before it).
    marked_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class PeriodClose(Base):
    """A closing of the books through a date. Append-only; a close is never undone."""

    __tablename__ = "period_closes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Entries dated on or before this date are refused from now on.
    closed_through: Mapped[dt.date] = mapped_column(Date, unique=True)
    #: When the close was recorded (UTC).
    closed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: Who closed it.
    actor: Mapped[str] = mapped_column(String(120))
    #: The hash chain's head when the close was made (``seq`` and ``hash``): every entry
    #: dated in the closed period is at or before it. What a report of the period stands
    #: on (``ledger.reports.anchor``). Nullable in the schema only so that migration 0028
    #: could add it; every close has it.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger)
    chain_hash: Mapped[str | None] = mapped_column(String(64))


class AuditLog(Base):
    """One sign-in, failed sign-in, sign-out or change made through the web, the API or a
    password command: who, what, when, from which address. Append-only: the database
    refuses every UPDATE and DELETE of its rows. Written by ``ledger.audit.record`` only,
    which masks resident ID numbers before they are stored."""

    __tablename__ = "audit_log"
    __table_args__ = (CheckConstraint("outcome IN ('ok','refused')", name="outcome"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: When it happened (naive UTC, microseconds).
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    #: The signed-in user who acted; NULL when nobody was (a failed sign-in).
    actor: Mapped[str | None] = mapped_column(String(60), index=True)
    #: Short stable code: ``sign-in``, ``sign-in-failed``, ``allocation.approve``, …
    action: Mapped[str] = mapped_column(String(60))
    #: What it was done to, e.g. ``user/wang.fang`` or ``allocation/12``; empty if nothing.
    target: Mapped[str] = mapped_column(Text, default="")
    #: ``ok`` or ``refused``.
    outcome: Mapped[str] = mapped_column(String(10))
    #: What else is worth keeping (a refusal's reason, the values changed); never a
    #: password, and resident ID numbers masked.
    detail: Mapped[dict | None] = mapped_column(JsonText)
    #: The client's IP address (IPv4 or IPv6), when it came over the network.
    address: Mapped[str | None] = mapped_column(String(45))
