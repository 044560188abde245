"""Three tightened rules: no operation dated in the future; ``repeat_loans.max_active``;
the leverage cap held on a backdated operation's own date as well as now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from ledger import chart
from ledger.fund import capital, claims, guarantees, leverage, loans, recoveries, reference
from ledger.fund.books import balance_now, balances_as_of, subtree_balance_now
from ledger.fund.borrowers import register_borrower
from ledger.fund.errors import (
    ClaimError,
    CounterGuaranteeError,
    FundError,
    LeverageCapError,
    LimitError,
    RecoveryError,
    RepeatLoanError,
    StateError,
    WriteOffError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import CounterGuarantee
from ledger.fund.policy import record_override
from tests.fund.conftest import D, attempt, borrower_id, refused, run, snapshot

#: "Today" for every test here: none depends on the real date.
TODAY = D(2025, 12, 31)
TOMORROW = D(2026, 1, 1)


def register(s, serial: int, name: str) -> str:
    number = borrower_id(serial)
    register_borrower(
        s, id_number=number, name=name, district="D01", categories=["veteran"], actor="clerk"
    )
    return number


def commit(s, number: str, bank: str, on: dt.date, amount: int = 10_000_000, cgs=()):
    return guarantees.approve_guarantee(
        s, id_number=number, bank=bank, amount=amount, term_months=12, on=on,
        actor="approver", counter_guarantees=tuple(cgs),
    )  # fmt: skip


def lend(s, commitment, number: str, name: str, contract: str, on: dt.date, principal: int,
         method: str = "interest_only"):  # fmt: skip
    return loans.disburse(
        s,
        bank=commitment.bank_code,
        contract_no=contract,
        guarantee_no=commitment.number,
        borrower_name=name,
        id_number=number,
        disbursed_on=on,
        maturity_on=D(on.year + 1, on.month, on.day),
        principal=principal,
        annual_rate_ppm=45_000,
        method=method,
        actor="clerk",
    ).loan


def repay(s, contract: str, ref: str, on: dt.date, principal: int, bank: str = "ICBC"):
    return loans.repay(
        s, bank=bank, bank_ref=ref, contract_no=contract, paid_on=on, principal=principal,
        interest=0, actor="clerk",
    )  # fmt: skip


# ------------------------------------------------------------- 1. no future dates


@pytest.fixture
def scene(fund, borrower):
    """Five 100,000-yuan ICBC loans (approved 2025-03-01, disbursed 2025-03-05, interest
    only, never paid: 90 days overdue on 2025-07-04) in every state an operation needs,
    an unused commitment and a registered borrower with none."""
    ids: dict[str, Any] = {}

    def work(s):
        people = [(borrower, "张三")]
        for serial, name in ((2, "李四"), (3, "王五"), (4, "赵六"), (5, "孙七"), (6, "周八")):
            people.append((register(s, serial, name), name))
        register(s, 7, "吴九")
        mortgage = CounterGuaranteeSpec("mortgage", 5_000_000, description="住房抵押 房产证7号")
        made = []
        for n, (number, name) in enumerate(people[:5], 1):
            c = commit(s, number, "ICBC", D(2025, 3, 1), cgs=(mortgage,) if n == 1 else ())
            made.append(lend(s, c, number, name, f"ICBC-00{n}", D(2025, 3, 5), 10_000_000))
        ids["unused"] = commit(s, people[5][0], "ICBC", D(2025, 3, 1)).number
        # ICBC-001 and -002 compensated, -003 filed, -004 approved, -005 not claimed.
        number = {}
        for contract in ("ICBC-001", "ICBC-002", "ICBC-003", "ICBC-004"):
            c = claims.file_claim(
                s, bank="ICBC", contract_no=contract, on=D(2025, 7, 4), actor="clerk"
            )
            number[contract] = c.number
        for contract in ("ICBC-001", "ICBC-002", "ICBC-004"):
            claims.approve_claim(s, number[contract], on=D(2025, 7, 6), actor="approver")
        for contract in ("ICBC-001", "ICBC-002"):
            claims.pay_claim(s, number[contract], on=D(2025, 7, 8), actor="approver2")
        ids["filed"], ids["approved"] = number["ICBC-003"], number["ICBC-004"]
        ids["write_off"] = recoveries.request_write_off(
            s, bank="ICBC", contract_no="ICBC-001", reason="借款人下落不明", on=D(2025, 9, 1),
            actor="clerk",
        ).id  # fmt: skip
        ids["counter_guarantee"] = s.scalar(select(CounterGuarantee.id))

    run(fund, work)
    return fund, ids


@dataclass(frozen=True)
class Case:
    name: str
    error: type[FundError]
    code: str
    message: str
    zh: str
    #: ``op(session, ids, on, today)``: the operation dated ``on``.
    op: Callable
    #: What the operation dated TODAY leaves, read in its transaction: ``done(s, result)``.
    done: Callable
    expected: tuple


def _approve_guarantee(s, ids, on, today):
    return guarantees.approve_guarantee(
        s, id_number=borrower_id(7), bank="ABC", amount=5_000_000, term_months=12, on=on,
        actor="approver", today=today,
    )  # fmt: skip


def _enforce(s, ids, on, today):
    return recoveries.enforce_counter_guarantee(
        s, ids["counter_guarantee"], proceeds=500_000, on=on, actor="clerk", today=today
    )


def _deposit_interest(s, ids, on, today):
    return capital.record_deposit_interest(s, "ICBC", 12_345, on, "INT-Q4", actor="icbc",
                                           today=today)  # fmt: skip


def _special(s, result):
    return balance_now(s, chart.special_account("ICBC")), balance_now(s, chart.TREASURY)


# ICBC's special account: 3,000,000 yuan placed, two claims of 80,000 yuan paid.
SPECIAL, TREASURY = 300_000_000 - 2 * 8_000_000, 400_000_000
PAYABLE, CG = "liability:claims-payable:ICBC", "memo:counter-guarantees:ICBC"

CASES = [
    Case(
        "guarantee approval",
        LimitError,
        "over-limit",
        "approval date 2026-01-01 is in the future",
        "审批日期 2026-01-01 晚于今天",
        _approve_guarantee,
        lambda s, c: (c.number, c.approved_on, c.status),
        ("G2025-ABC-00001", TODAY, "approved"),
    ),
    Case(
        "commitment cancellation",
        StateError,
        "invalid-state",
        "cancellation date 2026-01-01 is in the future",
        "撤销日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: guarantees.cancel_commitment(
            s, ids["unused"], "借款人放弃", on, actor="clerk", today=today
        ),
        lambda s, c: (c.number, c.status, c.cancelled_on),
        ("G2025-ICBC-00006", "cancelled", TODAY),
    ),
    Case(
        "claim filing",
        ClaimError,
        "claim",
        "claim date 2026-01-01 is in the future",
        "代偿申请日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: claims.file_claim(
            s, bank="ICBC", contract_no="ICBC-005", on=on, actor="icbc", today=today
        ),
        # Unpaid since the interest of 2025-04-05: 270 days overdue on 2025-12-31.
        lambda s, c: (c.number, c.filed_on, c.days_overdue, c.loss, c.amount),
        ("C2025-ICBC-00005", TODAY, 270, 10_000_000, 8_000_000),
    ),
    Case(
        "claim approval",
        ClaimError,
        "claim",
        "claim approval date 2026-01-01 is in the future",
        "代偿审核日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: claims.approve_claim(
            s, ids["filed"], on=on, actor="approver", today=today
        ),
        lambda s, c: (c.number, c.status, c.decided_on, balance_now(s, PAYABLE)),
        ("C2025-ICBC-00003", "approved", TODAY, 2 * 8_000_000),
    ),
    Case(
        "claim rejection",
        ClaimError,
        "claim",
        "claim rejection date 2026-01-01 is in the future",
        "代偿驳回日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: claims.reject_claim(
            s, ids["filed"], "材料不全", on=on, actor="approver", today=today
        ),
        lambda s, c: (c.number, c.status, c.decided_on),
        ("C2025-ICBC-00003", "rejected", TODAY),
    ),
    Case(
        "claim payment",
        ClaimError,
        "claim",
        "claim payment date 2026-01-01 is in the future",
        "代偿支付日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: claims.pay_claim(
            s, ids["approved"], on=on, actor="approver2", today=today
        ),
        lambda s, c: (c.number, c.status, c.paid_on, *_special(s, c)),
        ("C2025-ICBC-00004", "paid", TODAY, SPECIAL - 8_000_000, TREASURY),
    ),
    Case(
        "recovery",
        RecoveryError,
        "recovery",
        "recovery date 2026-01-01 is in the future",
        "追偿日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: recoveries.record_recovery(
            s,
            bank="ICBC",
            contract_no="ICBC-002",
            amount=10_000,
            on=on,
            actor="clerk",
            today=today,
        ),
        lambda s, r: (r.recovered_on, r.total, r.fund_share, r.bank_share),
        (TODAY, 10_000, 8_000, 2_000),
    ),
    Case(
        "counter-guarantee enforcement",
        CounterGuaranteeError,
        "counter-guarantee",
        "enforcement date 2026-01-01 is in the future",
        "反担保处置日期 2026-01-01 晚于今天",
        _enforce,
        lambda s, r: (r.recovered_on, r.source, r.total, r.fund_share, balance_now(s, CG)),
        (TODAY, "counter_guarantee", 500_000, 400_000, 0),
    ),
    Case(
        "write-off request",
        WriteOffError,
        "write-off",
        "write-off request date 2026-01-01 is in the future",
        "核销申请日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: recoveries.request_write_off(
            s,
            bank="ICBC",
            contract_no="ICBC-002",
            reason="借款人死亡",
            on=on,
            actor="clerk",
            today=today,
        ),
        lambda s, w: (w.status, w.requested_on, w.amount),
        ("requested", TODAY, 8_000_000),
    ),
    Case(
        "write-off approval",
        WriteOffError,
        "write-off",
        "write-off date 2026-01-01 is in the future",
        "核销日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: recoveries.approve_write_off(
            s, ids["write_off"], on=on, actor="approver", today=today
        ),
        lambda s, w: (w.status, w.decided_on, w.amount, w.rule),
        ("approved", TODAY, 8_000_000, "pro_rata"),
    ),
    Case(
        "write-off rejection",
        WriteOffError,
        "write-off",
        "write-off rejection date 2026-01-01 is in the future",
        "核销驳回日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: recoveries.reject_write_off(
            s, ids["write_off"], "继续追偿", on=on, actor="approver", today=today
        ),
        lambda s, w: (w.status, w.decided_on),
        ("rejected", TODAY),
    ),
    Case(
        "allocation",
        FundError,
        "fund-error",
        "receipt date 2026-01-01 is in the future",
        "资金到位日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: capital.record_allocation(
            s, "city", 1_000_000, on, actor="clerk", today=today
        ),
        lambda s, a: (a.status, a.received_on, a.amount),
        ("pending", TODAY, 1_000_000),
    ),
    Case(
        "placement",
        FundError,
        "fund-error",
        "placement date 2026-01-01 is in the future",
        "存入日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: capital.place_capital(
            s, "ICBC", 1_000_000, on, actor="clerk", today=today
        ),
        _special,
        (SPECIAL + 1_000_000, TREASURY - 1_000_000),
    ),
    Case(
        "withdrawal",
        FundError,
        "fund-error",
        "withdrawal date 2026-01-01 is in the future",
        "调回日期 2026-01-01 晚于今天",
        lambda s, ids, on, today: capital.withdraw_capital(
            s, "ICBC", 1_000_000, on, actor="clerk", today=today
        ),
        _special,
        (SPECIAL - 1_000_000, TREASURY + 1_000_000),
    ),
    Case(
        "deposit interest",
        FundError,
        "fund-error",
        "interest date 2026-01-01 is in the future",
        "结息日期 2026-01-01 晚于今天",
        _deposit_interest,
        # 123.45 yuan pro rata 500 : 200 : 60 : 40; the two fen left go to the largest
        # remainders (district .875, provincial .625).
        lambda s, row: (row.credited_on, row.allocation),
        (TODAY, {"city": 3086, "district-D01": 926, "other": 617, "provincial": 7716}),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_operation_dated_after_today_is_refused(scene, case):
    fund, ids = scene
    before = snapshot(fund)
    e = refused(case.error, attempt(fund, lambda s: case.op(s, ids, TOMORROW, TODAY)))
    assert (e.code, str(e), e.zh) == (case.code, case.message, case.zh)
    assert snapshot(fund) == before
    # Dated today itself, the same operation goes through.
    got = run(fund, lambda s: case.done(s, case.op(s, ids, TODAY, TODAY)))
    assert got == case.expected


def test_an_allocation_received_after_today_is_not_approved(fund):
    pending = run(
        fund,
        lambda s: capital.record_allocation(
            s, "city", 1_000_000, TOMORROW, actor="clerk", today=TOMORROW
        ),
    ).id
    before = snapshot(fund)
    e = refused(FundError, attempt(
        fund, lambda s: capital.approve_allocation(s, pending, actor="approver", today=TODAY)
    ))  # fmt: skip
    assert (e.code, str(e), e.zh) == (
        "fund-error",
        "receipt date 2026-01-01 is in the future",
        "资金到位日期 2026-01-01 晚于今天",
    )
    assert snapshot(fund) == before
    done = run(
        fund, lambda s: capital.approve_allocation(s, pending, actor="approver", today=TOMORROW)
    )
    assert done.status == "approved"
    with fund() as s:
        assert capital.contributed_as_of(s, TODAY)["city"] == 200_000_000
        assert capital.contributed_as_of(s, TOMORROW)["city"] == 201_000_000


def test_today_defaults_to_the_real_date(scene):
    fund, _ = scene
    far = D(2999, 1, 1)

    def file_claim(s):
        return claims.file_claim(s, bank="ICBC", contract_no="ICBC-005", on=far, actor="icbc")

    e = refused(ClaimError, attempt(fund, file_claim))
    assert str(e) == "claim date 2999-01-01 is in the future"
    place = attempt(fund, lambda s: capital.place_capital(s, "ICBC", 1, far, actor="clerk"))
    e = refused(FundError, place)
    assert (str(e), e.zh) == (
        "placement date 2999-01-01 is in the future",
        "存入日期 2999-01-01 晚于今天",
    )


def test_refuse_future_is_one_helper():
    reference.refuse_future(TODAY, TODAY, "claim date", "代偿申请日期", ClaimError)
    with pytest.raises(WriteOffError) as info:
        reference.refuse_future(TOMORROW, TODAY, "write-off date", "核销日期", WriteOffError)
    assert (info.value.code, str(info.value), info.value.zh) == (
        "write-off",
        "write-off date 2026-01-01 is in the future",
        "核销日期 2026-01-01 晚于今天",
    )


# ------------------------------------------------------- 2. repeat_loans.max_active


def _approve(fund, number, on):
    return run(fund, lambda s: commit(s, number, "ICBC", on, amount=5_000_000))


def test_the_national_rules_allow_one_active_loan(fund, borrower):
    c = _approve(fund, borrower, D(2025, 3, 1))
    run(fund, lambda s: lend(s, c, borrower, "张三", "ICBC-001", D(2025, 3, 5), 5_000_000))
    before = snapshot(fund)
    e = refused(RepeatLoanError, _approve, fund, borrower, D(2025, 4, 1))
    assert (e.code, str(e), e.zh) == (
        "repeat-loan",
        f"borrower {borrower} still owes on 1 loan (ICBC-001); the rules allow at most 1 "
        "active loan",
        f"借款人 {borrower} 尚有 1 笔贷款未还清（ICBC-001），政策规定同时在贷最多 1 笔",
    )
    assert snapshot(fund) == before


def test_a_locality_may_allow_two_active_loans_but_not_three(fund, borrower):
    run(
        fund,
        lambda s: record_override(
            s,
            effective_from=D(2025, 2, 1),
            params={"repeat_loans": {"max_active": 2, "max_loans": 10, "require_on_time": False}},
            actor="admin",
            note="本市创业担保贷款可同时有两笔",
            today=D(2025, 2, 1),
        ),
    )
    c1 = _approve(fund, borrower, D(2025, 3, 1))
    with fund() as s:
        rules = guarantees.commitment_rules(guarantees.get_commitment(s, c1.number))
    assert rules["repeat_loans"]["max_active"] == 2
    e = refused(RepeatLoanError, _approve, fund, borrower, D(2025, 3, 2))
    assert str(e) == f"borrower {borrower} already has an unused commitment G2025-ICBC-00001"
    run(fund, lambda s: lend(s, c1, borrower, "张三", "ICBC-001", D(2025, 3, 5), 5_000_000))
    c2 = _approve(fund, borrower, D(2025, 3, 10))  # one active loan: a second is allowed
    assert c2.number == "G2025-ICBC-00002"
    run(fund, lambda s: lend(s, c2, borrower, "张三", "ICBC-002", D(2025, 3, 12), 5_000_000))
    before = snapshot(fund)
    e = refused(RepeatLoanError, _approve, fund, borrower, D(2025, 3, 20))
    assert (e.code, str(e), e.zh) == (
        "repeat-loan",
        f"borrower {borrower} still owes on 2 loans (ICBC-001, ICBC-002); the rules allow at "
        "most 2 active loans",
        f"借款人 {borrower} 尚有 2 笔贷款未还清（ICBC-001、ICBC-002），政策规定同时在贷最多 2 笔",
    )
    assert snapshot(fund) == before
    # ICBC-001 repaid: one active loan again, and a third loan may be approved.
    run(fund, lambda s: repay(s, "ICBC-001", "R1", D(2025, 3, 25), 5_000_000))
    c3 = _approve(fund, borrower, D(2025, 3, 26))
    assert (c3.number, c3.amount) == ("G2025-ICBC-00003", 5_000_000)


# ------------------------------------------------------- 3. the cap on the date too


@pytest.fixture
def boc(fund):
    """Bank BOC: 20,000 yuan placed on 2025-03-01 and 100,000 more on 2025-03-10; loans
    of 50,000 yuan disbursed on 2025-03-02 and 2025-03-12 (exposure 40,000 yuan each).

    On 2025-03-05 the cap is 5 × 20,000 = 100,000 yuan over 40,000 yuan of exposure;
    now it is 5 × 120,000 = 600,000 yuan over 80,000 yuan.
    """

    def work(s):
        reference.add_bank(s, "BOC", "中国银行", "4563510100891234567", actor="admin")
        capital.place_capital(s, "BOC", 2_000_000, D(2025, 3, 1), actor="clerk")
        numbers = [register(s, serial, name) for serial, name in ((11, "甲"), (12, "乙"))]
        c1 = commit(s, numbers[0], "BOC", D(2025, 3, 1), amount=5_000_000)
        c2 = commit(s, numbers[1], "BOC", D(2025, 3, 1), amount=5_000_000)
        lend(s, c1, numbers[0], "甲", "BOC-001", D(2025, 3, 2), 5_000_000, "bullet")
        capital.place_capital(s, "BOC", 10_000_000, D(2025, 3, 10), actor="clerk")
        lend(s, c2, numbers[1], "乙", "BOC-002", D(2025, 3, 12), 5_000_000, "bullet")

    run(fund, work)
    return fund


def _locked(fund, work):
    """``work(session)`` holding BOC's row lock, as every caller of the checks must."""

    def locked(s):
        reference.get_bank(s, "BOC", for_update=True)
        return work(s)

    return run(fund, locked)


