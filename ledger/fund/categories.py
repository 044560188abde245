"""The borrower categories (人员类别) the programme has supported: data, not code.

They are listed in the packaged policy file (``[[category]]`` in
``policy_national.toml``: a code and a Chinese name each) and loaded once; which of them
qualify in an era is that era's ``eligible_categories``. Two have a meaning the code
relies on: ``person_4050`` (a registration checked against age and sex on the
application date) and ``reemployment_certificate`` (which a valid certificate record
also gives). A new category is a new ``[[category]]`` entry, nothing else.
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources

from ledger.fund.errors import PolicyError

_FILE = "policy_national.toml"
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
#: Categories the code gives a meaning to; the file must list them.
REQUIRED = ("person_4050", "reemployment_certificate")


@functools.cache
def _policy_file() -> dict:
    """The packaged national policy file, parsed once."""
    text = resources.files("ledger.fund").joinpath(_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def read_catalogue(section: str, what: str, what_zh: str) -> dict[str, str]:
    """The ``[[section]]`` entries of the policy file as {code: Chinese name}, in the
    file's order; an entry without a valid code and a name, or listed twice, is refused."""
    found: dict[str, str] = {}
    for n, row in enumerate(_policy_file().get(section, []), 1):
        code, name = row.get("code"), row.get("name_zh")
        if not isinstance(code, str) or not _CODE.match(code) or not isinstance(name, str):
            raise PolicyError(
                f"{_FILE}: {what} #{n} needs a code (2-40 lower-case letters, digits, _) "
                f"and a name_zh, not {row!r}",
                zh=f"{_FILE}：第 {n} 个{what_zh}须有代码（code）和中文名称（name_zh）",
            )
        if code in found:
            raise PolicyError(
                f"{_FILE}: {what} {code} is listed twice", zh=f"{_FILE}：{what_zh} {code} 重复"
            )
        found[code] = name.strip()
    return found


@functools.cache
def catalogue() -> dict[str, str]:
    """Every category's code and Chinese name, in the file's order."""
    found = read_catalogue("category", "category", "人员类别")
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise PolicyError(
            f"{_FILE}: the categories {', '.join(missing)} must be listed",
            zh=f"{_FILE}：缺少人员类别 {'、'.join(missing)}",
        )
    return found
