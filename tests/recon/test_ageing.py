"""Overdue ageing of a small hand-built fund on a stated day: each loan's days overdue,
overdue principal and bucket to the day and the fen, the counts per bank, fund and
bucket, the loans reaching the policy's claim threshold on that very day (not the day
before or after), and the ``ageing`` job's counts and alert."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from jobs.recon import ageing_job
from ledger.fund import capital, funds, guarantees, loans, reference
from ledger.fund.borrowers import register_borrower
from ledger.fund.policy import rules_on
from ledger.fund.positions import outstanding_loans
from ledger.ops.models import Alert
from ledger.recon.ageing import ageing
from tests.fund.conftest import D, borrower_id, run, setup_fund

#: The day the figures are asked for.
ON = D(2026, 6, 30)
DAY = dt.timedelta(days=1)
#: 城西区's own fund (D02) from 2025-02-01: its residents' guarantees draw on it.
D02_ESTABLISHED = D(2025, 2, 1)

#: (contract, bank, borrower serial, district, method, principal fen, disbursed, maturity).
#: Bullet loans fall due once, on maturity: never repaid, they are overdue on ON by the
#: days from maturity (the contract's suffix; D0 falls due on ON itself, so is not yet).
LOANS = (
    ("ICBC-D1", "ICBC", 21, "D01", "bullet", 1_000_000, D(2025, 12, 29), D(2026, 6, 29)),
    ("ABC-D30", "ABC", 22, "D03", "bullet", 2_000_000, D(2025, 11, 30), D(2026, 5, 31)),
    ("ICBC-D31", "ICBC", 23, "D01", "bullet", 3_000_000, D(2025, 11, 30), D(2026, 5, 30)),
    ("ICBC-D90", "ICBC", 24, "D03", "bullet", 4_000_000, D(2025, 10, 1), D(2026, 4, 1)),
    ("ABC-D91", "ABC", 25, "D01", "bullet", 5_000_000, D(2025, 9, 30), D(2026, 3, 31)),
    ("ICBC-D180", "ICBC", 26, "D02", "bullet", 6_000_000, D(2025, 7, 1), D(2026, 1, 1)),
    ("ICBC-D181", "ICBC", 27, "D02", "bullet", 7_000_000, D(2025, 6, 30), D(2025, 12, 31)),
    ("ICBC-D0", "ICBC", 28, "D01", "bullet", 8_000_000, D(2025, 12, 30), D(2026, 6, 30)),
    # Interest due monthly on the 10th (the first 18,750.00 fen: 5,000,000 × 4.5 % × 30 /
    # 360), paid only on 06-20, late; the one due 06-10 is not: overdue from 06-10.
    ("ABC-LATE", "ABC", 29, "D03", "interest_only", 5_000_000, D(2026, 4, 10), D(2026, 10, 10)),
    # Due 2026-03-22 and partly repaid (20,000.00 of 50,000.00 on 05-01): still overdue
    # from its due date, 30,000.00 of principal.
    ("ICBC-PART", "ICBC", 30, "D02", "bullet", 5_000_000, D(2025, 9, 22), D(2026, 3, 22)),
    # Due 2026-03-01, repaid in full 116 days late, on 06-25: no longer outstanding.
    ("ABC-REPAID", "ABC", 31, "D01", "bullet", 5_000_000, D(2025, 9, 1), D(2026, 3, 1)),
)  # fmt: skip

#: Each overdue loan on ON: (contract, bank, fund, principal outstanding, overdue
#: principal, days overdue, bucket).
OVERDUE_ON = [
    ("ABC-D30", "ABC", "CITY", 2_000_000, 2_000_000, 30, "1-30"),
    ("ABC-D91", "ABC", "CITY", 5_000_000, 5_000_000, 91, "91-180"),
    ("ABC-LATE", "ABC", "CITY", 5_000_000, 0, 20, "1-30"),
    ("ICBC-D1", "ICBC", "CITY", 1_000_000, 1_000_000, 1, "1-30"),
    ("ICBC-D180", "ICBC", "D02", 6_000_000, 6_000_000, 180, "91-180"),
    ("ICBC-D181", "ICBC", "D02", 7_000_000, 7_000_000, 181, ">180"),
    ("ICBC-D31", "ICBC", "CITY", 3_000_000, 3_000_000, 31, "31-90"),
    ("ICBC-D90", "ICBC", "CITY", 4_000_000, 4_000_000, 90, "31-90"),
    ("ICBC-PART", "ICBC", "D02", 3_000_000, 3_000_000, 100, "91-180"),
]


@pytest.fixture
def aged(factory):
    """The fund of ``tests/fund/conftest.setup_fund`` with 城西区's own fund (200,000.00
    placed at ICBC) and the loans of :data:`LOANS`, their payments recorded; returns the
    factory."""
    setup_fund(factory)

    def work(s):
        funds.add_fund(s, "D02", "城西区担保基金", "D02", D02_ESTABLISHED, actor="admin")
        reference.add_capital_source(
            s, "D02-own", "城西区区级出资", "district", district="D02", fund="D02", actor="admin"
        )
        a = capital.record_allocation(s, "D02-own", 50_000_000, D(2025, 2, 3), actor="clerk")
        capital.approve_allocation(s, a.id, actor="approver")
        capital.place_capital(s, "ICBC", 20_000_000, D(2025, 2, 5), actor="clerk", fund="D02")
        for contract, bank, serial, district, method, principal, disbursed, maturity in sorted(
            LOANS, key=lambda x: x[6]
        ):
            name = f"借款人{serial}"
            register_borrower(
                s, id_number=borrower_id(serial), name=name, district=district,
                categories=["registered_unemployed"], actor="clerk",
            )  # fmt: skip
            c = guarantees.approve_guarantee(
                s, id_number=borrower_id(serial), bank=bank, amount=principal, term_months=12,
                on=disbursed - 3 * DAY, actor="approver",
            )  # fmt: skip
            loans.disburse(
                s, bank=bank, contract_no=contract, guarantee_no=c.number, borrower_name=name,
                id_number=borrower_id(serial), disbursed_on=disbursed, maturity_on=maturity,
                principal=principal, annual_rate_ppm=45_000, method=method,
                actor=bank.lower(),
            )  # fmt: skip
        for bank, ref, contract, paid_on, principal, interest in (
            ("ICBC", "R-PART", "ICBC-PART", D(2026, 5, 1), 2_000_000, 0),
            ("ABC", "R-LATE", "ABC-LATE", D(2026, 6, 20), 0, 18_750),
            ("ABC", "R-REPAID", "ABC-REPAID", D(2026, 6, 25), 5_000_000, 0),
        ):
            loans.repay(
                s, bank=bank, bank_ref=ref, contract_no=contract, paid_on=paid_on,
                principal=principal, interest=interest, actor=bank.lower(),
            )  # fmt: skip

    run(factory, work)
    return factory


def _rows(figures):
    return sorted(
        (f.contract_no, f.bank, f.fund, f.principal_outstanding, f.overdue_principal,
         f.days_overdue, f.bucket)
        for f in figures
    )  # fmt: skip


def test_each_loans_days_overdue_principal_and_bucket(aged):
    with aged() as s:
        result = ageing(s, ON)
        outstanding = outstanding_loans(s, ON)
    assert result.on == ON
    assert _rows(result.overdue) == OVERDUE_ON
    # Falling due on ON is not overdue yet; a loan repaid in full, however late, is gone.
    current = [r for r in _rows(outstanding) if r[5] == 0]
    assert current == [("ICBC-D0", "ICBC", "CITY", 8_000_000, 0, 0, "current")]
    assert "ABC-REPAID" not in {f.contract_no for f in outstanding}
    assert len(outstanding) == len(OVERDUE_ON) + 1


def test_bucket_counts_per_bank_fund_and_bucket(aged):
    with aged() as s:
        result = ageing(s, ON)
    assert result.buckets == {
        ("ABC", "CITY", "1-30"): 2,
        ("ABC", "CITY", "91-180"): 1,
        ("ICBC", "CITY", "1-30"): 1,
        ("ICBC", "CITY", "31-90"): 2,
        ("ICBC", "D02", ">180"): 1,
        ("ICBC", "D02", "91-180"): 2,
    }
    assert list(result.buckets) == sorted(result.buckets)


def test_the_day_before_the_loans_are_one_day_younger(aged):
    with aged() as s:
        result = ageing(s, ON - DAY)
    # ICBC-D1 falls due that day, so is not overdue yet; ICBC-D181 is still in 91-180.
    assert _rows(result.overdue) == sorted(
        [
            ("ABC-D30", "ABC", "CITY", 2_000_000, 2_000_000, 29, "1-30"),
            ("ABC-D91", "ABC", "CITY", 5_000_000, 5_000_000, 90, "31-90"),
            ("ABC-LATE", "ABC", "CITY", 5_000_000, 0, 19, "1-30"),
            ("ICBC-D180", "ICBC", "D02", 6_000_000, 6_000_000, 179, "91-180"),
            ("ICBC-D181", "ICBC", "D02", 7_000_000, 7_000_000, 180, "91-180"),
            ("ICBC-D31", "ICBC", "CITY", 3_000_000, 3_000_000, 30, "1-30"),
            ("ICBC-D90", "ICBC", "CITY", 4_000_000, 4_000_000, 89, "31-90"),
            ("ICBC-PART", "ICBC", "D02", 3_000_000, 3_000_000, 99, "91-180"),
        ]
    )


def test_claim_eligible_exactly_on_the_day_the_threshold_is_reached(aged):
    with aged() as s:
        assert rules_on(s, ON)["claim_after_days_overdue"] == 90
        by_day = {day: ageing(s, day).claim_eligible for day in (ON - DAY, ON, ON + DAY)}
    # ABC-D91 reaches 90 days the day before, ICBC-D90 on ON; the day after, none does.
    assert [(f.contract_no, f.days_overdue) for f in by_day[ON - DAY]] == [("ABC-D91", 90)]
    assert [(f.contract_no, f.days_overdue) for f in by_day[ON]] == [("ICBC-D90", 90)]
    assert by_day[ON + DAY] == ()
    (eligible,) = by_day[ON]
    assert (eligible.bank, eligible.fund, eligible.overdue_principal) == ("ICBC", "CITY", 4_000_000)


def test_the_ageing_job_counts_and_proposes_the_eligible_loans(aged):
    counts = ageing_job(aged, ON)
    assert counts == {
        "overdue_1-30": 3,
        "overdue_31-90": 2,
        "overdue_91-180": 3,
        "overdue_>180": 1,
        "claim_eligible": 1,
    }
    with aged() as s:
        (alert,) = s.scalars(select(Alert)).all()
    assert (alert.kind, alert.severity, alert.job, alert.period) == (
        "claims-eligible", "info", "ageing", "2026-06-30",
    )  # fmt: skip
    assert alert.subject == "2026-06-30 有 1 笔贷款逾期达到代偿条件（待经办人审查，不自动申请）"
    assert alert.detail == "ICBC/ICBC-D90"
    assert alert.times == 1
    # The day after: nobody reaches the threshold, so no alert is raised.
    after = ageing_job(aged, ON + DAY)
    assert after == {
        "overdue_1-30": 3,  # ICBC-D0 came in, ABC-D30 moved on to 31-90
        "overdue_31-90": 2,  # ICBC-D90 moved on to 91-180
        "overdue_91-180": 3,  # ICBC-D180 moved on to >180
        "overdue_>180": 2,
        "claim_eligible": 0,
    }
    # ON again: the same open alert, counted.
    assert ageing_job(aged, ON) == counts
    with aged() as s:
        (alert,) = s.scalars(select(Alert)).all()
    assert alert.times == 2
