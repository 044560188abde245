"""The keys of the rows a bank file writes in bulk hold whoever writes the SQL.

On PostgreSQL a repayment's loan and bank, a repayment's entry and a posting's account
are checked once per statement by triggers (migration 0007); on SQLite by foreign keys.
Either way a bad key is refused as a foreign-key violation, one bad row refuses the whole
statement, and the rows the keys point at are never deleted or re-keyed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.fund.models import Loan, Repayment
from tests.fund.conftest import D
from tests.fund.test_repayment_batches import apply, line, three_loans  # noqa: F401

NOW = "2026-01-01 00:00:00"


@pytest.fixture
def repaid(three_loans):  # noqa: F811
    """ICBC-001 repaid 1,000.00 yuan on 2025-06-05 (reference R1)."""
    apply(three_loans, [line(2, "R1", "ICBC-001", D(2025, 6, 5), 100_000)])
    with three_loans() as s:
        loan_ids = dict(s.execute(select(Loan.contract_no, Loan.id)).tuples().all())
        entry_id = s.scalar(select(Repayment.entry_id).where(Repayment.bank_ref == "R1"))
    return three_loans, loan_ids, entry_id


def repayment_sql(ref, loan_id, bank="ICBC", entry_id="NULL"):
    return (
        "INSERT INTO repayments (loan_id, bank_code, bank_ref, paid_on, principal, interest, "
        f"penalty, entry_id, recorded_by, recorded_at) VALUES ({loan_id}, '{bank}', '{ref}', "
        f"'2025-06-06', 100, 0, 0, {entry_id}, 'raw', '{NOW}')"
    )


def refusal(factory, *statements, error=DBAPIError) -> str:
    """Run ``statements`` in one transaction; it must be refused with ``error``."""
    with pytest.raises(error) as exc, factory() as s, s.begin():
        for sql in statements:
            s.execute(text(sql))
    return str(exc.value.orig)


def repayment_refs(factory) -> list[str]:
    with factory() as s:
        return list(s.scalars(select(Repayment.bank_ref).order_by(Repayment.bank_ref)))


def test_a_repayment_of_a_loan_of_another_bank_is_refused(repaid):
    factory, loan_ids, _ = repaid
    msg = refusal(
        factory, repayment_sql("X1", loan_ids["ICBC-001"], bank="ABC"), error=IntegrityError
    )
    assert "FOREIGN KEY" in msg.upper()
    assert repayment_refs(factory) == ["R1"]


def test_a_repayment_of_no_loan_is_refused(repaid):
    factory, _, _ = repaid
    msg = refusal(factory, repayment_sql("X1", 987_654), error=IntegrityError)
    assert "FOREIGN KEY" in msg.upper()


def test_a_repayment_pointing_at_no_entry_is_refused(repaid):
    factory, loan_ids, entry_id = repaid
    msg = refusal(
        factory, repayment_sql("X1", loan_ids["ICBC-002"], entry_id=entry_id + 1000),
        error=IntegrityError,
    )  # fmt: skip
    assert "FOREIGN KEY" in msg.upper()


def test_one_bad_row_refuses_the_whole_statement(repaid):
    factory, loan_ids, entry_id = repaid
    good = repayment_sql("X1", loan_ids["ICBC-002"], entry_id=entry_id)
    bad = repayment_sql("X2", loan_ids["ICBC-003"], bank="ABC")
    rows = good.split(" VALUES ")[1] + ", " + bad.split(" VALUES ")[1]
    msg = refusal(factory, good.split(" VALUES ")[0] + " VALUES " + rows, error=IntegrityError)
    assert "FOREIGN KEY" in msg.upper()
    assert repayment_refs(factory) == ["R1"]


def test_good_keys_are_taken(repaid):
    factory, loan_ids, entry_id = repaid
    with factory() as s, s.begin():
        s.execute(text(repayment_sql("X1", loan_ids["ICBC-002"], entry_id=entry_id)))
    assert repayment_refs(factory) == ["R1", "X1"]


def test_moving_a_repayment_to_another_banks_loan_is_refused(repaid):
    factory, _, _ = repaid
    msg = refusal(
        factory, "UPDATE repayments SET bank_code = 'ABC' WHERE bank_ref = 'R1'",
        error=IntegrityError,
    )  # fmt: skip
    assert "FOREIGN KEY" in msg.upper()


def test_loans_are_never_deleted(repaid):
    factory, loan_ids, _ = repaid
    # ICBC-003 has no repayment: no foreign key would stop its deletion, the rule does.
    msg = refusal(factory, f"DELETE FROM loans WHERE id = {loan_ids['ICBC-003']}")
    assert "[kept] DELETE on loans is refused" in msg
    with factory() as s:
        assert s.get(Loan, loan_ids["ICBC-003"]).contract_no == "ICBC-003"


def test_a_loan_keeps_its_id_and_its_bank(repaid):
    factory, loan_ids, _ = repaid
    for sql in (
        f"UPDATE loans SET bank_code = 'ABC' WHERE id = {loan_ids['ICBC-003']}",
        f"UPDATE loans SET id = 987654 WHERE id = {loan_ids['ICBC-003']}",
    ):
        assert "[kept]" in refusal(factory, sql)
    with factory() as s, s.begin():  # its other columns change as its business goes
        s.execute(text(f"UPDATE loans SET bank_code = 'ICBC' WHERE id = {loan_ids['ICBC-003']}"))


def test_accounts_are_never_deleted(repaid):
    factory, _, _ = repaid
    msg = refusal(factory, "DELETE FROM accounts WHERE code = 'memo:exposure-contra:ABC'")
    assert "[kept] DELETE on accounts is refused" in msg
