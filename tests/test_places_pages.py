"""Place tree pages, zone changes, the mode switch and the home dashboard, for every persona."""

import datetime as dt

import pytest
from django.urls import reverse

from caregrid.accounts.models import AuditEvent
from caregrid.people.models import Category
from caregrid.places.actions import zone_set
from caregrid.places.models import Mode, ModeChange, ZonePeriod, ZoneStatus
from caregrid.places.queries import counts_by_child, counts_for_place, today

PERSONAS = ["district_admin", "community_worker", "grid_worker_a", "grid_worker_b", "hotline_operator", "auditor"]


def detail(place):
    return reverse("places:detail", args=[place.pk])


def zone_url(place):
    return reverse("places:zone", args=[place.pk])


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_home_page_and_the_tree_render_for_every_persona(world, login, persona):
    client = login(getattr(world, persona))
    home = client.get("/")
    assert home.status_code == 200
    assert "平急转换" in home.content.decode()
    tree = client.get(reverse("places:tree"))
    assert tree.status_code == 200


@pytest.mark.parametrize("persona", ["district_admin", "community_worker"])
def test_the_community_page_renders_for_those_whose_scope_covers_it(world, login, persona):
    response = login(getattr(world, persona)).get(detail(world.community))
    assert response.status_code == 200
    body = response.content.decode()
    assert "紫东花苑" in body and "第一网格" in body and "第二网格" in body


def test_a_community_page_lists_its_grids_with_the_buildings_they_cover(world, login):
    body = login(world.community_worker).get(detail(world.community)).content.decode()
    grids_section = body[body.index("网格按楼栋划分") :]
    assert "紫东花苑1幢" in grids_section and "紫东花苑2幢" in grids_section
    # The compound spans both grids, and its row says so.
    compound_row = body[body.index(f'href="{detail(world.compound)}"') : body.index("网格按楼栋划分")]
    assert "第一网格" in compound_row and "第二网格" in compound_row


def test_the_breadcrumbs_show_the_ancestors_of_a_place(world, login):
    body = login(world.community_worker).get(detail(world.building_a)).content.decode()
    crumbs = body[body.index('class="crumbs"') : body.index("</nav>", body.index('class="crumbs"'))]
    for name in ("崇川区", "和平桥街道", "紫东社区", "紫东花苑"):
        assert name in crumbs
    # The community worker may open the community, not the district above it.
    assert f'href="{detail(world.community)}"' in crumbs
    assert f'href="{detail(world.district)}"' not in crumbs


def test_a_grid_worker_of_grid_a_cannot_open_a_building_of_grid_b(world, login):
    client = login(world.grid_worker_a)
    assert client.get(detail(world.building_b)).status_code == 404
    assert client.get(detail(world.household_b)).status_code == 404
    assert client.get(detail(world.grid_b)).status_code == 404
    assert client.get(detail(world.building_a)).status_code == 200


def test_a_grid_worker_sees_their_grid_and_what_it_covers_and_nothing_of_grid_b(world, login):
    client = login(world.grid_worker_a)
    tree = client.get(reverse("places:tree")).content.decode()
    assert "第一网格" in tree and "第二网格" not in tree
    grid_page = client.get(detail(world.grid_a)).content.decode()
    assert "紫东花苑1幢" in grid_page
    assert "2幢" not in grid_page and "第二网格" not in grid_page
    assert client.get(detail(world.compound)).status_code == 404


def test_a_grid_worker_counts_only_their_own_grid(world, login):
    client = login(world.grid_worker_a)
    ctx = client.get(detail(world.grid_a)).context
    assert ctx["own"].residents == 1
    assert [r["counts"].residents for r in ctx["rows"]] == [1]
    home = client.get("/").context
    assert home["summary"].residents == 1 and home["summary"].priority == 1
    alone = Category.objects.get(code="elderly_alone")
    dialysis = Category.objects.get(code="dialysis")
    assert home["summary"].categories == {alone.pk: 1}
    assert dialysis.name not in client.get("/").content.decode()


def test_counts_exclude_the_other_grid_even_where_the_place_is_shared(world):
    # The community holds both grids' residents; grid worker A's counts of it hold only A's.
    counts = counts_for_place(world.grid_worker_a, world.community)
    assert counts.residents == 1
    assert counts_for_place(world.grid_worker_b, world.community).residents == 1
    assert counts_for_place(world.community_worker, world.community).residents == 2


