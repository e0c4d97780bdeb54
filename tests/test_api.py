"""The JSON API under /api/v1/: scope on every endpoint, masking, audit, validation, concurrency, tokens."""

import datetime as dt
import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caregrid.accounts.actions import api_token_create, api_token_revoke
from caregrid.accounts.models import ApiToken, AuditEvent
from caregrid.people.actions import CategoryEntry, ResidentData, resident_create
from caregrid.people.models import Category, Resident
from caregrid.places.actions import place_create, zone_set
from caregrid.places.models import PlaceKind, ZonePeriod, ZoneStatus
from tests.conftest import make_id

pytestmark = pytest.mark.django_db

API = "/api/v1"


def call(client, method: str, url: str, body=None, **extra):
    kwargs = {"content_type": "application/json"} if body is not None else {}
    if body is not None:
        kwargs["data"] = json.dumps(body)
    return getattr(client, method)(f"{API}{url}", **kwargs, **extra)


def ids(response) -> set[int]:
    return {item["id"] for item in response.json()["items"]}


def new_resident_body(world, **overrides) -> dict:
    body = {
        "id_number": make_id("320602", "19400505", "456"),
        "name": "陈桂兰",
        "household": world.household_a.pk,
        "phone": "13600001111",
        "categories": [{"code": "elderly_alone", "since": "2021-03-01"}],
    }
    body.update(overrides)
    return body


# ---- authentication ------------------------------------------------------------------------------


def test_an_anonymous_caller_gets_401_json(world, client):
    response = call(client, "get", "/residents")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "令牌" in response.json()["message"]


