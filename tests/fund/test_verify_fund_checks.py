"""``verify`` names each disagreement between the fund's records and the books.

A small fund is built once for the module through the real operations (the fund
fixture's capital, three loans, repayments and a reversal, a counter-guarantee held and
one enforced, a claim filed, approved and paid, a recovery and a write-off) and verifies
clean. Each test then changes one row of one fund table by raw SQL and commits, as a bug
or an intruder with database rights would (the books' tables are untouched and their
triggers stay on; none of them refused these updates), and asserts every problem
``verify`` reports, so that a check that stopped working, or one that fires where it
should not, fails. The ``tamper`` fixture puts the row back afterwards and checks that
the fund verifies clean again. The one check no fund table reaches (a bank's exposure
against its contra account) is reached by a misposted entry instead.

The fund (amounts in fen; loans 1, 2, 3 in this order):

* capital: provincial 500,000,000; city 200,000,000; district-D01 60,000,000;
  other 40,000,000 (one approved allocation each);
* ICBC-001 (张三, bullet, 10,000,000): P1 1,000,000 on 2025-04-05, P2 2,000,000 on
  2025-05-05 reversed by REV2 on 2025-05-06, P3 2,345,678 on 2025-06-05 → repaid
  3,345,678, last on 2025-06-05; outstanding 6,654,322, exposure 80 % = 5,323,457.6 →
  5,323,458;
* ICBC-002 (李四, interest only, 8,000,000, pledge 3,000,000): never paid; claim
  C2025-ICBC-00001 (loss 8,000,000, amount 80 % = 6,400,000) filed, approved, paid;
  recovery 1,234,567 (fund 987,654, bank 246,913); the pledge enforced for 2,000,000
  (fund 1,600,000, bank 400,000); the rest, 6,400,000 − 2,587,654 = 3,812,346, written
  off → receivable 0, loan written off, exposure 0;
* ABC-001 (王五, interest only, 15,000,000, mortgage 20,000,000 held): exposure 12,000,000.
"""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select, text

from ledger.chain import drain_sealer
from ledger.db import make_engine, session_factory
from ledger.entries import EntryDraft, credit, debit, post_entry, reverse_entry
from ledger.fund import claims, guarantees, loans, recoveries
from ledger.fund.books import balance_now
from ledger.fund.borrowers import register_borrower
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import Claim, CounterGuarantee, Recovery, WriteOff
from ledger.verify import verify
from tests.conftest import _empty_postgresql
from tests.fund.conftest import D, borrower_id, run, setup_fund

CLAIM = "C2025-ICBC-00001"


def _approve(s, number, bank, amount, term, on, cgs=()):
    return guarantees.approve_guarantee(
        s, id_number=number, bank=bank, amount=amount, term_months=term, on=on,
        actor="approver", counter_guarantees=cgs,
    ).number  # fmt: skip


def _disburse(s, bank, contract, commitment, name, number, on, principal, method):
    return loans.disburse(
        s, bank=bank, contract_no=contract, guarantee_no=commitment, borrower_name=name,
        id_number=number, disbursed_on=on, maturity_on=D(on.year + 1, on.month, on.day),
        principal=principal, annual_rate_ppm=45_000, method=method, actor=bank.lower(),
    ).loan.id  # fmt: skip


def _repay(s, ref, on, principal):
    loans.repay(
        s, bank="ICBC", bank_ref=ref, contract_no="ICBC-001", paid_on=on, principal=principal,
        interest=0, actor="icbc",
    )  # fmt: skip


