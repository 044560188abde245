"""A month of the demo banks' files through the scheduler over a fixed clock."""

from __future__ import annotations

import datetime as dt

from jobs.config import parse
from jobs.files import check_expected
from ledger.db import run_in_transaction

D = dt.date


def test_a_bank_sending_on_working_days_is_not_expected_to_send_for_a_weekend(city):
    config = parse(
        {"expected_files": {"ICBC": {"daily": ["statement"], "working_days": True},
                            "ABC": {"daily": ["statement"]}}}
    )  # fmt: skip

    def check(on):
        return run_in_transaction(city, lambda s: check_expected(s, config.expected, on))

    # 2026-06-05 is a Friday: Saturday checks it, Sunday and Monday the weekend.
    assert check(D(2026, 6, 6)) == [("ABC", "statement", "2026-06-05"),
                                    ("ICBC", "statement", "2026-06-05")]  # fmt: skip
    assert check(D(2026, 6, 7)) == [("ABC", "statement", "2026-06-06")]
    assert check(D(2026, 6, 8)) == [("ABC", "statement", "2026-06-07")]
    assert check(D(2026, 6, 9)) == [("ABC", "statement", "2026-06-08"),
                                    ("ICBC", "statement", "2026-06-08")]  # fmt: skip
