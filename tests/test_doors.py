"""Door-knocking rounds (敲门行动 / 扫楼): opening and closing rounds, visits and revisits, findings written to the
ledger with the import's validation, progress by grid and building, the unvisited list, the printable sheet, the
export, and scoping on every page."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from caregrid.accounts.models import AuditEvent, Role, RoleAssignment, User
from caregrid.doors import queries
from caregrid.doors.actions import NewCategory, NewResident, round_close, round_open, visit_record
from caregrid.doors.exports import round_workbook
from caregrid.doors.models import DoorFinding, DoorHousehold, DoorRound, DoorVisit, FindingKind, VisitOutcome
from caregrid.people.models import Category, Resident
from caregrid.places.actions import place_create
from caregrid.places.models import PlaceKind
from caregrid.places.queries import today
from tests.conftest import make_id

VISITED, NOBODY, REFUSED = VisitOutcome.VISITED, VisitOutcome.NOBODY_HOME, VisitOutcome.REFUSED


def _round(world, place=None, **kwargs) -> DoorRound:
    values = {"name": "紫东社区敲门行动", "start_date": today(), "end_date": today() + dt.timedelta(days=3)}
    values.update(kwargs)
    return round_open(actor=world.community_worker, place=place or world.community, **values)


def _visit(world, door_round, household, outcome=VISITED, actor=None, **kwargs) -> DoorVisit:
    actor = actor or (world.grid_worker_a if household.grid_id == world.grid_a.pk else world.grid_worker_b)
    return visit_record(actor=actor, door_round=door_round, household=household, outcome=outcome, **kwargs)


def _other_staff(world) -> User:
    user = User.objects.create_user(username="hexi", password="x", full_name="河西社区刘")
    RoleAssignment.objects.create(user=user, role=Role.COMMUNITY_STAFF, place=world.other_community)
    return user


def _rooms(world, building, unit_name, names):
    unit = place_create(actor="system", parent=building, kind=PlaceKind.UNIT, name=unit_name)
    return [place_create(actor="system", parent=unit, kind=PlaceKind.HOUSEHOLD, name=n) for n in names]


# Opening and closing


def test_community_worker_opens_a_round_over_the_community_and_it_is_audited(world):
    door_round = _round(world)
    assert door_round.is_open and door_round.place_path == world.community.path
    event = AuditEvent.objects.get(action="doors.round_open")
    assert event.object_id == str(door_round.pk) and event.changes["place"] == "紫东社区"


def test_a_round_cannot_end_before_it_starts(world):
    with pytest.raises(ValidationError) as e:
        _round(world, start_date=today(), end_date=today() - dt.timedelta(days=1))
    assert e.value.message_dict["end_date"] == ["结束日期不能早于开始日期"]


def test_the_new_round_form_shows_the_date_problem_in_chinese(world, login):
    client = login(world.community_worker)
    response = client.post(
        reverse("doors:new"),
        {"name": "扫楼", "place": world.community.pk, "start_date": "2026-05-03", "end_date": "2026-05-01"},
    )
    assert response.status_code == 400
    assert "结束日期不能早于开始日期" in response.content.decode()
    assert not DoorRound.objects.exists()


def test_community_worker_opens_a_round_from_the_form(world, login):
    client = login(world.community_worker)
    assert client.get(reverse("doors:new")).status_code == 200
    response = client.post(
        reverse("doors:new"),
        {"name": "扫楼", "place": world.compound.pk, "start_date": "2026-05-01", "end_date": "2026-05-03"},
    )
    door_round = DoorRound.objects.get()
    assert response.status_code == 302 and response.url == reverse("doors:round", args=[door_round.pk])
    assert door_round.place == world.compound and door_round.created_by == world.community_worker


def test_the_area_choices_follow_the_level_the_user_works_at(world, login):
    district_page = login(world.district_admin).get(reverse("doors:new")).content.decode()
    assert "社区/村 · 紫东社区" in district_page and "网格 · 第一网格" in district_page
    assert "小区 · 紫东花苑" not in district_page
    community_page = login(world.community_worker).get(reverse("doors:new")).content.decode()
    assert "小区 · 紫东花苑" in community_page and "楼栋 · 紫东花苑1幢" in community_page
    assert "河西社区" not in community_page


def test_community_worker_cannot_open_a_round_outside_their_community(world, login):
    client = login(world.community_worker)
    assert client.get(reverse("doors:new") + f"?place={world.other_community.pk}").status_code == 404
    response = client.post(
        reverse("doors:new"),
        {"name": "扫楼", "place": world.other_community.pk, "start_date": "2026-05-01", "end_date": "2026-05-03"},
    )
    assert response.status_code == 404
    assert not DoorRound.objects.exists()


def test_grid_worker_may_not_open_or_close_a_round(world, login):
    door_round = _round(world)
    client = login(world.grid_worker_a)
    assert client.get(reverse("doors:new")).status_code == 403
    assert client.post(reverse("doors:close", args=[door_round.pk])).status_code == 403
    door_round.refresh_from_db()
    assert door_round.is_open


def test_closing_a_round_is_audited_with_its_progress(world, login):
    door_round = _round(world)
    _visit(world, door_round, world.household_a)
    client = login(world.community_worker)
    response = client.post(reverse("doors:close", args=[door_round.pk]), {"note": "全部走访完毕"})
    assert response.status_code == 302
    door_round.refresh_from_db()
    assert not door_round.is_open and door_round.closed_by == world.community_worker
    event = AuditEvent.objects.get(action="doors.round_close")
    assert event.changes["total"] == 2 and event.changes["visited"] == 1 and event.changes["not_visited"] == 1
    assert event.changes["note"] == "全部走访完毕"


def test_closed_round_refuses_visits(world, login):
    door_round = _round(world)
    round_close(actor=world.community_worker, door_round=door_round)
    with pytest.raises(ValidationError) as e:
        _visit(world, door_round, world.household_a)
    assert e.value.messages == ["该行动已结束，不能再登记走访"]
    client = login(world.grid_worker_a)
    url = reverse("doors:household", args=[door_round.pk, world.household_a.pk])
    assert client.post(url, {"outcome": VISITED}).status_code == 403
    assert "行动已结束，不能再登记走访。" in client.get(url).content.decode()
    assert not DoorVisit.objects.exists()


def test_a_round_refuses_visits_before_it_starts(world):
    door_round = _round(world, start_date=today() + dt.timedelta(days=2), end_date=today() + dt.timedelta(days=4))
    with pytest.raises(ValidationError) as e:
        _visit(world, door_round, world.household_a)
    assert "才开始" in e.value.messages[0]


def test_a_household_outside_the_round_cannot_be_visited(world):
    door_round = _round(world, place=world.building_a)
    with pytest.raises(ValidationError) as e:
        _visit(world, door_round, world.household_b)
    assert e.value.message_dict["household"] == ["该户不在本次行动范围内"]


# Visits, revisits and refusals


def test_a_visit_marks_the_household_visited_and_is_audited(world):
    door_round = _round(world)
    visit = _visit(world, door_round, world.household_a, note="老人身体好")
    state = DoorHousehold.objects.get(round=door_round, household=world.household_a)
    assert state.outcome == VISITED and state.visits == 1 and state.last_visit == visit
    assert visit.place_path == world.household_a.path and visit.grid_path == world.grid_a.path
    event = AuditEvent.objects.get(action="doors.visit")
    assert event.changes["outcome"] == VISITED and event.changes["household"] == world.household_a.pk


def test_visits_are_never_changed(world):
    visit = _visit(world, _round(world), world.household_a)
    visit.note = "改写"
    with pytest.raises(ValueError):
        visit.save()
    with pytest.raises(ValueError):
        visit.delete()


def test_nobody_home_keeps_the_household_on_the_list_to_revisit_until_a_later_visit(world):
    door_round = _round(world)
    _visit(world, door_round, world.household_a, NOBODY)
    todo = {h.pk: h for h in queries.households_to_visit(world.community_worker, door_round)}
    assert set(todo) == {world.household_a.pk, world.household_b.pk}
    assert todo[world.household_a.pk].state_outcome == NOBODY and todo[world.household_a.pk].state_visits == 1
    assert todo[world.household_b.pk].state_outcome is None
    progress = queries.round_progress(world.community_worker, door_round)
    assert (progress.total.done, progress.total.revisit, progress.total.not_visited) == (0, 1, 1)

    _visit(world, door_round, world.household_a, VISITED)
    todo = list(queries.households_to_visit(world.community_worker, door_round))
    assert [h.pk for h in todo] == [world.household_b.pk]
    state = DoorHousehold.objects.get(round=door_round, household=world.household_a)
    assert state.outcome == VISITED and state.visits == 2


def test_a_visit_entered_late_does_not_undo_a_later_one(world):
    door_round = _round(world)
    now = timezone.now()
    _visit(world, door_round, world.household_a, VISITED, at=now)
    _visit(world, door_round, world.household_a, NOBODY, at=now - dt.timedelta(hours=2))
    state = DoorHousehold.objects.get(round=door_round, household=world.household_a)
    assert state.outcome == VISITED and state.visits == 2


def test_a_refusal_counts_as_knocked_and_leaves_the_unvisited_list(world):
    door_round = _round(world)
    _visit(world, door_round, world.household_b, REFUSED)
    assert [h.pk for h in queries.households_to_visit(world.community_worker, door_round)] == [world.household_a.pk]
    progress = queries.round_progress(world.community_worker, door_round)
    assert (progress.total.visited, progress.total.refused, progress.total.done) == (0, 1, 1)


def test_grid_worker_records_a_visit_from_the_phone_form_and_returns_to_the_list(world, login):
    door_round = _round(world)
    client = login(world.grid_worker_a)
    todo = reverse("doors:todo", args=[door_round.pk])
    url = reverse("doors:household", args=[door_round.pk, world.household_a.pk])
    page = client.get(url).content.decode()
    assert "王秀英" in page and 'value="nobody_home"' in page
    response = client.post(url, {"outcome": NOBODY, "note": "敲门无应答", "next": todo})
    assert response.status_code == 302 and response.url == todo
    visit = DoorVisit.objects.get()
    assert visit.visitor == world.grid_worker_a and visit.outcome == NOBODY and visit.note == "敲门无应答"
    assert "待再访" in client.get(todo).content.decode()


def test_the_visit_form_refuses_a_missing_outcome(world, login):
    door_round = _round(world)
    client = login(world.grid_worker_a)
    response = client.post(reverse("doors:household", args=[door_round.pk, world.household_a.pk]), {"note": "x"})
    assert response.status_code == 400 and "请选择走访结果" in response.content.decode()
    assert not DoorVisit.objects.exists()


# Findings (主动发现)


def test_a_new_resident_found_is_added_to_the_household_in_the_ledger(world):
    door_round = _round(world)
    alone = Category.objects.get(code="elderly_alone")
    visit = _visit(
        world,
        door_round,
        world.household_a,
        new_residents=[
            NewResident(
                name="周 玉兰", id_number=make_id("320602", "19400312", "222"), phone="13900001234", categories=[alone]
            )
        ],
    )
    resident = Resident.objects.get(name="周玉兰")
    assert resident.household == world.household_a and resident.grid_path == world.grid_a.path
    assert resident.is_priority and [c.code for c in resident.categories.all()] == ["elderly_alone"]
    finding = DoorFinding.objects.get()
    assert finding.visit == visit and finding.kind == FindingKind.NEW_RESIDENT and finding.resident == resident
    assert visit.findings == 1
    assert AuditEvent.objects.filter(action="resident.create", object_id=str(resident.pk)).exists()
    assert AuditEvent.objects.get(action="doors.visit").changes["findings"][0]["resident"] == resident.pk


def test_a_bad_id_number_refuses_the_whole_visit_naming_the_field(world):
    door_round = _round(world)
    with pytest.raises(ValidationError) as e:
        _visit(
            world,
            door_round,
            world.household_a,
            new_residents=[
                NewResident(name="钱多多", id_number=make_id("320602", "19700101", "111")),
                NewResident(name="孙小二", id_number="32060219800101123"),
            ],
        )
    assert e.value.message_dict == {
        "new_residents-1-id_number": ["身份证号应为18位（末位可为X），现为“32060219800101123”"]
    }
    assert not DoorVisit.objects.exists() and not DoorHousehold.objects.exists()
    assert not Resident.objects.filter(name__in=["钱多多", "孙小二"]).exists()


def test_the_visit_form_shows_an_id_number_problem_on_its_field(world, login):
    door_round = _round(world)
    client = login(world.grid_worker_a)
    url = reverse("doors:household", args=[door_round.pk, world.household_a.pk])
    bad = make_id("320602", "19700101", "111")[:-1] + ("0" if make_id("320602", "19700101", "111")[-1] != "0" else "1")
    response = client.post(
        url, {"outcome": VISITED, "new_residents-0-name": "钱多多", "new_residents-0-id_number": bad}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "新登记居民1：身份证号校验位不正确，请核对是否抄错" in page
    assert 'value="钱多多"' in page  # what was typed is kept
    assert not DoorVisit.objects.exists() and not Resident.objects.filter(name="钱多多").exists()


def test_the_visit_form_adds_a_resident_and_a_category(world, login):
    door_round = _round(world)
    client = login(world.grid_worker_a)
    url = reverse("doors:household", args=[door_round.pk, world.household_a.pk])
    mobility = Category.objects.get(code="limited_mobility")
    response = client.post(
        url,
        {
            "outcome": VISITED,
            "new_residents-0-name": "周玉兰",
            "new_residents-0-id_number": make_id("320602", "19400312", "222"),
            "new_residents-0-phone": "13900001234",
            f"add_cat_{world.resident_a.pk}": str(mobility.pk),
        },
    )
    assert response.status_code == 302
    assert Resident.objects.filter(name="周玉兰", household=world.household_a).exists()
    codes = set(world.resident_a.category_links.values_list("category__code", flat=True))
    assert codes == {"elderly_alone", "limited_mobility"}
    assert DoorVisit.objects.get().findings == 2


def test_an_invalid_phone_of_a_new_resident_is_kept_with_a_warning_as_the_import_does(world, login):
    door_round = _round(world)
    client = login(world.grid_worker_a)
    url = reverse("doors:household", args=[door_round.pk, world.household_a.pk])
    response = client.post(
        url,
        {
            "outcome": VISITED,
            "new_residents-0-name": "周玉兰",
            "new_residents-0-id_number": make_id("320602", "19400312", "222"),
            "new_residents-0-phone": "12345",
        },
        follow=True,
    )
    assert "周玉兰：联系电话“12345”不是有效的手机或固话号码，已原样保留" in response.content.decode()
    resident = Resident.objects.get(name="周玉兰")
    assert resident.phone == "12345" and not resident.phone_valid


def test_a_new_category_keeps_the_residents_categories(world):
    door_round = _round(world)
    alone = world.resident_a.category_links.get()
    mobility = Category.objects.get(code="limited_mobility")
    visit = _visit(
        world, door_round, world.household_a, new_categories=[NewCategory(resident=world.resident_a, category=mobility)]
    )
    links = {link.category.code: link for link in world.resident_a.category_links.select_related("category")}
    assert set(links) == {"elderly_alone", "limited_mobility"}
    assert links["elderly_alone"].since == alone.since == dt.date(2020, 1, 1)
    assert links["limited_mobility"].since == today()
    finding = DoorFinding.objects.get(visit=visit)
    assert finding.kind == FindingKind.NEW_CATEGORY and finding.category == mobility
    assert AuditEvent.objects.get(action="resident.update").changes["categories"] == [
        ["elderly_alone"],
        ["elderly_alone", "limited_mobility"],
    ]


def test_a_category_already_held_is_refused(world):
    door_round = _round(world)
    alone = Category.objects.get(code="elderly_alone")
    with pytest.raises(ValidationError) as e:
        _visit(
            world,
            door_round,
            world.household_a,
            new_categories=[NewCategory(resident=world.resident_a, category=alone)],
        )
    assert e.value.message_dict == {"new_categories-0-categories": ["王秀英已有类别“独居老人”"]}
    assert not DoorVisit.objects.exists()


def test_a_category_for_a_resident_of_another_household_is_refused(world):
    door_round = _round(world)
    mobility = Category.objects.get(code="limited_mobility")
    with pytest.raises(ValidationError) as e:
        _visit(
            world,
            door_round,
            world.household_a,
            new_categories=[NewCategory(resident=world.resident_b, category=mobility)],
        )
    assert e.value.message_dict == {"new_categories-0-resident": ["李建国不住在该户"]}


def test_findings_need_a_visit_that_met_the_household(world):
    door_round = _round(world)
    with pytest.raises(ValidationError) as e:
        _visit(
            world,
            door_round,
            world.household_a,
            NOBODY,
            new_residents=[NewResident(name="周玉兰", id_number=make_id("320602", "19400312", "222"))],
        )
    assert e.value.message_dict["outcome"] == ["只有已走访（见到住户）时才能登记发现情况"]


# Progress


def test_progress_by_grid_and_building(world):
    rooms = _rooms(world, world.building_a, "2单元", ["101", "102", "201"])
    door_round = _round(world)
    _visit(world, door_round, world.household_a)
    _visit(world, door_round, rooms[0], REFUSED)
    _visit(world, door_round, rooms[1], NOBODY)
    progress = queries.round_progress(world.community_worker, door_round)
    assert progress.total.as_dict() == {"total": 5, "visited": 1, "refused": 1, "revisit": 1, "not_visited": 2}
    assert progress.total.percent == 40
    grids = {t.label: (t.done, t.total, t.percent) for t in progress.by_grid}
    assert grids == {"第一网格": (2, 4, 50), "第二网格": (0, 1, 0)}
    buildings = {t.label: (t.done, t.total) for t in progress.by_building}
    assert buildings == {"紫东花苑1幢": (2, 4), "紫东花苑2幢": (0, 1)}


def test_progress_of_one_grid_lists_only_its_buildings(world):
    door_round = _round(world)
    progress = queries.round_progress(world.community_worker, door_round, grid=world.grid_b)
    assert [t.label for t in progress.by_grid] == ["第一网格", "第二网格"]
    assert [t.label for t in progress.by_building] == ["紫东花苑2幢"]


def test_progress_takes_the_same_number_of_queries_however_many_households(world):
    door_round = _round(world)
    _visit(world, door_round, world.household_a)
    queries.round_progress(world.community_worker, door_round)  # the user's roles are loaded once
    with CaptureQueriesContext(connection) as small:
        queries.round_progress(world.community_worker, door_round)
    building = place_create(actor="system", parent=world.compound, kind=PlaceKind.BUILDING, name="3幢")
    for unit in ("1单元", "2单元", "3单元"):
        rooms = _rooms(world, building, unit, [f"{floor}0{n}" for floor in range(1, 7) for n in (1, 2)])
        _visit(world, door_round, rooms[0], actor=world.community_worker)
    with CaptureQueriesContext(connection) as large:
        progress = queries.round_progress(world.community_worker, door_round)
    assert progress.total.total == 38 and progress.total.visited == 4
    assert len(large) == len(small) == 4
    grouped = [q["sql"] for q in large if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1


def test_the_round_page_shows_progress_bars_by_grid_and_building(world, login):
    door_round = _round(world)
    _visit(world, door_round, world.household_a)
    page = login(world.community_worker).get(reverse("doors:round", args=[door_round.pk])).content.decode()
    assert 'id="door-by-grid"' in page and 'id="door-by-building"' in page
    assert 'value="50"' in page and "完成 50%" in page
    assert "第一网格" in page and "第二网格" in page and "紫东花苑1幢" in page


# Scoping


def test_grid_worker_sees_the_communitys_round_but_only_their_grid(world, login):
    door_round = _round(world)
    _visit(world, door_round, world.household_b)
    client = login(world.grid_worker_a)
    assert door_round.name in client.get(reverse("doors:list")).content.decode()
    page = client.get(reverse("doors:round", args=[door_round.pk])).content.decode()
    assert "第一网格" in page and "第二网格" not in page and "紫东花苑2幢" not in page
    progress = queries.round_progress(world.grid_worker_a, door_round)
    assert progress.total.total == 1 and progress.total.done == 0
    todo = client.get(reverse("doors:todo", args=[door_round.pk])).content.decode()
    assert "1单元101室" in todo and "202" not in todo
    assert client.get(reverse("doors:household", args=[door_round.pk, world.household_b.pk])).status_code == 404
    sheet = client.get(reverse("doors:sheet", args=[door_round.pk])).content.decode()
    assert "王秀英" in sheet and "李建国" not in sheet
    assert client.get(reverse("doors:export", args=[door_round.pk])).status_code == 403  # grid workers hold no export
    content, sizes = round_workbook(world.grid_worker_a, door_round)  # what their part of it would hold
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    assert [r[1] for r in book.get_sheet_by_index(0).to_python()[2:]] == ["紫东花苑1幢1单元101室"]
    assert sizes == {"住户走访结果": 1, "走访记录": 0}


def test_grid_worker_b_cannot_record_a_visit_in_grid_a(world, login):
    door_round = _round(world)
    client = login(world.grid_worker_b)
    url = reverse("doors:household", args=[door_round.pk, world.household_a.pk])
    assert client.post(url, {"outcome": VISITED}).status_code == 404
    assert not DoorVisit.objects.exists()


def test_grid_worker_sees_a_round_over_a_building_of_their_grid_only(world, login):
    ours = _round(world, place=world.building_a, name="1幢扫楼")
    theirs = _round(world, place=world.building_b, name="2幢扫楼")
    visible = set(queries.rounds_visible(world.grid_worker_a))
    assert ours in visible and theirs not in visible
    client = login(world.grid_worker_a)
    assert client.get(reverse("doors:round", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("doors:round", args=[ours.pk])).status_code == 200


def test_a_round_over_a_grid_covers_the_households_of_the_grid(world):
    door_round = _round(world, place=world.grid_a, name="第一网格扫楼")
    assert [h.pk for h in queries.round_households_all(door_round)] == [world.household_a.pk]
    assert door_round in set(queries.rounds_visible(world.grid_worker_a))
    assert door_round not in set(queries.rounds_visible(world.grid_worker_b))
    with pytest.raises(ValidationError):
        _visit(world, door_round, world.household_b)


def test_another_communitys_staff_get_404_on_every_page(world, login):
    door_round = _round(world)
    client = login(_other_staff(world))
    assert door_round.name not in client.get(reverse("doors:list")).content.decode()
    for name, args in [
        ("doors:round", [door_round.pk]),
        ("doors:todo", [door_round.pk]),
        ("doors:household", [door_round.pk, world.household_a.pk]),
        ("doors:sheet", [door_round.pk]),
        ("doors:export", [door_round.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert client.post(reverse("doors:close", args=[door_round.pk])).status_code == 404
    assert client.post(reverse("doors:household", args=[door_round.pk, world.household_a.pk])).status_code == 404


def test_community_staff_work_their_part_of_a_subdistricts_round_but_do_not_close_it(world, login):
    door_round = round_open(
        actor=world.district_admin,
        name="和平桥街道扫楼",
        place=world.subdistrict,
        start_date=today(),
        end_date=today() + dt.timedelta(days=5),
    )
    other = place_create(actor="system", parent=world.subdistrict, kind=PlaceKind.COMMUNITY, name="虹桥社区")
    compound = place_create(actor="system", parent=other, kind=PlaceKind.COMPOUND, name="虹桥新村")
    building = place_create(actor="system", parent=compound, kind=PlaceKind.BUILDING, name="8幢")
    place_create(actor="system", parent=building, kind=PlaceKind.HOUSEHOLD, name="101")
    assert queries.round_progress(world.district_admin, door_round).total.total == 3
    assert queries.round_progress(world.community_worker, door_round).total.total == 2
    client = login(world.community_worker)
    page = client.get(reverse("doors:round", args=[door_round.pk])).content.decode()
    assert "紫东花苑1幢" in page and "虹桥新村" not in page and "结束行动" not in page
    assert client.post(reverse("doors:close", args=[door_round.pk])).status_code == 403
    _visit(world, door_round, world.household_a, actor=world.community_worker)


def test_the_unvisited_list_takes_the_same_number_of_queries_however_long(world, login):
    door_round = _round(world)
    client = login(world.community_worker)
    url = reverse("doors:todo", args=[door_round.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _rooms(world, world.building_a, "2单元", [f"{floor}0{n}" for floor in range(1, 9) for n in (1, 2, 3)])
    with CaptureQueriesContext(connection) as large:
        page = client.get(url).content.decode()
    assert page.count('class="doors-todo-item') == 26
    assert len(large) == len(small)


def test_a_hotline_operator_has_no_rounds(world, login):
    door_round = _round(world)
    client = login(world.hotline_operator)
    assert client.get(reverse("doors:list")).status_code == 403
    assert client.get(reverse("doors:round", args=[door_round.pk])).status_code == 403


# Unvisited list, printable sheet, export


def test_the_unvisited_list_filters_by_building_and_pages(world, login, settings):
    settings.PAGE_SIZE = 2
    _rooms(world, world.building_a, "2单元", ["101", "102", "201"])
    door_round = _round(world)
    client = login(world.community_worker)
    url = reverse("doors:todo", args=[door_round.pk])
    first = client.get(url + f"?building={world.building_a.pk}").content.decode()
    assert first.count('class="doors-todo-item') == 2 and "下一页" in first and "2幢1单元" not in first
    second = client.get(url + f"?building={world.building_a.pk}&page=2").content.decode()
    assert second.count('class="doors-todo-item') == 2 and "下一页" not in second
    by_grid = client.get(url + f"?grid={world.grid_b.pk}").content.decode()
    assert by_grid.count('class="doors-todo-item') == 1 and "2幢1单元202室" in by_grid


def test_the_printable_sheet_has_every_household_one_building_per_page(world, login):
    rooms = _rooms(world, world.building_a, "2单元", ["101", "102", "201", "1001"])
    door_round = _round(world)
    page = login(world.community_worker).get(reverse("doors:sheet", args=[door_round.pk])).content.decode()
    assert page.count('class="doors-sheet"') == 2
    assert page.count("<tr data-household=") == 6
    for household in [world.household_a, world.household_b, *rooms]:
        assert f'data-household="{household.pk}"' in page
    assert "1单元101室" in page and "2单元1001室" in page
    assert "王秀英" in page and world.resident_a.id_number not in page and "13812345678" not in page
    assert "3206**********" in page and "138****5678" in page
    assert "已走访" in page and "无人" in page and "拒绝" in page and "发现情况" in page and "签名" in page
    # rooms in order: 101, 102, 201, 1001
    order = [page.index(f"2单元{n}室") for n in ("101", "102", "201", "1001")]
    assert order == sorted(order)


def test_the_printable_sheet_for_one_building_and_only_pending_households(world, login):
    rooms = _rooms(world, world.building_a, "2单元", ["101", "102"])
    door_round = _round(world)
    _visit(world, door_round, rooms[0])
    client = login(world.community_worker)
    url = reverse("doors:sheet", args=[door_round.pk])
    page = client.get(url + f"?building={world.building_a.pk}&pending=1").content.decode()
    assert page.count('class="doors-sheet"') == 1
    assert f'data-household="{rooms[1].pk}"' in page and f'data-household="{rooms[0].pk}"' not in page
    assert f'data-household="{world.household_b.pk}"' not in page


def test_the_export_lists_households_and_visits_and_is_audited(world, login):
    door_round = _round(world)
    _visit(world, door_round, world.household_a, NOBODY, note="无人应答")
    _visit(
        world,
        door_round,
        world.household_a,
        new_residents=[NewResident(name="周玉兰", id_number=make_id("320602", "19400312", "222"))],
    )
    response = login(world.community_worker).get(reverse("doors:export", args=[door_round.pk]))
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    households = book.get_sheet_by_index(0).to_python()
    visits = book.get_sheet_by_index(1).to_python()
    rows = {r[1]: r for r in households[2:]}
    assert rows["紫东花苑1幢1单元101室"][2] == "已走访" and rows["紫东花苑1幢1单元101室"][3] == 2
    assert rows["紫东花苑2幢1单元202室"][2] == "未走访"
    assert [r[3] for r in visits[2:]] == ["无人在家", "已走访"]
    assert visits[3][6] == "新登记居民：周玉兰"
    event = AuditEvent.objects.get(action="doors.export")
    assert event.actor == world.community_worker and event.changes["rows"] == {"住户走访结果": 2, "走访记录": 2}


# Demo data


def test_the_demo_round_is_partly_done_through_the_real_actions(world):
    from caregrid.doors.synthetic import seed_demo

    for unit in ("2单元", "3单元"):
        _rooms(world, world.building_a, unit, [f"{floor}0{n}" for floor in range(1, 7) for n in (1, 2)])
        _rooms(world, world.building_b, unit, [f"{floor}0{n}" for floor in range(1, 7) for n in (1, 2)])
    door_round = seed_demo(world.district, now=timezone.now())
    assert door_round.place == world.community and door_round.created_by == world.community_worker
    progress = queries.round_progress(world.community_worker, door_round)
    assert 0 < progress.total.done < progress.total.total == 50
    visitors = set(DoorVisit.objects.filter(household__grid=world.grid_a).values_list("visitor", flat=True))
    assert visitors <= {world.grid_worker_a.pk}
    assert AuditEvent.objects.filter(action="doors.visit").count() == DoorVisit.objects.count()
    states = DoorHousehold.objects.filter(round=door_round)
    assert sum(s.visits for s in states) == DoorVisit.objects.count()
