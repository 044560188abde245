"""What a guaranteed loan is for: the kind of project and the trade it is in.

The interest subsidy of an era may depend on both (``subsidy.micro_profit_only``,
``subsidy.restricted_trades``): the 2002 and 2008 rules subsidise an individual's loan only
for a micro-profit project (微利项目) and never one in a restricted trade (国家限制行业).
Both are recorded with the guarantee approval, where eligibility is decided.

* Project kinds are fixed here: ``micro_profit`` and ``other``.
* Trades are data: the ``[[trade]]`` entries of ``policy_national.toml`` (a code and a
  Chinese name each), loaded once. Which of them are restricted is each era's rule, not
  the catalogue's. A new trade is a new entry, nothing else.
"""

from __future__ import annotations

import functools

from ledger.fund.categories import read_catalogue
from ledger.fund.errors import ReferenceDataError

#: The kinds of project a loan may be for.
PROJECT_KINDS = ("micro_profit", "other")
PROJECT_KIND_NAMES_ZH = {"micro_profit": "微利项目", "other": "非微利项目"}


@functools.cache
def catalogue() -> dict[str, str]:
    """Every trade's code and Chinese name, in the file's order."""
    return read_catalogue("trade", "trade", "行业")


def check_project(project_kind: str | None, trade: str | None) -> None:
    """Refuse a project kind or trade code that is not known; ``None`` (not recorded) is
    accepted for either."""
    if project_kind is not None and project_kind not in PROJECT_KINDS:
        shown = ", ".join(PROJECT_KINDS)
        raise ReferenceDataError(
            f"unknown project kind {project_kind!r}: use one of {shown}",
            zh=f"未知的项目类型 {project_kind!r}，应为以下之一：{shown}",
        )
    if trade is not None and trade not in catalogue():
        raise ReferenceDataError(
            f"unknown trade {trade!r}: use a trade code of the policy file's catalogue",
            zh=f"未知的行业代码 {trade!r}，请使用政策文件行业目录中的代码",
        )


def trade_name_zh(trade: str | None) -> str:
    """The Chinese name of a trade code ("未登记" when none was recorded)."""
    if trade is None:
        return "未登记"
    return catalogue().get(trade, trade)
