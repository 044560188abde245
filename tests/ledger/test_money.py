from decimal import Decimal

import pytest

from ledger.money import MoneyError, fen_to_yuan, format_percent, format_yuan, yuan_to_fen


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("1234.5", 123450),
        ("0.01", 1),
        ("-3.20", -320),
        (Decimal("99.99"), 9999),
        (Decimal("1E+2"), 10000),
        (7, 700),
        ("  42 ", 4200),
    ],
)
def test_yuan_to_fen_exact(value, fen):
    assert yuan_to_fen(value) == fen


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "amount must be Decimal, int or str, not float"),
        (True, "amount must be Decimal, int or str, not bool"),
        ("1.234", "not an amount of yuan with at most 2 decimals: '1.234'"),
        ("1e3", "not an amount of yuan with at most 2 decimals: '1e3'"),
        ("", "not an amount of yuan with at most 2 decimals: ''"),
        (Decimal("0.001"), "more than 2 decimals: 0.001"),
        (Decimal("NaN"), "amount is not finite: NaN"),
    ],
)
def test_yuan_to_fen_refuses(value, message):
    with pytest.raises(MoneyError) as exc:
        yuan_to_fen(value)
    assert str(exc.value) == message


def test_fen_to_yuan_and_format():
    assert fen_to_yuan(123456) == Decimal("1234.56")
    assert str(fen_to_yuan(5)) == "0.05"
    assert format_yuan(500_000_000_00) == "500,000,000.00"
    assert format_yuan(-1) == "-0.01"
    with pytest.raises(MoneyError):
        fen_to_yuan(1.0)


@pytest.mark.parametrize(
    ("ppm", "text"),
    [
        (43_500, "4.35%"), (45_000, "4.50%"), (4_620, "0.462%"), (266_666, "26.6666%"),
        (1_000_000, "100.00%"), (0, "0.00%"), (1, "0.0001%"), (-12_345, "-1.2345%"),
        (None, "n/a"),
    ],
)  # fmt: skip
def test_one_way_to_show_a_percentage(ppm, text):
    assert format_percent(ppm) == text
