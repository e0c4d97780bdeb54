"""The numbers the bureau reports: the standard line, counts by category, urgency, channel, status and place,
medians, overdue now, the statistics page and its Excel workbook, and who sees which numbers.

Requests are logged and handled through caregrid.cases.actions; `recorded_at` back-fills each step at the
time it is meant to have happened, so the timing fields are those the actions themselves write."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from caregrid.accounts.models import AuditEvent
from caregrid.cases import actions
from caregrid.cases.actions import IntakeData, recorded_at
from caregrid.cases.stats.queries import Period, case_stats

pytestmark = pytest.mark.django_db

STATS = "/cases/stats/"
EXPORT = "/cases/stats/export/"


def day_of_calls() -> dt.date:
    """A past day, so that every step of the day's requests lies before now."""
    return timezone.localdate() - dt.timedelta(days=3)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def log(world, when, *, channel="hotline", category, urgency, place, description="请帮忙处理"):
    with recorded_at(when):
        return actions.case_create(
            actor=world.hotline_operator,
            data=IntakeData(channel=channel, description=description, category=category, urgency=urgency, place=place),
        )


def step(when, action, **kwargs):
    with recorded_at(when):
        return action(**kwargs)


@pytest.fixture
def calls(world):
    """Seven requests: six received on the day (five by the hotline), one the day before.

    1 hotline  medicine urgent  grid A household  answered on the spot after 5 minutes
    2 hotline  supplies normal  grid B household  coordinated, contacted after 30 min, resolved after 2 h
    3 hotline  medical  high    grid A household  dispatched to the community, contacted after 1 h, still open
    4 hotline  other    normal  the other community  never handled
    5 hotline  policy   normal  grid B household  cancelled before anyone handled it
    6 web form supplies normal  grid A household  dispatched to the subdistrict, resolved the next morning
    7 grid     medicine high    grid B household  the day before, still open
    """
    op = world.hotline_operator
    day = day_of_calls()
    a, b, other = world.household_a, world.household_b, world.household_other
    one = log(world, at(day, 9), category="medicine", urgency="urgent", place=a)
    step(at(day, 9, 5), actions.case_answer, actor=op, case=one, note="已联系药店送药上门")
    two = log(world, at(day, 10), category="supplies", urgency="normal", place=b)
    step(at(day, 10, 10), actions.case_coordinate, actor=op, case=two, note="联系社区超市")
    step(at(day, 10, 30), actions.case_contact, actor=op, case=two, note="已回电")
    step(at(day, 12), actions.case_resolve, actor=op, case=two, outcome="物资已送达")
    three = log(world, at(day, 11), category="medical", urgency="high", place=a)
    step(at(day, 11, 5), actions.case_dispatch, actor=op, case=three, place=world.community)
    step(at(day, 12), actions.case_contact, actor=world.community_worker, case=three, note="已上门")
    four = log(world, at(day, 13), category="other", urgency="normal", place=other)
    five = log(world, at(day, 14), category="policy", urgency="normal", place=b)
    step(at(day, 14, 10), actions.case_cancel, actor=op, case=five, reason="来电人误拨")
    six = log(world, at(day, 15), channel="public_form", category="supplies", urgency="normal", place=a)
    step(at(day, 15, 20), actions.case_dispatch, actor=op, case=six, place=world.subdistrict)
    step(at(day + dt.timedelta(days=1), 10), actions.case_resolve, actor=op, case=six, outcome="已配送")
    seven = log(
        world, at(day - dt.timedelta(days=1), 9), channel="grid_report", category="medicine", urgency="high", place=b
    )
    return {"day": day, "requests": [one, two, three, four, five, six, seven]}


def stats_for(user, calls, **kwargs):
    day = calls["day"]
    now = at(day + dt.timedelta(days=2), 12)
    return case_stats(user, period=kwargs.pop("period", Period.day(day)), now=now, **kwargs)


def counts(rows) -> dict:
    return {r.code: r.count for r in rows if r.count}


# --- the numbers ---------------------------------------------------------------------------------------------


