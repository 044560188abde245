"""The guarantee fee (担保费): a loan's fee over a period, the fees due under the loans'
rules, and a fee received, posted as income of the fund split over the capital sources."""

from __future__ import annotations

from datetime import date

import pytest

from ledger import chart
from ledger.balances import trial_balance
from ledger.fund import capital, fees, guarantees, loans, queries
from ledger.fund.books import balance_now, subtree_balance_now
from ledger.fund.errors import (
    DuplicateReferenceError,
    GuaranteeFeeCapError,
    GuaranteeFeeError,
    PermissionDeniedError,
    PolicyError,
)
from ledger.fund.fees import FeeDue, FeeLine, guarantee_fee
from ledger.fund.models import GuaranteeFee
from ledger.fund.policy import load_overrides_file, record_override, validate_params
from ledger.fund.schedule import Payment
from tests.fund.conftest import D, refused, run, snapshot

P = 10_000_000  # 10万 yuan
ONE_PERCENT = 10_000
REF = "财社〔2025〕担保费1号"


def fee(**overrides):
    args = {
        "principal": P,
        "rate_ppm": ONE_PERCENT,
        "disbursed_on": D(2025, 3, 5),
        "payments": [Payment(D(2025, 5, 31), 2_000_000, 0)],
        "period_from": D(2025, 4, 1),
        "period_to": D(2025, 6, 30),
    } | overrides
    return guarantee_fee(**args)


# --- the fee of one loan ------------------------------------------------------------------


def test_fee_over_a_quarter_with_a_repayment():
    # 04-01 … 05-31: 61 days of 100,000 (the 05-31 payment counts from 06-01); 06-01 …
    # 06-30: 30 days of 80,000. (6,100,000 + 2,400,000) × 1 % / 365 = 232.8767 → 232.88.
    assert fee() == FeeLine(days=91, fee=23_288)


def test_a_whole_calendar_year_is_exactly_the_rate():
    whole = {"disbursed_on": D(2023, 12, 1), "payments": [], "principal": 1_000_000}
    # Leap year: 366 days of 1/366 each; a common year: 365 of 1/365.
    assert fee(period_from=D(2024, 1, 1), period_to=D(2024, 12, 31), **whole) == FeeLine(
        366, 10_000
    )
    assert fee(period_from=D(2025, 1, 1), period_to=D(2025, 12, 31), **whole) == FeeLine(
        365, 10_000
    )
    # Across the year end each day weighs as its own year's: 184/366 + 181/365 of 1 %
    # = 99.862 yuan → 99.86.
    assert fee(period_from=D(2024, 7, 1), period_to=D(2025, 6, 30), **whole) == FeeLine(365, 9_986)


def test_days_before_disbursement_after_repayment_and_after_compensation_earn_nothing():
    # Disbursed mid-period: 03-05 … 03-31 = 27 days of 100,000: 73.97 yuan.
    assert fee(period_from=D(2025, 3, 1), period_to=D(2025, 3, 31), payments=[]) == FeeLine(
        27, 7_397
    )
    # Repaid in full on 04-25: it still counts that day; 25 days of 100,000 = 68.49 yuan.
    repaid = [Payment(D(2025, 4, 25), P, 0)]
    assert fee(payments=repaid) == FeeLine(25, 6_849)
    # The fund paid compensation on 06-01: the guarantee ended that day.
    assert fee(ended_on=D(2025, 6, 1)) == FeeLine(61, 16_712)
    # No fee rate, no fee (the days are still the loan's).
    assert fee(rate_ppm=0) == FeeLine(91, 0)


def test_fee_inputs_checked():
    with pytest.raises(ValueError, match=r"period ends \(2025-03-31\) before it starts"):
        fee(period_from=D(2025, 4, 1), period_to=D(2025, 3, 31))
    with pytest.raises(ValueError, match="fee rate must be 0 to 1000000 ppm"):
        fee(rate_ppm=-1)
    with pytest.raises(ValueError, match="principal must be a positive integer"):
        fee(principal=0)


# --- the policy: at most 1 % a year -------------------------------------------------------