def test_a_bearer_token_authenticates_as_its_user(world):
    _token, key = api_token_create(actor="test", user=world.grid_worker_a, name="测试")
    response = call(Client(), "get", "/residents", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert ids(response) == {world.resident_a.pk}


def test_a_revoked_token_gets_401(world):
    token, key = api_token_create(actor="test", user=world.community_worker, name="12345对接")
    api_token_revoke(actor="test", token=token)
    response = call(Client(), "get", "/residents", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_an_unknown_token_gets_401_even_with_a_session(world, login):
    client = login(world.community_worker)
    response = call(client, "get", "/residents", HTTP_AUTHORIZATION="Bearer cg_not-a-real-key")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_a_token_of_a_disabled_user_gets_401(world):
    _token, key = api_token_create(actor="test", user=world.community_worker, name="x")
    world.community_worker.is_active = False
    world.community_worker.save()
    assert call(Client(), "get", "/categories", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_the_token_is_hashed_at_rest(world):
    token, key = api_token_create(actor="test", user=world.grid_worker_a, name="测试")
    row = ApiToken.objects.values().get(pk=token.pk)
    assert key not in json.dumps(row, default=str)
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM accounts_apitoken WHERE key_hash = %s OR name = %s", [key, key])
        assert cursor.fetchone()[0] == 0


def test_last_used_is_written_at_most_once_a_minute(world):
    token, key = api_token_create(actor="test", user=world.grid_worker_a, name="测试")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    call(client, "get", "/categories")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        call(client, "get", "/categories")
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == first
    stale = timezone.now() - dt.timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    call(client, "get", "/categories")
    token.refresh_from_db()
    assert token.last_used_at > stale


def test_a_session_caller_needs_the_csrf_token_for_unsafe_methods(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.grid_worker_a)
    assert call(client, "get", f"/residents/{world.resident_a.pk}").status_code == 200
    refused = call(client, "post", f"/residents/{world.resident_a.pk}/unmask")
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    assert not AuditEvent.objects.filter(action="resident.unmask").exists()
    secret = "k" * 32  # a CSRF secret as the cookie carries it; the header may repeat it
    client.cookies["csrftoken"] = secret
    allowed = call(client, "post", f"/residents/{world.resident_a.pk}/unmask", HTTP_X_CSRFTOKEN=secret)
    assert allowed.status_code == 200


def test_a_token_caller_needs_no_csrf_token(world):
    _token, key = api_token_create(actor="test", user=world.grid_worker_a, name="测试")
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert call(client, "post", f"/residents/{world.resident_a.pk}/unmask").status_code == 200


def test_me_lists_the_callers_roles_and_capabilities(world, login):
    body = call(login(world.grid_worker_a), "get", "/me").json()
    assert body["username"] == "grid_a"
    assert [r["place"]["id"] for r in body["roles"]] == [world.grid_a.pk]
    assert "unmask" in body["capabilities"] and "set_zone" not in body["capabilities"]


# ---- scope: grid worker A sees nothing of grid B, on every endpoint ------------------------------

GRID_B_REQUESTS = [
    ("get", lambda w: f"/places/{w.grid_b.pk}", None),
    ("get", lambda w: f"/places/{w.building_b.pk}", None),
    ("get", lambda w: f"/places/{w.household_b.pk}", None),
    ("get", lambda w: f"/places?parent={w.building_b.pk}", None),
    ("get", lambda w: f"/places/{w.grid_b.pk}/children", None),
    ("get", lambda w: f"/places/{w.building_b.pk}/children", None),
    ("get", lambda w: f"/places/{w.building_b.pk}/zones", None),
    ("get", lambda w: f"/residents?place={w.grid_b.pk}", None),
    ("get", lambda w: f"/residents?place={w.household_b.pk}", None),
    ("get", lambda w: f"/residents/{w.resident_b.pk}", None),
    ("post", lambda w: f"/residents/{w.resident_b.pk}/unmask", None),
    ("patch", lambda w: f"/residents/{w.resident_b.pk}", {"version": 1, "note": "改"}),
]


@pytest.mark.parametrize(("method", "url", "body"), GRID_B_REQUESTS)
def test_a_grid_worker_gets_404_for_anything_of_grid_b(world, login, method, url, body):
    response = call(login(world.grid_worker_a), method, url(world), body)
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": response.json()["message"], "fields": None}
    assert "李建国" not in response.content.decode()


def test_a_missing_resident_reads_the_same_as_one_out_of_scope(world, login):
    client = login(world.grid_worker_a)
    missing = call(client, "get", "/residents/999999")
    hidden = call(client, "get", f"/residents/{world.resident_b.pk}")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json()


def test_a_grid_worker_cannot_add_a_resident_to_a_grid_b_household(world, login):
    body = new_resident_body(world, household=world.household_b.pk)
    response = call(login(world.grid_worker_a), "post", "/residents", body)
    assert response.status_code == 422
    assert "住户" in response.json()["fields"]["household"]
    assert not Resident.objects.filter(name="陈桂兰").exists()


def test_a_grid_worker_cannot_move_a_resident_into_grid_b(world, login):
    response = call(
        login(world.grid_worker_a),
        "patch",
        f"/residents/{world.resident_a.pk}",
        {"version": 1, "household": world.household_b.pk},
    )
    assert response.status_code == 422
    assert "household" in response.json()["fields"]
    world.resident_a.refresh_from_db()
    assert world.resident_a.household_id == world.household_a.pk


def test_a_grid_worker_lists_only_grid_a_residents(world, login):
    client = login(world.grid_worker_a)
    assert ids(call(client, "get", "/residents")) == {world.resident_a.pk}
    assert ids(call(client, "get", f"/residents?place={world.grid_a.pk}")) == {world.resident_a.pk}
    assert ids(call(client, "get", "/residents?q=李")) == set()
    assert ids(call(client, "get", "/residents?category=dialysis")) == set()


def test_a_grid_worker_browses_the_tree_from_their_grid(world, login):
    client = login(world.grid_worker_a)
    roots = call(client, "get", "/places").json()["items"]
    assert [r["id"] for r in roots] == [world.grid_a.pk]
    assert roots[0]["child_count"] == 1
    covered = call(client, "get", f"/places/{world.grid_a.pk}/children")
    assert ids(covered) == {world.building_a.pk}
    assert ids(call(client, "get", f"/places?parent={world.grid_a.pk}")) == {world.building_a.pk}
    detail = call(client, "get", f"/places/{world.building_a.pk}").json()
    assert detail["grid"]["id"] == world.grid_a.pk
    assert [a["name"] for a in detail["ancestors"]] == ["崇川区", "和平桥街道", "紫东社区", "紫东花苑"]
    assert detail["path_names"][-1] == "1幢"


def test_a_grid_worker_cannot_browse_the_community_above_their_grid(world, login):
    client = login(world.grid_worker_a)
    assert call(client, "get", f"/places/{world.community.pk}").status_code == 404
    assert call(client, "get", f"/places/{world.compound.pk}/children").status_code == 404


def test_a_grid_worker_may_not_set_zones(world, login):
    body = {"status": "sealed", "start_date": "2022-04-01", "reason": "发现阳性"}
    response = call(login(world.grid_worker_a), "post", f"/places/{world.building_a.pk}/zones", body)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not ZonePeriod.objects.exists()


# ---- scope: a community worker sees both grids, not the other community -------------------------


def test_a_community_worker_lists_both_grids_but_not_the_other_community(world, login):
    client = login(world.community_worker)
    assert ids(call(client, "get", "/residents")) == {world.resident_a.pk, world.resident_b.pk}
    roots = call(client, "get", "/places").json()["items"]
    assert [r["id"] for r in roots] == [world.community.pk]
    children = ids(call(client, "get", f"/places/{world.community.pk}/children"))
    assert children == {world.grid_a.pk, world.grid_b.pk, world.compound.pk}
    assert ids(call(client, "get", f"/places/{world.compound.pk}/children")) == {
        world.building_a.pk,
        world.building_b.pk,
    }


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", lambda w: f"/places/{w.other_community.pk}", None),
        ("get", lambda w: f"/places/{w.other_community.pk}/children", None),
        ("get", lambda w: f"/places/{w.other_community.pk}/zones", None),
        (
            "post",
            lambda w: f"/places/{w.other_community.pk}/zones",
            {"status": "sealed", "start_date": "2022-04-01", "reason": "x"},
        ),
        ("get", lambda w: f"/places?parent={w.other_community.pk}", None),
        ("get", lambda w: f"/residents?place={w.other_community.pk}", None),
        ("get", lambda w: f"/residents/{w.resident_other.pk}", None),
        ("post", lambda w: f"/residents/{w.resident_other.pk}/unmask", None),
        ("patch", lambda w: f"/residents/{w.resident_other.pk}", {"version": 1, "note": "改"}),
    ],
)
def test_a_community_worker_gets_404_for_the_other_community(world, login, method, url, body):
    response = call(login(world.community_worker), method, url(world), body)
    assert response.status_code == 404
    assert "赵敏" not in response.content.decode()


def test_a_community_worker_reads_residents_of_both_grids(world, login):
    client = login(world.community_worker)
    for resident in (world.resident_a, world.resident_b):
        assert call(client, "get", f"/residents/{resident.pk}").status_code == 200


# ---- the auditor sees places but no residents ----------------------------------------------------

AUDITOR_REFUSED = [
    ("get", lambda w: "/residents", None),
    ("get", lambda w: f"/residents?place={w.community.pk}", None),
    ("get", lambda w: f"/residents/{w.resident_a.pk}", None),
    ("post", lambda w: f"/residents/{w.resident_a.pk}/unmask", None),
    ("post", lambda w: "/residents", new_resident_body),
    ("patch", lambda w: f"/residents/{w.resident_a.pk}", {"version": 1, "note": "改"}),
    (
        "post",
        lambda w: f"/places/{w.community.pk}/zones",
        {"status": "sealed", "start_date": "2022-04-01", "reason": "x"},
    ),
]


@pytest.mark.parametrize(("method", "url", "body"), AUDITOR_REFUSED)
def test_an_auditor_gets_403_on_residents(world, login, method, url, body):
    body = body(world) if callable(body) else body
    response = call(login(world.auditor), method, url(world), body)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "王秀英" not in response.content.decode()


def test_an_auditor_may_browse_places(world, login):
    assert call(login(world.auditor), "get", f"/places/{world.community.pk}").status_code == 200


def test_a_hotline_operator_may_read_but_not_edit_residents(world, login):
    client = login(world.hotline_operator)
    assert ids(call(client, "get", "/residents")) == {
        world.resident_a.pk,
        world.resident_b.pk,
        world.resident_other.pk,
    }
    response = call(client, "patch", f"/residents/{world.resident_a.pk}", {"version": 1, "note": "改"})
    assert response.status_code == 403


# ---- masking and unmasking -----------------------------------------------------------------------


def test_lists_show_identity_and_phone_numbers_masked(world, login):
    response = call(login(world.district_admin), "get", "/residents")
    text = response.content.decode()
    for resident in (world.resident_a, world.resident_b, world.resident_other):
        assert resident.id_number not in text
        assert resident.phone not in text
    item = next(i for i in response.json()["items"] if i["id"] == world.resident_a.pk)
    assert item["id_number_masked"] == world.resident_a.id_number[:4] + "*" * 10 + world.resident_a.id_number[-4:]
    assert item["phone_masked"] == "138****5678"
    assert "id_number" not in item and "phone" not in item


def test_the_detail_is_masked_too(world, login):
    body = call(login(world.grid_worker_a), "get", f"/residents/{world.resident_a.pk}").json()
    assert body["id_number_masked"].count("*") == 10
    assert body["phone_masked"] == "138****5678"
    assert world.resident_a.id_number not in json.dumps(body)
    assert body["categories"][0]["code"] == "elderly_alone"
    assert body["address"] == "紫东花苑1幢1单元101室"
    assert body["grid"]["id"] == world.grid_a.pk


def test_unmasking_shows_the_numbers_and_is_audited(world, login):
    response = call(login(world.grid_worker_a), "post", f"/residents/{world.resident_a.pk}/unmask")
    assert response.status_code == 200
    assert response.json()["id_number"] == world.resident_a.id_number
    assert response.json()["phone"] == "13812345678"
    event = AuditEvent.objects.get(action="resident.unmask")
    assert event.actor == world.grid_worker_a
    assert event.object_id == str(world.resident_a.pk)


def test_unmasking_with_a_token_is_audited_against_the_tokens_user(world):
    _token, key = api_token_create(actor="test", user=world.hotline_operator, name="热线")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert call(client, "post", f"/residents/{world.resident_other.pk}/unmask").status_code == 200
    assert AuditEvent.objects.get(action="resident.unmask").actor == world.hotline_operator


def test_unmask_needs_a_post(world, login):
    response = call(login(world.grid_worker_a), "get", f"/residents/{world.resident_a.pk}/unmask")
    assert response.status_code == 405
    assert not AuditEvent.objects.filter(action="resident.unmask").exists()


# ---- list filters, pagination, counting, queries -------------------------------------------------


def test_residents_filter_by_category_zone_text_and_priority(world, login):
    client = login(world.community_worker)
    assert ids(call(client, "get", "/residents?category=dialysis")) == {world.resident_b.pk}
    assert ids(call(client, "get", "/residents?q=王")) == {world.resident_a.pk}
    assert ids(call(client, "get", "/residents?q=5678")) == {world.resident_a.pk}
    assert ids(call(client, "get", "/residents?priority=true")) == {world.resident_a.pk, world.resident_b.pk}
    zone_set(
        actor=world.district_admin,
        place=world.building_b,
        status=ZoneStatus.SEALED,
        start_date=timezone.localdate(),
        reason="封控",
    )
    sealed = call(client, "get", "/residents?zone=sealed").json()["items"]
    assert [i["id"] for i in sealed] == [world.resident_b.pk]
    assert sealed[0]["zone"]["status"] == "sealed"
    assert sealed[0]["zone"]["set_on"] == world.building_b.pk


def test_an_unknown_category_code_is_a_422_naming_the_field(world, login):
    response = call(login(world.community_worker), "get", "/residents?category=nosuch")
    assert response.status_code == 422
    assert "nosuch" in response.json()["fields"]["category"]


def test_page_size_is_capped_at_200_with_a_chinese_message(world, login):
    response = call(login(world.community_worker), "get", "/residents?page_size=500")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["page_size"] == "每页条数不能大于200"


def test_a_bad_zone_value_lists_the_choices(world, login):
    response = call(login(world.community_worker), "get", "/residents?zone=red")
    assert response.status_code == 422
    assert "sealed" in response.json()["fields"]["zone"]


def _add_residents(world, household, count: int) -> None:
    alone = Category.objects.get(code="elderly_alone")
    for n in range(count):
        resident_create(
            actor="test",
            data=ResidentData(
                id_number=make_id("320602", "19300101", f"{500 + n:03d}"),
                name=f"测试{n}",
                household=household,
                phone=f"1390000{n:04d}",
                categories=[CategoryEntry(alone)],
            ),
        )


def test_pages_follow_ledger_order_and_say_whether_more_follow(world, login):
    _add_residents(world, world.household_a, 4)
    client = login(world.grid_worker_a)
    first = call(client, "get", "/residents?page_size=2").json()
    second = call(client, "get", "/residents?page_size=2&page=2").json()
    third = call(client, "get", "/residents?page_size=2&page=3").json()
    assert first["has_next"] and second["has_next"] and not third["has_next"]
    seen = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen)  # same household: ledger order falls back to id


