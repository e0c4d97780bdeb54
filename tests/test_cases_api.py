"""The help-request API under /api/v1/: scope on every endpoint, masking, intake from the API and from grid
workers' phones, the workflow actions with their version check, errands, and the triage suggestion."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from caregrid.accounts.actions import api_token_create
from caregrid.accounts.models import AuditEvent
from caregrid.cases.actions import IntakeData, case_create, case_dispatch
from caregrid.cases.models import CaseTask, Channel, HelpRequest, Status, TaskStatus, TriageCorrection
from caregrid.cases.taxonomy import CaseCategory, Urgency

pytestmark = pytest.mark.django_db

API = "/api/v1"


def call(client, method: str, url: str, body=None, **extra):
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"{API}{url}", **kwargs, **extra)


def ids(response) -> set[int]:
    return {item["id"] for item in response.json()["items"]}


def log(world, household, description: str, **fields) -> HelpRequest:
    return case_create(
        actor=world.hotline_operator,
        data=IntakeData(channel=Channel.HOTLINE, description=description, place=household, **fields),
    )


@pytest.fixture
def cases(world):
    """One request in each grid of 紫东社区 and one in the other community."""
    a = log(world, world.household_a, "老人降压药吃完了，需要代购", caller_phone="13812345678", caller_name="王秀英",
            category="medicine", urgency="high")  # fmt: skip
    b = log(world, world.household_b, "家里没有菜了，需要配送生活物资", caller_phone="13987654321",
            category="supplies", urgency="normal")  # fmt: skip
    other = log(world, world.household_other, "咨询封控期间的出行政策", caller_phone="0513-85123456",
                category="policy", urgency="normal")  # fmt: skip
    return a, b, other


# ---- scope -------------------------------------------------------------------------------------


def test_a_grid_worker_lists_only_grid_a_requests(world, cases, login):
    a, _b, _other = cases
    response = call(login(world.grid_worker_a), "get", "/cases?status=all")
    assert response.status_code == 200
    assert ids(response) == {a.pk}


def test_a_community_worker_lists_both_grids_but_not_the_other_community(world, cases, login):
    a, b, _other = cases
    assert ids(call(login(world.community_worker), "get", "/cases")) == {a.pk, b.pk}


def test_the_hotline_operator_lists_the_whole_district(world, cases, login):
    assert ids(call(login(world.hotline_operator), "get", "/cases")) == {c.pk for c in cases}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/cases/{b}", None),
        ("post", "/cases/{b}/actions/note", {"version": 1, "note": "看一下"}),
        ("post", "/cases/{b}/actions/acknowledge", {"version": 1}),
        ("post", "/cases/{b}/actions/resolve", {"version": 1, "outcome": "已送达"}),
        ("post", "/cases/{b}/tasks", {"version": 1, "kind": "deliver_supplies", "assignee": "grid_a"}),
    ],
)
def test_a_grid_worker_gets_404_for_anything_of_grid_b(world, cases, login, method, url, body):
    _a, b, _other = cases
    response = call(login(world.grid_worker_a), method, url.format(b=b.pk), body)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    b.refresh_from_db()
    assert b.version == 1


def test_a_missing_request_reads_the_same_as_one_out_of_scope(world, cases, login):
    client = login(world.grid_worker_a)
    assert call(client, "get", "/cases/999999").json() == call(client, "get", f"/cases/{cases[1].pk}").json()


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/cases", None),
        ("get", "/cases/{a}", None),
        ("get", "/cases/triage?text=没药了", None),
        ("post", "/cases", {"description": "没药了"}),
        ("get", "/tasks", None),
    ],
)
def test_an_auditor_gets_403_on_requests(world, cases, login, method, url, body):
    response = call(login(world.auditor), method, url.format(a=cases[0].pk), body)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_a_place_filter_outside_the_scope_is_a_404(world, cases, login):
    response = call(login(world.grid_worker_a), "get", f"/cases?place={world.grid_b.pk}")
    assert response.status_code == 404


def test_an_anonymous_caller_gets_401(world, cases, client):
    assert call(client, "get", "/cases").status_code == 401


def test_a_token_reads_requests_as_its_user(world, cases):
    _token, key = api_token_create(actor="test", user=world.grid_worker_b, name="手机")
    response = call(Client(), "get", "/cases", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert ids(response) == {cases[1].pk}


# ---- lists and detail ----------------------------------------------------------------------------


def test_lists_show_the_callers_phone_masked(world, cases, login):
    response = call(login(world.hotline_operator), "get", f"/cases?q={cases[0].number}")
    (item,) = response.json()["items"]
    assert item["caller_phone_masked"] == "138****5678"
    assert "13812345678" not in response.content.decode()
    assert item["address"] == "紫东花苑1幢1单元101室"
    assert item["clock"]["what"] == "first_contact"
    assert item["category_label"] == "购药"


def test_the_list_filters_by_category_urgency_channel_status_and_phone_tail(world, cases, login):
    a, b, other = cases
    client = login(world.hotline_operator)
    assert ids(call(client, "get", "/cases?category=supplies")) == {b.pk}
    assert ids(call(client, "get", "/cases?urgency=high")) == {a.pk}
    assert ids(call(client, "get", "/cases?channel=hotline")) == {a.pk, b.pk, other.pk}
    assert ids(call(client, "get", "/cases?channel=api")) == set()
    assert ids(call(client, "get", "/cases?q=4321")) == {b.pk}
    assert ids(call(client, "get", f"/cases?place={world.grid_a.pk}")) == {a.pk}
    assert ids(call(client, "get", "/cases?status=unacknowledged")) == set()


def test_an_unknown_status_is_a_422_naming_it_in_chinese(world, cases, login):
    response = call(login(world.hotline_operator), "get", "/cases?status=lost")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["status"].startswith("工单状态“lost”无效")


def test_the_total_is_counted_only_on_request(world, cases, login):
    client = login(world.hotline_operator)
    assert call(client, "get", "/cases").json()["total"] is None
    page = call(client, "get", "/cases?count=true&page_size=2").json()
    assert page["total"] == 3
    assert page["has_next"] is True
    assert len(page["items"]) == 2


def test_the_list_takes_the_same_number_of_queries_for_one_request_or_many(world, cases, login):
    client = login(world.hotline_operator)
    call(client, "get", "/cases")  # warm the session and role caches
    with CaptureQueriesContext(connection) as one:
        call(client, "get", "/cases?category=medicine")
    for i in range(5):
        log(world, world.household_a, f"第{i}次来电要买药", category="medicine", urgency="normal")
    with CaptureQueriesContext(connection) as many:
        response = call(client, "get", "/cases?category=medicine")
    assert len(response.json()["items"]) == 6
    assert len(many) == len(one)


def test_the_detail_carries_the_timeline_and_the_errands(world, cases, login):
    a = cases[0]
    client = login(world.hotline_operator)
    call(client, "post", f"/cases/{a.pk}/tasks", {"version": 1, "kind": "buy_medicine", "assignee": "grid_a"})
    detail = call(client, "get", f"/cases/{a.pk}").json()
    assert [e["kind"] for e in detail["events"]] == ["created", "task_added"]
    assert detail["events"][0]["actor"] == str(world.hotline_operator)
    (task,) = detail["tasks"]
    assert task["assignee"]["username"] == "grid_a"
    assert task["request"] == {"id": a.pk, "number": a.number}
    assert detail["caller_phone_masked"] == "138****5678"
    assert detail["path_names"][-1] == "101"
    assert detail["grid"]["id"] == world.grid_a.pk
    assert detail["status"] == Status.IN_PROGRESS


# ---- intake ------------------------------------------------------------------------------------


def test_an_api_client_logs_a_request_and_the_classifier_fills_category_and_urgency(world, login):
    response = call(
        login(world.hotline_operator),
        "post",
        "/cases",
        {"description": "紫东花苑1幢1单元101的王阿姨胰岛素快用完了", "caller_phone": "13812345678"},
    )
    assert response.status_code == 201
    body = response.json()
    case = HelpRequest.objects.get(pk=body["id"])  # committed before the answer
    assert case.channel == Channel.API
    assert case.category == case.suggested_category in CaseCategory.values
    assert case.urgency in Urgency.values
    assert body["category"] == case.category
    assert case.place_id == world.household_a.pk
    assert (body["number"], body["tracking_code"]) == (case.number, case.tracking_code)
    assert body["suggestion"]["category"] == case.suggested_category
    assert body["address"] == "紫东花苑1幢1单元101室"
    assert body["caller_phone_masked"] == "138****5678"
    assert case.events.get().kind == "created"
    assert AuditEvent.objects.filter(action="case.create", object_id=str(case.pk)).exists()


def test_a_grid_worker_reports_from_their_phone_into_their_own_grid(world, login):
    client = login(world.grid_worker_a)
    body = {"description": "独居老人家里停水两天了", "address_text": "紫东花苑1幢1单元101"}
    response = call(client, "post", "/cases", body)
    assert response.status_code == 201
    case = HelpRequest.objects.get(pk=response.json()["id"])
    assert case.channel == Channel.GRID_REPORT
    assert case.place_id == world.household_a.pk
    assert ids(call(client, "get", "/cases")) == {case.pk}


def test_a_grid_workers_report_of_an_address_elsewhere_stays_in_their_view(world, login):
    client = login(world.grid_worker_a)
    response = call(client, "post", "/cases", {"description": "楼道灯坏了", "address_text": "紫东花苑2幢1单元202"})
    assert response.status_code == 201
    case = HelpRequest.objects.get(pk=response.json()["id"])
    assert case.place_id == world.grid_a.pk
    assert ids(call(client, "get", "/cases")) == {case.pk}
    assert ids(call(login(world.grid_worker_b), "get", "/cases")) == set()


def test_a_request_for_a_resident_goes_to_their_household(world, login):
    response = call(
        login(world.hotline_operator),
        "post",
        "/cases",
        {"description": "需要买菜", "resident": world.resident_b.pk, "category": "supplies", "urgency": "high"},
    )
    body = response.json()
    assert body["place"]["id"] == world.household_b.pk
    assert HelpRequest.objects.get(pk=body["id"]).resident_id == world.resident_b.pk
    assert (body["category"], body["urgency"]) == ("supplies", "high")


def test_a_place_outside_the_scope_is_refused_naming_the_field(world, login):
    response = call(
        login(world.grid_worker_a), "post", "/cases", {"description": "需要买药", "place": world.household_b.pk}
    )
    assert response.status_code == 422
    assert "管辖范围" in response.json()["fields"]["place"]
    assert not HelpRequest.objects.exists()


def test_an_empty_description_is_a_400_naming_the_field(world, login):
    response = call(login(world.hotline_operator), "post", "/cases", {"description": "   "})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "required"
    assert body["fields"] == {"description": "请填写诉求内容"}


def test_an_unknown_category_is_a_400_in_chinese(world, login):
    response = call(login(world.hotline_operator), "post", "/cases", {"description": "要买药", "category": "magic"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_category"
    assert response.json()["fields"]["category"] == "诉求类别“magic”不存在"


def test_an_over_long_description_is_a_422_naming_the_field(world, login):
    response = call(login(world.hotline_operator), "post", "/cases", {"description": "药" * 2001})
    assert response.status_code == 422
    assert response.json()["fields"]["description"] == "诉求内容不能超过2000个字符"


def test_a_missing_description_is_a_422(world, login):
    response = call(login(world.hotline_operator), "post", "/cases", {"caller_phone": "13812345678"})
    assert response.status_code == 422
    assert response.json()["fields"]["description"] == "诉求内容为必填项"


def test_the_public_channels_cannot_be_claimed_through_the_api(world, login):
    response = call(login(world.hotline_operator), "post", "/cases", {"description": "要买药", "channel": "open311"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_channel"


def test_sending_the_same_external_id_again_returns_the_request_already_made(world, login):
    client = login(world.hotline_operator)
    body = {"description": "12345转来：老人要买药", "channel": "referral_12345", "external_id": "GD2022041000123"}
    first = call(client, "post", "/cases", body)
    again = call(client, "post", "/cases", body)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert HelpRequest.objects.filter(external_id="GD2022041000123").count() == 1


def test_an_external_id_already_made_out_of_scope_is_a_409_without_details(world, login):
    call(
        login(world.hotline_operator),
        "post",
        "/cases",
        {"description": "要买药", "place": world.household_b.pk, "external_id": "X-1", "channel": "grid_report"},
    )
    response = call(login(world.grid_worker_a), "post", "/cases", {"description": "要买药", "external_id": "X-1"})
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_external_id"
    assert "202" not in response.content.decode()


def test_markup_in_a_description_is_kept_as_text(world, login):
    response = call(login(world.hotline_operator), "post", "/cases", {"description": "<script>alert(1)</script>买药"})
    assert response.status_code == 201
    assert response.json()["summary"] == "<script>alert(1)</script>买药"
    assert HelpRequest.objects.get().description == "<script>alert(1)</script>买药"


# ---- workflow ----------------------------------------------------------------------------------


def test_answered_on_the_spot_closes_the_clock(world, cases, login):
    a = cases[0]
    response = call(
        login(world.hotline_operator), "post", f"/cases/{a.pk}/actions/answer", {"version": 1, "outcome": "已告知药店"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["disposition"], body["clock"]) == ("answered", "answered", None)
    assert body["version"] == 2
    assert body["events"][-1]["kind"] == "answered"


def test_a_stale_version_is_a_409_and_changes_nothing(world, cases, login):
    a = cases[0]
    client = login(world.hotline_operator)
    call(client, "post", f"/cases/{a.pk}/actions/note", {"version": 1, "note": "已联系家属"})
    response = call(client, "post", f"/cases/{a.pk}/actions/answer", {"version": 1, "outcome": "已答复"})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    a.refresh_from_db()
    assert (a.status, a.version) == (Status.RECEIVED, 2)


def test_a_step_the_status_does_not_allow_is_a_400_naming_the_status(world, cases, login):
    a = cases[0]
    response = call(login(world.hotline_operator), "post", f"/cases/{a.pk}/actions/acknowledge", {"version": 1})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_status"
    assert body["fields"]["status"] == "工单当前状态为“已受理”，无需签收"


def test_dispatch_acknowledge_contact_resolve_and_close(world, cases, login):
    a = cases[0]
    operator, grid_worker = login(world.hotline_operator), Client()
    grid_worker.force_login(world.grid_worker_a)
    body = call(operator, "post", f"/cases/{a.pk}/actions/dispatch", {"version": 1, "place": world.grid_a.pk}).json()
    assert (body["status"], body["assigned_place"]["id"]) == ("dispatched", world.grid_a.pk)
    assert ids(call(grid_worker, "get", f"/cases?assigned_to={world.grid_a.pk}&status=unacknowledged")) == {a.pk}
    body = call(grid_worker, "post", f"/cases/{a.pk}/actions/acknowledge", {"version": 2}).json()
    assert body["status"] == "in_progress"
    body = call(grid_worker, "post", f"/cases/{a.pk}/actions/contact", {"version": 3, "note": "电话联系上了"}).json()
    assert body["first_contact_at"] is not None
    assert body["clock"]["what"] == "resolution"
    body = call(grid_worker, "post", f"/cases/{a.pk}/actions/resolve", {"version": 4, "outcome": "药已送到"}).json()
    assert (body["status"], body["outcome"]) == ("resolved", "药已送到")
    response = call(operator, "post", f"/cases/{a.pk}/actions/close", {"version": 5, "satisfaction": "satisfied"})
    assert response.json()["status"] == "closed"
    assert [e["kind"] for e in response.json()["events"]] == [
        "created",
        "dispatched",
        "acknowledged",
        "contacted",
        "resolved",
        "closed",
    ]


def test_a_grid_worker_may_not_dispatch_or_close(world, cases, login):
    a = cases[0]
    client = login(world.grid_worker_a)
    dispatch = call(client, "post", f"/cases/{a.pk}/actions/dispatch", {"version": 1, "place": world.grid_a.pk})
    cancel = call(client, "post", f"/cases/{a.pk}/actions/cancel", {"version": 1, "reason": "重复"})
    assert (dispatch.status_code, cancel.status_code) == (403, 403)


def test_dispatching_outside_the_scope_is_refused(world, cases, login):
    b = cases[1]
    response = call(
        login(world.community_worker),
        "post",
        f"/cases/{b.pk}/actions/dispatch",
        {"version": 1, "place": world.other_community.pk},
    )
    assert response.status_code == 422
    assert "place" in response.json()["fields"]


def test_a_bad_satisfaction_is_a_400_naming_the_field(world, cases, login):
    a = cases[0]
    client = login(world.hotline_operator)
    call(client, "post", f"/cases/{a.pk}/actions/answer", {"version": 1, "outcome": "已答复"})
    response = call(client, "post", f"/cases/{a.pk}/actions/close", {"version": 2, "satisfaction": "happy"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"satisfaction": "请选择回访满意度"}


def test_reopen_and_cancel_need_a_reason(world, cases, login):
    a = cases[0]
    client = login(world.hotline_operator)
    call(client, "post", f"/cases/{a.pk}/actions/answer", {"version": 1, "outcome": "已答复"})
    missing = call(client, "post", f"/cases/{a.pk}/actions/reopen", {"version": 2})
    assert missing.status_code == 422
    assert missing.json()["fields"]["reason"] == "原因为必填项"
    reopened = call(client, "post", f"/cases/{a.pk}/actions/reopen", {"version": 2, "reason": "药店缺货"}).json()
    assert reopened["status"] == "in_progress"
    cancelled = call(client, "post", f"/cases/{a.pk}/actions/cancel", {"version": 3, "reason": "家属已买到"}).json()
    assert cancelled["status"] == "cancelled"


def test_retriage_changes_urgency_and_deadlines_and_keeps_the_correction(world, cases, login):
    a = cases[0]
    before = a.resolution_due
    response = call(
        login(world.hotline_operator), "post", f"/cases/{a.pk}/actions/retriage", {"version": 1, "urgency": "urgent"}
    )
    body = response.json()
    assert (body["category"], body["urgency"]) == ("medicine", "urgent")
    a.refresh_from_db()
    assert a.resolution_due < before
    assert TriageCorrection.objects.filter(request=a, urgency="urgent").exists()


def test_linking_a_duplicate_shares_the_outcome(world, cases, login):
    a = cases[0]
    again = log(world, world.household_a, "还是降压药的事，再打一次", category="medicine", urgency="high")
    client = login(world.hotline_operator)
    linked = call(client, "post", f"/cases/{again.pk}/actions/link", {"version": 1, "primary": a.pk})
    assert linked.json()["duplicate_of"] == {"id": a.pk, "number": a.number}
    call(client, "post", f"/cases/{a.pk}/actions/answer", {"version": 1, "outcome": "已答复"})
    again.refresh_from_db()
    assert again.status == Status.RESOLVED
    assert call(client, "get", f"/cases/{a.pk}").json()["linked"] == [{"id": again.pk, "number": again.number}]


def test_confirming_the_place_moves_the_request_to_that_household(world, login):
    client = login(world.hotline_operator)
    case = case_create(actor=world.hotline_operator, data=IntakeData(channel="hotline", description="没菜了"))
    response = call(
        client, "post", f"/cases/{case.pk}/actions/place", {"version": case.version, "place": world.household_b.pk}
    )
    assert response.json()["place"]["id"] == world.household_b.pk
    assert ids(call(login(world.grid_worker_b), "get", "/cases")) == {case.pk}


# ---- errands -----------------------------------------------------------------------------------


def test_an_errand_goes_to_a_person_who_sees_it_in_their_tasks_and_its_completion_resolves(world, cases, login):
    a = cases[0]
    operator = login(world.hotline_operator)
    response = call(
        operator,
        "post",
        f"/cases/{a.pk}/tasks",
        {"version": 1, "kind": "buy_medicine", "assignee": "grid_a", "detail": "硝苯地平两盒"},
    )
    assert response.status_code == 201
    task_id = response.json()["id"]
    grid_worker = Client()
    grid_worker.force_login(world.grid_worker_a)
    mine = call(grid_worker, "get", "/tasks?mine=true").json()["items"]
    assert [t["id"] for t in mine] == [task_id]
    other = Client()
    other.force_login(world.grid_worker_b)
    assert call(other, "get", "/tasks?mine=true").json()["items"] == []
    assert call(other, "get", "/tasks").json()["items"] == []
    done = call(grid_worker, "post", f"/tasks/{task_id}/done", {"result": "已送到"})
    assert done.json()["status"] == TaskStatus.DONE
    a.refresh_from_db()
    assert a.status == Status.RESOLVED
    assert call(grid_worker, "get", "/tasks?mine=true&status=done").json()["items"][0]["result"] == "已送到"


def test_an_errand_for_someone_who_cannot_see_the_request_is_refused(world, cases, login):
    a = cases[0]
    response = call(
        login(world.hotline_operator),
        "post",
        f"/cases/{a.pk}/tasks",
        {"version": 1, "kind": "buy_medicine", "assignee": "grid_b"},
    )
    assert response.status_code == 422
    assert "assignee" in response.json()["fields"]
    assert not CaseTask.objects.exists()


def test_an_unknown_errand_kind_is_a_400(world, cases, login):
    response = call(
        login(world.hotline_operator),
        "post",
        f"/cases/{cases[0].pk}/tasks",
        {"version": 1, "kind": "fly", "assignee": "grid_a"},
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"kind": "任务类型无效"}


def test_someone_else_cannot_complete_an_errand_out_of_their_scope(world, cases, login):
    a = cases[0]
    call(
        login(world.hotline_operator),
        "post",
        f"/cases/{a.pk}/tasks",
        {"version": 1, "kind": "buy_medicine", "assignee": "grid_a"},
    )
    task = CaseTask.objects.get()
    other = Client()
    other.force_login(world.grid_worker_b)
    assert call(other, "post", f"/tasks/{task.pk}/done", {}).status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


# ---- triage ------------------------------------------------------------------------------------


def test_triage_suggests_without_saving(world, login):
    response = call(login(world.hotline_operator), "get", "/cases/triage?text=紫东花苑1幢1单元101 老人家里没有药了")
    assert response.status_code == 200
    body = response.json()
    assert body["category"] in CaseCategory.values
    assert body["urgency"] in Urgency.values
    assert 0 <= body["confidence"] <= 1
    assert body["address"]["place_id"] == world.household_a.pk
    assert body["address"]["label"].startswith("紫东花苑1幢1单元101")
    assert not HelpRequest.objects.exists()


def test_triage_shows_a_grid_worker_no_address_of_another_grid(world, login):
    body = call(login(world.grid_worker_a), "get", "/cases/triage?text=紫东花苑2幢1单元202 要买菜").json()
    assert all(c["place_id"] != world.household_b.pk for c in body["address"]["candidates"])
    assert body["address"]["place_id"] != world.household_b.pk


def test_triage_warns_of_a_recent_request_from_the_same_phone(world, login):
    client = login(world.hotline_operator)
    text = "老人降压药吃完了"
    suggested = call(client, "get", f"/cases/triage?text={text}").json()["category"]
    earlier = log(world, world.household_a, text, caller_phone="13812345678", category=suggested, urgency="high")
    body = call(client, "get", f"/cases/triage?text={text}&phone=13812345678").json()
    assert [d["id"] for d in body["duplicates"]] == [earlier.pk]
    assert body["duplicates"][0]["caller_phone_masked"] == "138****5678"


def test_triage_needs_a_text(world, login):
    response = call(login(world.hotline_operator), "get", "/cases/triage")
    assert response.status_code == 422
    assert response.json()["fields"]["text"] == "诉求文本为必填项"


def test_a_dispatched_request_shows_in_the_handling_grids_queue(world, cases):
    b = cases[1]
    case_dispatch(actor=world.hotline_operator, case=b, place=world.grid_b)
    _token, key = api_token_create(actor="test", user=world.grid_worker_b, name="手机")
    response = call(Client(), "get", "/cases?status=unacknowledged", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert ids(response) == {b.pk}


def test_the_openapi_document_lists_every_request_endpoint_with_the_error_shape(client):
    schema = client.get(f"{API}/openapi.json").json()
    actions = ("answer", "coordinate", "dispatch", "acknowledge", "contact", "note", "resolve", "close", "reopen",
               "cancel", "retriage", "link", "place")  # fmt: skip
    expected = {
        f"{API}/cases": {"get", "post"},
        f"{API}/cases/triage": {"get"},
        f"{API}/cases/{{case_id}}": {"get"},
        f"{API}/cases/{{case_id}}/tasks": {"post"},
        f"{API}/tasks": {"get"},
        f"{API}/tasks/{{task_id}}/done": {"post"},
        **{f"{API}/cases/{{case_id}}/actions/{a}": {"post"} for a in actions},
    }
    paths = {p: set(ops) for p, ops in schema["paths"].items() if p.startswith((f"{API}/cases", f"{API}/tasks"))}
    assert paths == expected
    for path in expected:
        for operation in schema["paths"][path].values():
            assert {"401", "403", "404", "422"} <= set(operation["responses"]), path
    for action in actions:
        responses = schema["paths"][f"{API}/cases/{{case_id}}/actions/{action}"]["post"]["responses"]
        assert {"400", "409"} <= set(responses)