def test_the_standard_line_counts_hotline_calls_by_their_first_disposition(world, calls):
    stats = stats_for(world.hotline_operator, calls)
    assert stats.hotline_text == "接通来电5个，即刻答复1个、协调解决1个、交办处置1个"
    assert (stats.hotline.pending, stats.hotline.cancelled) == (2, 1)


def test_the_same_line_for_all_channels_adds_the_web_form_request(world, calls):
    stats = stats_for(world.district_admin, calls)
    assert stats.all_channels_text == "各渠道共受理诉求6个，即刻答复1个、协调解决1个、交办处置2个"
    assert stats.total == 6


def test_a_request_coordinated_then_dispatched_counts_once_as_coordinated(world, calls):
    day, op = calls["day"], world.hotline_operator
    case = log(world, at(day, 16), category="caregiving", urgency="normal", place=world.household_b)
    case = step(at(day, 16, 5), actions.case_coordinate, actor=op, case=case, note="先联系家属")
    step(at(day, 16, 30), actions.case_dispatch, actor=op, case=case, place=world.grid_b)
    stats = stats_for(op, calls)
    assert stats.hotline_text == "接通来电6个，即刻答复1个、协调解决2个、交办处置1个"


def test_counts_by_category_urgency_channel_and_status_cover_the_periods_requests(world, calls):
    stats = stats_for(world.district_admin, calls)
    assert counts(stats.by_category) == {"medicine": 1, "supplies": 2, "medical": 1, "other": 1, "policy": 1}
    assert counts(stats.by_urgency) == {"urgent": 1, "high": 1, "normal": 4}
    assert counts(stats.by_channel) == {"hotline": 5, "public_form": 1}
    assert counts(stats.by_status) == {"answered": 1, "resolved": 2, "in_progress": 1, "received": 1, "cancelled": 1}
    # Every category has its row, in the fixed order, so the table reads the same every day.
    assert [r.code for r in stats.by_category][:3] == ["medical", "medicine", "supplies"]
    assert len(stats.by_category) == 12


def test_the_medians_of_time_to_first_contact_and_to_resolution(world, calls):
    stats = stats_for(world.district_admin, calls)
    medians = {m.code: m for m in stats.medians}
    minutes = dt.timedelta(minutes=1)
    # First contact after 5, 30, 60 and 1,140 minutes (the cancelled and the untouched request have none).
    assert (medians["all"].first_contact, medians["all"].first_contact_n) == (45 * minutes, 4)
    # Resolved after 5, 120 and 1,140 minutes.
    assert (medians["all"].resolution, medians["all"].resolution_n) == (120 * minutes, 3)
    assert (medians["followup"].first_contact, medians["followup"].resolution) == (60 * minutes, 630 * minutes)
    assert (medians["urgent"].first_contact, medians["urgent"].resolution) == (5 * minutes, 5 * minutes)
    assert (medians["high"].first_contact, medians["high"].resolution) == (60 * minutes, None)
    assert medians["urgent"].first_contact_limit == 30 * minutes


def test_overdue_now_counts_open_requests_past_their_clock_whenever_they_were_received(world, calls):
    stats = stats_for(world.district_admin, calls)
    # 3 is past its resolution deadline, 4 was never contacted, 7 (received the day before) is past both.
    assert (stats.overdue_now, stats.overdue_first_contact, stats.overdue_resolution) == (3, 2, 2)
    assert stats.open_now == 3


def test_one_day_is_counted_hour_by_hour(world, calls):
    stats = stats_for(world.district_admin, calls)
    assert len(stats.series) == 24
    by_hour = {p.label: p.count for p in stats.series if p.count}
    assert by_hour == {"09:00": 1, "10:00": 1, "11:00": 1, "13:00": 1, "14:00": 1, "15:00": 1}


def test_a_week_runs_monday_to_sunday_and_is_counted_day_by_day(world, calls):
    day = calls["day"]
    week = Period.week(day)
    assert week.start.weekday() == 0 and (week.end - week.start).days == 6
    stats = stats_for(world.district_admin, calls, period=week)
    by_day = {p.label: p.count for p in stats.series}
    assert len(by_day) == 7
    assert by_day[f"{day:%m-%d}"] == 6
    before = day - dt.timedelta(days=1)
    if week.start <= before:
        assert by_day[f"{before:%m-%d}"] == 1
        assert stats.total == 7
    else:
        assert stats.total == 6