def build(fund):
    """The fund of the module docstring, through the operations."""
    zhang, li, wang = borrower_id(1), borrower_id(2), borrower_id(3)

    def lend(s):
        for number, name, district, categories in (
            (zhang, "张三", "D01", ["registered_unemployed"]),
            (li, "李四", "D02", ["veteran"]),
            (wang, "王五", "D03", ["graduate"]),
        ):
            register_borrower(
                s, id_number=number, name=name, district=district, categories=categories,
                actor="clerk",
            )  # fmt: skip
        g1 = _approve(s, zhang, "ICBC", 10_000_000, 12, D(2025, 3, 1))
        _disburse(s, "ICBC", "ICBC-001", g1, "张三", zhang, D(2025, 3, 5), 10_000_000, "bullet")
        pledge = CounterGuaranteeSpec("pledge", 3_000_000, description="定期存单质押 No.778")
        g2 = _approve(s, li, "ICBC", 8_000_000, 12, D(2025, 3, 1), (pledge,))
        _disburse(s, "ICBC", "ICBC-002", g2, "李四", li, D(2025, 3, 5), 8_000_000, "interest_only")
        mortgage = CounterGuaranteeSpec("mortgage", 20_000_000, description="商铺抵押 第0012345号")
        g3 = _approve(s, wang, "ABC", 15_000_000, 24, D(2025, 5, 5), (mortgage,))
        _disburse(
            s, "ABC", "ABC-001", g3, "王五", wang, D(2025, 5, 10), 15_000_000, "interest_only"
        )

    run(fund, lend)
    run(fund, lambda s: _repay(s, "P1", D(2025, 4, 5), 1_000_000))
    run(fund, lambda s: _repay(s, "P2", D(2025, 5, 5), 2_000_000))
    run(
        fund,
        lambda s: loans.reverse_repayment(
            s, bank="ICBC", bank_ref="REV2", reversal_of="P2", on=D(2025, 5, 6), actor="icbc"
        ),
    )
    run(fund, lambda s: _repay(s, "P3", D(2025, 6, 5), 2_345_678))

    def default(s):
        claims.file_claim(s, bank="ICBC", contract_no="ICBC-002", on=D(2025, 7, 4), actor="icbc")
        claims.approve_claim(s, CLAIM, on=D(2025, 7, 6), actor="approver")
        claims.pay_claim(s, CLAIM, on=D(2025, 7, 8), actor="approver2")
        recoveries.record_recovery(
            s, bank="ICBC", contract_no="ICBC-002", amount=1_234_567, on=D(2025, 8, 1),
            actor="clerk",
        )  # fmt: skip
        pledge = s.scalar(select(CounterGuarantee).where(CounterGuarantee.kind == "pledge"))
        recoveries.enforce_counter_guarantee(
            s, pledge.id, proceeds=2_000_000, on=D(2025, 8, 15), actor="clerk"
        )
        w = recoveries.request_write_off(
            s, bank="ICBC", contract_no="ICBC-002", reason="借款人失联，追偿无果",
            on=D(2025, 9, 1), actor="clerk",
        )  # fmt: skip
        recoveries.approve_write_off(s, w.id, on=D(2025, 9, 2), actor="approver")

    run(fund, default)


@pytest.fixture(scope="module")
def books(database_url, tmp_path_factory):
    """The fund, built once for the module (each test puts back what it changed)."""
    kind, where = database_url
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("fund-checks") / "books.db"
        shutil.copyfile(where, path)
        url = f"sqlite:///{path}"
    else:
        _empty_postgresql(where)
        url = where
    engine = make_engine(url)
    factory = session_factory(engine)
    build(setup_fund(factory))
    assert drain_sealer(engine)
    yield factory
    # No sealing pass may run into the next test's reset of the database.
    assert drain_sealer(engine)
    engine.dispose()


def problems(factory):
    with factory() as s:
        return verify(s).problems


@pytest.fixture
def tamper(books):
    """``tamper(table, where, column=value, ...)`` changes the one row of ``table`` that
    ``where`` selects by a raw ``UPDATE`` and commits; afterwards the row is put back and
    the fund must verify clean again."""
    changed = []

    def change(table, where, **values):
        with books() as s:
            columns = ", ".join(values)
            (before,) = s.execute(text(f"SELECT id, {columns} FROM {table} WHERE {where}"))
            sets = ", ".join(f"{column} = :{column}" for column in values)
            updated = s.execute(text(f"UPDATE {table} SET {sets} WHERE {where}"), values)
            assert updated.rowcount == 1
            s.commit()
        changed.append((table, dict(before._mapping)))

    yield change
    for table, before in reversed(changed):
        with books() as s:
            sets = ", ".join(f"{column} = :{column}" for column in before if column != "id")
            s.execute(text(f"UPDATE {table} SET {sets} WHERE id = :id"), before)
            s.commit()
    assert problems(books) == []


# ------------------------------------------------------------------------ healthy


