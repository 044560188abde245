"""Who acts: a principal, the user an operation runs for, with what it may do.

Every operation of the books and the fund takes its actor as a :class:`Principal` and
checks it itself (``ledger.fund.reference.require_role`` and friends): the command line,
the web application and the scheduler only say who is acting, never what they may do.

A principal *is* its username wherever the books record who acted — an entry's actor,
a row's ``recorded_by``, the maker-checker comparison — so it is a ``str`` that also
carries the roles and the bank scope it was authenticated with. It is made by
``ledger.fund.reference.authenticate`` from the users table (the command line's
``--actor``, the web application's signed-in user), or is :data:`SYSTEM`, the scheduler's
own. A plain username given to an operation is authenticated there, against the users
table, before anything is checked.
"""

from __future__ import annotations

from collections.abc import Iterable


class Principal(str):
    """A username with the roles and the bank it acts with (``bank`` None: any bank)."""

    roles: frozenset[str]
    bank: str | None

    def __new__(cls, username: str, roles: Iterable[str] = (), bank: str | None = None):
        self = super().__new__(cls, username)
        object.__setattr__(self, "roles", frozenset(str(r) for r in roles))
        object.__setattr__(self, "bank", bank)
        return self

    def __setattr__(self, name, value):
        raise AttributeError(f"a principal is immutable: cannot set {name}")

    def __reduce__(self):
        return (Principal, (str(self), tuple(sorted(self.roles)), self.bank))

    @property
    def username(self) -> str:
        return str(self)

    def has(self, *roles: str) -> bool:
        """Whether the principal holds any of ``roles``."""
        return not self.roles.isdisjoint(str(r) for r in roles)

    def __repr__(self) -> str:
        scope = f", bank={self.bank!r}" if self.bank else ""
        return f"Principal({str(self)!r}, roles={sorted(self.roles)!r}{scope})"


#: The scheduler's principal. It holds only the ``system`` role, which the operations
#: grant to what a job may do (take in a bank's files, seal, propose); it approves
#: nothing, so maker-checker holds for whatever a job proposes.
SYSTEM = Principal("system", ["system"])