def test_a_community_worker_cannot_see_the_other_community(world, login):
    client = login(world.community_worker)
    assert client.get(detail(world.other_community)).status_code == 404
    assert client.get(detail(world.household_other)).status_code == 404
    home = client.get("/").context
    assert home["summary"].residents == 2
    body = client.get(reverse("places:tree")).content.decode()
    assert "河西社区" not in body


def test_counts_per_child_match_the_personas(world, login):
    alone = Category.objects.get(code="elderly_alone")
    dialysis = Category.objects.get(code="dialysis")
    ctx = login(world.district_admin).get(detail(world.district)).context
    by_name = {r["place"].name: r["counts"] for r in ctx["rows"]}
    assert by_name["和平桥街道"].residents == 2 and by_name["和平桥街道"].priority == 2
    assert by_name["和平桥街道"].categories == {alone.pk: 1, dialysis.pk: 1}
    assert by_name["任港街道"].residents == 1 and by_name["任港街道"].priority == 0
    assert ctx["own"].residents == 3 and ctx["own"].priority == 2

    community = login(world.district_admin).get(detail(world.community)).context
    grids = {r["place"].name: r["counts"] for r in community["grid_rows"]}
    assert grids["第一网格"].residents == 1 and grids["第一网格"].categories == {alone.pk: 1}
    assert grids["第二网格"].residents == 1 and grids["第二网格"].categories == {dialysis.pk: 1}

    compound = login(world.district_admin).get(detail(world.compound)).context
    buildings = {r["place"].name: r["counts"].residents for r in compound["rows"]}
    assert buildings == {"1幢": 1, "2幢": 1}
    assert compound["own"].residents == 2 and compound["own"].categories == {alone.pk: 1, dialysis.pk: 1}

    household = login(world.district_admin).get(detail(world.household_a)).context
    assert household["own"].residents == 1 and household["own"].categories == {alone.pk: 1}


def test_a_category_count_that_has_ended_is_not_counted(world):
    link = world.resident_a.category_links.get()
    link.until = today() - dt.timedelta(days=1)
    link.save()
    counts = counts_by_child(world.district_admin, world.compound, [world.building_a, world.building_b])
    assert counts[world.building_a.pk].categories == {}
    assert counts[world.building_b.pk].categories != {}


def test_counts_link_to_the_filtered_resident_list(world, login):
    body = login(world.community_worker).get(detail(world.compound)).content.decode()
    assert f"/residents/?place={world.building_a.pk}&amp;category=elderly_alone" in body
    assert f"/residents/?place={world.building_b.pk}&amp;category=dialysis" in body


def test_the_place_page_carries_its_category_chart_data(world, login):
    response = login(world.community_worker).get(detail(world.community))
    body = response.content.decode()
    assert 'data-chart-source="place-chart-data"' in body
    assert sorted(response.context["chart"]["labels"]) == sorted(["独居老人", "血透"])
    assert response.context["chart"]["values"] == [1, 1]
    assert "vendor/echarts/echarts.min.js" in body


