"""API tokens: a partner bank's systems call the JSON API with a token of their bank,
``Authorization: Bearer <secret>``, and act as that bank's principal (the ``bank`` role,
scoped to the one bank): they upload its files, report its repayments and read its own
loans, as its staff would.

An admin issues a token for a bank (:func:`issue_token`, which returns the secret once
and never again), lists them with their last use (:func:`tokens_page`) and revokes one
(:func:`revoke_token`); a revoked token authenticates no more. :func:`authenticate_token`
finds the token of a secret and notes its use.

Only the SHA-256 of a secret is stored. A password needs a slow, salted hash (argon2id,
``ledger.fund.access``) because people choose guessable ones; a token's secret is 256
random bits, which no amount of guessing finds, so a fast hash loses nothing — and lets
every API request find its token by one indexed lookup instead of an argon2 run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.clock import utcnow
from ledger.fund.errors import FundError, PermissionDeniedError, ReferenceDataError, StateError
from ledger.fund.reference import Role, get_bank, require_role
from ledger.models import Base, BigId
from ledger.paging import Page, keyset_page
from ledger.principal import Principal

#: What every secret starts with, so that a leaked one is recognised (secret scanners).
SECRET_PREFIX = "flt_"
#: A token's use is written down at most this often (each API request would otherwise
#: write a row).
USE_RESOLUTION = dt.timedelta(minutes=1)


class ApiToken(Base):
    """A bank's credential for the API. The secret itself is never stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.code"), index=True)
    #: What the bank calls the system that uses it, e.g. 信贷系统.
    name: Mapped[str] = mapped_column(String(100))
    #: The secret's first characters, to tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 (hex) of the secret; see the module's note for why not a slow hash.
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(60))
    #: UTC, as the other times.
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(60))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: The last request it authenticated (to the minute).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class TokenError(FundError):
    """An API token that cannot be issued or revoked as asked."""

    code = "api-token"


@dataclass(frozen=True)
class TokenView:
    id: int
    bank: str
    name: str
    prefix: str
    created_by: str
    created_at: dt.datetime
    revoked_by: str | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def principal(self) -> str:
        return principal_name(self.id)


@dataclass(frozen=True)
class IssuedToken:
    token: TokenView
    #: The secret: shown to the admin this once, stored nowhere.
    secret: str


#: What the name a token acts under starts with (a user's name cannot hold a colon).
PRINCIPAL_PREFIX = "api-token:"


def principal_name(token_id: int) -> str:
    """The name a token acts under: what its entries, rows and audit lines record."""
    return f"{PRINCIPAL_PREFIX}{token_id}"


def is_token_principal(name: str) -> bool:
    return name.startswith(PRINCIPAL_PREFIX)


def token_principal(session: Session, name: str) -> Principal:
    """The principal a token's name (``api-token:<id>``) acts as, as
    :func:`authenticate_token` makes it — for work the token asked for and the scheduler
    does later, such as a queued file's import. A revoked or unknown token acts no more."""
    number = name.removeprefix(PRINCIPAL_PREFIX)
    row = session.get(ApiToken, int(number)) if re.fullmatch(r"[0-9]{1,18}", number) else None
    if row is None or row.revoked_at is not None:
        raise PermissionDeniedError(
            f"{name} is no API token's or its token was revoked",
            zh=f"{name} 不是有效的接口令牌，或该令牌已被吊销",
        )
    return Principal(name, [Role.BANK], row.bank_code)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(session: Session, bank: str, name: str, *, actor: str) -> IssuedToken:
    """An admin issues a token for ``bank``; the secret is in the value returned only."""
    principal = require_role(session, actor, Role.ADMIN)
    get_bank(session, bank)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise TokenError(
            "a token needs a name of 1 to 100 characters (the system that will use it)",
            zh="令牌须有名称（1 至 100 个字符，写明使用它的系统）",
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        bank_code=bank, name=name, prefix=secret[:12], secret_sha256=secret_hash(secret),
        created_by=str(principal), created_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return IssuedToken(_view(row), secret)


def revoke_token(session: Session, token_id: int, *, actor: str) -> TokenView:
    """An admin revokes a token: it authenticates no more, at once."""
    principal = require_role(session, actor, Role.ADMIN)
    row = session.get(ApiToken, token_id, with_for_update=True)
    if row is None:
        raise ReferenceDataError(
            f"no API token #{token_id}", zh=f"没有编号为 {token_id} 的接口令牌"
        )
    if row.revoked_at is not None:
        raise StateError(
            f"API token #{token_id} was revoked already", zh=f"接口令牌 {token_id} 已被吊销"
        )
    row.revoked_by, row.revoked_at = str(principal), utcnow()
    session.flush()
    return _view(row)


def get_token(session: Session, token_id: int) -> TokenView | None:
    row = session.get(ApiToken, token_id)
    return _view(row) if row is not None else None


def tokens_page(
    session: Session, *, bank: str | None = None, before: int | None = None, limit: int = 50
) -> Page[TokenView]:
    """Tokens newest first, of a bank, revoked ones included."""
    stmt = select(ApiToken)
    if bank is not None:
        stmt = stmt.where(ApiToken.bank_code == bank)
    return keyset_page(
        session, stmt, ApiToken.id, before=before, limit=limit,
        values=lambda rows: map(_view, rows), noun="tokens", scalars=True,
    )  # fmt: skip


def authenticate_token(
    session: Session, secret: str, *, now: dt.datetime | None = None
) -> Principal | None:
    """The principal a secret acts as (role bank, its bank), or None if it is no token's or
    its token was revoked. Notes the use (the caller commits)."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.secret_sha256 == secret_hash(secret)))
    if row is None or row.revoked_at is not None:
        return None
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= USE_RESOLUTION:
        row.last_used_at = now
        session.flush()
    return Principal(principal_name(row.id), [Role.BANK], row.bank_code)


def _view(row: ApiToken) -> TokenView:
    return TokenView(
        id=row.id, bank=row.bank_code, name=row.name, prefix=row.prefix,
        created_by=row.created_by, created_at=row.created_at, revoked_by=row.revoked_by,
        revoked_at=row.revoked_at, last_used_at=row.last_used_at,
    )  # fmt: skip
