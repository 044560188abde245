"""Chinese 18-digit resident ID numbers (居民身份证号码, GB 11643-1999).

A borrower is identified by this number. It carries the region of first registration
(digits 1-6), the date of birth (7-14), a serial (15-16), the sex (17: odd = male) and an
ISO 7064 MOD 11-2 check digit (18, "X" standing for 10). Eligibility depends on sex and age
(the "4050" rule), so both are derived from the number rather than typed in separately.

First-generation cards (1984-2004) carry a 15-digit number: the region, the birth date
as YYMMDD (always 19YY), a 3-digit serial whose last digit gives the sex, and no check
digit. Such a number is accepted and read as its 18-digit form (``19`` inserted before
the year, the check digit computed), which is what every lookup matches on; what was
given is kept beside it (``ResidentId.given``).

Numbers arrive typed by clerks and in bank files: surrounding spaces, full-width digits and
a lower-case "x" are normal and are cleaned up by :func:`normalize_id_number` before any
check. Every refusal is an :class:`InvalidIdNumberError` naming the number and what is wrong,
in English and Chinese.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from enum import StrEnum

from ledger.clock import business_today
from ledger.fund.errors import InvalidIdNumberError

LENGTH = 18
#: The length of a first-generation number (no century, no check digit).
FIRST_GENERATION_LENGTH = 15
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
DIGITS = "0123456789"
MIN_BIRTH_YEAR = 1900
_ZEROS = ord("0") * sum(WEIGHTS)

#: First two digits of the region code: provinces, autonomous regions and municipalities
#: (GB/T 2260), 71 Taiwan, 81 Hong Kong and 82 Macao (residence permits for the last three;
#: 83 is the Taiwan residents' residence permit prefix).
PROVINCE_CODES = frozenset(
    [f"{n}" for n in range(11, 16)]
    + [f"{n}" for n in range(21, 24)]
    + [f"{n}" for n in range(31, 38)]
    + [f"{n}" for n in range(41, 47)]
    + [f"{n}" for n in range(50, 55)]
    + [f"{n}" for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)

# Surrounding characters that clerks and spreadsheets leave behind; str.strip() alone
# already covers ASCII whitespace, no-break space and the ideographic space U+3000.
_EXTRA_STRIP = "\ufeff\u200b"

# Full-width digits and Latin letters (U+FF10-FF19, U+FF21-FF3A, U+FF41-FF5A) to ASCII.
_FULL_WIDTH = str.maketrans(
    {chr(0xFF10 + i): chr(0x30 + i) for i in range(10)}
    | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
    | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
)


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


@dataclass(frozen=True)
class ResidentId:
    """A valid resident ID number and what it says about its holder."""

    #: The 18-digit number: the person's key.
    number: str
    region: str
    birth_date: dt.date
    sex: Sex
    #: The number as given (normalized): the 15-digit one of a first-generation card,
    #: else the same as ``number``.
    given: str = ""

    @property
    def first_generation(self) -> bool:
        return self.given != self.number


def normalize_id_number(raw: str) -> str:
    """The number to match on: surrounding whitespace stripped, full-width digits and
    letters turned into ASCII, a trailing ``x`` upper-cased, and a 15-digit
    first-generation number read as its 18-digit form. Does not validate."""
    number = cleaned_id_number(raw)
    if len(number) == FIRST_GENERATION_LENGTH and number.isascii() and number.isdigit():
        return eighteen_digit_form(number)
    return number


def cleaned_id_number(raw: str) -> str:
    """``raw`` cleaned as :func:`normalize_id_number` cleans it, but as given: a
    15-digit number stays 15 digits."""
    number = raw.strip().strip(_EXTRA_STRIP).strip().translate(_FULL_WIDTH)
    if number.endswith("x"):
        number = number[:-1] + "X"
    return number


def eighteen_digit_form(number15: str) -> str:
    """The 18-digit form of a first-generation number: ``19`` before its YYMMDD birth
    date and the check digit after (GB 11643-1999, appendix: the upgrade of 15-digit
    numbers)."""
    first17 = f"{number15[:6]}19{number15[6:]}"
    return first17 + check_digit(first17)


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character ("0"-"9" or "X") for 17 ASCII digits."""
    if len(first17) != LENGTH - 1 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"check_digit needs 17 digits, got {first17!r}")
    # The digits' code points weighted, less the weighted code point of "0" (48).
    total = sum(map(operator.mul, first17.encode("ascii"), WEIGHTS)) - _ZEROS
    return CHECK_CHARS[total % 11]


def parse_resident_id(raw: str, *, today: dt.date | None = None) -> ResidentId:
    """Normalize and validate ``raw``; return what the number says.

    Checks, in order: length, characters, province code, birth date (a real date, year
    1900 or later, not after ``today``, default the current date) and check digit.
    Raises :class:`InvalidIdNumberError` at the first failure.
    """
    number, birth_date = _checked(raw, today)
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    given = cleaned_id_number(raw)
    return ResidentId(number=number, region=number[:6], birth_date=birth_date, sex=sex, given=given)


