"""Erasure after the retention period: refused while a loan or commitment is open and
before the period ends (saying from when); after it, the borrower's, their certificates',
guarantors' and corrections' personal data is gone from every table, the journal and
``verify`` are as they were, and the person may register again as a new borrower."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

import ledger.bankfiles.models  # noqa: F401  (every table, for the scan)
from ledger.chain import drain_sealer
from ledger.cli import cli
from ledger.fund import guarantees, loans, recoveries
from ledger.fund.borrowers import register_borrower
from ledger.fund.corrections import correct_borrower
from ledger.fund.credentials import register_credential, revoke_credential
from ledger.fund.erasure import erase_personal_data, retention
from ledger.fund.errors import (
    ErasedBorrowerError,
    OpenRecordsError,
    PermissionDeniedError,
    ReferenceDataError,
    RetentionPeriodError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import (
    Borrower,
    BorrowerCorrection,
    CounterGuarantee,
    Credential,
)
from ledger.fund.personal import ERASED_NAME
from ledger.fund.policy import record_override
from ledger.fund.read.borrowers import borrower_detail, borrowers_page, erasable_page
from ledger.fund.read.loans import loan_detail
from ledger.models import Base, JournalEntry
from ledger.verify import verify
from tests.fund.conftest import D, attempt, borrower_id, refused, run
from tests.fund.test_guarantees import approve, disburse

NAME = "欧阳小明"
TYPED = borrower_id(80, born=D(1981, 7, 9))
REAL = borrower_id(81, born=D(1981, 7, 9))
GUARANTOR, GUARANTOR_NAME = borrower_id(82, born=D(1970, 3, 3)), "司马光明"
CERT = "豫再就业证 0501-778899"
DEED = "郑房权证字第0099号"
#: Every value that names the person or their guarantor.
PERSONAL = (NAME, TYPED, REAL, GUARANTOR, GUARANTOR_NAME, "0501-778899", DEED)
REPAID_ON = D(2025, 9, 5)
TOKEN = "ERASED000000000001"
#: The first day the loan's retention period has ended.
ERASABLE_FROM = D(2030, 9, 5)


def erase(fund, borrower=1, on=ERASABLE_FROM, actor="admin"):
    return run(fund, lambda s: erase_personal_data(s, borrower, actor=actor, today=on))


def lend(fund, *, repaid=True):
    """欧阳小明 (borrower #1): registered with a mistyped number and corrected, a
    certificate (revoked later), a guarantee with a guarantor and a mortgage, loan
    ICBC-080 of 50,000 yuan from 2025-03-05, repaid in full on 2025-09-05."""

    def work(s):
        register_borrower(
            s, id_number=TYPED, name=NAME, district="D01", categories=["veteran"], actor="clerk"
        )
        correct_borrower(
            s, 1, id_number=REAL, reason=f"原登记号 {TYPED} 第 16 位录入错误", actor="clerk"
        )
        register_credential(
            s, REAL, "reemployment_certificate", CERT, issued_by="郑州市人社局",
            issued_on=D(2024, 1, 2), actor="clerk",
        )  # fmt: skip
        revoke_credential(
            s, "reemployment_certificate", CERT, on=D(2025, 6, 1), reason=f"{NAME}已就业",
            actor="approver",
        )  # fmt: skip

    run(fund, work)
    commitment = approve(
        fund,
        REAL,
        cgs=[
            CounterGuaranteeSpec(
                "guarantor", guarantor_name=GUARANTOR_NAME, guarantor_id_number=GUARANTOR,
                employer_type="civil_servant",
            ),
            CounterGuaranteeSpec("mortgage", 30_000_000, description=DEED),
        ],
    )  # fmt: skip
    disburse(fund, REAL, commitment, "ICBC-080", D(2025, 3, 5), D(2026, 3, 5), name=NAME)
    if repaid:
        run(
            fund,
            lambda s: loans.repay(
                s, bank="ICBC", bank_ref="R-080", contract_no="ICBC-080", paid_on=REPAID_ON,
                principal=5_000_000, interest=0, actor="icbc",
            ),
        )  # fmt: skip
    return commitment


def found(fund, values=PERSONAL) -> dict[str, set[str]]:
    """Where each value still is: table → the values found in any of its columns."""
    where: dict[str, set[str]] = {}
    with fund() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(table.select()):
                for cell in row:
                    for value in values:
                        if isinstance(cell, str) and value in cell:
                            where.setdefault(table.name, set()).add(value)
    return where


def journal(fund):
    """Every entry's id, hash and description, once the PostgreSQL sealer has sealed them
    (a hash is written when its entry is sealed, a moment after the commit)."""
    assert drain_sealer(fund.kw["bind"])
    with fund() as s:
        return s.execute(
            select(JournalEntry.id, JournalEntry.hash, JournalEntry.description).order_by(
                JournalEntry.id
            )
        ).all()


def test_erasure_is_refused_while_a_loan_is_open(fund):
    lend(fund, repaid=False)
    e = refused(OpenRecordsError, erase, fund, on=D(2040, 1, 1))
    assert (e.code, str(e), e.zh) == (
        "erasure-open",
        "borrower #1 still has loan ICBC/ICBC-080 (active); personal data may be erased 5 "
        "years after their last loan or commitment closes",
        "借款人 #1 尚有未了结的业务：贷款 ICBC/ICBC-080（正常）；个人信息须在最后一笔贷款或"
        "担保承诺了结满 5 年后方可删除",
    )
    # An unused commitment is open too.
    register = attempt(fund, lambda s: register_borrower(
        s, id_number=borrower_id(83), name="孙七", district="D02", categories=["veteran"],
        actor="clerk",
    ))  # fmt: skip
    register()
    approve(fund, borrower_id(83), cgs=[CounterGuaranteeSpec("credit_community")])
    e = refused(OpenRecordsError, erase, fund, 2, on=D(2040, 1, 1))
    assert str(e).startswith("borrower #2 still has commitment G2025-ICBC-00002 (unused);")
    assert e.zh.startswith("借款人 #2 尚有未了结的业务：担保承诺 G2025-ICBC-00002（未使用）；")


def test_erasure_is_refused_before_the_retention_period_ends(fund):
    lend(fund)
    e = refused(RetentionPeriodError, erase, fund, on=D(2030, 9, 4))
    assert (e.code, str(e), e.zh, e.erasable_from) == (
        "erasure-retention",
        "borrower #1's personal data is kept 5 years after their last loan or commitment "
        "closed on 2025-09-05: it may be erased from 2030-09-05",
        "借款人 #1 的个人信息保存期为 5 年（最后一笔贷款或担保承诺于 2025-09-05 了结），"
        "2030-09-05 起方可删除",
        D(2030, 9, 5),
    )
    for user in ("clerk", "approver", "auditor"):
        e = refused(PermissionDeniedError, erase, fund, actor=user)
        assert str(e) == f"user {user} may not do this: it needs the admin role"
    e = refused(ReferenceDataError, erase, fund, 7)
    assert (str(e), e.zh) == ("no borrower #7", "借款人 #7 不存在")
    assert found(fund).keys() >= {"borrowers", "credentials", "counter_guarantees"}


def test_after_the_period_the_personal_data_is_gone_from_every_table(fund):
    lend(fund)
    before = found(fund)
    assert before == {
        "borrowers": {NAME, REAL},
        "borrower_corrections": {TYPED, REAL},
        "credentials": {"0501-778899", NAME},
        "counter_guarantees": {GUARANTOR, GUARANTOR_NAME, DEED},
    }
    entries = journal(fund)
    with fund() as s:
        assert verify(s).ok
    row = erase(fund)
    assert (row.id, row.name, row.id_number, row.erased_by) == (1, ERASED_NAME, TOKEN, "admin")
    assert found(fund) == {}
    assert journal(fund) == entries
    with fund() as s:
        report = verify(s)
        assert (report.ok, report.problems) == (True, [])
        b = s.get(Borrower, 1)
        # What the rules and the reports need stays: year of birth, sex, district, type,
        # categories; the loan and its amounts.
        assert (b.id_number_given, b.birth_date, b.sex, b.district_code, b.categories) == (
            None, D(1981, 1, 1), "M", "D01", "veteran",
        )  # fmt: skip
        assert b.erased_at is not None
        assert [(c.number, c.issued_by, c.status, c.revoke_reason)
                for c in s.scalars(select(Credential))] == [
            ("ERASED000000000001", "郑州市人社局", "revoked", ERASED_NAME)
        ]  # fmt: skip
        assert [
            (c.kind, c.guarantor_name, c.guarantor_id_number, c.employer_type, c.description,
             c.value, c.status)
            for c in s.scalars(select(CounterGuarantee).order_by(CounterGuarantee.id))
        ] == [
            ("guarantor", ERASED_NAME, None, "civil_servant", "", 0, "released"),
            ("mortgage", "", None, None, ERASED_NAME, 30_000_000, "released"),
        ]  # fmt: skip
        assert [
            (c.field, c.old_value, c.new_value, c.reason, c.corrected_by)
            for c in s.scalars(select(BorrowerCorrection))
        ] == [("id_number", None, None, ERASED_NAME, "clerk")]
        assert retention(s, 1, today=D(2030, 9, 5)).closed_on == REPAID_ON


def test_an_erased_borrower_reads_as_erased_and_takes_nothing_more(fund):
    commitment = lend(fund)
    erase(fund)
    with fund() as s:
        (view,) = borrowers_page(s).items
        detail = borrower_detail(s, 1)
        assert borrower_detail(s, TOKEN) == detail
        loan = loan_detail(s, "ICBC", "ICBC-080", D(2025, 12, 31))
    assert (view.name, view.id_number, view.erased, view.erased_by, view.birth_year_only) == (
        ERASED_NAME, TOKEN, True, "admin", True,
    )  # fmt: skip
    assert view.masked() == view  # nothing left to mask
    assert detail.borrower == view and detail.loans[0].borrower_name == ERASED_NAME
    assert [c.number for c in detail.credentials] == [TOKEN]
    assert [(c.old_value, c.reason) for c in detail.corrections] == [(None, ERASED_NAME)]
    assert (loan.borrower, loan.loan.principal, loan.commitment.number) == (
        view, 5_000_000, commitment.number,
    )  # fmt: skip
    e = refused(ErasedBorrowerError, erase, fund, on=D(2031, 1, 1))
    assert e.code == "borrower-erased"
    assert str(e).startswith("borrower #1's personal data was erased on ")
    assert str(e).endswith(
        " by admin; nothing more is recorded for this record (register the person anew)"
    )
    for work in (
        lambda s: correct_borrower(s, 1, name="欧阳晓明", reason="更正", actor="clerk"),
        lambda s: register_credential(
            s, TOKEN, "reemployment_certificate", "X-1", issued_by="人社局",
            issued_on=D(2024, 1, 1), actor="clerk",
        ),
        lambda s: guarantees.approve_guarantee(
            s, id_number=TOKEN, bank="ICBC", amount=1_000_000, term_months=12,
            on=D(2025, 12, 1), actor="approver",
            counter_guarantees=(CounterGuaranteeSpec("credit_community"),),
        ),
    ):  # fmt: skip
        e = refused(ErasedBorrowerError, attempt(fund, work))
        assert e.code == "borrower-erased"


def test_the_person_may_register_again_as_a_new_borrower(fund):
    lend(fund)
    erase(fund)

    def again(s):
        return register_borrower(
            s, id_number=REAL, name=NAME, district="D02", categories=["veteran"], actor="clerk"
        )

    row = run(fund, again)
    assert (row.id, row.id_number, row.erased_at) == (2, REAL, None)
    # A new person record: no history of the erased one, and a real number still once.
    with fund() as s:
        detail = borrower_detail(s, REAL)
        assert (detail.borrower.id, detail.loans, detail.credentials) == (2, (), ())
    e = refused(ReferenceDataError, attempt(fund, again))
    assert str(e) == f"a borrower with ID number {REAL} is already registered (borrower 2, {NAME})"


def test_the_retention_period_is_the_localitys_rule(fund):
    lend(fund)
    refused(RetentionPeriodError, erase, fund, on=D(2028, 9, 5))
    run(
        fund,
        lambda s: record_override(
            s, effective_from=D(2028, 1, 1), params={"personal_data": {"retention_years": 3}},
            actor="admin", note="市档案管理规定", today=D(2027, 12, 1),
        ),
    )  # fmt: skip
    e = refused(RetentionPeriodError, erase, fund, on=D(2028, 9, 4))
    assert str(e).endswith("kept 3 years after their last loan or commitment closed on "
                           "2025-09-05: it may be erased from 2028-09-05")  # fmt: skip
    assert erase(fund, on=D(2028, 9, 5)).id_number == TOKEN


def test_the_borrowers_whose_retention_has_ended(portfolio):
    """Of the portfolio, 赵六 (#5) repaid on 2025-11-01; 李四's (#2) write-off is approved
    on 2025-10-10, after a recovery on 09-01; the others still owe. 钱八 (#7) registered
    on 2024-01-01, China time, and never had a guarantee."""

    def work(s):
        recoveries.approve_write_off(s, 1, on=D(2025, 10, 10), actor="approver")
        register_borrower(
            s, id_number=borrower_id(7), name="钱八", district="D03", categories=["veteran"],
            actor="clerk",
        )  # fmt: skip
        # 00:30 on 2024-01-01 in China.
        at = dt.datetime(2023, 12, 31, 16, 30)
        s.execute(update(Borrower).where(Borrower.id == 7).values(registered_at=at))

    run(portfolio, work)

    def listed(on, **kw):
        with portfolio() as s:
            page = erasable_page(s, today=on, **kw)
        return [(r.borrower.id, r.closed_on, r.from_registration, r.erasable_from)
                for r in page.items], page.next_before  # fmt: skip

    assert listed(D(2028, 12, 31)) == ([], None)
    assert listed(D(2029, 1, 1)) == ([(7, D(2024, 1, 1), True, D(2029, 1, 1))], None)
    assert listed(D(2030, 10, 10)) == (
        [(7, D(2024, 1, 1), True, D(2029, 1, 1)), (2, D(2025, 10, 10), False, D(2030, 10, 10))],
        None,
    )
    assert listed(D(2030, 11, 1)) == (
        [
            (7, D(2024, 1, 1), True, D(2029, 1, 1)),
            (5, D(2025, 11, 1), False, D(2030, 11, 1)),
            (2, D(2025, 10, 10), False, D(2030, 10, 10)),
        ],
        None,
    )
    assert listed(D(2030, 11, 1), limit=2) == (
        [(7, D(2024, 1, 1), True, D(2029, 1, 1)), (5, D(2025, 11, 1), False, D(2030, 11, 1))],
        5,
    )
    assert listed(D(2030, 11, 1), before=5)[0] == [(2, D(2025, 10, 10), False, D(2030, 10, 10))]
    # The refusal and the list agree on the day.
    e = refused(RetentionPeriodError, erase, portfolio, 7, on=D(2028, 12, 31))
    assert str(e) == (
        "borrower #7's personal data is kept 5 years after they were registered on 2024-01-01 "
        "and never given a guarantee: it may be erased from 2029-01-01"
    )
    erase(portfolio, 5, on=D(2030, 11, 1))
    assert [row[0] for row in listed(D(2030, 11, 1))[0]] == [7, 2]


@pytest.fixture
def cli_run(db_url):
    runner = CliRunner()

    def invoke(*args, actor=None):
        extra = ("--actor", actor) if actor else ()
        return runner.invoke(cli, ["--database-url", db_url, *args, *extra], catch_exceptions=False)

    return invoke


def test_erase_on_the_command_line(fund, cli_run):
    """A guarantee approved in 2019 and cancelled: the retention ended in 2024."""
    number = borrower_id(84, born=D(1980, 1, 1))

    def work(s):
        register_borrower(
            s, id_number=number, name="周九", district="D01", categories=["veteran"],
            actor="clerk",
        )  # fmt: skip
        c = guarantees.approve_guarantee(
            s, id_number=number, bank="ICBC", amount=1_000_000, term_months=12,
            on=D(2019, 3, 1), actor="approver",
        )  # fmt: skip
        guarantees.cancel_commitment(s, c.number, "借款人放弃", D(2019, 3, 10), actor="clerk")

    run(fund, work)
    listed = cli_run("borrower", "list", "--erasable")
    assert (listed.exit_code, listed.stdout.splitlines()) == (
        0,
        [
            "id  ID number           name  district  closed      erasable from",
            f" 1  {number[:4]}**********{number[-4:]}  周*   D01       2019-03-10  2024-03-10",
        ],
    )
    usage = cli_run("borrower", "list", "--erasable", "--district", "D01")
    assert (usage.exit_code, "--erasable lists every district and category" in usage.stderr) == (
        2,
        True,
    )
    refused_ = cli_run("borrower", "erase", number, actor="clerk")
    assert (refused_.exit_code, refused_.stderr) == (
        1,
        "error: user clerk may not do this: it needs the admin role\n"
        "错误：用户 clerk 无权执行此操作：需要管理员角色\n",
    )
    done = cli_run("borrower", "erase", number, actor="admin")
    assert (done.exit_code, done.stdout) == (
        0,
        "borrower #1: personal data erased (ERASED000000000001)\n",
    )
    again = cli_run("borrower", "erase", "#1", actor="admin")
    assert again.exit_code == 1 and again.stderr.startswith(
        "error: borrower #1's personal data was erased on "
    )
    shown = cli_run("borrower", "show", "#1", "--unmasked", actor="clerk").stdout.splitlines()
    assert shown[:3] == [
        "borrower           #1 （已删除） ERASED000000000001",
        shown[1],
        "born               1980, male",
    ]
    assert shown[1].startswith("erased             by admin at ")
    assert not any(line.startswith("categories") for line in shown)
    assert cli_run("borrower", "list", "--erasable").stdout == ""
