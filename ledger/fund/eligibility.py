"""Who may get a guaranteed loan: borrower categories, borrower types and the checks on them.

Guaranteed loans are for people who find it hard to get work: registered unemployed,
holders of a re-employment certificate, "4050" persons, veterans, graduates and so on. A
borrower declares categories. "4050" is a registration the labour office makes, declared
like the others, and counts only while it holds: on the application date a woman must be
40 or more, a man 50 or more, by the sex and birth date of the resident ID number; it is
never inferred from age alone. Which categories qualify and which ages are allowed are
policy parameters that change by date: the policy module supplies them, this module only
applies them. Refusals are :class:`EligibilityError` with an English and a Chinese
message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from enum import StrEnum

from ledger.fund.categories import catalogue
from ledger.fund.errors import EligibilityError
from ledger.fund.identity import Sex, age_on

FOUR_050_AGE = {Sex.FEMALE: 40, Sex.MALE: 50}


#: Borrower categories (人员类别): built from the policy file's catalogue
#: (``ledger.fund.categories``), so a category is data; ``Category.person_4050`` and the
#: other members read as they did when the list was written here.
Category = StrEnum("Category", {code: code for code in catalogue()})

CATEGORY_NAMES_ZH: dict[Category, str] = {Category(c): zh for c, zh in catalogue().items()}


class BorrowerType(StrEnum):
    """Who signs the loan contract."""

    individual = "individual"
    partnership = "partnership"
    small_enterprise = "small_enterprise"


BORROWER_TYPE_NAMES_ZH: dict[BorrowerType, str] = {
    BorrowerType.individual: "个人",
    BorrowerType.partnership: "合伙创业",
    BorrowerType.small_enterprise: "小微企业",
}

_BY_NAME: dict[str, Category] = {c.value: c for c in Category} | {
    zh: c for c, zh in CATEGORY_NAMES_ZH.items()
}

# Separators clerks use in a list of categories: commas (ASCII and full-width), the
# enumeration comma 、 and semicolons (ASCII and full-width).
_SEPARATORS = re.compile("[,，、;；]")


def is_4050(sex: Sex | str, birth_date: dt.date, on: dt.date) -> bool:
    """True for a woman aged 40 or more, or a man aged 50 or more, on ``on``."""
    return age_on(birth_date, on) >= FOUR_050_AGE[Sex(sex)]


def categories_on(
    declared: Iterable[Category | str], sex: Sex | str, birth_date: dt.date, on: dt.date
) -> frozenset[Category]:
    """The declared categories that hold on ``on``: a registered ``person_4050`` only when
    the borrower's age and sex make one on that date."""
    categories = {category_of(item) for item in declared}
    if Category.person_4050 in categories and not is_4050(sex, birth_date, on):
        categories.discard(Category.person_4050)
    return frozenset(categories)


def check_4050_lapse(
    declared: Iterable[Category | str], sex: Sex | str, birth_date: dt.date, on: dt.date
) -> None:
    """Refuse, saying why, a borrower registered as a 4050 person who is not one on
    ``on`` (a woman under 40, a man under 50) — for when that registration was their claim."""
    categories = {category_of(item) for item in declared}
    if Category.person_4050 not in categories or is_4050(sex, birth_date, on):
        return
    age, woman = age_on(birth_date, on), Sex(sex) is Sex.FEMALE
    raise EligibilityError(
        f"The borrower is registered as a 4050 person but is a {'woman' if woman else 'man'} "
        f"of {age} on {on.isoformat()}; 4050 means women aged 40 or more and men aged 50 or "
        "more on the application date",
        zh=f"借款人登记为“4050人员”，但 {on.isoformat()} 为 {age} 周岁"
        f"{'女性' if woman else '男性'}；“4050人员”指申请之日女性年满 40 周岁、男性年满 50 周岁",
    )


def check_eligible(
    *,
    categories: frozenset[Category],
    eligible: Iterable[str],
    birth_date: dt.date,
    on: dt.date,
    min_age: int,
    max_age: int,
) -> None:
    """Refuse a borrower whose age on ``on`` is outside [min_age, max_age] or none of whose
    categories is among ``eligible`` (the rules in force on ``on``)."""
    if min_age > max_age:
        raise ValueError(f"min_age {min_age} is above max_age {max_age}")
    _check_age(age_on(birth_date, on), on, min_age, max_age)
    _check_categories(frozenset(categories), _policy_categories(eligible), on)


def parse_categories(text: str) -> frozenset[Category]:
    """Categories from a list separated by commas, 、 or semicolons; each item an English
    value (any case) or the Chinese name. An empty text is no category."""
    items = (item.strip() for item in _SEPARATORS.split(text))
    return frozenset(category_of(item) for item in items if item)


def category_of(item: Category | str) -> Category:
    """The category named by ``item``: a Category, an English value or a Chinese name."""
    if isinstance(item, Category):
        return item
    name = item.strip()
    category = _BY_NAME.get(name) or _BY_NAME.get(name.lower())
    if category is None:
        raise EligibilityError(
            f"Unknown borrower category '{name}'",
            zh=f"未知的人员类别“{name}”",
        )
    return category


def _policy_categories(eligible: Iterable[str]) -> frozenset[Category]:
    try:
        return frozenset(Category(value) for value in eligible)
    except ValueError as exc:
        raise ValueError(f"policy names an unknown category: {exc}") from None


def _check_age(age: int, on: dt.date, min_age: int, max_age: int) -> None:
    if not min_age <= age <= max_age:
        raise EligibilityError(
            f"The borrower is {age} on {on.isoformat()}; the rules in force on that date "
            f"allow ages {min_age} to {max_age}",
            zh=f"借款人在 {on.isoformat()} 为 {age} 周岁，"
            f"不在当日适用政策规定的 {min_age}–{max_age} 周岁范围内",
        )


def _check_categories(
    categories: frozenset[Category], eligible: frozenset[Category], on: dt.date
) -> None:
    if categories & eligible:
        return
    day = on.isoformat()
    if not categories:
        raise EligibilityError(
            f"The borrower has no category; none is eligible under the rules in force on {day}",
            zh=f"借款人没有任何人员类别，不符合 {day} 适用政策的扶持范围",
        )
    names = ", ".join(c.value for c in Category if c in categories)
    names_zh = "、".join(CATEGORY_NAMES_ZH[c] for c in Category if c in categories)
    raise EligibilityError(
        f"The borrower's categories ({names}): none is eligible under the rules in force on {day}",
        zh=f"借款人的人员类别（{names_zh}）均不在 {day} 适用政策的扶持范围内",
    )
