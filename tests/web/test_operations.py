"""The operations' forms over the portfolio (tests/fund/conftest.py): each form's success
with its exact figures and the legs of the entry it posts, a refusal beside its field in
Chinese with nothing posted, maker-checker, a bank user's own bank only, and an auditor
who is offered nothing that changes the books."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from ledger.fund import reference
from ledger.fund.borrowers import register_borrower
from ledger.fund.models import (
    Claim,
    Commitment,
    Extension,
    Loan,
    Recovery,
    Repayment,
    WriteOff,
)
from ledger.journal import entry
from ledger.models import JournalEntry
from tests.fund.conftest import borrower_id, run
from tests.web.conftest import PASSWORD, text

D = dt.date
MODELS = (JournalEntry, Repayment, Claim, Loan, Recovery, WriteOff, Commitment, Extension)


def counts(books) -> dict[str, int]:
    """How many rows each record the operations write has: unchanged after a refusal."""
    with books() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in MODELS}


def last_entry(books) -> int:
    with books() as s:
        return s.scalar(select(func.max(JournalEntry.id)))


def legs(books, entry_id: int) -> list[tuple[str, str, int]]:
    with books() as s:
        e = entry(s, entry_id)
    return sorted((p.side, p.account, p.amount) for p in e.postings)


def field_errors(response) -> list[tuple[str, str]]:
    """Each error shown beside a field: (the field's name, the message)."""
    found = []
    for block in re.findall(r'<div class="field">(.*?)</div>', response.get_data(as_text=True),
                            flags=re.S):  # fmt: skip
        name = re.search(r'name="([^"]+)"', block).group(1)
        found += [(name, e) for e in re.findall(r"<li>(.*?)</li>", block)]
    return found


def top_errors(response) -> list[str]:
    """The refusals shown above the form (those of no one field)."""
    found = re.search(r'<div class="flash error" id="form-errors">(.*?)</div>\n',
                      response.get_data(as_text=True), flags=re.S)  # fmt: skip
    return re.findall(r"<div>(.*?)</div>", found.group(1)) if found else []


@pytest.fixture
def both(books):
    """``both``: a user who is a clerk and an approver at once (maker-checker's case)."""
    from ledger.fund import access

    run(books, lambda s: reference.add_user(s, "both", "钱两职", ["clerk", "approver"],
                                            actor="admin"))  # fmt: skip
    run(books, lambda s: access.set_initial_passwords(s, ["both"], PASSWORD, actor="admin",
                                                      must_change=False))  # fmt: skip
    return "both"


# ----------------------------------------------------------------------------- the index


def test_the_index_offers_each_user_the_forms_they_may_use(as_user):
    clerk = text(as_user("clerk").get("/operations"))
    assert "登记还款" in clerk and "申请代偿" in clerk and "申请核销" in clerk
    assert "承诺担保" not in clerk and "贷款展期" not in clerk
    approver = text(as_user("approver").get("/operations"))
    assert "承诺担保" in approver and "贷款展期" in approver
    assert "申请核销" not in approver and "申请代偿" not in approver
    bank = as_user("icbc").get("/operations")
    forms = re.findall(r'<a href="/operations/([a-z/-]+)"><strong>', bank.get_data(as_text=True))
    assert forms == ["disbursements/new", "repayments/new", "reversals/new", "claims/new",
                     "recoveries/new"]  # fmt: skip


def test_the_index_lists_the_claims_and_write_offs_waiting(as_user):
    page = text(as_user("approver").get("/operations"))
    assert "C2025-ICBC-00003 ICBC ICBC-002 王五 2025-08-10 · icbc" in page
    assert "C2025-ICBC-00002 ICBC ICBC-003 周八 2025-08-03 · icbc" in page
    assert "#1 ABC ABC-001 李四 2025-10-01 · clerk 32,000.00 借款人失联" in page
    icbc = text(as_user("icbc").get("/operations"))
    assert "C2025-ICBC-00003" in icbc and "ABC-001" not in icbc


def test_the_auditor_sees_no_form_and_no_control(as_user):
    auditor = as_user("auditor")
    page = auditor.get("/operations")
    assert page.status_code == 200
    assert 'id="forms"' not in page.get_data(as_text=True)
    for url in ("/operations/guarantees/new", "/operations/guarantees/project",
                "/operations/guarantees/cancel", "/operations/disbursements/new",
                "/operations/repayments/new", "/operations/reversals/new",
                "/operations/extensions/new", "/operations/claims/new",
                "/operations/recoveries/new", "/operations/counter-guarantees/enforce",
                "/operations/write-offs/new"):  # fmt: skip
        assert auditor.get(url).status_code == 403, url
    claim = auditor.get("/operations/claims/C2025-ICBC-00003").get_data(as_text=True)
    assert "<form" not in claim.split("<main>")[1]
    write_off = auditor.get("/operations/write-offs/1").get_data(as_text=True)
    assert "<form" not in write_off.split("<main>")[1]


# ----------------------------------------------------------------------------- repayments


def test_a_repayment_posts_the_exposure_it_releases(as_user, books):
    before = counts(books)
    clerk = as_user("clerk")
    response = clerk.post("/operations/repayments/new", data={
        "bank": "ICBC", "bank_ref": "R-100", "contract_no": "ICBC-001",
        "paid_on": "2026-01-05", "principal": "10,000.00", "interest": "1,234.5",
    })  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == "/loans/ICBC/ICBC-001"
    after = counts(books)
    assert after["Repayment"] == before["Repayment"] + 1
    assert after["JournalEntry"] == before["JournalEntry"] + 1
    with books() as s:
        row = s.scalar(select(Repayment).where(Repayment.bank_ref == "R-100"))
        assert (row.principal, row.interest, row.penalty, row.recorded_by) == (
            1_000_000,
            123_450,
            0,
            "clerk",
        )
    posted = last_entry(books)
    assert legs(books, posted) == [
        ("C", "memo:exposure:ICBC:L1", 800_000),
        ("D", "memo:exposure-contra:ICBC", 800_000),
    ]
    page = text(clerk.get("/loans/ICBC/ICBC-001"))
    assert f"还款 R-100 已登记。 记账凭证： #{posted}" in page
    assert "本金余额 70,000.00" in page


def test_a_repayment_prefills_the_loan_from_its_page(as_user):
    html = (
        as_user("clerk")
        .get("/operations/repayments/new?bank=ICBC&contract_no=ICBC-001")
        .get_data(as_text=True)
    )
    assert 'value="ICBC-001"' in html
    assert '<option selected value="ICBC">' in html


def test_a_bad_amount_is_refused_beside_its_field_and_nothing_is_posted(as_user, books):
    before = counts(books)
    response = as_user("clerk").post("/operations/repayments/new", data={
        "bank": "ICBC", "bank_ref": "R-101", "contract_no": "ICBC-001",
        "paid_on": "2026-01-05", "principal": "12.345", "interest": "",
    })  # fmt: skip
    assert response.status_code == 422
    assert field_errors(response) == [
        ("principal", "金额应以元为单位，最多两位小数，如 1,234.50。"),
        ("interest", "必填。"),
    ]
    assert counts(books) == before


def test_a_repayment_the_operation_refuses_is_shown_beside_its_column(as_user, books):
    before = counts(books)
    response = as_user("clerk").post("/operations/repayments/new", data={
        "bank": "ICBC", "bank_ref": "R-102", "contract_no": "ICBC-001",
        "paid_on": "2026-01-05", "principal": "90,000", "interest": "0",
    })  # fmt: skip
    assert response.status_code == 422
    assert field_errors(response) == [
        ("principal", "贷款 ICBC-001 归还本金 90,000.00 元超过本金余额 80,000.00 元")
    ]
    assert counts(books) == before


def test_a_bank_user_records_for_its_own_bank_only(as_user, books):
    icbc = as_user("icbc")
    html = icbc.get("/operations/repayments/new?bank=ABC").get_data(as_text=True)
    assert re.findall(r'<option[^>]*value="([A-Z]+)"', html) == ["ICBC"]
    before = counts(books)
    forged = icbc.post("/operations/repayments/new", data={
        "bank": "ABC", "bank_ref": "R-200", "contract_no": "ABC-002",
        "paid_on": "2026-01-05", "principal": "1,000", "interest": "0",
    })  # fmt: skip
    assert forged.status_code == 422
    assert field_errors(forged) == [("bank", "用户 icbc 属于 ICBC，不能代 ABC 操作")]
    assert counts(books) == before
    claim = icbc.post("/operations/claims/new", data={
        "bank": "ABC", "contract_no": "ABC-002", "on": "2026-12-01",
    })  # fmt: skip
    assert claim.status_code == 422
    assert field_errors(claim) == [("bank", "用户 icbc 属于 ICBC，不能代 ABC 操作")]
    assert counts(books) == before
    assert icbc.get("/operations/claims/C2025-ABC-00002").status_code == 404
    assert icbc.get("/operations/write-offs/1").status_code == 404


def test_a_reversal_puts_the_exposure_back(as_user, books):
    response = as_user("icbc").post("/operations/reversals/new", data={
        "bank": "ICBC", "bank_ref": "R-001-X", "reversal_of": "R-001", "paid_on": "2025-09-06",
    })  # fmt: skip
    assert response.status_code == 302, field_errors(response)
    assert response.headers["Location"] == "/loans/ICBC/ICBC-001"
    assert legs(books, last_entry(books)) == [
        ("C", "memo:exposure-contra:ICBC", 1_600_000),
        ("D", "memo:exposure:ICBC:L1", 1_600_000),
    ]


# ----------------------------------------------------------------------------- guarantees, loans


def _register(books, serial: int, name: str) -> str:
    number = borrower_id(serial)
    run(books, lambda s: register_borrower(
        s, id_number=number, name=name, district="D01", categories=["registered_unemployed"],
        actor="clerk",
    ))  # fmt: skip
    return number


def test_a_guarantee_then_its_disbursement(as_user, books):
    number = _register(books, 21, "吴九")
    approver = as_user("approver")
    bad = approver.post("/operations/guarantees/new", data={
        "id_number": number, "bank": "ICBC", "amount": "500,000", "term_months": "24",
        "on": "2026-01-10",
    })  # fmt: skip
    assert bad.status_code == 422
    assert field_errors(bad) == [
        ("amount", "500,000.00 元超过 2026-01-10 适用政策对个人的贷款上限 200,000.00 元")
    ]
    before = counts(books)
    done = approver.post("/operations/guarantees/new", data={
        "id_number": number, "bank": "ICBC", "amount": "50,000", "term_months": "24",
        "on": "2026-01-10",
    })  # fmt: skip
    assert done.status_code == 302, field_errors(done)
    with books() as s:
        c = s.scalar(select(Commitment).where(Commitment.approved_on == D(2026, 1, 10)))
        assert (c.number, c.amount, c.term_months, c.bank_code, c.approved_by) == (
            "G2026-ICBC-00001",
            5_000_000,
            24,
            "ICBC",
            "approver",
        )
    assert done.headers["Location"] == f"/borrowers/{c.borrower_id}"
    assert counts(books)["JournalEntry"] == before["JournalEntry"]

    icbc = as_user("icbc")
    form = {
        "bank": "ICBC", "contract_no": "ICBC-100", "guarantee_no": "G2026-ICBC-00001",
        "borrower_name": "吴九", "id_number": number, "disbursed_on": "2026-01-15",
        "maturity_on": "2027-01-15", "principal": "60,000.00", "annual_rate": "4.35",
        "repayment_method": "annuity",
    }  # fmt: skip
    before = counts(books)
    over = icbc.post("/operations/disbursements/new", data=form)
    assert over.status_code == 422
    assert field_errors(over) == [
        ("principal", "放款金额 60,000.00 元超过担保承诺 G2026-ICBC-00001 批准的 50,000.00 元")
    ]
    assert counts(books) == before
    posted = icbc.post("/operations/disbursements/new", data={**form, "principal": "50,000"})
    assert posted.status_code == 302, field_errors(posted)
    assert posted.headers["Location"] == "/loans/ICBC/ICBC-100"
    with books() as s:
        loan = s.scalar(select(Loan).where(Loan.contract_no == "ICBC-100"))
        assert (loan.principal, loan.annual_rate_ppm, loan.method, loan.coverage_ppm) == (
            5_000_000,
            43_500,
            "annuity",
            800_000,
        )
    assert legs(books, last_entry(books)) == [
        ("C", "memo:exposure-contra:ICBC", 4_000_000),
        ("D", f"memo:exposure:ICBC:L{loan.id}", 4_000_000),
    ]


def test_an_extension_and_its_refusal(as_user, books):
    approver = as_user("approver")
    before = counts(books)
    late = approver.post("/operations/extensions/new", data={
        "bank": "ICBC", "contract_no": "ICBC-001", "new_maturity": "2028-03-05",
        "on": "2026-01-10",
    })  # fmt: skip
    assert late.status_code == 422
    assert field_errors(late) == [
        ("new_maturity", "展期后到期日 2028-03-05 须晚于 2026-03-05 且不晚于 2027-03-05")
    ]
    assert counts(books) == before
    done = approver.post("/operations/extensions/new", data={
        "bank": "ICBC", "contract_no": "ICBC-001", "new_maturity": "2027-03-05",
        "on": "2026-01-10",
    })  # fmt: skip
    assert done.status_code == 302
    with books() as s:
        loan = s.scalar(select(Loan).where(Loan.contract_no == "ICBC-001"))
        assert (loan.extended_to, loan.extended_on) == (D(2027, 3, 5), D(2026, 1, 10))
    assert counts(books)["JournalEntry"] == before["JournalEntry"]


# ----------------------------------------------------------------------------- claims


def test_a_bank_files_a_claim_on_its_overdue_loan(as_user, books):
    icbc = as_user("icbc")
    before = counts(books)
    early = icbc.post("/operations/claims/new", data={
        "bank": "ICBC", "contract_no": "ICBC-001", "on": "2026-03-20",
    })  # fmt: skip
    assert early.status_code == 422
    assert field_errors(early) == [
        ("on", "贷款 ICBC-001 在 2026-03-20 逾期 15 天，逾期满 90 天方可申请代偿")
    ]
    assert counts(books) == before
    filed = icbc.post("/operations/claims/new", data={
        "bank": "ICBC", "contract_no": "ICBC-001", "on": "2026-06-10",
    })  # fmt: skip
    assert filed.status_code == 302
    assert filed.headers["Location"] == "/operations/claims/C2026-ICBC-00001"
    with books() as s:
        c = s.scalar(select(Claim).where(Claim.number == "C2026-ICBC-00001"))
        assert (c.days_overdue, c.loss, c.amount, c.filed_by, c.status) == (
            97,
            8_000_000,
            6_400_000,
            "icbc",
            "filed",
        )
    page = text(icbc.get("/operations/claims/C2026-ICBC-00001"))
    assert "代偿申请 C2026-ICBC-00001 已提交。" in page
    assert "损失 80,000.00" in page and "基金分担 64,000.00" in page


def test_an_approver_approves_then_a_clerk_pays(as_user, books):
    approver = as_user("approver")
    page = approver.get("/operations/claims/C2025-ICBC-00003").get_data(as_text=True)
    assert 'id="approve"' in page and 'id="reject"' in page and 'id="pay"' not in page
    early = approver.post("/operations/claims/C2025-ICBC-00003/approve",
                          data={"approve-on": "2025-08-09"})  # fmt: skip
    assert early.status_code == 422
    assert field_errors(early) == [
        ("approve-on", "代偿申请 C2025-ICBC-00003 的办理日期 2025-08-09 早于 2025-08-10")
    ]
    response = approver.post("/operations/claims/C2025-ICBC-00003/approve",
                             data={"approve-on": "2025-08-12"})  # fmt: skip
    assert response.status_code == 302
    with books() as s:
        c = s.scalar(select(Claim).where(Claim.number == "C2025-ICBC-00003"))
        assert (c.status, c.decided_by, c.amount) == ("approved", "approver", 6_400_000)
        entry_id = c.approve_entry_id
    assert legs(books, entry_id) == [
        ("C", "liability:claims-payable:ICBC", 6_400_000),
        ("D", "asset:receivable:L3", 6_400_000),
    ]
    clerk = as_user("clerk")
    page = clerk.get("/operations/claims/C2025-ICBC-00002").get_data(as_text=True)
    assert 'id="pay"' in page and 'id="approve"' not in page
    paid = clerk.post("/operations/claims/C2025-ICBC-00002/pay", data={"pay-on": "2025-08-20"})
    assert paid.status_code == 302
    with books() as s:
        c = s.scalar(select(Claim).where(Claim.number == "C2025-ICBC-00002"))
        assert (c.status, c.paid_by, c.amount) == ("paid", "clerk", 3_200_000)
        entry_id = c.pay_entry_id
    assert legs(books, entry_id) == [
        ("C", "asset:special:ICBC", 3_200_000),
        ("C", "memo:exposure:ICBC:L4", 3_200_000),
        ("D", "liability:claims-payable:ICBC", 3_200_000),
        ("D", "memo:exposure-contra:ICBC", 3_200_000),
    ]
    shown = text(clerk.get("/operations/claims/C2025-ICBC-00002"))
    assert f"代偿申请 C2025-ICBC-00002 已支付。 记账凭证： #{entry_id}" in shown


def test_a_rejection_needs_a_reason(as_user, books):
    approver = as_user("approver")
    before = counts(books)
    bare = approver.post("/operations/claims/C2025-ICBC-00003/reject",
                         data={"reject-reason": "", "reject-on": "2025-08-12"})  # fmt: skip
    assert bare.status_code == 422
    assert field_errors(bare) == [("reject-reason", "必填。")]
    assert counts(books) == before
    done = approver.post("/operations/claims/C2025-ICBC-00003/reject",
                         data={"reject-reason": "材料不全", "reject-on": "2025-08-12"})  # fmt: skip
    assert done.status_code == 302
    with books() as s:
        c = s.scalar(select(Claim).where(Claim.number == "C2025-ICBC-00003"))
        assert (c.status, c.reject_reason) == ("rejected", "材料不全")


def test_nobody_approves_the_claim_they_filed(as_user, books, both):
    user = as_user(both)
    filed = user.post("/operations/claims/new", data={
        "bank": "ICBC", "contract_no": "ICBC-001", "on": "2026-06-10",
    })  # fmt: skip
    assert filed.status_code == 302
    page = user.get("/operations/claims/C2026-ICBC-00001").get_data(as_text=True)
    assert 'id="approve"' not in page and 'id="own-claim"' in page
    before = counts(books)
    forced = user.post("/operations/claims/C2026-ICBC-00001/approve",
                       data={"approve-on": "2026-06-11"})  # fmt: skip
    assert forced.status_code == 422
    assert top_errors(forced) == [
        "both 是代偿申请 C2026-ICBC-00001的经办人，不能自己审核，须由其他审核人审核"
    ]
    assert counts(books) == before
    assert 'id="approve"' in as_user("approver").get(
        "/operations/claims/C2026-ICBC-00001"
    ).get_data(as_text=True)


def claim_numbers(response) -> list[str]:
    table = re.search(r'<table id="claims">.*?</table>', response.get_data(as_text=True), re.S)
    return re.findall(r'<a href="/operations/claims/([^"]+)">', table.group(0)) if table else []


def test_the_claims_list_filters_by_fund(as_user, books):
    """A district's own fund (城西区, D02) guarantees a loan that ICBC claims on: the
    list of claims shows it for that fund only, the portfolio's for the city's."""
    from ledger.fund import capital, claims, guarantees, loans
    from ledger.fund.funds import add_fund

    number = borrower_id(31)

    def work(s):
        add_fund(s, "D02", "城西区担保基金", "D02", D(2025, 2, 1), actor="admin")
        reference.add_capital_source(
            s, "D02-own", "城西区区级出资", "district", district="D02", fund="D02", actor="admin"
        )
        a = capital.record_allocation(s, "D02-own", 50_000_000, D(2025, 2, 3), actor="clerk")
        capital.approve_allocation(s, a.id, actor="approver")
        capital.place_capital(s, "ICBC", 10_000_000, D(2025, 2, 5), actor="clerk", fund="D02")
        register_borrower(
            s, id_number=number, name="钱三一", district="D02",
            categories=["registered_unemployed"], actor="clerk",
        )  # fmt: skip
        guarantee = guarantees.approve_guarantee(
            s, id_number=number, bank="ICBC", amount=10_000_000, term_months=12,
            on=D(2025, 2, 10), actor="approver",
        )  # fmt: skip
        loans.disburse(
            s, bank="ICBC", contract_no="ICBC-D02-001", guarantee_no=guarantee.number,
            borrower_name="钱三一", id_number=number, disbursed_on=D(2025, 2, 12),
            maturity_on=D(2025, 8, 12), principal=10_000_000, annual_rate_ppm=45_000,
            method="bullet", actor="icbc",
        )  # fmt: skip
        return claims.file_claim(
            s, bank="ICBC", contract_no="ICBC-D02-001", on=D(2025, 11, 17), actor="icbc"
        ).number

    assert run(books, work) == "C2025-ICBC-00004"
    city = ["C2025-ICBC-00003", "C2025-ICBC-00002", "C2025-ICBC-00001", "C2025-ABC-00002",
            "C2025-ABC-00001"]  # fmt: skip
    clerk = as_user("clerk")
    everything = clerk.get("/operations/claims")
    assert claim_numbers(everything) == ["C2025-ICBC-00004", *city]
    assert (
        '<label>担保基金<select name="fund"><option value="">全部</option>'
        '<option value="CITY" >市本级担保基金</option>'
        '<option value="D02" >城西区担保基金</option></select></label>'
    ) in everything.get_data(as_text=True)
    own = clerk.get("/operations/claims?fund=D02")
    assert claim_numbers(own) == ["C2025-ICBC-00004"]
    assert '<option value="D02" selected>城西区担保基金</option>' in own.get_data(as_text=True)
    assert claim_numbers(clerk.get("/operations/claims?fund=CITY")) == city
    assert claim_numbers(clerk.get("/operations/claims?fund=D02&status=approved")) == []
    assert claim_numbers(as_user("icbc").get("/operations/claims?fund=D02&bank=ABC")) == [
        "C2025-ICBC-00004"
    ]
    assert claim_numbers(as_user("abc").get("/operations/claims?fund=D02")) == []
    unknown = clerk.get("/operations/claims?fund=NOPE")
    assert unknown.status_code == 400
    assert "担保基金 NOPE 不存在" in text(unknown)
    assert claim_numbers(unknown) == []


# ----------------------------------------------------------------------------- after compensation


def test_a_recovery_shares_the_money_with_the_bank(as_user, books):
    clerk = as_user("clerk")
    before = counts(books)
    over = clerk.post("/operations/recoveries/new", data={
        "bank": "ABC", "contract_no": "ABC-001", "amount": "40,000.01", "on": "2025-10-05",
    })  # fmt: skip
    assert over.status_code == 422
    assert field_errors(over) == [
        (
            "amount",
            "贷款 ABC-001 追偿 40,000.01 元超过尚欠的 40,000.00 元（损失 50,000.00 元，"
            "已追回 10,000.00 元）",
        )
    ]
    assert counts(books) == before
    done = clerk.post("/operations/recoveries/new", data={
        "bank": "ABC", "contract_no": "ABC-001", "amount": "5,000", "on": "2025-10-05",
        "reference": "法院执行二",
    })  # fmt: skip
    assert done.status_code == 302
    assert done.headers["Location"] == "/loans/ABC/ABC-001"
    with books() as s:
        r = s.scalar(select(Recovery).order_by(Recovery.id.desc()))
        assert (r.total, r.fund_share, r.bank_share, r.reference) == (
            500_000,
            400_000,
            100_000,
            "法院执行二",
        )
    assert legs(books, r.entry_id) == [
        ("C", "asset:receivable:L2", 400_000),
        ("D", "asset:special:ABC", 400_000),
    ]


def test_an_unknown_counter_guarantee_is_refused_beside_its_field(as_user, books):
    before = counts(books)
    response = as_user("clerk").post("/operations/counter-guarantees/enforce", data={
        "counter_guarantee": "999", "proceeds": "0", "on": "2025-10-05",
    })  # fmt: skip
    assert response.status_code == 422
    assert field_errors(response) == [("counter_guarantee", "反担保 999 不存在")]
    assert counts(books) == before


def test_a_write_off_approved_attributes_the_loss(as_user, books):
    approver = as_user("approver")
    response = approver.post("/operations/write-offs/1/approve", data={"approve-on": "2025-10-15"})
    assert response.status_code == 302
    with books() as s:
        w = s.get(WriteOff, 1)
        assert (w.status, w.amount, w.decided_by) == ("approved", 3_200_000, "approver")
        allocation = dict(w.allocation)
    assert sum(allocation.values()) == 3_200_000
    assert legs(books, w.entry_id) == sorted(
        [("C", "asset:receivable:L2", 3_200_000)]
        + [("D", f"expense:guarantee-loss:{src}", fen) for src, fen in allocation.items()]
    )
    page = text(approver.get("/operations/write-offs/1"))
    assert f"核销申请 1 已审核通过。 记账凭证： #{w.entry_id}" in page


def test_a_write_off_request_and_its_maker(as_user, books, both):
    user = as_user(both)
    paid = as_user("approver").post(
        "/operations/claims/C2025-ICBC-00002/pay", data={"pay-on": "2025-08-20"}
    )
    assert paid.status_code == 302
    bare = user.post("/operations/write-offs/new", data={
        "bank": "ICBC", "contract_no": "ICBC-004", "reason": "失联", "on": "2025-12-01",
    })  # fmt: skip
    assert bare.status_code == 422
    assert field_errors(bare) == [("contract_no", "贷款 ICBC-004 尚未代偿")]
    requested = user.post("/operations/write-offs/new", data={
        "bank": "ICBC", "contract_no": "ICBC-003", "reason": "借款人死亡", "on": "2025-12-01",
    })  # fmt: skip
    assert requested.status_code == 302
    with books() as s:
        w = s.scalar(select(WriteOff).order_by(WriteOff.id.desc()))
        assert (w.amount, w.requested_by, w.status) == (3_200_000, "both", "requested")
    assert requested.headers["Location"] == f"/operations/write-offs/{w.id}"
    page = user.get(f"/operations/write-offs/{w.id}").get_data(as_text=True)
    assert 'id="approve"' not in page and 'id="own-write-off"' in page
    before = counts(books)
    forced = user.post(f"/operations/write-offs/{w.id}/approve", data={"approve-on": "2025-12-02"})
    assert forced.status_code == 422
    assert top_errors(forced) == [
        f"both 是核销申请 {w.id}的经办人，不能自己审核，须由其他审核人审核"
    ]
    assert counts(books) == before


def test_a_write_off_rejected_keeps_its_reason(as_user, books):
    approver = as_user("approver")
    before = counts(books)
    done = approver.post("/operations/write-offs/1/reject", data={
        "reject-reason": "仍在追偿", "reject-on": "2025-10-15",
    })  # fmt: skip
    assert done.status_code == 302
    with books() as s:
        w = s.get(WriteOff, 1)
        assert (w.status, w.decided_by, w.reason) == (
            "rejected",
            "approver",
            "借款人失联\n驳回：仍在追偿",
        )
    assert counts(books) == before


# ----------------------------------------------------------------------------- commitments


def _approve(books, number: str, amount: int, on: D) -> str:
    from ledger.fund import guarantees

    return run(books, lambda s: guarantees.approve_guarantee(
        s, id_number=number, bank="ICBC", amount=amount, term_months=12, on=on,
        actor="approver",
    ).number)  # fmt: skip


def test_a_commitment_cancelled_and_its_project_recorded(as_user, books):
    first = _approve(books, _register(books, 22, "郑十"), 3_000_000, D(2026, 1, 10))
    clerk = as_user("clerk")
    before = counts(books)
    unknown = clerk.post("/operations/guarantees/cancel", data={
        "number": "G2026-ICBC-09999", "reason": "借款人放弃", "on": "2026-01-12",
    })  # fmt: skip
    assert unknown.status_code == 422
    assert field_errors(unknown) == [("number", "担保承诺号 G2026-ICBC-09999 不存在")]
    assert counts(books) == before
    done = clerk.post("/operations/guarantees/cancel", data={
        "number": first, "reason": "借款人放弃", "on": "2026-01-12",
    })  # fmt: skip
    assert done.status_code == 302
    with books() as s:
        c = s.scalar(select(Commitment).where(Commitment.number == first))
        assert (c.status, c.cancelled_by, c.cancel_reason) == ("cancelled", "clerk", "借款人放弃")

    second = _approve(books, _register(books, 23, "冯十一"), 3_000_000, D(2026, 1, 10))
    approver = as_user("approver")
    prefilled = approver.get(f"/operations/guarantees/project?number={second}")
    assert f'value="{second}"' in prefilled.get_data(as_text=True)
    data = {"number": second, "project_kind": "micro_profit", "trade": "catering"}
    assert approver.post("/operations/guarantees/project", data=data).status_code == 302
    with books() as s:
        c = s.scalar(select(Commitment).where(Commitment.number == second))
        assert (c.project_kind, c.trade) == ("micro_profit", "catering")
    again = approver.post("/operations/guarantees/project", data={**data, "trade": "retail"})
    assert again.status_code == 422
    assert field_errors(again) == [
        ("number", f"担保承诺 {second} 已登记项目（micro_profit，行业 catering），不能更改")
    ]


def test_a_mortgage_given_with_a_guarantee_is_enforced_after_compensation(as_user, books):
    from ledger.fund import claims, loans

    number = _register(books, 24, "褚十二")
    approver = as_user("approver")
    data = {
        "id_number": number, "bank": "ICBC", "amount": "120,000", "term_months": "12",
        "on": "2025-01-20", "collateral-0-kind": "mortgage", "collateral-0-value": "300,000",
        "collateral-0-description": "",
    }  # fmt: skip
    before = counts(books)
    bare = approver.post("/operations/guarantees/new", data=data)
    assert bare.status_code == 422
    assert field_errors(bare) == [("waiver", "第 1 项：须说明抵押的内容")]
    assert counts(books) == before
    data["collateral-0-description"] = "房产证 123 号"
    done = approver.post("/operations/guarantees/new", data=data)
    assert done.status_code == 302, field_errors(done)
    assert legs(books, last_entry(books)) == [
        ("C", "memo:counter-guarantees-contra:ICBC", 30_000_000),
        ("D", "memo:counter-guarantees:ICBC", 30_000_000),
    ]

    def default(s):
        loans.disburse(
            s, bank="ICBC", contract_no="ICBC-200", guarantee_no="G2025-ICBC-00005",
            borrower_name="褚十二", id_number=number, disbursed_on=D(2025, 1, 25),
            maturity_on=D(2025, 7, 25), principal=12_000_000, annual_rate_ppm=43_500,
            method="bullet", actor="icbc",
        )  # fmt: skip
        c = claims.file_claim(s, bank="ICBC", contract_no="ICBC-200", on=D(2025, 11, 1),
                              actor="icbc")  # fmt: skip
        claims.approve_claim(s, c.number, on=D(2025, 11, 2), actor="approver")
        claims.pay_claim(s, c.number, on=D(2025, 11, 3), actor="approver2")

    run(books, default)
    clerk = as_user("clerk")
    page = clerk.get("/operations/counter-guarantees/enforce?bank=ICBC&contract_no=ICBC-200")
    held = re.search(r'<table id="held">.*?</table>', page.get_data(as_text=True), re.S)
    cg_id = int(re.search(r'<td class="num">(\d+)</td><td>mortgage</td>', held.group(0)).group(1))
    response = clerk.post("/operations/counter-guarantees/enforce", data={
        "counter_guarantee": str(cg_id), "proceeds": "30,000", "on": "2025-12-01",
    })  # fmt: skip
    assert response.status_code == 302, field_errors(response)
    assert response.headers["Location"] == "/loans/ICBC/ICBC-200"
    with books() as s:
        r = s.scalar(select(Recovery).order_by(Recovery.id.desc()))
        assert (r.total, r.fund_share, r.bank_share, r.source) == (
            3_000_000,
            2_400_000,
            600_000,
            "counter_guarantee",
        )
        loan_id = r.loan_id
    assert legs(books, r.entry_id) == [
        ("C", f"asset:receivable:L{loan_id}", 2_400_000),
        ("D", "asset:special:ICBC", 2_400_000),
    ]
