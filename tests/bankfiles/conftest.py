"""A small city for the bank-file tests: two banks, fourteen borrowers, their commitments,
five loans already in the books, and ABC's special account cut so that its leverage cap
is within reach of one disbursement file.

The checked-in files under ``files/`` (made by ``files/make_files.py``) name these
borrowers, commitments and loans; every test passes :data:`TODAY` as the business date.

Commitments are numbered per bank in the order approved (``G2025-ICBC-00001`` …):

=====  ======  ====================  =====================  ==================================
serial  name    bank, commitment      amount (yuan)          loan in the books
=====  ======  ====================  =====================  ==================================
1      张伟    ICBC 00001            100,000                GH2025-0001 interest_only 03-10
2      王芳    ICBC 00002             80,000                GH2025-0002 equal_principal 03-15
3      李娜    ICBC 00003             50,000                GH2025-0003 bullet 04-01
4      刘洋    ICBC 00004            100,000                —
5      陈静    ICBC 00005             60,000                —
6      杨磊    ICBC 00006             80,000                — (ID number ends in X)
7      赵敏    ICBC 00007             50,000                —
8      黄强    ABC 00001             100,000                NH-25-001 bullet 03-20
9      周杰    ABC 00002             100,000                NH-25-002 bullet 03-20
10-14  …       ABC 00003-00007       100,000 each            —
=====  ======  ====================  =====================  ==================================

ABC keeps 100,000 yuan in its special account: cap 5 × 100,000 = 500,000 yuan; its two
loans hold 160,000 of it (80% coverage), so four more loans of 100,000 fit (480,000)
and a fifth does not.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ledger.balances import trial_balance
from ledger.bankfiles.models import BankBalanceLine, BankStatementLine
from ledger.fund import capital, guarantees, loans
from ledger.fund.borrowers import register_borrower
from ledger.fund.models import Loan, Repayment
from ledger.models import JournalEntry, Posting
from tests.fund.conftest import D, borrower_id, run, setup_fund

FILES = Path(__file__).parent / "files"
TODAY = D(2026, 11, 30)
APPROVED_ON = D(2025, 3, 1)
#: ABC's special account after the withdrawal of 2025-02-01.
ABC_SPECIAL = 10_000_000


@dataclass(frozen=True)
class Person:
    serial: int
    name: str
    district: str
    bank: str
    #: Approved amount, fen.
    amount: int
    term_months: int

    @property
    def id_number(self) -> str:
        return borrower_id(self.serial)


PEOPLE = (
    Person(1, "张伟", "D01", "ICBC", 10_000_000, 24),
    Person(2, "王芳", "D01", "ICBC", 8_000_000, 24),
    Person(3, "李娜", "D02", "ICBC", 5_000_000, 12),
    Person(4, "刘洋", "D02", "ICBC", 10_000_000, 24),
    Person(5, "陈静", "D03", "ICBC", 6_000_000, 12),
    Person(6, "杨磊", "D03", "ICBC", 8_000_000, 24),
    Person(7, "赵敏", "D01", "ICBC", 5_000_000, 12),
    Person(8, "黄强", "D01", "ABC", 10_000_000, 12),
    Person(9, "周杰", "D02", "ABC", 10_000_000, 12),
    Person(10, "吴琳", "D02", "ABC", 10_000_000, 12),
    Person(11, "徐刚", "D03", "ABC", 10_000_000, 12),
    Person(12, "孙丽", "D03", "ABC", 10_000_000, 12),
    Person(13, "马超", "D01", "ABC", 10_000_000, 12),
    Person(14, "朱红", "D02", "ABC", 10_000_000, 12),
)
BY_SERIAL = {p.serial: p for p in PEOPLE}


def commitment_no(serial: int) -> str:
    """The number the commitment of borrower ``serial`` gets (numbered per bank)."""
    person = BY_SERIAL[serial]
    n = [p.serial for p in PEOPLE if p.bank == person.bank].index(serial) + 1
    return f"G2025-{person.bank}-{n:05d}"


@dataclass(frozen=True)
class BookLoan:
    contract_no: str
    serial: int
    principal: int
    disbursed_on: dt.date
    maturity_on: dt.date
    rate_ppm: int
    method: str

    @property
    def bank(self) -> str:
        return BY_SERIAL[self.serial].bank


#: The loans disbursed in the fixture (not through a file).
BOOK_LOANS = (
    BookLoan("GH2025-0001", 1, 10_000_000, D(2025, 3, 10), D(2027, 3, 10), 43_500, "interest_only"),
    BookLoan(
        "GH2025-0002", 2, 8_000_000, D(2025, 3, 15), D(2027, 3, 15), 42_000, "equal_principal"
    ),
    BookLoan("GH2025-0003", 3, 5_000_000, D(2025, 4, 1), D(2026, 4, 1), 38_500, "bullet"),
    BookLoan("NH-25-001", 8, 10_000_000, D(2025, 3, 20), D(2026, 3, 20), 43_500, "bullet"),
    BookLoan("NH-25-002", 9, 10_000_000, D(2025, 3, 20), D(2026, 3, 20), 43_500, "bullet"),
)


def build_city(factory):
    """The scenario above, committed; returns the factory."""
    setup_fund(factory)

    def setup(s):
        capital.withdraw_capital(s, "ABC", 100_000_000 - ABC_SPECIAL, D(2025, 2, 1), actor="clerk")
        for p in PEOPLE:
            register_borrower(
                s, id_number=p.id_number, name=p.name, district=p.district,
                categories=["registered_unemployed"], actor="clerk", today=TODAY,
            )  # fmt: skip
        for p in PEOPLE:
            c = guarantees.approve_guarantee(
                s, id_number=p.id_number, bank=p.bank, amount=p.amount,
                term_months=p.term_months, on=APPROVED_ON, actor="approver", today=TODAY,
            )  # fmt: skip
            assert c.number == commitment_no(p.serial)
        for loan in BOOK_LOANS:
            person = BY_SERIAL[loan.serial]
            loans.disburse(
                s, bank=loan.bank, contract_no=loan.contract_no,
                guarantee_no=commitment_no(loan.serial), borrower_name=person.name,
                id_number=person.id_number, disbursed_on=loan.disbursed_on,
                maturity_on=loan.maturity_on, principal=loan.principal,
                annual_rate_ppm=loan.rate_ppm, method=loan.method,
                actor=loan.bank.lower(), today=TODAY,
            )  # fmt: skip

    run(factory, setup)
    return factory


@pytest.fixture
def city(factory):
    return build_city(factory)


# ------------------------------------------------------------------------ one loan

#: The fuzz tests' fund: one bullet loan of 100,000 yuan, ICBC-001, to borrower 1.
ONE_LOAN_BORROWER = borrower_id(1)
ONE_LOAN_CONTRACT = "ICBC-001"
ONE_LOAN_PRINCIPAL = 10_000_000
ONE_LOAN_DISBURSED_ON = D(2025, 3, 5)


@pytest.fixture
def fund(factory):
    """The fund, with one bullet loan ICBC-001 of 100,000 yuan disbursed 2025-03-05."""
    setup_fund(factory)

    def setup(s):
        register_borrower(
            s, id_number=ONE_LOAN_BORROWER, name="张三", district="D01",
            categories=["registered_unemployed"], actor="clerk",
        )  # fmt: skip
        commitment = guarantees.approve_guarantee(
            s, id_number=ONE_LOAN_BORROWER, bank="ICBC", amount=ONE_LOAN_PRINCIPAL,
            term_months=12, on=D(2025, 3, 1), actor="approver",
        )  # fmt: skip
        loans.disburse(
            s, bank="ICBC", contract_no=ONE_LOAN_CONTRACT, guarantee_no=commitment.number,
            borrower_name="张三", id_number=ONE_LOAN_BORROWER, disbursed_on=ONE_LOAN_DISBURSED_ON,
            maturity_on=D(2026, 3, 5), principal=ONE_LOAN_PRINCIPAL, annual_rate_ppm=45_000,
            method="bullet", actor="icbc",
        )  # fmt: skip

    run(factory, setup)
    return factory


# ------------------------------------------------------------------------ helpers


def fixture_file(name: str, tmp_path: Path, as_name: str | None = None) -> Path:
    """A copy of a checked-in file in ``tmp_path`` (the CLI writes reports beside it)."""
    target = tmp_path / (as_name or name)
    shutil.copyfile(FILES / name, target)
    return target


def do_import(factory, kind: str, name: str, *, bank: str = "ICBC", actor: str | None = None):
    from ledger.bankfiles.imports import import_file

    return import_file(
        factory, bank=bank, kind=kind, path=FILES / name, actor=actor or bank.lower(), today=TODAY
    )


def problems(factory, receipt) -> list[tuple]:
    """Every error line of a receipt as (row, column, value, code)."""
    from ledger.bankfiles.imports import error_lines

    with factory() as s:
        return [(p.row, p.column, p.value, p.code) for p in error_lines(s, receipt.id)]


def messages(factory, receipt) -> dict[tuple, tuple[str, str]]:
    """(row, column) → (message, zh) of every error line."""
    from ledger.bankfiles.imports import error_lines

    with factory() as s:
        return {(p.row, p.column): (p.message, p.zh) for p in error_lines(s, receipt.id)}


def state(factory) -> dict:
    """What a rejected file must leave unchanged: the trial balance, the count of
    entries, postings, loans, repayments and stored lines, and the loans' running
    totals."""
    with factory() as s:
        count = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
        return {
            "trial_balance": [(x.code, x.debit, x.credit) for x in trial_balance(s).lines],
            "entries": count(JournalEntry),
            "postings": count(Posting),
            "loans": s.execute(
                select(
                    Loan.contract_no, Loan.status, Loan.repaid_principal, Loan.last_paid_on
                ).order_by(Loan.id)
            ).all(),
            "repayments": count(Repayment),
            "balance_lines": count(BankBalanceLine),
            "statement_lines": count(BankStatementLine),
            "commitments_used": s.execute(
                text("SELECT count(*) FROM commitments WHERE status = 'used'")
            ).scalar(),
        }


def loan_state(factory, bank: str, contract: str) -> tuple:
    """(repaid principal, last paid on, status, exposure) of a loan."""
    from ledger.fund.books import balance_now

    with factory() as s:
        loan = loans.get_loan(s, bank, contract)
        exposure = balance_now(s, f"memo:exposure:{bank}:L{loan.id}")
        return loan.repaid_principal, loan.last_paid_on, loan.status, exposure


def verify_ok(factory) -> None:
    from ledger.verify import verify

    with factory() as s:
        assert verify(s).problems == []