def test_the_district_is_broken_down_by_subdistrict(world, calls):
    stats = stats_for(world.district_admin, calls)
    rows = {r.label: r for r in stats.by_place}
    assert set(rows) == {"和平桥街道", "任港街道"}
    home = rows["和平桥街道"]
    assert (home.total, home.hotline, home.answered, home.coordinated, home.dispatched) == (5, 4, 1, 1, 2)
    assert (home.open, home.overdue_now) == (1, 2)
    assert (rows["任港街道"].total, rows["任港街道"].overdue_now) == (1, 1)


def test_a_request_placed_at_the_district_itself_counts_under_no_subdistrict(world, calls):
    log(world, at(calls["day"], 17), category="policy", urgency="normal", place=world.district)
    stats = stats_for(world.district_admin, calls)
    rest = stats.by_place[-1]
    assert (rest.place, rest.label, rest.total, rest.hotline) == (None, "未落到下级地点", 1, 1)
    assert sum(r.total for r in stats.by_place) == stats.total == 7


def test_a_community_is_broken_down_by_compound_and_by_grid(world, calls):
    stats = stats_for(world.community_worker, calls, place=world.community)
    assert [(r.label, r.total) for r in stats.by_place] == [("紫东花苑", 5)]
    grids = {r.label: r for r in stats.by_grid}
    assert (grids["第一网格"].total, grids["第一网格"].hotline) == (3, 2)
    assert (grids["第二网格"].total, grids["第二网格"].hotline, grids["第二网格"].overdue_now) == (2, 2, 1)


def test_a_grid_is_broken_down_by_the_buildings_it_covers(world, calls):
    stats = stats_for(world.grid_worker_a, calls)
    assert [(r.label, r.total) for r in stats.by_place] == [("紫东花苑1幢", 3)]


# --- who sees which numbers ----------------------------------------------------------------------------------


def test_grid_worker_a_sees_only_grid_a_numbers(world, calls):
    stats = stats_for(world.grid_worker_a, calls)
    assert stats.hotline_text == "接通来电2个，即刻答复1个、协调解决0个、交办处置1个"
    assert stats.total == 3 and counts(stats.by_channel) == {"hotline": 2, "public_form": 1}
    assert stats.overdue_now == 1
    other = stats_for(world.grid_worker_b, calls)
    assert other.hotline_text == "接通来电2个，即刻答复0个、协调解决1个、交办处置0个"
    assert other.overdue_now == 1


def test_the_community_worker_sees_only_their_community(world, calls):
    stats = stats_for(world.community_worker, calls)
    assert stats.hotline_text == "接通来电4个，即刻答复1个、协调解决1个、交办处置1个"
    assert stats.total == 5 and stats.overdue_now == 2


def test_the_auditor_is_forbidden_the_page_and_the_export(world, calls, login):
    client = login(world.auditor)
    assert client.get(STATS).status_code == 403
    assert client.get(EXPORT).status_code == 403
    assert not AuditEvent.objects.filter(action="case.stats_export").exists()


def test_a_place_outside_the_scope_is_refused_and_the_own_scope_shown(world, calls, login):
    day = calls["day"]
    body = login(world.grid_worker_a).get(STATS, {"place": world.grid_b.pk, "date": day}).content.decode()
    assert "所选地点不在您的管辖范围内" in body
    assert "接通来电" in body and "第二网格" not in body.split('id="stats-body"')[1]
    assert login(world.grid_worker_a).get(EXPORT, {"place": world.grid_b.pk}).status_code == 400


# --- the page ------------------------------------------------------------------------------------------------


def test_the_page_shows_the_standard_line_charts_tables_and_what_is_counted(world, calls, login):
    response = login(world.hotline_operator).get(STATS, {"period": "day", "date": calls["day"].isoformat()})
    assert response.status_code == 200
    body = response.content.decode()
    assert '<p class="stdline" id="stdline">接通来电5个，即刻答复1个、协调解决1个、交办处置1个</p>' in body
    assert "各渠道共受理诉求6个" in body
    for chart in ("category", "channel", "time", "place"):
        assert f'data-chart-key="{chart}"' in body
    for table in ("by_category", "by_channel", "by_time", "by_place", "by_urgency", "by_status", "timings"):
        assert f'id="table-{table}"' in body
    footnote = body[body.index('id="stats-footnote"') :]
    assert "含已撤销的1个" in footnote and "尚未分流或未经处置即撤销" in footnote
    assert "<script>" not in body  # charts get their data from json_script tags and a static script


