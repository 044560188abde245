"""Signing in: passwords and their policy, throttling, unlocking, signing out, and who may
read the audit log.

The web application (and the API) sign a user in through :func:`sign_in_committed` (or
:func:`sign_in` in a transaction of their own) and keep the principal it returns; every
operation they call afterwards takes it as ``actor``. Nothing here knows about Flask.

- **Passwords** are hashed with argon2id (:data:`HASHER`, argon2-cffi's defaults); the
  plain text is never stored, logged or audited. A user created by
  ``reference.add_user`` has none, and cannot sign in until one is set.
- **The policy** (:data:`PASSWORD_POLICY`): at least 10 characters, at least three of
  lower-case letters, upper-case letters, digits and symbols (anything else: punctuation,
  spaces, Chinese characters), not containing the user name, not the current password.
- **Throttling**: :data:`LOCK_AFTER` (5) failed sign-ins in a row lock the account for
  :data:`LOCK_FOR` (15 minutes); the attempt that locks it and every attempt while it is
  locked are refused as ``locked`` (the right password too), naming the China time it
  unlocks. A success resets the count; so do an admin's :func:`unlock` and the lock
  running out. Attempts while locked do not extend the lock.
- **Refusals** of a sign-in are one message for an unknown user, a wrong password, a
  user without a password and an inactive user (``bad-credentials``), and an unknown
  user's password is checked against a dummy hash, so neither the message nor the time
  taken tells which. (That an account exists can still be learnt by locking it: a
  locked account is shown as such by design.)
- **Every attempt is audited** (``sign-in`` ok, ``sign-in-failed`` refused with the
  reason in the detail), and the failure count and the audit row of a refused attempt
  must be committed although the sign-in failed. So :func:`sign_in` does not raise for a
  refusal: it returns a :class:`SignInAttempt` that says whether it succeeded, and its
  caller commits either way. :func:`sign_in_committed` runs it in its own transaction
  (``run_in_transaction``) and raises the refusal after the commit.

On SQLite every transaction takes the database's write lock as it begins, so a sign-in
holds it while its password is checked (a fraction of a second); on PostgreSQL it holds
only the user's row.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.audit import OK, REFUSED, AuditView, audit_page, record
from ledger.clock import CHINA_OFFSET, utcnow
from ledger.db import run_in_transaction
from ledger.fund.errors import (
    AccountLockedError,
    BadCredentialsError,
    PasswordError,
    PasswordPolicyError,
    ReferenceDataError,
    SignInError,
    WrongPasswordError,
)
from ledger.fund.models import User
from ledger.fund.reference import _USERNAME, Role, authenticate, require_role, roles_of
from ledger.paging import Page
from ledger.principal import SYSTEM, Principal

#: The password hasher: argon2id with argon2-cffi's default parameters (3 passes over
#: 64 MiB, 4 lanes). A stored hash made with other parameters is re-hashed with these at
#: its user's next successful sign-in.
HASHER = PasswordHasher()
#: Failed sign-ins in a row that lock an account.
LOCK_AFTER = 5
#: How long a locked account stays locked, unless an admin unlocks it first.
LOCK_FOR = dt.timedelta(minutes=15)

# Audit action codes.
SIGN_IN = "sign-in"
SIGN_IN_FAILED = "sign-in-failed"
SIGN_OUT = "sign-out"
PASSWORD_CHANGE = "password-change"
PASSWORD_RESET = "password-reset"
USER_UNLOCK = "user-unlock"

_BAD_CREDENTIALS_ZH = "用户名或密码不正确"


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must be. :meth:`check` refuses one with every problem named."""

    min_length: int = 10
    #: Longer is refused, so that a form cannot make the server hash megabytes.
    max_length: int = 256
    #: Of the four classes: lower-case, upper-case, digits, symbols (anything else).
    min_classes: int = 3

    def problems(
        self, password: str, *, username: str, current: str | None = None
    ) -> list[tuple[str, str]]:
        """Each thing wrong with ``password`` as (English, Chinese); empty if none.
        ``current`` is the user's current password in plain text, when known."""
        found = []
        n = len(password)
        if n < self.min_length:
            found.append((
                f"it needs at least {self.min_length} characters (it has {n})",
                f"密码至少需要 {self.min_length} 个字符（现为 {n} 个）",
            ))  # fmt: skip
        if n > self.max_length:
            found.append((
                f"it may have at most {self.max_length} characters (it has {n})",
                f"密码不能超过 {self.max_length} 个字符（现为 {n} 个）",
            ))  # fmt: skip
        classes = character_classes(password)
        if classes < self.min_classes:
            found.append((
                f"it needs at least {self.min_classes} of lower-case letters, upper-case "
                f"letters, digits and symbols (it has {classes})",
                f"密码须包含小写字母、大写字母、数字、符号中的至少 {self.min_classes} 类"
                f"（现为 {classes} 类）",
            ))  # fmt: skip
        if username and username.lower() in password.lower():
            found.append(("it must not contain the user name", "密码不能包含用户名"))
        if current is not None and password == current:
            found.append(SAME_AS_CURRENT)
        return found

    def check(
        self,
        password: str,
        *,
        username: str,
        current: str | None = None,
        current_hash: str | None = None,
    ) -> None:
        """Refuse ``password`` with :class:`PasswordPolicyError` naming every problem.

        The current password is given in plain text (``current``: a user changing their
        own) or as its stored hash (``current_hash``: an admin's reset), which is checked
        only when nothing else is wrong.
        """
        found = self.problems(password, username=username, current=current)
        if not found and current_hash and _matches(current_hash, password):
            found.append(SAME_AS_CURRENT)
        if found:
            raise PasswordPolicyError(
                "password refused: " + "; ".join(en for en, _ in found),
                zh="；".join(zh for _, zh in found),
                problems=[zh for _, zh in found],
            )


