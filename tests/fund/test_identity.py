"""Resident ID numbers: normalisation, check digit, what a number says, every refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.fund.errors import FundError, InvalidIdNumberError
from ledger.fund.identity import (
    PROVINCE_CODES,
    ResidentId,
    Sex,
    age_on,
    check_digit,
    make_resident_id,
    normalize_id_number,
    parse_resident_id,
    valid_id_number,
)

TODAY = dt.date(2024, 6, 15)


def refusal(raw: str, today: dt.date = TODAY) -> InvalidIdNumberError:
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_resident_id(raw, today=today)
    return caught.value


# --- check digit ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),  # the GB 11643 example, born 1949
        ("44052418800101001", "4"),  # the other GB 11643 example, born 1880
        ("32010219840229072", "5"),
        ("32010219750601001", "7"),
        ("33010619900203051", "2"),
        ("11010520000229122", "7"),
    ],
)
def test_check_digit(first17, expected):
    assert check_digit(first17) == expected


@pytest.mark.parametrize("bad", ["", "1101051949123100", "110105194912310021", "1101051949123100X"])
def test_check_digit_needs_17_digits(bad):
    with pytest.raises(ValueError, match="check_digit needs 17 digits"):
        check_digit(bad)


def test_every_check_character_occurs():
    # Serial and sex digits vary the sum enough to reach all eleven remainders.
    seen = {check_digit(f"1101051990010{n:04d}") for n in range(200)}
    assert seen == set("0123456789X")


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("  11010519491231002x\t\n", "11010519491231002X"),
        ("\u300011010519491231002X\u3000", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),
        ("\ufeff110105194912310021 ", "110105194912310021"),
        ("\xa0110105194912310021", "110105194912310021"),
        ("x1101", "x1101"),  # only a trailing x is upper-cased
        ("1101 0519", "1101 0519"),  # inner spaces stay: it does not validate
        ("", ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize_id_number(raw) == expected


# --- valid numbers -------------------------------------------------------------------------


def test_parse_the_standard_example():
    assert parse_resident_id("11010519491231002X", today=TODAY) == ResidentId(
        number="11010519491231002X",
        region="110105",
        birth_date=dt.date(1949, 12, 31),
        sex=Sex.FEMALE,
        given="11010519491231002X",
    )


def test_parse_full_width_lower_case_with_spaces():
    parsed = parse_resident_id("\u3000１１０１０５１９４９１２３１００２ｘ ", today=TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.sex is Sex.FEMALE


def test_parse_male_and_leap_day():
    parsed = parse_resident_id("320102197506010017", today=TODAY)
    assert (parsed.region, parsed.birth_date, parsed.sex) == (
        "320102",
        dt.date(1975, 6, 1),
        Sex.MALE,
    )
    leap = parse_resident_id("320102198402290725", today=TODAY)
    assert (leap.birth_date, leap.sex) == (dt.date(1984, 2, 29), Sex.FEMALE)


def test_born_today_is_valid_and_today_defaults_to_the_current_date():
    number = make_resident_id("330106", TODAY, 5, Sex.MALE)
    assert parse_resident_id(number, today=TODAY).birth_date == TODAY
    assert parse_resident_id("11010519491231002X").birth_date == dt.date(1949, 12, 31)


@pytest.mark.parametrize("region", ["710100", "810000", "820000", "830000", "650102", "110000"])
def test_border_province_codes_are_valid(region):
    number = make_resident_id(region, dt.date(1990, 1, 1), 1, Sex.FEMALE)
    assert parse_resident_id(number, today=TODAY).region == region


# --- make_resident_id ----------------------------------------------------------------------


def test_make_resident_id_exact():
    # Serial 00 and a woman's 2: the GB 11643 example itself.
    assert make_resident_id("110105", dt.date(1949, 12, 31), 0, Sex.FEMALE) == (
        "11010519491231002X"
    )
    assert make_resident_id("320102", dt.date(1984, 2, 29), 7, Sex.FEMALE) == ("320102198402290725")
    assert make_resident_id("320102", dt.date(1975, 6, 1), 0, "M") == "320102197506010017"
    assert make_resident_id("110105", dt.date(2000, 2, 29), 12, "F") == "110105200002291227"


@pytest.mark.parametrize(
    ("region", "birth", "serial", "message"),
    [
        ("11010", dt.date(1990, 1, 1), 0, "region must be 6 digits, got '11010'"),
        ("11010a", dt.date(1990, 1, 1), 0, "region must be 6 digits, got '11010a'"),
        ("990101", dt.date(1990, 1, 1), 0, "region 990101 does not start with a province code"),
        ("110105", dt.date(1990, 1, 1), 100, "serial must be from 0 to 99, got 100"),
        ("110105", dt.date(1990, 1, 1), -1, "serial must be from 0 to 99, got -1"),
        (
            "110105",
            dt.date(1899, 12, 31),
            0,
            "birth year must be 1900 or later, got 1899-12-31",
        ),
    ],
)
def test_make_resident_id_refuses_bad_parts(region, birth, serial, message):
    with pytest.raises(ValueError) as caught:
        make_resident_id(region, birth, serial, Sex.MALE)
    assert str(caught.value) == message


def test_make_resident_id_refuses_unknown_sex():
    with pytest.raises(ValueError):
        make_resident_id("110105", dt.date(1990, 1, 1), 0, "X")


# --- refusals: exact English and Chinese messages -------------------------------------------


def test_error_classes():
    error = refusal("110105194912310021")
    assert isinstance(error, FundError)
    assert isinstance(error, LedgerError)
    assert error.code == "invalid-id-number"


def test_wrong_check_digit():
    error = refusal("110105194912310021")
    assert str(error) == "ID number 110105194912310021 has a wrong check digit: 1, expected X"
    assert error.zh == "身份证号 110105194912310021 校验位错误：应为 X，实为 1"


def test_wrong_check_digit_x_where_a_digit_is_due():
    error = refusal("32010219750601001x")
    assert str(error) == "ID number 32010219750601001X has a wrong check digit: X, expected 7"
    assert error.zh == "身份证号 32010219750601001X 校验位错误：应为 7，实为 X"


def test_empty():
    for raw in ("", "   ", "\u3000"):
        error = refusal(raw)
        assert str(error) == "ID number is empty"
        assert error.zh == "身份证号为空"


@pytest.mark.parametrize(
    ("raw", "shown", "count"),
    [
        ("11010519491231002", "11010519491231002", 17),
        ("11010519491231002X1", "11010519491231002X1", 19),
        ("11010549123100X", "11010549123100X", 15),  # 15 characters, not all digits
        (" １１０１０５ ", "110105", 6),
    ],
)
def test_wrong_length(raw, shown, count):
    error = refusal(raw)
    assert str(error) == (
        f"ID number {shown} has {count} characters; it must have 18 "
        "(or 15 digits, a first-generation card)"
    )
    assert (
        error.zh == f"身份证号 {shown} 位数错误：应为 18 位（第一代身份证 15 位），实为 {count} 位"
    )


def test_a_first_generation_number_is_read_as_its_18_digit_form():
    # GB 11643-1999's own example: 110105 491231 002 → 110105 19491231 002 X.
    parsed = parse_resident_id(" １１０１０５４９１２３１００２ ", today=TODAY)
    assert parsed == ResidentId(
        number="11010519491231002X",
        region="110105",
        birth_date=dt.date(1949, 12, 31),
        sex=Sex.FEMALE,
        given="110105491231002",
    )
    assert parsed.first_generation
    assert not parse_resident_id("11010519491231002X", today=TODAY).first_generation
    assert normalize_id_number("110105491231002") == "11010519491231002X"
    assert valid_id_number("110105491231002", today=TODAY) == "11010519491231002X"


def test_a_bad_first_generation_number_is_named_as_given_and_as_read():
    error = refusal("110105491331002")
    assert str(error) == (
        "first-generation ID number 110105491331002, read as 110105194913310021: "
        "ID number 110105194913310021 has an invalid birth date 19491331: there is no such date"
    )
    assert error.zh == (
        "第一代身份证号 110105491331002（按 18 位 110105194913310021 校验）："
        "身份证号 110105194913310021 出生日期 19491331 无效：日期不存在"
    )


def test_non_digit_character():
    error = refusal("11010519A91231002X")
    assert str(error) == "ID number 11010519A91231002X has a non-digit character at position 9: 'A'"
    assert error.zh == "身份证号 11010519A91231002X 第 9 位“A”不是数字"


def test_non_digit_reports_the_first_position():
    error = refusal("X1010519491231002X")
    assert str(error) == "ID number X1010519491231002X has a non-digit character at position 1: 'X'"
    assert error.zh == "身份证号 X1010519491231002X 第 1 位“X”不是数字"


def test_inner_space_is_a_non_digit():
    error = refusal("110105 9491231002X")
    assert str(error) == "ID number 110105 9491231002X has a non-digit character at position 7: ' '"
    assert error.zh == "身份证号 110105 9491231002X 第 7 位“ ”不是数字"


def test_invalid_last_character():
    error = refusal("11010519491231002Y")
    assert str(error) == (
        "ID number 11010519491231002Y has an invalid last character 'Y': it must be a digit or X"
    )
    assert error.zh == "身份证号 11010519491231002Y 第 18 位“Y”无效：应为数字或 X"


@pytest.mark.parametrize(
    ("number", "region", "province"),
    [
        ("990105194912310021", "990105", "99"),
        ("000000194912310021", "000000", "00"),
        ("160105194912310021", "160105", "16"),
        ("840105194912310021", "840105", "84"),
    ],
)
def test_invalid_region(number, region, province):
    error = refusal(number)
    assert str(error) == (
        f"ID number {number} has an invalid region code {region}: {province} is not a province code"
    )
    assert error.zh == f"身份证号 {number} 地区码 {region} 无效：{province} 不是省级行政区划代码"


@pytest.mark.parametrize("birth", ["19490230", "19000229", "19491301", "19490000", "00000101"])
def test_birth_date_that_does_not_exist(birth):
    number = f"110105{birth}0021"
    error = refusal(number)
    assert str(error) == (
        f"ID number {number} has an invalid birth date {birth}: there is no such date"
    )
    assert error.zh == f"身份证号 {number} 出生日期 {birth} 无效：日期不存在"


def test_birth_year_before_1900():
    # The GB 11643 standard's own example, born 1880: its check digit is right.
    error = refusal("440524188001010014")
    assert str(error) == (
        "ID number 440524188001010014 has an invalid birth date 18800101: the year is before 1900"
    )
    assert error.zh == "身份证号 440524188001010014 出生日期 18800101 无效：年份早于 1900 年"


def test_birth_date_after_today():
    number = make_resident_id("110105", dt.date(2024, 6, 16), 0, Sex.MALE)
    assert number == "110105202406160011"
    error = refusal(number, today=dt.date(2024, 6, 15))
    assert str(error) == (
        "ID number 110105202406160011 has an invalid birth date 20240616: "
        "it is after today, 2024-06-15"
    )
    assert error.zh == "身份证号 110105202406160011 出生日期 20240616 无效：晚于今天（2024-06-15）"


def test_first_failure_wins():
    # Bad region and bad check digit: the region is reported.
    assert "invalid region code" in str(refusal("990105194912310029"))
    # Bad date and bad check digit: the date is reported.
    assert "invalid birth date" in str(refusal("110105194902300029"))


# --- age ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (dt.date(1984, 6, 15), dt.date(2024, 6, 14), 39),
        (dt.date(1984, 6, 15), dt.date(2024, 6, 15), 40),
        (dt.date(1984, 6, 15), dt.date(1984, 6, 15), 0),
        (dt.date(1984, 12, 31), dt.date(2025, 1, 1), 40),
        # 29 February: in a common year the birthday is reached on 1 March.
        (dt.date(1984, 2, 29), dt.date(2023, 2, 28), 38),
        (dt.date(1984, 2, 29), dt.date(2023, 3, 1), 39),
        (dt.date(1984, 2, 29), dt.date(2024, 2, 28), 39),
        (dt.date(1984, 2, 29), dt.date(2024, 2, 29), 40),
    ],
)
def test_age_on(birth, on, age):
    assert age_on(birth, on) == age


def test_age_before_birth_is_refused():
    with pytest.raises(ValueError, match="2000-01-01 is before the birth date 2000-01-02"):
        age_on(dt.date(2000, 1, 2), dt.date(2000, 1, 1))


# --- properties ----------------------------------------------------------------------------

regions = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
serials = st.integers(min_value=0, max_value=99)
sexes = st.sampled_from(list(Sex))


@given(regions, birth_dates, serials, sexes)
def test_make_then_parse_round_trips(region, birth, serial, sex):
    number = make_resident_id(region, birth, serial, sex)
    assert parse_resident_id(number, today=TODAY) == ResidentId(
        number=number, region=region, birth_date=birth, sex=sex, given=number
    )
    assert parse_resident_id(f" {number.lower()}\u3000", today=TODAY).number == number


@given(regions, birth_dates, serials, sexes, st.integers(min_value=0, max_value=17), st.data())
def test_changing_any_single_character_makes_it_invalid(region, birth, serial, sex, index, data):
    number = make_resident_id(region, birth, serial, sex)
    choices = "0123456789X" if index == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in choices if c != number[index]]))
    changed = number[:index] + replacement + number[index + 1 :]
    with pytest.raises(InvalidIdNumberError):
        parse_resident_id(changed, today=TODAY)
