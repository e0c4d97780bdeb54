"""Open311 GeoReport v2 at /open311/v2/: the spec's own requests and response shapes in JSON and XML,
errors in the spec's format, public and keyed views of requests, and scope."""

import datetime as dt
import json
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from caregrid.accounts.actions import api_token_create, api_token_revoke
from caregrid.cases import actions
from caregrid.cases.actions import IntakeData
from caregrid.cases.models import Channel, HelpRequest, Status, Subcategory
from caregrid.cases.taxonomy import CaseCategory

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
# GET requests: the fields of the spec's example response, in its order.
REQUEST_KEYS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
MEDICINE_CALL = "我母亲独居，降压药明天就吃完了，小区封控出不去，能不能帮忙买药送上门"


def log_call(world, place, *, description=MEDICINE_CALL, category="medicine", **fields) -> HelpRequest:
    data = IntakeData(
        channel="hotline",
        description=description,
        category=category,
        urgency=fields.pop("urgency", "normal"),
        caller_name=fields.pop("caller_name", "王秀英"),
        caller_phone=fields.pop("caller_phone", "13812345678"),
        place=place,
        **fields,
    )
    return actions.case_create(actor=world.hotline_operator, data=data)


def key_for(user) -> str:
    _token, key = api_token_create(actor="test", user=user, name="Open311")
    return key


def get_json(path, **params):
    response = Client().get(f"{BASE}/{path}", params)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response, response.json()


def get_xml(path, **params):
    response = Client().get(f"{BASE}/{path}", params)
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return response, ET.fromstring(response.content)


def spec_example_post(key: str, **changes) -> dict:
    """The spec's example POST, with our service code, a key of ours and a request in Chinese."""
    body = {
        "api_key": key,
        "jurisdiction_id": "city.gov",
        "service_code": "utilities",
        "lat": "37.76524078",
        "long": "-122.4212043",
        "address_string": "紫东花苑2幢1单元202",
        "email": "smit333@sfgov.edu",
        "device_id": "tt222111",
        "account_id": "123456",
        "first_name": "john",
        "last_name": "smith",
        "phone": "111111111",
        "description": "楼里停水两天了，家里老人没水喝",
        "media_url": "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
        "attribute[WHISPAWN]": "123456",
        "attribute[WHISDORN]": "COISL001",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def post(fmt: str, body: dict, client: Client | None = None):
    return (client or Client()).post(f"{BASE}/requests.{fmt}", body)


def xml_errors(response) -> list[tuple[str, str]]:
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]


# --- services ---


def test_services_json_lists_every_category_with_the_spec_fields(world):
    response, services = get_json("services.json")
    assert response.status_code == 200
    assert [s["service_code"] for s in services] == CaseCategory.values
    for service in services:
        assert set(service) == SERVICE_KEYS
        assert service["metadata"] is False and service["type"] == "realtime"
        assert isinstance(service["keywords"], str) and service["group"]
    medicine = next(s for s in services if s["service_code"] == "medicine")
    assert medicine["service_name"] == "购药" and "慢性病用药" in medicine["description"]
    assert medicine["keywords"].split(", ")[:2] == ["购药", "买药"]


def test_services_xml_follows_the_spec_example(world):
    response, root = get_xml("services.xml")
    assert response.status_code == 200 and root.tag == "services"
    services = root.findall("service")
    assert len(services) == len(CaseCategory.values)
    first = services[0]
    assert {child.tag for child in first} == SERVICE_KEYS
    assert first.findtext("service_code") == "medical" and first.findtext("service_name") == "就医"
    assert first.findtext("metadata") == "false" and first.findtext("type") == "realtime"


def test_an_active_subcategory_is_a_service_grouped_under_its_category(world):
    Subcategory.objects.create(category="medical", code="dialysis", name="血透")
    Subcategory.objects.create(category="medical", code="retired", name="停用的子类", is_active=False)
    _response, services = get_json("services.json")
    codes = [s["service_code"] for s in services]
    assert codes.index("dialysis") == codes.index("medical") + 1 and "retired" not in codes
    dialysis = services[codes.index("dialysis")]
    assert dialysis["service_name"] == "血透" and dialysis["group"] == "就医"
    assert "血透" in services[codes.index("medical")]["keywords"]


