"""A small fund for the domain tests: users, three districts, two banks, four capital
sources with their money received and placed, ready for guarantees."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.fund import capital, reference
from ledger.fund.borrowers import register_borrower
from ledger.fund.identity import Sex, make_resident_id
from ledger.fund.reference import SYSTEM

D = dt.date
#: Capital received in the fixture, fen: provincial 5,000,000; city 2,000,000;
#: district-D01 600,000; other 400,000 yuan — 8,000,000 yuan in all.
CAPITAL = {
    "provincial": 500_000_000,
    "city": 200_000_000,
    "district-D01": 60_000_000,
    "other": 40_000_000,
}
#: Placed on 2025-01-10: ICBC 3,000,000 yuan, ABC 1,000,000 yuan.
PLACED = {"ICBC": 300_000_000, "ABC": 100_000_000}


def refused(exc_type, fn, *args, **kw):
    """Call ``fn``; it must raise exactly ``exc_type`` (not a subclass). Returns the error."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kw)
    assert type(info.value) is exc_type
    return info.value


def attempt(fund, work):
    """``work`` as a committed transaction to run later (for :func:`refused`)."""
    return lambda: run(fund, work)


def snapshot(fund):
    """The trial balance's lines: what a refused operation must leave unchanged."""
    from ledger.balances import trial_balance

    with fund() as s:
        return [(x.code, x.debit, x.credit) for x in trial_balance(s).lines]


def run(factory, work):
    """Run ``work(session)`` in one committed transaction and return its result."""
    from ledger.db import run_in_transaction

    return run_in_transaction(factory, work)


RECEIVED_ON, PLACED_ON = D(2025, 1, 2), D(2025, 1, 10)


def setup_fund(factory, *, received_on=RECEIVED_ON, placed_on=PLACED_ON):
    """Reference data and capital, committed: the sources' money received from
    ``received_on`` (one a day) and placed at the banks on ``placed_on``."""

    def setup(s):
        reference.add_user(s, "admin", "系统管理员", ["admin"], actor=SYSTEM)
        reference.add_district(s, "D01", "城东区", actor="admin")
        reference.add_district(s, "D02", "城西区", actor="admin")
        reference.add_district(s, "D03", "新河县", actor="admin")
        reference.add_bank(s, "ICBC", "工商银行", "1202020129900012345", actor="admin")
        reference.add_bank(s, "ABC", "农业银行", "6228480010000000001", actor="admin")
        reference.add_capital_source(s, "provincial", "省级拨付", "provincial", actor="admin")
        reference.add_capital_source(s, "city", "市级配套", "city", actor="admin")
        reference.add_capital_source(
            s,
            "district-D01",
            "城东区配套",
            "district",
            district="D01",
            actor="admin",
            committed=100_000_000,
        )
        reference.add_capital_source(s, "other", "社会捐赠", "other", actor="admin")
        reference.add_user(s, "clerk", "王经办", ["clerk"], actor="admin")
        reference.add_user(s, "clerk2", "赵经办", ["clerk"], actor="admin")
        reference.add_user(s, "approver", "李审核", ["approver"], actor="admin")
        reference.add_user(s, "approver2", "陈审核", ["approver"], actor="admin")
        reference.add_user(s, "icbc", "工行信贷员", ["bank"], bank="ICBC", actor="admin")
        reference.add_user(s, "abc", "农行信贷员", ["bank"], bank="ABC", actor="admin")
        reference.add_user(s, "auditor", "审计员", ["auditor"], actor="admin")
        for n, (source, fen) in enumerate(CAPITAL.items()):
            a = capital.record_allocation(
                s, source, fen, received_on + dt.timedelta(days=n), actor="clerk",
                reference=f"财字〔{received_on.year}〕{n + 1}号",
            )  # fmt: skip
            capital.approve_allocation(s, a.id, actor="approver")
        for bank, fen in PLACED.items():
            capital.place_capital(s, bank, fen, placed_on, actor="clerk")

    run(factory, setup)
    return factory


