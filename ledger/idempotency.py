"""Idempotency keys: a client that sends a request again — after a timeout, a dropped
connection, a crash of its own — with the same ``Idempotency-Key`` gets the first
response again, and nothing is done twice.

One row per key and principal (two principals' keys never meet). :func:`claim` takes a
key for a request before it runs: a new key is recorded as running; a key whose request
finished gives its stored response back (:class:`Replay`) if the method, path and body
are the same, and :class:`IdempotencyKeyReusedError` if they are not; a key whose
request is still running is :class:`IdempotencyKeyBusyError`. :func:`complete` stores the
response, :func:`release` gives the key up (a request that failed with a server error,
which the client may then retry with the same key).

The response is stored as the request's handler made it, so a handler must not put a
secret in it that may not be kept (a token's secret is replayed as null).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.clock import utcnow
from ledger.db import register_race_constraints
from ledger.errors import LedgerError
from ledger.models import Base, BigId

#: The longest key a client may send.
MAX_KEY = 255

# Two requests with the same new key race to record it; the loser runs again and sees
# the winner's row.
register_race_constraints("uq_idempotency_keys_principal_key")


class IdempotencyRecord(Base):
    """A POST's idempotency key, and once it finished, its response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Who sent it (a username, or an API token's principal).
    principal: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(MAX_KEY))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    #: SHA-256 (hex) of the request's body, as the caller fingerprints it.
    body_sha256: Mapped[str] = mapped_column(String(64))
    #: The response's status; NULL while the request runs.
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    response: Mapped[str | None] = mapped_column(Text)
    #: The response's ``Location`` header, if it had one (a created or queued thing).
    location: Mapped[str | None] = mapped_column(Text)
    #: UTC.
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class IdempotencyError(LedgerError):
    code = "idempotency-key"

    def __init__(self, message: str, *, key: str, zh: str | None = None):
        super().__init__(message, zh=zh)
        self.key = key


class IdempotencyKeyReusedError(IdempotencyError):
    """The key was sent before with another request (method, path or body)."""

    code = "idempotency-key-reused"


class IdempotencyKeyBusyError(IdempotencyError):
    """The first request with the key has not finished yet."""

    code = "idempotency-key-busy"


class InvalidIdempotencyKeyError(IdempotencyError):
    """A key that is empty, too long or not printable ASCII."""

    code = "idempotency-key-invalid"


@dataclass(frozen=True)
class Claimed:
    """A new key, recorded for this request; :func:`complete` or :func:`release` it."""

    id: int


@dataclass(frozen=True)
class Replay:
    """The stored response of the first request with the key."""

    status: int
    content_type: str
    body: str
    location: str | None = None


def check_key(key: str) -> str:
    """``key`` if a client may use it: 1 to 255 printable ASCII characters."""
    if not key or len(key) > MAX_KEY or not all(" " < c <= "~" for c in key):
        raise InvalidIdempotencyKeyError(
            f"an Idempotency-Key is 1 to {MAX_KEY} printable ASCII characters without "
            f"spaces, not {key[:40]!r}",
            zh=f"Idempotency-Key 应为 1 至 {MAX_KEY} 个可打印 ASCII 字符（不含空格），"
            f"而不是 {key[:40]!r}",
            key=key[:MAX_KEY],
        )
    return key


def claim(
    session: Session, *, principal: str, key: str, method: str, path: str, body_sha256: str
) -> Claimed | Replay:
    """Take ``key`` for this request, or give back the response of its first use."""
    check_key(key)
    found = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal == str(principal), IdempotencyRecord.key == key
        )
    )
    if found is None:
        record = IdempotencyRecord(
            principal=str(principal), key=key, method=method, path=path,
            body_sha256=body_sha256, created_at=utcnow(),
        )  # fmt: skip
        session.add(record)
        session.flush()
        return Claimed(record.id)
    if (found.method, found.path, found.body_sha256) != (method, path, body_sha256):
        raise IdempotencyKeyReusedError(
            f"Idempotency-Key {key!r} was used before for another request "
            f"({found.method} {found.path} with another body); use a new key for a new request",
            zh=f"Idempotency-Key「{key}」已用于另一请求（{found.method} {found.path}，"
            "请求内容不同）；新的请求请使用新的 Idempotency-Key",
            key=key,
        )
    if found.status is None:
        raise IdempotencyKeyBusyError(
            f"the first request with Idempotency-Key {key!r} is still running; "
            "ask again in a moment",
            zh=f"使用 Idempotency-Key「{key}」的首次请求尚在处理中，请稍后再试",
            key=key,
        )
    return Replay(
        found.status, found.content_type or "application/json", found.response or "",
        found.location,
    )  # fmt: skip


def complete(
    session: Session,
    record_id: int,
    *,
    status: int,
    content_type: str,
    body: str,
    location: str | None = None,
) -> None:
    """Store the response of the request that claimed ``record_id`` (and its
    ``Location``, to be given back with it)."""
    record = session.get(IdempotencyRecord, record_id)
    if record is None:  # released meanwhile: nothing to keep
        return
    record.status, record.content_type, record.response = status, content_type[:100], body
    record.location = location
    record.completed_at = utcnow()
    session.flush()


def release(session: Session, record_id: int) -> None:
    """Give up a key whose request did not finish, so that it may be sent again."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == record_id, IdempotencyRecord.status.is_(None)
        )
    )


def purge(session: Session, *, before: dt.datetime) -> int:
    """Forget the keys of requests that finished before ``before`` (UTC); how many."""
    result = session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.status.is_not(None), IdempotencyRecord.created_at < before
        )
    )
    return result.rowcount
