"""Eligibility: categories, the 4050 registration and its age, age range and category checks."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.fund.eligibility import (
    BORROWER_TYPE_NAMES_ZH,
    CATEGORY_NAMES_ZH,
    BorrowerType,
    Category,
    categories_on,
    category_of,
    check_eligible,
    is_4050,
    parse_categories,
)
from ledger.fund.errors import EligibilityError, FundError
from ledger.fund.identity import Sex

ON = dt.date(2024, 6, 15)
WOMAN_40_ON_ON = dt.date(1984, 6, 15)  # her 40th birthday is ON
MAN_50_ON_ON = dt.date(1974, 6, 15)  # his 50th birthday is ON


def refusal(call, *args, **kwargs) -> EligibilityError:
    with pytest.raises(EligibilityError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- enumerations --------------------------------------------------------------------------


def test_categories_and_names():
    assert [c.value for c in Category] == [
        "registered_unemployed",
        "reemployment_certificate",
        "person_4050",
        "veteran",
        "graduate",
        "disabled",
        "returning_migrant",
        "zero_employment_household",
        "poverty_alleviated",
        "both_spouses_laid_off",
        "landless_farmer",
        "woman_entrepreneur",
    ]
    expected = {
        Category.registered_unemployed: "登记失业人员",
        Category.reemployment_certificate: "持再就业优惠证人员",
        Category.person_4050: "4050人员",
        Category.veteran: "退役军人",
        Category.graduate: "高校毕业生",
        Category.disabled: "残疾人",
        Category.returning_migrant: "返乡创业农民工",
        Category.zero_employment_household: "零就业家庭",
        Category.poverty_alleviated: "建档立卡贫困人口",
        Category.both_spouses_laid_off: "夫妻双下岗人员",
        Category.landless_farmer: "失地无业农民",
        Category.woman_entrepreneur: "妇女创业者",
    }
    assert dict(CATEGORY_NAMES_ZH) == expected


def test_a_category_is_data_read_from_the_policy_file():
    from ledger.fund.categories import catalogue
    from ledger.fund.policy import CATEGORIES

    assert tuple(catalogue()) == CATEGORIES == tuple(c.value for c in Category)
    assert category_of("失地无业农民") is Category.landless_farmer
    assert category_of("Woman_Entrepreneur") is Category.woman_entrepreneur


def test_borrower_types_and_names():
    assert [b.value for b in BorrowerType] == ["individual", "partnership", "small_enterprise"]
    expected = {
        BorrowerType.individual: "个人",
        BorrowerType.partnership: "合伙创业",
        BorrowerType.small_enterprise: "小微企业",
    }
    assert dict(BORROWER_TYPE_NAMES_ZH) == expected


# --- 4050 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "birth", "expected"),
    [
        (Sex.FEMALE, WOMAN_40_ON_ON, True),  # on her 40th birthday
        (Sex.FEMALE, dt.date(1984, 6, 16), False),  # the day before her 40th birthday
        (Sex.FEMALE, dt.date(1960, 1, 1), True),
        (Sex.FEMALE, dt.date(2000, 1, 1), False),
        (Sex.MALE, WOMAN_40_ON_ON, False),  # a man at 40 is not
        (Sex.MALE, dt.date(1974, 6, 16), False),  # 49, his 50th birthday tomorrow
        (Sex.MALE, MAN_50_ON_ON, True),  # 50 today
        (Sex.MALE, dt.date(1960, 1, 1), True),
        ("F", WOMAN_40_ON_ON, True),
        ("M", MAN_50_ON_ON, True),
    ],
)
def test_is_4050(sex, birth, expected):
    assert is_4050(sex, birth, ON) is expected


def test_is_4050_leap_day_birthday():
    born = dt.date(1984, 2, 29)
    assert is_4050(Sex.FEMALE, born, dt.date(2024, 2, 28)) is False
    assert is_4050(Sex.FEMALE, born, dt.date(2024, 2, 29)) is True
    born = dt.date(1976, 2, 29)  # a man whose 50th birthday falls in a common year
    assert is_4050(Sex.MALE, born, dt.date(2026, 2, 28)) is False
    assert is_4050(Sex.MALE, born, dt.date(2026, 3, 1)) is True


# --- categories_on -------------------------------------------------------------------------


def test_a_4050_registration_holds_only_at_the_qualifying_age():
    registered = ["veteran", "4050人员"]
    assert categories_on(registered, Sex.MALE, MAN_50_ON_ON, ON) == {
        Category.veteran,
        Category.person_4050,
    }
    # The day before his 50th birthday it does not hold yet.
    assert categories_on(registered, Sex.MALE, dt.date(1974, 6, 16), ON) == {Category.veteran}
    assert categories_on(["person_4050"], Sex.FEMALE, WOMAN_40_ON_ON, ON) == {Category.person_4050}
    # Never inferred from age alone.
    assert categories_on([], Sex.FEMALE, WOMAN_40_ON_ON, ON) == frozenset()
    assert categories_on(["veteran"], Sex.MALE, MAN_50_ON_ON, ON) == {Category.veteran}


def test_categories_on_without_4050():
    result = categories_on(
        [Category.graduate, "disabled", "高校毕业生"], Sex.FEMALE, dt.date(1984, 6, 16), ON
    )
    assert result == frozenset({Category.graduate, Category.disabled})
    assert isinstance(result, frozenset)


def test_categories_on_refuses_an_unknown_category():
    error = refusal(categories_on, ["veteran", "astronaut"], Sex.MALE, MAN_50_ON_ON, ON)
    assert str(error) == "Unknown borrower category 'astronaut'"
    assert error.zh == "未知的人员类别“astronaut”"


# --- check_eligible ------------------------------------------------------------------------


def check(categories, birth=dt.date(1990, 1, 1), eligible=("veteran", "graduate"), **kwargs):
    params = {"min_age": 18, "max_age": 60, "on": ON} | kwargs
    check_eligible(categories=frozenset(categories), eligible=eligible, birth_date=birth, **params)


def test_eligible_passes():
    check({Category.veteran})
    check({Category.disabled, Category.graduate})
    check({Category.person_4050}, eligible=[Category.person_4050])


@pytest.mark.parametrize(
    "birth",
    [
        dt.date(2006, 6, 15),  # 18 today
        dt.date(1963, 6, 16),  # 60, 61 tomorrow
        dt.date(1964, 6, 15),  # 60 today
    ],
)
def test_age_range_boundaries_pass(birth):
    check({Category.veteran}, birth=birth)


def test_too_young():
    error = refusal(check, {Category.veteran}, birth=dt.date(2006, 6, 16))  # 17, 18 tomorrow
    assert str(error) == (
        "The borrower is 17 on 2024-06-15; the rules in force on that date allow ages 18 to 60"
    )
    assert error.zh == "借款人在 2024-06-15 为 17 周岁，不在当日适用政策规定的 18–60 周岁范围内"
    assert isinstance(error, FundError)
    assert error.code == "not-eligible"


def test_too_old():
    error = refusal(check, {Category.veteran}, birth=dt.date(1963, 6, 15))  # 61 today
    assert str(error) == (
        "The borrower is 61 on 2024-06-15; the rules in force on that date allow ages 18 to 60"
    )
    assert error.zh == "借款人在 2024-06-15 为 61 周岁，不在当日适用政策规定的 18–60 周岁范围内"


def test_leap_day_borrower_turns_18_on_1_march():
    born = dt.date(2004, 2, 29)
    with pytest.raises(EligibilityError, match="The borrower is 17 on 2022-02-28"):
        check({Category.veteran}, birth=born, on=dt.date(2022, 2, 28))
    check({Category.veteran}, birth=born, on=dt.date(2022, 3, 1))


def test_age_is_checked_before_categories():
    error = refusal(check, {Category.disabled}, birth=dt.date(2010, 1, 1))
    assert str(error).startswith("The borrower is 14 on 2024-06-15")


def test_no_eligible_category():
    error = refusal(check, {Category.returning_migrant, Category.disabled})
    assert str(error) == (
        "The borrower's categories (disabled, returning_migrant): "
        "none is eligible under the rules in force on 2024-06-15"
    )
    assert (
        error.zh
        == "借款人的人员类别（残疾人、返乡创业农民工）均不在 2024-06-15 适用政策的扶持范围内"
    )


def test_no_category_at_all():
    error = refusal(check, set())
    assert str(error) == (
        "The borrower has no category; none is eligible under the rules in force on 2024-06-15"
    )
    assert error.zh == "借款人没有任何人员类别，不符合 2024-06-15 适用政策的扶持范围"


def test_policy_with_an_unknown_category_is_a_programming_error():
    with pytest.raises(ValueError, match="policy names an unknown category"):
        check({Category.veteran}, eligible=["veteran", "astronaut"])


def test_inverted_age_range_is_a_programming_error():
    with pytest.raises(ValueError, match="min_age 60 is above max_age 18"):
        check({Category.veteran}, min_age=60, max_age=18)


# --- parse_categories ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", set()),
        ("  ", set()),
        ("veteran", {Category.veteran}),
        ("veteran, graduate", {Category.veteran, Category.graduate}),
        ("Veteran,GRADUATE", {Category.veteran, Category.graduate}),
        ("退役军人、高校毕业生", {Category.veteran, Category.graduate}),
        ("登记失业人员；残疾人", {Category.registered_unemployed, Category.disabled}),
        (
            "登记失业人员;disabled，零就业家庭",
            {
                Category.registered_unemployed,
                Category.disabled,
                Category.zero_employment_household,
            },
        ),
        ("veteran,,veteran, ", {Category.veteran}),
        ("\u3000建档立卡贫困人口\u3000", {Category.poverty_alleviated}),
        ("4050人员", {Category.person_4050}),
    ],
)
def test_parse_categories(text, expected):
    result = parse_categories(text)
    assert result == expected
    assert isinstance(result, frozenset)


def test_every_name_parses():
    for category, zh in CATEGORY_NAMES_ZH.items():
        assert parse_categories(zh) == {category}
        assert parse_categories(category.value) == {category}
        assert category_of(category) is category


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("veteran, astronaut", "astronaut"),
        ("退役军人、宇航员", "宇航员"),
        ("veteran graduate", "veteran graduate"),  # a space is not a separator
    ],
)
def test_parse_categories_unknown(text, unknown):
    error = refusal(parse_categories, text)
    assert str(error) == f"Unknown borrower category '{unknown}'"
    assert error.zh == f"未知的人员类别“{unknown}”"
