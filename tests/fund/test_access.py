"""Signing in: the password policy, argon2id hashes, changes and resets, throttling and
unlocking, every attempt audited and committed even when refused, who reads the audit log,
and the command line.

argon2's default parameters cost a noticeable fraction of a second a hash on purpose, so
these tests hash with the cheapest argon2id parameters (the same code, another
``access.HASHER``); the tests of the default parameters and of re-hashing use the real one.
"""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import inspect, select

from ledger.audit import AuditView
from ledger.cli import cli
from ledger.clock import CHINA_OFFSET, utcnow
from ledger.db import run_in_transaction
from ledger.fund import access, reference
from ledger.fund.errors import (
    AccountLockedError,
    BadCredentialsError,
    PasswordError,
    PasswordPolicyError,
    PermissionDeniedError,
    WrongPasswordError,
)
from ledger.fund.models import User
from ledger.principal import SYSTEM, Principal

T0 = dt.datetime(2026, 12, 1, 2, 0, 0)  # 10:00 on 1 December in China
PW = "Fund#2026open"
ADDRESS = "192.0.2.10"
BAD_ZH = "用户名或密码不正确"
LOCKED_ZH = "账户已因连续 5 次登录失败被锁定，将于 {} 自动解锁，或请管理员解锁"
ID_NUMBER = "320102199001011234"