def test_a_place_page_takes_the_same_number_of_queries_however_many_children(world, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from caregrid.places.actions import place_create
    from caregrid.places.models import PlaceKind

    client = login(world.district_admin)
    client.get(detail(world.compound))
    with CaptureQueriesContext(connection) as before:
        client.get(detail(world.compound))
    for n in range(3, 9):
        building = place_create(actor="system", parent=world.compound, kind=PlaceKind.BUILDING, name=f"{n}幢")
        place_create(actor="system", parent=building, kind=PlaceKind.HOUSEHOLD, name="101")
    with CaptureQueriesContext(connection) as after:
        response = client.get(detail(world.compound))
    assert len(response.context["rows"]) == 8
    assert len(after.captured_queries) == len(before.captured_queries)


def test_a_community_worker_seals_a_building_with_a_reason(world, login):
    client = login(world.community_worker)
    response = client.post(
        zone_url(world.building_a),
        {"status": ZoneStatus.SEALED, "start_date": today().isoformat(), "reason": "出现阳性病例"},
    )
    assert response.status_code == 302
    period = ZonePeriod.objects.get(place=world.building_a)
    assert period.status == ZoneStatus.SEALED and period.reason == "出现阳性病例"
    assert period.set_by == world.community_worker
    event = AuditEvent.objects.get(action="zone.set", object_id=str(world.building_a.pk))
    assert event.actor == world.community_worker
    page = client.get(detail(world.building_a)).content.decode()
    assert "封控区" in page and "出现阳性病例" in page
    assert "已将1幢设为封控区" in page


def test_a_zone_change_without_a_reason_is_refused_in_chinese(world, login):
    response = login(world.community_worker).post(
        zone_url(world.building_a), {"status": ZoneStatus.SEALED, "start_date": today().isoformat(), "reason": " "}
    )
    assert response.status_code == 400
    assert "请填写调整原因" in response.content.decode()
    assert not ZonePeriod.objects.exists()
    assert not AuditEvent.objects.filter(action="zone.set").exists()


def test_a_zone_change_ending_before_it_starts_is_refused(world, login):
    response = login(world.community_worker).post(
        zone_url(world.building_a),
        {
            "status": ZoneStatus.CONTROLLED,
            "start_date": "2022-01-10",
            "end_date": "2022-01-05",
            "reason": "管控",
        },
    )
    assert response.status_code == 400
    assert "截止日期不能早于生效日期" in response.content.decode()
    assert not ZonePeriod.objects.exists()


def test_an_htmx_zone_change_answers_with_the_zone_panel(world, login):
    client = login(world.community_worker)
    bad = client.post(
        zone_url(world.building_a),
        {"status": ZoneStatus.SEALED, "start_date": today().isoformat(), "reason": ""},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 200
    body = bad.content.decode()
    assert 'id="zone-panel"' in body and "请填写调整原因" in body and "<html" not in body
    good = client.post(
        zone_url(world.building_a),
        {"status": ZoneStatus.SEALED, "start_date": today().isoformat(), "reason": "阳性病例"},
        HTTP_HX_REQUEST="true",
    )
    assert good.status_code == 200
    assert 'class="badge zone-sealed"' in good.content.decode()
    assert ZonePeriod.objects.filter(place=world.building_a, status=ZoneStatus.SEALED).exists()


@pytest.mark.parametrize("persona", ["grid_worker_a", "hotline_operator", "auditor"])
def test_a_user_without_the_zone_capability_gets_403(world, login, persona):
    response = login(getattr(world, persona)).post(
        zone_url(world.building_a), {"status": ZoneStatus.SEALED, "start_date": today().isoformat(), "reason": "x"}
    )
    assert response.status_code == 403
    assert not ZonePeriod.objects.exists()


def test_a_zone_form_is_not_offered_to_a_grid_worker(world, login):
    body = login(world.grid_worker_a).get(detail(world.building_a)).content.decode()
    assert "调整区域状态" not in body


def test_a_community_worker_cannot_set_the_zone_of_the_other_community(world, login):
    response = login(world.community_worker).post(
        zone_url(world.household_other),
        {"status": ZoneStatus.SEALED, "start_date": today().isoformat(), "reason": "x"},
    )
    assert response.status_code == 404
    assert not ZonePeriod.objects.exists()


def test_a_sealed_zone_shows_on_children_and_on_the_dashboard(world, login):
    zone_set(actor="system", place=world.building_a, status=ZoneStatus.SEALED, start_date=today(), reason="阳性")
    client = login(world.community_worker)
    compound = client.get(detail(world.compound)).context
    zones = {r["place"].name: (r["zone"].status if r["zone"] else None) for r in compound["rows"]}
    assert zones == {"1幢": ZoneStatus.SEALED, "2幢": None}
    home = client.get("/")
    cards = {c["status"]: c["counts"] for c in home.context["zone_cards"]}
    assert cards[ZoneStatus.SEALED].residents == 1 and cards[ZoneStatus.SEALED].priority == 1
    assert cards[ZoneStatus.CONTROLLED].residents == 0
    assert [z.place for z in home.context["zoned"]] == [world.building_a]
    assert "/residents/?zone=sealed" in home.content.decode()
    # Grid worker B's dashboard knows nothing of it.
    other = login(world.grid_worker_b).get("/").context
    assert {c["status"]: c["counts"].residents for c in other["zone_cards"]}[ZoneStatus.SEALED] == 0
    assert other["zoned"] == []


def test_a_zone_set_on_the_community_shows_inherited_below(world, login):
    zone_set(actor="system", place=world.community, status=ZoneStatus.CONTROLLED, start_date=today(), reason="管控")
    body = login(world.grid_worker_a).get(detail(world.building_a)).content.decode()
    assert "管控区" in body and "随上级“紫东社区”" in body
    zoned = login(world.grid_worker_a).get("/").context["zoned"]
    assert [z.place for z in zoned] == [world.community]


def test_the_district_admin_switches_the_mode_after_confirming(world, login):
    client = login(world.district_admin)
    first = client.post(reverse("places:mode"), {"mode": Mode.EMERGENCY, "reason": "疫情封控"})
    assert first.status_code == 200
    assert "确认切换" in first.content.decode()
    assert not ModeChange.objects.exists()
    second = client.post(reverse("places:mode"), {"mode": Mode.EMERGENCY, "reason": "疫情封控", "confirmed": "on"})
    assert second.status_code == 302
    change = ModeChange.objects.get()
    assert change.mode == Mode.EMERGENCY and change.set_by == world.district_admin
    assert AuditEvent.objects.filter(action="mode.set", actor=world.district_admin).count() == 1
    home = client.get("/").content.decode()
    assert "应急" in home and "疫情封控" in home


def test_a_mode_switch_needs_a_reason_and_a_different_mode(world, login):
    client = login(world.district_admin)
    no_reason = client.post(reverse("places:mode"), {"mode": Mode.EMERGENCY, "reason": "", "confirmed": "on"})
    assert no_reason.status_code == 400 and "请填写切换原因" in no_reason.content.decode()
    same = client.post(reverse("places:mode"), {"mode": Mode.PEACETIME, "reason": "x", "confirmed": "on"})
    assert same.status_code == 400 and "当前已是平时模式" in same.content.decode()
    assert not ModeChange.objects.exists()


@pytest.mark.parametrize("persona", ["community_worker", "grid_worker_a", "hotline_operator", "auditor"])
def test_only_the_district_admin_may_switch_the_mode(world, login, persona):
    client = login(getattr(world, persona))
    response = client.post(reverse("places:mode"), {"mode": Mode.EMERGENCY, "reason": "x", "confirmed": "on"})
    assert response.status_code == 403
    assert not ModeChange.objects.exists()
    assert "切换模式" not in client.get("/").content.decode()


def test_the_home_page_shows_roles_and_scope(world, login):
    body = login(world.grid_worker_a).get("/").content.decode()
    assert "网格员" in body and "第一网格" in body


def test_the_home_page_requires_login(client, world):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_community_staff_name_a_grid_leader_from_the_grid_page(world, login):
    client = login(world.community_worker)
    page = client.get(f"/places/{world.grid_a.pk}/")
    assert page.status_code == 200 and "尚未设置网格长" in page.text
    response = client.post(f"/places/{world.grid_a.pk}/leader/", {"leader": world.grid_worker_a.pk})
    assert response.status_code == 302
    world.grid_a.refresh_from_db()
    assert world.grid_a.leader == world.grid_worker_a
    assert AuditEvent.objects.filter(action="place.leader", object_id=str(world.grid_a.pk)).exists()


def test_a_grid_leader_must_hold_a_role_at_the_grid_or_its_community(world, login):
    client = login(world.community_worker)
    client.post(f"/places/{world.grid_a.pk}/leader/", {"leader": world.auditor.pk})
    world.grid_a.refresh_from_db()
    assert world.grid_a.leader is None
    assert "请从列表中选择网格长" in client.get(f"/places/{world.grid_a.pk}/").text


def test_a_grid_worker_cannot_name_the_grid_leader(world, login):
    client = login(world.grid_worker_a)
    assert client.post(f"/places/{world.grid_a.pk}/leader/", {"leader": world.grid_worker_a.pk}).status_code == 403
    assert 'id="grid-leader"' in client.get(f"/places/{world.grid_a.pk}/").text
