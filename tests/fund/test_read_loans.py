"""Loans read as values: keyset pages with filters, and one loan in full as of a date
(its borrower, commitment, history and the entries that moved its own accounts)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ledger.chain import drain_sealer
from ledger.errors import FilterError
from ledger.fund import loans
from ledger.fund.errors import StateError
from ledger.fund.read.loans import LoanRow, loan_detail, loans_page
from ledger.journal import EntryView, entry
from tests.conftest import selects
from tests.fund.conftest import BORN, D, borrower_id

ZHANG = borrower_id(1)


def ids(page) -> list[int]:
    return [row.id for row in page.items]


def test_a_loan_row_is_a_value_with_its_borrower_and_running_totals(portfolio):
    with portfolio() as s:
        page = loans_page(s)
    assert ids(page) == [6, 5, 4, 3, 2, 1]
    assert page.next_before is None
    by_contract = {row.contract_no: row for row in page.items}
    # 20,000 of 100,000 repaid: the running total, not a sum over the repayments.
    assert by_contract["ICBC-001"] == LoanRow(
        id=1, bank_code="ICBC", contract_no="ICBC-001", borrower_name="张三",
        borrower_id_number=ZHANG, district="D01", principal=10_000_000,
        principal_outstanding=8_000_000, annual_rate_ppm=45_000, disbursed_on=D(2025, 3, 5),
        maturity=D(2026, 3, 5), status="active",
    )  # fmt: skip
    # Extended on 2025-12-01: the final maturity is the extended one.
    assert (by_contract["ABC-002"].maturity, by_contract["ABC-002"].principal_outstanding) == (
        D(2026, 12, 1),
        6_000_000,
    )
    # Compensated: what the borrower still owes stays outstanding on the loan.
    assert (by_contract["ABC-001"].status, by_contract["ABC-001"].principal_outstanding) == (
        "claimed",
        5_000_000,
    )
    assert (by_contract["ICBC-004"].status, by_contract["ICBC-004"].principal_outstanding) == (
        "repaid",
        0,
    )
    assert by_contract["ICBC-004"].borrower_id_number == borrower_id(5, born=D(1970, 2, 1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.items[0].status = "repaid"
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.next_before = 3
    assert isinstance(page.items, tuple)


def test_pages_of_two_give_every_loan_once_newest_first(portfolio):
    seen, cursors, before = [], [], None
    with portfolio() as s:
        while True:
            page = loans_page(s, limit=2, before=before)
            seen.append(ids(page))
            if page.next_before is None:
                break
            before = page.next_before
            cursors.append(before)
        assert cursors == [5, 3]
        # The same cursor again is the same page.
        assert loans_page(s, limit=2, before=5) == loans_page(s, limit=2, before=5)
        assert ids(loans_page(s, limit=2, before=5)) == [4, 3]
        assert ids(loans_page(s, limit=5)) == [6, 5, 4, 3, 2]
        assert loans_page(s, limit=5).next_before == 2
        assert loans_page(s, limit=6).next_before is None
        assert loans_page(s, before=1).items == ()
    assert seen == [[6, 5], [4, 3], [2, 1]]


def test_a_page_is_one_query(portfolio):
    with portfolio() as s, selects(portfolio) as seen:
        loans_page(s, bank="ICBC", district="D01", limit=2)
    assert len(seen) == 1


def test_filters(portfolio):
    with portfolio() as s:
        assert ids(loans_page(s, bank="ICBC")) == [5, 4, 3, 1]
        assert ids(loans_page(s, bank="ABC")) == [6, 2]
        assert ids(loans_page(s, bank="BOC")) == []
        assert ids(loans_page(s, district="D01")) == [4, 3, 1]
        assert ids(loans_page(s, district="D02", bank="ABC")) == [6, 2]
        assert ids(loans_page(s, status="active")) == [6, 4, 3, 1]
        assert ids(loans_page(s, status="claimed")) == [2]
        assert ids(loans_page(s, status="repaid")) == [5]
        assert ids(loans_page(s, status="written_off")) == []
        window = loans_page(s, disbursed_from=D(2025, 4, 1), disbursed_to=D(2025, 5, 1))
        assert ids(window) == [5, 4, 3]
        assert ids(loans_page(s, disbursed_from=D(2025, 5, 2))) == [6]
        assert ids(loans_page(s, disbursed_to=D(2025, 3, 10))) == [2, 1]
        both = loans_page(s, bank="ICBC", status="active", disbursed_from=D(2025, 4, 1), limit=1)
        assert (ids(both), both.next_before) == ([4], 4)
        assert ids(loans_page(s, bank="ICBC", status="active", before=4)) == [3, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"status": "overdue"},
            "unknown loan status 'overdue'; use one of: active, repaid, claimed, written_off, "
            "recovered",
        ),
        (
            {"disbursed_from": D(2025, 4, 1), "disbursed_to": D(2025, 3, 31)},
            "the disbursement date range ends (2025-03-31) before it starts (2025-04-01)",
        ),
        ({"limit": 0}, "a page holds 1 to 1000 rows, not 0"),
        ({"limit": 1001}, "a page holds 1 to 1000 rows, not 1001"),
    ],
    ids=["status", "dates", "limit-0", "limit-1001"],
)
def test_a_filter_it_cannot_have_is_refused_by_name(fund, kwargs, message):
    with fund() as s, pytest.raises(FilterError) as info:
        loans_page(s, **kwargs)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError) and info.value.code == "invalid-filter"


def test_loan_detail_as_of_a_date(portfolio):
    # The entries are read twice and compared: the PostgreSQL sealer must be done first.
    assert drain_sealer(portfolio.kw["bind"])
    with portfolio() as s:
        d = loan_detail(s, "ABC", "ABC-001", D(2025, 12, 31))
        before_claim = loan_detail(s, "ABC", "ABC-001", D(2025, 7, 13))
        row = loans.get_loan(s, "ABC", "ABC-001")
        position = loans.loan_position(s, row, D(2025, 12, 31))
        schedule = loans.loan_schedule(row)
        views = {e.id: entry(s, e.id) for e in d.entries}
    assert (d.loan.contract_no, d.loan.status, d.loan.method) == (
        "ABC-001",
        "claimed",
        "interest_only",
    )
    assert (d.loan.maturity, d.loan.principal_outstanding, d.loan.coverage_ppm) == (
        D(2026, 3, 10),
        5_000_000,
        800_000,
    )
    assert (d.borrower.name, d.borrower.district, d.borrower.categories) == (
        "李四",
        "D02",
        ("veteran",),
    )
    assert (d.commitment.number, d.commitment.status, d.commitment.amount) == (
        "G2025-ABC-00002",
        "used",
        5_000_000,
    )
    # The position and schedule the operations compute for the loan.
    assert (d.position, d.schedule) == (position, schedule)
    # Paid 40,000 (80 % of 50,000) on 07-15; 8,000 of the 10,000 recovered is the fund's.
    assert (d.exposure, d.receivable) == (0, 3_200_000)
    assert (before_claim.exposure, before_claim.receivable) == (4_000_000, 0)
    assert before_claim.position.days_overdue == 94  # interest of 04-10 unpaid
    assert [
        (c.number, c.status, c.filed_on, c.days_overdue, c.loss, c.amount) for c in d.claims
    ] == [
        ("C2025-ABC-00001", "rejected", D(2025, 7, 10), 91, 5_000_000, 4_000_000),
        ("C2025-ABC-00002", "paid", D(2025, 7, 12), 93, 5_000_000, 4_000_000),
    ]
    assert (d.claims[0].reject_reason, d.claims[1].paid_by, d.claims[1].decided_by) == (
        "材料不全",
        "approver2",
        "approver",
    )
    assert [(r.recovered_on, r.total, r.fund_share, r.bank_share, r.source, r.reference)
            for r in d.recoveries] == [
        (D(2025, 9, 1), 1_000_000, 800_000, 200_000, "borrower", "法院执行")
    ]  # fmt: skip
    assert d.repayments == () and d.extensions == () and d.counter_guarantees == ()
    # The entries that moved its exposure or receivable, oldest first, as the journal's
    # own values; each moved this loan by its share.
    assert [(e.kind, e.effective_date, d.moved(e)) for e in d.entries] == [
        ("loan.disbursement", D(2025, 3, 10), 4_000_000),
        ("claim.approval", D(2025, 7, 14), 4_000_000),
        ("claim.payment", D(2025, 7, 15), 4_000_000),
        ("recovery", D(2025, 9, 1), 800_000),
    ]
    assert all(isinstance(e, EntryView) for e in d.entries)
    # Each entry as the journal has it, but with its postings on the loan's accounts only
    # (and without the entry's whole amount, which the page does not show).
    own = (d.exposure_account, d.receivable_account)
    assert {e.id: e for e in d.entries} == {
        i: dataclasses.replace(
            v, postings=tuple(p for p in v.postings if p.account in own), amount=0
        )
        for i, v in views.items()
    }
    # The claim's approval posts beyond the loan (the claims payable): left out here.
    assert len(views[d.entries[1].id].postings) > len(d.entries[1].postings) == 1
    assert (d.exposure_account, d.receivable_account) == (
        f"memo:exposure:ABC:L{d.loan.id}",
        f"asset:receivable:L{d.loan.id}",
    )
    for value, field in (
        (d, "exposure"), (d.loan, "status"), (d.borrower, "name"), (d.commitment, "status"),
        (d.claims[0], "status"), (d.recoveries[0], "total"), (d.entries[0], "kind"),
    ):  # fmt: skip
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)


def test_loan_detail_of_repayments_reversals_extensions_and_counter_guarantees(fund, borrower):
    from ledger.fund import guarantees, loans
    from ledger.fund.guarantees import CounterGuaranteeSpec
    from tests.fund.conftest import run

    def work(s):
        c = guarantees.approve_guarantee(
            s, id_number=borrower, bank="ICBC", amount=10_000_000, term_months=12,
            on=D(2025, 3, 1), actor="approver",
            counter_guarantees=[CounterGuaranteeSpec("mortgage", 30_000_000, description="房产")],
        )  # fmt: skip
        loans.disburse(
            s, bank="ICBC", contract_no="ICBC-9", guarantee_no=c.number, borrower_name="张三",
            id_number=borrower, disbursed_on=D(2025, 3, 5), maturity_on=D(2026, 3, 5),
            principal=10_000_000, annual_rate_ppm=43_500, method="bullet", actor="icbc",
        )  # fmt: skip
        for ref, principal in (("R1", 2_000_000), ("R2", 1_000_000)):
            loans.repay(
                s, bank="ICBC", bank_ref=ref, contract_no="ICBC-9", paid_on=D(2025, 9, 5),
                principal=principal, interest=0, actor="icbc",
            )  # fmt: skip
        loans.reverse_repayment(
            s, bank="ICBC", bank_ref="R1-X", reversal_of="R1", on=D(2025, 9, 6), actor="icbc"
        )
        loans.extend_loan(
            s, bank="ICBC", contract_no="ICBC-9", new_maturity=D(2026, 9, 5),
            on=D(2026, 2, 1), actor="approver",
        )  # fmt: skip

    run(fund, work)
    with fund() as s:
        d = loan_detail(s, "ICBC", "ICBC-9", D(2025, 10, 1))
    assert [(r.bank_ref, r.principal, r.reverses, r.reversed_by) for r in d.repayments] == [
        ("R1", 2_000_000, None, "R1-X"),
        ("R2", 1_000_000, None, None),
        ("R1-X", 2_000_000, "R1", None),
    ]
    # Only R2 counts: 90,000 outstanding; the running total says the same.
    assert (d.position.principal_outstanding, d.loan.principal_outstanding) == (
        9_000_000,
        9_000_000,
    )
    assert d.exposure == 7_200_000
    assert [(e.old_maturity, e.new_maturity, e.approved_by) for e in d.extensions] == [
        (D(2026, 3, 5), D(2026, 9, 5), "approver")
    ]
    assert (d.loan.maturity_on, d.loan.maturity, d.loan.extended_on) == (
        D(2026, 3, 5),
        D(2026, 9, 5),
        D(2026, 2, 1),
    )
    assert [(cg.kind, cg.value, cg.status, cg.description) for cg in d.counter_guarantees] == [
        ("mortgage", 30_000_000, "held", "房产")
    ]
    # Disbursement 80,000; R1 16,000 and R2 8,000 (80 %), each its own batch's entry; the
    # reversal of R1 puts its 16,000 back.
    assert [(e.kind, e.effective_date, d.moved(e)) for e in d.entries] == [
        ("loan.disbursement", D(2025, 3, 5), 8_000_000),
        ("loan.repayment", D(2025, 9, 5), 1_600_000),
        ("loan.repayment", D(2025, 9, 5), 800_000),
        ("loan.repayment", D(2025, 9, 6), 1_600_000),
    ]
    reversal = d.entries[-1]
    assert [(p.account, p.side) for p in reversal.postings if p.account == d.exposure_account] == [
        (d.exposure_account, "D")
    ]
    assert d.borrower.birth_date == BORN


def test_loan_detail_of_an_unknown_loan(fund):
    with fund() as s, pytest.raises(StateError) as info:
        loan_detail(s, "ICBC", "NOPE", dt.date(2025, 1, 1))
    assert str(info.value) == "bank ICBC has no loan with contract number NOPE"
