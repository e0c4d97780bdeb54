"""Testing rounds (核酸检测): rounds, sampling records, the results import with every kind of row problem, home
sampling and its route, the outreach ladder, coverage figures, positive notifications, exports, and the scope of
every page, import and export (grid A against grid B, another community's staff get 404)."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import xlsxwriter
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from caregrid.accounts.models import AuditEvent, Notification, Role, RoleAssignment, User
from caregrid.people.actions import CategoryEntry, ResidentData, resident_create
from caregrid.people.models import Category
from caregrid.places.actions import place_create
from caregrid.places.models import PlaceKind
from caregrid.sampling import actions, queries, views
from caregrid.sampling.importer import result_code, results_import
from caregrid.sampling.models import (
    HomeRequestStatus,
    OutreachOutcome,
    OutreachRung,
    OutreachStep,
    Result,
    SamplingRecord,
    Source,
    Where,
)
from caregrid.sampling.synthetic import seed_demo
from tests.conftest import make_id

pytestmark = pytest.mark.django_db

HEADER = ["序号", "姓名", "身份证号", "采样时间", "采样点", "检测结果"]


def today() -> dt.date:
    return timezone.localdate()


def at(hour: int, minute: int = 0, day: dt.date | None = None) -> dt.datetime:
    """A moment earlier today (yesterday's when the hour has not come yet), so it is never in the future."""
    day = day or today()
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))
    return moment if moment <= timezone.now() else moment - dt.timedelta(days=1)


def stamp(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def open_round(world, *, place=None, days_back: int = 1, **kw):
    """A round from yesterday to today, so sampling times earlier today or yesterday both belong to it."""
    return actions.round_create(
        actor=world.community_worker,
        name="4月10日全员核酸",
        place=place or world.community,
        start_date=today() - dt.timedelta(days=days_back),
        end_date=today(),
        **kw,
    )


def other_staff(world) -> User:
    user = User.objects.create_user(username="hexi", password="x", full_name="河西社区王")
    RoleAssignment.objects.create(user=user, role=Role.COMMUNITY_STAFF, place=world.other_community)
    return user


def grid_a_staff(world) -> User:
    """A community staff member whose role is scoped to grid A only (may export)."""
    user = User.objects.create_user(username="grid_a_staff", password="x", full_name="一网格专员")
    RoleAssignment.objects.create(user=user, role=Role.COMMUNITY_STAFF, place=world.grid_a)
    return user


def write_csv(path: Path, rows: list[list], *, header=HEADER, encoding="gb18030") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["紫东社区核酸检测结果（检测机构导出）"])
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list], *, header=HEADER) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("结果")
    sheet.merge_range(0, 0, 0, len(header) - 1, "紫东社区核酸检测结果")
    sheet.write_row(1, 0, header)
    for i, row in enumerate(rows, start=2):
        sheet.write_row(i, 0, row)
    workbook.close()
    return path


def good_rows(world) -> list[list]:
    return [
        [1, "王秀英", world.resident_a.id_number, stamp(at(7, 30)), "紫东花苑东门采样点", "阴性"],
        [2, "李建国", world.resident_b.id_number, stamp(at(8, 5)), "上门采样", "待检"],
    ]


@pytest.fixture
def uploads(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.UPLOAD_DIR


def sheet_rows(response) -> list[list]:
    content = b"".join(response.streaming_content)
    path = Path(response.wsgi_request.META.get("TMP", "/tmp")) / f"sampling-export-{id(content)}.xlsx"
    path.write_bytes(content)
    try:
        return [list(r) for r in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()]
    finally:
        path.unlink()


# ---- rounds ------------------------------------------------------------------------------------------------------


def test_staff_open_a_round_over_their_community_and_it_is_audited(world, login):
    client = login(world.community_worker)
    response = client.post(
        reverse("sampling:round_new"),
        {"name": "第一轮全员核酸", "place": world.community.pk, "start_date": today().isoformat(), "population": "all"},
    )
    round = world.community.sampling_rounds.get()
    assert response.status_code == 302 and response["Location"] == reverse("sampling:round", args=[round.pk])
    assert (round.end_date, round.place_path, round.status) == (today(), world.community.path, "open")
    assert AuditEvent.objects.filter(action="sampling.round_create", object_id=str(round.pk)).exists()
    page = client.get(reverse("sampling:round", args=[round.pk])).content.decode()
    assert "第一轮全员核酸" in page and "第一网格" in page and "第二网格" in page


def test_a_round_with_an_end_before_its_start_is_refused_in_chinese(world, login):
    response = login(world.community_worker).post(
        reverse("sampling:round_new"),
        {
            "name": "第二轮",
            "place": world.community.pk,
            "start_date": today().isoformat(),
            "end_date": (today() - dt.timedelta(days=1)).isoformat(),
            "population": "all",
        },
    )
    assert response.status_code == 400
    assert "结束日期不能早于开始日期" in response.content.decode()
    with pytest.raises(ValidationError) as e:
        actions.round_create(actor=world.community_worker, name="", place=world.household_a, start_date=today())
    assert e.value.message_dict == {
        "name": ["请填写轮次名称"],
        "place": ["检测范围须是区、街道、社区、网格、小区或楼栋"],
    }


def test_a_grid_worker_may_not_open_a_round(world, login):
    assert login(world.grid_worker_a).get(reverse("sampling:round_new")).status_code == 403


def test_staff_close_a_round_and_nothing_more_is_recorded_in_it(world, login):
    round = open_round(world)
    client = login(world.community_worker)
    client.post(reverse("sampling:round_close", args=[round.pk]))
    round.refresh_from_db()
    assert round.status == "closed" and round.closed_at is not None
    with pytest.raises(ValidationError) as e:
        actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a)
    assert e.value.messages == ["本轮检测已结束，不能再登记"]
    client.post(reverse("sampling:round_reopen", args=[round.pk]))
    round.refresh_from_db()
    assert round.status == "open"
    assert AuditEvent.objects.filter(action__in=["sampling.round_close", "sampling.round_reopen"]).count() == 2