def test_the_total_is_counted_only_on_request(world, login):
    client = login(world.community_worker)
    with CaptureQueriesContext(connection) as queries:
        plain = call(client, "get", "/residents").json()
    assert plain["total"] is None
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert call(client, "get", "/residents?count=true").json()["total"] == 2


def test_the_list_takes_the_same_number_of_queries_for_one_resident_or_many(world, login):
    zone_set(
        actor=world.district_admin,
        place=world.compound,
        status="controlled",
        start_date=dt.date(2022, 1, 1),
        reason="x",
    )
    client = login(world.grid_worker_a)
    with CaptureQueriesContext(connection) as few:
        assert len(call(client, "get", "/residents").json()["items"]) == 1
    _add_residents(world, world.household_a, 6)
    with CaptureQueriesContext(connection) as many:
        body = call(client, "get", "/residents").json()
    assert len(body["items"]) == 7
    assert len(many.captured_queries) == len(few.captured_queries)
    assert {i["zone"]["status"] for i in body["items"]} == {"controlled"}
    assert all(i["address"] == "紫东花苑1幢1单元101室" for i in body["items"])


# ---- create and update ---------------------------------------------------------------------------


def test_a_grid_worker_adds_a_resident_in_their_grid(world, login):
    response = call(login(world.grid_worker_a), "post", "/residents", new_resident_body(world))
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "陈桂兰"
    assert body["gender"] == "F"
    assert body["birth_date"] == "1940-05-05"
    assert body["phone_masked"] == "136****1111"
    assert [c["code"] for c in body["categories"]] == ["elderly_alone"]
    resident = Resident.objects.get(pk=body["id"])
    assert resident.grid_path == world.grid_a.path
    assert AuditEvent.objects.filter(action="resident.create", object_id=str(resident.pk)).exists()


