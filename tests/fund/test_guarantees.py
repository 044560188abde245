"""Guarantee approvals: eligibility, limits by era, repeat loans, suspension,
counter-guarantees, numbering, cancellation, and rules frozen at approval."""

from __future__ import annotations

from ledger.fund import claims, guarantees, loans
from ledger.fund.books import balance_now
from ledger.fund.borrowers import register_borrower
from ledger.fund.errors import (
    BankSuspendedError,
    CounterGuaranteeError,
    EligibilityError,
    InvalidIdNumberError,
    LimitError,
    MissingCredentialError,
    PolicyError,
    RepeatLoanError,
    StateError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.identity import Sex
from ledger.fund.policy import record_override
from tests.fund.conftest import D, borrower_id, refused, run

ON = D(2025, 3, 1)
BORN = D(1985, 4, 1)
CG_MEMO = "memo:counter-guarantees:ICBC"


def register(fund, serial, name="李四", categories=("veteran",), *, born=BORN,
             sex=Sex.MALE, kind="individual", heads=1):  # fmt: skip
    number = borrower_id(serial, born=born, sex=sex)
    run(
        fund,
        lambda s: register_borrower(
            s,
            id_number=number,
            name=name,
            district="D01",
            categories=list(categories),
            borrower_type=kind,
            head_count=heads,
            actor="clerk",
        ),
    )
    return number


def approve(fund, number, amount=5_000_000, *, bank="ICBC", term=12, on=ON, cgs=()):
    return run(
        fund,
        lambda s: guarantees.approve_guarantee(
            s,
            id_number=number,
            bank=bank,
            amount=amount,
            term_months=term,
            on=on,
            actor="approver",
            counter_guarantees=tuple(cgs),
        ),
    )


def disburse(fund, number, commitment, contract, on, maturity, name="张三", principal=5_000_000,
             method="bullet"):  # fmt: skip
    return run(
        fund,
        lambda s: loans.disburse(
            s,
            bank=commitment.bank_code,
            contract_no=contract,
            guarantee_no=commitment.number,
            borrower_name=name,
            id_number=number,
            disbursed_on=on,
            maturity_on=maturity,
            principal=principal,
            annual_rate_ppm=45_000,
            method=method,
            actor="clerk",
        ),
    )


def repay(fund, contract, ref, on, principal):
    run(
        fund,
        lambda s: loans.repay(
            s,
            bank="ICBC",
            bank_ref=ref,
            contract_no=contract,
            paid_on=on,
            principal=principal,
            interest=0,
            actor="icbc",
        ),
    )


# ---------------------------------------------------------------------- eligibility


def test_no_category_or_none_eligible(fund):
    nobody = register(fund, 20, "王五", ())
    e = refused(EligibilityError, approve, fund, nobody)
    assert e.code == "not-eligible"
    assert str(e) == (
        "The borrower has no category; none is eligible under the rules in force on 2025-03-01"
    )
    assert e.zh == "借款人没有任何人员类别，不符合 2025-03-01 适用政策的扶持范围"
    # Veterans became eligible in 2008; under the 2002 rules an individual needs a
    # re-employment certificate first (tests/fund/test_credentials.py).
    veteran = register(fund, 21, "赵六", ("veteran",), born=D(1970, 1, 1))
    e = refused(MissingCredentialError, approve, fund, veteran, 1_000_000, on=D(2007, 6, 1))
    assert (e.code, str(e)) == (
        "credential-missing",
        "the rules in force on 2007-06-01 require a reemployment_certificate for individual "
        "loans; the borrower has none registered",
    )


def test_the_oldest_age_differs_by_sex(fund):
    woman = register(fund, 26, "冯十", ("veteran",), born=D(1969, 2, 1), sex=Sex.FEMALE)
    e = refused(EligibilityError, approve, fund, woman)  # 56 on 2025-03-01
    assert str(e) == (
        "The borrower is 56 on 2025-03-01; the rules in force on that date allow ages 18 to 55"
    )
    man = register(fund, 27, "陈十一", ("veteran",), born=D(1969, 2, 1))
    assert approve(fund, man).number == "G2025-ICBC-00001"


def test_age_out_of_range(fund):
    old = register(fund, 22, born=D(1964, 2, 28))
    e = refused(EligibilityError, approve, fund, old)
    assert str(e) == (
        "The borrower is 61 on 2025-03-01; the rules in force on that date allow ages 18 to 60"
    )
    assert e.zh == "借款人在 2025-03-01 为 61 周岁，不在当日适用政策规定的 18–60 周岁范围内"
    young = register(fund, 23, born=D(2007, 3, 2))
    e = refused(EligibilityError, approve, fund, young)
    assert str(e) == (
        "The borrower is 17 on 2025-03-01; the rules in force on that date allow ages 18 to 60"
    )
    # On his 18th birthday he may.
    assert approve(fund, young, on=D(2025, 3, 2)).number == "G2025-ICBC-00001"


def test_a_registered_4050_person_counts_from_the_qualifying_age(fund):
    woman = register(fund, 24, "周八", ("person_4050",), born=D(1985, 2, 28), sex=Sex.FEMALE)
    e = refused(EligibilityError, approve, fund, woman, on=D(2025, 2, 27))  # 39
    assert str(e) == (
        "The borrower is registered as a 4050 person but is a woman of 39 on 2025-02-27; 4050 "
        "means women aged 40 or more and men aged 50 or more on the application date"
    )
    assert e.zh == (
        "借款人登记为“4050人员”，但 2025-02-27 为 39 周岁女性；“4050人员”指申请之日女性年满 40 "
        "周岁、男性年满 50 周岁"
    )
    c = approve(fund, woman, on=D(2025, 2, 28))  # 40 today
    assert (c.number, c.categories) == ("G2025-ICBC-00001", "person_4050")
    # 4050 is a registration, never inferred from age: a man of 55 not registered is not one.
    man = register(fund, 25, "吴九", (), born=D(1970, 1, 1))
    e = refused(EligibilityError, approve, fund, man)
    assert str(e).startswith("The borrower has no category")


# ------------------------------------------------------------------- limits and term


def test_individual_limit_by_era(fund, borrower):
    # 2025 (era 2020): 200,000 yuan; above 100,000 needs a counter-guarantee.
    waiver = (CounterGuaranteeSpec("credit_community"),)
    e = refused(LimitError, approve, fund, borrower, 20_000_001, cgs=waiver)
    assert e.code == "over-limit"
    assert str(e) == (
        "200,000.01 yuan is over the limit for an individual under the rules in force on "
        "2025-03-01: at most 200,000.00 yuan"
    )
    assert e.zh == "200,000.01 元超过 2025-03-01 适用政策对个人的贷款上限 200,000.00 元"
    # 2019 (era 2018): 150,000 yuan.
    e = refused(LimitError, approve, fund, borrower, 15_000_001, on=D(2019, 6, 1), cgs=waiver)
    assert str(e) == (
        "150,000.01 yuan is over the limit for an individual under the rules in force on "
        "2019-06-01: at most 150,000.00 yuan"
    )
    assert approve(fund, borrower, 20_000_000, cgs=waiver).amount == 20_000_000


def test_partnership_limit_is_per_head_capped(fund):
    five = register(fund, 26, "合伙五人", ("graduate",), kind="partnership", heads=5)
    twelve = register(fund, 27, "合伙十二人", ("graduate",), kind="partnership", heads=12)
    waiver = (CounterGuaranteeSpec("credit_community"),)
    e = refused(LimitError, approve, fund, five, 100_000_001, cgs=waiver)
    assert str(e) == (
        "1,000,000.01 yuan is over the limit for a partnership of 5 partners under the rules "
        "in force on 2025-03-01: at most 1,000,000.00 yuan"
    )
    # 12 heads: 10 counted × 200,000 = 2,000,000, capped at 1,100,000 yuan.
    e = refused(LimitError, approve, fund, twelve, 110_000_001, cgs=waiver)
    assert str(e) == (
        "1,100,000.01 yuan is over the limit for a partnership of 12 partners under the rules "
        "in force on 2025-03-01: at most 1,100,000.00 yuan"
    )
    assert approve(fund, twelve, 110_000_000, cgs=waiver).amount == 110_000_000


def test_term_over_the_maximum(fund, borrower):
    e = refused(LimitError, approve, fund, borrower, term=37)
    assert str(e) == (
        "a term of 37 months is outside 1 to 36 months allowed by the rules in force on 2025-03-01"
    )
    e = refused(LimitError, approve, fund, borrower, term=25, on=D(2019, 6, 1))
    assert str(e) == (
        "a term of 25 months is outside 1 to 24 months allowed by the rules in force on 2019-06-01"
    )
    assert approve(fund, borrower, term=36).term_months == 36


# ---------------------------------------------------------------------- repeat loans


def test_repeat_loans(fund, borrower):
    c1 = approve(fund, borrower)
    e = refused(RepeatLoanError, approve, fund, borrower, on=D(2025, 3, 2))
    assert e.code == "repeat-loan"
    assert str(e) == f"borrower {borrower} already has an unused commitment G2025-ICBC-00001"
    disburse(fund, borrower, c1, "ICBC-001", D(2025, 3, 5), D(2025, 9, 5))
    e = refused(RepeatLoanError, approve, fund, borrower, on=D(2025, 4, 1))
    assert str(e) == (
        f"borrower {borrower} still owes on 1 loan (ICBC-001); the rules allow at most 1 "
        "active loan"
    )
    repay(fund, "ICBC-001", "R1", D(2025, 9, 5), 5_000_000)  # on time
    c2 = approve(fund, borrower, on=D(2025, 9, 10))
    disburse(fund, borrower, c2, "ICBC-002", D(2025, 9, 12), D(2025, 10, 12))
    repay(fund, "ICBC-002", "R2", D(2025, 10, 1), 5_000_000)  # early
    c3 = approve(fund, borrower, on=D(2025, 10, 2))
    disburse(fund, borrower, c3, "ICBC-003", D(2025, 10, 3), D(2025, 11, 3))
    repay(fund, "ICBC-003", "R3", D(2025, 11, 3), 5_000_000)
    e = refused(RepeatLoanError, approve, fund, borrower, on=D(2025, 11, 10))
    assert str(e) == f"borrower {borrower} has had 3 guaranteed loans; the rules allow at most 3"
    assert e.zh == f"借款人 {borrower} 已获得 3 次担保贷款，政策规定最多 3 次"


def test_late_repayment_bars_a_repeat_loan(fund, borrower):
    c1 = approve(fund, borrower)
    disburse(fund, borrower, c1, "ICBC-001", D(2025, 3, 5), D(2025, 9, 5))
    repay(fund, "ICBC-001", "R1", D(2025, 9, 6), 5_000_000)  # a day late
    e = refused(RepeatLoanError, approve, fund, borrower, on=D(2025, 10, 1))
    assert str(e) == (
        f"borrower {borrower} did not repay loan ICBC-001 on time; only borrowers who repaid "
        "on time may borrow again"
    )


# ------------------------------------------------------------------------ suspension


def test_suspension_over_the_compensation_rate(fund, borrower):
    c1 = approve(fund, borrower)
    disburse(fund, borrower, c1, "ICBC-001", D(2025, 3, 5), D(2026, 3, 5), method="interest_only")
    run(
        fund,
        lambda s: claims.file_claim(
            s, bank="ICBC", contract_no="ICBC-001", on=D(2025, 7, 4), actor="icbc"
        ),
    )
    run(fund, lambda s: claims.approve_claim(s, "C2025-ICBC-00001", on=D(2025, 7, 5),
                                             actor="approver"))  # fmt: skip
    other = register(fund, 30)
    # Before the payment, nothing is paid: not suspended.
    assert approve(fund, other, on=D(2025, 7, 5), bank="ABC").number == "G2025-ABC-00001"
    run(fund, lambda s: claims.pay_claim(s, "C2025-ICBC-00001", on=D(2025, 7, 6),
                                         actor="approver2"))  # fmt: skip
    third = register(fund, 31, "郑十")
    e = refused(BankSuspendedError, approve, fund, third, on=D(2025, 7, 6))
    assert e.code == "bank-suspended"
    # 40,000 paid of 50,000 guaranteed = 80 %.
    assert str(e) == (
        "new guarantees at bank ICBC are suspended: its compensation rate is 80.00%, over the "
        "10.00% threshold (claims paid 40,000.00 yuan of 50,000.00 yuan guaranteed)"
    )
    assert e.zh == (
        "ICBC 代偿率 80.00% 超过 10.00%，暂停新增担保（已代偿 40,000.00 元，累计担保 50,000.00 元）"
    )
    # At ABC nothing was paid: not suspended.
    assert approve(fund, third, bank="ABC", on=D(2025, 7, 6)).number == "G2025-ABC-00002"


# ------------------------------------------------------------------ counter-guarantees


def test_counter_guarantee_above_the_threshold(fund, borrower):
    e = refused(CounterGuaranteeError, approve, fund, borrower, 10_000_001)
    assert e.code == "counter-guarantee"
    assert str(e) == (
        "a guarantee over 100,000.00 yuan needs a counter-guarantee (guarantor, mortgage, "
        "pledge, joint group) or a waiver (credit_community)"
    )
    # At the threshold itself none is needed.
    c = approve(fund, borrower, 10_000_000)
    run(fund, lambda s: guarantees.cancel_commitment(s, c.number, "改期", ON, actor="clerk"))
    e = refused(
        CounterGuaranteeError, approve, fund, borrower, 10_000_001,
        cgs=[CounterGuaranteeSpec("credit_community", 100)],
    )  # fmt: skip
    assert str(e) == "counter-guarantee 1: a waiver has no value"
    e = refused(
        CounterGuaranteeError, approve, fund, borrower, 10_000_001,
        cgs=[CounterGuaranteeSpec("mortgage", 0, description="房产")],
    )  # fmt: skip
    assert str(e) == "counter-guarantee 1: a mortgage needs its assessed value"
    e = refused(
        CounterGuaranteeError, approve, fund, borrower, 10_000_001,
        cgs=[CounterGuaranteeSpec("credit_community"), CounterGuaranteeSpec("pledge", 5)],
    )  # fmt: skip
    assert str(e) == ("counter-guarantee 2: describe the pledge (what it is, its registration)")
    c = approve(fund, borrower, 10_000_001, cgs=[CounterGuaranteeSpec("credit_community")])
    assert c.number == "G2025-ICBC-00002"
    with fund() as s:
        assert balance_now(s, CG_MEMO) == 0  # a waiver registers no value


def test_guarantor_is_validated(fund, borrower):
    good = borrower_id(40, born=D(1975, 1, 1))
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    spec = CounterGuaranteeSpec(
        "guarantor", guarantor_name="钱保证", guarantor_id_number=bad, employer_type="enterprise"
    )
    e = refused(InvalidIdNumberError, approve, fund, borrower, 10_000_001, cgs=[spec])
    assert e.code == "invalid-id-number"
    assert str(e) == f"ID number {bad} has a wrong check digit: {bad[-1]}, expected {good[-1]}"
    nameless = CounterGuaranteeSpec("guarantor", guarantor_id_number=good, employer_type="other")
    e = refused(CounterGuaranteeError, approve, fund, borrower, 10_000_001, cgs=[nameless])
    assert str(e) == "counter-guarantee 1: a guarantor needs a name and an ID number"
    odd = CounterGuaranteeSpec(
        "guarantor", guarantor_name="钱保证", guarantor_id_number=good, employer_type="farm"
    )
    e = refused(CounterGuaranteeError, approve, fund, borrower, 10_000_001, cgs=[odd])
    assert str(e) == (
        "counter-guarantee 1: the guarantor's employer type must be one of civil_servant, "
        "public_institution, state_enterprise, enterprise, other"
    )
    ok = CounterGuaranteeSpec(
        "guarantor", guarantor_name="钱保证", guarantor_id_number=good.lower(),
        employer_type="civil_servant",
    )  # fmt: skip
    assert approve(fund, borrower, 10_000_001, cgs=[ok]).number == "G2025-ICBC-00001"


def test_a_guarantor_stands_for_the_rules_number_of_loans_at_once(fund, borrower):
    person = borrower_id(41, born=D(1970, 7, 7))
    spec = CounterGuaranteeSpec(
        "guarantor", guarantor_name="孙保证", guarantor_id_number=person,
        employer_type="civil_servant",
    )  # fmt: skip
    first = approve(fund, borrower, 10_000_001, cgs=[spec])
    other = register(fund, 42, "周借款")
    e = refused(CounterGuaranteeError, approve, fund, other, 10_000_001, cgs=[spec])
    assert str(e) == (
        f"guarantor {person} already guarantees 1 loan ({first.number}); the rules in force "
        "on 2025-03-01 allow 1 at once"
    )
    assert e.zh == (
        f"保证人 {person} 已为 1 笔贷款提供保证（{first.number}），2025-03-01 适用的政策规定"
        "每人同时最多担保 1 笔"
    )
    # A locality that allows two.
    run(
        fund,
        lambda s: record_override(
            s, effective_from=D(2025, 3, 2),
            params={"counter_guarantee": {"max_loans_per_guarantor": 2}}, actor="admin",
            today=D(2025, 3, 1),
        ),
    )  # fmt: skip
    assert approve(fund, other, 10_000_001, on=D(2025, 3, 2), cgs=[spec]).number == (
        "G2025-ICBC-00002"
    )
    # Nobody guarantees their own loan.
    own = CounterGuaranteeSpec(
        "guarantor", guarantor_name="张三", guarantor_id_number=other,
        employer_type="enterprise",
    )  # fmt: skip
    third = register(fund, 43, "吴借款")
    assert approve(fund, third, 10_000_001, on=D(2025, 3, 2), cgs=[own]).number == (
        "G2025-ICBC-00003"
    )
    fourth = register(fund, 44, "郑借款")
    self_ = CounterGuaranteeSpec(
        "guarantor", guarantor_name="郑借款", guarantor_id_number=fourth,
        employer_type="enterprise",
    )  # fmt: skip
    e = refused(
        CounterGuaranteeError, approve, fund, fourth, 10_000_001, on=D(2025, 3, 2), cgs=[self_]
    )
    assert str(e) == "a borrower cannot be the guarantor of their own loan"


# ------------------------------------------------------------- numbering, cancelling


def test_numbering_per_bank_and_year(fund, borrower):
    others = [register(fund, 50 + n, f"借款人{n}") for n in range(3)]
    assert approve(fund, borrower).number == "G2025-ICBC-00001"
    assert approve(fund, others[0]).number == "G2025-ICBC-00002"
    assert approve(fund, others[1], bank="ABC").number == "G2025-ABC-00001"
    assert approve(fund, others[2], on=D(2026, 1, 5)).number == "G2026-ICBC-00001"


def test_cancellation_releases_counter_guarantees(fund, borrower):
    cgs = [
        CounterGuaranteeSpec("mortgage", 15_000_000, description="住房抵押 房产证002号"),
        CounterGuaranteeSpec("pledge", 3_000_001, description="存单质押"),
    ]
    c = approve(fund, borrower, 12_000_000, cgs=cgs)
    with fund() as s:
        assert balance_now(s, CG_MEMO) == 18_000_001
        assert balance_now(s, "memo:counter-guarantees-contra:ICBC") == 18_000_001
    e = refused(
        StateError,
        lambda: run(
            fund,
            lambda s: guarantees.cancel_commitment(s, c.number, "放弃", D(2025, 2, 28),
                                                   actor="clerk"),
        ),
    )  # fmt: skip
    assert str(e) == (
        "commitment G2025-ICBC-00001 was approved on 2025-03-01; it cannot be cancelled on "
        "2025-02-28"
    )
    done = run(
        fund,
        lambda s: guarantees.cancel_commitment(s, c.number, " 借款人放弃 ", D(2025, 3, 3),
                                               actor="clerk"),
    )  # fmt: skip
    assert (done.status, done.cancel_reason, done.cancelled_on) == (
        "cancelled",
        "借款人放弃",
        D(2025, 3, 3),
    )
    with fund() as s:
        assert balance_now(s, CG_MEMO) == 0
        assert balance_now(s, "memo:counter-guarantees-contra:ICBC") == 0
    e = refused(
        StateError,
        lambda: run(
            fund,
            lambda s: guarantees.cancel_commitment(s, c.number, "再次", D(2025, 3, 4),
                                                   actor="clerk"),
        ),
    )  # fmt: skip
    assert str(e) == (
        "commitment G2025-ICBC-00001 is cancelled; only an unused one can be cancelled"
    )
    # Cancelled: the borrower may apply again.
    assert approve(fund, borrower, on=D(2025, 3, 4)).number == "G2025-ICBC-00002"


# ------------------------------------------------------------------ rules are frozen


def frozen_rules(fund, number):
    with fund() as s:
        return guarantees.commitment_rules(guarantees.get_commitment(s, number))


def test_a_later_override_does_not_change_a_commitment(fund, borrower):
    c = approve(fund, borrower, on=D(2025, 5, 1))
    frozen = frozen_rules(fund, c.number)
    assert frozen.loan_limit("individual") == 20_000_000
    e = refused(
        PolicyError,
        lambda: run(
            fund,
            lambda s: record_override(
                s, effective_from=D(2025, 6, 1), params={"loan_limit_fen": {"individual": 1}},
                actor="admin", today=D(2025, 6, 2),
            ),
        ),
    )  # fmt: skip
    assert e.code == "policy"
    assert str(e) == (
        "an override may not be backdated: 2025-06-01 is before today (2025-06-02); "
        "record it from today or a later date"
    )
    run(
        fund,
        lambda s: record_override(
            s,
            effective_from=D(2025, 6, 1),
            params={"loan_limit_fen": {"individual": 30_000_000}},
            actor="admin",
            note="本市 2025 年 5 号文",
            today=D(2025, 5, 10),
        ),
    )
    assert frozen_rules(fund, c.number).fingerprint() == frozen.fingerprint()
    waiver = [CounterGuaranteeSpec("credit_community")]
    other = register(fund, 60)
    e = refused(LimitError, approve, fund, other, 25_000_000, on=D(2025, 5, 31), cgs=waiver)
    assert str(e).endswith("at most 200,000.00 yuan")
    c2 = approve(fund, other, 25_000_000, on=D(2025, 6, 1), cgs=waiver)
    rules = frozen_rules(fund, c2.number)
    assert rules.loan_limit("individual") == 30_000_000
    assert rules.sources == ("national:2021", "local:2025-06-01")
