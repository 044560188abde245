"""Guarantee approvals as a list: numbered in order per bank and year, counter-guarantees
registered with one memorandum entry per bank and date, every refused request reported
with its row and column, nothing approved unless every request passes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.fund.approvals import GuaranteeRequest, approve_guarantees
from ledger.fund.books import balance_now
from ledger.fund.borrowers import BorrowerSpec, register_borrowers
from ledger.fund.errors import (
    LimitError,
    ReferenceDataError,
    RepeatLoanError,
    RowsRejectedError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import Commitment, CounterGuarantee, StoredRuleSet
from ledger.fund.policy import rules_on
from ledger.models import JournalEntry
from tests.fund.conftest import D, borrower_id, run

TODAY = D(2025, 12, 31)
MORTGAGE = CounterGuaranteeSpec("mortgage", 12_000_000, description="房产抵押 豫(2025)1号")
PLEDGE = CounterGuaranteeSpec("pledge", 3_000_000, description="存单质押")


@pytest.fixture
def people(fund):
    specs = [BorrowerSpec(borrower_id(20 + n), f"申请人{n}", "D01", categories=["graduate"])
             for n in range(5)]  # fmt: skip
    run(fund, lambda s: register_borrowers(s, specs, actor="clerk", today=TODAY))
    return fund


def approve(fund, requests):
    return run(fund, lambda s: approve_guarantees(s, requests, actor="approver", today=TODAY))


APPROVED = D(2025, 3, 1)


def request(n, bank="ICBC", amount=10_000_000, on=APPROVED, **kw):
    return GuaranteeRequest(borrower_id(20 + n), bank, amount, kw.pop("term", 12), on, **kw)


def test_numbers_follow_the_order_per_bank_and_year(people):
    approved = approve(
        people,
        [
            request(0, counter_guarantees=(MORTGAGE,)),
            request(1, "ABC", counter_guarantees=(PLEDGE,)),
            request(2, counter_guarantees=(PLEDGE,)),
            request(3, on=D(2025, 3, 2)),
        ],
    )
    assert [a.number for a in approved] == [
        "G2025-ICBC-00001",
        "G2025-ABC-00001",
        "G2025-ICBC-00002",
        "G2025-ICBC-00003",
    ]
    more = approve(people, [request(4, on=D(2025, 4, 1))])
    assert [a.number for a in more] == ["G2025-ICBC-00004"]
    with people() as s:
        first = s.get(Commitment, approved[0].id)
        assert (first.amount, first.term_months, first.status, first.categories) == (
            10_000_000,
            12,
            "approved",
            "graduate",
        )
        # ICBC 2025-03-01: mortgage 120,000 + pledge 30,000 in one entry; ABC its own.
        assert balance_now(s, "memo:counter-guarantees:ICBC") == 15_000_000
        assert balance_now(s, "memo:counter-guarantees:ABC") == 3_000_000
        items = s.scalars(select(CounterGuarantee).order_by(CounterGuarantee.id)).all()
        assert [(i.kind, i.value, i.status) for i in items] == [
            ("mortgage", 12_000_000, "held"),
            ("pledge", 3_000_000, "held"),
            ("pledge", 3_000_000, "held"),
        ]
        assert items[0].entry_id == items[2].entry_id != items[1].entry_id
        # Four commitments on two dates under the same rules: the rule set is stored once.
        stored = s.scalars(select(StoredRuleSet)).all()
        assert len(stored) == 1
        assert {s.get(Commitment, a.id).rule_set_id for a in approved} == {stored[0].id}
        assert stored[0].fingerprint == rules_on(s, APPROVED).fingerprint()
        entry = s.get(JournalEntry, items[0].entry_id)
        assert (entry.kind, entry.description) == (
            "counter-guarantee.register",
            "ICBC 2025-03-01 反担保登记（150,000.00 元）",
        )


def test_every_refused_request_is_reported_and_nothing_is_approved(people):
    requests = [
        request(0, row=2),
        request(0, row=3),  # the same borrower again: the commitment of row 2 is unused
        GuaranteeRequest(borrower_id(99), "ICBC", 1_000_000, 12, D(2025, 3, 1), row=4),
        request(1, amount=20_000_001, row=5),
        request(2, term=37, row=6),
        request(3, bank="BOC", row=7),
        request(4, on=D(2026, 1, 1), row=8),
    ]
    with pytest.raises(RowsRejectedError) as info:
        approve(people, requests)
    errors = info.value.errors
    assert [(e.row, e.column, type(e.error), e.message) for e in errors] == [
        (3, "id_number", RepeatLoanError,
         f"borrower {borrower_id(20)} already has an unused commitment G2025-ICBC-00001"),
        (4, "id_number", ReferenceDataError,
         f"no borrower with ID number {borrower_id(99)} is registered"),
        (5, "amount", LimitError,
         "200,000.01 yuan is over the limit for an individual under the rules in force on "
         "2025-03-01: at most 200,000.00 yuan"),
        (6, "term_months", LimitError,
         "a term of 37 months is outside 1 to 36 months allowed by the rules in force on "
         "2025-03-01"),
        (7, "bank", ReferenceDataError, "no partner bank BOC"),
        (8, "on", LimitError, "approval date 2026-01-01 is in the future"),
    ]  # fmt: skip
    with people() as s:
        assert s.scalar(select(func.count()).select_from(Commitment)) == 0


def test_an_approval_date_no_rules_or_no_borrower_could_have_is_refused_by_its_row(fund):
    # Before the first rules (2002-10-01), and before the borrower was born: each is the
    # row's error on its date, never a failure of the whole list.
    young = borrower_id(40, born=D(2004, 1, 1))
    specs = [BorrowerSpec(young, "合伙人", "D01", "partnership", ["graduate"], 2),
             BorrowerSpec(borrower_id(41), "申请人", "D01", categories=["graduate"])]  # fmt: skip
    run(fund, lambda s: register_borrowers(s, specs, actor="clerk", today=TODAY))
    requests = [
        GuaranteeRequest(young, "ICBC", 1_000_000, 12, D(2003, 6, 1), row=2),
        GuaranteeRequest(borrower_id(41), "ICBC", 1_000_000, 12, D(1999, 1, 1), row=3),
    ]
    with pytest.raises(RowsRejectedError) as info:
        approve(fund, requests)
    assert [(e.row, e.column, e.error.code, e.message, e.zh) for e in info.value.errors] == [
        (2, "on", "not-eligible",
         "approval date 2003-06-01 is before the borrower was born (2004-01-01)",
         "审批日期 2003-06-01 早于借款人出生日期 2004-01-01"),
        (3, "on", "policy",
         "no rules were in force on 1999-01-01: the national rules start on 2002-10-01",
         "1999-01-01 没有有效的政策规则：全国规则自 2002-10-01 起施行"),
    ]  # fmt: skip
    with fund() as s:
        assert s.scalar(select(func.count()).select_from(Commitment)) == 0
