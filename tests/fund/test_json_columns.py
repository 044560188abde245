"""JSON columns are objects in Python and sorted-key text in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.db import run_in_transaction
from ledger.fund.models import DepositInterest
from ledger.models import JsonText


def test_a_json_column_is_written_sorted_and_read_as_a_dict():
    column = JsonText()
    stored = column.process_bind_param({"provincial": 625_001, "city": 250_000}, None)
    assert stored == '{"city": 250000, "provincial": 625001}'
    assert column.process_result_value(stored, None) == {"city": 250_000, "provincial": 625_001}
    assert column.process_bind_param(None, None) is None


def test_text_is_refused_so_nothing_is_encoded_twice():
    with pytest.raises(TypeError, match="a JSON column takes a dict, not str"):
        JsonText().process_bind_param('{"city": 1}', None)


def test_the_column_holds_text_in_the_database(fund):
    from ledger.fund import capital
    from tests.fund.conftest import D

    row = run_in_transaction(
        fund,
        lambda s: capital.record_deposit_interest(
            s, "ICBC", 1_000, D(2025, 3, 21), "R", actor="clerk"
        ),
    )
    assert isinstance(row.allocation, dict) and sum(row.allocation.values()) == 1_000
    with fund() as s:
        raw = s.execute(text("SELECT allocation FROM deposit_interest")).scalar_one()
        assert raw.startswith("{") and s.get(DepositInterest, row.id).allocation == row.allocation