def test_a_fee_rate_above_one_percent_is_refused_by_name(session, tmp_path):
    validate_params({"guarantee_fee": {"rate_ppm": 10_000}}, partial=True)
    with pytest.raises(GuaranteeFeeCapError) as err:
        validate_params({"guarantee_fee": {"rate_ppm": 10_001}}, partial=True)
    assert err.value.code == "guarantee-fee-cap"
    assert isinstance(err.value, PolicyError)
    assert str(err.value) == (
        "policy key guarantee_fee.rate_ppm is 1.0001% a year (10001 ppm): the guarantee fee "
        "may be at most 1.00% a year (10000 ppm) of the principal guaranteed"
    )
    assert err.value.zh == (
        "政策参数 guarantee_fee.rate_ppm 为每年 1.0001%（10001 ppm），担保费最高为担保本金的"
        "每年 1.00%（10000 ppm）"
    )
    # A locality's file says which override is wrong, with the same named error.
    local = tmp_path / "local.toml"
    local.write_text(
        "[[override]]\neffective_from = 2026-01-01\nguarantee_fee = { rate_ppm = 15_000 }\n",
        encoding="utf-8",
    )
    with pytest.raises(GuaranteeFeeCapError) as err:
        load_overrides_file(local)
    assert str(err.value) == (
        f"{local}: override #1 (2026-01-01): policy key guarantee_fee.rate_ppm is 1.50% a year "
        "(15000 ppm): the guarantee fee may be at most 1.00% a year (10000 ppm) of the "
        "principal guaranteed"
    )
    with pytest.raises(PolicyError, match=r"^policy key guarantee_fee.payer must be one of"):
        validate_params({"guarantee_fee": {"payer": "bank"}}, partial=True)


def test_recording_a_fee_rate_above_one_percent_is_refused(fund):
    e = refused(
        GuaranteeFeeCapError, run, fund,
        lambda s: record_override(
            s, effective_from=D(2026, 1, 1), params={"guarantee_fee": {"rate_ppm": 12_000}},
            actor="admin", today=D(2025, 12, 1),
        ),
    )  # fmt: skip
    assert e.code == "guarantee-fee-cap"


# --- fees due and received ----------------------------------------------------------------


@pytest.fixture
def charged(fund, borrower):
    """From 2025-01-01 the locality charges 1 % a year; 张三's 100,000 yuan loan ICBC-001,
    disbursed 2025-03-05, 20,000 repaid on 2025-05-31."""

    def work(s):
        record_override(
            s, effective_from=D(2025, 1, 1), params={"guarantee_fee": {"rate_ppm": ONE_PERCENT}},
            actor="admin", today=D(2025, 1, 1), note="市财政局 2024 年第 30 号文",
        )  # fmt: skip
        c = guarantees.approve_guarantee(
            s, id_number=borrower, bank="ICBC", amount=P, term_months=12, on=D(2025, 3, 1),
            actor="approver", project_kind="micro_profit", trade="catering",
        )  # fmt: skip
        loans.disburse(
            s, bank="ICBC", contract_no="ICBC-001", guarantee_no=c.number, borrower_name="张三",
            id_number=borrower, disbursed_on=D(2025, 3, 5), maturity_on=D(2026, 3, 5),
            principal=P, annual_rate_ppm=45_000, method="bullet", actor="icbc",
        )  # fmt: skip
        loans.repay(
            s, bank="ICBC", bank_ref="R1", contract_no="ICBC-001", paid_on=D(2025, 5, 31),
            principal=2_000_000, interest=0, actor="icbc",
        )  # fmt: skip

    run(fund, work)
    return fund


RECEIVED = D(2025, 7, 10)


def record(fund, amount=23_288, *, on=RECEIVED, ref=REF, actor="clerk", **kw):
    args = {"period_from": D(2025, 4, 1), "period_to": D(2025, 6, 30)} | kw
    return run(
        fund,
        lambda s: fees.record_guarantee_fee(s, amount, on, ref, actor=actor, **args),
    )


def test_fees_due_at_the_loans_own_rate(charged):
    with charged() as s:
        assert fees.fees_due(s, D(2025, 4, 1), D(2025, 6, 30)) == [
            FeeDue("ICBC", "ICBC-001", ONE_PERCENT, 91, 23_288)
        ]
        assert fees.fees_due(s, D(2025, 4, 1), D(2025, 6, 30), bank="ABC") == []
        # Before the loan, nothing.
        assert fees.fees_due(s, D(2025, 1, 1), D(2025, 3, 4)) == []
        with pytest.raises(GuaranteeFeeError, match="the period ends"):
            fees.fees_due(s, D(2025, 4, 1), D(2025, 3, 1))


