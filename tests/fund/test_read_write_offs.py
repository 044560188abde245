"""Write-offs as values, and one claim in full, over the portfolio."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import FilterError
from ledger.fund.read.claims import claim_detail
from ledger.fund.read.write_offs import write_off_detail, write_offs_page


def test_the_write_offs_page_and_one_write_off(portfolio):
    with portfolio() as s:
        page = write_offs_page(s, status="requested")
        assert [(w.id, w.bank_code, w.contract_no, w.claim_number, w.amount, w.status)
                for w in page.items] == [(1, "ABC", "ABC-001", "C2025-ABC-00002", 3_200_000,
                                          "requested")]  # fmt: skip
        assert page.next_before is None
        assert write_offs_page(s, bank="ICBC").items == ()
        one = write_off_detail(s, 1)
        assert (one.requested_by, one.requested_on, one.reason, one.entry_id) == (
            "clerk",
            dt.date(2025, 10, 1),
            "借款人失联",
            None,
        )
        assert one.masked().borrower_name == "李*"
        assert write_off_detail(s, 99) is None
        with pytest.raises(FilterError) as bad:
            write_offs_page(s, status="lost")
    assert bad.value.zh == "核销申请状态 'lost' 无效，应为：requested、approved、rejected"


def test_one_claim_in_full(portfolio):
    with portfolio() as s:
        approved = claim_detail(s, "C2025-ICBC-00002")
        assert (approved.bank_code, approved.contract_no, approved.fund, approved.amount,
                approved.status, approved.pay_entry_id) == (
            "ICBC", "ICBC-003", "CITY", 3_200_000, "approved", None
        )  # fmt: skip
        assert approved.approve_entry_id is not None
        assert claim_detail(s, " C2025-ICBC-00002 ") == approved
        assert claim_detail(s, "C2025-ICBC-09999") is None