def test_an_invalid_id_number_is_a_422_in_chinese_naming_the_field(world, login):
    body = new_resident_body(world, id_number="320602194005054560")
    response = call(login(world.grid_worker_a), "post", "/residents", body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "invalid"
    assert "身份证" in payload["fields"]["id_number"]
    assert payload["message"]


def test_an_empty_name_is_refused_in_chinese(world, login):
    response = call(login(world.grid_worker_a), "post", "/residents", new_resident_body(world, name="  "))
    assert response.status_code == 422
    assert response.json()["fields"]["name"] == "姓名不能为空"


def test_a_missing_field_is_a_422_in_the_same_shape(world, login):
    body = new_resident_body(world)
    del body["name"]
    body["household"] = "一号"
    response = call(login(world.grid_worker_a), "post", "/residents", body)
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert fields["name"] == "姓名为必填项"
    assert fields["household"] == "住户应为整数"


def test_a_bad_category_entry_names_its_position(world, login):
    body = new_resident_body(world, categories=[{"code": "dibao"}, {"since": "2022-13-01"}])
    fields = call(login(world.grid_worker_a), "post", "/residents", body).json()["fields"]
    assert fields["categories.1.code"] == "人员类别第2项的代码为必填项"
    assert "日期" in fields["categories.1.since"]


def test_an_unknown_category_is_refused(world, login):
    body = new_resident_body(world, categories=[{"code": "unicorn"}])
    response = call(login(world.grid_worker_a), "post", "/residents", body)
    assert response.status_code == 422
    assert "unicorn" in response.json()["fields"]["categories"]


def test_a_duplicate_id_number_is_refused(world, login):
    body = new_resident_body(world, id_number=world.resident_a.id_number)
    response = call(login(world.grid_worker_a), "post", "/residents", body)
    assert response.status_code == 422
    assert "已在台账中" in response.json()["fields"]["id_number"]


def test_an_invalid_phone_is_kept_with_a_warning(world, login):
    response = call(login(world.grid_worker_a), "post", "/residents", new_resident_body(world, phone="12345"))
    assert response.status_code == 201
    assert [w["field"] for w in response.json()["warnings"]] == ["phone"]
    assert response.json()["phone_valid"] is False


def test_a_malformed_json_body_is_a_400_json(world, login):
    response = login(world.grid_worker_a).post(f"{API}/residents", data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_control_characters_are_refused(world, login):
    response = call(login(world.grid_worker_a), "post", "/residents", new_resident_body(world, name="陈\x00桂兰"))
    assert response.status_code == 422
    assert "控制字符" in response.json()["fields"]["name"]


def test_an_update_changes_only_the_fields_given(world, login):
    client = login(world.grid_worker_a)
    response = call(client, "patch", f"/residents/{world.resident_a.pk}", {"version": 1, "note": "需送药"})
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2
    assert body["note"] == "需送药"
    resident = Resident.objects.get(pk=world.resident_a.pk)
    assert (resident.name, resident.phone, resident.note) == ("王秀英", "13812345678", "需送药")
    assert resident.category_links.count() == 1
    event = AuditEvent.objects.get(action="resident.update")
    assert event.changes["note"] == ["", "需送药"]


def test_an_update_may_replace_the_categories(world, login):
    client = login(world.grid_worker_a)
    body = {"version": 1, "categories": [{"code": "dibao"}, {"code": "dialysis"}]}
    response = call(client, "patch", f"/residents/{world.resident_a.pk}", body)
    assert sorted(c["code"] for c in response.json()["categories"]) == ["dialysis", "dibao"]


def test_a_stale_version_is_a_409_and_changes_nothing(world, login):
    client = login(world.grid_worker_a)
    assert call(client, "patch", f"/residents/{world.resident_a.pk}", {"version": 1, "note": "先"}).status_code == 200
    response = call(client, "patch", f"/residents/{world.resident_a.pk}", {"version": 1, "note": "后"})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "他人修改" in response.json()["message"]
    assert Resident.objects.get(pk=world.resident_a.pk).note == "先"


def test_an_update_with_a_bad_value_is_a_422_and_keeps_the_version(world, login):
    client = login(world.grid_worker_a)
    response = call(client, "patch", f"/residents/{world.resident_a.pk}", {"version": 1, "name": ""})
    assert response.status_code == 422
    assert response.json()["fields"]["name"] == "姓名不能为空"
    assert Resident.objects.get(pk=world.resident_a.pk).version == 1


def test_an_update_needs_the_version(world, login):
    response = call(login(world.grid_worker_a), "patch", f"/residents/{world.resident_a.pk}", {"note": "x"})
    assert response.status_code == 422
    assert response.json()["fields"]["version"] == "版本号为必填项"


# ---- places and zones ----------------------------------------------------------------------------


def test_place_lists_carry_path_grid_children_and_todays_zone(world, login):
    zone_set(
        actor=world.district_admin,
        place=world.community,
        status=ZoneStatus.CONTROLLED,
        start_date=timezone.localdate() - dt.timedelta(days=1),
        reason="管控",
    )
    client = login(world.community_worker)
    items = call(client, "get", f"/places?parent={world.compound.pk}").json()["items"]
    first = items[0]
    assert first["name"] == "1幢"
    assert first["path_names"] == ["崇川区", "和平桥街道", "紫东社区", "紫东花苑", "1幢"]
    assert first["grid"] == {"id": world.grid_a.pk, "kind": "grid", "name": "第一网格"}
    assert first["child_count"] == 1
    assert first["zone"]["status"] == "controlled"
    assert first["zone"]["set_on"] == world.community.pk


def test_children_sort_numbered_names_naturally(world, login):
    for name in ("10幢", "3幢"):
        place_create(actor="test", parent=world.compound, kind=PlaceKind.BUILDING, name=name)
    items = call(login(world.community_worker), "get", f"/places/{world.compound.pk}/children").json()["items"]
    assert [i["name"] for i in items] == ["1幢", "2幢", "3幢", "10幢"]


def test_a_community_worker_sets_a_zone_and_it_shows_in_the_history(world, login):
    client = login(world.community_worker)
    body = {"status": "sealed", "start_date": "2022-04-01", "reason": "发现阳性病例"}
    response = call(client, "post", f"/places/{world.building_a.pk}/zones", body)
    assert response.status_code == 201
    assert response.json()["status"] == "sealed"
    assert response.json()["set_by"] == "社区张"
    assert AuditEvent.objects.filter(action="zone.set", object_id=str(world.building_a.pk)).exists()
    history = call(client, "get", f"/places/{world.household_a.pk}/zones").json()["items"]
    assert [(h["place"]["id"], h["inherited"]) for h in history] == [(world.building_a.pk, True)]
    own = call(client, "get", f"/places/{world.household_a.pk}/zones?inherited=false").json()["items"]
    assert own == []


def test_a_zone_without_a_reason_is_refused_in_chinese(world, login):
    body = {"status": "sealed", "start_date": "2022-04-01", "reason": " "}
    response = call(login(world.community_worker), "post", f"/places/{world.building_a.pk}/zones", body)
    assert response.status_code == 422
    assert response.json()["fields"]["reason"] == "请填写调整原因"


def test_a_zone_ending_before_it_starts_is_refused(world, login):
    body = {"status": "sealed", "start_date": "2022-04-05", "end_date": "2022-04-01", "reason": "封控"}
    response = call(login(world.community_worker), "post", f"/places/{world.building_a.pk}/zones", body)
    assert response.status_code == 422
    assert "截止日期" in response.json()["fields"]["end_date"]


def test_an_unknown_zone_status_lists_the_choices(world, login):
    body = {"status": "red", "start_date": "2022-04-05", "reason": "封控"}
    response = call(login(world.community_worker), "post", f"/places/{world.building_a.pk}/zones", body)
    assert response.status_code == 422
    assert response.json()["fields"]["status"].startswith("区域状态的取值无效")


# ---- categories ----------------------------------------------------------------------------------


def test_categories_are_listed_with_synonyms(world, login):
    body = call(login(world.auditor), "get", "/categories").json()
    by_code = {c["code"]: c for c in body}
    assert by_code["dialysis"]["name"] == "血透"
    assert "透析" in by_code["dialysis"]["synonyms"]
    assert len(body) == Category.objects.filter(is_active=True).count()


# ---- the apitoken command ------------------------------------------------------------------------


def test_the_apitoken_command_creates_lists_and_revokes(world):
    out, err = io.StringIO(), io.StringIO()
    call_command("apitoken", "create", "grid_a", "--name", "网格通", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert key.startswith("cg_")
    assert "只显示这一次" in err.getvalue()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert ids(call(client, "get", "/residents")) == {world.resident_a.pk}
    listing = io.StringIO()
    call_command("apitoken", "list", "grid_a", stdout=listing)
    assert "网格通" in listing.getvalue()
    assert key not in listing.getvalue()
    token = ApiToken.objects.get(name="网格通")
    call_command("apitoken", "revoke", str(token.pk), stdout=io.StringIO())
    assert call(client, "get", "/residents").status_code == 401
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()