def test_a_grid_worker_sees_the_communitys_round_but_not_a_round_over_the_other_grid(world, login):
    community_round = open_round(world)
    grid_b_round = open_round(world, place=world.grid_b)
    building_b_round = open_round(world, place=world.building_b)
    visible_a = set(queries.rounds_visible(world.grid_worker_a))
    assert visible_a == {community_round}
    assert set(queries.rounds_visible(world.grid_worker_b)) == {community_round, grid_b_round, building_b_round}
    page = login(world.grid_worker_a).get(reverse("sampling:rounds")).content.decode()
    assert page.count("4月10日全员核酸") == 1
    for round in (grid_b_round, building_b_round):
        assert login(world.grid_worker_a).get(reverse("sampling:round", args=[round.pk])).status_code == 404


def test_a_round_over_a_grid_tests_the_residents_the_grid_covers(world):
    round = open_round(world, place=world.grid_a)
    assert list(queries.population(round)) == [world.resident_a]
    assert queries.includes(round, world.resident_a) and not queries.includes(round, world.resident_b)


def test_a_priority_round_tests_only_priority_residents(world):
    round = open_round(world, place=world.district, population="priority")
    assert set(queries.population(round)) == {world.resident_a, world.resident_b}


# ---- sampling records --------------------------------------------------------------------------------------------


def test_recording_a_sampling_keeps_the_residents_place_and_is_audited(world):
    round = open_round(world)
    record = actions.sampling_record(
        actor=world.grid_worker_a, round=round, resident=world.resident_a, site="东门采样点", tube_code="ZD 0001"
    )
    assert (record.where, record.result, record.tube_code, record.source) == ("site", "pending", "ZD0001", "manual")
    assert (record.place_path, record.grid_path) == (world.resident_a.place_path, world.resident_a.grid_path)
    assert record.recorded_by == world.grid_worker_a
    event = AuditEvent.objects.get(action="sampling.record")
    assert event.changes["resident"] == world.resident_a.pk and event.place_path == world.resident_a.place_path


def test_a_second_sampling_of_the_same_resident_is_refused_with_the_first_ones_time_and_place(world):
    round = open_round(world)
    first = actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a, site="东门")
    with pytest.raises(ValidationError) as e:
        actions.sampling_record(actor=world.community_worker, round=round, resident=world.resident_a, site="西门")
    when = timezone.localtime(first.sampled_at).strftime("%m-%d %H:%M")
    assert e.value.message_dict["resident"] == [
        f"王秀英本轮已于{when}在东门采样，不能重复登记；如需重新采样，请在采样记录中登记复采"
    ]
    assert SamplingRecord.objects.get().site == "东门"


def test_a_resample_is_recorded_explicitly_and_keeps_the_previous_sample_in_the_audit(world):
    round = open_round(world)
    record = actions.sampling_record(
        actor=world.grid_worker_a, round=round, resident=world.resident_a, sampled_at=at(7), tube_code="T1"
    )
    record = actions.sampling_result_set(actor=world.community_worker, record=record, result=Result.POSITIVE)
    with pytest.raises(ValidationError) as e:
        actions.sampling_resample(actor=world.grid_worker_a, record=record, reason="")
    assert e.value.message_dict == {"reason": ["请填写复采原因"]}
    record = actions.sampling_resample(actor=world.grid_worker_a, record=record, reason="混管阳性复采", tube_code="T2")
    assert (record.result, record.result_at, record.tube_code, record.resamples) == ("pending", None, "T2", 1)
    event = AuditEvent.objects.get(action="sampling.resample")
    assert event.changes["before"]["tube_code"] == "T1" and event.changes["before"]["result"] == "positive"


def test_sampling_a_resident_outside_the_round_or_the_rounds_dates_is_refused(world):
    round = open_round(world, days_back=0)
    with pytest.raises(ValidationError) as e:
        actions.sampling_record(actor=world.district_admin, round=round, resident=world.resident_other)
    assert e.value.message_dict == {"resident": ["赵敏不在本轮检测范围内"]}
    with pytest.raises(ValidationError) as e:
        actions.sampling_record(
            actor=world.grid_worker_a,
            round=round,
            resident=world.resident_a,
            sampled_at=timezone.now() - dt.timedelta(days=2),
        )
    assert e.value.message_dict["sampled_at"] == [f"采样时间须在本轮检测日期（{today()}至{today()}）内"]


def test_a_grid_worker_records_samplings_of_their_grid_from_the_phone_page(world, login):
    round = open_round(world)
    client = login(world.grid_worker_a)
    page = client.get(reverse("sampling:record", args=[round.pk]), {"q": "王秀英"}).content.decode()
    assert "王秀英" in page and world.resident_a.id_number not in page
    page = client.get(reverse("sampling:record", args=[round.pk]), {"q": "李建国"}).content.decode()
    assert 'id="found"' not in page and "本轮检测范围内没有找到这位居民" in page
    response = client.post(
        reverse("sampling:record", args=[round.pk]), {"resident": world.resident_a.pk, "where": "site", "site": "东门"}
    )
    assert response.status_code == 302 and SamplingRecord.objects.get().resident == world.resident_a
    response = client.post(
        reverse("sampling:record", args=[round.pk]), {"resident": world.resident_b.pk, "where": "site"}
    )
    assert response.status_code == 404 and SamplingRecord.objects.count() == 1


