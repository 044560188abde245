"""The re-employment certificate is a record, and the 2002 rules' gate: a 2003 application
without one is refused and with one accepted; one certificate belongs to one person; a
revoked certificate no longer counts."""

from __future__ import annotations

import pytest

from ledger.fund.credentials import check_credential, register_credential, revoke_credential
from ledger.fund.errors import (
    CredentialError,
    DuplicateCredentialError,
    MissingCredentialError,
    PermissionDeniedError,
    RevokedCredentialError,
)
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import Credential
from ledger.fund.policy import national_rules
from tests.fund.conftest import D, refused, run
from tests.fund.test_guarantees import approve as approve_guarantee
from tests.fund.test_guarantees import register

APPLIED = D(2003, 6, 2)
CERT = "豫再就业证 0301-004217"
ISSUED, REVOKED = D(2003, 3, 10), D(2003, 5, 1)
#: The 2002 rules want a counter-guarantee or a credit community's waiver for every loan.
WAIVER = (CounterGuaranteeSpec("credit_community", 0, description="信用社区推荐"),)


def approve(fund, number, amount=2_000_000, *, on=APPLIED):
    return approve_guarantee(fund, number, amount, on=on, cgs=WAIVER)


def certify(fund, number, cert=CERT, on=ISSUED, actor="clerk"):
    return run(
        fund,
        lambda s: register_credential(
            s, number, "reemployment_certificate", cert, issued_by="郑州市劳动和社会保障局",
            issued_on=on, actor=actor, today=D(2025, 12, 31),
        ),
    )  # fmt: skip


def revoke(fund, cert=CERT, on=REVOKED, actor="approver"):
    return run(
        fund,
        lambda s: revoke_credential(
            s, "reemployment_certificate", cert, on=on, reason="已实现再就业",
            actor=actor, today=D(2025, 12, 31),
        ),
    )  # fmt: skip


def test_a_2003_application_without_a_certificate_is_refused_and_with_one_accepted(fund):
    laid_off = register(fund, 31, "钱七", ("registered_unemployed",), born=D(1962, 8, 8))
    e = refused(MissingCredentialError, approve, fund, laid_off)
    assert (e.code, str(e), e.zh) == (
        "credential-missing",
        "the rules in force on 2003-06-02 require a reemployment_certificate for individual "
        "loans; the borrower has none registered",
        "2003-06-02 适用的政策要求借款人持有再就业优惠证，该借款人未登记再就业优惠证",
    )
    row = certify(fund, laid_off)
    with fund() as s:
        stored = s.get(Credential, row.id)
        assert (stored.number, stored.issued_by, stored.issued_on, stored.status) == (
            CERT,
            "郑州市劳动和社会保障局",
            D(2003, 3, 10),
            "valid",
        )
    commitment = approve(fund, laid_off)
    assert (commitment.number, commitment.amount) == ("G2003-ICBC-00001", 2_000_000)


def test_a_certificate_is_itself_the_category_the_2002_rules_ask_for(fund):
    # Declared nothing the 2002 rules list (a veteran became eligible only in 2008).
    veteran = register(fund, 32, "孙八", ("veteran",), born=D(1965, 1, 1))
    certify(fund, veteran)
    assert approve(fund, veteran).number == "G2003-ICBC-00001"


def test_a_certificate_issued_after_the_application_does_not_count(fund):
    person = register(fund, 33, born=D(1962, 1, 1))
    certify(fund, person, on=D(2003, 7, 1))
    e = refused(MissingCredentialError, approve, fund, person)
    assert str(e) == (
        f"reemployment_certificate {CERT} was issued on 2003-07-01, after the application "
        "date 2003-06-02; the rules in force then require one"
    )


def test_one_certificate_belongs_to_one_person(fund):
    first = register(fund, 34, "周九", born=D(1960, 2, 2))
    second = register(fund, 35, "吴十", born=D(1961, 3, 3))
    row = certify(fund, first)
    e = refused(DuplicateCredentialError, certify, fund, second, f"  {CERT} ")
    assert (e.code, str(e), e.zh) == (
        "credential-duplicate",
        f"reemployment_certificate {CERT} is already registered to borrower "
        f"#{row.borrower_id}; one certificate belongs to one person",
        f"再就业优惠证 {CERT} 已登记在借款人 #{row.borrower_id}名下，一证只能属于一人",
    )
    e = refused(DuplicateCredentialError, certify, fund, first)
    assert str(e) == (
        f"reemployment_certificate {CERT} is already registered to this borrower; "
        "one certificate belongs to one person"
    )
    # The person who presented another's certificate gets no guarantee.
    refused(MissingCredentialError, approve, fund, second)


def test_a_revoked_certificate_no_longer_counts_from_its_revocation(fund):
    person = register(fund, 36, born=D(1963, 4, 4))
    certify(fund, person)
    e = refused(PermissionDeniedError, revoke, fund, actor="clerk")
    assert e.code == "permission-denied"
    row = revoke(fund)
    assert (row.status, row.revoked_on, row.revoked_by) == ("revoked", D(2003, 5, 1), "approver")
    e = refused(RevokedCredentialError, approve, fund, person)
    assert (e.code, str(e)) == (
        "credential-revoked",
        f"reemployment_certificate {CERT} was revoked on 2003-05-01 (已实现再就业); the rules "
        "in force on 2003-06-02 require a valid one",
    )
    # Before its revocation it counted.
    assert approve(fund, person, on=D(2003, 4, 20)).number == "G2003-ICBC-00001"
    e = refused(CredentialError, revoke, fund)
    assert str(e) == f"certificate {CERT} was already revoked on 2003-05-01"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cert": " "}, "a certificate number of 1-40 characters is required"),
        ({"on": D(2026, 1, 1)}, "issue date 2026-01-01 is in the future"),
        (
            {"on": D(1950, 1, 1)},
            f"certificate {CERT} is dated 1950-01-01, before its holder was born",
        ),
    ],
)
def test_a_bad_certificate_is_refused_with_what_to_fix(fund, kwargs, message):
    person = register(fund, 37, born=D(1962, 5, 5))
    e = refused(CredentialError, certify, fund, person, **kwargs)
    assert str(e) == message


def test_later_rules_require_no_certificate():
    rules = national_rules(D(2008, 1, 1))
    assert check_credential(rules, "individual", [], D(2008, 1, 1)) is None
    assert dict(national_rules(D(2003, 1, 1))["credential"]) == {
        "kind": "reemployment_certificate",
        "required_for": ("individual",),
    }
