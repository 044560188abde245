import pytest
from sqlalchemy import select

from ledger.accounts import AccountSpec, check_postable, open_account
from ledger.errors import AccountError, GroupAccountError, UnknownAccountError
from ledger.models import Account, AccountType, Side


def test_child_inherits_type_side_and_dimensions(chart):
    with chart() as s, s.begin():
        acc = open_account(s, AccountSpec("memo:exposure:ICBC:L1", "在保责任-L1", loan="L1"))
        assert (acc.type, acc.normal_side, acc.bank, acc.loan) == ("memorandum", "D", "ICBC", "L1")
        contra = open_account(s, AccountSpec("memo:exposure-contra:ICBC-L1", "对方-L1"))
        assert contra.normal_side == "C"


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        (AccountSpec("asset:treasury", "x"), AccountError, "account asset:treasury already exists"),
        (
            AccountSpec("asset:nowhere:x", "x"),
            UnknownAccountError,
            "parent account asset:nowhere of asset:nowhere:x does not exist",
        ),
        (
            AccountSpec("asset:treasury:sub", "x"),
            AccountError,
            "parent account asset:treasury is not a group account; asset:treasury:sub cannot go "
            "under it",
        ),
        (
            AccountSpec("asset:odd", "x", AccountType.INCOME),
            AccountError,
            "account asset:odd must have its parent's type asset, not income",
        ),
        (
            AccountSpec("asset:odd", "x", normal_side=Side.CREDIT),
            AccountError,
            "a asset account grows on the D side; asset:odd cannot be C",
        ),
        (AccountSpec("newroot", "x"), AccountError, "root account newroot needs a type"),
        (
            AccountSpec("memo2", "x", AccountType.MEMORANDUM),
            AccountError,
            "memorandum account memo2 needs a normal side (D or C)",
        ),
        (
            AccountSpec("asset:bad code", "x"),
            AccountError,
            "account code 'asset:bad code' is not valid: use up to 8 segments of letters, "
            "digits and '-', joined by ':'",
        ),
    ],
)
def test_open_account_refusals(chart, spec, error, message):
    with chart() as s, s.begin(), pytest.raises(error) as exc:
        open_account(s, spec)
    assert str(exc.value) == message


def test_check_postable_refuses_unknown_and_group(chart):
    with chart() as s:
        found = {a.code: a for a in s.scalars(select(Account))}
        with pytest.raises(UnknownAccountError) as exc:
            check_postable(["asset:treasury", "asset:nope"], found)
        assert str(exc.value) == "no such account: asset:nope"
        with pytest.raises(GroupAccountError) as exc:
            check_postable(["asset:special"], found)
        assert str(exc.value) == (
            "account asset:special is a group account and takes no postings; post to one of "
            "its sub-accounts"
        )