def test_staff_enter_a_result_by_hand_and_a_positive_notifies_the_community(world, login):
    round = open_round(world)
    record = actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a)
    client = login(world.grid_worker_a)
    client.post(reverse("sampling:record_result", args=[round.pk, record.pk]), {"result": "positive"})
    record.refresh_from_db()
    assert record.result == "positive" and record.result_at is not None
    note = Notification.objects.get(kind="sampling.positive")
    assert note.user == world.community_worker and "王秀英" in note.title
    other = actions.sampling_record(actor=world.grid_worker_b, round=round, resident=world.resident_b)
    response = client.post(reverse("sampling:record_result", args=[round.pk, other.pk]), {"result": "negative"})
    assert response.status_code == 404


# ---- results import ----------------------------------------------------------------------------------------------


def test_results_import_from_a_spreadsheet_creates_the_records_with_their_results(world, tmp_path):
    round = open_round(world)
    path = write_xlsx(
        tmp_path / "结果.xlsx", good_rows(world), header=["序号", "姓名", "证件号码", "采样时间", "采样点", "检测结果"]
    )
    report = results_import(actor=world.community_worker, round=round, path=path)
    assert (report.rows, report.created, report.updated, report.rejected, report.written) == (2, 2, 0, [], True)
    a = SamplingRecord.objects.get(resident=world.resident_a)
    b = SamplingRecord.objects.get(resident=world.resident_b)
    assert (a.result, a.where, a.site, a.source) == ("negative", "site", "紫东花苑东门采样点", "import")
    assert a.result_at is not None and stamp(a.sampled_at) == good_rows(world)[0][3]
    assert (b.result, b.where, b.result_at) == ("pending", "home", None)
    event = AuditEvent.objects.get(action="sampling.import")
    assert event.changes["created"] == 2 and event.changes["written"] is True


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("阴性", "negative"), ("阴", "negative"), ("Negative", "negative"), ("阴性（-）", "negative"),
        ("阳性", "positive"), ("阳", "positive"), ("POSITIVE", "positive"), ("+", "positive"),
        ("待检", "pending"), ("检测中", "pending"), ("", "pending"), ("陰性", "negative"), ("可疑", None),
    ],
)  # fmt: skip
def test_result_words_and_their_variants_are_understood(word, code):
    assert result_code(word) == code


def test_every_kind_of_row_problem_names_the_excel_row_the_column_and_the_reason(world, tmp_path):
    round = open_round(world)
    stranger = make_id("320602", "19700101", "555")  # a valid number nobody in the ledger holds
    own = world.resident_a.id_number
    miscopied = own[:17] + ("1" if own[17] == "0" else "0")
    rows = [
        [1, "王秀英", world.resident_a.id_number, stamp(at(7, 30)), "东门", "阴性"],
        [2, "路人", stranger, stamp(at(7, 31)), "东门", "阴性"],
        [3, "错号", miscopied, stamp(at(7, 32)), "东门", "阴性"],
        [4, "赵敏", world.resident_other.id_number, stamp(at(7, 33)), "东门", "阴性"],
        [5, "李建国", world.resident_b.id_number, stamp(at(7, 34)), "东门", "可疑"],
        [6, "王秀英", world.resident_a.id_number, stamp(at(7, 35)), "东门", "阴性"],
        [7, "李建国", world.resident_b.id_number, "昨天上午", "东门", "阴性"],
        [8, "李建国", world.resident_b.id_number, stamp(timezone.now() - dt.timedelta(days=3)), "东门", "阴性"],
        [9, "李建国", world.resident_b.id_number, "", "东门", "阴性"],
    ]
    report = results_import(actor=world.district_admin, round=round, path=write_csv(tmp_path / "r.csv", rows))
    problems = [(p.row, p.column, p.code) for p in report.rejected]
    assert problems == [
        (4, "身份证号", "unknown_id"),
        (5, "身份证号", "id_checksum"),
        (6, "身份证号", "outside_round"),
        (7, "检测结果", "bad_result"),
        (8, "身份证号", "duplicate_in_file"),
        (9, "采样时间", "bad_time"),
        (10, "采样时间", "time_outside_round"),
        (11, "采样时间", "time_missing"),
    ]
    messages = {p.code: p.message for p in report.rejected}
    assert messages["unknown_id"] == f"身份证号3206**********{stranger[-4:]}不在居民台账中（或不在您负责的范围内）"
    assert messages["outside_round"].startswith("赵敏（3206") and messages["outside_round"].endswith(
        "）不在本轮检测范围内"
    )
    assert messages["bad_result"] == "检测结果“可疑”无法识别，可填：阴性、阳性、待检"
    assert messages["duplicate_in_file"].endswith("与第3行重复")
    assert messages["bad_time"] == "采样时间“昨天上午”无法识别，请写成 2022-04-10 08:15 这样的格式"
    yesterday = today() - dt.timedelta(days=1)
    assert messages["time_outside_round"].startswith(f"采样时间须在本轮检测日期（{yesterday}至{today()}）内")
    assert messages["id_checksum"] == "身份证号校验位不正确，请核对是否抄错"
    assert not report.written and not SamplingRecord.objects.exists()
    assert AuditEvent.objects.get(action="sampling.import").changes["rejected"] == 8