def test_service_definition_has_no_attributes_in_either_format(world):
    response, definition = get_json("services/medicine.json")
    assert response.status_code == 200 and definition == {"service_code": "medicine", "attributes": []}
    response, root = get_xml("services/medicine.xml")
    assert root.tag == "service_definition" and root.findtext("service_code") == "medicine"
    assert root.find("attributes") is not None and list(root.find("attributes")) == []


def test_unknown_service_definition_is_a_404_in_the_spec_error_format(world):
    response, body = get_json("services/potholes.json")
    assert response.status_code == 404
    assert body == [{"code": 404, "description": "服务代码“potholes”不存在"}]
    response, _root = get_xml("services/potholes.xml")
    assert response.status_code == 404 and xml_errors(response) == [("404", "服务代码“potholes”不存在")]


# --- POST requests ---


def test_the_spec_example_post_creates_the_request_and_answers_with_its_id(world):
    response = post("json", spec_example_post(key_for(world.hotline_operator)))
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    entry = body[0]
    assert set(entry) == {"service_request_id", "token", "service_notice", "account_id"}
    assert entry["account_id"] is None and entry["service_request_id"] in entry["service_notice"]
    case = HelpRequest.objects.get(number=entry["service_request_id"])
    assert case.tracking_code == entry["token"]
    assert (case.channel, case.category, case.created_by) == (Channel.OPEN311, "utilities", world.hotline_operator)
    assert case.caller_name == "john smith" and case.email == "smit333@sfgov.edu"
    assert case.lat == Decimal("37.765241") and case.long == Decimal("-122.421204")
    assert case.address_text == "紫东花苑2幢1单元202"
    assert "2212426634_5ed477a060.jpg" in case.description and case.description.startswith("楼里停水两天了")
    assert case.source_ip == "127.0.0.1"


def test_post_in_xml_answers_with_service_requests(world):
    response = post("xml", spec_example_post(key_for(world.hotline_operator)))
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert {child.tag for child in request} == {"service_request_id", "token", "service_notice", "account_id"}
    assert request.findtext("account_id") in (None, "")
    assert HelpRequest.objects.filter(number=request.findtext("service_request_id")).exists()


def test_post_names_chinese_callers_family_name_first(world):
    body = spec_example_post(key_for(world.hotline_operator), first_name="秀英", last_name="王")
    assert post("json", body).status_code == 200
    assert HelpRequest.objects.get().caller_name == "王秀英"


def test_post_with_an_address_id_places_the_request_there(world):
    body = spec_example_post(
        key_for(world.hotline_operator), address_id=str(world.household_a.pk), lat=None, long=None, address_string=None
    )
    response = post("json", body)
    assert response.status_code == 200
    case = HelpRequest.objects.get()
    assert case.place == world.household_a and case.grid_path == world.household_a.grid_path


def test_post_with_a_subcategory_code_files_it_under_its_category(world):
    sub = Subcategory.objects.create(category="medical", code="dialysis", name="血透")
    body = spec_example_post(
        key_for(world.hotline_operator), service_code="dialysis", description="明天要做血透，没车去医院"
    )
    assert post("json", body).status_code == 200
    case = HelpRequest.objects.get()
    assert (case.category, case.subcategory) == ("medical", sub)


def test_post_is_a_machine_api_that_needs_no_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    assert post("json", spec_example_post(key_for(world.hotline_operator)), client).status_code == 200


def test_post_without_or_with_a_bad_api_key_is_refused_with_403(world):
    response = post("json", spec_example_post(None))
    assert response.status_code == 403 and response.json()[0]["code"] == 403
    response = post("xml", spec_example_post("cg_not-a-real-key"))
    assert response.status_code == 403 and xml_errors(response) == [("403", "api_key 无效或已被吊销")]
    assert not HelpRequest.objects.exists()


def test_post_with_a_revoked_key_is_refused(world):
    token, key = api_token_create(actor="test", user=world.hotline_operator, name="Open311")
    api_token_revoke(actor="test", token=token)
    assert post("json", spec_example_post(key)).status_code == 403


def test_post_by_a_user_who_may_not_log_requests_is_refused(world):
    response = post("json", spec_example_post(key_for(world.auditor)))
    assert response.status_code == 403
    assert response.json() == [{"code": 403, "description": "该 api_key 的用户无权登记诉求"}]
    assert not HelpRequest.objects.exists()


