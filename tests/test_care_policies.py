"""Cadence rules: the seeded defaults, rule history, and what is due, done and overdue on a day."""

import datetime as dt

import pytest
from django.utils import timezone

from caregrid.accounts.models import AuditEvent
from caregrid.care.models import CareAssignment, CarePolicy, Contact
from caregrid.care.policies import actions, queries
from caregrid.care.policies.defaults import install_default_policies
from caregrid.people.models import Category, ResidentCategory
from caregrid.places.actions import mode_set, zone_set
from caregrid.places.models import ModeChange

WED = dt.date(2026, 11, 18)  # weeks start on Monday 16 November


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def rules(world):
    """The default rules, in force since long before the days the tests look at."""
    install_default_policies(CarePolicy, Category, timezone.now())  # a flushed database has lost the seeded rules
    CarePolicy.objects.update(valid_from=at(dt.date(2026, 1, 1), 0))
    return world


def contact(world, resident, when, *, channel="phone", outcome="reached", temperature=None):
    return Contact.objects.create(
        district=world.district,
        resident=resident,
        carer=world.grid_worker_a,
        at=when,
        channel=channel,
        outcome=outcome,
        temperature=temperature,
        place_path=resident.place_path,
        grid_path=resident.grid_path,
    )


def emergency(world, since: dt.datetime, zone_from: dt.date = dt.date(2026, 11, 1)):
    zone_set(actor="system", place=world.community, status="sealed", start_date=zone_from, reason="疫情封控")
    ModeChange.objects.create(mode="emergency", started_at=since, reason="启动应急")


def due_for(resident, day, now):
    return queries.due_today([resident], day, now=now)[0]


def test_default_rules_are_seeded_for_emergency_and_peacetime(db):
    install_default_policies(CarePolicy, Category, timezone.now())  # no-op after the data migration
    current = CarePolicy.objects.filter(valid_until__isnull=True).select_related("category")
    rules = {(p.category.code, p.zone, p.mode, p.channel): p for p in current}
    for code in ("elderly_alone", "dialysis", "pregnant", "limited_mobility", "elderly_no_family"):
        for zone in ("sealed", "controlled"):
            assert (rules[(code, zone, "emergency", "")].times, rules[(code, zone, "emergency", "")].per) == (1, "day")
    monitoring = rules[("home_monitoring", "", "emergency", "")]
    assert (monitoring.times, monitoring.per, monitoring.temperature) == (2, "day", True)
    assert rules[("elderly_alone", "", "peacetime", "visit")].per == "month"
    assert rules[("elderly_alone", "", "peacetime", "phone")].per == "week"


def test_setting_a_rule_ends_the_one_in_force_and_keeps_its_history(rules):
    world = rules
    alone = Category.objects.get(code="elderly_alone")
    old = CarePolicy.objects.get(category=alone, zone="sealed", mode="emergency", valid_until__isnull=True)
    new = actions.policy_set(
        actor=world.district_admin, category=alone, zone="sealed", mode="emergency", times=2, per="day", reason="寒潮"
    )
    old.refresh_from_db()
    assert old.valid_until == new.valid_from
    assert CarePolicy.objects.filter(category=alone, zone="sealed", mode="emergency").count() == 2
    assert AuditEvent.objects.filter(action="care.policy_set", object_id=str(new.pk)).exists()
    actions.policy_end(actor=world.district_admin, policy=new, reason="寒潮结束")
    new.refresh_from_db()
    assert new.valid_until is not None
    assert AuditEvent.objects.filter(action="care.policy_end", object_id=str(new.pk)).exists()


