"""Logging contacts on the round (一问一记录) and the grid worker's phone page."""

import datetime as dt
import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from caregrid.accounts.models import AuditEvent
from caregrid.care.contacts import actions
from caregrid.care.contacts.queries import round_today
from caregrid.care.models import CareAssignment, CarerRole, Contact
from caregrid.cases.models import Channel, HelpRequest

URL = "/care/contacts/"


def _post(client, **payload):
    body = {
        "client_id": str(uuid.uuid4()),
        "at": timezone.now().isoformat(),
        "channel": "phone",
        "outcome": "reached",
        "wellbeing": "fine",
        "needs": [],
        "temperature": None,
        "note": "",
        **payload,
    }
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def _record(world, resident=None, **values):
    fields = {
        "actor": world.grid_worker_a,
        "resident": resident or world.resident_a,
        "client_id": uuid.uuid4(),
        "at": timezone.now(),
        "channel": "phone",
        "outcome": "reached",
        "wellbeing": "fine",
        **values,
    }
    return actions.contact_record(**fields)


def test_grid_worker_logs_a_contact_and_a_resend_returns_the_same_one(world, login):
    client = login(world.grid_worker_a)
    client_id = str(uuid.uuid4())
    first = _post(client, resident=world.resident_a.pk, client_id=client_id, temperature="36.6")
    assert first.status_code == 201
    again = _post(client, resident=world.resident_a.pk, client_id=client_id, temperature="36.6")
    assert again.status_code == 200
    assert again.json()["contact"]["id"] == first.json()["contact"]["id"]
    contact = Contact.objects.get()
    assert str(contact.client_id) == client_id
    assert str(contact.temperature) == "36.6"
    assert contact.carer == world.grid_worker_a
    assert contact.place_path == world.resident_a.place_path
    assert AuditEvent.objects.filter(action="care.contact_record").count() == 1


def test_a_resend_of_the_action_writes_nothing_new(world):
    client_id = uuid.uuid4()
    contact, created = _record(world, client_id=client_id)
    stored, created_again = _record(world, client_id=client_id, outcome="not_reached")
    assert created and not created_again
    assert stored.pk == contact.pk and stored.outcome == "reached"
    assert Contact.objects.count() == 1


def test_another_worker_cannot_reuse_a_stored_contacts_id(world, login):
    contact, _ = _record(world, resident=world.resident_a)
    client = login(world.community_worker)
    response = _post(client, resident=world.resident_a.pk, client_id=str(contact.client_id))
    assert response.status_code == 400
    assert response.json()["fields"]["client_id"] == "记录编号已被使用"


