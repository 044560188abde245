"""Money values: integer fen inside the books, ``Decimal`` yuan at the edges.

A yuan amount never passes through ``float``. Every conversion lives here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: The largest amount one posting may carry, in fen (10 trillion yuan). Keeps every
#: sum of postings far inside a signed 64-bit integer.
MAX_POSTING_FEN = 10**15

_FEN_PER_YUAN = 100
_YUAN_PATTERN = re.compile(r"^-?\d+(\.\d{1,2})?$")


class MoneyError(ValueError):
    """A value that is not an amount of yuan with at most two decimals."""


def yuan_to_fen(value: Decimal | str | int) -> int:
    """Return the exact number of fen in ``value`` yuan.

    Accepts ``Decimal``, ``int`` or a plain decimal string such as ``"1234.50"``.
    Refuses floats, more than two decimals, exponents, NaN and infinity.
    """
    if isinstance(value, bool | float):
        raise MoneyError(f"amount must be Decimal, int or str, not {type(value).__name__}")
    if isinstance(value, int):
        return value * _FEN_PER_YUAN
    if isinstance(value, str):
        text = value.strip()
        if not _YUAN_PATTERN.match(text):
            raise MoneyError(f"not an amount of yuan with at most 2 decimals: {value!r}")
        value = Decimal(text)
    if not isinstance(value, Decimal):
        raise MoneyError(f"amount must be Decimal, int or str, not {type(value).__name__}")
    if not value.is_finite():
        raise MoneyError(f"amount is not finite: {value}")
    try:
        fen = value.scaleb(2)
        integral = fen.to_integral_value()
    except InvalidOperation as exc:  # pragma: no cover - is_finite() guards this
        raise MoneyError(f"not an amount: {value}") from exc
    if fen != integral:
        raise MoneyError(f"more than 2 decimals: {value}")
    return int(integral)


def fen_to_yuan(fen: int) -> Decimal:
    """Return ``fen`` as a ``Decimal`` number of yuan with exactly two decimals."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise MoneyError(f"fen must be an int, not {type(fen).__name__}")
    return Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))


def format_yuan(fen: int) -> str:
    """Format fen as yuan with thousands separators: ``123456`` → ``"1,234.56"``."""
    return f"{fen_to_yuan(fen):,}"


def format_percent(ppm: int | None) -> str:
    """A rate or ratio in parts per million as a percentage, the one way every report,
    page and message shows one: exact (a ppm is 0.0001%, so nothing is rounded), at least
    two decimals, no trailing zeros past them; ``n/a`` for None (no rate: nothing to
    divide by). ``43_500`` → ``4.35%``, ``45_000`` → ``4.50%``, ``4_620`` → ``0.462%``,
    ``-12_345`` → ``-1.2345%``."""
    if ppm is None:
        return "n/a"
    sign, ppm = ("-", -ppm) if ppm < 0 else ("", ppm)
    whole, frac = divmod(ppm, 10_000)
    digits = f"{frac:04d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{digits}%"


def format_times(ppm: int | None) -> str:
    """A multiple in parts per million of one time, as leverage is shown: two decimals,
    rounded down (a bank at 4.999 times has not reached 5); ``n/a`` for None.
    ``3_500_000`` → ``3.50x``, ``4_999_999`` → ``4.99x``."""
    if ppm is None:
        return "n/a"
    whole, frac = divmod(ppm, 1_000_000)
    return f"{whole}.{frac // 10_000:02d}x"