def _caps(fund, on):
    caps = _locked(fund, lambda s: leverage.capacities(s, "BOC", on))
    return [(c.exposure, c.special, c.cap, c.as_of) for c in caps]


def test_capacities_on_a_date_before_later_postings(boc):
    now = (8_000_000, 12_000_000, 60_000_000, None)
    # Later placement and disbursement.
    assert _caps(boc, D(2025, 3, 5)) == [now, (4_000_000, 2_000_000, 10_000_000, D(2025, 3, 5))]
    # Only a later exposure posting (the disbursement of 2025-03-12).
    assert _caps(boc, D(2025, 3, 11)) == [
        now, (4_000_000, 12_000_000, 60_000_000, D(2025, 3, 11))
    ]  # fmt: skip
    # Nothing dated later: the balances on the date are the balances now.
    assert _caps(boc, D(2025, 3, 12)) == [now]
    assert _caps(boc, D(2025, 6, 30)) == [now]


def test_new_exposure_backdated_before_a_placement_is_held_to_that_days_cap(boc):
    on = D(2025, 3, 5)
    e = refused(LeverageCapError, lambda: _locked(
        boc, lambda s: leverage.check_new_exposure(s, "BOC", 8_000_000, on)
    ))  # fmt: skip
    assert e.code == "leverage-cap"
    assert str(e) == (
        "bank BOC: guarantee exposure would be 120,000.00 yuan on 2025-03-05, over the leverage "
        "cap of 100,000.00 yuan (5 × special account 20,000.00 yuan; exposure then 40,000.00 "
        "yuan); short by 20,000.00 yuan"
    )
    assert e.zh == (
        "BOC 2025-03-05 在保余额将达 120,000.00 元，超过放大倍数上限 100,000.00 元（5 倍 × "
        "专户余额 20,000.00 元；当日在保余额 40,000.00 元），缺口 20,000.00 元"
    )
    assert (e.cap, e.exposure, e.shortfall) == (10_000_000, 4_000_000, 2_000_000)
    # Today's cap would take it (80,000 + 80,000 ≤ 600,000 yuan); on 2025-03-10, after the
    # placement, so would that day's; and up to the cap exactly fits on 2025-03-05.
    for amount, day in ((8_000_000, D(2025, 3, 10)), (6_000_000, on)):
        cap = _locked(boc, lambda s, a=amount, d=day: leverage.check_new_exposure(s, "BOC", a, d))
        assert (cap.exposure, cap.special, cap.cap, cap.as_of) == (
            8_000_000, 12_000_000, 60_000_000, None,
        )  # fmt: skip
    e = refused(LeverageCapError, lambda: _locked(
        boc, lambda s: leverage.check_new_exposure(s, "BOC", 6_000_001, on)
    ))  # fmt: skip
    assert (e.cap, e.exposure, e.shortfall) == (10_000_000, 4_000_000, 1)