def test_a_fee_received_is_income_split_over_the_sources(charged):
    before = snapshot(charged)
    with charged() as s:
        treasury = balance_now(s, chart.TREASURY)
    row = record(charged)
    # Pro rata to contributed capital on 07-10 (5 : 2 : 0.6 : 0.4 of 8,000,000 yuan); the
    # largest remainder (district-D01's 0.6 fen) takes the odd fen.
    assert row.allocation == {
        "provincial": 14_555,
        "city": 5_822,
        "district-D01": 1_747,
        "other": 1_164,
    }
    assert sum(row.allocation.values()) == 23_288
    assert (row.payer, row.bank_code, row.period_from, row.period_to) == (
        "finance_bureau", None, D(2025, 4, 1), D(2025, 6, 30),
    )  # fmt: skip
    with charged() as s:
        assert balance_now(s, chart.TREASURY) == treasury + 23_288
        assert subtree_balance_now(s, chart.GUARANTEE_FEE_INCOME) == 23_288
        for source, fen in row.allocation.items():
            assert balance_now(s, chart.guarantee_fee_income_account(source)) == fen
        tb = trial_balance(s)
        assert tb.net == 0
        # Income of the sources: capital by source counts it, and net capital still equals
        # the assets less the liabilities.
        by_source = {x.code: x for x in queries.capital_by_source(s, D(2025, 7, 10))}
        assert {code: x.income for code, x in by_source.items()} == row.allocation
        assets = sum(
            subtree_balance_now(s, code)
            for code in (chart.TREASURY, chart.SPECIAL, chart.RECEIVABLE)
        )
        liabilities = subtree_balance_now(s, chart.CLAIMS_PAYABLE)
        assert sum(x.net for x in by_source.values()) == assets - liabilities
        stored = s.get(GuaranteeFee, row.id)
        assert (stored.reference, stored.amount, stored.entry_id) == (REF, 23_288, row.entry_id)
    # The entry moved the treasury and the four income accounts, nothing else.
    changed = sorted(set(snapshot(charged)) - set(before))
    assert [code for code, _, _ in changed] == [
        chart.TREASURY,
        *sorted(chart.guarantee_fee_income_account(src) for src in row.allocation),
    ]


def test_the_same_fee_again_is_the_one_recorded_and_other_content_is_refused(charged):
    first = record(charged)
    tb = snapshot(charged)
    again = record(charged)
    assert again.id == first.id and snapshot(charged) == tb
    e = refused(DuplicateReferenceError, record, charged, 23_289)
    assert str(e) == (
        f"reference {REF} was already recorded as a guarantee fee of 232.88 yuan received on "
        "2025-07-10"
    )
    assert e.zh == f"凭证号 {REF} 已登记为 2025-07-10 到账的担保费 232.88 元"
    assert snapshot(charged) == tb


def test_a_fee_paid_into_a_special_account(charged):
    with charged() as s:
        held = balance_now(s, chart.special_account("ABC"))
    row = record(charged, ref="ABC-FEE-1", bank="ABC")
    assert row.bank_code == "ABC"
    with charged() as s:
        assert balance_now(s, chart.special_account("ABC")) == held + 23_288


def test_refusals_write_nothing(charged):
    tb = snapshot(charged)
    # Where the rules charge none: the national default.
    e = refused(GuaranteeFeeError, record, charged, period_from=D(2024, 10, 1),
                period_to=D(2024, 12, 31))  # fmt: skip
    assert (e.code, str(e)) == (
        "guarantee-fee",
        "the rules in force on 2024-10-01 charge no guarantee fee (guarantee_fee.rate_ppm is "
        "0); a locality that charges one records it in its rules",
    )
    assert e.zh == (
        "2024-10-01 适用的政策不收取担保费（guarantee_fee.rate_ppm 为 0），"
        "收取担保费须先在本地政策中规定"
    )
    e = refused(GuaranteeFeeError, record, charged, on=date(2099, 1, 1))
    assert (str(e), e.zh) == (
        "fee date 2099-01-01 is in the future",
        "担保费到账日期 2099-01-01 晚于今天",
    )
    e = refused(GuaranteeFeeError, record, charged, 0)
    assert e.zh == "担保费金额必须大于零"
    e = refused(GuaranteeFeeError, record, charged, ref="  ")
    assert str(e) == "a guarantee fee needs its payment's reference"
    e = refused(GuaranteeFeeError, record, charged, period_to=D(2025, 3, 31))
    assert str(e) == "the period ends (2025-03-31) before it starts (2025-04-01)"
    # A bank user, an auditor: not theirs to record.
    refused(PermissionDeniedError, record, charged, actor="icbc")
    refused(PermissionDeniedError, record, charged, actor="auditor")
    assert snapshot(charged) == tb
    # Nothing recorded, so capital by source is as it was.
    with charged() as s:
        assert sum(x.income for x in capital.capital_by_source(s, D(2025, 12, 31))) == 0