def test_a_name_that_differs_from_the_ledger_is_a_warning_and_the_id_number_decides(world, tmp_path):
    round = open_round(world)
    rows = [[1, "王秀", world.resident_a.id_number, stamp(at(7)), "东门", "阴性"]]
    report = results_import(actor=world.community_worker, round=round, path=write_csv(tmp_path / "r.csv", rows))
    assert report.written and [w.code for w in report.warnings] == ["name_mismatch"]
    assert report.warnings[0].message == "姓名“王秀”与台账中的“王秀英”不一致，按身份证号匹配"


def test_a_file_with_a_bad_row_writes_nothing_unless_only_valid_rows_are_asked_for(world, tmp_path):
    round = open_round(world)
    rows = [*good_rows(world), [3, "赵敏", world.resident_other.id_number, stamp(at(9)), "东门", "阴性"]]
    path = write_csv(tmp_path / "r.csv", rows)
    report = results_import(actor=world.district_admin, round=round, path=path)
    assert not report.written and not SamplingRecord.objects.exists()
    report = results_import(actor=world.district_admin, round=round, path=path, partial=True)
    assert report.written and report.created == 2 and len(report.rejected) == 1
    assert SamplingRecord.objects.count() == 2


def test_importing_the_same_file_again_changes_nothing(world, tmp_path):
    round = open_round(world)
    path = write_csv(tmp_path / "r.csv", good_rows(world))
    results_import(actor=world.community_worker, round=round, path=path)
    before = list(SamplingRecord.objects.order_by("id").values())
    preview = results_import(actor=world.community_worker, round=round, path=path, dry_run=True)
    assert preview.imported_before and (preview.created, preview.updated, preview.unchanged) == (0, 0, 2)
    again = results_import(actor=world.community_worker, round=round, path=path)
    assert (again.created, again.updated, again.unchanged, again.written) == (0, 0, 2, False)
    assert list(SamplingRecord.objects.order_by("id").values()) == before
    assert [e.changes["written"] for e in AuditEvent.objects.filter(action="sampling.import").order_by("id")] == [
        True,
        False,
    ]


def test_a_later_file_updates_results_but_a_pending_row_never_replaces_a_known_result(world, tmp_path):
    round = open_round(world)
    results_import(actor=world.community_worker, round=round, path=write_csv(tmp_path / "1.csv", good_rows(world)))
    rows = [
        [1, "王秀英", world.resident_a.id_number, stamp(at(7, 30)), "东门", "待检"],
        [2, "李建国", world.resident_b.id_number, stamp(at(8, 5)), "上门采样", "阴性"],
    ]
    report = results_import(actor=world.community_worker, round=round, path=write_csv(tmp_path / "2.csv", rows))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert [w.code for w in report.warnings] == ["result_kept"]
    assert SamplingRecord.objects.get(resident=world.resident_a).result == "negative"
    assert SamplingRecord.objects.get(resident=world.resident_b).result == "negative"


def test_a_positive_result_notifies_the_communitys_staff_once(world, tmp_path):
    round = open_round(world)
    rows = [[1, "王秀英", world.resident_a.id_number, stamp(at(7)), "东门", "阳性"]]
    path = write_csv(tmp_path / "r.csv", rows)
    report = results_import(actor=world.district_admin, round=round, path=path)
    assert len(report.positives) == 1
    notes = list(Notification.objects.filter(kind="sampling.positive"))
    assert [n.user for n in notes] == [world.community_worker]
    assert notes[0].title == "核酸阳性：王秀英（4月10日全员核酸）"
    assert notes[0].url == reverse("sampling:records", args=[round.pk]) + "?result=positive"
    results_import(actor=world.district_admin, round=round, path=path)
    assert Notification.objects.filter(kind="sampling.positive").count() == 1


def test_a_grid_worker_cannot_import_results_for_the_other_grid(world, tmp_path):
    round = open_round(world)
    report = results_import(
        actor=world.grid_worker_a, round=round, path=write_csv(tmp_path / "r.csv", good_rows(world)), partial=True
    )
    assert [(p.row, p.code) for p in report.rejected] == [(4, "unknown_id")]
    assert list(SamplingRecord.objects.values_list("resident", flat=True)) == [world.resident_a.pk]


def test_a_results_file_without_the_result_column_is_refused_whole(world, tmp_path, uploads, login):
    round = open_round(world)
    path = write_csv(
        tmp_path / "r.csv", [[1, "王秀英", world.resident_a.id_number]], header=["序号", "姓名", "身份证号"]
    )
    client = login(world.community_worker)
    with open(path, "rb") as f:
        response = client.post(reverse("sampling:import", args=[round.pk]), {"file": f}, follow=True)
    assert "表头中缺少“采样时间”、“检测结果”列" in response.content.decode()


def test_the_import_pages_preview_every_problem_then_import_on_confirmation(world, tmp_path, uploads, login):
    round = open_round(world)
    rows = [*good_rows(world), [3, "赵敏", world.resident_other.id_number, stamp(at(9)), "东门", "阴性"]]
    path = write_xlsx(tmp_path / "结果.xlsx", rows)
    client = login(world.community_worker)
    with open(path, "rb") as f:
        response = client.post(reverse("sampling:import", args=[round.pk]), {"file": f})
    batch_url = response["Location"]
    page = client.get(batch_url).content.decode()
    assert "不在居民台账中" in page and "确认导入" in page and not SamplingRecord.objects.exists()
    token = batch_url.rstrip("/").rsplit("/", 1)[-1]
    assert login(world.grid_worker_a).get(batch_url).status_code == 404  # someone else's batch
    client = login(world.community_worker)
    client.post(reverse("sampling:import_confirm", args=[round.pk, token]), {"partial": "on"})
    page = client.get(batch_url).content.decode()
    assert "已新增采样记录 2 条" in page and SamplingRecord.objects.count() == 2
    client.post(reverse("sampling:import_confirm", args=[round.pk, token]), {"partial": "on"})
    assert AuditEvent.objects.filter(action="sampling.import").count() == 1