def test_the_fund_as_built_verifies(books):
    """…with the figures the messages below are built from."""
    assert problems(books) == []
    with books() as s:
        icbc1 = loans.get_loan(s, "ICBC", "ICBC-001")
        icbc2 = loans.get_loan(s, "ICBC", "ICBC-002")
        abc1 = loans.get_loan(s, "ABC", "ABC-001")
        assert (icbc1.id, icbc2.id, abc1.id) == (1, 2, 3)
        assert (icbc1.status, icbc1.coverage_ppm, icbc1.repaid_principal, icbc1.last_paid_on) == (
            "active",
            800_000,
            3_345_678,
            D(2025, 6, 5),
        )
        assert (icbc2.status, abc1.status) == ("written_off", "active")
        assert balance_now(s, "memo:exposure:ICBC:L1") == 5_323_458
        assert balance_now(s, "memo:exposure:ICBC:L2") == 0
        assert balance_now(s, "memo:exposure:ABC:L3") == 12_000_000
        assert balance_now(s, "memo:exposure-contra:ICBC") == 5_323_458
        assert balance_now(s, "memo:exposure-contra:ABC") == 12_000_000
        claim = s.scalar(select(Claim))
        assert (claim.number, claim.status, claim.loss, claim.amount) == (
            CLAIM,
            "paid",
            8_000_000,
            6_400_000,
        )
        got = [(r.source, r.total, r.fund_share, r.bank_share) for r in s.scalars(
            select(Recovery).order_by(Recovery.id)
        )]  # fmt: skip
        assert got == [
            ("borrower", 1_234_567, 987_654, 246_913),
            ("counter_guarantee", 2_000_000, 1_600_000, 400_000),
        ]
        w = s.scalar(select(WriteOff))
        assert (w.status, w.amount) == ("approved", 3_812_346)
        assert balance_now(s, "asset:receivable:L2") == 0
        assert [(c.kind, c.value, c.status) for c in s.scalars(
            select(CounterGuarantee).order_by(CounterGuarantee.id)
        )] == [("pledge", 3_000_000, "enforced"), ("mortgage", 20_000_000, "held")]  # fmt: skip
        assert balance_now(s, "memo:counter-guarantees:ICBC") == 0
        assert balance_now(s, "memo:counter-guarantees:ABC") == 20_000_000
        assert balance_now(s, "capital:city") == 200_000_000
        assert balance_now(s, "capital:other") == 40_000_000


# ------------------------------------------------------------- a loan's running totals


def test_running_total_of_principal_off_by_a_yuan(books, tamper):
    tamper("loans", "contract_no = 'ICBC-001'", repaid_principal=3_345_778)
    assert problems(books) == [
        "loan ICBC/ICBC-001: its running totals say 33,457.78 yuan principal and "
        "0.00 yuan interest repaid, last on "
        "2025-06-05; its repayments say 33,456.78 and 0.00 yuan, last on 2025-06-05"
    ]


def test_running_total_of_interest_off_by_a_fen(books, tamper):
    tamper("loans", "contract_no = 'ICBC-001'", repaid_interest=1)
    assert problems(books) == [
        "loan ICBC/ICBC-001: its running totals say 33,456.78 yuan principal and 0.01 yuan "
        "interest repaid, last on 2025-06-05; its repayments say 33,456.78 and 0.00 yuan, last "
        "on 2025-06-05"
    ]


def test_running_last_payment_date_moved_back(books, tamper):
    tamper("loans", "contract_no = 'ICBC-001'", last_paid_on="2025-05-05")
    assert problems(books) == [
        "loan ICBC/ICBC-001: its running totals say 33,456.78 yuan principal and "
        "0.00 yuan interest repaid, last on "
        "2025-05-05; its repayments say 33,456.78 and 0.00 yuan, last on 2025-06-05"
    ]


def test_repayment_row_changed(books, tamper):
    # P3 2,345,678 → 2,000,000: repaid 3,000,000, outstanding 7,000,000, exposure due
    # 80 % = 5,600,000; the books still hold 5,323,458.
    tamper("repayments", "bank_ref = 'P3'", principal=2_000_000)
    assert problems(books) == [
        "loan ICBC/ICBC-001: its running totals say 33,456.78 yuan principal and "
        "0.00 yuan interest repaid, last on "
        "2025-06-05; its repayments say 30,000.00 and 0.00 yuan, last on 2025-06-05",
        "loan ICBC/ICBC-001: exposure is 53,234.58 yuan, expected 56,000.00 yuan "
        "(status active, outstanding 70,000.00 yuan)",
    ]