def test_new_exposure_over_todays_cap_keeps_its_message(boc):
    for day in (D(2025, 3, 12), D(2025, 3, 5)):  # the cap now is checked first
        e = refused(LeverageCapError, lambda d=day: _locked(
            boc, lambda s: leverage.check_new_exposure(s, "BOC", 52_000_001, d)
        ))  # fmt: skip
        assert str(e) == (
            "bank BOC: guarantee exposure would be 600,000.01 yuan, over the leverage cap of "
            "600,000.00 yuan (5 × special account 120,000.00 yuan; exposure now 80,000.00 "
            "yuan); short by 0.01 yuan"
        )
        assert e.zh == (
            "BOC 在保余额将达 600,000.01 元，超过放大倍数上限 600,000.00 元（5 倍 × 专户余额 "
            "120,000.00 元；现在保余额 80,000.00 元），缺口 0.01 元"
        )
        assert (e.cap, e.exposure, e.shortfall) == (60_000_000, 8_000_000, 1)


def _withdraw(fund, fen, on):
    return run(fund, lambda s: capital.withdraw_capital(s, "BOC", fen, on, actor="clerk",
                                                        today=TODAY))  # fmt: skip


def test_a_backdated_withdrawal_is_held_to_that_days_balance_and_cap(boc):
    on = D(2025, 3, 5)
    before = snapshot(boc)
    # Today's balance (120,000 yuan) holds it, 2025-03-05's (20,000 yuan) did not.
    e = refused(LeverageCapError, _withdraw, boc, 2_000_001, on)
    assert str(e) == (
        "bank BOC: the special account held 20,000.00 yuan on 2025-03-05; cannot withdraw "
        "20,000.01 yuan"
    )
    assert e.zh == "BOC 2025-03-05 专户余额 20,000.00 元，不足以调回 20,000.01 元"
    assert (e.cap, e.exposure, e.shortfall) == (10_000_000, 4_000_000, 1)
    # 5 × (20,000 − 12,000.01) = 39,999.95 yuan < 40,000 yuan of exposure on 2025-03-05;
    # today 5 × 107,999.99 yuan would carry 80,000 yuan easily.
    e = refused(LeverageCapError, _withdraw, boc, 1_200_001, on)
    assert str(e) == (
        "bank BOC: after withdrawing 12,000.01 yuan the leverage cap would be 39,999.95 yuan "
        "on 2025-03-05, below the guarantee exposure then of 40,000.00 yuan; short by 0.05 yuan"
    )
    assert e.zh == (
        "BOC 2025-03-05 调回 12,000.01 元后放大倍数上限为 39,999.95 元，低于当日在保余额 "
        "40,000.00 元，缺口 0.05 元"
    )
    assert (e.cap, e.exposure, e.shortfall) == (3_999_995, 4_000_000, 5)
    assert snapshot(boc) == before
    _withdraw(boc, 1_200_000, on)  # 5 × 8,000 = 40,000 yuan: exactly the exposure
    with boc() as s:
        special = chart.special_account("BOC")
        assert balance_now(s, special) == 10_800_000
        assert balances_as_of(s, [special], on) == {special: 800_000}


