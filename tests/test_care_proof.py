"""The day's proof (一天一问一记录的留痕): who was contacted under a place on a day, and its audited Excel export."""

import datetime as dt
import io
import uuid
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from caregrid.accounts.models import AuditEvent
from caregrid.care.contacts.actions import contact_record
from caregrid.care.models import CareAssignment, CarerRole

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
URL = "/care/proof/"
EXPORT = "/care/proof/export/"


def _day(days_ago: int = 2) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days_ago)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def _record(actor, resident, at, **values):
    fields = {"channel": "phone", "outcome": "reached", "wellbeing": "fine", **values}
    contact, _ = contact_record(actor=actor, resident=resident, client_id=uuid.uuid4(), at=at, **fields)
    return contact


def _a_day_of_contacts(world, day):
    """Grid A and grid B of 紫东社区 and one contact in 河西社区 on the same day."""
    _record(world.grid_worker_a, world.resident_a, _at(day, 9, 5), temperature="36.5")
    _record(
        world.grid_worker_b, world.resident_b, _at(day, 10, 30), channel="visit", outcome="not_reached", wellbeing=""
    )
    _record(world.district_admin, world.resident_other, _at(day, 11))


def _get(client, day, **params):
    return client.get(URL, {"date": day.isoformat(), **params})


def _names(response) -> list[str]:
    return [row.resident_name for row in response.context["rows"]]


def test_community_worker_sees_the_days_contacts_of_the_community_with_masked_numbers(world, login):
    day = _day()
    _a_day_of_contacts(world, day)
    response = _get(login(world.community_worker), day)
    assert response.status_code == 200
    assert _names(response) == ["王秀英", "李建国"]
    html = response.content.decode()
    assert "138****5678" in html and "13812345678" not in html
    assert world.resident_a.id_number not in html
    assert world.resident_a.id_number[:4] + "**********" + world.resident_a.id_number[-4:] in html
    assert "紫东花苑1幢1单元101室" in html
    assert "09:05" in html and "36.5" in html and "网格员甲" in html
    assert "赵敏" not in html


def test_the_summary_line_counts_contacts_and_residents_by_their_best_outcome(world, login):
    day = _day()
    _a_day_of_contacts(world, day)
    _record(world.grid_worker_a, world.resident_a, _at(day, 8), outcome="not_reached", wellbeing="")
    _record(world.community_worker, world.resident_b, _at(day, 15), outcome="refused", wellbeing="")
    summary = _get(login(world.community_worker), day).context["summary"]
    assert (summary.contacts, summary.residents) == (4, 2)
    assert (summary.reached, summary.not_reached, summary.refused) == (1, 0, 1)


def test_grid_worker_sees_only_their_grid_and_other_places_are_not_found(world, login):
    day = _day()
    _a_day_of_contacts(world, day)
    client = login(world.grid_worker_a)
    response = _get(client, day)
    assert _names(response) == ["王秀英"]
    assert response.context["place"] == world.grid_a
    assert _get(client, day, place=world.grid_b.pk).status_code == 404
    assert _get(client, day, place=world.community.pk).status_code == 404


def test_another_community_is_not_found_for_a_community_worker(world, login):
    day = _day()
    _a_day_of_contacts(world, day)
    client = login(world.community_worker)
    assert _get(client, day, place=world.other_community.pk).status_code == 404
    assert client.get(EXPORT, {"date": day.isoformat(), "place": world.other_community.pk}).status_code == 404
    assert not AuditEvent.objects.filter(action="care.proof_export").exists()


def test_the_district_admin_picks_any_place_under_the_district(world, login):
    day = _day()
    _a_day_of_contacts(world, day)
    client = login(world.district_admin)
    response = _get(client, day)
    assert _names(response) == ["王秀英", "李建国", "赵敏"]
    offered = response.context["place_options"]
    assert {world.district, world.subdistrict, world.community, world.grid_a, world.other_community} <= set(offered)
    assert _names(_get(client, day, place=world.subdistrict.pk)) == ["王秀英", "李建国"]
    assert _names(_get(client, day, place=world.other_community.pk)) == ["赵敏"]
    assert _names(_get(client, day, place=world.grid_b.pk)) == ["李建国"]