# ---- home sampling -----------------------------------------------------------------------------------------------


def add_resident(world, name: str, household, seq: str, categories=()):
    return resident_create(
        actor="system",
        data=ResidentData(
            id_number=make_id("320602", "19400101", seq),
            name=name,
            household=household,
            categories=[CategoryEntry(Category.objects.get(code=c)) for c in categories],
        ),
    )


def test_residents_who_cannot_go_down_are_proposed_for_home_sampling(world):
    round = open_round(world)
    walker = add_resident(world, "健步者", world.household_a, "611")
    bedridden = add_resident(world, "卧床者", world.household_a, "622", ["limited_mobility"])
    proposed = set(queries.home_sampling_proposals(world.community_worker, round))
    assert proposed == {world.resident_a, world.resident_b, bedridden} and walker not in proposed
    assert set(queries.home_sampling_proposals(world.grid_worker_b, round)) == {world.resident_b}
    actions.home_request_add(actor=world.community_worker, round=round, resident=bedridden)
    actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a)
    assert set(queries.home_sampling_proposals(world.community_worker, round)) == {world.resident_b}
    assert set(queries.HOME_SAMPLING_CATEGORIES) >= {"limited_mobility", "elderly_alone", "dialysis", "pregnant"}


def test_staff_add_residents_to_the_home_list_and_take_them_off(world, login):
    round = open_round(world)
    client = login(world.community_worker)
    page = client.get(reverse("sampling:home", args=[round.pk])).content.decode()
    assert "王秀英" in page and "独居老人" in page and "李建国" in page
    client.post(
        reverse("sampling:home_add", args=[round.pk]), {"residents": [world.resident_a.pk, world.resident_b.pk]}
    )
    requests = {r.resident: r for r in queries.home_requests(world.community_worker, round)}
    assert set(requests) == {world.resident_a, world.resident_b}
    assert requests[world.resident_a].reason == "独居老人" and requests[world.resident_b].reason == "血透"
    client.post(reverse("sampling:home_cancel", args=[round.pk, requests[world.resident_b].pk]))
    requests[world.resident_b].refresh_from_db()
    assert requests[world.resident_b].status == HomeRequestStatus.CANCELLED
    walker = add_resident(world, "健步者", world.household_a, "611")
    client.post(reverse("sampling:home_add", args=[round.pk]), {"id_number": walker.id_number, "reason": "骨折卧床"})
    assert queries.home_requests(world.community_worker, round).get(resident=walker).reason == "骨折卧床"
    actions_logged = set(AuditEvent.objects.filter(action__startswith="sampling.home").values_list("action", flat=True))
    assert actions_logged == {"sampling.home_request", "sampling.home_cancel"}


def test_a_grid_worker_cannot_put_the_other_grids_resident_on_the_home_list(world, login):
    round = open_round(world)
    client = login(world.grid_worker_a)
    client.post(reverse("sampling:home_add", args=[round.pk]), {"residents": [world.resident_b.pk]})
    client.post(reverse("sampling:home_add", args=[round.pk]), {"id_number": world.resident_b.id_number})
    assert not queries.home_requests(world.district_admin, round).exists()
    request = actions.home_request_add(actor=world.grid_worker_b, round=round, resident=world.resident_b)
    assert client.post(reverse("sampling:home_cancel", args=[round.pk, request.pk])).status_code == 404
    assert client.post(reverse("sampling:home_sampled", args=[round.pk, request.pk])).status_code == 404


def test_the_route_is_grouped_by_building_and_ordered_by_unit_and_room(world):
    round = open_round(world)
    sys = "system"
    unit2 = place_create(actor=sys, parent=world.building_a, kind=PlaceKind.UNIT, name="2单元")
    unit1 = world.household_a.parent
    room_1102 = place_create(actor=sys, parent=unit1, kind=PlaceKind.HOUSEHOLD, name="1102")
    room_201 = place_create(actor=sys, parent=unit2, kind=PlaceKind.HOUSEHOLD, name="201")
    building_10 = place_create(
        actor=sys, parent=world.compound, kind=PlaceKind.BUILDING, name="10幢", grid=world.grid_a
    )
    room_10 = place_create(actor=sys, parent=building_10, kind=PlaceKind.HOUSEHOLD, name="101")
    people = [
        add_resident(world, "十幢住户", room_10, "701"),
        add_resident(world, "二单元住户", room_201, "702"),
        add_resident(world, "一一零二住户", room_1102, "703"),
        world.resident_b,
        world.resident_a,
    ]
    for person in people:
        actions.home_request_add(actor=world.community_worker, round=round, resident=person, reason="行动不便")
    buildings = queries.route(list(queries.home_requests(world.community_worker, round)))
    assert [b.title for b in buildings] == ["紫东花苑1幢", "紫东花苑2幢", "紫东花苑10幢"]
    assert [s.request.resident.name for s in buildings[0].stops] == ["王秀英", "一一零二住户", "二单元住户"]
    assert [(s.unit, s.room) for s in buildings[0].stops] == [("1单元", "101"), ("1单元", "1102"), ("2单元", "201")]
    grid_b_route = queries.route(list(queries.home_requests(world.grid_worker_b, round)))
    assert [[s.request.resident for s in b.stops] for b in grid_b_route] == [[world.resident_b]]


