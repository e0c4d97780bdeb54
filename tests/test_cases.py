"""Help requests: intake from the hotline screen, the workflow to the end, errands, duplicates, deadlines
and escalation, and who sees what."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from caregrid.accounts.models import AuditEvent, Notification
from caregrid.cases import actions
from caregrid.cases.actions import CaseError, Conflict, IntakeData
from caregrid.cases.models import (
    CaseEvent,
    CaseTask,
    Disposition,
    EventKind,
    HelpRequest,
    Status,
    TaskStatus,
    TriageCorrection,
)
from caregrid.cases.queries import caller_lookup, duplicate_candidates

pytestmark = pytest.mark.django_db

MEDICINE_CALL = "我母亲独居，降压药硝苯地平明天就吃完了，小区封控出不去，能不能帮忙买药送上门"


def log_call(world, *, description=MEDICINE_CALL, actor=None, **fields) -> HelpRequest:
    data = IntakeData(channel=fields.pop("channel", "hotline"), description=description, **fields)
    return actions.case_create(actor=actor or world.hotline_operator, data=data)


def test_operator_logs_a_call_and_answers_it_on_the_spot(world, login):
    client = login(world.hotline_operator)
    response = client.post(
        reverse("cases:new"),
        {
            "channel": "hotline",
            "caller_phone": "138 1234 5678",
            "description": "请问封控区内的居民怎么申请临时救助？",
            "category": "policy",
            "urgency": "normal",
            "handling": "answer",
            "answer": "已告知可拨打街道民政电话或在网上申请，次日电话核实",
        },
    )
    case = HelpRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[case.pk])
    assert (case.status, case.disposition, case.category) == (Status.ANSWERED, Disposition.ANSWERED, "policy")
    assert case.caller_phone == "13812345678" and case.first_contact_at and case.resolved_at
    assert list(case.events.values_list("kind", flat=True)) == [EventKind.CREATED, EventKind.ANSWERED]
    assert set(
        AuditEvent.objects.filter(object_type="cases.helprequest", object_id=str(case.pk)).values_list(
            "action", flat=True
        )
    ) == {
        "case.create",
        "case.answer",
    }
    assert case.number.startswith(timezone.localdate().strftime("%Y%m%d") + "-")


def test_a_call_without_a_category_takes_the_classifiers_suggestion(world):
    case = log_call(world)
    assert case.category == case.suggested_category and case.urgency == case.suggested_urgency
    assert 0 <= case.suggestion_confidence <= 1
    assert not TriageCorrection.objects.exists()


def test_an_operators_correction_is_kept_for_retraining(world):
    case = log_call(world, category="caregiving", urgency="urgent")
    correction = TriageCorrection.objects.get()
    assert (correction.category, correction.urgency, correction.request_id) == ("caregiving", "urgent", case.pk)
    actions.case_retriage(actor=world.hotline_operator, case=case, category="medicine", urgency="high")
    assert TriageCorrection.objects.count() == 2


def test_a_new_urgency_moves_the_deadlines(world):
    case = log_call(world, category="medicine", urgency="normal")
    case = actions.case_retriage(actor=world.hotline_operator, case=case, category="medicine", urgency="urgent")
    assert case.first_contact_due - case.received_at == dt.timedelta(minutes=30)
    assert case.resolution_due - case.received_at == dt.timedelta(hours=2)


def test_a_residents_call_is_placed_in_their_household_and_grid(world):
    case = log_call(world, resident=world.resident_a)
    assert case.place == world.household_a and case.grid_path == world.grid_a.path


def test_bad_input_is_refused_with_a_chinese_message_and_nothing_is_saved(world, login):
    with pytest.raises(CaseError) as empty:
        log_call(world, description="   ")
    assert empty.value.field == "description" and "诉求内容" in empty.value.message
    with pytest.raises(CaseError) as long:
        log_call(world, description="药" * 2001)
    assert long.value.code == "too_long"
    with pytest.raises(CaseError) as category:
        log_call(world, category="groceries")
    assert category.value.field == "category"
    client = login(world.hotline_operator)
    response = client.post(reverse("cases:new"), {"channel": "hotline", "description": "", "handling": "dispatch"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "这个字段是必填项" in page or "必填" in page
    assert "交办时请选择承办单位" in page
    assert not HelpRequest.objects.exists()


def test_markup_in_a_description_is_shown_as_text(world, login):
    case = log_call(world, description="<script>alert(1)</script> 楼里停水两天了")
    page = login(world.hotline_operator).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_dispatched_request_reaches_grid_a_and_only_grid_a(world, login):
    case = log_call(world, resident=world.resident_a)
    actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.grid_a, note="请立即联系")
    assert Notification.objects.filter(user=world.grid_worker_a, kind="case_dispatched").exists()
    assert not Notification.objects.filter(user=world.grid_worker_b).exists()
    a = login(world.grid_worker_a).get(reverse("cases:queue")).content.decode()
    assert case.number in a
    b_client = login(world.grid_worker_b)
    assert case.number not in b_client.get(reverse("cases:queue")).content.decode()
    assert b_client.get(reverse("cases:detail", args=[case.pk])).status_code == 404


def test_a_request_without_an_address_moves_into_the_scope_of_the_place_it_is_dispatched_to(world, login):
    case = log_call(world, description="有人反映小区门口有流浪人员，晚上天冷")
    assert case.place == world.district
    actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.other_community)
    case.refresh_from_db()
    assert case.place_path == world.other_community.path
    assert login(world.community_worker).get(reverse("cases:detail", args=[case.pk])).status_code == 404


def test_the_handling_place_acknowledges_contacts_and_resolves(world):
    case = log_call(world, resident=world.resident_b)
    case = actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.community)
    assert case.status == Status.DISPATCHED and case.disposition == Disposition.DISPATCHED
    case = actions.case_acknowledge(actor=world.community_worker, case=case)
    assert case.status == Status.IN_PROGRESS and case.acknowledged_at
    case = actions.case_contact(actor=world.community_worker, case=case, note="已电话联系，下午送药")
    assert case.first_contact_at is not None
    case = actions.case_resolve(actor=world.community_worker, case=case, outcome="药已送到")
    assert case.status == Status.RESOLVED and case.outcome == "药已送到"
    case = actions.case_close(actor=world.hotline_operator, case=case, satisfaction="satisfied", note="回访满意")
    assert case.status == Status.CLOSED and case.closed_at
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == ["created", "dispatched", "acknowledged", "contacted", "resolved", "closed"]


def test_a_reopened_request_gets_a_fresh_resolution_clock(world):
    case = log_call(world, category="medicine", urgency="high")
    case = actions.case_answer(actor=world.hotline_operator, case=case, note="已告知附近药店")
    case = actions.case_reopen(actor=world.hotline_operator, case=case, reason="药店没有货")
    assert case.status == Status.IN_PROGRESS and case.resolved_at is None
    assert case.resolution_due > timezone.now() + dt.timedelta(hours=11)


def test_a_cancelled_request_needs_a_reason_and_stops_its_errands(world):
    case = log_call(world)
    task = actions.task_add(actor=world.hotline_operator, case=case, kind="buy_medicine", assignee=world.grid_worker_a)
    with pytest.raises(CaseError):
        actions.case_cancel(actor=world.hotline_operator, case=case, reason="")
    actions.case_cancel(actor=world.hotline_operator, case=case, reason="来电人已自行解决")
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


def test_a_step_the_status_does_not_allow_is_refused(world):
    case = log_call(world)
    with pytest.raises(CaseError) as refused:
        actions.case_acknowledge(actor=world.community_worker, case=case)
    assert refused.value.code == "bad_status" and "签收" in refused.value.message


def test_two_operators_cannot_silently_overwrite_each_other(world):
    case = log_call(world)
    seen = case.version
    actions.case_coordinate(actor=world.hotline_operator, case=case, expected_version=seen)
    with pytest.raises(Conflict):
        actions.case_answer(actor=world.district_admin, case=case, note="已答复", expected_version=seen)


def test_a_stale_form_on_the_page_says_someone_else_acted_first(world, login):
    case = log_call(world)
    actions.case_coordinate(actor=world.district_admin, case=case)
    client = login(world.hotline_operator)
    response = client.post(
        reverse("cases:act", args=[case.pk, "answer"]), {"note": "已答复", "version": 1}, follow=True
    )
    assert "已被他人更新" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.COORDINATING


def test_an_errand_notifies_its_assignee_and_the_last_one_done_resolves_the_request(world, login):
    case = log_call(world, resident=world.resident_a)
    buy = actions.task_add(
        actor=world.hotline_operator, case=case, kind="buy_medicine", assignee=world.grid_worker_a, detail="硝苯地平"
    )
    deliver = actions.task_add(
        actor=world.hotline_operator, case=case, kind="deliver_supplies", assignee=world.grid_worker_a
    )
    assert Notification.objects.filter(user=world.grid_worker_a, kind="case_task").count() == 2
    page = login(world.grid_worker_a).get(reverse("cases:tasks")).content.decode()
    assert "代购药品" in page and "硝苯地平" in page
    actions.task_done(actor=world.grid_worker_a, task=buy, result="已买到")
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    response = login(world.grid_worker_a).post(
        reverse("cases:task_done", args=[deliver.pk]), {"result": "已送到家", "next": "tasks"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and "已送到家" in case.outcome


def test_someone_elses_errand_cannot_be_marked_done_from_outside_the_scope(world, login):
    case = log_call(world, resident=world.resident_a)
    task = actions.task_add(actor=world.hotline_operator, case=case, kind="home_visit", assignee=world.grid_worker_a)
    response = login(world.grid_worker_b).post(reverse("cases:task_done", args=[task.pk]), {"result": "x"})
    assert response.status_code == 404
    assert CaseTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_a_repeat_call_within_48_hours_is_suggested_as_a_duplicate_and_shares_the_outcome(world):
    first = log_call(world, caller_phone="13812345678", category="medicine", urgency="high")
    second = log_call(world, caller_phone="138-1234-5678", category="medicine", urgency="high")
    other = log_call(world, caller_phone="13812345678", category="utilities", urgency="normal")
    assert duplicate_candidates(second) == [first]
    assert other not in duplicate_candidates(first)
    actions.case_link(actor=world.hotline_operator, case=second, primary=first)
    actions.case_answer(actor=world.hotline_operator, case=first, note="已联系药店配送")
    second.refresh_from_db()
    assert second.status == Status.RESOLVED and second.outcome == "已联系药店配送"


def test_a_request_cannot_be_linked_to_itself(world):
    case = log_call(world)
    with pytest.raises(CaseError):
        actions.case_link(actor=world.hotline_operator, case=case, primary=case)


def test_the_hotline_screen_finds_the_caller_in_the_ledger_within_scope(world, login):
    page = login(world.hotline_operator).get(reverse("cases:intake_caller"), {"caller_phone": "13812345678"})
    assert "王秀英" in page.content.decode()
    assert caller_lookup(world.grid_worker_b, "13812345678").residents == []
    assert caller_lookup(world.grid_worker_a, "5678").residents == [world.resident_a]


def test_the_hotline_screen_suggests_a_category_as_the_operator_types(world, login):
    response = login(world.hotline_operator).get(
        reverse("cases:intake_suggest"), {"description": "我爸透析今天要做，车出不去，急"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "accept-suggestion" in page


def test_an_overdue_first_contact_is_escalated_once_to_the_parent_place_and_the_command_centre(world):
    case = log_call(world, resident=world.resident_a, category="medical", urgency="urgent")
    actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.grid_a)
    mail.outbox.clear()
    world.district_admin.email = "command@example.org"
    world.district_admin.save()
    later = timezone.now() + dt.timedelta(minutes=45)
    result = actions.sweep_deadlines(now=later)
    assert result.escalated == 1
    case.refresh_from_db()
    assert case.escalation_level == 1
    told = set(Notification.objects.filter(kind="case_overdue").values_list("user__username", flat=True))
    assert told == {"community", "admin"}  # grid A's parent is the community; the district admin is the centre
    assert CaseEvent.objects.filter(request=case, kind=EventKind.ESCALATED).count() == 1
    assert actions.sweep_deadlines(now=later).escalated == 0
    assert Notification.objects.filter(kind="case_overdue").count() == 2


def test_an_overdue_resolution_is_escalated_again(world):
    case = log_call(world, resident=world.resident_a, category="medical", urgency="urgent")
    actions.case_contact(actor=world.hotline_operator, case=case, note="已联系")
    assert actions.sweep_deadlines(now=timezone.now() + dt.timedelta(minutes=45)).escalated == 0
    assert actions.sweep_deadlines(now=timezone.now() + dt.timedelta(hours=3)).escalated == 1
    case.refresh_from_db()
    assert case.escalation_level == 2


def test_the_queue_shows_every_rows_clock(world, login):
    log_call(world, resident=world.resident_a, category="medical", urgency="urgent")
    page = login(world.hotline_operator).get(reverse("cases:queue")).content.decode()
    assert "首次联系" in page and "剩" in page


def test_the_auditor_and_people_without_the_capability_see_no_requests(world, login):
    log_call(world)
    client = login(world.auditor)
    assert client.get(reverse("cases:queue")).status_code == 403
    assert client.get(reverse("cases:new")).status_code == 403


def test_grid_worker_a_sees_only_grid_a_requests_in_the_queue(world, login):
    mine = log_call(world, resident=world.resident_a)
    theirs = log_call(world, resident=world.resident_b)
    page = login(world.grid_worker_a).get(reverse("cases:queue"), {"status": "all"}).content.decode()
    assert mine.number in page and theirs.number not in page


def test_the_district_admin_sets_deadlines_for_requests_received_from_then_on(world, login):
    before = log_call(world, category="medicine", urgency="normal")
    client = login(world.district_admin)
    form = {
        "urgent_first": 20,
        "urgent_resolve": 90,
        "high_first": 60,
        "high_resolve": 600,
        "normal_first": 720,
        "normal_resolve": 2880,
    }
    assert client.post(reverse("cases:settings"), form).status_code == 302
    after = log_call(world, category="medicine", urgency="normal")
    assert after.first_contact_due - after.received_at == dt.timedelta(minutes=720)
    before.refresh_from_db()
    assert before.first_contact_due - before.received_at == dt.timedelta(hours=24)
    assert AuditEvent.objects.filter(action="case.deadlines").exists()
    assert login(world.hotline_operator).get(reverse("cases:settings")).status_code == 403


def test_deadlines_must_be_sensible(world, login):
    client = login(world.district_admin)
    form = {f"{u}_{w}": 10 for u in ("urgent", "high", "normal") for w in ("first", "resolve")}
    form["urgent_first"] = 100
    response = client.post(reverse("cases:settings"), form)
    assert response.status_code == 200 and "时限无效" in response.content.decode()


def test_notifications_are_listed_and_marked_read(world, login):
    case = log_call(world, resident=world.resident_a)
    actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.grid_a)
    client = login(world.grid_worker_a)
    page = client.get(reverse("notifications")).content.decode()
    assert case.number in page
    note = Notification.objects.get(user=world.grid_worker_a)
    response = client.post(reverse("notifications_read"), {"id": note.pk})
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    note.refresh_from_db()
    assert note.read_at is not None


def test_request_numbers_count_up_within_a_day(world):
    first, second = log_call(world), log_call(world)
    assert int(second.number.rsplit("-", 1)[1]) == int(first.number.rsplit("-", 1)[1]) + 1


def test_the_worker_enqueues_the_deadline_sweep_every_minute(world):
    from django_tasks_db.models import DBTaskResult

    from caregrid.accounts.management.commands.worker import Scheduler

    scheduler = Scheduler([("caregrid.cases.tasks.sweep_deadlines", 60)])
    assert scheduler.tick(1000.0) == ["sweep_deadlines"]
    assert scheduler.tick(1030.0) == []
    assert scheduler.tick(1061.0) == ["sweep_deadlines"]
    assert DBTaskResult.objects.filter(task_path="caregrid.cases.tasks.sweep_deadlines").count() == 2


def test_the_sweep_job_escalates_what_is_overdue(world):
    from caregrid.cases.tasks import sweep_deadlines

    case = log_call(world, resident=world.resident_a, category="medical", urgency="urgent")
    HelpRequest.objects.filter(pk=case.pk).update(first_contact_due=timezone.now() - dt.timedelta(minutes=1))
    # Not dispatched: the community answers for it; its parent (the subdistrict) has no staff in this world,
    # so the command centre alone is told.
    assert sweep_deadlines.call() == {"checked": 1, "escalated": 1, "notified": 1}
    assert Notification.objects.get(kind="case_overdue").user == world.district_admin


def test_the_district_admin_adds_a_subcategory_which_requests_can_then_use(world, login):
    client = login(world.district_admin)
    response = client.post(
        reverse("cases:settings"), {"form": "subcategory", "category": "medical", "name": "血透", "name_en": "Dialysis"}
    )
    assert response.status_code == 302
    from caregrid.cases.models import Subcategory

    sub = Subcategory.objects.get()
    assert (sub.category, sub.code) == ("medical", "medical_dialysis")
    again = client.post(reverse("cases:settings"), {"form": "subcategory", "category": "medical", "name": "血透"})
    assert "已有同名子类" in again.content.decode()
    case = log_call(world, category="medical", urgency="urgent", subcategory=sub)
    assert case.subcategory == sub
    with pytest.raises(CaseError):
        actions.case_retriage(
            actor=world.hotline_operator, case=case, category="medicine", urgency="high", subcategory=sub
        )


def test_the_callers_full_number_is_shown_for_a_call_back_and_audited(world, login):
    case = log_call(world, caller_phone="13812345678", resident=world.resident_a)
    client = login(world.grid_worker_a)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    shown = client.post(reverse("cases:unmask", args=[case.pk])).content.decode()
    assert 'href="tel:13812345678"' in shown
    assert AuditEvent.objects.filter(action="case.unmask", object_id=str(case.pk), actor=world.grid_worker_a).exists()
    assert login(world.grid_worker_b).post(reverse("cases:unmask", args=[case.pk])).status_code == 404


def test_a_referring_platforms_earlier_deadline_is_kept(world):
    now = timezone.now()
    case = log_call(
        world,
        channel="referral_12345",
        category="utilities",
        urgency="normal",
        received_at=now,
        resolution_due=now + dt.timedelta(hours=4),
    )
    assert case.resolution_due == now + dt.timedelta(hours=4)
    assert case.first_contact_due <= case.resolution_due


def test_the_home_page_shows_todays_line_and_what_is_overdue(world, login):
    case = log_call(world, resident=world.resident_a, category="medical", urgency="urgent")
    actions.case_dispatch(actor=world.hotline_operator, case=case, place=world.grid_a)
    HelpRequest.objects.filter(pk=case.pk).update(first_contact_due=timezone.now() - dt.timedelta(minutes=5))
    page = login(world.hotline_operator).get(reverse("home")).content.decode()
    assert "接通来电1个，即刻答复0个、协调解决0个、交办处置1个" in page and "已超时 1 件" in page
    assert "今日求助" not in login(world.auditor).get(reverse("home")).content.decode()


def test_the_hotline_screen_dispatches_only_within_the_users_scope(world, login):
    response = login(world.community_worker).post(
        reverse("cases:new"),
        {
            "channel": "hotline",
            "description": "楼道灯坏了，老人晚上下楼看不见",
            "handling": "dispatch",
            "dispatch_to": world.other_community.pk,
        },
    )
    assert response.status_code == 200 and "不在您的管辖范围内" in response.content.decode()
    assert not HelpRequest.objects.exists()
