"""A file's cells as the fund's values: amounts in fen, dates, ID numbers, rates, and the
bureau's lists' borrower types, categories and counter-guarantees.

Every parser takes the cell as read (a string from a CSV; a string, int, float, date or
datetime from an XLSX sheet) and returns the value, or raises :class:`CellError` with an
English and a Chinese message for the error report. Text is NFKC-normalised first, so
full-width digits, letters and punctuation (``１２３４．５０``, ``￥``, ``，``) read as their
ASCII forms. No value ever passes through ``float``: an XLSX number arrives as a float
only because openpyxl reads it so, and is turned back into the shortest decimal that
reads as the same number, which is the text Excel wrote.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from decimal import Decimal

from ledger.fund.eligibility import BORROWER_TYPE_NAMES_ZH, BorrowerType, parse_categories
from ledger.fund.errors import EligibilityError, InvalidIdNumberError
from ledger.fund.identity import cleaned_id_number, valid_id_number
from ledger.fund.schedule import METHOD_NAMES_ZH, Method
from ledger.money import MAX_POSTING_FEN


class CellError(ValueError):
    """A cell whose value cannot be read: ``message`` in English, ``zh`` in Chinese."""

    code = "invalid-value"

    def __init__(self, message: str, zh: str):
        super().__init__(message)
        self.message, self.zh = message, zh


# Zero-width and BOM characters that spreadsheets leave in cells; NFKC keeps them.
_INVISIBLE = str.maketrans("", "", "\ufeff\u200b\u200c\u200d\u2060")


def as_text(value) -> str:
    """The cell as a string the way a clerk sees it (dates as ISO, numbers undecorated)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if _midnight(value) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return _float_text(value)
    return str(value)


def clean(value) -> str:
    """NFKC-normalised text with invisible characters and surrounding space removed."""
    if value.__class__ is str and value.isascii():
        return value.strip()  # NFKC leaves ASCII as it is
    return unicodedata.normalize("NFKC", as_text(value)).translate(_INVISIBLE).strip()


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not clean(value))


# ------------------------------------------------------------------------ amounts

_PLAIN = re.compile(r"\d+(\.\d+)?", re.ASCII)
#: Plain yuan that cannot reach MAX_POSTING_FEN (10 trillion yuan): the fast path.
_SIMPLE = re.compile(r"\d{1,12}(\.\d{1,2})?", re.ASCII)
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?", re.ASCII)


def amount(value) -> int:
    """Yuan with at most two decimals, as fen: ``1234.5``, ``1,234.50``, ``¥1,234.50``,
    ``１２３４．５０``. Refuses negatives, scientific notation, more than two decimals."""
    if isinstance(value, bool | dt.date):
        raise _not_amount(as_text(value))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = _float_text(value)
    else:
        text = clean(value)
        if _SIMPLE.fullmatch(text):  # the common case: 1234.50
            whole, _, decimals = text.partition(".")
            return int(whole) * 100 + int(decimals.ljust(2, "0")) if decimals else int(whole) * 100
    given = text
    if text.startswith(("¥", "￥")):
        text = text[1:].strip()
    if text.startswith("-") or text.startswith("(") or text.endswith("-"):
        raise CellError(
            f"amount {given} is negative; amounts must be 0 or more",
            f"金额 {given} 为负数，金额不能小于 0",
        )
    if "e" in text.lower():
        raise CellError(
            f"amount {given} is in scientific notation; write it out in full, e.g. 1234.50",
            f"金额 {given} 为科学计数法，请写成完整数字，如 1234.50",
        )
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    elif not _PLAIN.fullmatch(text):
        raise _not_amount(given)
    whole, _, decimals = text.partition(".")
    if len(decimals) > 2:
        raise CellError(
            f"amount {given} has {len(decimals)} decimals; at most 2 (fen) are allowed",
            f"金额 {given} 有 {len(decimals)} 位小数，最多 2 位（分）",
        )
    fen = int(whole) * 100 + int(decimals.ljust(2, "0"))
    if fen > MAX_POSTING_FEN:
        raise CellError(f"amount {given} is too large", f"金额 {given} 过大")
    return fen


def _not_amount(given: str) -> CellError:
    return CellError(
        f"{given!r} is not an amount of yuan; write e.g. 1234.50 or 1,234.50",
        f"“{given}”不是金额，请填写如 1234.50 或 1,234.50",
    )


