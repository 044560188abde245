"""Masking: an ID number keeps its first and last 4 characters, a name its first; read
values give their masked copies; the command line shows masked unless a clerk, an
approver or an admin asks for them whole."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from ledger.cli import cli
from ledger.fund.errors import PermissionDeniedError
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.personal import (
    ERASED_NAME,
    check_whole_view,
    erased_id_number,
    mask_id_number,
    mask_name,
    mask_number,
)
from ledger.fund.read.borrowers import borrower_detail, borrowers_page
from ledger.fund.read.claims import claims_page
from ledger.fund.read.loans import loan_detail, loans_page
from tests.fund.conftest import BORN, D, borrower_id, refused
from tests.fund.test_guarantees import approve, disburse, register

GUARANTOR = borrower_id(61, born=D(1975, 6, 1))


def test_an_id_number_keeps_its_first_and_last_four_characters():
    assert mask_id_number("320102198001011234") == "3201**********1234"
    assert mask_id_number("11010519900517061X") == "1101**********061X"
    # A first-generation number keeps its 15 characters.
    assert mask_id_number("320102800101123") == "3201*******1123"
    assert mask_id_number(None) is None
    # What stands for an erased number is no one's: shown as it is.
    assert erased_id_number(34) == "ERASED000000000034"
    assert mask_id_number("ERASED000000000034") == "ERASED000000000034"


def test_a_name_keeps_its_first_character():
    assert mask_name("张三") == "张*"
    assert mask_name("王小二") == "王**"
    # A compound surname is not told from a given name: only the first character stays.
    assert mask_name("欧阳小明") == "欧***"
    assert mask_name("买买提·艾力") == "买*****"
    assert mask_name("李") == "*"
    assert (mask_name(""), mask_name(None), mask_name(ERASED_NAME)) == ("", None, "（已删除）")


def test_a_certificate_number_keeps_its_first_and_last_four_characters():
    assert mask_number("0301-004217") == "0301***4217"
    assert mask_number("豫再就业证 0301-004217") == "豫再就业*********4217"
    assert mask_number("12345678") == "********"


def test_read_values_give_their_masked_copies(portfolio):
    with portfolio() as s:
        page = borrowers_page(s, district="D02")
        detail = borrower_detail(s, borrower_id(2))
        loans = loans_page(s, bank="ABC")
        claims = claims_page(s, bank="ABC")
    li = page.items[-1]
    masked = li.masked()
    assert dataclasses.replace(masked, registered_at=None) == dataclasses.replace(
        li,
        name="李*",
        id_number="1101**********0214",
        birth_date=D(1990, 1, 1),
        birth_year_only=True,
        registered_at=None,
    )
    assert (li.birth_date, li.birth_year_only) == (BORN, False)
    # Only the year is left: a 4050 registration cannot be judged from it.
    with pytest.raises(ValueError, match="borrower #2: only the birth year is known"):
        masked.categories_on(D(2025, 1, 1))
    shown = detail.masked()
    assert (shown.borrower.name, shown.borrower.id_number) == ("李*", "1101**********0214")
    assert [(ln.borrower_name, ln.borrower_id_number) for ln in shown.loans] == [
        ("李*", "1101**********0214")
    ]
    assert detail.borrower.name == "李四"  # the value itself is unchanged
    assert [(r.borrower_name, r.masked().borrower_name) for r in loans.items] == [
        ("孙七", "孙*"),
        ("李四", "李*"),
    ]
    assert {r.masked().borrower_name for r in claims.items} == {"李*"}


def test_a_loans_borrower_and_guarantors_are_masked(fund):
    number = register(fund, 60, "欧阳小明")
    guarantor = CounterGuaranteeSpec(
        "guarantor", guarantor_name="司马光明", guarantor_id_number=GUARANTOR,
        employer_type="civil_servant",
    )  # fmt: skip
    commitment = approve(fund, number, cgs=[guarantor])
    disburse(fund, number, commitment, "ICBC-060", D(2025, 3, 5), D(2026, 3, 5), name="欧阳小明")
    with fund() as s:
        detail = loan_detail(s, "ICBC", "ICBC-060", D(2025, 6, 30))
    shown = detail.masked()
    assert (shown.borrower.name, shown.borrower.id_number) == (
        "欧***",
        mask_id_number(number),
    )
    assert [(c.guarantor_name, c.guarantor_id_number) for c in shown.counter_guarantees] == [
        ("司***", GUARANTOR[:4] + "*" * 10 + GUARANTOR[-4:])
    ]
    assert shown.loan == detail.loan and shown.entries == detail.entries


def test_who_may_see_names_and_numbers_whole(portfolio):
    with portfolio() as s:
        for user in ("clerk", "approver", "admin"):
            assert check_whole_view(s, user) == user
        for user in ("auditor", "icbc"):
            e = refused(PermissionDeniedError, check_whole_view, s, user)
            assert (e.code, str(e), e.zh) == (
                "permission-denied",
                f"user {user} may not do this: it needs the clerk or approver or admin role",
                f"用户 {user} 无权执行此操作：需要经办或审核或管理员角色",
            )


@pytest.fixture
def cli_run(db_url):
    runner = CliRunner()

    def invoke(*args, actor=None):
        extra = ("--actor", actor) if actor else ()
        return runner.invoke(cli, ["--database-url", db_url, *args, *extra], catch_exceptions=False)

    return invoke


def test_the_command_line_masks_unless_asked_by_whom_may_see(portfolio, cli_run):
    zhang = borrower_id(1)
    masked = cli_run("borrower", "show", zhang, "--on", "2025-10-01")
    assert masked.exit_code == 0, masked.output
    assert masked.stdout.splitlines()[:2] == [
        f"borrower           #1 张* {mask_id_number(zhang)}",
        "born               1990, male",
    ]
    # The categories on the date are judged on the whole birth date before it is masked.
    assert "categories         registered_unemployed (登记失业人员) (on 2025-10-01)" in (
        masked.stdout.splitlines()
    )
    whole = cli_run("borrower", "show", "#1", "--on", "2025-10-01", "--unmasked", actor="clerk")
    assert whole.stdout.splitlines()[:2] == [
        f"borrower           #1 张三 {zhang}",
        "born               1990-05-17, male",
    ]
    for args in (
        ("borrower", "show", zhang, "--unmasked"),
        ("borrower", "list", "--unmasked"),
        ("loan", "list", "--unmasked"),
        ("loan", "show", "--bank", "ICBC", "--contract", "ICBC-001", "--unmasked"),
        ("claim", "list", "--unmasked"),
    ):
        refused_ = cli_run(*args, actor="auditor")
        assert (refused_.exit_code, refused_.stdout, refused_.stderr) == (
            1,
            "",
            "error: user auditor may not do this: it needs the clerk or approver or admin role\n"
            "错误：用户 auditor 无权执行此操作：需要经办或审核或管理员角色\n",
        ), args
    nobody = cli_run("loan", "list", "--unmasked")
    assert (nobody.exit_code, nobody.stdout) == (2, "")
    assert "say who acts: --actor USER or FUNDLEDGER_ACTOR=USER" in nobody.stderr
    shown = cli_run("loan", "show", "--bank", "ICBC", "--contract", "ICBC-001", "--as-of",
                    "2025-10-01", "--unmasked", actor="approver")  # fmt: skip
    assert shown.stdout.splitlines()[1] == f"borrower           张三 {zhang}"
