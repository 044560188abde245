"""How a person's data is shown masked, who may see it whole, and what stands in for it
once erased.

Names and resident ID numbers live only in the borrower, certificate, counter-guarantee
and correction records, never in a journal entry (an entry names a loan and a borrower by
their ids). Shown to someone who does not need them whole — an auditor, a bank, a report —
they are masked:

- an ID number keeps its first 4 and last 4 characters (``3201**********1234``): the
  province and city, and the serial, sex and check digit; the county and the birth date
  are starred;
- a name keeps its first character, the surname's first, and stars the rest, one star a
  character (张三 → 张*, 欧阳小明 → 欧***): the convention of Chinese public notices, and
  a compound surname is never told from a given name;
- a certificate number keeps its first 4 and last 4 characters, like an ID number.

Clerks, approvers and admins may see them whole (:func:`check_whole_view`); auditors and
banks see them masked. A read value's ``masked()`` gives the masked copy.

Once erased (``ledger.fund.erasure``) a name is :data:`ERASED_NAME` and an ID number
:func:`erased_id_number`; neither is masked further, and no resident ID number can equal
the stand-in, so duplicate checks of real numbers keep working.
"""

from __future__ import annotations

from ledger.fund.reference import Role, require_role
from ledger.principal import Principal

#: What an erased name (and any erased free text) reads as.
ERASED_NAME = "（已删除）"
#: The start of an erased ID number or certificate number; no resident ID starts so.
ERASED_PREFIX = "ERASED"
#: Who may see names and ID numbers whole.
WHOLE_VIEW_ROLES = (Role.CLERK, Role.APPROVER, Role.ADMIN)
_KEEP = 4


def erased_id_number(record_id: int) -> str:
    """The 18-character stand-in for an erased number: ``ERASED`` and the record's id,
    zero-padded (``ERASED000000000034``); unique because the id is."""
    return f"{ERASED_PREFIX}{record_id:012d}"


def is_erased(value: str | None) -> bool:
    """Whether ``value`` is an erased name or number's stand-in."""
    return value is not None and (value == ERASED_NAME or value.startswith(ERASED_PREFIX))


def mask_id_number(number: str | None) -> str | None:
    """``"320102198001011234"`` → ``"3201**********1234"``: the first 4 and last 4
    characters kept, one star for each other (a 15-digit number keeps 15 characters).
    None stays None; an erased number's stand-in is shown as it is."""
    return _mask_middle(number)


def mask_number(number: str | None) -> str | None:
    """A certificate number masked as an ID number is: first 4 and last 4 characters kept
    (all starred when it has 8 or fewer)."""
    return _mask_middle(number)


def mask_name(name: str | None) -> str | None:
    """``"张三"`` → ``"张*"``, ``"欧阳小明"`` → ``"欧***"``: the first character kept, one
    star for each other. A one-character name is ``"*"``; "" and None stay as they are, and
    so does an erased name."""
    if not name or is_erased(name):
        return name
    if len(name) == 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def _mask_middle(text: str | None) -> str | None:
    if text is None or is_erased(text):
        return text
    if len(text) <= 2 * _KEEP:
        return "*" * len(text)
    return text[:_KEEP] + "*" * (len(text) - 2 * _KEEP) + text[-_KEEP:]


def check_whole_view(session, actor: Principal | str) -> Principal:
    """The principal, if it may see names and ID numbers whole (a clerk, an approver or
    an admin); PermissionDeniedError for anyone else."""
    return require_role(session, actor, *WHOLE_VIEW_ROLES)