def _float_text(value: float) -> str:
    # repr gives the shortest decimal that reads back as the same double: the text the
    # spreadsheet stored (Excel writes at most 15 significant digits).
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        # Turn 1e-05 and 1.5e+16 into plain digits: still exact, never via float math.
        return format(Decimal(text), "f")
    return text


# ------------------------------------------------------------------------ dates

_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})", re.ASCII),
    re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日", re.ASCII),
)
_MIDNIGHT = re.compile(r"(.+?)(?:[ T]00:00(?::00)?)?", re.DOTALL)


def date(value) -> dt.date:
    """``2024-03-05``, ``2024/3/5``, ``20240305``, ``2024年3月5日`` or a date cell."""
    if isinstance(value, dt.datetime):
        if not _midnight(value):
            raise CellError(
                f"date {as_text(value)} has a time of day; give the date only",
                f"日期 {as_text(value)} 含有时间，请只填日期",
            )
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    given = clean(value)
    text = _MIDNIGHT.fullmatch(given).group(1) if given else given
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                raise CellError(
                    f"{given} is not a date that exists",
                    f"日期 {given} 不存在",
                ) from None
    raise CellError(
        f"{given!r} is not a date; write e.g. 2024-03-05, 2024/3/5, 20240305 or 2024年3月5日",
        f"“{given}”不是日期，请填写如 2024-03-05、2024/3/5、20240305 或 2024年3月5日",
    )


def _midnight(value: dt.datetime) -> bool:
    return value.time() == dt.time(0)


# ------------------------------------------------------------------------ the rest


def id_number(value, today: dt.date) -> str:
    """An 18-character resident ID number with a valid check digit (GB 11643)."""
    if isinstance(value, float):
        raise CellError(
            f"ID number {as_text(value)} was stored as a number and lost digits; "
            "format the column as text",
            f"身份证号 {as_text(value)} 以数字格式保存，已丢失位数，请将该列设为文本格式",
        )
    try:
        return valid_id_number(clean(value), today=today)
    except InvalidIdNumberError as error:
        raise CellError(str(error), error.zh or str(error)) from None


_RATE = re.compile(r"(\d+)(?:\.(\d{1,4}))?%?", re.ASCII)


