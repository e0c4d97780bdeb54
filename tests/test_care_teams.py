"""Care teams (包联): assigning carers, handovers, the 五包一 and 二对一 templates, the gap list and scoping."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from caregrid.accounts.models import AuditEvent
from caregrid.care.models import CareAssignment, CarerRole
from caregrid.care.teams import queries
from caregrid.care.teams.actions import (
    FIVE_FOR_ONE,
    TWO_FOR_ONE,
    Carer,
    assignment_create,
    assignment_end,
    assignment_handover,
    team_template_apply,
)
from caregrid.people.actions import CategoryEntry, ResidentData, resident_create
from caregrid.people.models import Category
from caregrid.places.actions import zone_set
from caregrid.places.models import ZoneStatus
from caregrid.places.queries import today
from tests.conftest import make_id


def _monitored_resident(world):
    """A resident of grid A under home health monitoring."""
    return resident_create(
        actor="system",
        data=ResidentData(
            id_number=make_id("320602", "19600505", "456"),
            name="陈桂芳",
            household=world.household_a,
            phone="13700001111",
            categories=[CategoryEntry(Category.objects.get(code="home_monitoring"))],
        ),
    )


def _seal(world, place):
    zone_set(
        actor=world.district_admin, place=place, status=ZoneStatus.SEALED, start_date=today(), reason="发现阳性病例"
    )


def test_community_worker_assigns_a_grid_worker_as_carer(world):
    a = assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    assert [c.pk for c in queries.carers_of(world.resident_a)] == [a.pk]
    assert list(queries.residents_of(world.grid_worker_a)) == [world.resident_a]
    assert a.grid_path == world.resident_a.grid_path
    event = AuditEvent.objects.get(action="care.assign")
    assert event.object_id == str(a.pk) and event.changes["carer"] == world.grid_worker_a.pk


def test_party_member_household_is_assigned_by_name_and_cleaned_phone(world):
    a = assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.PARTY_MEMBER,
        carer=Carer(name="周 建华", phone="138 1234 0000"),
    )
    assert (a.carer_name, a.carer_phone, a.carer_id) == ("周建华", "13812340000", None)


def test_named_carer_without_a_valid_phone_is_refused(world):
    with pytest.raises(ValidationError) as e:
        assignment_create(
            actor=world.community_worker,
            resident=world.resident_a,
            role=CarerRole.MEDIC,
            carer=Carer(name="刘医生", phone="12345"),
        )
    assert "carer_phone" in e.value.message_dict
    assert not CareAssignment.objects.exists()


def test_the_same_carer_cannot_be_assigned_twice_in_a_role(world):
    kwargs = dict(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    assignment_create(**kwargs)
    with pytest.raises(ValidationError):
        assignment_create(**kwargs)
    assert CareAssignment.objects.count() == 1


def test_grid_worker_of_another_grid_cannot_be_made_carer(world):
    with pytest.raises(ValidationError) as e:
        assignment_create(
            actor=world.community_worker,
            resident=world.resident_a,
            role=CarerRole.GRID_WORKER,
            carer=Carer(user=world.grid_worker_b),
        )
    assert "carer" in e.value.message_dict


def test_grid_worker_may_not_assign_carers(world):
    with pytest.raises(PermissionDenied):
        assignment_create(
            actor=world.grid_worker_a,
            resident=world.resident_a,
            role=CarerRole.GRID_WORKER,
            carer=Carer(user=world.grid_worker_a),
        )


def test_ending_an_assignment_needs_a_reason_and_is_audited(world):
    a = assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    with pytest.raises(ValidationError):
        assignment_end(actor=world.community_worker, assignment=a, reason=" ")
    assignment_end(actor=world.community_worker, assignment=a, reason="居民已迁出")
    a.refresh_from_db()
    assert a.until is not None and a.end_reason == "居民已迁出"
    assert queries.carers_of(world.resident_a) == []
    assert AuditEvent.objects.filter(action="care.end", object_id=str(a.pk)).exists()


def test_handover_ends_the_ill_carer_and_assigns_the_replacement_audited(world):
    old = assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    new = assignment_handover(
        actor=world.community_worker,
        assignment=old,
        reason="包联人被隔离",
        carer=Carer(user=world.community_worker),
    )
    old.refresh_from_db()
    assert old.until is not None and old.end_reason == "包联人被隔离"
    assert new.role == CarerRole.GRID_WORKER and new.carer == world.community_worker and new.since == old.until
    assert [c.pk for c in queries.carers_of(world.resident_a)] == [new.pk]
    events = AuditEvent.objects.filter(action="care.handover").order_by("id")
    assert [e.object_id for e in events] == [str(old.pk), str(new.pk)]
    assert events[1].changes["replaces"] == old.pk and events[1].changes["reason"] == "包联人被隔离"


def test_failed_handover_leaves_the_old_carer_in_place(world):
    old = assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    with pytest.raises(ValidationError):
        assignment_handover(
            actor=world.community_worker, assignment=old, reason="患病", carer=Carer(user=world.grid_worker_b)
        )
    old.refresh_from_db()
    assert old.until is None
    assert not AuditEvent.objects.filter(action="care.handover").exists()


def test_two_for_one_gives_every_priority_resident_of_the_grid_two_carers_once(world):
    carers = {"grid_worker": Carer(user=world.grid_worker_a), "party_member": Carer(name="周建华", phone="13812340000")}
    first = team_template_apply(actor=world.community_worker, template=TWO_FOR_ONE, grid=world.grid_a, carers=carers)
    assert (first.residents, first.assigned, first.skipped) == (1, 2, 0)
    roles = sorted(a.role for a in queries.carers_of(world.resident_a))
    assert roles == [CarerRole.GRID_WORKER, CarerRole.PARTY_MEMBER]
    assert queries.carers_of(world.resident_b) == []  # grid B is not touched
    again = team_template_apply(actor=world.community_worker, template=TWO_FOR_ONE, grid=world.grid_a, carers=carers)
    assert (again.assigned, again.skipped) == (0, 2)
    assert CareAssignment.objects.count() == 2
    assert AuditEvent.objects.filter(action="care.template").count() == 2


def test_template_skips_residents_who_already_have_the_role(world):
    assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.PARTY_MEMBER,
        carer=Carer(name="吴党员", phone="13900002222"),
    )
    result = team_template_apply(
        actor=world.community_worker,
        template=TWO_FOR_ONE,
        grid=world.grid_a,
        carers={"party_member": Carer(name="周建华", phone="13812340000")},
    )
    assert (result.assigned, result.skipped) == (0, 1)
    assert [a.carer_name for a in queries.carers_of(world.resident_a)] == ["吴党员"]


def test_five_for_one_covers_only_residents_under_home_monitoring(world):
    monitored = _monitored_resident(world)
    carers = {
        "cadre": Carer(user=world.community_worker),
        "grid_worker": Carer(user=world.grid_worker_a),
        "medic": Carer(name="刘医生", phone="13600003333"),
        "police": Carer(name="孙警官", phone="0513-85550110"),
    }
    result = team_template_apply(actor=world.district_admin, template=FIVE_FOR_ONE, grid=world.grid_a, carers=carers)
    assert (result.residents, result.assigned) == (1, 4)
    assert {a.role for a in queries.carers_of(monitored)} == {
        CarerRole.CADRE,
        CarerRole.GRID_WORKER,
        CarerRole.MEDIC,
        CarerRole.POLICE,
    }
    assert queries.carers_of(world.resident_a) == []
    again = team_template_apply(actor=world.district_admin, template=FIVE_FOR_ONE, grid=world.grid_a, carers=carers)
    assert again.assigned == 0


def test_template_slot_for_staff_refuses_a_name(world):
    with pytest.raises(ValidationError) as e:
        team_template_apply(
            actor=world.community_worker,
            template=TWO_FOR_ONE,
            grid=world.grid_a,
            carers={"grid_worker": Carer(name="某人", phone="13800000000")},
        )
    assert "grid_worker" in e.value.message_dict


def test_gap_list_shows_priority_residents_in_sealed_zones_without_carers(world):
    assert queries.care_gaps(world.community_worker).total == 0
    _seal(world, world.compound)
    gaps = queries.care_gaps(world.community_worker)
    assert {r.pk for r in gaps.residents} == {world.resident_a.pk, world.resident_b.pk}
    assert gaps.counts[ZoneStatus.SEALED] == 2 and gaps.counts[ZoneStatus.CONTROLLED] == 0
    assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    assert [r.pk for r in queries.care_gaps(world.community_worker).residents] == [world.resident_b.pk]


def test_gap_list_counts_a_resident_again_once_their_only_carer_ends(world):
    _seal(world, world.building_a)
    a = assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    assert queries.care_gaps(world.community_worker).total == 0
    assignment_end(actor=world.community_worker, assignment=a, reason="包联人患病")
    assert queries.care_gaps(world.community_worker).total == 1


def test_grid_worker_sees_only_their_grid_in_the_gap_list(world):
    _seal(world, world.compound)
    assert [r.pk for r in queries.care_gaps(world.grid_worker_a).residents] == [world.resident_a.pk]
    assert [r.pk for r in queries.care_gaps(world.grid_worker_b).residents] == [world.resident_b.pk]
    assert queries.care_gaps(world.auditor).total == 0


# --- Pages ---------------------------------------------------------------------------------------------------


def test_grid_worker_sees_their_grid_team_but_not_the_other_grids_residents(world, login):
    assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    page = login(world.grid_worker_a).get(reverse("care_teams:team")).content.decode()
    assert "王秀英" in page and "网格员甲" in page
    assert "李建国" not in page
    assert "/handover/" not in page  # a grid worker may not hand carers over


def test_grid_worker_cannot_open_another_grid_on_the_team_page(world, login):
    client = login(world.grid_worker_a)
    assert client.get(reverse("care_teams:team"), {"place": world.grid_b.pk}).status_code == 404


def test_team_page_filters_residents_missing_a_role(world, login):
    assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_a),
    )
    client = login(world.community_worker)
    page = client.get(reverse("care_teams:team"), {"place": world.community.pk, "missing": "any"}).content.decode()
    assert "李建国" in page and "王秀英" not in page
    page = client.get(reverse("care_teams:team"), {"place": world.community.pk, "role": "grid_worker"}).content.decode()
    assert "王秀英" in page and "李建国" not in page


def test_auditor_and_hotline_operator_cannot_see_care_teams(world, login):
    for user in (world.auditor, world.hotline_operator):
        client = login(user)
        assert client.get(reverse("care_teams:team")).status_code == 403
        assert client.get(reverse("care_teams:gaps")).status_code == 403
        assert client.get(reverse("care_teams:resident_panel", args=[world.resident_a.pk])).status_code == 403


def test_community_worker_assigns_a_carer_through_the_form(world, login):
    client = login(world.community_worker)
    url = reverse("care_teams:assign", args=[world.resident_a.pk])
    assert "网格员甲" in client.get(url).content.decode()
    response = client.post(url, {"role": "medic", "carer_name": "刘医生", "carer_phone": "13600003333"})
    assert response.status_code == 302
    assert [a.carer_name for a in queries.carers_of(world.resident_a)] == ["刘医生"]
    response = client.post(url, {"role": "medic"})
    assert response.status_code == 400 and "请选择系统用户，或填写包联人姓名和电话" in response.content.decode()


def test_grid_worker_cannot_open_the_assign_form(world, login):
    url = reverse("care_teams:assign", args=[world.resident_a.pk])
    assert login(world.grid_worker_a).get(url).status_code == 403


def test_handover_form_replaces_the_carer(world, login):
    old = assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.PARTY_MEMBER,
        carer=Carer(name="吴党员", phone="13900002222"),
    )
    client = login(world.community_worker)
    url = reverse("care_teams:handover", args=[old.pk])
    response = client.post(url, {"reason": "包联人患病", "carer_name": "周建华", "carer_phone": "13812340000"})
    assert response.status_code == 302
    assert [a.carer_name for a in queries.carers_of(world.resident_a)] == ["周建华"]
    assert client.get(url).status_code == 404  # an ended assignment cannot be handed over again


def test_end_form_ends_an_assignment(world, login):
    a = assignment_create(
        actor=world.community_worker,
        resident=world.resident_b,
        role=CarerRole.GRID_WORKER,
        carer=Carer(user=world.grid_worker_b),
    )
    client = login(world.community_worker)
    assert client.post(reverse("care_teams:end", args=[a.pk]), {"reason": ""}).status_code == 400
    assert client.post(reverse("care_teams:end", args=[a.pk]), {"reason": "居民已迁出"}).status_code == 302
    assert queries.carers_of(world.resident_b) == []


def test_template_page_applies_two_for_one_and_reports_counts(world, login):
    client = login(world.community_worker)
    url = reverse("care_teams:template", args=["two_for_one"])
    page = client.get(url, {"grid": world.grid_a.pk}).content.decode()
    assert "网格员甲" in page and "网格员乙" not in page
    data = {
        "grid": world.grid_a.pk,
        "grid_worker_user": world.grid_worker_a.pk,
        "party_member_name": "周建华",
        "party_member_phone": "13812340000",
    }
    response = client.post(url, data, follow=True)
    assert "新指派2项" in response.content.decode()
    response = client.post(url, data, follow=True)
    assert "新指派0项，已有而跳过2项" in response.content.decode()
    assert CareAssignment.objects.count() == 2


def test_gap_page_lists_and_counts_residents_without_carers(world, login):
    _seal(world, world.building_b)
    page = login(world.community_worker).get(reverse("care_teams:gaps")).content.decode()
    assert "李建国" in page and "王秀英" not in page
    assert "共 1 人" in page


def test_resident_panel_shows_current_carers(world, login):
    assignment_create(
        actor=world.community_worker,
        resident=world.resident_a,
        role=CarerRole.MEDIC,
        carer=Carer(name="刘医生", phone="13600003333"),
        at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
    )
    page = login(world.grid_worker_a).get(reverse("care_teams:resident_panel", args=[world.resident_a.pk]))
    text = page.content.decode()
    assert "刘医生" in text and "13600003333" in text and "2026-01-05" in text
    other = login(world.grid_worker_b).get(reverse("care_teams:resident_panel", args=[world.resident_a.pk]))
    assert other.status_code == 404