def test_a_withdrawal_dated_last_keeps_todays_message(boc):
    e = refused(LeverageCapError, _withdraw, boc, 10_400_001, D(2025, 3, 12))
    assert str(e) == (
        "bank BOC: after withdrawing 104,000.01 yuan the leverage cap would be 79,999.95 yuan, "
        "below the guarantee exposure of 80,000.00 yuan; short by 0.05 yuan"
    )
    assert e.zh == (
        "BOC 调回 104,000.01 元后放大倍数上限为 79,999.95 元，低于在保余额 80,000.00 元，"
        "缺口 0.05 元"
    )
    assert (e.cap, e.exposure, e.shortfall) == (7_999_995, 8_000_000, 5)


def test_a_disbursement_backdated_before_a_placement_is_refused(boc):
    def work(s):
        number = register(s, 13, "丙")
        c = commit(s, number, "BOC", D(2025, 3, 1))
        return lend(s, c, number, "丙", "BOC-003", D(2025, 3, 5), 10_000_000, "bullet")

    e = refused(LeverageCapError, attempt(boc, work))
    assert str(e) == (
        "bank BOC: guarantee exposure would be 120,000.00 yuan on 2025-03-05, over the leverage "
        "cap of 100,000.00 yuan (5 × special account 20,000.00 yuan; exposure then 40,000.00 "
        "yuan); short by 20,000.00 yuan"
    )
    assert (e.cap, e.exposure, e.shortfall) == (10_000_000, 4_000_000, 2_000_000)