def test_the_route_page_prints_one_building_per_a4_page_and_marks_a_stop_sampled(world, login):
    round = open_round(world)
    a = actions.home_request_add(actor=world.community_worker, round=round, resident=world.resident_a)
    actions.home_request_add(actor=world.community_worker, round=round, resident=world.resident_b)
    client = login(world.grid_worker_a)
    page = client.get(reverse("sampling:route", args=[round.pk])).content.decode()
    assert page.count('class="route-building"') == 1 and "王秀英" in page and "李建国" not in page
    assert "138****5678" in page and "13812345678" not in page
    css = (Path(__file__).parents[1] / "caregrid/static/caregrid/sampling.css").read_text()
    assert "size: A4" in css and "page-break-after: always" in css
    client.post(reverse("sampling:home_sampled", args=[round.pk, a.pk]), {"tube_code": "H001"})
    record = SamplingRecord.objects.get(resident=world.resident_a)
    assert (record.where, record.source, record.tube_code) == (Where.HOME, Source.HOME, "H001")
    a.refresh_from_db()
    assert a.status == HomeRequestStatus.SAMPLED and a.record == record
    page = client.get(reverse("sampling:route", args=[round.pk])).content.decode()
    assert 'class="route-building"' not in page and "没有待上门采样的居民" in page
    with pytest.raises(ValidationError) as e:
        actions.home_request_sampled(actor=world.grid_worker_a, request=a)
    assert e.value.messages == ["王秀英已上门采样"]


def test_a_resident_sampled_at_the_site_meanwhile_cannot_be_sampled_again_at_home(world):
    round = open_round(world)
    request = actions.home_request_add(actor=world.community_worker, round=round, resident=world.resident_a)
    actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a, site="东门")
    with pytest.raises(ValidationError) as e:
        actions.home_request_sampled(actor=world.grid_worker_a, request=request)
    assert "不能重复登记" in e.value.messages[0]


def test_an_imported_result_marks_a_waiting_home_request_sampled(world, tmp_path):
    round = open_round(world)
    request = actions.home_request_add(actor=world.community_worker, round=round, resident=world.resident_b)
    results_import(actor=world.community_worker, round=round, path=write_csv(tmp_path / "r.csv", good_rows(world)))
    request.refresh_from_db()
    assert request.status == HomeRequestStatus.SAMPLED and request.record.resident == world.resident_b


# ---- the outreach ladder -----------------------------------------------------------------------------------------


def test_the_current_rung_is_the_highest_step_taken(world):
    round = open_round(world)
    steps = [
        (OutreachRung.GROUP_NOTICE, OutreachOutcome.SENT, at(8)),
        (OutreachRung.PHONE_CALL, OutreachOutcome.NOT_REACHED, at(9)),
        (OutreachRung.HOME_VISIT, OutreachOutcome.WILL_GO, at(10)),
        (OutreachRung.PHONE_CALL, OutreachOutcome.WILL_GO, at(11)),
    ]
    for step, outcome, moment in steps:
        actions.outreach_record(
            actor=world.grid_worker_a, round=round, resident=world.resident_a, step=step, outcome=outcome, at=moment
        )
    rung = queries.rungs_for(round, [world.resident_a.pk, world.resident_b.pk])
    assert set(rung) == {world.resident_a.pk}
    assert (rung[world.resident_a.pk].step, rung[world.resident_a.pk].count) == ("home_visit", 4)
    assert AuditEvent.objects.filter(action="sampling.outreach").count() == 4


def test_outreach_is_refused_for_a_resident_already_sampled(world):
    round = open_round(world)
    actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a)
    with pytest.raises(ValidationError) as e:
        actions.outreach_record(actor=world.grid_worker_a, round=round, resident=world.resident_a, step="phone_call")
    assert e.value.message_dict == {"resident": ["王秀英本轮已采样，无需动员"]}


def test_the_not_sampled_list_shows_each_residents_rung_and_records_the_next_step(world, login):
    round = open_round(world)
    add_resident(world, "未动员者", world.household_a, "811")
    client = login(world.grid_worker_a)
    url = reverse("sampling:missing", args=[round.pk])
    page = client.get(url).content.decode()
    assert "王秀英" in page and "未动员者" in page and "李建国" not in page and "未动员" in page
    response = client.post(
        reverse("sampling:outreach", args=[round.pk, world.resident_a.pk]),
        {"step": "phone_call", "outcome": "not_reached", "note": "无人接听", "next": url},
    )
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "电话提醒" in page and "未联系上" in page
    step = OutreachStep.objects.get()
    assert (step.by, step.note, step.grid_path) == (world.grid_worker_a, "无人接听", world.resident_a.grid_path)
    response = client.get(reverse("sampling:outreach", args=[round.pk, world.resident_b.pk]))
    assert response.status_code == 404


def test_a_group_notice_is_recorded_for_every_not_sampled_resident_of_the_grid_once_a_day(world, login):
    round = open_round(world)
    extra = add_resident(world, "同网格", world.household_a, "911")
    actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a)
    client = login(world.grid_worker_a)
    client.post(reverse("sampling:group_notice", args=[round.pk]), {"grid": world.grid_a.pk, "note": "请下楼采样"})
    assert list(OutreachStep.objects.values_list("resident", "step")) == [(extra.pk, "group_notice")]
    client.post(reverse("sampling:group_notice", args=[round.pk]), {"grid": world.grid_a.pk})
    assert OutreachStep.objects.count() == 1
    event = AuditEvent.objects.filter(action="sampling.group_notice").order_by("id").last()
    assert (event.changes["residents"], event.changes["skipped"]) == (0, 1)
    client.post(reverse("sampling:group_notice", args=[round.pk]), {"grid": world.grid_b.pk})
    assert not OutreachStep.objects.filter(resident=world.resident_b).exists()


