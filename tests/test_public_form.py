"""The public help form and status page under /help/: no account, validated, rate limited, and showing the
holder of a tracking code nothing personal about anyone."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from caregrid.cases import actions
from caregrid.cases.models import Channel, EventKind, HelpRequest, Status

pytestmark = pytest.mark.django_db

FORM = "/help/"
NEED = "我是独居老人，降压药明天就吃完了，小区封控出不去，请帮忙买药"


@pytest.fixture(autouse=True)
def fresh_lookup_counts():
    """Status lookups are counted in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


def submit(client: Client | None = None, ip: str = "203.0.113.7", **changes):
    body = {
        "description": NEED,
        "name": "王秀英",
        "phone": "138 1234 5678",
        "address": "紫东花苑1幢1单元101",
        "category": "",
        "website": "",
    }
    body.update(changes)
    return (client or Client()).post(FORM, body, REMOTE_ADDR=ip)


def test_visitor_sees_the_form_without_signing_in(world):
    response = Client().get(FORM)
    assert response.status_code == 200
    text = response.content.decode()
    for label in ("您需要什么帮助？", "联系电话", "您的称呼", "求助类别", "不清楚", "提交求助"):
        assert label in text
    assert 'name="csrfmiddlewaretoken"' in text and "caregrid/cases-public.css" in text


def test_visitor_submits_and_gets_the_number_and_tracking_code(world):
    response = submit()
    case = HelpRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "cases_public:thanks", args=[case.tracking_code]
    )
    assert (case.channel, case.caller_name, case.caller_phone) == (Channel.PUBLIC_FORM, "王秀英", "13812345678")
    assert case.address_text == "紫东花苑1幢1单元101" and case.source_ip == "203.0.113.7"
    assert case.created_by is None and case.status == Status.RECEIVED
    assert case.events.get().actor_name == "public"
    thanks = Client().get(response["Location"]).content.decode()
    assert case.number in thanks and case.tracking_code in thanks
    assert reverse("cases_public:status_detail", args=[case.tracking_code]) in thanks
    assert "王秀英" not in thanks and "13812345678" not in thanks


def test_an_unsure_visitor_leaves_the_category_to_the_classifier(world):
    submit(category="")
    case = HelpRequest.objects.get()
    assert case.category == case.suggested_category


def test_a_chosen_category_is_kept(world):
    submit(category="supplies", description="家里米和油都没有了，孩子还小")
    assert HelpRequest.objects.get().category == "supplies"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"description": "   "}, "请说明您需要什么帮助"),
        ({"phone": ""}, "请填写联系电话，方便工作人员联系您"),
        ({"phone": "12345"}, "请填写有效的手机或固定电话号码，如 13812345678 或 0513-85123456"),
        ({"category": "potholes"}, "请选择列表中的类别"),
        ({"description": "药" * 2001}, "诉求内容不能超过2000个字"),
    ],
)
def test_invalid_input_is_shown_inline_in_chinese_and_nothing_is_saved(world, changes, message):
    response = submit(**changes)
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text and 'class="fielderror"' in text
    assert not HelpRequest.objects.exists()
    if "description" not in changes:
        assert NEED in text  # what the visitor typed is kept


def test_a_filled_honeypot_saves_nothing(world):
    response = submit(website="http://spam.example")
    assert response.status_code == 400 and "提交未成功" in response.content.decode()
    assert not HelpRequest.objects.exists()


def test_one_address_may_submit_only_so_often_per_hour(world, settings):
    settings.CAREGRID_PUBLIC_FORM_PER_HOUR = 2
    assert submit().status_code == 302
    assert submit(description="家里停水了").status_code == 302
    response = submit(description="还需要米面油")
    assert response.status_code == 429
    text = response.content.decode()
    assert "同一网络每小时最多提交2次求助" in text and "还需要米面油" in text
    assert HelpRequest.objects.count() == 2
    assert submit(ip="198.51.100.20", description="还需要米面油").status_code == 302


def test_submissions_older_than_an_hour_do_not_count(world, settings):
    settings.CAREGRID_PUBLIC_FORM_PER_HOUR = 1
    assert submit().status_code == 302
    HelpRequest.objects.update(received_at=timezone.now() - dt.timedelta(minutes=61))
    assert submit(description="家里停水了").status_code == 302


def test_the_form_is_csrf_protected(world):
    response = submit(Client(enforce_csrf_checks=True))
    assert response.status_code == 403
    assert not HelpRequest.objects.exists()


def _submitted(world) -> HelpRequest:
    submit()
    return HelpRequest.objects.get()


def test_status_page_shows_progress_and_nothing_personal(world):
    case = _submitted(world)
    actions.case_note(actor=world.hotline_operator, case=case, note="已联系王秀英的女儿，电话13900001111")
    actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.community, note="请社区张主任跟进")
    case.refresh_from_db()
    actions.case_contact(actor=world.community_worker, case=case, note="电话联系王秀英，明早送药")
    response = Client().get(reverse("cases_public:status_detail", args=[case.tracking_code]))
    assert response.status_code == 200
    text = response.content.decode()
    assert case.number in text and case.get_category_display() in text
    assert str(Status.IN_PROGRESS.label) in text
    assert str(EventKind.CREATED.label) in text and str(EventKind.DISPATCHED.label) in text
    for private in (
        "王秀英",
        "13812345678",
        "13900001111",
        "紫东花苑",
        "1单元101",
        "接线员",
        "社区张",
        "张主任",
        "明早送药",
        world.community.name,
        NEED,
    ):
        assert private not in text, private


def test_status_page_shows_the_outcome_once_resolved_and_hides_it_when_reopened(world):
    case = _submitted(world)
    actions.case_resolve(actor=world.hotline_operator, case=case, outcome="药已送到 请按时服用")
    url = reverse("cases_public:status_detail", args=[case.tracking_code])
    text = Client().get(url).content.decode()
    assert "药已送到 请按时服用" in text and str(Status.RESOLVED.label) in text
    case.refresh_from_db()
    actions.case_reopen(actor=world.hotline_operator, case=case, reason="送错了药")
    text = Client().get(url).content.decode()
    assert "药已送到" not in text and "送错了药" not in text


def test_an_unknown_or_malformed_code_is_not_found(world):
    _submitted(world)
    for code in ("ABCDEFGHJK", "x"):
        response = Client().get(reverse("cases_public:status_detail", args=[code]))
        assert response.status_code == 404 and "未找到" in response.content.decode()
    response = Client().get(reverse("cases_public:status"), {"code": "??"})
    assert response.status_code == 404 and "未找到" in response.content.decode()


def test_the_lookup_form_goes_to_the_codes_page_whatever_the_spacing_and_case(world):
    case = _submitted(world)
    typed = f" {case.tracking_code[:5].lower()} {case.tracking_code[5:]} "
    response = Client().get(reverse("cases_public:status"), {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == reverse("cases_public:status_detail", args=[case.tracking_code])
    assert Client().get(reverse("cases_public:status")).status_code == 200


def test_lookups_by_one_address_are_limited_per_hour(world, settings):
    settings.CAREGRID_PUBLIC_STATUS_PER_HOUR = 3
    case = _submitted(world)
    url = reverse("cases_public:status_detail", args=[case.tracking_code])
    client = Client(REMOTE_ADDR="192.0.2.44")
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(url)
    assert response.status_code == 429 and "查询过于频繁" in response.content.decode()
    assert Client(REMOTE_ADDR="192.0.2.45").get(url).status_code == 200


def test_the_public_pages_offer_the_language_switch(world):
    text = Client().get(FORM).content.decode()
    assert 'name="language" value="en"' in text