def test_reversal_unlinked_from_its_original(books, tamper):
    # REV2 no longer reverses P2: both count, 3,345,678 + 2 × 2,000,000 = 7,345,678;
    # outstanding 2,654,322 → 80 % = 2,123,457.6 → 2,123,458.
    tamper("repayments", "bank_ref = 'REV2'", reversal_of_id=None)
    assert problems(books) == [
        "loan ICBC/ICBC-001: its running totals say 33,456.78 yuan principal and "
        "0.00 yuan interest repaid, last on "
        "2025-06-05; its repayments say 73,456.78 and 0.00 yuan, last on 2025-06-05",
        "loan ICBC/ICBC-001: exposure is 53,234.58 yuan, expected 21,234.58 yuan "
        "(status active, outstanding 26,543.22 yuan)",
    ]


def test_repayments_above_the_principal(books, tamper):
    # P3 → 9,500,000: repaid 10,500,000 of 10,000,000; the CHECK on loans.repaid_principal
    # does not reach the repayment rows. Outstanding −500,000 → "exposure" −400,000.
    tamper("repayments", "bank_ref = 'P3'", principal=9_500_000)
    assert problems(books) == [
        "loan ICBC/ICBC-001: its running totals say 33,456.78 yuan principal and "
        "0.00 yuan interest repaid, last on "
        "2025-06-05; its repayments say 105,000.00 and 0.00 yuan, last on 2025-06-05",
        "loan ICBC/ICBC-001: repaid more than its principal",
        "loan ICBC/ICBC-001: exposure is 53,234.58 yuan, expected -4,000.00 yuan "
        "(status active, outstanding -5,000.00 yuan)",
    ]


# ------------------------------------------------------------------ a loan's exposure


def test_exposure_against_a_changed_coverage(books, tamper):
    # 70 % × 6,654,322 = 4,658,025.4 → 4,658,025.
    tamper("loans", "contract_no = 'ICBC-001'", coverage_ppm=700_000)
    assert problems(books) == [
        "loan ICBC/ICBC-001: exposure is 53,234.58 yuan, expected 46,580.25 yuan "
        "(status active, outstanding 66,543.22 yuan)"
    ]


def test_exposure_of_a_written_off_loan_set_active_again(books, tamper):
    # Active, never repaid: 80 % × 8,000,000 = 6,400,000 due, and the payment released it.
    tamper("loans", "contract_no = 'ICBC-002'", status="active")
    assert problems(books) == [
        "loan ICBC/ICBC-002: exposure is 0.00 yuan, expected 64,000.00 yuan "
        "(status active, outstanding 80,000.00 yuan)"
    ]


def test_exposure_of_an_active_loan_marked_claimed(books, tamper):
    tamper("loans", "contract_no = 'ABC-001'", status="claimed")
    assert problems(books) == [
        "loan ABC/ABC-001: exposure is 120,000.00 yuan, expected 0.00 yuan "
        "(status claimed, outstanding 150,000.00 yuan)"
    ]


def test_banks_exposure_against_its_contra_account(books):
    """No fund table holds a bank's exposure or its contra: both are account balances,
    which move only by postings. So this check is reached through the books instead: an
    entry that is valid to the ledger (its memorandum postings balance) but posts a loan
    of ICBC's exposure against ABC's contra account, as a faulty operation or a clerk's
    ``fundledger post`` could."""
    wrong = EntryDraft(
        D(2025, 9, 30),
        "guarantee.exposure",
        (debit("memo:exposure:ICBC:L1", 100), credit("memo:exposure-contra:ABC", 100)),
        "在保责任记错银行",
    )
    entry_id = run(books, lambda s: post_entry(s, wrong, actor="clerk").entry_id)
    try:
        assert problems(books) == [
            "bank ABC: its loans' exposure adds up to 120,000.00 yuan but its exposure "
            "contra account holds 120,001.00 yuan",
            "bank ICBC: its loans' exposure adds up to 53,235.58 yuan but its exposure "
            "contra account holds 53,234.58 yuan",
            "loan ICBC/ICBC-001: exposure is 53,235.58 yuan, expected 53,234.58 yuan "
            "(status active, outstanding 66,543.22 yuan)",
        ]
    finally:
        run(books, lambda s: reverse_entry(s, entry_id, actor="clerk"))
    assert problems(books) == []