def test_a_contact_at_2359_local_belongs_to_that_day_and_0001_to_the_next(world, login):
    day = _day(3)
    _record(world.grid_worker_a, world.resident_a, _at(day, 23, 59))
    _record(world.grid_worker_a, world.resident_a, _at(day + dt.timedelta(days=1), 0, 1))
    client = login(world.community_worker)
    (late,) = _get(client, day).context["rows"]
    (early,) = _get(client, day + dt.timedelta(days=1)).context["rows"]
    assert late.at.strftime("%Y-%m-%d %H:%M") == f"{day:%Y-%m-%d} 23:59"
    assert early.at.strftime("%Y-%m-%d %H:%M") == f"{day + dt.timedelta(days=1):%Y-%m-%d} 00:01"


def test_the_list_filters_by_grid_channel_and_outcome(world, login):
    day = _day()
    _a_day_of_contacts(world, day)
    client = login(world.community_worker)
    assert _names(_get(client, day, grid=world.grid_b.pk)) == ["李建国"]
    assert _names(_get(client, day, channel="phone")) == ["王秀英"]
    assert _names(_get(client, day, outcome="not_reached")) == ["李建国"]
    assert _get(client, day, grid=world.grid_b.pk).context["summary"].contacts == 1
    assert _get(client, day, grid=world.other_community.pk).status_code == 404


def test_the_list_sorts_by_time_both_ways_and_pages(world, login, settings):
    day = _day()
    for hour in (8, 9, 10):
        _record(world.grid_worker_a, world.resident_a, _at(day, hour))
    client = login(world.community_worker)
    assert [r.at.hour for r in _get(client, day).context["rows"]] == [8, 9, 10]
    assert [r.at.hour for r in _get(client, day, sort="-at").context["rows"]] == [10, 9, 8]
    settings.PAGE_SIZE = 2
    first = _get(client, day)
    assert [r.at.hour for r in first.context["rows"]] == [8, 9]
    assert "page=2" in first.context["next_query"]
    second = _get(client, day, page=2)
    assert [r.at.hour for r in second.context["rows"]] == [10] and not second.context["next_query"]


def test_the_carer_shows_their_care_role_for_the_resident_else_their_account_role(world, login):
    day = _day()
    CareAssignment.objects.create(
        resident=world.resident_a,
        role=CarerRole.CADRE,
        carer=world.community_worker,
        since=_at(day, 0),
        place_path=world.resident_a.place_path,
        grid_path=world.resident_a.grid_path,
    )
    _record(world.community_worker, world.resident_a, _at(day, 9))
    _record(world.community_worker, world.resident_b, _at(day, 10))
    rows = _get(login(world.community_worker), day).context["rows"]
    assert [(r.carer, r.carer_role) for r in rows] == [("社区张", "社区干部"), ("社区张", "社区工作人员")]


def test_a_need_found_shows_its_help_request(world, login):
    day = _day()
    contact = _record(world.grid_worker_a, world.resident_a, _at(day, 9), wellbeing="needs_help", needs=["medicine"])
    (row,) = _get(login(world.community_worker), day).context["rows"]
    assert row.help_request == contact.help_request.number and row.needs == "购药"
    assert (
        reverse("cases:detail", args=[contact.help_request_id])
        in _get(login(world.community_worker), day).content.decode()
    )


def test_the_page_takes_the_same_number_of_queries_for_more_contacts(world, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    day = _day()
    client = login(world.community_worker)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert _get(client, day).status_code == 200
        return len(ctx.captured_queries)

    _record(world.grid_worker_a, world.resident_a, _at(day, 8))
    before = count()
    _record(world.grid_worker_b, world.resident_b, _at(day, 9), wellbeing="needs_help", needs=["supplies"])
    _record(world.community_worker, world.resident_a, _at(day, 10))
    _record(world.grid_worker_a, world.resident_a, _at(day, 11), outcome="refused", wellbeing="")
    assert count() == before


def _workbook(response) -> CalamineWorkbook:
    return CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))