def test_post_without_a_service_code_is_a_400_and_an_unknown_one_a_404(world):
    key = key_for(world.hotline_operator)
    response = post("json", spec_example_post(key, service_code=None))
    assert response.status_code == 400 and response.json() == [{"code": 400, "description": "缺少参数 service_code"}]
    response = post("json", spec_example_post(key, service_code="potholes"))
    assert response.status_code == 404 and response.json()[0]["description"] == "服务代码“potholes”不存在"
    assert not HelpRequest.objects.exists()


def test_post_lists_every_problem_of_the_request_at_once(world):
    body = spec_example_post(
        key_for(world.hotline_operator), description="", lat=None, long=None, address_string=None, email="not-an-email"
    )
    response = post("json", body)
    assert response.status_code == 400
    descriptions = [e["description"] for e in response.json()]
    assert "请填写诉求内容（description）" in descriptions
    assert "email 不是有效的邮箱地址" in descriptions
    assert "请提供位置：lat 与 long、address_string 或 address_id 三者之一" in descriptions
    assert all(e["code"] == 400 for e in response.json())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"long": None, "address_string": None}, "lat 与 long 须同时提供"),
        ({"lat": "91", "address_string": None}, "lat 须为 -90 到 90 之间的数字"),
        ({"long": "east"}, "long 须为 -180 到 180 之间的数字"),
        ({"address_id": "999999"}, "地址编号 999999 不存在"),
        ({"media_url": "javascript:alert(1)"}, "media_url 须为 http 或 https 网址"),
    ],
)
def test_post_with_bad_fields_is_a_400_saying_which(world, changes, message):
    response = post("xml", spec_example_post(key_for(world.hotline_operator), **changes))
    assert response.status_code == 400 and ("400", message) in xml_errors(response)
    assert not HelpRequest.objects.exists()


def test_a_refusal_of_the_intake_action_is_a_400_with_its_message(world):
    body = spec_example_post(key_for(world.hotline_operator), description="停水" * 1001, media_url=None)
    response = post("json", body)
    assert response.status_code == 400
    assert response.json() == [{"code": 400, "description": "诉求内容不能超过2000个字"}]


def test_markup_in_a_request_comes_back_escaped_in_xml(world):
    key = key_for(world.hotline_operator)
    post("json", spec_example_post(key, description="<b>停水</b> & 断电 </description><x>"))
    response = Client().get(f"{BASE}/requests.xml", {"api_key": key})
    record = ET.fromstring(response.content).find("request")
    assert record.findtext("description").startswith("<b>停水</b> & 断电 </description><x>")


# --- GET requests ---


def test_public_list_follows_the_spec_example_without_anything_personal(world):
    case = log_call(world, world.household_a, address_text="紫东花苑1幢1单元101")
    response, records = get_json("requests.json")
    assert response.status_code == 200 and len(records) == 1
    record = records[0]
    assert list(record) == REQUEST_KEYS
    assert record["service_request_id"] == case.number and record["status"] == "open"
    assert (record["service_code"], record["service_name"]) == ("medicine", "购药")
    assert record["address"] == "紫东花苑1幢" and record["address_id"] == world.building_a.pk
    assert isinstance(record["service_request_id"], str) and isinstance(record["address_id"], int)
    assert record["description"] is None and record["lat"] is None
    text = response.content.decode()
    for private in ("王秀英", "13812345678", "1单元", "101室", "降压药"):
        assert private not in text
    assert record["requested_datetime"] == timezone.localtime(case.received_at).isoformat(timespec="seconds")
    assert record["requested_datetime"].endswith("+08:00")
    assert record["expected_datetime"] == timezone.localtime(case.resolution_due).isoformat(timespec="seconds")


def test_public_list_in_xml_has_one_request_element_per_request(world):
    log_call(world, world.household_a)
    log_call(world, world.household_b, category="supplies", description="家里没有米和油了")
    response, root = get_xml("requests.xml")
    assert root.tag == "service_requests"
    requests = root.findall("request")
    assert len(requests) == 2
    assert [child.tag for child in requests[0]] == REQUEST_KEYS
    assert {r.findtext("service_code") for r in requests} == {"medicine", "supplies"}
    assert requests[0].findtext("description") in (None, "")


