"""The demo city, built through the fund's operations: deterministic, balanced, verifiable."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from fractions import Fraction

import pytest
from sqlalchemy import func, select, text

from ledger import migrate
from ledger.balances import balances, trial_balance
from ledger.chain import drain_sealer
from ledger.db import make_engine, session_factory
from ledger.demo.city import CLOSE_THROUGH, END, build_fund_demo
from ledger.fund import funds, queries
from ledger.fund.books import balance_now, loan_exposure_account
from ledger.fund.loans import repaid_principal
from ledger.fund.models import (
    Borrower,
    Claim,
    Commitment,
    Extension,
    Loan,
    Recovery,
    Repayment,
    WriteOff,
)
from ledger.fund.schedule import PPM, round_half_up
from ledger.models import JournalEntry
from ledger.periods import closed_through
from ledger.verify import verify

LOANS = 40


@pytest.fixture
def other_factory(database_url, tmp_path):
    """A second empty, migrated database beside the test's own."""
    kind, where = database_url
    if kind == "sqlite":
        path = tmp_path / "other.db"
        shutil.copyfile(where, path)
        engine = make_engine(f"sqlite:///{path}")
        yield session_factory(engine)
        assert drain_sealer(engine)
        engine.dispose()
        return
    admin = make_engine(where, isolation_level="AUTOCOMMIT")
    name = f"fl_demo_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    migrate.upgrade(engine)
    yield session_factory(engine)
    assert drain_sealer(engine)
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _lines(factory):
    with factory() as s:
        return [(ln.code, ln.name, ln.type, ln.debit, ln.credit) for ln in trial_balance(s).lines]


def test_same_seed_same_books(factory, other_factory):
    first = build_fund_demo(factory, loans=LOANS)
    second = build_fund_demo(other_factory, loans=LOANS)
    assert first == second
    assert _lines(factory) == _lines(other_factory)
    assert first.loans == LOANS
    assert first.borrowers == first.commitments == LOANS + first.cancellations


def test_demo_books(factory, engine):
    summary = build_fund_demo(factory, loans=LOANS)
    assert drain_sealer(engine)
    today = dt.date.today()
    with factory() as s:
        assert trial_balance(s).net == 0
        report = verify(s)
        assert report.problems == []
        assert report.entries == summary.entries
        assert s.scalar(select(func.count()).select_from(JournalEntry)) == summary.entries
        assert s.scalar(select(func.max(JournalEntry.effective_date))) <= min(
            END, today - dt.timedelta(days=5)
        )
        assert closed_through(s) == CLOSE_THROUGH

        # Capital by source: net = contributed + income − losses, and the sources' net
        # capital is what the fund holds (assets less liabilities).
        as_of = today
        sources = queries.capital_by_source(s, as_of)
        for x in sources:
            assert x.net == x.contributed + x.income - x.losses
            assert x.contributed > 0
        by_code = {r.code: r.balance for r in balances(s)}
        held = by_code["asset"] - by_code.get("liability", 0)
        assert sum(x.net for x in sources) == held
        assert sum(x.losses for x in sources) > 0
        assert sum(x.income for x in sources) > 0
        assert [x.code for x in sources if x.unpaid] == ["district-D03"]

        # Claims paid, recoveries (one through a counter-guarantee), write-offs, extensions.
        paid = s.scalar(select(func.count()).select_from(Claim).where(Claim.status == "paid"))
        assert paid == summary.claims >= 1
        assert s.scalar(select(func.count()).select_from(Recovery)) == summary.recoveries >= 2
        assert s.scalar(
            select(func.count()).select_from(Recovery).where(Recovery.source == "counter_guarantee")
        )
        assert (
            s.scalar(
                select(func.count()).select_from(WriteOff).where(WriteOff.status == "approved")
            )
            == summary.write_offs
            >= 1
        )
        assert s.scalar(select(func.count()).select_from(Extension)) == summary.extensions >= 1
        assert s.scalar(select(func.count()).select_from(Repayment)) == summary.repayments
        methods = set(s.scalars(select(Loan.method)))
        assert methods == {"bullet", "interest_only", "annuity", "equal_principal"}

        # Every loan's exposure is coverage × outstanding principal; none after a claim.
        for loan in s.scalars(select(Loan)):
            exposure = balance_now(
                s, loan_exposure_account(loan.bank_code, loan.id, loan.fund_code)
            )
            if loan.status in ("active", "repaid"):
                outstanding = loan.principal - repaid_principal(s, loan.id)
                expected = round_half_up(Fraction(loan.coverage_ppm * outstanding, PPM))
                assert exposure == expected, loan.contract_no
            else:
                assert exposure == 0, loan.contract_no

        # Two funds: the city's, and 城东区's own from 2025-01-06, each guaranteeing loans;
        # every 城东区 loan applied for since then draws on 城东区's fund, no other does.
        assert [f.code for f in funds.funds(s)] == ["CITY", "D01"]
        rows = s.execute(
            select(Loan.fund_code, Borrower.district_code, Commitment.approved_on)
            .join(Borrower, Borrower.id == Loan.borrower_id)
            .join(Commitment, Commitment.id == Loan.commitment_id)
        ).all()
        assert {fund for fund, *_ in rows} == {"CITY", "D01"}
        for fund, district, approved_on in rows:
            own = district == "D01" and approved_on >= dt.date(2025, 1, 6)
            assert fund == ("D01" if own else "CITY")
        d01 = [x for x in queries.capital_by_source(s, END, "D01")]
        assert [(x.code, x.fund) for x in d01] == [("D01-own", "D01")]


def test_no_journal_entry_carries_a_borrowers_name_or_id_number(factory):
    """Entries are kept forever; personal data lives in records that can be masked and
    erased, and an entry names a loan and a borrower by their ids."""
    build_fund_demo(factory, loans=LOANS)
    with factory() as s:
        people = s.execute(select(Borrower.name, Borrower.id_number)).all()
        texts = list(s.scalars(select(JournalEntry.description)))
        single = s.execute(
            select(JournalEntry.description, Loan.contract_no, Loan.id, Loan.borrower_id)
            .join(Loan, Loan.entry_id == JournalEntry.id)
            .where(JournalEntry.description.not_like("% 笔%"))
            .limit(1)
        ).one()
    assert len(people) >= LOANS and len(texts) > LOANS
    leaked = [t for t in texts for name, number in people if name in t or number in t]
    assert leaked == []
    text_, contract, loan_id, borrower_id = single
    assert text_.startswith(f"{contract[: contract.index('-')]} 放款 {contract}（贷款 #{loan_id}，")
    assert f"借款人 #{borrower_id}），本金 " in text_