def test_the_export_holds_the_same_rows_and_totals_and_is_audited(world, login):
    day = _day(1)
    _a_day_of_contacts(world, day)
    found = _record(
        world.community_worker,
        world.resident_a,
        _at(day, 16),
        channel="visit",
        wellbeing="needs_help",
        needs=["medicine"],
    )
    client = login(world.community_worker)
    response = client.get(EXPORT, {"date": day.isoformat(), "place": world.community.pk})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = _workbook(response)
    assert book.sheet_names == ["走访记录", "汇总"]
    rows = book.get_sheet_by_name("走访记录").to_python()
    assert rows[0][0] == f"紫东社区 {day.year}年{day.month}月{day.day}日 关爱走访记录"
    assert rows[1] == [
        "时间", "居民", "身份证号", "联系电话", "住址", "所属网格", "方式", "结果", "状况", "发现的需求", "体温",
        "联系人", "联系人角色", "生成的诉求",
    ]  # fmt: skip
    body = rows[2:]
    assert [r[1] for r in body] == ["王秀英", "李建国", "王秀英"]
    first = body[0]
    assert first[0] == f"{day:%Y-%m-%d} 09:05"
    assert first[2] == world.resident_a.id_number[:4] + "**********" + world.resident_a.id_number[-4:]
    assert first[3] == "138****5678"
    assert first[4:11] == ["紫东花苑1幢1单元101室", "第一网格", "电话", "已联系上", "良好", "", "36.5"]
    assert first[11:13] == ["网格员甲", "网格员"]
    assert body[1][6:8] == ["上门走访", "未联系上"]
    assert body[2][9] == "购药" and body[2][13] == found.help_request.number
    totals = book.get_sheet_by_name("汇总").to_python()
    assert ["网格", "联系次数", "联系居民数", "联系上", "未联系上", "拒绝"] in totals
    assert ["第一网格", 2, 1, 2, 0, 0] in totals and ["第二网格", 1, 1, 0, 1, 0] in totals
    assert ["联系人", "联系次数", "联系居民数", "联系上", "未联系上", "拒绝"] in totals
    assert ["社区张", 1, 1, 1, 0, 0] in totals and ["网格员乙", 1, 1, 0, 1, 0] in totals
    event = AuditEvent.objects.get(action="care.proof_export")
    assert event.actor_id == world.community_worker.pk
    assert event.changes == {"place": world.community.pk, "day": day.isoformat(), "rows": 3}
    assert event.place_path == world.community.path


def test_the_export_follows_the_pages_filters(world, login):
    day = _day()
    _a_day_of_contacts(world, day)
    client = login(world.community_worker)
    response = client.get(EXPORT, {"date": day.isoformat(), "outcome": "not_reached"})
    rows = _workbook(response).get_sheet_by_name("走访记录").to_python()
    assert [r[1] for r in rows[2:]] == ["李建国"]
    event = AuditEvent.objects.get(action="care.proof_export")
    assert event.changes["rows"] == 1 and event.changes["filters"] == {"outcome": "not_reached"}


def test_a_grid_worker_sees_the_page_but_may_not_export(world, login):
    client = login(world.grid_worker_a)
    assert client.get(URL).status_code == 200
    assert "导出Excel" not in client.get(URL).content.decode()
    assert client.get(EXPORT).status_code == 403
    assert not AuditEvent.objects.filter(action="care.proof_export").exists()


@pytest.mark.parametrize("persona", ["hotline_operator", "auditor"])
def test_users_without_care_rounds_are_refused(world, login, persona):
    client = login(getattr(world, persona))
    assert client.get(URL).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_a_future_day_shows_today(world, login):
    response = login(world.community_worker).get(URL, {"date": "2999-01-01"})
    assert response.context["filters"].day == timezone.localdate()


def test_wrong_filter_values_are_ignored(world, login):
    day = _day()
    _a_day_of_contacts(world, day)
    client = login(world.community_worker)
    response = _get(client, day, place=10**30, grid="x", channel="pigeon", outcome="maybe", page=10**30, sort="up")
    assert response.status_code == 200
    assert _names(response) == ["王秀英", "李建国"]