def test_closed_statuses_map_to_closed_and_the_outcome_goes_to_keyed_clients(world):
    case = log_call(world, world.household_a)
    actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.community)
    actions.case_resolve(actor=world.community_worker, case=case, outcome="已代购降压药送到家")
    _response, public = get_json("requests.json")
    assert public[0]["status"] == "closed" and public[0]["status_notes"] == "已办结"
    assert public[0]["agency_responsible"] == "紫东社区"
    key = key_for(world.hotline_operator)
    _response, full = get_json("requests.json", api_key=key)
    assert full[0]["status_notes"] == "已代购降压药送到家"
    case.refresh_from_db()
    assert full[0]["updated_datetime"] == timezone.localtime(case.resolved_at).isoformat(timespec="seconds")


def test_open_request_status_notes_tell_our_finer_status(world):
    case = log_call(world, world.household_a)
    actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.community)
    _response, records = get_json("requests.json")
    assert (records[0]["status"], records[0]["status_notes"]) == ("open", "交办处置")


def test_keyed_list_shows_the_full_request(world):
    case = log_call(world, world.household_a, lat=Decimal("32.001234"), long=Decimal("120.864321"))
    _response, records = get_json("requests.json", api_key=key_for(world.hotline_operator))
    record = records[0]
    assert record["description"] == case.description
    assert record["address"] == "紫东花苑1幢1单元101室" and record["address_id"] == world.household_a.pk
    assert (record["lat"], record["long"]) == (32.001234, 120.864321)
    assert "13812345678" not in json.dumps(record, ensure_ascii=False)


def test_keyed_list_is_limited_to_the_key_users_scope(world):
    in_a = log_call(world, world.household_a)
    in_b = log_call(world, world.household_b, category="supplies", description="家里没有米和油了")
    _response, seen_by_a = get_json("requests.json", api_key=key_for(world.grid_worker_a))
    assert [r["service_request_id"] for r in seen_by_a] == [in_a.number]
    _response, seen_by_b = get_json("requests.json", api_key=key_for(world.grid_worker_b))
    assert [r["service_request_id"] for r in seen_by_b] == [in_b.number]
    _response, seen_by_auditor = get_json("requests.json", api_key=key_for(world.auditor))
    assert seen_by_auditor == []
    response, _body = get_json(f"requests/{in_b.number}.json", api_key=key_for(world.grid_worker_a))
    assert response.status_code == 404


def test_get_with_a_bad_api_key_is_refused(world):
    response, body = get_json("requests.json", api_key="cg_wrong")
    assert response.status_code == 403 and body[0]["code"] == 403


def test_service_request_ids_override_every_other_argument(world):
    first = log_call(world, world.household_a)
    second = log_call(world, world.household_b, category="supplies", description="家里没有米和油了")
    log_call(world, world.household_a, category="testing", description="老人行动不便，申请上门核酸采样")
    _response, records = get_json(
        "requests.json", service_request_id=f"{first.number},{second.number}", status="closed", service_code="other"
    )
    assert {r["service_request_id"] for r in records} == {first.number, second.number}