@pytest.fixture
def fund(factory):
    """Reference data and capital (received 2025-01-02…05, placed 2025-01-10); returns the
    factory."""
    return setup_fund(factory)


BORN = D(1990, 5, 17)


def borrower_id(serial: int, *, born=BORN, sex=Sex.MALE, region="110105") -> str:
    return make_resident_id(region, born, serial, sex)


@pytest.fixture
def borrower(fund):
    """Registers 张三 (registered unemployed, born 1990-05-17) and returns his ID number."""
    number = borrower_id(1)
    run(
        fund,
        lambda s: register_borrower(
            s,
            id_number=number,
            name="张三",
            district="D01",
            categories=["registered_unemployed"],
            actor="clerk",
        ),
    )
    return number


# ------------------------------------------------------------------------ a small portfolio

#: The borrowers of :func:`portfolio`, registered in this order (ids 1-6):
#: (serial, name, district, declared categories, birth date).
PORTFOLIO_BORROWERS = (
    (1, "张三", "D01", ["registered_unemployed"], BORN),
    (2, "李四", "D02", ["veteran"], BORN),
    (3, "王五", "D01", ["graduate", "veteran"], BORN),
    (4, "周八", "D01", ["veteran"], BORN),
    (5, "赵六", "D03", ["registered_unemployed"], D(1970, 2, 1)),
    (6, "孙七", "D02", ["graduate"], BORN),
)
#: The loans of :func:`portfolio`, disbursed in this order (ids 1-6): (contract, bank,
#: borrower serial, principal fen, method, disbursed on, maturity).
PORTFOLIO_LOANS = (
    ("ICBC-001", "ICBC", 1, 10_000_000, "bullet", D(2025, 3, 5), D(2026, 3, 5)),
    ("ABC-001", "ABC", 2, 5_000_000, "interest_only", D(2025, 3, 10), D(2026, 3, 10)),
    ("ICBC-002", "ICBC", 3, 8_000_000, "interest_only", D(2025, 4, 1), D(2026, 4, 1)),
    ("ICBC-003", "ICBC", 4, 4_000_000, "interest_only", D(2025, 4, 1), D(2026, 4, 1)),
    ("ICBC-004", "ICBC", 5, 3_000_000, "bullet", D(2025, 5, 1), D(2025, 11, 1)),
    ("ABC-002", "ABC", 6, 6_000_000, "bullet", D(2025, 6, 1), D(2026, 6, 1)),
)