def test_wrong_values_are_refused_with_chinese_field_messages(world, login):
    client = login(world.grid_worker_a)
    response = _post(
        client,
        resident=world.resident_a.pk,
        temperature="45.2",
        needs=["medicine", "teleport"],
        at=(timezone.now() + dt.timedelta(hours=1)).isoformat(),
        channel="pigeon",
        outcome="maybe",
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["temperature"] == "体温须在34.0至43.0℃之间"
    assert fields["needs"] == "需求类别“teleport”不存在"
    assert fields["at"] == "联系时间不能晚于现在"
    assert fields["channel"] == "联系方式无效"
    assert fields["outcome"] == "联系结果无效"
    assert response.json()["message"] == "联系记录有误，请检查"
    assert not Contact.objects.exists()


def test_a_temperature_that_is_not_a_number_is_refused(world):
    with pytest.raises(ValidationError) as refused:
        _record(world, temperature="高烧")
    assert refused.value.message_dict["temperature"] == ["体温须是数字"]


def test_a_phone_clock_a_little_ahead_is_accepted(world):
    contact, created = _record(world, at=timezone.now() + dt.timedelta(minutes=2))
    assert created


def test_a_body_that_is_not_json_is_refused(world, login):
    client = login(world.grid_worker_a)
    response = client.post(URL, data="not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == "请求内容不是有效的JSON"


def test_a_need_found_becomes_a_grid_report_help_request_for_the_resident(world, login):
    client = login(world.grid_worker_a)
    response = _post(
        client, resident=world.resident_a.pk, wellbeing="needs_help", needs=["medicine"], note="降压药快吃完了"
    )
    assert response.status_code == 201
    contact = Contact.objects.get()
    case = contact.help_request
    assert case is not None
    assert case.channel == Channel.GRID_REPORT
    assert case.resident_id == world.resident_a.pk
    assert case.category == "medicine"
    assert "降压药快吃完了" in case.description
    assert response.json()["contact"]["help_request"] == case.number


def test_an_urgent_wellbeing_raises_an_urgent_help_request(world):
    contact, _ = _record(world, wellbeing="urgent", note="老人摔倒在家，起不来")
    assert contact.help_request.urgency == "urgent"
    assert contact.help_request.resident_id == world.resident_a.pk


def test_a_fine_contact_raises_no_help_request(world):
    _record(world)
    assert not HelpRequest.objects.exists()


def test_grid_a_cannot_log_for_grid_bs_resident(world, login):
    client = login(world.grid_worker_a)
    response = _post(client, resident=world.resident_b.pk)
    assert response.status_code == 404
    assert not Contact.objects.exists()


def test_an_assigned_carer_may_log_for_a_resident_outside_their_grid(world, login):
    CareAssignment.objects.create(
        resident=world.resident_b,
        role=CarerRole.GRID_WORKER,
        carer=world.grid_worker_a,
        since=timezone.now() - dt.timedelta(days=1),
        place_path=world.resident_b.place_path,
        grid_path=world.resident_b.grid_path,
    )
    client = login(world.grid_worker_a)
    assert _post(client, resident=world.resident_b.pk).status_code == 201
    names = [r.name for r in round_today(world.grid_worker_a)]
    assert names == ["王秀英", "李建国"]  # the resident contacted today goes last


def test_an_ended_assignment_gives_no_access(world, login):
    CareAssignment.objects.create(
        resident=world.resident_b,
        role=CarerRole.GRID_WORKER,
        carer=world.grid_worker_a,
        since=timezone.now() - dt.timedelta(days=3),
        until=timezone.now() - dt.timedelta(days=1),
        place_path=world.resident_b.place_path,
        grid_path=world.resident_b.grid_path,
    )
    client = login(world.grid_worker_a)
    assert _post(client, resident=world.resident_b.pk).status_code == 404


def test_the_round_puts_the_longest_uncontacted_first_and_todays_contacts_last(world):
    yesterday = timezone.now() - dt.timedelta(days=1)
    _record(world, actor=world.community_worker, resident=world.resident_a, at=yesterday)
    assert [r.name for r in round_today(world.community_worker)] == ["李建国", "王秀英"]
    _record(world, actor=world.community_worker, resident=world.resident_b)
    assert [r.name for r in round_today(world.community_worker)] == ["王秀英", "李建国"]


def test_the_round_puts_urgent_categories_before_others(world):
    from caregrid.people.models import Category, ResidentCategory

    ResidentCategory.objects.filter(resident=world.resident_b).update(category=Category.objects.get(code="dibao"))
    _record(world, actor=world.community_worker, resident=world.resident_a, at=timezone.now() - dt.timedelta(days=2))
    assert [r.name for r in round_today(world.community_worker)] == ["王秀英", "李建国"]


def test_operator_search_on_the_round_finds_by_name(world):
    assert [r.name for r in round_today(world.community_worker, "李")] == ["李建国"]
    assert [r.name for r in round_today(world.community_worker, "5678")] == ["王秀英"]


def test_grid_worker_sees_their_round_on_the_today_page_with_masked_phones(world, login):
    _record(world, wellbeing="needs_help", needs=["supplies"])
    client = login(world.grid_worker_a)
    response = client.get(reverse("care_contacts:today"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "王秀英" in html and "李建国" not in html
    assert "138****5678" in html and "13812345678" not in html
    assert 'name="viewport"' in html
    assert "已联系·良好" in html and "未联系上" in html and "更多…" in html
    assert "care-today.js" in html and "<script>" not in html
    assert "今天已做" in html and "已生成诉求" in html


def test_the_phone_number_is_shown_only_on_request_and_audited(world, login):
    client = login(world.grid_worker_a)
    response = client.post(reverse("care_contacts:phone", args=[world.resident_a.pk]))
    assert response.status_code == 200
    assert response.json() == {"phone": "13812345678"}
    event = AuditEvent.objects.get(action="resident.unmask")
    assert event.actor_id == world.grid_worker_a.pk
    assert client.post(reverse("care_contacts:phone", args=[world.resident_b.pk])).status_code == 404


def test_a_resident_whose_rule_asks_for_two_contacts_today_stays_due_after_one(world, login):
    from caregrid.care.models import CarePolicy, PeriodUnit
    from caregrid.people.models import Category
    from caregrid.places.queries import current_mode

    CarePolicy.objects.filter(valid_until__isnull=True).update(valid_until=timezone.now() - dt.timedelta(days=1))
    CarePolicy.objects.create(
        category=Category.objects.get(code="elderly_alone"),
        mode=current_mode(),
        times=2,
        per=PeriodUnit.DAY,
        temperature=True,
        valid_from=timezone.now() - dt.timedelta(days=1),
    )
    _record(world, temperature="36.8")
    (resident,) = round_today(world.grid_worker_a)
    assert resident.due.required == 2 and resident.due.done == 1
    html = login(world.grid_worker_a).get(reverse("care_contacts:today")).content.decode()
    assert "今日需联系 2 次，已 1 次" in html and "需测体温" in html


def test_a_hotline_operator_keeps_no_round(world, login):
    client = login(world.hotline_operator)
    assert client.get(reverse("care_contacts:today")).status_code == 403
    assert _post(client, resident=world.resident_a.pk).status_code == 404
    assert not Contact.objects.exists()


def test_the_today_page_takes_the_same_number_of_queries_for_a_longer_round(world, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from caregrid.people.actions import CategoryEntry, ResidentData, resident_create
    from caregrid.people.models import Category
    from tests.conftest import make_id

    client = login(world.community_worker)
    url = reverse("care_contacts:today")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    _record(world, actor=world.community_worker, resident=world.resident_a)
    before = count()
    pregnant = Category.objects.get(code="pregnant")
    for seq in ("411", "412", "413"):
        resident = resident_create(
            actor="system",
            data=ResidentData(
                id_number=make_id("320602", "19960505", seq),
                name=f"孙{seq}",
                household=world.household_a,
                categories=[CategoryEntry(pregnant)],
            ),
        )
        _record(world, actor=world.community_worker, resident=resident)
    assert count() == before


# --- two failed attempts in a row ---


def _missed(world, minutes_ago: int, **values):
    return _record(
        world, outcome="not_reached", wellbeing="", at=timezone.now() - dt.timedelta(minutes=minutes_ago), **values
    )


def _home_visits():
    from caregrid.cases.models import CaseTask, TaskKind

    return list(CaseTask.objects.filter(kind=TaskKind.HOME_VISIT).select_related("request", "assignee"))


def _assign_grid_worker(world, carer):
    CareAssignment.objects.create(
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=carer,
        since=timezone.now() - dt.timedelta(days=1),
        place_path=world.resident_a.place_path,
        grid_path=world.resident_a.grid_path,
    )


def test_two_failed_attempts_in_a_row_raise_one_home_visit_for_the_residents_grid_worker(world):
    _assign_grid_worker(world, world.grid_worker_a)
    first, _ = _missed(world, 120, actor=world.community_worker)
    assert not HelpRequest.objects.exists()
    second, _ = _missed(world, 10)
    (task,) = _home_visits()
    case = task.request
    assert task.assignee == world.grid_worker_a and task.status == "open"
    assert case.channel == Channel.GRID_REPORT
    assert case.category == "caregiving" and case.urgency == "high"
    assert case.resident_id == world.resident_a.pk
    assert "连续两次未联系上" in case.description and "需上门查看" in case.description
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.help_request_id == case.pk and first.help_request_id is None
    assert AuditEvent.objects.filter(action="case.create", object_id=str(case.pk)).exists()
    assert AuditEvent.objects.filter(action="case.task_add", object_id=str(case.pk)).exists()


def test_without_a_grid_worker_carer_the_home_visit_goes_to_the_contacts_carer(world):
    _missed(world, 60, actor=world.community_worker)
    _missed(world, 5, actor=world.community_worker)
    (task,) = _home_visits()
    assert task.assignee == world.community_worker


def test_a_third_failure_adds_nothing_while_the_home_visit_is_open(world):
    _missed(world, 90)
    _missed(world, 60)
    third, _ = _missed(world, 30)
    assert len(_home_visits()) == 1
    assert HelpRequest.objects.count() == 1
    assert third.help_request_id is None


def test_a_reached_contact_in_between_resets_the_count(world):
    _missed(world, 90)
    _record(world, at=timezone.now() - dt.timedelta(minutes=60))
    _missed(world, 30)
    assert not _home_visits()
    _missed(world, 10)
    assert len(_home_visits()) == 1


def test_a_reached_contact_leaves_the_home_visit_open(world):
    _missed(world, 90)
    _missed(world, 60)
    _record(world, at=timezone.now() - dt.timedelta(minutes=5))
    (task,) = _home_visits()
    assert task.status == "open"


def test_a_failure_sent_late_from_the_phone_after_a_reached_contact_raises_nothing(world):
    _missed(world, 120)
    _record(world, at=timezone.now() - dt.timedelta(minutes=30))
    _missed(world, 60)  # made before the reached contact, arrived after it
    assert not _home_visits()


def test_after_the_home_visit_is_done_two_new_failures_raise_another(world):
    from caregrid.cases.actions import task_done

    _missed(world, 120)
    _missed(world, 90)
    (task,) = _home_visits()
    task_done(actor=world.grid_worker_a, task=task, result="已上门，老人外出就医")
    _missed(world, 30)
    assert len(_home_visits()) == 2
