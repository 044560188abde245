"""A principal is its username wherever the books record who acted, and carries the
roles and the bank scope it was authenticated with."""

from __future__ import annotations

import pickle

import pytest

from ledger.principal import SYSTEM, Principal


def test_a_principal_is_its_username():
    clerk = Principal("wang.fang", ["clerk"])
    assert clerk == "wang.fang" and str(clerk) == "wang.fang" and clerk.username == "wang.fang"
    assert {"wang.fang": 1}[clerk] == 1
    assert f"{clerk}" == "wang.fang"


def test_roles_and_bank_scope():
    banker = Principal("icbc.liu", ["bank"], bank="ICBC")
    assert banker.has("bank") and banker.has("clerk", "bank") and not banker.has("admin")
    assert banker.bank == "ICBC"
    assert repr(banker) == "Principal('icbc.liu', roles=['bank'], bank='ICBC')"


def test_a_principal_cannot_be_changed():
    clerk = Principal("wang.fang", ["clerk"])
    with pytest.raises(AttributeError, match="a principal is immutable: cannot set roles"):
        clerk.roles = frozenset({"admin"})
    with pytest.raises(AttributeError):
        clerk.bank = "ICBC"
    assert clerk.roles == frozenset({"clerk"})


def test_a_principal_survives_pickling_whole():
    banker = pickle.loads(pickle.dumps(Principal("abc.sun", ["bank"], bank="ABC")))
    assert (type(banker), banker, banker.roles, banker.bank) == (
        Principal, "abc.sun", frozenset({"bank"}), "ABC",
    )  # fmt: skip


def test_the_system_principal_holds_only_the_system_role():
    assert SYSTEM == "system" and SYSTEM.roles == frozenset({"system"}) and SYSTEM.bank is None