class CountingHasher(PasswordHasher):
    """argon2id at its cheapest, counting the passwords it checks."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash, password):
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture(autouse=True)
def hasher(monkeypatch):
    cheap = CountingHasher()
    monkeypatch.setattr(access, "HASHER", cheap)
    return cheap


@pytest.fixture
def users(factory):
    """admin, clerk, approver, a bank user at ICBC and an auditor; admin, clerk, the bank
    user and the auditor have the password PW (no change asked), the approver none."""

    def setup(s):
        reference.add_user(s, "admin", "系统管理员", ["admin"], actor=SYSTEM)
        reference.add_bank(s, "ICBC", "工商银行", "1202020129900012345", actor="admin")
        reference.add_user(s, "clerk", "王经办", ["clerk"], actor="admin")
        reference.add_user(s, "approver", "李审核", ["approver"], actor="admin")
        reference.add_user(s, "icbc", "工行信贷员", ["bank"], bank="ICBC", actor="admin")
        reference.add_user(s, "auditor", "审计员", ["auditor"], actor="admin")
        access.set_initial_passwords(
            s, ["admin", "clerk", "icbc", "auditor"], PW, actor="admin", must_change=False,
            now=T0 - dt.timedelta(days=1),
        )  # fmt: skip

    run_in_transaction(factory, setup)
    return factory


def run(factory, work):
    return run_in_transaction(factory, work)


def sign_in(factory, username, password, at):
    return run(factory, lambda s: access.sign_in(s, username, password, address=ADDRESS, now=at))


def user_row(factory, username):
    with factory() as s:
        return s.scalar(select(User).where(User.username == username))


def audit(factory, **filters):
    with factory() as s:
        return access.read_audit(s, actor="admin", **filters).items


# --------------------------------------------------------------------------- the policy


@pytest.mark.parametrize(
    ("password", "zh"),
    [
        ("Ab1#", "密码至少需要 10 个字符（现为 4 个）"),
        ("abcdefghijkl", "密码须包含小写字母、大写字母、数字、符号中的至少 3 类（现为 1 类）"),
        ("abcdefgh1234", "密码须包含小写字母、大写字母、数字、符号中的至少 3 类（现为 2 类）"),
        ("My-Clerk-2026", "密码不能包含用户名"),
        ("abc", "密码至少需要 10 个字符（现为 3 个）；密码须包含小写字母、大写字母、数字、"
                "符号中的至少 3 类（现为 1 类）"),
        ("Aa1#" * 65, "密码不能超过 256 个字符（现为 260 个）"),
    ],
)  # fmt: skip
def test_the_policy_names_exactly_what_is_wrong(password, zh):
    with pytest.raises(PasswordPolicyError) as caught:
        access.PASSWORD_POLICY.check(password, username="clerk")
    assert (caught.value.code, caught.value.zh) == ("password-policy", zh)
    assert caught.value.problems == tuple(zh.split("；"))


def test_the_policy_takes_three_classes_of_any_four_and_refuses_the_current_password():
    for good in ("Demo#2026fund", "correct horse 7", "HORSE#battery", "张三李四王五ab12"):
        access.PASSWORD_POLICY.check(good, username="clerk")
    with pytest.raises(PasswordPolicyError) as caught:
        access.PASSWORD_POLICY.check(PW, username="clerk", current=PW)
    assert caught.value.zh == "新密码不能与当前密码相同"


# --------------------------------------------------------------------------- passwords


def test_a_reset_hashes_with_argon2id_at_its_default_parameters(users, monkeypatch):
    monkeypatch.setattr(access, "HASHER", PasswordHasher())
    at = T0 + dt.timedelta(minutes=1)
    account = run(
        users,
        lambda s: access.set_password(s, "approver", PW, actor="admin", now=at, address=ADDRESS),
    )
    assert (account.has_password, account.must_change_password, account.password_changed_at) == (
        True, True, at,
    )  # fmt: skip
    stored = user_row(users, "approver").password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PW not in stored
    assert audit(users, action="password-reset", target="user/approver") == (
        AuditView(5, at, "admin", "password-reset", "user/approver", "ok",
                  {"must_change_password": True}, ADDRESS),
    )  # fmt: skip
    # The user must change it: the sign-in says so.
    attempt = sign_in(users, "approver", PW, T0 + dt.timedelta(minutes=2))
    assert (attempt.ok, attempt.must_change_password) == (True, True)


def test_a_user_changes_their_own_password_giving_the_current_one(users):
    new = "Another#2027pw"

    def change(current, password=new):
        return lambda s: access.set_password(
            s, "clerk", password, actor="clerk", current=current, now=T0
        )

    with pytest.raises(WrongPasswordError) as caught:
        run(users, change(None))
    assert (caught.value.code, caught.value.zh) == ("wrong-password", "修改密码须输入当前密码")
    with pytest.raises(WrongPasswordError) as caught:
        run(users, change("not it at all"))
    assert caught.value.zh == "当前密码不正确"
    with pytest.raises(PasswordPolicyError) as caught:
        run(users, change(PW, PW))
    assert caught.value.zh == "新密码不能与当前密码相同"
    account = run(users, change(PW))
    assert (account.must_change_password, account.password_changed_at) == (False, T0)
    assert audit(users, action="password-change") == (
        AuditView(5, T0, "clerk", "password-change", "user/clerk", "ok", None, None),
    )
    assert not sign_in(users, "clerk", PW, T0).ok
    assert sign_in(users, "clerk", new, T0).ok


def test_only_an_admin_sets_another_users_password_and_not_to_their_current_one(users):
    with pytest.raises(PermissionDeniedError) as caught:
        run(users, lambda s: access.set_password(s, "approver", PW, actor="clerk"))
    assert caught.value.zh == "用户 clerk 无权执行此操作：需要管理员角色"
    with pytest.raises(PasswordPolicyError) as caught:
        run(users, lambda s: access.set_password(s, "clerk", PW, actor="admin"))
    assert caught.value.zh == "新密码不能与当前密码相同"
    with pytest.raises(PasswordError) as caught:
        run(
            users,
            lambda s: access.set_initial_passwords(s, ["approver", "clerk"], PW, actor="admin"),
        )
    assert caught.value.zh == "用户 clerk 已设置密码，请改用重置密码"
    assert user_row(users, "approver").password_hash is None


def test_initial_passwords_share_one_hash(users):
    with users() as s:
        hashes = {u.username: u.password_hash for u in s.scalars(select(User))}
    assert hashes["approver"] is None
    assert len({hashes[n] for n in ("admin", "clerk", "icbc", "auditor")}) == 1
    assert hashes["clerk"].startswith("$argon2id$")
    rows = audit(users, action="password-reset")
    assert [(r.actor, r.target, r.detail) for r in rows] == [
        ("admin", f"user/{n}", {"initial": True, "must_change_password": False})
        for n in ("auditor", "icbc", "clerk", "admin")
    ]


# --------------------------------------------------------------------------- signing in


def test_a_sign_in_gives_the_principal_and_is_audited(users, hasher):
    attempt = sign_in(users, " Clerk ", PW, T0)
    assert attempt.ok and attempt.error is None
    assert attempt.result() == attempt.principal == Principal("clerk", ["clerk"])
    assert attempt.principal.roles == {"clerk"}
    assert sign_in(users, "icbc", PW, T0).principal.bank == "ICBC"
    row = user_row(users, "clerk")
    assert (row.last_login_at, row.failed_logins, row.locked_until) == (T0, 0, None)
    assert audit(users, action="sign-in") == (
        AuditView(6, T0, "icbc", "sign-in", "user/icbc", "ok", None, ADDRESS),
        AuditView(5, T0, "clerk", "sign-in", "user/clerk", "ok", None, ADDRESS),
    )
    assert hasher.verified == 2


def test_one_refusal_for_an_unknown_user_a_wrong_password_no_password_and_inactive(users, hasher):
    def deactivate(s):
        s.scalar(select(User).where(User.username == "auditor")).active = False

    run(users, deactivate)
    tries = [
        ("nobody", PW, "user/nobody", "unknown-user"),
        ("clerk", "Wrong#password1", "user/clerk", "wrong-password"),
        ("approver", PW, "user/approver", "no-password"),
        ("auditor", PW, "user/auditor", "inactive"),
        ("Fund#2026open", PW, "user/?", "unknown-user"),  # a password typed as the name
        (ID_NUMBER, PW, "user/?", "unknown-user"),
    ]
    refusals = []
    for name, password, _, _ in tries:
        before = hasher.verified
        attempt = sign_in(users, name, password, T0)
        assert hasher.verified == before + 1  # one password check, whoever it was
        assert attempt.principal is None
        refusals.append((type(attempt.error), attempt.error.code, str(attempt.error),
                         attempt.error.zh))  # fmt: skip
    assert set(refusals) == {
        (BadCredentialsError, "bad-credentials",
         "sign-in refused: unknown user or wrong password", BAD_ZH),
    }  # fmt: skip
    rows = audit(users, action="sign-in-failed")
    assert [(r.actor, r.target, r.outcome, r.detail["reason"], r.address) for r in rows] == [
        (None, target, "refused", reason, ADDRESS) for _, _, target, reason in reversed(tries)
    ]
    assert rows[-2].detail == {"failed_logins": 1, "reason": "wrong-password"}
    assert all(ID_NUMBER not in repr(r) and PW not in repr(r) for r in rows)
    assert user_row(users, "clerk").failed_logins == 1


def test_five_failures_lock_the_account_for_fifteen_minutes(users, hasher):
    wrong = "Wrong#password1"
    for n in range(4):
        attempt = sign_in(users, "clerk", wrong, T0 + dt.timedelta(minutes=n))
        assert attempt.error.code == "bad-credentials"
        assert user_row(users, "clerk").failed_logins == n + 1  # committed although refused
    fifth = sign_in(users, "clerk", wrong, T0 + dt.timedelta(minutes=4))
    until = T0 + dt.timedelta(minutes=19)  # 10:19 in China
    locked_zh = LOCKED_ZH.format("10:19")
    assert type(fifth.error) is AccountLockedError
    assert (fifth.error.code, fifth.error.zh, fifth.error.locked_until) == (
        "locked", locked_zh, until,
    )  # fmt: skip
    row = user_row(users, "clerk")
    assert (row.failed_logins, row.locked_until) == (5, until)
    # The right password while locked: refused, unchecked, and the lock is not extended.
    checked = hasher.verified
    sixth = sign_in(users, "clerk", PW, T0 + dt.timedelta(minutes=10))
    assert (sixth.error.code, sixth.error.zh, hasher.verified) == ("locked", locked_zh, checked)
    with pytest.raises(AccountLockedError):
        sixth.result()
    assert user_row(users, "clerk").locked_until == until
    # Fifteen minutes after the lock: it has run out.
    assert sign_in(users, "clerk", PW, until).ok
    row = user_row(users, "clerk")
    assert (row.failed_logins, row.locked_until, row.last_login_at) == (0, None, until)
    rows = audit(users, target="user/clerk", since=T0)
    assert [(r.action, r.at, r.outcome, r.detail) for r in rows] == [
        ("sign-in", until, "ok", None),
        ("sign-in-failed", T0 + dt.timedelta(minutes=10), "refused",
         {"reason": "locked", "failed_logins": 5, "locked_until": until.isoformat()}),
        ("sign-in-failed", T0 + dt.timedelta(minutes=4), "refused",
         {"reason": "wrong-password", "failed_logins": 5, "locked_until": until.isoformat()}),
        *(("sign-in-failed", T0 + dt.timedelta(minutes=n), "refused",
           {"reason": "wrong-password", "failed_logins": n + 1}) for n in (3, 2, 1, 0)),
    ]  # fmt: skip


def test_a_lock_shows_the_minute_it_has_run_out_by_and_counts_again_after(users):
    start = T0 + dt.timedelta(seconds=30)
    for _ in range(5):
        attempt = sign_in(users, "clerk", "Wrong#password1", start)
    assert attempt.error.zh == LOCKED_ZH.format("10:16")
    after = start + access.LOCK_FOR
    assert sign_in(users, "clerk", "Wrong#password1", after).error.code == "bad-credentials"
    row = user_row(users, "clerk")
    assert (row.failed_logins, row.locked_until) == (1, None)


def test_an_admin_unlocks_an_account(users):
    for _ in range(5):
        sign_in(users, "clerk", "Wrong#password1", T0)
    with pytest.raises(PermissionDeniedError) as caught:
        run(users, lambda s: access.unlock(s, "clerk", actor="approver"))
    assert caught.value.zh == "用户 approver 无权执行此操作：需要管理员角色"
    at = T0 + dt.timedelta(minutes=1)
    account = run(
        users, lambda s: access.unlock(s, "clerk", actor="admin", now=at, address=ADDRESS)
    )
    assert (account.locked, account.failed_logins) == (False, 0)
    assert audit(users, action="user-unlock") == (
        AuditView(10, at, "admin", "user-unlock", "user/clerk", "ok",
                  {"failed_logins": 5, "locked_until": "2026-12-01T02:15:00"}, ADDRESS),
    )  # fmt: skip
    assert sign_in(users, "clerk", PW, at).ok


def test_a_refusal_raised_after_its_commit(users):
    with pytest.raises(BadCredentialsError) as caught:
        access.sign_in_committed(users, "clerk", "Wrong#password1", address=ADDRESS, now=T0)
    assert caught.value.zh == BAD_ZH
    assert user_row(users, "clerk").failed_logins == 1
    assert [r.detail["reason"] for r in audit(users, action="sign-in-failed")] == ["wrong-password"]
    attempt = access.sign_in_committed(users, "clerk", PW, now=T0)
    assert attempt.principal == "clerk"
    assert user_row(users, "clerk").failed_logins == 0


def test_an_old_hash_is_rehashed_at_the_default_parameters(users, hasher, monkeypatch):
    cheap = user_row(users, "clerk").password_hash
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    monkeypatch.setattr(access, "HASHER", PasswordHasher())
    assert sign_in(users, "clerk", PW, T0).ok
    stored = user_row(users, "clerk").password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert audit(users, action="sign-in")[0].detail == {"rehashed": True}


def test_signing_out_is_audited(users):
    run(users, lambda s: access.sign_out(s, Principal("clerk", ["clerk"]), address=ADDRESS, now=T0))
    assert audit(users, action="sign-out") == (
        AuditView(5, T0, "clerk", "sign-out", "user/clerk", "ok", None, ADDRESS),
    )


def test_auditors_and_admins_read_the_audit_log_and_no_one_else(users):
    with users() as s:
        assert len(access.read_audit(s, actor="auditor").items) == 4
        page = access.read_audit(s, actor="admin", limit=1, who="admin")
        assert (page.items[0].id, page.next_before) == (4, 4)
        for user in ("clerk", "icbc"):
            with pytest.raises(PermissionDeniedError) as caught:
                access.read_audit(s, actor=user)
            assert caught.value.zh == f"用户 {user} 无权执行此操作：需要审计或管理员角色"


def test_the_users_table_matches_its_model(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ledger.models import Base

    def ours(name, type_, parent_names):
        return type_ != "table" or name == "users"

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if "users" in repr(d)] == []
    columns = {c["name"]: c["nullable"] for c in inspect(engine).get_columns("users")}
    assert {k: columns[k] for k in (
        "password_hash", "password_changed_at", "must_change_password", "failed_logins",
        "locked_until", "last_login_at",
    )} == {
        "password_hash": True, "password_changed_at": True, "must_change_password": False,
        "failed_logins": False, "locked_until": True, "last_login_at": True,
    }  # fmt: skip


def test_the_demo_users_sign_in_with_the_demo_password(factory, monkeypatch):
    from ledger.demo.city import ADMIN, DEMO_PASSWORD, USERS, build_fund_demo

    monkeypatch.setattr(access, "HASHER", PasswordHasher())
    build_fund_demo(factory, loans=1)
    with factory() as s:
        hashes = {u.username: u.password_hash for u in s.scalars(select(User))}
    assert set(hashes) == {ADMIN, *(u[0] for u in USERS)}
    assert len(set(hashes.values())) == 1
    assert hashes[ADMIN].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    access.PASSWORD_POLICY.check(DEMO_PASSWORD, username=ADMIN)
    attempt = sign_in(factory, "audit.he", DEMO_PASSWORD, T0)
    assert (attempt.ok, attempt.must_change_password) == (True, False)


# --------------------------------------------------------------------------- command line


@pytest.fixture
def cli_run(db_url, users):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, ["--database-url", db_url, *args], input=input)

    return invoke


def test_the_cli_sets_passwords(cli_run, users):
    reset = cli_run("user", "password", "approver", "--actor", "admin",
                    input="Approve#2026x\nApprove#2026x\n")  # fmt: skip
    assert (reset.exit_code, reset.stdout) == (
        0,
        "New password: \nRepeat for confirmation: \n"
        "password of approver reset; they must change it at their next sign-in\n",
    )
    own = cli_run("user", "password", "approver", "--actor", "approver",
                  input="Approve#2026x\nMine#2026xyz\nMine#2026xyz\n")  # fmt: skip
    assert own.exit_code == 0, own.output
    assert own.stdout.endswith("password of approver changed\n")
    assert "Approve#2026x" not in own.stdout and "Mine#2026xyz" not in own.stdout
    piped = cli_run("user", "password", "clerk", "--actor", "clerk", "--password-stdin",
                    input=f"{PW}\nPiped#2026pw\n")  # fmt: skip
    assert (piped.exit_code, piped.stdout) == (0, "password of clerk changed\n")
    weak = cli_run("user", "password", "icbc", "--actor", "admin", "--password-stdin",
                   input="short\n")  # fmt: skip
    assert weak.exit_code == 1
    assert weak.stderr.splitlines()[-1] == (
        "错误：密码至少需要 10 个字符（现为 5 个）；"
        "密码须包含小写字母、大写字母、数字、符号中的至少 3 类（现为 1 类）"
    )
    assert sign_in(users, "approver", "Mine#2026xyz", T0).ok
    assert sign_in(users, "clerk", "Piped#2026pw", T0).ok
    actions = [
        (r.actor, r.action, r.target) for r in audit(users, since=T0 - dt.timedelta(hours=1))
    ]
    assert actions[2:] == [
        ("clerk", "password-change", "user/clerk"),
        ("approver", "password-change", "user/approver"),
        ("admin", "password-reset", "user/approver"),
    ]


def test_the_cli_unlocks_lists_users_and_the_audit_log(cli_run, users):
    # The command line acts now: the lock it shows is one of the clock's time.
    now = utcnow()
    for _ in range(5):
        sign_in(users, "clerk", "Wrong#password1", now)
    until = now + access.LOCK_FOR
    listed = cli_run("user", "list", "--actor", "admin")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["user", "name", "roles", "bank", "sign-in", "last", "sign-in",
                                "(China", "time)"]  # fmt: skip
    states = {line.split()[0]: line for line in lines[1:]}
    assert f"locked until {until + CHINA_OFFSET:%Y-%m-%d %H:%M}" in states["clerk"]
    assert "no password" in states["approver"]
    refused = cli_run("user", "unlock", "clerk", "--actor", "clerk")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[-1] == "错误：用户 clerk 无权执行此操作：需要管理员角色"
    done = cli_run("user", "unlock", "clerk", "--actor", "admin")
    assert (done.exit_code, done.stdout) == (0, "user clerk unlocked\n")
    assert sign_in(users, "clerk", PW, now).ok

    listed = cli_run("audit", "list", "--action", "sign-in-failed", "--limit", "2",
                     "--actor", "auditor")  # fmt: skip
    assert listed.exit_code == 0, listed.output
    shown = f"{now + CHINA_OFFSET:%Y-%m-%d %H:%M:%S}"
    assert listed.stdout.splitlines() == [
        "id\ttime\tactor\taction\ttarget\toutcome\taddress\tdetail",
        f"9\t{shown}\t-\tsign-in-failed\tuser/clerk\trefused\t{ADDRESS}\t"
        f'{{"failed_logins": 5, "locked_until": "{until.isoformat()}", '
        '"reason": "wrong-password"}',
        f"8\t{shown}\t-\tsign-in-failed\tuser/clerk\trefused\t{ADDRESS}\t"
        '{"failed_logins": 4, "reason": "wrong-password"}',
        "next page: --before 8",
    ]
    today = f"{now + CHINA_OFFSET:%Y-%m-%d}"
    mine = cli_run("audit", "list", "--who", "admin", "--since", today, "--actor", "admin")
    assert [line.split("\t")[3] for line in mine.stdout.splitlines()[1:]] == ["user-unlock"]
    for who in ("clerk", "icbc"):
        denied = cli_run("audit", "list", "--actor", who)
        assert denied.exit_code == 1
        assert denied.stderr.splitlines()[-1] == (
            f"错误：用户 {who} 无权执行此操作：需要审计或管理员角色"
        )
    bad = cli_run("audit", "list", "--outcome", "maybe", "--actor", "admin")
    assert bad.exit_code == 2
    assert "unknown outcome 'maybe'; use one of: ok, refused" in bad.stderr
