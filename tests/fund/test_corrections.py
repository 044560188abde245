"""Corrections of a borrower's name and ID number: recorded with a history, the birth date
and sex read again, refused for an invalid or another's number and where a commitment
held would not have been given; the journal untouched."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from ledger.chain import drain_sealer
from ledger.cli import cli
from ledger.fund.corrections import correct_borrower
from ledger.fund.errors import (
    CommitmentError,
    CorrectionError,
    DuplicateBorrowerError,
    InvalidIdNumberError,
    PermissionDeniedError,
    ReferenceDataError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.identity import Sex
from ledger.fund.models import Borrower, BorrowerCorrection
from ledger.fund.read.borrowers import borrower_detail
from ledger.models import JournalEntry
from ledger.verify import verify
from tests.fund.conftest import D, attempt, borrower_id, refused, run
from tests.fund.test_guarantees import approve, disburse, register

TYPED = borrower_id(72, born=D(1985, 4, 1))
REAL = borrower_id(73, born=D(1985, 4, 1))


def correct(fund, borrower, actor="clerk", reason="登记时录入错误", **fields):
    return run(
        fund,
        lambda s: correct_borrower(
            s, borrower, reason=reason, actor=actor, today=D(2025, 12, 31), **fields
        ),
    )


def borrower_row(fund, borrower):
    with fund() as s:
        row = s.get(Borrower, borrower)
        return (row.name, row.id_number, row.id_number_given, row.birth_date, row.sex)


def entries(fund):
    """Every entry's id, hash and description, once the PostgreSQL sealer has sealed them
    (a hash is written when its entry is sealed, a moment after the commit)."""
    assert drain_sealer(fund.kw["bind"])
    with fund() as s:
        return s.execute(select(JournalEntry.id, JournalEntry.hash, JournalEntry.description)).all()


def history(fund, borrower):
    with fund() as s:
        return [
            (c.field, c.old_value, c.new_value, c.reason, c.corrected_by)
            for c in borrower_detail(s, borrower).corrections
        ]


def test_a_misspelt_name_is_corrected_and_kept_in_the_history(fund):
    number = register(fund, 70, "张叁")
    row = correct(fund, 1, name=" 张三 ", reason="姓名录入错误，以身份证为准")
    assert (row.id, row.name) == (1, "张三")
    assert borrower_row(fund, 1) == ("张三", number, None, D(1985, 4, 1), "M")
    assert history(fund, 1) == [("name", "张叁", "张三", "姓名录入错误，以身份证为准", "clerk")]
    with fund() as s:
        (stored,) = s.scalars(select(BorrowerCorrection)).all()
        assert (stored.borrower_id, stored.corrected_at is not None) == (1, True)


def test_a_mistyped_number_is_corrected_and_birth_date_and_sex_read_again(fund):
    register(fund, 71, "李四", born=D(1985, 4, 1))
    woman = borrower_id(71, born=D(1985, 4, 10), sex=Sex.FEMALE)
    correct(fund, 1, id_number=woman, reason="身份证号第 13、17 位录入错误")
    assert borrower_row(fund, 1) == ("李四", woman, None, D(1985, 4, 10), "F")
    # Corrected again to the 15-digit number of her first-generation card, kept as given.
    first_generation = woman[:6] + woman[8:17]
    correct(fund, 1, id_number=first_generation, reason="按第一代身份证登记", actor="approver")
    assert borrower_row(fund, 1) == ("李四", woman, first_generation, D(1985, 4, 10), "F")
    assert history(fund, 1) == [
        ("id_number", borrower_id(71, born=D(1985, 4, 1)), woman, "身份证号第 13、17 位录入错误",
         "clerk"),
        ("id_number", woman, first_generation, "按第一代身份证登记", "approver"),
    ]  # fmt: skip
    # Name and number at once: one row each.
    correct(fund, 1, name="李思", id_number=woman, reason="以户口簿为准")
    assert history(fund, 1)[2:] == [
        ("name", "李四", "李思", "以户口簿为准", "clerk"),
        ("id_number", first_generation, woman, "以户口簿为准", "clerk"),
    ]


def test_a_mistyped_number_held_up_the_banks_disbursement_until_corrected(fund):
    register(fund, 72, "王五")  # the clerk typed serial 72; the card says 73
    commitment = approve(fund, TYPED, cgs=[CounterGuaranteeSpec("credit_community")])
    before = entries(fund)
    e = refused(
        CommitmentError, disburse, fund, REAL, commitment, "ICBC-072", D(2025, 3, 5),
        D(2026, 3, 5), name="王五",
    )  # fmt: skip
    assert str(e) == f"ID number {REAL} is not the borrower of commitment G2025-ICBC-00001"
    correct(fund, 1, id_number=REAL, reason="经办银行核对身份证原件，第 16 位录入错误")
    assert entries(fund) == before  # entries carry ids only: nothing to touch
    loan = disburse(fund, REAL, commitment, "ICBC-072", D(2025, 3, 5), D(2026, 3, 5), name="王五")
    assert (loan.created, loan.loan.borrower_id) == (True, 1)
    with fund() as s:
        assert verify(s).ok


def test_a_correction_that_would_have_made_a_commitment_ineligible_is_refused(fund):
    register(fund, 74, "赵六", born=D(1985, 4, 1))  # a veteran of 39 on 2025-03-01
    number = borrower_id(74, born=D(1985, 4, 1))
    approve(fund, number, cgs=[CounterGuaranteeSpec("credit_community")])
    older = borrower_id(74, born=D(1964, 5, 1))  # 60 on 2025-03-01: still a man of age
    too_old = borrower_id(74, born=D(1964, 2, 1))  # 61 on 2025-03-01
    e = refused(CorrectionError, correct, fund, 1, id_number=too_old)
    assert (e.code, str(e), e.zh) == (
        "correction",
        f"with ID number {too_old} (born 1964-02-01, male) the borrower would not have been "
        "eligible for commitment G2025-ICBC-00001 approved on 2025-03-01: The borrower is 61 "
        "on 2025-03-01; the rules in force on that date allow ages 18 to 60",
        f"按身份证号 {too_old}（1964-02-01 出生，男），借款人不符合 2025-03-01 批准的担保承诺 "
        "G2025-ICBC-00001 的条件：借款人在 2025-03-01 为 61 周岁，不在当日适用政策规定的 "
        "18–60 周岁范围内",
    )
    # As a woman of 60 she would have been over 55.
    woman = borrower_id(74, born=D(1964, 5, 1), sex=Sex.FEMALE)
    e = refused(CorrectionError, correct, fund, 1, id_number=woman)
    assert "(born 1964-05-01, female)" in str(e) and "allow ages 18 to 55" in str(e)
    assert borrower_row(fund, 1) == ("赵六", number, None, D(1985, 4, 1), "M")
    assert history(fund, 1) == []
    correct(fund, 1, id_number=older)
    assert borrower_row(fund, 1)[3:] == (D(1964, 5, 1), "M")


def test_refusals_name_what_is_wrong_and_change_nothing(fund):
    register(fund, 75, "孙七")
    other = register(fund, 76, "周八")
    before = borrower_row(fund, 1)
    e = refused(InvalidIdNumberError, correct, fund, 1, id_number="110105198504010751")
    assert (e.code, str(e)) == (
        "invalid-id-number",
        "ID number 110105198504010751 has a wrong check digit: 1, expected 5",
    )
    e = refused(DuplicateBorrowerError, correct, fund, 1, id_number=other)
    assert (e.code, str(e), e.zh) == (
        "borrower-duplicate",
        f"ID number {other} is already registered to borrower #2; a person is registered once",
        f"身份证号 {other} 已登记为借款人 #2，一人只能登记一次",
    )
    e = refused(CorrectionError, correct, fund, 1, name="孙七", id_number=before[1])
    assert (e.code, str(e), e.zh) == (
        "correction",
        "nothing to correct: borrower #1 already has that name and ID number",
        "无需更正：借款人 #1 的姓名和身份证号与所填相同",
    )
    e = refused(CorrectionError, correct, fund, 1)
    assert str(e) == "say what to correct: the name, the ID number or both"
    e = refused(CorrectionError, correct, fund, 1, name="孙琪", reason=" ")
    assert (str(e), e.zh) == (
        "a reason of 1-200 characters is required",
        "应填写更正原因（1-200 个字符）",
    )
    e = refused(ReferenceDataError, correct, fund, 1, name=" ")
    assert str(e) == "a borrower name of 1-100 characters is required"
    e = refused(ReferenceDataError, correct, fund, 9, name="孙琪")
    assert (str(e), e.zh) == ("no borrower #9", "借款人 #9 不存在")
    for user in ("auditor", "icbc", "admin"):
        e = refused(PermissionDeniedError, correct, fund, 1, name="孙琪", actor=user)
        assert str(e) == f"user {user} may not do this: it needs the clerk or approver role"
    assert borrower_row(fund, 1) == before
    assert history(fund, 1) == []


def test_a_borrower_cannot_be_corrected_into_their_own_guarantor(fund):
    number = register(fund, 77, "吴九")
    guarantor = borrower_id(78, born=D(1970, 1, 1))
    approve(fund, number, cgs=[CounterGuaranteeSpec(
        "guarantor", guarantor_name="郑十", guarantor_id_number=guarantor,
        employer_type="enterprise",
    )])  # fmt: skip
    e = refused(CorrectionError, attempt(fund, lambda s: correct_borrower(
        s, 1, id_number=guarantor, reason="录入错误", actor="clerk", today=D(2025, 12, 31)
    )))  # fmt: skip
    assert str(e) == (
        f"ID number {guarantor} is the guarantor's of commitment G2025-ICBC-00001; a borrower "
        "cannot be the guarantor of their own loan"
    )


def test_correct_on_the_command_line(fund, db_url):
    register(fund, 79, "钱七")
    runner = CliRunner()

    def cli_run(*args):
        return runner.invoke(cli, ["--database-url", db_url, *args], catch_exceptions=False)

    number = borrower_id(79, born=D(1985, 4, 1))
    done = cli_run("borrower", "correct", number, "--name", "钱琪", "--reason", "姓名录入错误",
                   "--actor", "clerk")  # fmt: skip
    assert (done.exit_code, done.stdout) == (0, f"borrower #1 corrected: 钱琪 {number}\n")
    again = cli_run("borrower", "correct", "#1", "--name", "钱琪", "--reason", "重复",
                    "--actor", "clerk")  # fmt: skip
    assert (again.exit_code, again.stderr) == (
        1,
        "error: nothing to correct: borrower #1 already has that name and ID number\n"
        "错误：无需更正：借款人 #1 的姓名和身份证号与所填相同\n",
    )
    shown = cli_run("borrower", "show", "#1", "--unmasked", "--actor", "clerk")
    assert [line for line in shown.stdout.splitlines() if line.startswith("corrected")] == [
        "corrected          name: 钱七 → 钱琪 by clerk at "
        + shown.stdout.split("name: 钱七 → 钱琪 by clerk at ")[1][:16]
        + " UTC (姓名录入错误)"
    ]
    masked = cli_run("borrower", "show", "#1")
    assert "corrected          name: 钱* → 钱* by clerk at " in masked.stdout
