"""The administration pages: users (adding one with a first password, an admin's reset,
unlocking), the audit log with the sign-ins and their address, and the policy (read by
the bureau, an overrides file loaded by an admin)."""

from __future__ import annotations

import html
import io
import re

from sqlalchemy import func, select

from ledger.fund.models import PolicyOverride, User
from ledger.models import AuditLog
from tests.web.conftest import login
from tests.web.conftest import text as raw_text

NEW_PASSWORD = "Fresh#Pass2026"


def text(response) -> str:
    return html.unescape(raw_text(response))


def form_errors(response, form_id: str) -> list[str]:
    page = response.get_data(as_text=True)
    form = page.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    lists = re.findall(r'<ul class="errors"[^>]*>(.*?)</ul>', form, flags=re.S)
    return [html.unescape(e) for ul in lists for e in re.findall(r"<li>(.*?)</li>", ul)]


def users(factory) -> list[tuple]:
    with factory() as s:
        return list(s.execute(select(User.username, User.roles, User.bank_code).order_by(User.id)))


def audit_rows(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(AuditLog))


# ------------------------------------------------------------------------------ users


def test_the_user_list_shows_roles_banks_and_state(as_user):
    page = text(as_user("admin").get("/admin/users"))
    assert "icbc 工行信贷员 经办银行 ICBC 正常 0" in page
    assert "approver 李审核 审核" in page
    assert as_user("clerk").get("/admin/users").status_code == 403
    assert as_user("auditor").get("/admin/users").status_code == 403


def test_an_admin_adds_a_bank_user_who_must_change_the_first_password(as_user, client, books):
    admin = as_user("admin")
    done = admin.post(
        "/admin/users",
        data={"new-username": "icbc.li", "new-name": "工行李经理", "new-roles": ["bank"],
              "new-bank": "ICBC", "new-password": NEW_PASSWORD},
    )  # fmt: skip
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/users")
    page = text(admin.get("/admin/users"))
    assert "用户 icbc.li 已新增，其首次登录时须修改初始密码。" in page
    assert "icbc.li 工行李经理 经办银行 ICBC 须修改密码 0" in page
    assert users(books)[-1] == ("icbc.li", "bank", "ICBC")
    assert login(client, "icbc.li", NEW_PASSWORD).status_code == 302
    first = client.get("/recon/breaks")
    assert (first.status_code, first.headers["Location"]) == (302, "/password")


def test_a_refused_new_user_is_named_beside_its_field_and_nothing_is_added(as_user, books):
    admin = as_user("admin")
    before, logged = users(books), audit_rows(books)
    no_bank = admin.post(
        "/admin/users",
        data={"new-username": "icbc.li", "new-name": "工行李经理", "new-roles": ["bank"],
              "new-password": NEW_PASSWORD},
    )  # fmt: skip
    assert no_bank.status_code == 422
    assert form_errors(no_bank, "add-user") == ["银行用户必须且只能由银行用户指定所属银行"]
    weak = admin.post(
        "/admin/users",
        data={"new-username": "wu.clerk", "new-name": "吴经办", "new-roles": ["clerk"],
              "new-password": "short"},
    )  # fmt: skip
    assert weak.status_code == 422
    errors = form_errors(weak, "add-user")
    assert len(errors) == 1 and errors[0].startswith("密码至少需要 10 个字符（现为 5 个）")
    taken = admin.post(
        "/admin/users",
        data={"new-username": "clerk", "new-name": "王经办", "new-roles": ["clerk"],
              "new-password": NEW_PASSWORD},
    )  # fmt: skip
    assert form_errors(taken, "add-user") == ["用户 clerk 已存在"]
    no_role = admin.post(
        "/admin/users",
        data={"new-username": "wu.clerk", "new-name": "吴经办", "new-password": NEW_PASSWORD},
    )
    assert form_errors(no_role, "add-user") == ["用户至少需要一个角色"]
    assert users(books) == before
    # Each refused POST is audited as refused, nothing else is written.
    assert audit_rows(books) == logged + 4


def test_an_admins_reset_makes_the_user_change_the_password(as_user, client, books):
    admin = as_user("admin")
    weak = admin.post("/admin/users/clerk/password", data={"password": "short"})
    assert weak.status_code == 422
    assert text(weak).count("密码至少需要 10 个字符（现为 5 个）") == 1
    assert login(client, "clerk").status_code == 302  # the old password still holds
    client.post("/logout")
    done = admin.post("/admin/users/clerk/password", data={"password": NEW_PASSWORD})
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/users")
    assert "用户 clerk 的密码已重置，其下次登录时须修改密码。" in text(admin.get("/admin/users"))
    assert login(client, "clerk").status_code == 401
    assert login(client, "clerk", NEW_PASSWORD).status_code == 302
    forced = client.get("/")
    assert (forced.status_code, forced.headers["Location"]) == (302, "/password")
    with books() as s:
        row = s.scalars(
            select(AuditLog).where(AuditLog.action == "password-reset").order_by(AuditLog.id.desc())
        ).first()
        assert (row.actor, row.target, row.address) == ("admin", "user/clerk", "127.0.0.1")