def test_the_outreach_form_goes_back_only_to_a_page_of_this_site(world, login):
    round = open_round(world)
    response = login(world.grid_worker_a).post(
        reverse("sampling:outreach", args=[round.pk, world.resident_a.pk]),
        {"step": "group_notice", "next": "https://example.com/phish"},
    )
    assert response["Location"] == reverse("sampling:missing", args=[round.pk])


# ---- coverage ----------------------------------------------------------------------------------------------------


def test_coverage_counts_to_test_sampled_not_sampled_and_results_by_grid_and_building(world):
    round = open_round(world)
    extra = add_resident(world, "同楼", world.household_a, "121")
    add_resident(world, "二幢", world.household_b, "131")
    actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a)
    record = actions.sampling_record(actor=world.grid_worker_a, round=round, resident=extra)
    actions.sampling_result_set(actor=world.community_worker, record=record, result=Result.POSITIVE)
    actions.home_request_add(actor=world.community_worker, round=round, resident=world.resident_b)
    cov = queries.coverage(world.community_worker, round)
    figures = (cov.total.to_test, cov.total.sampled, cov.total.not_sampled, cov.total.positive, cov.total.pending)
    assert figures == (4, 2, 2, 1, 1) and cov.total.home_waiting == 1
    assert [(g.label, g.to_test, g.sampled, g.positive) for g in cov.grids] == [
        ("第一网格", 2, 2, 1),
        ("第二网格", 2, 0, 0),
    ]
    assert [(b.compound + b.label, b.grid.name, b.to_test, b.not_sampled) for b in cov.buildings] == [
        ("紫东花苑1幢", "第一网格", 2, 0),
        ("紫东花苑2幢", "第二网格", 2, 2),
    ]
    assert cov.total.percent == 50
    mine = queries.coverage(world.grid_worker_b, round)
    assert (mine.total.to_test, mine.total.sampled, [g.label for g in mine.grids]) == (2, 0, ["第二网格"])


def test_coverage_takes_the_same_number_of_queries_whatever_the_number_of_residents(world, django_assert_num_queries):
    round = open_round(world)
    queries.coverage(world.community_worker, round)  # warm the user's role cache
    with django_assert_num_queries(3):
        queries.coverage(world.community_worker, round)
    for i in range(12):
        person = add_resident(world, f"居民{i}", world.household_a if i % 2 else world.household_b, f"{300 + i}")
        if i % 3 == 0:
            actions.sampling_record(actor=world.community_worker, round=round, resident=person)
    with django_assert_num_queries(3):
        cov = queries.coverage(world.community_worker, round)
    assert (cov.total.to_test, cov.total.sampled) == (14, 4)


def test_the_round_page_shows_the_figures_in_the_users_scope_only(world, login):
    round = open_round(world)
    actions.sampling_record(actor=world.grid_worker_b, round=round, resident=world.resident_b)
    page = login(world.grid_worker_a).get(reverse("sampling:round", args=[round.pk])).content.decode()
    assert "第一网格" in page and "第二网格" not in page and "2幢" not in page
    page = login(world.community_worker).get(reverse("sampling:round", args=[round.pk])).content.decode()
    assert "第一网格" in page and "第二网格" in page and "2幢" in page


# ---- exports -----------------------------------------------------------------------------------------------------


def test_the_records_export_masks_id_numbers_unless_full_numbers_are_ticked(world, login, uploads):
    round = open_round(world)
    actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a, site="东门")
    client = login(world.community_worker)
    rows = sheet_rows(client.get(reverse("sampling:export_records", args=[round.pk])))
    assert rows[1][:3] == ["姓名", "身份证号", "所属网格"]
    assert rows[2][:3] == ["王秀英", "3206**********" + world.resident_a.id_number[-4:], "第一网格"]
    assert rows[2][3] == "紫东花苑1幢1单元101室" and rows[2][8] == "待检"
    assert AuditEvent.objects.get(action="sampling.export").changes["full_numbers"] is False
    rows = sheet_rows(client.get(reverse("sampling:export_records", args=[round.pk]), {"full": "1"}))
    assert rows[2][1] == world.resident_a.id_number
    assert AuditEvent.objects.filter(action="sampling.export").count() == 2
    assert AuditEvent.objects.get(action="sampling.export_full_numbers").actor == world.community_worker


def test_the_not_sampled_export_lists_each_resident_with_their_rung(world, login, uploads):
    round = open_round(world)
    actions.outreach_record(actor=world.grid_worker_b, round=round, resident=world.resident_b, step="phone_call")
    rows = sheet_rows(login(world.community_worker).get(reverse("sampling:export_missing", args=[round.pk])))
    by_name = {r[0]: r for r in rows[2:]}
    assert set(by_name) == {"王秀英", "李建国"}
    assert by_name["王秀英"][5] == "未动员" and by_name["李建国"][5] == "电话提醒"
    assert by_name["李建国"][2] == "139****4321"
    assert AuditEvent.objects.get(action="sampling.export").changes["what"] == "missing"