def test_list_filters_by_service_code_status_and_dates(world):
    medicine = log_call(world, world.household_a)
    supplies = log_call(world, world.household_b, category="supplies", description="家里没有米和油了")
    actions.case_answer(actor=world.hotline_operator, case=supplies, note="已告知社区团购电话")
    old = log_call(
        world,
        world.household_a,
        category="testing",
        description="申请上门核酸采样",
        received_at=timezone.now() - dt.timedelta(days=100),
    )
    ids = lambda records: {r["service_request_id"] for r in records}  # noqa: E731
    assert ids(get_json("requests.json", service_code="medicine,supplies")[1]) == {medicine.number, supplies.number}
    assert ids(get_json("requests.json", status="open")[1]) == {medicine.number}
    assert ids(get_json("requests.json", status="closed")[1]) == {supplies.number}
    assert ids(get_json("requests.json")[1]) == {medicine.number, supplies.number}  # the last 90 days
    start = (timezone.now() - dt.timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (timezone.now() - dt.timedelta(days=50)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(get_json("requests.json", start_date=start, end_date=end)[1]) == {old.number}
    only_start = timezone.localtime(timezone.now() - dt.timedelta(days=101)).isoformat(timespec="seconds")
    assert ids(get_json("requests.json", start_date=only_start)[1]) == {old.number}


def test_subcategory_code_filters_its_own_requests_and_the_category_includes_them(world):
    sub = Subcategory.objects.create(category="medical", code="dialysis", name="血透")
    dialysis = log_call(world, world.household_b, category="medical", subcategory=sub, description="明天血透没车")
    other = log_call(world, world.household_a, category="medical", description="老人发烧要去医院")
    _response, by_sub = get_json("requests.json", service_code="dialysis")
    assert [r["service_request_id"] for r in by_sub] == [dialysis.number]
    assert (by_sub[0]["service_code"], by_sub[0]["service_name"]) == ("dialysis", "血透")
    _response, by_category = get_json("requests.json", service_code="medical")
    assert {r["service_request_id"] for r in by_category} == {dialysis.number, other.number}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_date": "yesterday"}, "start_date 不是有效的日期时间，应形如 2022-12-15T08:00:00+08:00"),
        ({"end_date": "2022-13-45T00:00:00Z"}, "end_date 不是有效的日期时间，应形如 2022-12-15T08:00:00+08:00"),
        ({"start_date": "2022-01-01T00:00:00Z", "end_date": "2022-06-01T00:00:00Z"}, "查询时间范围不能超过90天"),
        ({"start_date": "2022-02-01T00:00:00Z", "end_date": "2022-01-01T00:00:00Z"}, "start_date 不能晚于 end_date"),
        ({"status": "pending"}, "status 只能是 open 或 closed"),
        ({"service_code": "potholes"}, "服务代码“potholes”不存在"),
    ],
)
def test_bad_query_arguments_are_a_400_in_both_formats(world, params, message):
    response, body = get_json("requests.json", **params)
    assert response.status_code == 400 and body == [{"code": 400, "description": message}]
    response, _root = get_xml("requests.xml", **params)
    assert response.status_code == 400 and xml_errors(response) == [("400", message)]


def test_one_request_by_its_id_in_both_formats(world):
    case = log_call(world, world.household_a)
    response, records = get_json(f"requests/{case.number}.json")
    assert response.status_code == 200 and len(records) == 1 and list(records[0]) == REQUEST_KEYS
    response, root = get_xml(f"requests/{case.number}.xml")
    assert root.tag == "service_requests" and root.find("request").findtext("service_request_id") == case.number
    response, body = get_json("requests/20000101-9999.json")
    assert response.status_code == 404 and body == [{"code": 404, "description": "工单“20000101-9999”不存在"}]


def test_a_token_gives_the_request_id(world):
    case = log_call(world, world.household_a)
    response, body = get_json(f"tokens/{case.tracking_code}.json")
    assert response.status_code == 200 and body == [{"service_request_id": case.number, "token": case.tracking_code}]
    response, root = get_xml(f"tokens/{case.tracking_code.lower()}.xml")
    request = root.find("request")
    assert (request.findtext("service_request_id"), request.findtext("token")) == (case.number, case.tracking_code)
    response, _body = get_json("tokens/NOSUCHCODE.json")
    assert response.status_code == 404


def test_an_unknown_format_is_a_400_in_xml_and_a_wrong_method_a_405(world):
    response = Client().get(f"{BASE}/services.csv")
    assert response.status_code == 400 and xml_errors(response)[0][0] == "400"
    response = Client().post(f"{BASE}/services.json")
    assert response.status_code == 405 and response.json()[0]["code"] == 405 and response["Allow"] == "GET"


def test_the_list_stops_at_the_spec_limit(world, monkeypatch):
    from caregrid.cases.open311 import query

    monkeypatch.setattr(query, "MAX_RESULTS", 2)
    for _ in range(3):
        log_call(world, world.household_a)
    newest = HelpRequest.objects.order_by("-received_at", "-id").values_list("number", flat=True)[:2]
    _response, records = get_json("requests.json")
    assert [r["service_request_id"] for r in records] == list(newest)


def test_a_cancelled_request_is_closed_for_open311(world):
    case = log_call(world, world.household_a)
    actions.case_cancel(actor=world.hotline_operator, case=case, reason="来电人已自行解决")
    _response, records = get_json("requests.json", api_key=key_for(world.hotline_operator))
    assert (records[0]["status"], records[0]["status_notes"]) == ("closed", str(Status.CANCELLED.label))