def build_portfolio(factory):
    """On top of :func:`setup_fund` (allocations 1-4 approved), committed:

    - the six borrowers and six loans above, all at 4.50 % a year; 张三 first had a
      commitment at ABC (G2025-ABC-00001), cancelled;
    - ICBC-001: 20,000 yuan of principal repaid on 2025-09-05 (80,000 outstanding);
    - ABC-001 never pays: claim 1 (C2025-ABC-00001) filed 2025-07-10 and rejected, claim 2
      (C2025-ABC-00002) filed 07-12, approved 07-14 and paid 07-15 (40,000 yuan); 10,000
      recovered on 09-01 (fund 8,000); write-off 1 of the 32,000 left requested 10-01;
    - ICBC-002 never pays: claim 3 (C2025-ICBC-00001) filed 2025-08-01 and rejected,
      claim 5 (C2025-ICBC-00003) filed 08-10 and waiting;
    - ICBC-003 never pays: claim 4 (C2025-ICBC-00002) filed 08-03, approved 08-05;
    - ICBC-004 repaid in full on 2025-11-01;
    - ABC-002 extended on 2025-12-01 to 2026-12-01;
    - allocation 5 (city, 50,000 yuan received 2025-06-01) pending; allocation 6 (other,
      10,000 received 06-02) rejected.
    """

    def work(s):
        from ledger.fund import claims, guarantees, loans, recoveries

        for serial, name, district, categories, born in PORTFOLIO_BORROWERS:
            register_borrower(
                s, id_number=borrower_id(serial, born=born), name=name, district=district,
                categories=categories, actor="clerk",
            )  # fmt: skip
        first = guarantees.approve_guarantee(
            s, id_number=borrower_id(1), bank="ABC", amount=1_000_000, term_months=12,
            on=D(2025, 2, 1), actor="approver",
        )  # fmt: skip
        guarantees.cancel_commitment(s, first.number, "借款人放弃", D(2025, 2, 10), actor="clerk")
        for contract, bank, serial, principal, method, disbursed, maturity in PORTFOLIO_LOANS:
            number = borrower_id(serial, born=PORTFOLIO_BORROWERS[serial - 1][4])
            c = guarantees.approve_guarantee(
                s, id_number=number, bank=bank, amount=principal, term_months=12,
                on=disbursed - dt.timedelta(days=3), actor="approver",
            )  # fmt: skip
            loans.disburse(
                s, bank=bank, contract_no=contract, guarantee_no=c.number,
                borrower_name=PORTFOLIO_BORROWERS[serial - 1][1], id_number=number,
                disbursed_on=disbursed, maturity_on=maturity, principal=principal,
                annual_rate_ppm=45_000, method=method, actor=bank.lower(),
            )  # fmt: skip
        loans.repay(
            s, bank="ICBC", bank_ref="R-001", contract_no="ICBC-001", paid_on=D(2025, 9, 5),
            principal=2_000_000, interest=0, actor="icbc",
        )  # fmt: skip
        claims.file_claim(s, bank="ABC", contract_no="ABC-001", on=D(2025, 7, 10), actor="abc")
        claims.reject_claim(s, "C2025-ABC-00001", "材料不全", on=D(2025, 7, 11), actor="approver")
        claims.file_claim(s, bank="ABC", contract_no="ABC-001", on=D(2025, 7, 12), actor="abc")
        claims.approve_claim(s, "C2025-ABC-00002", on=D(2025, 7, 14), actor="approver")
        claims.pay_claim(s, "C2025-ABC-00002", on=D(2025, 7, 15), actor="approver2")
        claims.file_claim(s, bank="ICBC", contract_no="ICBC-002", on=D(2025, 8, 1), actor="icbc")
        claims.reject_claim(s, "C2025-ICBC-00001", "重复申请", on=D(2025, 8, 2), actor="approver")
        claims.file_claim(s, bank="ICBC", contract_no="ICBC-003", on=D(2025, 8, 3), actor="icbc")
        claims.approve_claim(s, "C2025-ICBC-00002", on=D(2025, 8, 5), actor="approver")
        claims.file_claim(s, bank="ICBC", contract_no="ICBC-002", on=D(2025, 8, 10), actor="icbc")
        recoveries.record_recovery(
            s, bank="ABC", contract_no="ABC-001", amount=1_000_000, on=D(2025, 9, 1),
            actor="clerk", reference="法院执行",
        )  # fmt: skip
        recoveries.request_write_off(
            s, bank="ABC", contract_no="ABC-001", reason="借款人失联", on=D(2025, 10, 1),
            actor="clerk",
        )  # fmt: skip
        loans.repay(
            s, bank="ICBC", bank_ref="R-004", contract_no="ICBC-004", paid_on=D(2025, 11, 1),
            principal=3_000_000, interest=0, actor="icbc",
        )  # fmt: skip
        loans.extend_loan(
            s, bank="ABC", contract_no="ABC-002", new_maturity=D(2026, 12, 1),
            on=D(2025, 12, 1), actor="approver",
        )  # fmt: skip
        capital.record_allocation(
            s, "city", 5_000_000, D(2025, 6, 1), actor="clerk", reference="财字〔2025〕9号"
        )
        rejected = capital.record_allocation(s, "other", 1_000_000, D(2025, 6, 2), actor="clerk")
        capital.reject_allocation(s, rejected.id, "重复登记", actor="approver")

    setup_fund(factory)
    run(factory, work)
    return factory


@pytest.fixture
def portfolio(factory):
    """:func:`build_portfolio`; returns the factory."""
    return build_portfolio(factory)