def test_exports_hold_only_the_users_grid_and_grid_workers_may_not_export(world, login, uploads):
    round = open_round(world)
    actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a)
    actions.sampling_record(actor=world.grid_worker_b, round=round, resident=world.resident_b)
    client = login(grid_a_staff(world))
    assert [r[0] for r in sheet_rows(client.get(reverse("sampling:export_records", args=[round.pk])))[2:]] == ["王秀英"]
    add_resident(world, "二幢未采", world.household_b, "141")
    assert sheet_rows(client.get(reverse("sampling:export_missing", args=[round.pk])))[2:] == []
    assert login(world.grid_worker_a).get(reverse("sampling:export_records", args=[round.pk])).status_code == 403


# ---- scope on every page -----------------------------------------------------------------------------------------


def round_urls(round, record, request) -> list[str]:
    pk = round.pk
    return [
        reverse("sampling:round", args=[pk]),
        reverse("sampling:record", args=[pk]),
        reverse("sampling:records", args=[pk]),
        reverse("sampling:record_resample", args=[pk, record.pk]),
        reverse("sampling:import", args=[pk]),
        reverse("sampling:home", args=[pk]),
        reverse("sampling:route", args=[pk]),
        reverse("sampling:missing", args=[pk]),
        reverse("sampling:outreach", args=[pk, record.resident_id]),
        reverse("sampling:export_records", args=[pk]),
        reverse("sampling:export_missing", args=[pk]),
    ]


def test_another_communitys_staff_get_404_on_every_page_import_and_export_of_the_round(world, login, uploads):
    round = open_round(world)
    record = actions.sampling_record(actor=world.grid_worker_a, round=round, resident=world.resident_a)
    request = actions.home_request_add(actor=world.community_worker, round=round, resident=world.resident_b)
    client = login(world.community_worker)
    for url in round_urls(round, record, request):
        assert client.get(url).status_code == 200, url
    client = login(other_staff(world))
    for url in round_urls(round, record, request):
        assert client.get(url).status_code == 404, url
    posts = [
        reverse("sampling:round_close", args=[round.pk]),
        reverse("sampling:record_result", args=[round.pk, record.pk]),
        reverse("sampling:home_add", args=[round.pk]),
        reverse("sampling:home_cancel", args=[round.pk, request.pk]),
        reverse("sampling:home_sampled", args=[round.pk, request.pk]),
        reverse("sampling:group_notice", args=[round.pk]),
    ]
    for url in posts:
        assert client.post(url, {"result": "positive", "grid": world.grid_a.pk}).status_code == 404, url
    assert "4月10日全员核酸" not in client.get(reverse("sampling:rounds")).content.decode()


def test_grid_worker_a_sees_nothing_of_grid_b_on_any_page(world, login):
    round = open_round(world)
    actions.sampling_record(actor=world.grid_worker_b, round=round, resident=world.resident_b, site="西门")
    actions.outreach_record(actor=world.grid_worker_a, round=round, resident=world.resident_a, step="phone_call")
    actions.home_request_add(actor=world.community_worker, round=round, resident=world.resident_a)
    client = login(world.grid_worker_b)
    seen_by_b = {
        name: client.get(reverse(f"sampling:{name}", args=[round.pk])).content.decode()
        for name in ("round", "records", "missing", "home", "route")
    }
    assert "李建国" in seen_by_b["records"] and "王秀英" not in "".join(seen_by_b.values())
    client = login(world.grid_worker_a)
    for name in ("round", "records", "missing", "home", "route"):
        page = client.get(reverse(f"sampling:{name}", args=[round.pk])).content.decode()
        assert "李建国" not in page and "西门" not in page and "第二网格" not in page, name


def test_the_auditor_and_the_hotline_may_not_open_testing_rounds(world, login):
    round = open_round(world)
    for user in (world.auditor, world.hotline_operator):
        client = login(user)
        assert client.get(reverse("sampling:rounds")).status_code == 403
        assert client.get(reverse("sampling:round", args=[round.pk])).status_code == 403


def test_a_round_over_a_building_offers_the_grid_that_covers_it(world):
    round = open_round(world, place=world.building_b)
    assert queries.grids_in(world.community_worker, round) == [world.grid_b]
    assert queries.grids_in(world.grid_worker_b, open_round(world, place=world.grid_b)) == [world.grid_b]
    residents = queries.not_sampled(world.community_worker, round, grid=world.grid_b)
    n = actions.group_notice_send(actor=world.community_worker, round=round, grid=world.grid_b, residents=residents)
    assert n == 1 and OutreachStep.objects.get().resident == world.resident_b


def test_a_round_with_many_buildings_lists_them_once_a_grid_is_chosen(world, login, monkeypatch):
    round = open_round(world)
    monkeypatch.setattr(views, "BUILDINGS_SHOWN", 1)
    client = login(world.community_worker)
    page = client.get(reverse("sampling:round", args=[round.pk])).content.decode()
    assert "范围内有 2 幢楼，请先选择网格再看各楼栋。" in page and 'id="by-building"' not in page
    page = client.get(reverse("sampling:round", args=[round.pk]), {"grid": world.grid_b.pk}).content.decode()
    assert 'id="by-building"' in page and "紫东花苑2幢" in page and "紫东花苑1幢" not in page


# ---- demo data ---------------------------------------------------------------------------------------------------


def test_the_demo_round_is_in_progress_with_part_of_the_work_done(world):
    round = seed_demo(world.district, now=timezone.now(), seed=7)
    assert round is not None and round.place == world.community and round.created_by == world.community_worker
    cov = queries.coverage(world.district_admin, round)
    assert cov.total.to_test == 2 and cov.total.sampled >= 1
    assert AuditEvent.objects.filter(action="sampling.round_create").count() == 1
