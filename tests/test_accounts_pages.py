"""Account page (roles, password, API tokens), the auditor's log search, the base layout, login throttling."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from caregrid.accounts.models import ApiToken, AuditEvent, Role, RoleAssignment, User
from caregrid.people.actions import resident_unmask
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


# --- account ----------------------------------------------------------------------------------


def test_the_account_page_shows_my_roles_and_where_they_apply(world, login):
    page = html(login(world.grid_worker_a).get(reverse("account")))
    assert "网格员" in page
    assert "崇川区/和平桥街道/紫东社区/第一网格" in page


def test_changing_my_password_is_audited(world, login):
    client = login(world.community_worker)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "紫东-new-pass-2022", "new_password2": "紫东-new-pass-2022"},
    )
    assert response.status_code == 302
    world.community_worker.refresh_from_db()
    assert world.community_worker.check_password("紫东-new-pass-2022")
    event = AuditEvent.objects.get(action="user.password_change")
    assert event.actor == world.community_worker
    assert "紫东-new-pass" not in str(event.changes)
    assert client.get(reverse("account")).status_code == 200  # still signed in


def test_a_wrong_old_password_changes_nothing(world, login):
    response = login(world.community_worker).post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": "紫东-new-pass-2022", "new_password2": "紫东-new-pass-2022"},
    )
    assert response.status_code == 200
    world.community_worker.refresh_from_db()
    assert world.community_worker.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="user.password_change").exists()


def test_an_api_token_key_is_shown_once_and_only_its_hash_is_kept(world, login):
    client = login(world.hotline_operator)
    response = client.post(reverse("token_create"), {"name": "12345对接"})
    page = html(response)
    key = re.search(r'id="new-key">(cg_[^<]+)<', page).group(1)
    token = ApiToken.objects.get(user=world.hotline_operator)
    assert token.key_hash == ApiToken.hash_key(key)
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="api_token.create", actor=world.hotline_operator).exists()
    again = html(client.get(reverse("account")))
    assert key not in again
    assert "12345对接" in again and token.prefix in again


def test_a_token_needs_a_name(world, login):
    page = html(login(world.hotline_operator).post(reverse("token_create"), {"name": " "}))
    assert "请为令牌起个名字" in page
    assert not ApiToken.objects.exists()


def test_i_can_revoke_my_token_but_not_someone_elses(world, login):
    client = login(world.hotline_operator)
    client.post(reverse("token_create"), {"name": "对接"})
    token = ApiToken.objects.get()
    assert login(world.grid_worker_a).post(reverse("token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert login(world.hotline_operator).post(reverse("token_revoke", args=[token.pk])).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()
    assert "已停用" in html(login(world.hotline_operator).get(reverse("account")))


# --- audit log --------------------------------------------------------------------------------


def test_only_auditors_and_the_district_admin_may_search_the_audit_log(world, login):
    assert login(world.auditor).get(reverse("audit")).status_code == 200
    assert login(world.district_admin).get(reverse("audit")).status_code == 200
    for user in (world.grid_worker_a, world.community_worker, world.hotline_operator):
        assert login(user).get(reverse("audit")).status_code == 403


def test_the_audit_log_shows_who_did_what_with_numbers_masked(world, login):
    resident_unmask(actor=world.hotline_operator, resident=world.resident_a)
    page = html(login(world.auditor).get(reverse("audit"), {"action": "resident."}))
    assert "resident.unmask" in page and "resident.create" in page
    assert "接线员" in page
    assert world.resident_a.id_number not in page
    assert "13812345678" not in page
    assert "138****5678" in page


def test_the_audit_log_filters_by_actor_action_and_object(world, login):
    resident_unmask(actor=world.hotline_operator, resident=world.resident_a)
    resident_unmask(actor=world.grid_worker_b, resident=world.resident_b)
    client = login(world.auditor)
    page = html(client.get(reverse("audit"), {"actor": "hotline", "action": "resident.unmask"}))
    assert "王秀英" in page and "李建国" not in page
    page = html(client.get(reverse("audit"), {"object_type": "people.resident", "object_id": world.resident_b.pk}))
    assert "李建国" in page and "王秀英" not in page
    page = html(client.get(reverse("audit"), {"text": "赵敏"}))
    assert "赵敏" in page and "李建国" not in page
    page = html(client.get(reverse("audit"), {"date_from": "2100-01-01"}))
    assert "resident.create" not in page


def test_an_auditor_sees_only_events_within_their_scope(world, login):
    local = User.objects.create_user(username="local_auditor", password=PASSWORD, full_name="河西审计")
    RoleAssignment.objects.create(user=local, role=Role.AUDITOR, place=world.other_community)
    login(world.hotline_operator).post(reverse("token_create"), {"name": "热线对接"})
    page = html(login(local).get(reverse("audit")))
    assert "赵敏" in page
    assert "王秀英" not in page and "李建国" not in page
    assert "热线对接" not in page  # a placeless event belongs to the district level
    district = html(login(world.auditor).get(reverse("audit")))
    assert "热线对接" in district and "王秀英" in district and "赵敏" in district


def test_the_audit_log_pages_without_counting(world, login):
    for _ in range(55):
        resident_unmask(actor=world.hotline_operator, resident=world.resident_a)
    client = login(world.auditor)
    with CaptureQueriesContext(connection) as queries:
        first = html(client.get(reverse("audit"), {"action": "resident.unmask"}))
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert first.count("resident.unmask</code>") == 50
    assert "下一页" in first
    second = html(client.get(reverse("audit"), {"action": "resident.unmask", "page": 2}))
    assert second.count("resident.unmask</code>") == 5
    assert "下一页" not in second


# --- base layout ------------------------------------------------------------------------------


def test_the_menu_follows_what_each_role_may_do(world, login):
    auditor = html(login(world.auditor).get(reverse("account")))
    assert reverse("audit") in auditor and reverse("people:list") not in auditor
    grid = html(login(world.grid_worker_a).get(reverse("account")))
    assert reverse("people:list") in grid
    assert reverse("audit") not in grid and reverse("ledger:import") not in grid
    assert reverse("people:categories") not in grid
    admin = html(login(world.district_admin).get(reverse("account")))
    for url in (reverse("people:list"), reverse("ledger:import"), reverse("people:categories"), reverse("audit")):
        assert url in admin


def test_pages_carry_no_inline_script_or_style_for_the_csp(world, login):
    client = login(world.district_admin)
    pk = world.resident_a.pk
    for url in [
        reverse("account"),
        reverse("audit"),
        reverse("people:list"),
        reverse("people:detail", args=[pk]),
        reverse("people:edit", args=[pk]),
        reverse("people:new"),
        reverse("people:categories"),
    ]:
        response = client.get(url)
        page = html(response)
        assert "script-src 'self'" in response["Content-Security-Policy"], url
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), url
        assert not re.search(r"\sstyle=", page), url
        assert not re.search(r"\son[a-z]+=", page), url


def test_the_language_switch_offers_english(world, login):
    page = html(login(world.grid_worker_a).get(reverse("account")))
    assert reverse("set_language") in page and "English" in page


# --- login ------------------------------------------------------------------------------------


def test_login_locks_after_five_failures(world, client):
    for _ in range(5):
        response = client.post(reverse("login"), {"username": world.grid_worker_a.username, "password": "wrong"})
    assert "登录已暂时锁定" in html(response)
    locked = client.post(reverse("login"), {"username": world.grid_worker_a.username, "password": PASSWORD})
    assert "登录已暂时锁定" in html(locked)
    assert "_auth_user_id" not in client.session


def test_a_correct_login_still_works(world, client):
    response = client.post(reverse("login"), {"username": world.grid_worker_a.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.grid_worker_a.pk)
