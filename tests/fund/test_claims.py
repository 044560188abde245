"""Claims (代偿), recoveries (追偿), counter-guarantee enforcement and write-offs (核销)."""

from __future__ import annotations

from ledger import chart
from ledger.balances import trial_balance
from ledger.fund import capital, claims, guarantees, loans, queries, recoveries, reference
from ledger.fund.books import balance_now, ratio_share
from ledger.fund.borrowers import register_borrower
from ledger.fund.errors import (
    ClaimError,
    MakerCheckerError,
    PermissionDeniedError,
    RecoveryError,
    WriteOffError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.policy import record_override
from ledger.fund.read.loans import loan_detail
from ledger.verify import verify
from tests.fund.conftest import D, borrower_id, refused, run, snapshot

C1 = "C2025-ICBC-00001"
APPROVED, DISBURSED = D(2025, 3, 1), D(2025, 3, 5)


def make_loan(fund, number, *, bank="ICBC", contract="ICBC-001", name="张三", cgs=(),
              approved=APPROVED, disbursed=DISBURSED):  # fmt: skip
    """100,000 yuan interest only at 4.5 %, 12 months: interest due monthly from a month
    after disbursement, principal at maturity."""

    def work(s):
        c = guarantees.approve_guarantee(
            s,
            id_number=number,
            bank=bank,
            amount=10_000_000,
            term_months=12,
            on=approved,
            actor="approver",
            counter_guarantees=cgs,
        )
        return loans.disburse(
            s,
            bank=bank,
            contract_no=contract,
            guarantee_no=c.number,
            borrower_name=name,
            id_number=number,
            disbursed_on=disbursed,
            maturity_on=D(disbursed.year + 1, disbursed.month, disbursed.day),
            principal=10_000_000,
            annual_rate_ppm=45_000,
            method="interest_only",
            actor=bank.lower(),
        ).loan.id

    return run(fund, work)


def file(fund, on, contract="ICBC-001", bank="ICBC", actor="icbc"):
    return run(
        fund, lambda s: claims.file_claim(s, bank=bank, contract_no=contract, on=on, actor=actor)
    )


def approve(fund, number, on, actor="approver"):
    return run(fund, lambda s: claims.approve_claim(s, number, on=on, actor=actor))


def pay(fund, number, on, actor="approver2"):
    return run(fund, lambda s: claims.pay_claim(s, number, on=on, actor=actor))


def recover(fund, amount, on, contract="ICBC-001"):
    return run(
        fund,
        lambda s: recoveries.record_recovery(
            s, bank="ICBC", contract_no=contract, amount=amount, on=on, actor="clerk"
        ),
    )


def add_dual_role_user(fund):
    run(
        fund,
        lambda s: reference.add_user(s, "both", "钱双岗", ["clerk", "approver"], actor="admin"),
    )


def claimed_loan(fund, borrower):
    """张三's loan with 12,345.67 yuan of principal repaid, claim filed, approved, paid."""
    loan_id = make_loan(fund, borrower)
    run(
        fund,
        lambda s: loans.repay(
            s,
            bank="ICBC",
            bank_ref="P1",
            contract_no="ICBC-001",
            paid_on=D(2025, 3, 20),
            principal=1_234_567,
            interest=0,
            actor="icbc",
        ),
    )
    file(fund, D(2025, 7, 4))
    approve(fund, C1, D(2025, 7, 6))
    pay(fund, C1, D(2025, 7, 8))
    return loan_id


# ------------------------------------------------------------------------- filing


def test_claim_needs_ninety_days_overdue(fund, borrower):
    loan_id = make_loan(fund, borrower)
    # Principal repaid early leaves 87,654.33 yuan; the interest of 2025-04-05 is unpaid.
    run(
        fund,
        lambda s: loans.repay(
            s,
            bank="ICBC",
            bank_ref="P1",
            contract_no="ICBC-001",
            paid_on=D(2025, 3, 20),
            principal=1_234_567,
            interest=0,
            actor="icbc",
        ),
    )
    e = refused(ClaimError, file, fund, D(2025, 7, 3))
    assert e.code == "claim"
    assert str(e) == (
        "loan ICBC-001 is 89 days overdue on 2025-07-03; a claim needs at least 90 days "
        "under the loan's rules"
    )
    assert e.zh == "贷款 ICBC-001 在 2025-07-03 逾期 89 天，逾期满 90 天方可申请代偿"
    c = file(fund, D(2025, 7, 4))
    assert (c.number, c.status, c.days_overdue) == (C1, "filed", 90)
    # 80 % × 87,654.33 = 70,123.464 → 70,123.46 yuan.
    assert (c.principal_outstanding, c.interest_outstanding, c.loss, c.amount) == (
        8_765_433,
        0,
        8_765_433,
        7_012_346,
    )
    e = refused(ClaimError, file, fund, D(2025, 7, 5))
    assert str(e) == f"loan ICBC-001 already has claim {C1}"
    with fund() as s:  # filing posts nothing
        assert balance_now(s, f"memo:exposure:ICBC:L{loan_id}") == 7_012_346
        assert balance_now(s, "asset:receivable:L1") == 0


def test_claim_basis_is_the_loans_own_rule(fund, borrower):
    """A locality switches to principal + interest from 2025-03-10: the loan disbursed on
    2025-03-05 keeps the principal basis, the one disbursed on 2025-03-12 has the new one."""
    make_loan(fund, borrower)
    run(
        fund,
        lambda s: record_override(
            s,
            effective_from=D(2025, 3, 10),
            params={"claim_basis": "principal_and_interest"},
            actor="admin",
            today=D(2025, 3, 10),
        ),
    )
    other = borrower_id(2)
    run(
        fund,
        lambda s: register_borrower(
            s, id_number=other, name="李四", district="D02", categories=["veteran"],
            actor="clerk",
        ),
    )  # fmt: skip
    make_loan(
        fund, other, contract="ICBC-002", name="李四", approved=D(2025, 3, 11),
        disbursed=D(2025, 3, 12),
    )  # fmt: skip
    old = file(fund, D(2025, 7, 4))
    assert (old.loss, old.interest_outstanding, old.amount) == (10_000_000, 0, 8_000_000)
    new = file(fund, D(2025, 7, 11), contract="ICBC-002")
    # Interest due before 2025-07-11 and unpaid: 04-12 (31 days), 05-12 (30), 06-12 (31):
    # 100,000 × 4.5 % / 360 × (31 + 30 + 31) = 387.50 + 375.00 + 387.50 = 1,150.00 yuan.
    assert (new.number, new.days_overdue) == ("C2025-ICBC-00002", 90)
    assert (new.principal_outstanding, new.interest_outstanding, new.loss) == (
        10_000_000,
        115_000,
        10_115_000,
    )
    assert new.amount == 8_092_000  # 80 % × 101,150.00 yuan


# ------------------------------------------------------------------ approval, payment


def test_approval_is_maker_checker_and_rejection_needs_a_reason(fund, borrower):
    make_loan(fund, borrower)
    add_dual_role_user(fund)
    c = file(fund, D(2025, 7, 4), actor="both")
    e = refused(MakerCheckerError, approve, fund, c.number, D(2025, 7, 5), actor="both")
    assert e.code == "maker-checker"
    assert isinstance(e, PermissionDeniedError)
    assert str(e) == f"both recorded claim {C1} and may not approve it: another approver must"
    assert e.zh == f"both 是代偿申请 {C1}的经办人，不能自己审核，须由其他审核人审核"
    e = refused(PermissionDeniedError, approve, fund, c.number, D(2025, 7, 5), actor="clerk")
    assert e.code == "permission-denied"
    assert str(e) == "user clerk may not do this: it needs the approver role"
    e = refused(ClaimError, pay, fund, c.number, D(2025, 7, 5))
    assert str(e) == f"claim {C1} is filed; only an approved claim can be paid"

    e = refused(
        ClaimError,
        lambda: run(
            fund,
            lambda s: claims.reject_claim(s, c.number, "  ", on=D(2025, 7, 5), actor="approver"),
        ),
    )
    assert str(e) == "a rejection needs a reason"
    r = run(
        fund,
        lambda s: claims.reject_claim(
            s, c.number, "逾期天数计算有误", on=D(2025, 7, 5), actor="approver"
        ),
    )
    assert (r.status, r.reject_reason, r.decided_by) == ("rejected", "逾期天数计算有误", "approver")
    e = refused(ClaimError, approve, fund, c.number, D(2025, 7, 6))
    assert str(e) == f"claim {C1} is rejected; only a filed claim can be approved"
    # A rejected claim does not block a new one.
    again = file(fund, D(2025, 7, 10))
    assert again.number == "C2025-ICBC-00002"
    e = refused(ClaimError, approve, fund, again.number, D(2025, 7, 9))
    assert str(e) == "claim C2025-ICBC-00002 was filed on 2025-07-10; 2025-07-09 is before that"
    assert approve(fund, again.number, D(2025, 7, 10)).status == "approved"


def test_payment_refused_when_the_special_account_is_short(fund):
    # Keep only 20,000 yuan at ABC: cap 5 × 20,000 = 100,000 ≥ exposure 80,000.
    run(
        fund,
        lambda s: capital.withdraw_capital(s, "ABC", 98_000_000, D(2025, 2, 1), actor="clerk"),
    )
    number = borrower_id(3)
    run(
        fund,
        lambda s: register_borrower(
            s, id_number=number, name="王五", district="D03", categories=["graduate"],
            actor="clerk",
        ),
    )  # fmt: skip
    loan_id = make_loan(fund, number, bank="ABC", contract="ABC-001", name="王五")
    c = file(fund, D(2025, 7, 4), contract="ABC-001", bank="ABC", actor="abc")
    assert (c.number, c.amount) == ("C2025-ABC-00001", 8_000_000)
    approve(fund, c.number, D(2025, 7, 5))
    before = snapshot(fund)
    e = refused(ClaimError, pay, fund, c.number, D(2025, 7, 6))
    assert str(e) == (
        "the special account at ABC holds 20,000.00 yuan; claim C2025-ABC-00001 needs "
        "80,000.00 yuan — place capital first"
    )
    assert e.zh == (
        "ABC 专户余额 20,000.00 元，不足以支付代偿 C2025-ABC-00001 的 80,000.00 元，"
        "请先补充存入资金"
    )
    assert snapshot(fund) == before
    with fund() as s:
        assert balance_now(s, chart.special_account("ABC")) == 2_000_000
        assert balance_now(s, f"memo:exposure:ABC:L{loan_id}") == 8_000_000
        assert claims.get_claim(s, c.number).status == "approved"
        assert loans.get_loan(s, "ABC", "ABC-001").status == "active"
    # Place more, and it is paid.
    run(fund, lambda s: capital.place_capital(s, "ABC", 6_000_000, D(2025, 7, 7), actor="clerk"))
    paid = pay(fund, c.number, D(2025, 7, 7))
    assert (paid.status, paid.paid_on) == ("paid", D(2025, 7, 7))
    with fund() as s:
        assert balance_now(s, chart.special_account("ABC")) == 0


def test_payment_releases_exposure_and_books_the_receivable(fund, borrower):
    loan_id = make_loan(fund, borrower)
    c = file(fund, D(2025, 7, 4))
    approve(fund, c.number, D(2025, 7, 6))
    with fund() as s:
        assert balance_now(s, f"asset:receivable:L{loan_id}") == 8_000_000
        assert balance_now(s, "liability:claims-payable:ICBC") == 8_000_000
        assert balance_now(s, f"memo:exposure:ICBC:L{loan_id}") == 8_000_000
    e = refused(ClaimError, pay, fund, c.number, D(2025, 7, 5))
    assert str(e) == f"claim {C1} was approved on 2025-07-06; 2025-07-05 is before that"
    pay(fund, c.number, D(2025, 7, 8))
    with fund() as s:
        assert balance_now(s, f"asset:receivable:L{loan_id}") == 8_000_000
        assert balance_now(s, "liability:claims-payable:ICBC") == 0
        assert balance_now(s, chart.special_account("ICBC")) == 300_000_000 - 8_000_000
        assert balance_now(s, f"memo:exposure:ICBC:L{loan_id}") == 0
        assert balance_now(s, "memo:exposure-contra:ICBC") == 0
        assert loans.get_loan(s, "ICBC", "ICBC-001").status == "claimed"
        state = loan_detail(s, "ICBC", "ICBC-001", D(2025, 7, 7))
        assert (state.exposure, state.receivable) == (8_000_000, 8_000_000)
        assert trial_balance(s).net == 0
    e = refused(ClaimError, pay, fund, c.number, D(2025, 7, 9))
    assert str(e) == f"claim {C1} is paid; only an approved claim can be paid"
    e = refused(ClaimError, file, fund, D(2025, 7, 9))
    assert str(e) == "loan ICBC-001 is claimed; only an outstanding loan can be claimed"


# ---------------------------------------------------------------------- recoveries


def test_recoveries_are_shared_on_the_running_total(fund, borrower):
    loan_id = claimed_loan(fund, borrower)  # loss 8,765,433, fund paid 7,012,346
    e = refused(RecoveryError, recover, fund, 100, D(2025, 7, 7))
    assert str(e) == "recovery date 2025-07-07 is before the compensation was paid on 2025-07-08"
    # Fund share of the running total: round(total × 7,012,346 / 8,765,433):
    #   333,333 → 266,666.38 → 266,666            first  266,666, bank 66,667
    #   777,780 → 622,223.96 → 622,224            second 355,558, bank 88,889
    # 1,888,893 → 1,511,114.31 → 1,511,114        third  888,890, bank 222,223
    got = [(r.fund_share, r.bank_share) for r in (
        recover(fund, 333_333, D(2025, 8, 1)),
        recover(fund, 444_447, D(2025, 8, 2)),
        recover(fund, 1_111_113, D(2025, 8, 3)),
    )]  # fmt: skip
    assert got == [(266_666, 66_667), (355_558, 88_889), (888_890, 222_223)]
    assert sum(f for f, _ in got) == 1_511_114 == ratio_share(1_888_893, 7_012_346, 8_765_433)
    with fund() as s:
        assert balance_now(s, f"asset:receivable:L{loan_id}") == 7_012_346 - 1_511_114
        assert balance_now(s, chart.special_account("ICBC")) == (
            300_000_000 - 7_012_346 + 1_511_114
        )
    # Still owed: 8,765,433 − 1,888,893 = 6,876,540.
    e = refused(RecoveryError, recover, fund, 6_876_541, D(2025, 8, 4))
    assert e.code == "recovery"
    assert str(e) == (
        "loan ICBC-001: 68,765.41 yuan is more than the 68,765.40 yuan still owed "
        "(loss 87,654.33 yuan, recovered 18,888.93 yuan)"
    )
    last = recover(fund, 6_876_540, D(2025, 8, 4))
    assert last.fund_share == 7_012_346 - 1_511_114
    with fund() as s:
        assert balance_now(s, f"asset:receivable:L{loan_id}") == 0
        assert loans.get_loan(s, "ICBC", "ICBC-001").status == "recovered"
    e = refused(RecoveryError, recover, fund, 1, D(2025, 8, 5))
    assert str(e).startswith("loan ICBC-001: 0.01 yuan is more than the 0.00 yuan still owed")
    e = refused(
        WriteOffError,
        lambda: run(
            fund,
            lambda s: recoveries.request_write_off(
                s, bank="ICBC", contract_no="ICBC-001", reason="无", on=D(2025, 9, 1),
                actor="clerk",
            ),
        ),
    )  # fmt: skip
    assert e.code == "write-off"
    assert str(e) == "loan ICBC-001 has nothing left to write off"


def test_recovery_by_enforcing_a_counter_guarantee_releases_it(fund, borrower):
    pledge = CounterGuaranteeSpec("pledge", 5_000_000, description="定期存单质押 No.778")
    loan_id = make_loan(fund, borrower, cgs=(pledge,))
    with fund() as s:
        assert balance_now(s, "memo:counter-guarantees:ICBC") == 5_000_000
        cg = loan_detail(s, "ICBC", "ICBC-001", D(2025, 3, 5)).counter_guarantees[0]
    file(fund, D(2025, 7, 4))
    approve(fund, C1, D(2025, 7, 6))
    pay(fund, C1, D(2025, 7, 8))
    r = run(
        fund,
        lambda s: recoveries.enforce_counter_guarantee(
            s, cg.id, proceeds=4_321_001, on=D(2025, 9, 1), actor="clerk"
        ),
    )
    # 80 % × 43,210.01 = 34,568.008 → 34,568.01
    assert (r.source, r.total, r.fund_share, r.bank_share) == (
        "counter_guarantee",
        4_321_001,
        3_456_801,
        864_200,
    )
    with fund() as s:
        assert balance_now(s, "memo:counter-guarantees:ICBC") == 0
        assert balance_now(s, "memo:counter-guarantees-contra:ICBC") == 0
        assert balance_now(s, f"asset:receivable:L{loan_id}") == 8_000_000 - 3_456_801
        state = loan_detail(s, "ICBC", "ICBC-001", D(2025, 9, 1))
        assert [(x.status, x.closed_on) for x in state.counter_guarantees] == [
            ("enforced", D(2025, 9, 1))
        ]
    e = refused(
        guarantees.CounterGuaranteeError,
        lambda: run(
            fund,
            lambda s: recoveries.enforce_counter_guarantee(
                s, cg.id, proceeds=1, on=D(2025, 9, 2), actor="clerk"
            ),
        ),
    )
    assert str(e) == f"counter-guarantee {cg.id} is enforced, not held"


# ---------------------------------------------------------------------- write-offs


def request(fund, on, actor="clerk"):
    return run(
        fund,
        lambda s: recoveries.request_write_off(
            s, bank="ICBC", contract_no="ICBC-001", reason="借款人死亡，无遗产", on=on,
            actor=actor,
        ),
    ).id  # fmt: skip


def approve_wo(fund, wid, on, actor="approver"):
    return run(fund, lambda s: recoveries.approve_write_off(s, wid, on=on, actor=actor))


def test_write_off_is_maker_checker_and_pro_rata(fund, borrower):
    loan_id = claimed_loan(fund, borrower)
    recover(fund, 333_333, D(2025, 8, 1))
    recover(fund, 444_447, D(2025, 8, 2))
    recover(fund, 1_111_113, D(2025, 8, 3))
    add_dual_role_user(fund)
    wid = request(fund, D(2025, 10, 1), actor="both")
    e = refused(MakerCheckerError, approve_wo, fund, wid, D(2025, 10, 2), actor="both")
    assert str(e) == f"both recorded write-off {wid} and may not approve it: another approver must"
    e = refused(PermissionDeniedError, approve_wo, fund, wid, D(2025, 10, 2), actor="clerk")
    assert str(e) == "user clerk may not do this: it needs the approver role"
    e = refused(WriteOffError, request, fund, D(2025, 10, 1))
    assert str(e) == f"loan ICBC-001 already has write-off {wid}"
    e = refused(WriteOffError, approve_wo, fund, wid, D(2025, 9, 30))
    assert str(e) == f"write-off {wid} was requested on 2025-10-01; 2025-09-30 is before that"

    # Left: 7,012,346 − 1,511,114 = 5,501,232, pro rata 500 : 200 : 60 : 40 (total 800):
    # provincial 3,438,270; city 1,375,308; district 412,592.4; other 275,061.6
    # → floors 5,501,231, the fen to "other" (.6).
    row = approve_wo(fund, wid, D(2025, 10, 2))
    assert (row.status, row.amount, row.rule) == ("approved", 5_501_232, "pro_rata")
    assert row.allocation == (
        {"city": 1375308, "district-D01": 412592, "other": 275062, "provincial": 3438270}
    )
    with fund() as s:
        assert balance_now(s, f"asset:receivable:L{loan_id}") == 0
        losses = {x.code: x.losses for x in queries.capital_by_source(s, D(2025, 12, 31))}
        assert losses == {
            "city": 1_375_308,
            "district-D01": 412_592,
            "other": 275_062,
            "provincial": 3_438_270,
        }
        assert loans.get_loan(s, "ICBC", "ICBC-001").status == "written_off"
    e = refused(WriteOffError, approve_wo, fund, wid, D(2025, 10, 3), actor="approver2")
    assert str(e) == f"write-off {wid} is already approved"
    # Still pursued after the write-off (账销案存): see test_recovery_after_write_off_*.


def test_recovery_after_write_off_reduces_each_sources_loss_to_the_fen(fund, borrower):
    loan_id = claimed_loan(fund, borrower)  # receivable 7,012,346: the fund's 80 % of the loss
    wid = request(fund, D(2025, 10, 1))
    row = approve_wo(fund, wid, D(2025, 10, 2))
    assert row.allocation == {
        "city": 1_753_087, "district-D01": 525_926, "other": 350_617, "provincial": 4_382_716,
    }  # fmt: skip
    # 1,000.01 yuan recovered: the fund's share is 80.00 % of it, 800.01 yuan (on the
    # running total), split over what each source bears: 4,382,717 : 1,753,086 :
    # 525,926 : 350,617 of 7,012,346.
    r = recover(fund, 100_001, D(2025, 11, 1))
    assert (r.total, r.fund_share, r.bank_share) == (100_001, 80_001, 20_000)
    assert (r.after_write_off_id, r.allocation) == (
        wid,
        {"city": 20_000, "district-D01": 6_000, "other": 4_000, "provincial": 50_001},
    )
    r2 = recover(fund, 2_345_678, D(2025, 12, 1))
    assert r2.fund_share == 1_876_542
    assert sum(r2.allocation.values()) == 1_876_542
    with fund() as s:
        losses = {x.code: x.losses for x in queries.capital_by_source(s, D(2025, 12, 31))}
        assert losses == {
            src: row.allocation[src] - r.allocation[src] - r2.allocation[src]
            for src in row.allocation
        }
        assert sum(losses.values()) == 7_012_346 - 80_001 - 1_876_542
        assert balance_now(s, f"asset:receivable:L{loan_id}") == 0  # stays written off
        assert loans.get_loan(s, "ICBC", "ICBC-001").status == "written_off"
        assert verify(s).problems == []
    # Never more than the loss still owed.
    e = refused(RecoveryError, recover, fund, 10_000_000, D(2025, 12, 2))
    assert str(e).startswith("loan ICBC-001: 100,000.00 yuan is more than the ")


def test_write_off_first_loss_rule(fund, borrower):
    claimed_loan(fund, borrower)  # receivable 7,012,346
    run(
        fund,
        lambda s: record_override(
            s,
            effective_from=D(2025, 9, 1),
            params={"loss_attribution": {"rule": "first_loss"}},
            actor="admin",
            today=D(2025, 9, 1),
        ),
    )
    rejected = request(fund, D(2025, 9, 2))
    run(
        fund,
        lambda s: recoveries.reject_write_off(
            s, rejected, "请先处置抵押物", on=D(2025, 9, 3), actor="approver"
        ),
    )
    wid = request(fund, D(2025, 9, 10))
    row = approve_wo(fund, wid, D(2025, 9, 12))
    # City money bears losses first (order city, district, provincial, other) and holds
    # 2,000,000 yuan: all 70,123.46 yuan falls on it.
    assert (row.rule, row.allocation) == ("first_loss", {"city": 7012346})
    with fund() as s:
        net = capital.net_capital_as_of(s, D(2025, 12, 31))
    assert net == {
        "city": 200_000_000 - 7_012_346,
        "district-D01": 60_000_000,
        "other": 40_000_000,
        "provincial": 500_000_000,
    }


def test_a_loss_can_be_split_by_the_capital_as_of_the_guarantee(fund, borrower):
    claimed_loan(fund, borrower)  # approved 2025-03-01; receivable 7,012,346

    def more_city_money(s):
        a = capital.record_allocation(s, "city", 600_000_000, D(2025, 6, 1), actor="clerk")
        capital.approve_allocation(s, a.id, actor="approver")

    run(fund, more_city_money)  # city: 2,000,000 → 8,000,000 yuan after the guarantee
    run(
        fund,
        lambda s: record_override(
            s, effective_from=D(2025, 9, 1), params={"loss_attribution": {"as_of": "guarantee"}},
            actor="admin", today=D(2025, 9, 1),
        ),
    )  # fmt: skip
    row = approve_wo(fund, request(fund, D(2025, 10, 1)), D(2025, 10, 2))
    # As on 2025-03-01: 500 : 200 : 60 : 40, not 500 : 800 : 60 : 40.
    assert (row.rule, row.allocation) == (
        "pro_rata",
        {"city": 1_753_087, "district-D01": 525_926, "other": 350_617, "provincial": 4_382_716},
    )