def test_capacity_reads_exposure_from_the_contra_account(boc, scene):
    """Disbursements, repayments, a reversal and claim payments all keep the contra
    account equal to the sum over the loans: capacity's one balance is that sum."""
    run(boc, lambda s: repay(s, "BOC-001", "R1", D(2025, 3, 20), 1_234_567, bank="BOC"))
    run(boc, lambda s: repay(s, "BOC-001", "R2", D(2025, 3, 25), 1_000_000, bank="BOC"))
    run(boc, lambda s: loans.reverse_repayment(
        s, bank="BOC", bank_ref="REV2", reversal_of="R2", on=D(2025, 3, 26), actor="clerk"
    ))  # fmt: skip
    with boc() as s:
        # BOC: 80 % × 37,654.33 = 30,123.464 → 30,123.46 yuan, and 40,000 yuan.
        boc_cap = leverage.capacity(s, "BOC", D(2025, 3, 26))
        assert boc_cap.exposure == subtree_balance_now(s, chart.exposure_account("BOC"))
        assert boc_cap.exposure == 3_012_346 + 4_000_000
        # ICBC: two of its five loans compensated, three of 80,000 yuan still guaranteed.
        icbc_cap = leverage.capacity(s, "ICBC", TODAY)
        assert icbc_cap.exposure == subtree_balance_now(s, chart.exposure_account("ICBC"))
        assert icbc_cap.exposure == 3 * 8_000_000