# ------------------------------------------------------------------------------ claims


def test_recovered_more_than_the_loss(books, tamper):
    # The borrower's recovery 1,234,567 → 7,234,567 (bank share 6,246,913, the fund's
    # unchanged): 9,234,567 recovered on a loss of 8,000,000. The receivable still agrees.
    tamper("recoveries", "source = 'borrower'", total=7_234_567, bank_share=6_246_913)
    assert problems(books) == ["claim C2025-ICBC-00001: recovered more than the loss"]


def test_fund_recovered_more_than_it_paid(books, tamper):
    # Fund share 987,654 → 4,987,654 (total 5,234,567): 7,234,567 recovered, within the
    # loss, but the fund's 6,587,654 exceeds the 6,400,000 it paid; the receivable
    # expected is 6,400,000 − 6,587,654 − 3,812,346 = −4,000,000.
    tamper("recoveries", "source = 'borrower'", total=5_234_567, fund_share=4_987_654)
    assert problems(books) == [
        "claim C2025-ICBC-00001: recovered more than the loss",
        "claim C2025-ICBC-00001: receivable is 0.00 yuan, expected -40,000.00 yuan",
    ]


def test_receivable_against_a_changed_claim_amount(books, tamper):
    # 6,500,000 − 2,587,654 recovered − 3,812,346 written off = 100,000.
    tamper("claims", f"number = '{CLAIM}'", amount=6_500_000)
    assert problems(books) == [
        "claim C2025-ICBC-00001: receivable is 0.00 yuan, expected 1,000.00 yuan"
    ]


def test_receivable_against_a_changed_write_off(books, tamper):
    tamper("write_offs", "status = 'approved'", amount=3_812_345)
    assert problems(books) == [
        "claim C2025-ICBC-00001: receivable is 0.00 yuan, expected 0.01 yuan"
    ]


# ----------------------------------------------------------------------------- capital


def test_capital_against_a_changed_allocation(books, tamper):
    tamper("capital_allocations", "source_code = 'city'", amount=200_000_001)
    assert problems(books) == [
        "capital source city: capital is 2,000,000.00 yuan, approved allocations total "
        "2,000,000.01 yuan"
    ]


def test_capital_against_an_allocation_no_longer_approved(books, tamper):
    tamper("capital_allocations", "source_code = 'other'", status="pending")
    assert problems(books) == [
        "capital source other: capital is 400,000.00 yuan, approved allocations total 0.00 yuan"
    ]


# -------------------------------------------------------------------- counter-guarantees


def test_counter_guarantees_against_a_changed_value(books, tamper):
    tamper("counter_guarantees", "kind = 'mortgage'", value=15_000_000)
    assert problems(books) == [
        "bank ABC: counter-guarantees registered 200,000.00 yuan, held 150,000.00 yuan"
    ]


def test_counter_guarantee_marked_released_while_registered(books, tamper):
    tamper("counter_guarantees", "kind = 'mortgage'", status="released")
    assert problems(books) == [
        "bank ABC: counter-guarantees registered 200,000.00 yuan, held 0.00 yuan"
    ]


def test_enforced_counter_guarantee_marked_held_again(books, tamper):
    tamper("counter_guarantees", "kind = 'pledge'", status="held")
    assert problems(books) == [
        "bank ICBC: counter-guarantees registered 0.00 yuan, held 30,000.00 yuan"
    ]


def test_counter_guarantee_moved_to_another_banks_commitment(books, tamper):
    # The mortgage now backs 李四's ICBC commitment: held at ICBC, registered at ABC.
    tamper("counter_guarantees", "kind = 'mortgage'", commitment_id=2)
    assert problems(books) == [
        "bank ABC: counter-guarantees registered 200,000.00 yuan, held 0.00 yuan",
        "bank ICBC: counter-guarantees registered 0.00 yuan, held 200,000.00 yuan",
    ]