def rate_ppm(value) -> int:
    """An annual rate in percent (``3.85`` or ``3.85%``) as parts per million (38,500)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1:
        raise CellError(
            f"annual rate {_float_text(value)} looks like a cell formatted as a percentage; "
            "write the rate as a number of percent, e.g. 3.85",
            f"年利率 {_float_text(value)} 疑为百分比格式的单元格，请填写百分数的数值，如 3.85",
        )
    text = _float_text(value) if isinstance(value, float) else clean(value)
    match = _RATE.fullmatch(text)
    if not match:
        raise CellError(
            f"{text!r} is not an annual rate in percent; write e.g. 3.85 (at most 4 decimals)",
            f"“{text}”不是年利率（百分数），请填写如 3.85（最多 4 位小数）",
        )
    whole, decimals = match.group(1), match.group(2) or ""
    ppm = int(whole) * 10_000 + int(decimals.ljust(4, "0"))
    if ppm > 1_000_000:
        shown = text.removesuffix("%")
        raise CellError(f"annual rate {shown}% is over 100%", f"年利率 {shown}% 超过 100%")
    return ppm


_METHODS = {name: method for method, name in METHOD_NAMES_ZH.items()} | {m.value: m for m in Method}


def method(value) -> Method:
    """A repayment method by its Chinese name (按月等额本息) or English key (annuity)."""
    text = clean(value)
    found = _METHODS.get(text) or _METHODS.get(text.lower())
    if found is None:
        names = "、".join(METHOD_NAMES_ZH[m] for m in Method)
        raise CellError(
            f"repayment method {text!r} is not one of "
            + ", ".join(f"{METHOD_NAMES_ZH[m]} ({m.value})" for m in Method),
            f"还款方式“{text}”无效，应为：{names}",
        )
    return found


def direction(value) -> str:
    """``D`` (借, money out of the special account) or ``C`` (贷, money in)."""
    text = clean(value)
    found = {"借": "D", "d": "D", "debit": "D", "贷": "C", "c": "C", "credit": "C"}.get(
        text.lower()
    )
    if found is None:
        raise CellError(
            f"direction {text!r} is not 借/D (money out) or 贷/C (money in)",
            f"借贷方向“{text}”无效，应为 借/D（支出）或 贷/C（收入）",
        )
    return found


def count(value) -> int:
    """A whole number of 0 or more (days overdue)."""
    text = _float_text(value) if isinstance(value, float) else clean(value)
    if not text.isascii() or not text.isdigit() or len(text) > 9:  # isdigit: ASCII only here
        raise CellError(
            f"{text!r} is not a whole number of 0 or more",
            f"“{text}”不是大于或等于 0 的整数",
        )
    return int(text)


def reference(value, *, limit: int = 60) -> str:
    """A bank reference or contract number: text of at most ``limit`` characters."""
    text = clean(value)
    if len(text) > limit:
        raise CellError(
            f"{text[:20]}… has {len(text)} characters; at most {limit} are allowed",
            f"“{text[:20]}…”共 {len(text)} 个字符，最多 {limit} 个",
        )
    if not text.isprintable():
        raise CellError(f"{text!r} contains control characters", f"“{text}”含有不可见的控制字符")
    return text


# ------------------------------------------------------------------------ the bureau's lists


def id_number_as_given(value, today: dt.date) -> str:
    """A resident ID number checked as :func:`id_number` checks it (a first-generation
    15-digit number by its 18-digit form), returned as given: the register keeps a
    first-generation number beside the 18-digit form it matches on."""
    id_number(value, today)
    return cleaned_id_number(clean(value))


_BORROWER_TYPES = {t.value: t for t in BorrowerType} | {
    zh: t for t, zh in BORROWER_TYPE_NAMES_ZH.items()
}


def borrower_type(value) -> str:
    """个人 individual, 合伙创业 partnership or 小微企业 small_enterprise."""
    text = clean(value)
    found = _BORROWER_TYPES.get(text) or _BORROWER_TYPES.get(text.lower())
    if found is None:
        raise CellError(
            f"borrower type {text!r} is not one of "
            + ", ".join(f"{zh} ({t.value})" for t, zh in BORROWER_TYPE_NAMES_ZH.items()),
            f"借款人类型“{text}”无效，应为：" + "、".join(BORROWER_TYPE_NAMES_ZH.values()),
        )
    return found.value


def categories(value) -> tuple[str, ...]:
    """Borrower categories separated by 、, commas or semicolons, each by its Chinese name
    (登记失业人员) or English code (registered_unemployed)."""
    try:
        found = parse_categories(clean(value))
    except EligibilityError as error:
        raise CellError(str(error), error.zh or str(error)) from None
    return tuple(sorted(c.value for c in found))


@functools.cache
def _counter_guarantee_names() -> tuple[dict[str, str], dict[str, str]]:
    # The fund's guarantees module loads the database layer: only a file that is read
    # needs it, never ``fundledger import --help``.
    from ledger.fund.guarantees import EMPLOYER_TYPE_NAMES_ZH, KIND_NAMES_ZH

    return KIND_NAMES_ZH, EMPLOYER_TYPE_NAMES_ZH


def _one_of(value, names: dict[str, str], what: str, what_zh: str) -> str:
    text = clean(value)
    by_name = {key: key for key in names} | {zh: key for key, zh in names.items()}
    found = by_name.get(text) or by_name.get(text.lower())
    if found is None:
        raise CellError(
            f"{what} {text!r} is not one of "
            + ", ".join(f"{zh} ({key})" for key, zh in names.items()),
            f"{what_zh}“{text}”无效，应为：" + "、".join(names.values()),
        )
    return found


def counter_guarantee_kind(value) -> str:
    """保证人 guarantor, 抵押 mortgage, 质押 pledge, 联保小组 joint_group or 信用社区免担保
    credit_community."""
    return _one_of(value, _counter_guarantee_names()[0], "counter-guarantee", "反担保方式")


def employer_type(value) -> str:
    """A guarantor's employer: 公务员 civil_servant, 事业单位 public_institution, 国有企业
    state_enterprise, 企业 enterprise or 其他 other."""
    return _one_of(value, _counter_guarantee_names()[1], "employer type", "保证人单位性质")