def valid_id_number(raw: str, *, today: dt.date | None = None) -> str:
    """The normalized number, checked as :func:`parse_resident_id` checks it."""
    return _checked(raw, today)[0]


def _checked(raw: str, today: dt.date | None) -> tuple[str, dt.date]:
    number = normalize_id_number(raw) if isinstance(raw, str) else ""
    try:
        _check_length(number)
        _check_characters(number)
        _check_region(number)
        birth_date = _birth_date(number, today or business_today())
        _check_check_digit(number)
    except InvalidIdNumberError as exc:
        given = cleaned_id_number(raw) if isinstance(raw, str) else ""
        if given in ("", number):
            raise
        raise _invalid(
            f"first-generation ID number {given}, read as {number}: {exc}",
            f"第一代身份证号 {given}（按 18 位 {number} 校验）：{exc.zh}",
        ) from None
    return number, birth_date


def make_resident_id(region: str, birth_date: dt.date, serial: int, sex: Sex | str) -> str:
    """Build a valid number: ``serial`` (0-99) becomes digits 15-16, digit 17 is 1 for a
    man and 2 for a woman, digit 18 is the check digit. For demo data and tests."""
    sex = Sex(sex)
    if len(region) != 6 or any(c not in DIGITS for c in region):
        raise ValueError(f"region must be 6 digits, got {region!r}")
    if region[:2] not in PROVINCE_CODES:
        raise ValueError(f"region {region} does not start with a province code")
    if not 0 <= serial <= 99:
        raise ValueError(f"serial must be from 0 to 99, got {serial}")
    if birth_date.year < MIN_BIRTH_YEAR:
        raise ValueError(f"birth year must be {MIN_BIRTH_YEAR} or later, got {birth_date}")
    first17 = f"{region}{birth_date:%Y%m%d}{serial:02d}{1 if sex is Sex.MALE else 2}"
    return first17 + check_digit(first17)


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years of age on ``on``. A 29 February birthday is reached on 1 March in a
    common year."""
    if on < birth_date:
        raise ValueError(f"{on} is before the birth date {birth_date}")
    had_birthday = (on.month, on.day) >= (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (0 if had_birthday else 1)


def _invalid(message: str, zh: str) -> InvalidIdNumberError:
    return InvalidIdNumberError(message, zh=zh)


def _check_length(number: str) -> None:
    if not number:
        raise _invalid("ID number is empty", "身份证号为空")
    if len(number) != LENGTH:
        raise _invalid(
            f"ID number {number} has {len(number)} characters; it must have {LENGTH} "
            f"(or {FIRST_GENERATION_LENGTH} digits, a first-generation card)",
            f"身份证号 {number} 位数错误：应为 {LENGTH} 位（第一代身份证 "
            f"{FIRST_GENERATION_LENGTH} 位），实为 {len(number)} 位",
        )


def _check_characters(number: str) -> None:
    if number.isascii() and number[:-1].isdigit() and (number[-1].isdigit() or number[-1] == "X"):
        return  # the usual case, checked at C speed; the loop below names the culprit
    for position, char in enumerate(number[:-1], start=1):
        if char not in DIGITS:
            raise _invalid(
                f"ID number {number} has a non-digit character at position {position}: '{char}'",
                f"身份证号 {number} 第 {position} 位“{char}”不是数字",
            )
    last = number[-1]
    if last not in DIGITS and last != "X":
        raise _invalid(
            f"ID number {number} has an invalid last character '{last}': it must be a digit or X",
            f"身份证号 {number} 第 {LENGTH} 位“{last}”无效：应为数字或 X",
        )


def _check_region(number: str) -> None:
    region, province = number[:6], number[:2]
    if province not in PROVINCE_CODES:
        raise _invalid(
            f"ID number {number} has an invalid region code {region}: "
            f"{province} is not a province code",
            f"身份证号 {number} 地区码 {region} 无效：{province} 不是省级行政区划代码",
        )


def _birth_date(number: str, today: dt.date) -> dt.date:
    text = number[6:14]
    try:
        birth_date = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise _invalid(
            f"ID number {number} has an invalid birth date {text}: there is no such date",
            f"身份证号 {number} 出生日期 {text} 无效：日期不存在",
        ) from None
    if birth_date.year < MIN_BIRTH_YEAR:
        raise _invalid(
            f"ID number {number} has an invalid birth date {text}: "
            f"the year is before {MIN_BIRTH_YEAR}",
            f"身份证号 {number} 出生日期 {text} 无效：年份早于 {MIN_BIRTH_YEAR} 年",
        )
    if birth_date > today:
        raise _invalid(
            f"ID number {number} has an invalid birth date {text}: "
            f"it is after today, {today.isoformat()}",
            f"身份证号 {number} 出生日期 {text} 无效：晚于今天（{today.isoformat()}）",
        )
    return birth_date


def _check_check_digit(number: str) -> None:
    expected = check_digit(number[:-1])
    if number[-1] != expected:
        raise _invalid(
            f"ID number {number} has a wrong check digit: {number[-1]}, expected {expected}",
            f"身份证号 {number} 校验位错误：应为 {expected}，实为 {number[-1]}",
        )
