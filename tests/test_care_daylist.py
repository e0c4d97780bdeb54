"""The day's due list: built once, kept current by every change that alters what is due, summarized per grid
for district coverage, and escalated at the evening cut-off."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from caregrid.accounts.models import AuditEvent, Notification
from caregrid.care.contacts.actions import contact_record
from caregrid.care.models import CarePolicy, DueDay, DueItem, DueSummary
from caregrid.care.policies import daylist, queries
from caregrid.care.policies.defaults import install_default_policies
from caregrid.care.policies.escalation import sweep_overdue
from caregrid.care.tasks import keep_day_lists
from caregrid.care.teams.actions import Carer, assignment_create
from caregrid.people.models import Category
from caregrid.places.actions import mode_set, zone_set


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def emergency(world):
    """Default rules in force since January; the bureau in emergency mode; the community sealed since the 1st:
    resident_a (living alone) and resident_b (dialysis) are each due one contact a day."""
    install_default_policies(CarePolicy, Category, timezone.now())
    CarePolicy.objects.update(valid_from=local(dt.date(2026, 1, 1), 0))
    zone_set(actor="system", place=world.community, status="sealed", start_date=dt.date(2026, 1, 1), reason="封控")
    mode_set(actor="system", mode="emergency", reason="启动应急")
    return world


def item(resident, day=None) -> DueItem:
    return DueItem.objects.get(resident=resident, day=day or timezone.localdate())


def record(world, resident, *, outcome="reached", carer=None):
    return contact_record(
        actor=carer or world.grid_worker_a,
        resident=resident,
        client_id=uuid.uuid4(),
        at=timezone.now(),
        channel="phone",
        outcome=outcome,
        wellbeing="fine" if outcome == "reached" else "",
    )


def test_the_first_reader_builds_the_day_with_one_item_per_resident_due(emergency):
    world = emergency
    daylist.ensure_day(timezone.localdate())
    assert {i.resident_id: (i.required, i.met, i.zone) for i in DueItem.objects.all()} == {
        world.resident_a.pk: (1, False, "sealed"),
        world.resident_b.pk: (1, False, "sealed"),
    }
    assert item(world.resident_a).group_path == world.grid_a.path
    assert DueDay.objects.get(day=timezone.localdate()).built_at is not None


def test_a_contact_recorded_ticks_the_resident_off_and_updates_the_grid_summary(emergency):
    world = emergency
    daylist.ensure_day(timezone.localdate())
    record(world, world.resident_a)
    assert item(world.resident_a).met and item(world.resident_a).done == 1
    summary = DueSummary.objects.get(day=timezone.localdate(), group_path=world.grid_a.path, dim="")
    assert (summary.due, summary.done) == (1, 1)


def test_two_failed_attempts_show_as_not_reached_twice(emergency):
    world = emergency
    daylist.ensure_day(timezone.localdate())
    record(world, world.resident_b, outcome="not_reached", carer=world.grid_worker_b)
    assert item(world.resident_b).missed == 1
    record(world, world.resident_b, outcome="not_reached", carer=world.grid_worker_b)
    assert item(world.resident_b).missed == 2 and not item(world.resident_b).met
    cov = queries.coverage(world.community_worker, world.community)
    assert cov.total.missed_twice == 1 and [r.pk for r in cov.missed_twice] == [world.resident_b.pk]


def test_switching_the_mode_makes_the_day_stale_and_the_next_read_rebuilds_it(emergency):
    world = emergency
    today = timezone.localdate()
    daylist.ensure_day(today)
    mode_set(actor=world.district_admin, mode="peacetime", reason="解除应急")
    assert DueDay.objects.get(day=today).stale_since is not None
    cov = queries.coverage(world.community_worker, world.community)
    assert not cov.stale and DueDay.objects.get(day=today).stale_since is None
    # In peacetime a person living alone is due a weekly call and a monthly visit, not a daily contact.
    assert item(world.resident_a).zone == "sealed"
    assert CarePolicy.objects.filter(mode="peacetime", valid_until__isnull=True).exists()


def test_a_zone_lifted_on_a_building_follows_its_residents_at_once(emergency):
    world = emergency
    today = timezone.localdate()
    daylist.ensure_day(today)
    zone_set(actor=world.community_worker, place=world.building_a, status="lifted", start_date=today, reason="解封")
    # The daily contact of a person living alone is asked for in sealed and controlled zones only.
    assert not DueItem.objects.filter(resident=world.resident_a, day=today).exists()
    assert item(world.resident_b).zone == "sealed"
    assert DueDay.objects.get(day=today).stale_since is None


def test_a_change_too_large_to_follow_at_once_is_left_to_the_worker(emergency, settings):
    world = emergency
    settings.CAREGRID_CARE_INLINE_REFRESH = 0
    today = timezone.localdate()
    daylist.build_day(today)
    zone_set(actor=world.community_worker, place=world.building_a, status="lifted", start_date=today, reason="解封")
    assert DueDay.objects.get(day=today).stale_since is not None
    assert item(world.resident_a).zone == "sealed"
    assert queries.coverage(world.community_worker, world.community).stale
    assert daylist.rebuild_stale() == [today]
    assert not DueItem.objects.filter(resident=world.resident_a, day=today).exists()
    assert DueDay.objects.get(day=today).stale_since is None


def test_a_new_carer_appears_in_the_by_carer_counts(emergency):
    world = emergency
    daylist.ensure_day(timezone.localdate())
    assignment_create(
        actor=world.community_worker,
        resident=world.resident_b,
        role="grid_worker",
        carer=Carer(user=world.grid_worker_b),
    )
    cov = queries.coverage(world.community_worker, world.community)
    carers = {t.label: t.due for t in cov.by_carer}
    assert carers == {str(world.grid_worker_b): 1, "未包联": 1}


def test_district_coverage_counts_by_subdistrict_and_lists_names_a_community_at_a_time(emergency, login):
    world = emergency
    evening = local(timezone.localdate(), 19)
    cov = queries.coverage(world.district_admin, world.district, now=evening)
    assert cov.by_children and not cov.listed and cov.overdue == []
    assert [(t.label, t.due, t.overdue) for t in cov.by_grid] == [("和平桥街道", 2, 2)]
    community = queries.coverage(world.district_admin, world.community, now=evening)
    assert {i.resident_id for i in community.overdue} == {world.resident_a.pk, world.resident_b.pk}
    page = login(world.district_admin).get(f"/care/policies/coverage/?place={world.district.pk}")
    assert page.status_code == 200 and "名单请进入下级社区或网格查看" in page.text


def test_a_grid_workers_coverage_of_their_grid_counts_only_it(emergency):
    world = emergency
    cov = queries.coverage(world.grid_worker_a, world.grid_a)
    assert cov.total.due == 1 and [t.label for t in cov.by_grid] == ["第一网格"]


def test_the_evening_sweep_escalates_each_overdue_resident_once_to_the_grid_leader_and_the_community(emergency):
    world = emergency
    world.grid_a.leader = world.grid_worker_a
    world.grid_a.save(update_fields=["leader"])
    today = timezone.localdate()
    record(world, world.resident_b, carer=world.grid_worker_b)
    assert sweep_overdue(now=local(today, 17, 59)).escalated == 0
    result = sweep_overdue(now=local(today, 18, 1))
    assert (result.escalated, result.grids) == (1, 1)
    assert item(world.resident_a).escalated_at is not None and item(world.resident_b).escalated_at is None
    told = Notification.objects.filter(kind="care.overdue")
    assert {n.user for n in told} == {world.grid_worker_a, world.community_worker}
    assert "第一网格今日1人未按时联系" in told.first().title
    assert AuditEvent.objects.filter(action="care.overdue_escalate").count() == 1
    assert sweep_overdue(now=local(today, 18, 2)).escalated == 0
    assert told.count() == 2


def test_a_rebuild_keeps_the_escalation_marks(emergency):
    world = emergency
    today = timezone.localdate()
    sweep_overdue(now=local(today, 18, 30))
    daylist.build_day(today)
    assert item(world.resident_a).escalated_at is not None


def test_the_worker_keeps_today_built_and_fills_in_the_missing_past_days_one_at_a_time(emergency):
    today = timezone.localdate()
    first = keep_day_lists.call()
    assert first["built_today"] and first["backfilled"] == (today - dt.timedelta(days=1)).isoformat()
    second = keep_day_lists.call()
    assert not second["built_today"] and second["backfilled"] == (today - dt.timedelta(days=2)).isoformat()
    assert DueItem.objects.filter(day=today - dt.timedelta(days=2)).count() == 2


def test_a_reader_does_not_start_a_second_build_while_one_is_under_way(emergency):
    world = emergency
    today = timezone.localdate()
    DueDay.objects.create(day=today, stale_since=timezone.now())
    cov = queries.coverage(world.community_worker, world.community)
    assert cov.stale and cov.total.due == 0 and not DueItem.objects.filter(day=today).exists()


def test_a_build_that_died_is_started_again_by_the_next_reader(emergency):
    world = emergency
    today = timezone.localdate()
    DueDay.objects.create(day=today, stale_since=timezone.now() - dt.timedelta(hours=1))
    cov = queries.coverage(world.community_worker, world.community)
    assert not cov.stale and cov.total.due == 2


def test_the_evening_escalation_is_emailed_to_those_with_an_address(
    emergency, mailoutbox, django_capture_on_commit_callbacks
):
    world = emergency
    world.community_worker.email = "zhang@example.org"
    world.community_worker.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_overdue(now=local(timezone.localdate(), 18, 5))
    assert result.notified == 2
    assert sorted(m.subject for m in mailoutbox) == ["第一网格今日1人未按时联系", "第二网格今日1人未按时联系"]
    assert all(m.to == ["zhang@example.org"] for m in mailoutbox)


def test_a_large_districts_day_never_listed_is_not_worked_out_inside_a_page(emergency, settings, login):
    world = emergency
    settings.CAREGRID_CARE_INLINE_REFRESH = 0
    today = timezone.localdate()
    daylist.build_day(today)
    long_ago = today - dt.timedelta(days=60)
    cov = queries.coverage(world.community_worker, world.community, long_ago)
    assert cov.unlisted and cov.total.due == 0
    assert not DueDay.objects.filter(day=long_ago).exists()
    page = login(world.community_worker).get(f"/care/policies/coverage/?place={world.community.pk}&date={long_ago}")
    assert "这一天没有保存应联系名单" in page.text


def test_english_coverage_names_categories_in_english(emergency, login):
    world = emergency
    client = login(world.community_worker)
    client.cookies["django_language"] = "en"
    page = client.get(f"/care/policies/coverage/?place={world.community.pk}")
    alone = Category.objects.get(code="elderly_alone")
    assert alone.name_en and alone.name_en in page.text