def test_weekly_call_is_due_until_a_call_is_made_this_week(rules):
    world = rules
    resident = world.resident_a  # elderly living alone, peacetime: a call a week and a visit a month
    item = due_for(resident, WED, at(WED, 10))
    assert {(r.policy.channel, r.required) for r in item.rules} == {("phone", 1), ("visit", 1)}
    contact(world, resident, at(dt.date(2026, 11, 13), 9))  # last week's call does not count
    contact(world, resident, at(dt.date(2026, 11, 16), 9), outcome="not_reached")
    assert {r.policy.channel for r in due_for(resident, WED, at(WED, 10)).due_rules} == {"phone", "visit"}
    contact(world, resident, at(dt.date(2026, 11, 16), 15))  # Monday's call reached her
    assert {r.policy.channel for r in due_for(resident, WED, at(WED, 10)).due_rules} == {"visit"}
    contact(world, resident, at(dt.date(2026, 11, 2), 15), channel="visit")
    assert not due_for(resident, WED, at(WED, 10)).is_due


def test_a_contact_made_today_counts_toward_the_weekly_rule_today(rules):
    world = rules
    contact(world, world.resident_a, at(WED, 9), channel="visit")
    contact(world, world.resident_a, at(WED, 9, 30), channel="phone")
    item = due_for(world.resident_a, WED, at(WED, 10))
    assert item.is_due and item.is_done and item.done == 1


def test_mode_switch_changes_what_is_due_only_from_that_moment(rules):
    world = rules
    resident = world.resident_b  # dialysis: weekly in peacetime, daily in a sealed zone during an emergency
    emergency(world, since=at(WED, 12))
    tuesday = due_for(resident, WED - dt.timedelta(days=1), at(WED, 13))
    assert [(r.policy.mode, r.policy.per) for r in tuesday.rules] == [("peacetime", "week")]
    before = due_for(resident, WED, at(WED, 11))
    assert [(r.policy.mode, r.policy.per) for r in before.rules] == [("peacetime", "week")]
    after = due_for(resident, WED, at(WED, 13))
    assert [(r.policy.mode, r.policy.per, r.policy.zone) for r in after.rules] == [("emergency", "day", "sealed")]


def test_switching_the_mode_now_leaves_yesterday_as_it_was(rules):
    world = rules
    today = timezone.localdate()
    zone_set(
        actor="system", place=world.community, status="sealed", start_date=today - dt.timedelta(days=3), reason="封控"
    )
    mode_set(actor=world.district_admin, mode="emergency", reason="启动应急响应")
    now = timezone.now()
    yesterday = due_for(world.resident_b, today - dt.timedelta(days=1), now)
    assert {r.policy.mode for r in yesterday.rules} == {"peacetime"}
    assert {(r.policy.mode, r.policy.per) for r in due_for(world.resident_b, today, now).rules} == {
        ("emergency", "day")
    }


def test_due_done_and_overdue_after_the_cut_off(rules):
    world = rules
    emergency(world, since=at(dt.date(2026, 11, 10), 8))
    contact(world, world.resident_b, at(WED, 9))
    morning = {i.resident.pk: i for i in queries.due_today([world.resident_a, world.resident_b], WED, now=at(WED, 10))}
    assert morning[world.resident_b.pk].is_done
    assert morning[world.resident_a.pk].is_due and not morning[world.resident_a.pk].overdue
    evening = {i.resident.pk: i for i in queries.due_today([world.resident_a, world.resident_b], WED, now=at(WED, 20))}
    assert evening[world.resident_a.pk].overdue and not evening[world.resident_b.pk].overdue


def test_temperature_rule_counts_only_contacts_that_took_a_temperature(rules):
    world = rules
    emergency(world, since=at(dt.date(2026, 11, 10), 8))
    monitoring = Category.objects.get(code="home_monitoring")
    ResidentCategory.objects.create(resident=world.resident_other, category=monitoring)
    contact(world, world.resident_other, at(WED, 8), temperature="36.6")
    contact(world, world.resident_other, at(WED, 9))
    item = due_for(world.resident_other, WED, at(WED, 10))
    assert (item.required, item.done, item.is_done) == (2, 1, False)
    contact(world, world.resident_other, at(WED, 16), channel="wechat", temperature="36.8")
    assert due_for(world.resident_other, WED, at(WED, 17)).is_done


