"""Manual entries (the raw ``post``, ``reverse`` and ``account open``): an admin's, and
never on the fund's own accounts, checked in the operations whoever calls them."""

from __future__ import annotations

import pytest

from ledger.accounts import AccountSpec
from ledger.entries import EntryDraft, credit, debit
from ledger.fund.errors import PermissionDeniedError, ProtectedAccountError
from ledger.fund.manual import (
    is_protected,
    open_manual_account,
    post_manual_entry,
    reverse_manual_entry,
)
from ledger.fund.reference import Role
from ledger.models import AccountType
from tests.fund.conftest import D, run


@pytest.mark.parametrize(
    ("code", "protected"),
    [
        ("asset:special:ICBC", True), ("asset:special", True), ("asset", True),
        ("asset:receivable:loan-7", True), ("capital:city", True), ("capital", True),
        ("memo:exposure:ICBC:loan-3", True), ("memo:counter-guarantees-contra:ABC", True),
        ("income:deposit-interest:city", True), ("expense:guarantee-loss:city", True),
        ("liability:claims-payable:ICBC", True),
        ("asset:treasury", False), ("expense:bank-charges", False), ("income:other", False),
        ("asset:special-purpose", False), ("capitalx", False),
    ],
)  # fmt: skip
def test_the_funds_own_accounts_are_protected(code, protected):
    assert is_protected(code) is protected


def charge(fen: int, account: str = "expense:bank-charges") -> EntryDraft:
    return EntryDraft(
        D(2025, 7, 2), "manual", (debit(account, fen), credit("asset:treasury", fen)), "手续费"
    )


def test_an_admin_posts_and_reverses_a_manual_entry(fund):
    spec = AccountSpec("expense:bank-charges", "银行手续费", AccountType.EXPENSE)
    run(fund, lambda s: open_manual_account(s, spec, actor="admin"))
    posted = run(fund, lambda s: post_manual_entry(s, charge(250), actor="admin"))
    reversal = run(fund, lambda s: reverse_manual_entry(s, posted.entry_id, actor="admin"))
    assert reversal.entry_id == posted.entry_id + 1


@pytest.mark.parametrize("actor", ["clerk", "approver", "icbc"])
def test_nobody_but_an_admin_may(fund, actor):
    with pytest.raises(PermissionDeniedError) as info:
        run(fund, lambda s: post_manual_entry(s, charge(250), actor=actor))
    assert str(info.value).endswith("may not do this: it needs the admin role")


def test_a_withdrawal_from_a_special_account_by_hand_is_refused(fund):
    draft = EntryDraft(
        D(2025, 7, 2), "manual",
        (debit("asset:treasury", 100), credit("asset:special:ICBC", 100)),
    )  # fmt: skip
    with pytest.raises(ProtectedAccountError) as info:
        run(fund, lambda s: post_manual_entry(s, draft, actor="admin"))
    assert str(info.value) == (
        "a manual entry may not post to the fund's own account(s) asset:special:ICBC: they "
        "move only through the fund's operations"
    )
    assert info.value.zh == "手工分录不能涉及基金专用科目 asset:special:ICBC，请通过相应业务办理"


def test_operations_check_the_principal_they_are_given(fund):
    from ledger.fund import capital
    from ledger.fund.errors import MakerCheckerError
    from ledger.fund.reference import authenticate, require_bank_access
    from ledger.principal import SYSTEM, Principal

    with fund() as s:
        banker = authenticate(s, "icbc")
        assert (banker, banker.roles, banker.bank) == ("icbc", frozenset({"bank"}), "ICBC")
        assert require_bank_access(s, banker, "ICBC", Role.BANK) is banker
        with pytest.raises(PermissionDeniedError) as info:
            require_bank_access(s, banker, "ABC", Role.BANK)
        assert str(info.value) == "user icbc works for bank ICBC and may not act for bank ABC"
    # The scheduler proposes; it approves nothing, and no one approves their own record.
    allocation = run(
        fund,
        lambda s: capital.record_allocation(
            s, source="provincial", amount=100_000, received_on=D(2025, 7, 1), actor="clerk"
        ),
    )
    with pytest.raises(PermissionDeniedError) as info:
        run(fund, lambda s: capital.approve_allocation(s, allocation.id, actor=SYSTEM))
    assert str(info.value) == "user system may not do this: it needs the approver role"
    forged = Principal("clerk", ["approver"])  # even with the role, not their own record
    with pytest.raises(MakerCheckerError):
        run(fund, lambda s: capital.approve_allocation(s, allocation.id, actor=forged))