def test_a_locked_user_is_unlocked_by_an_admin(as_user, client):
    for _ in range(5):
        login(client, "clerk", "Wrong#password1")
    assert login(client, "clerk").status_code == 401
    admin = as_user("admin")
    page = admin.get("/admin/users")
    assert "锁定至" in text(page)
    row = page.get_data(as_text=True).split('id="user-clerk"')[1].split("</tr>")[0]
    assert 'action="/admin/users/clerk/unlock"' in row
    done = admin.post("/admin/users/clerk/unlock")
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/users")
    page = text(admin.get("/admin/users"))
    assert "用户 clerk 已解锁。" in page and "clerk 王经办 经办 正常 0" in page
    assert login(client, "clerk").status_code == 302
    assert as_user("approver").post("/admin/users/clerk/unlock").status_code == 403


# ------------------------------------------------------------------------------ audit log


def test_the_audit_log_shows_sign_ins_with_their_address(as_user, client):
    login(client, "clerk", "Wrong#password1")
    as_user("clerk")
    auditor = as_user("auditor")
    page = text(auditor.get("/admin/audit?target=user/clerk"))
    assert re.search(r"\d+ \S+ \S+ clerk sign-in user/clerk 已完成 127\.0\.0\.1", page)
    assert re.search(
        r"\d+ \S+ \S+ — sign-in-failed user/clerk 被拒绝 127\.0\.0\.1 "
        r"failed_logins=1 reason=wrong-password",
        page,
    )
    only = text(auditor.get("/admin/audit?action=sign-in-failed"))
    assert "sign-in-failed" in only and " sign-in user/" not in only
    bad = auditor.get("/admin/audit?outcome=maybe")
    assert bad.status_code == 400
    assert "结果 'maybe' 无效，应为：ok、refused" in text(bad)
    assert "<form method=\"post\"" not in auditor.get("/admin/audit").get_data(as_text=True).split(
        "</header>")[1]  # fmt: skip
    assert as_user("clerk").get("/admin/audit").status_code == 403
    assert as_user("admin").get("/admin/audit").status_code == 200


def test_a_change_through_the_web_is_in_the_audit_log(as_user):
    admin = as_user("admin")
    admin.post("/admin/users/abc/unlock")
    page = text(admin.get("/admin/audit?who=admin&action=user.manage"))
    assert re.search(r"admin user\.manage /admin/users/abc/unlock 已完成 127\.0\.0\.1", page)


# ------------------------------------------------------------------------------ policy

OVERRIDE = b"""
[[override]]
effective_from = 2030-01-01
note = "a test of the locality's file"
coverage_ppm = 700000
"""


def test_the_policy_page_shows_the_rules_and_eras_to_the_bureau(as_user):
    page = as_user("auditor").get("/admin/policy")
    body = text(page)
    assert "national:" in body
    assert "全国政策阶段" in body and "本地政策调整 # 生效日期" in body
    assert 'id="load-policy"' not in page.get_data(as_text=True)
    assert as_user("icbc").get("/admin/policy").status_code == 403


def test_an_admin_loads_an_overrides_file(as_user, books):
    admin = as_user("admin")
    assert 'id="load-policy"' in admin.get("/admin/policy").get_data(as_text=True)
    done = admin.post(
        "/admin/policy", data={"file": (io.BytesIO(OVERRIDE), "local.toml")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/policy")
    body = text(admin.get("/admin/policy"))
    assert "已记录 1 项政策调整，分别自 2030-01-01 起生效。" in body
    assert "2030-01-01 a test of the locality's file coverage_ppm = 70.00%" in body
    with books() as s:
        assert s.scalar(select(func.count()).select_from(PolicyOverride)) == 1


def test_a_refused_overrides_file_is_named_and_nothing_is_recorded(as_user, books):
    admin = as_user("admin")
    bad = admin.post(
        "/admin/policy",
        data={"file": (io.BytesIO(b"[[override]]\neffective_from = 2020-01-01\ncoverage_ppm = 1"),
                       "old.toml")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert bad.status_code == 422
    errors = form_errors(bad, "load-policy")
    assert len(errors) == 1 and errors[0].startswith("政策调整不能追溯生效：2020-01-01 早于今天")
    nothing = admin.post("/admin/policy", data={}, content_type="multipart/form-data")
    assert form_errors(nothing, "load-policy") == ["请选择政策调整文件。"]
    garbage = admin.post(
        "/admin/policy", data={"file": (io.BytesIO(b"not toml ["), "x.toml")},
        content_type="multipart/form-data",
    )  # fmt: skip
    errors = form_errors(garbage, "load-policy")
    assert len(errors) == 1 and errors[0].startswith("政策文件 x.toml 不是有效的 TOML")
    with books() as s:
        assert s.scalar(select(func.count()).select_from(PolicyOverride)) == 0
    assert as_user("clerk").post("/admin/policy", data={}).status_code == 403
