"""Cell normalisers of the bank interface: every accepted form gives the exact value, every
refusal an exact English and Chinese message (bank-interface.md, "Common rules")."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.bankfiles import values
from ledger.bankfiles.values import CellError
from ledger.fund.schedule import Method

TODAY = dt.date(2026, 11, 30)
#: Valid resident ID numbers (GB 11643): born 1990-05-17 in region 110105.
VALID_ID = "110105199005170118"
VALID_ID_X = "11010519900517061X"


def refused(fn, *args, **kw) -> CellError:
    with pytest.raises(CellError) as info:
        fn(*args, **kw)
    assert type(info.value) is CellError
    assert info.value.code == "invalid-value"
    return info.value


# ------------------------------------------------------------------------ amounts


@pytest.mark.parametrize(
    ("given", "fen"),
    [
        ("1234.5", 123_450),
        ("1234.50", 123_450),
        ("1234", 123_400),
        ("0", 0),
        ("0.00", 0),
        ("0.01", 1),
        ("1,234.50", 123_450),
        ("1,234,567.89", 123_456_789),
        ("1,234", 123_400),
        ("¥1,234.50", 123_450),
        ("¥ 1,234.50", 123_450),
        ("￥1,234.50", 123_450),
        ("１２３４．５０", 123_450),
        ("１，２３４．５", 123_450),
        ("￥１２３４", 123_400),
        ("  1234.50  ", 123_450),
        ("\u30001234.50\u3000", 123_450),
        ("\ufeff1234.50\u200b", 123_450),
    ],
)
def test_amount_text_in_every_accepted_form(given, fen):
    assert values.amount(given) == fen


@pytest.mark.parametrize(
    ("cell", "fen"),
    [
        (1234, 123_400),
        (0, 0),
        (1234.5, 123_450),
        (1234.0, 123_400),
        (0.01, 1),
        (0.1, 10),
        (19.99, 1_999),
        (1234567.89, 123_456_789),
    ],
)
def test_amount_from_xlsx_numbers_never_goes_through_float_arithmetic(cell, fen):
    assert values.amount(cell) == fen


def test_amount_float_with_more_than_two_decimals_is_refused():
    error = refused(values.amount, 0.1 + 0.2)
    assert error.message == (
        "amount 0.30000000000000004 has 17 decimals; at most 2 (fen) are allowed"
    )
    assert error.zh == "金额 0.30000000000000004 有 17 位小数，最多 2 位（分）"


def test_amount_tiny_float_is_written_out_not_scientific():
    error = refused(values.amount, 1e-05)
    assert error.message == "amount 0.00001 has 5 decimals; at most 2 (fen) are allowed"


def test_amount_three_decimals_refused_with_exact_messages():
    error = refused(values.amount, "1.234")
    assert error.message == "amount 1.234 has 3 decimals; at most 2 (fen) are allowed"
    assert error.zh == "金额 1.234 有 3 位小数，最多 2 位（分）"


@pytest.mark.parametrize("given", ["-1", "(5)", "-0.01", "¥-5", "5-", "－１"])
def test_amount_negative_refused(given):
    error = refused(values.amount, given)
    shown = values.clean(given)
    assert error.message == f"amount {shown} is negative; amounts must be 0 or more"
    assert error.zh == f"金额 {shown} 为负数，金额不能小于 0"


def test_amount_negative_messages_exact():
    error = refused(values.amount, "-1")
    assert error.message == "amount -1 is negative; amounts must be 0 or more"
    assert error.zh == "金额 -1 为负数，金额不能小于 0"
    assert refused(values.amount, -5).message == "amount -5 is negative; amounts must be 0 or more"
    assert refused(values.amount, -0.5).message == (
        "amount -0.5 is negative; amounts must be 0 or more"
    )


@pytest.mark.parametrize("given", ["1e3", "1E3", "1.5e2", "１ｅ３"])
def test_amount_scientific_notation_refused(given):
    error = refused(values.amount, given)
    shown = values.clean(given)
    assert error.message == (
        f"amount {shown} is in scientific notation; write it out in full, e.g. 1234.50"
    )
    assert error.zh == f"金额 {shown} 为科学计数法，请写成完整数字，如 1234.50"


@pytest.mark.parametrize(
    "given", ["abc", "1,23,4", "12,34", "1,2345.00", "1.2.3", "1.", ".5", "+5", "1 234", "12元"]
)
def test_amount_not_a_number_refused(given):
    error = refused(values.amount, given)
    assert error.message == f"{given!r} is not an amount of yuan; write e.g. 1234.50 or 1,234.50"
    assert error.zh == f"“{given}”不是金额，请填写如 1234.50 或 1,234.50"


def test_amount_not_a_number_exact_messages():
    error = refused(values.amount, "abc")
    assert error.message == "'abc' is not an amount of yuan; write e.g. 1234.50 or 1,234.50"
    assert error.zh == "“abc”不是金额，请填写如 1234.50 或 1,234.50"
    error = refused(values.amount, "1,23,4")
    assert error.message == "'1,23,4' is not an amount of yuan; write e.g. 1234.50 or 1,234.50"


@pytest.mark.parametrize(
    ("cell", "shown"),
    [(True, "TRUE"), (dt.date(2024, 3, 5), "2024-03-05"), (dt.datetime(2024, 3, 5), "2024-03-05")],
)
def test_amount_cells_of_other_types_refused(cell, shown):
    error = refused(values.amount, cell)
    assert error.message == f"{shown!r} is not an amount of yuan; write e.g. 1234.50 or 1,234.50"


def test_amount_empty_is_not_an_amount():
    error = refused(values.amount, "")
    assert error.message == "'' is not an amount of yuan; write e.g. 1234.50 or 1,234.50"


def test_amount_too_large():
    assert values.amount("10000000000000.00") == 10**15
    error = refused(values.amount, "10000000000000.01")
    assert error.message == "amount 10000000000000.01 is too large"
    assert error.zh == "金额 10000000000000.01 过大"
    assert refused(values.amount, 1e16).message == "amount 10000000000000000 is too large"
    assert refused(values.amount, "9" * 40).message == f"amount {'9' * 40} is too large"


# ------------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    "given",
    [
        "2024-03-05",
        "2024-3-5",
        "2024/03/05",
        "2024/3/5",
        "20240305",
        "2024年3月5日",
        "2024年03月05日",
        "２０２４－０３－０５",
        "２０２４／３／５",
        "２０２４０３０５",
        "２０２４年３月５日",
        "2024-03-05 00:00:00",
        "2024-03-05 00:00",
        "2024-03-05T00:00:00",
        "2024/3/5 00:00:00",
        " 2024-03-05 ",
        dt.date(2024, 3, 5),
        dt.datetime(2024, 3, 5),
        dt.datetime(2024, 3, 5, 0, 0, 0),
        20240305,
        20240305.0,
    ],
)
def test_date_in_every_accepted_form(given):
    assert values.date(given) == dt.date(2024, 3, 5)


def test_date_cell_with_a_time_of_day_refused():
    error = refused(values.date, dt.datetime(2024, 3, 5, 10, 30))
    assert error.message == "date 2024-03-05 10:30:00 has a time of day; give the date only"
    assert error.zh == "日期 2024-03-05 10:30:00 含有时间，请只填日期"


@pytest.mark.parametrize(
    ("given", "shown"),
    [("2024-02-30", "2024-02-30"), ("2023/2/29", "2023/2/29"), ("20241301", "20241301"),
     ("2024年4月31日", "2024年4月31日"), ("2024-02-30 00:00:00", "2024-02-30 00:00:00")],
)  # fmt: skip
def test_date_that_does_not_exist_refused(given, shown):
    error = refused(values.date, given)
    assert error.message == f"{shown} is not a date that exists"
    assert error.zh == f"日期 {shown} 不存在"


def test_leap_day_exists():
    assert values.date("2024-02-29") == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    "given",
    ["05/03/2024", "2024.03.05", "2024-03-05 10:00:00", "240305", "March 5, 2024", "abc",
     "2024-03", "2024-003-05"],
)  # fmt: skip
def test_date_in_other_forms_refused(given):
    error = refused(values.date, given)
    assert error.message == (
        f"{given!r} is not a date; write e.g. 2024-03-05, 2024/3/5, 20240305 or 2024年3月5日"
    )
    assert error.zh == (
        f"“{given}”不是日期，请填写如 2024-03-05、2024/3/5、20240305 或 2024年3月5日"
    )


@pytest.mark.parametrize("given", ["0\n0", "2024-03-05\n00:00", "2024-03-05\n1", "a\r\nb"])
def test_date_with_a_line_break_inside_is_refused_not_crashed(given):
    # A CSV field may hold a line break; it is not a date, and says so.
    error = refused(values.date, given)
    shown = values.clean(given)
    assert error.message == (
        f"{shown!r} is not a date; write e.g. 2024-03-05, 2024/3/5, 20240305 or 2024年3月5日"
    )


def test_date_refusal_exact_message():
    error = refused(values.date, "05/03/2024")
    assert error.message == (
        "'05/03/2024' is not a date; write e.g. 2024-03-05, 2024/3/5, 20240305 or 2024年3月5日"
    )
    assert (
        error.zh == "“05/03/2024”不是日期，请填写如 2024-03-05、2024/3/5、20240305 或 2024年3月5日"
    )


# ------------------------------------------------------------------------ ID numbers


@pytest.mark.parametrize(
    ("given", "number"),
    [
        (VALID_ID, VALID_ID),
        (VALID_ID_X, VALID_ID_X),
        ("11010519900517061x", VALID_ID_X),
        ("１１０１０５１９９００５１７０１１８", VALID_ID),
        ("１１０１０５１９９００５１７０６１ｘ", VALID_ID_X),
        (f"  {VALID_ID}\u3000", VALID_ID),
        (int(VALID_ID), VALID_ID),
    ],
)
def test_id_number_accepted_and_normalised(given, number):
    assert values.id_number(given, TODAY) == number


def test_id_number_bad_check_digit_refused_with_the_identity_message():
    error = refused(values.id_number, "110105199005170117", TODAY)
    assert error.message == ("ID number 110105199005170117 has a wrong check digit: 7, expected 8")
    assert error.zh == "身份证号 110105199005170117 校验位错误：应为 8，实为 7"


def test_id_number_of_17_characters_refused():
    error = refused(values.id_number, "11010519900517011", TODAY)
    assert error.message == (
        "ID number 11010519900517011 has 17 characters; it must have 18 "
        "(or 15 digits, a first-generation card)"
    )
    assert (
        error.zh
        == "身份证号 11010519900517011 位数错误：应为 18 位（第一代身份证 15 位），实为 17 位"
    )


def test_id_number_born_after_today_refused():
    error = refused(values.id_number, VALID_ID, dt.date(1990, 5, 16))
    assert error.message == (
        "ID number 110105199005170118 has an invalid birth date 19900517: "
        "it is after today, 1990-05-16"
    )


def test_id_number_stored_as_a_number_refused():
    error = refused(values.id_number, float(VALID_ID), TODAY)
    assert error.message == (
        "ID number 110105199005170110 was stored as a number and lost digits; "
        "format the column as text"
    )
    assert (
        error.zh == "身份证号 110105199005170110 以数字格式保存，已丢失位数，请将该列设为文本格式"
    )


def test_id_number_empty_refused():
    error = refused(values.id_number, "", TODAY)
    assert (error.message, error.zh) == ("ID number is empty", "身份证号为空")


# ------------------------------------------------------------------------ rates


@pytest.mark.parametrize(
    ("given", "ppm"),
    [
        ("3.85", 38_500),
        ("3.85%", 38_500),
        ("4", 40_000),
        ("4%", 40_000),
        ("0", 0),
        ("3.1234", 31_234),
        ("100", 1_000_000),
        ("３．８５％", 38_500),
        (" 3.85 ", 38_500),
        (3.85, 38_500),
        (4.0, 40_000),
    ],
)
def test_rate_accepted(given, ppm):
    assert values.rate_ppm(given) == ppm


@pytest.mark.parametrize("given", ["3.12345", "abc", "-3.85", "3,85", "", "3.85 %", "1e1"])
def test_rate_malformed_refused(given):
    error = refused(values.rate_ppm, given)
    assert error.message == (
        f"{given!r} is not an annual rate in percent; write e.g. 3.85 (at most 4 decimals)"
    )
    assert error.zh == f"“{given}”不是年利率（百分数），请填写如 3.85（最多 4 位小数）"


def test_rate_with_five_decimals_exact_message():
    error = refused(values.rate_ppm, "3.12345")
    assert error.message == (
        "'3.12345' is not an annual rate in percent; write e.g. 3.85 (at most 4 decimals)"
    )
    assert error.zh == "“3.12345”不是年利率（百分数），请填写如 3.85（最多 4 位小数）"


def test_rate_over_100_percent_refused():
    error = refused(values.rate_ppm, "101")
    assert error.message == "annual rate 101% is over 100%"
    assert error.zh == "年利率 101% 超过 100%"
    assert refused(values.rate_ppm, "100.0001").message == "annual rate 100.0001% is over 100%"


def test_rate_over_100_percent_written_with_a_percent_sign_says_the_rate_once():
    error = refused(values.rate_ppm, "101%")
    assert error.message == "annual rate 101% is over 100%"
    assert error.zh == "年利率 101% 超过 100%"


# ------------------------------------------------------------------------ methods, directions


@pytest.mark.parametrize(
    ("given", "method"),
    [
        ("到期一次还本付息", Method.BULLET),
        ("按月付息到期还本", Method.INTEREST_ONLY),
        ("按月等额本息", Method.ANNUITY),
        ("按月等额本金", Method.EQUAL_PRINCIPAL),
        ("bullet", Method.BULLET),
        ("interest_only", Method.INTEREST_ONLY),
        ("annuity", Method.ANNUITY),
        ("equal_principal", Method.EQUAL_PRINCIPAL),
        ("Annuity", Method.ANNUITY),
        ("EQUAL_PRINCIPAL", Method.EQUAL_PRINCIPAL),
        (" 按月等额本息\u3000", Method.ANNUITY),
        ("ａｎｎｕｉｔｙ", Method.ANNUITY),
    ],
)
def test_method_by_chinese_name_or_english_key(given, method):
    assert values.method(given) is method


def test_method_unknown_refused():
    error = refused(values.method, "等额本息")
    assert error.message == (
        "repayment method '等额本息' is not one of 到期一次还本付息 (bullet), "
        "按月付息到期还本 (interest_only), 按月等额本息 (annuity), 按月等额本金 (equal_principal)"
    )
    assert error.zh == (
        "还款方式“等额本息”无效，应为：到期一次还本付息、按月付息到期还本、按月等额本息、按月等额本金"
    )


@pytest.mark.parametrize(
    ("given", "side"),
    [
        ("借", "D"),
        ("贷", "C"),
        ("D", "D"),
        ("C", "C"),
        ("d", "D"),
        ("c", "C"),
        ("credit", "C"),
        ("Credit", "C"),
        ("DEBIT", "D"),
        ("debit", "D"),
        (" 贷 ", "C"),
        ("Ｄ", "D"),
    ],
)
def test_direction(given, side):
    assert values.direction(given) == side


@pytest.mark.parametrize("given", ["X", "借方", "in", "", "+"])
def test_direction_refused(given):
    error = refused(values.direction, given)
    assert error.message == f"direction {given!r} is not 借/D (money out) or 贷/C (money in)"
    assert error.zh == f"借贷方向“{given}”无效，应为 借/D（支出）或 贷/C（收入）"


def test_direction_refused_exact():
    error = refused(values.direction, "X")
    assert error.message == "direction 'X' is not 借/D (money out) or 贷/C (money in)"
    assert error.zh == "借贷方向“X”无效，应为 借/D（支出）或 贷/C（收入）"


# ------------------------------------------------------------------------ counts, references


@pytest.mark.parametrize(
    ("given", "n"),
    [("0", 0), ("3", 3), ("030", 30), ("１２", 12), (" 7 ", 7), (5, 5), (5.0, 5),
     ("999999999", 999_999_999)],
)  # fmt: skip
def test_count(given, n):
    assert values.count(given) == n


@pytest.mark.parametrize(
    ("given", "shown"),
    [("-1", "-1"), ("1.5", "1.5"), (1.5, "1.5"), ("abc", "abc"), ("", ""),
     ("1000000000", "1000000000"), ("١٢", "١٢"), ("+3", "+3")],
)  # fmt: skip
def test_count_refused(given, shown):
    error = refused(values.count, given)
    assert error.message == f"{shown!r} is not a whole number of 0 or more"
    assert error.zh == f"“{shown}”不是大于或等于 0 的整数"


def test_reference_is_cleaned_text():
    assert values.reference("  R-2024-0001 ") == "R-2024-0001"
    assert values.reference("ＩＣＢＣ－００１") == "ICBC-001"
    assert values.reference("\ufeffR1\u200b") == "R1"
    assert values.reference(12345) == "12345"
    assert values.reference("工行流水 001") == "工行流水 001"


def test_reference_length_limit():
    assert values.reference("A" * 60) == "A" * 60
    error = refused(values.reference, "A" * 61)
    assert error.message == f"{'A' * 20}… has 61 characters; at most 60 are allowed"
    assert error.zh == f"“{'A' * 20}…”共 61 个字符，最多 60 个"
    assert values.reference("B" * 100, limit=100) == "B" * 100
    error = refused(values.reference, "B" * 41, limit=40)
    assert error.message == f"{'B' * 20}… has 41 characters; at most 40 are allowed"


@pytest.mark.parametrize("given", ["R\x001", "R\x07", "R\t1", "A\nB", "R\x7f", "R\u200e1"])
def test_reference_with_control_characters_refused(given):
    error = refused(values.reference, given)
    assert error.message == f"{given!r} contains control characters"
    assert error.zh == f"“{given}”含有不可见的控制字符"


def test_reference_control_character_exact_message():
    error = refused(values.reference, "AB\x01C")
    assert error.message == "'AB\\x01C' contains control characters"
    assert error.zh == "“AB\x01C”含有不可见的控制字符"


# ------------------------------------------------------------------------ text helpers


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        (None, ""),
        ("x", "x"),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.datetime(2024, 3, 5), "2024-03-05"),
        (dt.datetime(2024, 3, 5, 8, 1, 2), "2024-03-05 08:01:02"),
        (dt.date(2024, 3, 5), "2024-03-05"),
        (1234.5, "1234.5"),
        (12.0, "12"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e16, "10000000000000000"),
        (7, "7"),
    ],
)
def test_as_text(cell, text):
    assert values.as_text(cell) == text


def test_clean_and_is_blank():
    assert values.clean("\u3000１２３\ufeff ") == "123"
    assert values.clean(None) == ""
    for blank in (None, "", "   ", "\u3000", "\ufeff", "\u200b \t"):
        assert values.is_blank(blank), repr(blank)
    for filled in ("0", 0, 0.0, False, dt.date(2024, 1, 1), "x"):
        assert not values.is_blank(filled), repr(filled)


def test_rate_from_a_percentage_formatted_cell_is_refused():
    # Excel stores 3.85% as 0.0385: read as a number of percent it would be 0.0385%.
    error = refused(values.rate_ppm, 0.0385)
    assert error.message == (
        "annual rate 0.0385 looks like a cell formatted as a percentage; "
        "write the rate as a number of percent, e.g. 3.85"
    )
    assert error.zh == "年利率 0.0385 疑为百分比格式的单元格，请填写百分数的数值，如 3.85"
    assert values.rate_ppm(3.85) == 38_500
    assert values.rate_ppm("0.5") == 5_000  # text is taken at its word


@pytest.mark.parametrize("given", ["١٢٣", "१२३४.५०"])
def test_digits_of_other_scripts_are_not_amounts(given):
    error = refused(values.amount, given)
    assert error.message == f"{given!r} is not an amount of yuan; write e.g. 1234.50 or 1,234.50"


def test_digits_of_other_scripts_are_not_dates():
    error = refused(values.date, "٢٠٢٤-٠٣-٠٥")
    assert error.message.startswith("'٢٠٢٤-٠٣-٠٥' is not a date")