def test_the_page_defaults_to_today(world, login):
    today = timezone.localdate()
    actions.case_create(
        actor=world.hotline_operator,
        data=IntakeData(channel="hotline", description="药快吃完了", category="medicine", urgency="high"),
    )
    body = login(world.district_admin).get(STATS).content.decode()
    assert today.isoformat() in body
    assert "接通来电1个" in body


def test_an_htmx_request_gets_the_body_only(world, calls, login):
    response = login(world.district_admin).get(
        STATS, {"date": calls["day"].isoformat()}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body and 'id="stdline"' in body
    assert 'hx-swap-oob="true"' in body  # the place picker follows the chosen place


def test_a_custom_period_needs_an_end_after_its_start(world, login):
    body = (
        login(world.district_admin)
        .get(STATS, {"period": "custom", "start": "2026-03-10", "end": "2026-03-01"})
        .content.decode()
    )
    assert "截止日期不能早于起始日期" in body


def test_a_custom_period_counts_its_days(world, calls, login):
    day = calls["day"]
    start = day - dt.timedelta(days=1)
    body = (
        login(world.district_admin)
        .get(STATS, {"period": "custom", "start": start.isoformat(), "end": day.isoformat()})
        .content.decode()
    )
    assert "各渠道共受理诉求7个" in body


# --- the workbook --------------------------------------------------------------------------------------------


def test_the_export_is_a_workbook_with_a_sheet_per_table_and_is_audited(world, calls, login):
    day = calls["day"]
    response = login(world.community_worker).get(EXPORT, {"date": day.isoformat(), "place": world.community.pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    names = workbook.sheet_names
    assert names == [
        "概况",
        "按诉求类别",
        "按紧急程度",
        "按来源渠道",
        "按当前状态",
        "按下级地点",
        "按网格",
        "按小时",
        "办理用时",
    ]

    overview = workbook.get_sheet_by_name("概况").to_python()
    assert ["热线", "接通来电4个，即刻答复1个、协调解决1个、交办处置1个"] in [row[:2] for row in overview]

    categories = workbook.get_sheet_by_name("按诉求类别").to_python()
    assert categories[1][:2] == ["诉求类别", "诉求数"]
    rows = {row[0]: row[1] for row in categories[2:] if row[0]}
    assert rows["生活物资"] == 2 and rows["就医"] == 1 and rows["合计"] == 5

    grids = {row[0]: row[1:8] for row in workbook.get_sheet_by_name("按网格").to_python()[2:] if row[0]}
    assert grids["第一网格"][:2] == [3, 2]

    timings = {row[0]: row for row in workbook.get_sheet_by_name("办理用时").to_python()[2:] if row[0]}
    assert timings["全部诉求"][1] == 45.0  # minutes: first contact after 5, 30, 60 and 1,140 minutes

    event = AuditEvent.objects.get(action="case.stats_export")
    assert event.actor == world.community_worker
    assert event.changes["place"] == world.community.pk and event.changes["received"] == 5
    assert event.changes["period"] == {"kind": "day", "start": day.isoformat(), "end": day.isoformat()}
    assert event.changes["sheets"]["按诉求类别"] == 12


def test_grid_worker_a_exports_only_grid_a_numbers(world, calls, login):
    response = login(world.grid_worker_a).get(EXPORT, {"date": calls["day"].isoformat()})
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    overview = workbook.get_sheet_by_name("概况").to_python()
    assert ["热线", "接通来电2个，即刻答复1个、协调解决0个、交办处置1个"] in [row[:2] for row in overview]
    channels = {row[0]: row[1] for row in workbook.get_sheet_by_name("按来源渠道").to_python()[2:] if row[0]}
    assert channels["合计"] == 3
