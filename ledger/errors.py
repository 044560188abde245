"""Named errors of the books. Each message tells a clerk what is wrong and what to do."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal by the books. ``code`` is stable; the message is for people."""

    code = "ledger-error"

    def __init__(self, message: str = "", *, zh: str | None = None):
        super().__init__(message)
        #: The same message in Chinese, for the clerk's screen and the bank's error report.
        self.zh = zh


class FilterError(LedgerError, ValueError):
    """A list asked for with a filter or page size it cannot have: an unknown status or
    kind, a date range that ends before it starts, a page of more rows than allowed."""

    code = "invalid-filter"


class AccountError(LedgerError):
    code = "account"


class UnknownAccountError(AccountError):
    code = "unknown-account"


class GroupAccountError(AccountError):
    code = "group-account"


class EntryError(LedgerError):
    """An entry that is malformed: too few postings, bad amounts, bad side."""

    code = "invalid-entry"


class UnbalancedEntryError(EntryError):
    code = "unbalanced"


class ClosedPeriodError(LedgerError):
    code = "closed-period"


class OverdraftError(LedgerError):
    """A posting would take a must-not-go-negative account below zero."""

    code = "overdraft"

    def __init__(self, message: str, *, account_code: str | None = None, zh: str | None = None):
        super().__init__(message, zh=zh)
        self.account_code = account_code


class IdempotencyConflictError(LedgerError):
    """The idempotency key was used before for an entry with different content."""

    code = "idempotency-conflict"

    def __init__(self, message: str, *, key: str, zh: str | None = None):
        super().__init__(message, zh=zh)
        self.key = key


class ReversalError(LedgerError):
    code = "reversal"


class ImmutableEntryError(LedgerError):
    """Something tried to change or delete a posted entry."""

    code = "immutable"


class PeriodError(LedgerError):
    code = "period"


class DatabaseRefusedError(LedgerError):
    """The database's own constraints refused a write the Python checks let through."""

    code = "database-refused"


class AuditError(LedgerError):
    """An audit record that cannot be written as given: an unknown outcome, an action code
    or an address that is not one."""

    code = "audit"
