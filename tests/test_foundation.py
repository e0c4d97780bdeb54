"""The foundation: tree paths, scoping, zones, audit."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from caregrid.accounts.models import AuditEvent
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.people.models import Resident
from caregrid.places.actions import zone_set
from caregrid.places.models import Place, ZoneStatus
from caregrid.places.queries import zone_of, zone_q
from caregrid.places.tree import descendants

pytestmark = pytest.mark.django_db


def test_everything_under_a_place_is_one_prefix_query(world):
    names = set(descendants(world.compound).values_list("name", flat=True))
    assert {"紫东花苑", "1幢", "2幢", "101", "202"} <= names
    assert "河西新村" not in names


def test_a_grid_worker_sees_only_their_grid(world):
    mine = scoped(world.grid_worker_a, Resident.objects.all(), Cap.VIEW_RESIDENTS)
    assert list(mine) == [world.resident_a]
    theirs = scoped(world.grid_worker_b, Resident.objects.all(), Cap.VIEW_RESIDENTS)
    assert list(theirs) == [world.resident_b]


def test_a_community_worker_sees_their_community_only(world):
    seen = set(scoped(world.community_worker, Resident.objects.all(), Cap.VIEW_RESIDENTS))
    assert seen == {world.resident_a, world.resident_b}


def test_an_auditor_sees_no_residents(world):
    assert not scoped(world.auditor, Resident.objects.all(), Cap.VIEW_RESIDENTS).exists()


def test_a_zone_is_inherited_and_the_deepest_wins(world):
    day = dt.date(2022, 4, 1)
    zone_set(
        actor=world.district_admin, place=world.community, status=ZoneStatus.CONTROLLED, start_date=day, reason="管控"
    )
    zone_set(
        actor=world.district_admin, place=world.building_a, status=ZoneStatus.SEALED, start_date=day, reason="封控"
    )
    assert zone_of(world.household_a, day).status == ZoneStatus.SEALED
    assert zone_of(world.household_b, day).status == ZoneStatus.CONTROLLED
    assert zone_of(world.household_a, day - dt.timedelta(days=1)) is None
    sealed = Resident.objects.filter(zone_q(ZoneStatus.SEALED, day), is_priority=True)
    assert list(sealed) == [world.resident_a]
    controlled = Resident.objects.filter(zone_q(ZoneStatus.CONTROLLED, day))
    assert list(controlled) == [world.resident_b]


def test_a_new_zone_closes_the_previous_period(world):
    day = dt.date(2022, 4, 1)
    zone_set(
        actor=world.district_admin, place=world.building_a, status=ZoneStatus.SEALED, start_date=day, reason="封控"
    )
    zone_set(
        actor=world.district_admin,
        place=world.building_a,
        status=ZoneStatus.LIFTED,
        start_date=day + dt.timedelta(days=14),
        reason="解封",
    )
    assert zone_of(world.household_a, day + dt.timedelta(days=13)).status == ZoneStatus.SEALED
    assert zone_of(world.household_a, day + dt.timedelta(days=14)).status == ZoneStatus.LIFTED
    assert world.building_a.zone_periods.count() == 2
    assert AuditEvent.objects.filter(action="zone.set", object_id=str(world.building_a.pk)).count() == 2


def test_the_audit_log_refuses_updates_and_deletes(world):
    event = AuditEvent.objects.first()
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(IntegrityError if connection.vendor == "sqlite" else Exception), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(Exception), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_places_know_their_grid(world):
    hh = Place.objects.get(pk=world.household_a.pk)
    assert hh.grid == world.grid_a
    assert world.resident_a.grid_path == world.grid_a.path


def test_passwords_are_hashed_with_argon2_outside_tests():
    from caregrid import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_every_page_carries_a_content_security_policy(client):
    response = client.get("/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy


def test_pages_are_in_chinese_even_for_an_english_browser(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()


def test_the_language_switch_turns_pages_english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    response = client.get("/login/")
    assert response.headers["Content-Language"] == "en"


def test_categories_show_their_english_name_on_english_pages(world, login):
    client = login(world.community_worker)
    assert "独居老人" in client.get("/residents/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/residents/"})
    page = client.get("/residents/").content.decode()
    assert "Elderly living alone" in page
    assert "独居老人" not in page


def test_labels_are_separated_by_an_english_colon_on_english_pages(world, login):
    client = login(world.district_admin)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert "Current mode: " in page
    assert "：" not in page.split("<main", 1)[1].split("</main>", 1)[0]
