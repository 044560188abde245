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