SAME_AS_CURRENT = ("it must differ from the current password", "新密码不能与当前密码相同")

#: The policy every password set here must meet.
PASSWORD_POLICY = PasswordPolicy()


def character_classes(password: str) -> int:
    """How many of lower-case letters, upper-case letters, digits and symbols (any other
    character) ``password`` has."""
    lower = upper = digit = other = False
    for c in password:
        if c.islower():
            lower = True
        elif c.isupper():
            upper = True
        elif c.isdecimal():
            digit = True
        else:
            other = True
    return lower + upper + digit + other


# --------------------------------------------------------------------------- hashing


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (its salt and parameters encoded in it)."""
    return HASHER.hash(password)


def _matches(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    """A hash of no one's password, made with the hasher in use: what an unknown user's
    password is checked against, so that the time taken does not tell."""
    global _dummy
    if _dummy is None or _dummy[0] is not HASHER:
        _dummy = (HASHER, HASHER.hash(secrets.token_urlsafe(24)))
    return _dummy[1]


# --------------------------------------------------------------------------- signing in


@dataclass(frozen=True)
class SignInAttempt:
    """What a sign-in came to. Refused: ``error`` says why, ``principal`` is None."""

    #: The name as given (stripped, lower-cased).
    username: str
    principal: Principal | None
    error: SignInError | None
    #: The user must choose a new password before anything else (after an admin's reset).
    must_change_password: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def result(self) -> Principal:
        """The principal signed in, or the refusal raised."""
        if self.error is not None:
            raise self.error
        assert self.principal is not None
        return self.principal


def sign_in(
    session: Session,
    username: str,
    password: str,
    *,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> SignInAttempt:
    """Check ``username``'s ``password`` and record the attempt, in the caller's
    transaction, which the caller commits whatever the outcome: a refusal is returned,
    not raised (see the module's notes). ``address`` is the client's IP address, ``now``
    the moment (naive UTC; the clock's by default)."""
    now = now or utcnow()
    name = (username or "").strip().lower()
    user = None
    if 0 < len(name) <= 60 and name != SYSTEM:
        user = session.scalar(select(User).where(User.username == name).with_for_update())
    known = user is not None and user.active
    target = f"user/{name}" if user is not None else _unknown_target(name)
    if known and user.locked_until is not None:
        if user.locked_until > now:
            error = _locked(name, user.locked_until)
            _audit_refused(session, target, "locked", address, now, user=user)
            return SignInAttempt(name, None, error)
        # The lock has run out: the count starts again.
        user.locked_until = None
        user.failed_logins = 0
    stored = user.password_hash if known else None
    # One password check whoever asks: against a dummy hash when there is nothing to check.
    matched = _matches(stored or _dummy_hash(), password or "") and stored is not None
    if not matched:
        if user is None:
            reason = "unknown-user"
        elif not user.active:
            reason = "inactive"
        elif stored is None:
            reason = "no-password"
        else:
            reason = "wrong-password"
        error: SignInError = BadCredentialsError(
            "sign-in refused: unknown user or wrong password", zh=_BAD_CREDENTIALS_ZH
        )
        if reason == "wrong-password":
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until = now + LOCK_FOR
                error = _locked(name, user.locked_until)
        _audit_refused(session, target, reason, address, now, user=user if known else None)
        return SignInAttempt(name, None, error)
    detail = {}
    if HASHER.check_needs_rehash(stored):
        user.password_hash = HASHER.hash(password)
        detail["rehashed"] = True
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    principal = Principal(user.username, roles_of(user), user.bank_code)
    record(
        session, SIGN_IN, actor=principal, target=target, outcome=OK, detail=detail or None,
        address=address, at=now,
    )  # fmt: skip
    return SignInAttempt(name, principal, None, user.must_change_password)


def sign_in_committed(
    factory: sessionmaker[Session],
    username: str,
    password: str,
    *,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> SignInAttempt:
    """:func:`sign_in` in a transaction of its own, committed; a refusal is raised after
    the commit (``BadCredentialsError`` or ``AccountLockedError``)."""
    attempt = run_in_transaction(
        factory, lambda s: sign_in(s, username, password, address=address, now=now)
    )
    attempt.result()
    return attempt


def sign_out(
    session: Session,
    actor: Principal | str,
    *,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> AuditView:
    """Record that ``actor`` signed out (the web application ends its session)."""
    return record(
        session, SIGN_OUT, actor=actor, target=f"user/{actor}", address=address,
        at=now or utcnow(),
    )  # fmt: skip


def _locked(name: str, until: dt.datetime) -> AccountLockedError:
    # Shown to the minute, rounded up: the account is unlocked by then.
    shown = until + CHINA_OFFSET
    if shown.second or shown.microsecond:
        shown = shown.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return AccountLockedError(
        f"account {name} is locked after {LOCK_AFTER} failed sign-ins; it unlocks at "
        f"{shown:%H:%M} China time, or when an admin unlocks it",
        zh=f"账户已因连续 {LOCK_AFTER} 次登录失败被锁定，将于 {shown:%H:%M} 自动解锁，"
        "或请管理员解锁",
        locked_until=until,
    )


def _unknown_target(name: str) -> str:
    """The target of an unknown user's attempt: the name, if it could be a user name at
    all. Anything else (a password typed into the name field) is not kept."""
    return f"user/{name}" if _USERNAME.match(name) else "user/?"


def _audit_refused(
    session: Session,
    target: str,
    reason: str,
    address: str | None,
    now: dt.datetime,
    *,
    user: User | None,
) -> None:
    detail: dict = {"reason": reason}
    if user is not None:
        detail["failed_logins"] = user.failed_logins
        if user.locked_until is not None:
            detail["locked_until"] = user.locked_until
    record(
        session, SIGN_IN_FAILED, actor=None, target=target, outcome=REFUSED, detail=detail,
        address=address, at=now,
    )  # fmt: skip


# --------------------------------------------------------------------------- passwords


def set_password(
    session: Session,
    username: str,
    new: str,
    *,
    actor: Principal | str,
    current: str | None = None,
    now: dt.datetime | None = None,
    address: str | None = None,
) -> AccountView:
    """Set ``username``'s password to ``new``.

    A user changing their own gives ``current``, which must be theirs
    (:class:`WrongPasswordError` otherwise); audited ``password-change``. An admin
    resetting another's needs no current password, and the user must then change it at
    their next sign-in; audited ``password-reset``. Anyone else is refused
    (``PermissionDeniedError``); a password the policy refuses is a
    :class:`PasswordPolicyError`.
    """
    now = now or utcnow()
    principal = authenticate(session, actor)
    own = str(principal) == username
    if not own:
        require_role(session, principal, Role.ADMIN)
    user = _user(session, username)
    if own:
        if current is None:
            raise WrongPasswordError(
                "a password change needs the current password", zh="修改密码须输入当前密码"
            )
        if not user.password_hash or not _matches(user.password_hash, current):
            raise WrongPasswordError("the current password is wrong", zh="当前密码不正确")
        PASSWORD_POLICY.check(new, username=username, current=current)
    else:
        PASSWORD_POLICY.check(new, username=username, current_hash=user.password_hash)
    user.password_hash = HASHER.hash(new)
    user.password_changed_at = now
    user.must_change_password = not own
    record(
        session, PASSWORD_CHANGE if own else PASSWORD_RESET, actor=principal,
        target=f"user/{username}", detail=None if own else {"must_change_password": True},
        address=address, at=now,
    )  # fmt: skip
    session.flush()
    return _account(user, now)


def set_initial_passwords(
    session: Session,
    usernames: Iterable[str],
    password: str,
    *,
    actor: Principal | str,
    must_change: bool = True,
    now: dt.datetime | None = None,
    address: str | None = None,
) -> tuple[AccountView, ...]:
    """Give users who have no password yet the same first ``password`` (admin), hashed
    once: argon2's salt is part of the hash, so one hash is valid for every row. They
    must change it at their first sign-in unless ``must_change`` is False (the demo
    city's users). Audited ``password-reset``, one row per user."""
    now = now or utcnow()
    principal = require_role(session, actor, Role.ADMIN)
    users = [_user(session, name) for name in dict.fromkeys(usernames)]
    for user in users:
        if user.password_hash is not None:
            raise PasswordError(
                f"user {user.username} has a password already; reset it instead",
                zh=f"用户 {user.username} 已设置密码，请改用重置密码",
            )
        PASSWORD_POLICY.check(password, username=user.username)
    hashed = HASHER.hash(password)
    for user in users:
        user.password_hash = hashed
        user.password_changed_at = now
        user.must_change_password = must_change
        record(
            session, PASSWORD_RESET, actor=principal, target=f"user/{user.username}",
            detail={"initial": True, "must_change_password": must_change}, address=address,
            at=now,
        )  # fmt: skip
    session.flush()
    return tuple(_account(u, now) for u in users)


def unlock(
    session: Session,
    username: str,
    *,
    actor: Principal | str,
    now: dt.datetime | None = None,
    address: str | None = None,
) -> AccountView:
    """Unlock ``username``'s account and clear its failed sign-ins (admin); audited
    ``user-unlock`` with what it cleared."""
    now = now or utcnow()
    principal = require_role(session, actor, Role.ADMIN)
    user = _user(session, username, active_only=False)
    detail = {
        "failed_logins": user.failed_logins,
        "locked_until": user.locked_until if _is_locked(user, now) else None,
    }
    user.failed_logins = 0
    user.locked_until = None
    record(
        session, USER_UNLOCK, actor=principal, target=f"user/{username}", detail=detail,
        address=address, at=now,
    )  # fmt: skip
    session.flush()
    return _account(user, now)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class AccountView:
    """A user's account as an admin sees it: never the password's hash."""

    username: str
    name: str
    roles: tuple[str, ...]
    bank: str | None
    active: bool
    has_password: bool
    must_change_password: bool
    failed_logins: int
    #: Until when sign-in is refused (UTC); None when the account is not locked now.
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    password_changed_at: dt.datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


def accounts(
    session: Session, *, actor: Principal | str, now: dt.datetime | None = None
) -> tuple[AccountView, ...]:
    """Every user's account, by user name (admin)."""
    require_role(session, actor, Role.ADMIN)
    now = now or utcnow()
    return tuple(_account(u, now) for u in session.scalars(select(User).order_by(User.username)))


def read_audit(session: Session, *, actor: Principal | str, **filters) -> Page[AuditView]:
    """A page of the audit log (``ledger.audit.audit_page`` and its filters): auditors and
    admins only."""
    require_role(session, actor, Role.AUDITOR, Role.ADMIN)
    return audit_page(session, **filters)


def _user(session: Session, username: str, *, active_only: bool = True) -> User:
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is None:
        raise ReferenceDataError(f"no user {username}", zh=f"用户 {username} 不存在")
    if active_only and not user.active:
        raise ReferenceDataError(f"user {username} is inactive", zh=f"用户 {username} 已停用")
    return user


def _is_locked(user: User, now: dt.datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _account(user: User, now: dt.datetime) -> AccountView:
    return AccountView(
        username=user.username,
        name=user.name,
        roles=tuple(sorted(r.value for r in roles_of(user))),
        bank=user.bank_code,
        active=user.active,
        has_password=user.password_hash is not None,
        must_change_password=user.must_change_password,
        failed_logins=user.failed_logins,
        locked_until=user.locked_until if _is_locked(user, now) else None,
        last_login_at=user.last_login_at,
        password_changed_at=user.password_changed_at,
    )
