"""Signing in and out through the web: the refusals a clerk sees, the lock after five
failures, the idle expiry, the password change, CSRF and the cookie's flags, and the
audit rows each leaves."""

from __future__ import annotations

import time

from sqlalchemy import select

from ledger.models import AuditLog as AuditRow
from tests.web.conftest import PASSWORD, login, make_app, text


def audit(factory):
    with factory() as s:
        return [
            (r.action, r.actor, r.target, r.outcome, r.address)
            for r in s.scalars(select(AuditRow).order_by(AuditRow.id))
            if r.action.startswith("sign")
        ]


def test_a_visitor_is_sent_to_sign_in_and_comes_back(client):
    response = client.get("/loans?status=active")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Floans%3Fstatus%3Dactive"
    page = client.get("/login")
    assert "用户名" in text(page) and "密码" in text(page)
    signed = client.post(
        "/login?next=%2Floans%3Fstatus%3Dactive",
        data={"username": "clerk", "password": PASSWORD},
    )
    assert (signed.status_code, signed.headers["Location"]) == (302, "/loans?status=active")


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, books):
    wrong = login(client, "clerk", "Wrong#password1")
    nobody = login(client, "nobody", "Wrong#password1")
    for response in (wrong, nobody):
        assert response.status_code == 401
        assert "用户名或密码不正确" in text(response)
    assert client.get("/").status_code == 302
    assert audit(books) == [
        ("sign-in-failed", None, "user/clerk", "refused", "127.0.0.1"),
        ("sign-in-failed", None, "user/nobody", "refused", "127.0.0.1"),
    ]


def test_five_failures_lock_the_account_even_against_the_right_password(client, books):
    for _ in range(4):
        assert "用户名或密码不正确" in text(login(client, "clerk", "Wrong#password1"))
    fifth = text(login(client, "clerk", "Wrong#password1"))
    assert "账户已因连续 5 次登录失败被锁定" in fifth and "或请管理员解锁" in fifth
    right = login(client, "clerk")
    assert right.status_code == 401
    assert "账户已因连续 5 次登录失败被锁定" in text(right)
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session(as_user, books):
    client = as_user("auditor")
    assert client.get("/").status_code == 200
    out = client.post("/logout")
    assert (out.status_code, out.headers["Location"]) == (302, "/login")
    assert client.get("/").status_code == 302
    assert [a[:2] for a in audit(books)] == [("sign-in", "auditor"), ("sign-out", "auditor")]


def test_a_session_idle_past_its_limit_ends(as_user):
    client = as_user("clerk")
    with client.session_transaction() as session:
        session["seen"] = time.time() - 31 * 60
    response = client.get("/loans")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "您因长时间未操作已自动退出" in text(client.get("/login"))
    assert client.get("/loans").status_code == 302


def test_changing_ones_password(as_user, client):
    user = as_user("clerk")
    wrong = user.post(
        "/password",
        data={"current": "Nope#12345678", "new": "Fresh#Pass2026", "confirm": "Fresh#Pass2026"},
    )
    assert "当前密码不正确" in text(wrong)
    weak = user.post("/password", data={"current": PASSWORD, "new": "short", "confirm": "short"})
    assert "密码至少需要 10 个字符（现为 5 个）" in text(weak)
    differ = user.post(
        "/password",
        data={"current": PASSWORD, "new": "Fresh#Pass2026", "confirm": "Fresh#Pass2027"},
    )
    assert "两次输入的密码不一致" in text(differ)
    done = user.post(
        "/password",
        data={"current": PASSWORD, "new": "Fresh#Pass2026", "confirm": "Fresh#Pass2026"},
    )
    assert (done.status_code, done.headers["Location"]) == (302, "/login")
    assert user.get("/").status_code == 302
    assert login(client, "clerk").status_code == 401
    assert login(client, "clerk", "Fresh#Pass2026").status_code == 302


def test_forms_need_their_csrf_token_and_the_cookie_is_flagged(books, db_url):
    app = make_app(db_url, WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    refused = client.post("/login", data={"username": "clerk", "password": PASSWORD})
    assert refused.status_code == 400
    page = client.get("/login", base_url="https://localhost")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    token = token.split('"')[0]
    signed = client.post(
        "/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
        data={"username": "clerk", "password": PASSWORD, "csrf_token": token},
    )  # fmt: skip
    assert signed.status_code == 302
    cookie = signed.headers["Set-Cookie"]
    assert "fundledger_session=" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    app.extensions["fundledger"].engine.dispose()


def test_the_language_switch(as_user):
    client = as_user("auditor")
    assert "首页" in text(client.get("/"))
    switched = client.get("/language/en?next=/")
    assert (switched.status_code, switched.headers["Location"]) == (302, "/")
    page = text(client.get("/"))
    assert "Dashboard" in page and "首页" not in page
    assert client.get("/language/en?next=//evil.example").headers["Location"] == "/"