def test_coverage_counts_by_grid_carer_and_category(rules):
    world = rules
    emergency(world, since=at(dt.date(2026, 11, 10), 8))
    contact(world, world.resident_a, at(WED, 9))
    contact(world, world.resident_b, at(WED - dt.timedelta(days=1), 9), outcome="not_reached")
    contact(world, world.resident_b, at(WED, 8), outcome="not_reached")
    CareAssignment.objects.create(
        resident=world.resident_b,
        role="grid_worker",
        carer=world.grid_worker_b,
        since=at(dt.date(2026, 11, 1), 0),
        place_path=world.resident_b.place_path,
        grid_path=world.resident_b.grid_path,
    )
    cov = queries.coverage(world.community_worker, world.community, WED, now=at(WED, 20))
    assert (cov.total.due, cov.total.done, cov.total.overdue, cov.total.missed_twice) == (2, 1, 1, 1)
    grids = {t.label: (t.due, t.done, t.overdue) for t in cov.by_grid}
    assert grids == {"第一网格": (1, 1, 0), "第二网格": (1, 0, 1)}
    carers = {t.label: (t.due, t.overdue) for t in cov.by_carer}
    assert carers == {str(world.grid_worker_b): (1, 1), "未包联": (1, 0)}
    categories = {t.label: t.done for t in cov.by_category}
    assert categories == {"独居老人": 1, "血透": 0}
    assert [i.resident.pk for i in cov.overdue] == [world.resident_b.pk]
    assert len(cov.series) == 30 and cov.series[-1].day == WED
    assert (cov.series[-1].due, cov.series[-1].done) == (2, 1)
    # Before the switch (peacetime on 1 November), resident_b's weekly rule was due with no contact that week.
    first = cov.series[0]
    assert first.day == dt.date(2026, 10, 20) and first.due == 2 and first.overdue == 2


def test_grid_worker_coverage_counts_only_their_grid(rules):
    world = rules
    emergency(world, since=at(dt.date(2026, 11, 10), 8))
    cov = queries.coverage(world.grid_worker_a, world.community, WED, now=at(WED, 20))
    assert cov.total.due == 1
    assert [t.label for t in cov.by_grid] == ["第一网格"]


def test_coverage_of_a_community_takes_a_fixed_number_of_queries_once_the_days_are_listed(
    rules, django_assert_max_num_queries
):
    world = rules
    emergency(world, since=at(dt.date(2026, 11, 10), 8))
    for day in range(1, 18):
        contact(world, world.resident_a, at(dt.date(2026, 11, day), 9))
    first = queries.coverage(world.community_worker, world.community, WED, now=at(WED, 20))
    with django_assert_max_num_queries(16):
        again = queries.coverage(world.community_worker, world.community, WED, now=at(WED, 20))
    assert [(p.due, p.done) for p in again.series] == [(p.due, p.done) for p in first.series]


def test_district_admin_sets_a_rule_on_the_rules_page(rules, login):
    world = rules
    client = login(world.district_admin)
    page = client.get("/care/policies/")
    assert page.status_code == 200 and "独居老人" in page.text
    alone = Category.objects.get(code="elderly_alone")
    response = client.post(
        "/care/policies/",
        {"category": alone.pk, "mode": "peacetime", "zone": "", "times": 2, "per": "week", "channel": "phone"},
    )
    assert response.status_code == 302
    current = CarePolicy.objects.get(category=alone, mode="peacetime", channel="phone", valid_until__isnull=True)
    assert current.times == 2
    assert "历史规则" in client.get("/care/policies/").text


def test_grid_worker_cannot_open_the_rules_page(rules, login):
    assert login(rules.grid_worker_a).get("/care/policies/").status_code == 403


def test_community_worker_sees_coverage_of_their_community_only(rules, login):
    world = rules
    client = login(world.community_worker)
    page = client.get(f"/care/policies/coverage/?place={world.community.pk}")
    assert page.status_code == 200 and "data-stats-chart" in page.text and "第一网格" in page.text
    assert client.get(f"/care/policies/coverage/?place={world.other_community.pk}").status_code == 404
