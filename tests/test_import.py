"""Ledger import: messy real-world files, the row-by-row report, all-or-nothing, upserts, audit, the upload page."""

import csv
import io
import json

import pytest
import xlsxwriter
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from caregrid.accounts.models import AuditEvent
from caregrid.people.ledger.reader import LedgerFileError
from caregrid.people.models import ImportJob, ImportStatus, Resident, ResidentCategory
from caregrid.places.models import Place, PlaceKind
from tests.conftest import make_id

INTO = "崇川区/和平桥街道/紫东社区"
ID_NEW = make_id("320602", "19400305", "412")
ID_SECOND = make_id("320611", "19521120", "021")
ID_PHONE = make_id("320612", "19370708", "113")
ID_NO_NAME = make_id("320621", "19480101", "222")
BAD_CHECKSUM = ID_NEW[:17] + ("1" if ID_NEW[17] != "1" else "2")


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def messy_xlsx(path) -> None:
    """A ledger as communities keep it: title row, two-row header with a merged 住址 group, blank and
    footer rows, full-width digits, Traditional characters, phones stored as numbers."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.merge_range("A1:J1", "紫东社区重点人群台账（2022年4月）")
    for col, header in zip("ABCDIJ", ["序号", "姓名", "身份证号码", "联系电话", "所属网格", "人员类别"], strict=True):
        ws.merge_range(f"{col}2:{col}3", header)
    ws.merge_range("E2:H2", "住址")
    for col, header in zip("EFGH", ["小区", "楼栋", "单元", "房号"], strict=True):
        ws.write(f"{col}3", header)
    rows = {
        4: [1, "張國華", full_width(ID_NEW), 13812345001.0, "紫东花苑", "3", "2", "302", "第一网格", "独居、低保户"],
        # row 5 left blank
        6: [2, " 李 明 ", ID_SECOND, "1.3812345002E10", "紫东花苑", "3幢", "2单元", "301室", "第三网格", "透析/火星人"],
        7: [3, "赵六", BAD_CHECKSUM, "13812345003", "紫东花苑", "3", "1", "101", "第一网格", "低保"],
        8: [4, "钱七", "32060219450101", "13812345004", "紫东花苑", "3", "1", "102", "第一网格", ""],
        9: [5, "", ID_NO_NAME, "13812345005", "紫东花苑", "3", "1", "103", "第一网格", "空巢"],
        10: [6, "孙八", ID_PHONE, "12345", "紫东花苑", "3", "1", "104", "第二网格", "高龄"],
        11: [7, "张国华", ID_NEW, "", "紫东花苑", "3", "2", "302", "第一网格", "高龄老人"],
    }
    for number, values in rows.items():
        for c, value in enumerate(values):
            if value != "":
                ws.write(number - 1, c, value)
    ws.write("A12", "合计")
    ws.write("B12", "7人")
    wb.close()


def run_import(path, *args):
    out = io.StringIO()
    try:
        call_command("import", "residents", str(path), "--into", INTO, "--json", *args, stdout=out)
    except SystemExit as e:
        assert e.code == 1
    return json.loads(out.getvalue())


EXPECTED_REJECTED = [
    {"row": 7, "column": "身份证号码", "code": "id_checksum", "message": "身份证号校验位不正确，请核对是否抄错"},
    {
        "row": 8,
        "column": "身份证号码",
        "code": "id_format",
        "message": "身份证号应为18位（末位可为X），现为“32060219450101”",
    },
    {"row": 9, "column": "姓名", "code": "name_missing", "message": "姓名不能为空"},
]
EXPECTED_WARNINGS = [
    {
        "row": 6,
        "column": "人员类别",
        "code": "category_unknown",
        "message": "人员类别“火星人”不在类别表中，已忽略；请核对或先在类别表中添加",
    },
    {
        "row": 10,
        "column": "联系电话",
        "code": "phone_invalid",
        "message": "联系电话“12345”不是有效的手机或固话号码，已原样保留",
    },
    {"row": 11, "column": "身份证号码", "code": "duplicate_id", "message": "身份证号与第4行重复，已合并到第4行"},
]


def test_a_messy_ledger_is_reported_row_by_row_as_excel_numbers_them_and_nothing_is_written(world, tmp_path):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    before = (Resident.objects.count(), Place.objects.count())

    report = run_import(path)

    assert report == {
        "rows": 7,
        "imported": 0,
        "updated": 0,
        "merged_duplicates": 1,
        "rejected": EXPECTED_REJECTED,
        "warnings": EXPECTED_WARNINGS,
    }
    assert (Resident.objects.count(), Place.objects.count()) == before
    audit = AuditEvent.objects.get(action="resident.import")
    assert audit.changes["written"] is False and audit.changes["rejected"] == 3


def test_partial_import_writes_the_valid_rows_cleaned_and_merged(world, tmp_path):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)

    report = run_import(path, "--partial")

    assert report["imported"] == 3 and report["merged_duplicates"] == 1
    assert report["rejected"] == EXPECTED_REJECTED and report["warnings"] == EXPECTED_WARNINGS
    zhang = Resident.objects.get(id_number=ID_NEW)
    assert zhang.name == "张国华"  # Traditional → Simplified
    assert zhang.phone == "13812345001" and zhang.phone_valid
    assert sorted(zhang.categories.values_list("code", flat=True)) == ["dibao", "elderly_advanced_age", "elderly_alone"]
    household = zhang.household
    assert (household.name, household.parent.name, household.parent.parent.name) == ("302", "2单元", "3幢")
    assert household.parent.parent.parent == world.compound
    assert household.grid == world.grid_a and zhang.grid_path == world.grid_a.path
    li = Resident.objects.get(id_number=ID_SECOND)
    assert li.name == "李明" and li.phone == "13812345002"
    assert list(li.categories.values_list("code", flat=True)) == ["dialysis"]
    grid_3 = Place.objects.get(parent=world.community, kind=PlaceKind.GRID, name="第三网格")
    assert li.household.grid == grid_3 and li.grid_path == grid_3.path
    sun = Resident.objects.get(id_number=ID_PHONE)
    assert (sun.phone, sun.phone_valid, sun.grid_path) == ("12345", False, world.grid_b.path)
    # A compound spanning two grids: the same building holds households of grid A and grid B.
    assert sun.household.parent.parent == household.parent.parent
    assert not Resident.objects.filter(id_number__in=[ID_NO_NAME]).exists()
    audit = AuditEvent.objects.get(action="resident.import")
    assert audit.changes["imported"] == 3 and audit.changes["target"] == INTO and len(audit.changes["sha256"]) == 64


def test_a_dry_run_writes_nothing_not_even_the_target_place(world, tmp_path):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    before = (Resident.objects.count(), Place.objects.count(), AuditEvent.objects.count())
    out = io.StringIO()

    call_command(
        "import",
        "residents",
        str(path),
        "--into",
        "崇川区/新街道/新社区",
        "--json",
        "--partial",
        "--dry-run",
        stdout=out,
    )

    assert json.loads(out.getvalue())["imported"] == 3
    assert (Resident.objects.count(), Place.objects.count(), AuditEvent.objects.count()) == before


def test_reimporting_the_same_file_creates_no_new_person(world, tmp_path):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    run_import(path, "--partial")
    count = Resident.objects.count()

    again = run_import(path, "--partial")

    assert (again["imported"], again["updated"]) == (0, 0)
    assert Resident.objects.count() == count


def write_csv(path, rows, encoding="utf-8-sig"):
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)


def test_an_update_changes_only_the_fields_that_differ_and_audits_them(world, tmp_path):
    resident = world.resident_a
    path = tmp_path / "update.csv"
    write_csv(
        path,
        [
            ["姓名", "身份证号", "手机号码", "住址", "所属网格", "人员类别"],
            [resident.name, resident.id_number, "13900001111", "紫东花苑1幢1单元101室", "第一网格", "独居"],
        ],
    )

    report = run_import(path)

    assert (report["imported"], report["updated"]) == (0, 1)
    resident.refresh_from_db()
    assert resident.phone == "13900001111" and resident.version == 2
    change = AuditEvent.objects.get(action="resident.update", object_id=str(resident.pk))
    assert change.changes == {"phone": ["13812345678", "13900001111"], "via": "import"}
    assert resident.category_links.get().since is not None  # the unchanged category keeps its dates


def test_a_gb18030_csv_with_one_address_column_and_stray_spaces_is_read(world, tmp_path):
    path = tmp_path / "gbk.csv"
    number = make_id("320602", "19500101", "318")
    write_csv(
        path,
        [
            ["和平桥街道紫东社区台账"],
            [],
            [" 名字 ", "证件号码", "联系电话", "家庭住址", "人员类别"],
            ["周  芳", number, " 0513-85551234 ", "紫东花苑 5幢3单元 601室", "特困，残疾"],
            [],
            ["合计：1人"],
        ],
        encoding="gb18030",
    )

    report = run_import(path)

    assert report == {"rows": 1, "imported": 1, "updated": 0, "merged_duplicates": 0, "rejected": [], "warnings": []}
    zhou = Resident.objects.get(id_number=number)
    assert (zhou.name, zhou.phone) == ("周芳", "0513-85551234")
    assert [p.name for p in zhou.household.__class__.objects.filter(pk__in=zhou.household.ancestor_ids[3:])] == [
        "紫东花苑",
        "5幢",
        "3单元",
        "601",
    ]
    assert sorted(zhou.categories.values_list("code", flat=True)) == ["disability", "tekun"]


def test_a_file_without_a_recognisable_header_is_refused_with_a_clear_message(world, tmp_path):
    path = tmp_path / "x.csv"
    write_csv(path, [["a", "b"], ["1", "2"]])
    from caregrid.people.ledger.reader import open_ledger

    with pytest.raises(LedgerFileError, match="没有找到表头"):
        open_ledger(path)


def test_an_id_registered_outside_the_importers_scope_is_rejected(world, tmp_path):
    from caregrid.people.ledger.actions import ledger_import

    path = tmp_path / "move.csv"
    other = world.resident_other
    write_csv(path, [["姓名", "身份证号", "住址"], [other.name, other.id_number, "紫东花苑1幢1单元101室"]])

    report = ledger_import(
        actor=world.community_worker,
        path=path,
        into=world.community,
        scope_paths=[world.community.path],
    )

    assert [p.code for p in report.rejected] == ["id_elsewhere"]
    other.refresh_from_db()
    assert other.household == world.household_other


# --- large files: read and cleaned in a child process ---


@pytest.fixture
def pipeline(monkeypatch):
    """Clean in a forked child even for a small file, as the importer does for large ones."""
    from caregrid.people.ledger import importer

    monkeypatch.setattr(importer, "PIPELINE_MIN_ROWS", 0)
    monkeypatch.setattr(importer, "PIPE_CHUNK_ROWS", 2)  # several messages even for a few rows
    return importer


def test_the_child_process_gives_the_same_report_and_writes(world, tmp_path, pipeline):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)

    strict = run_import(path)
    report = run_import(path, "--partial")

    assert strict["rejected"] == EXPECTED_REJECTED and strict["warnings"] == EXPECTED_WARNINGS
    assert (strict["rows"], strict["imported"], strict["merged_duplicates"]) == (7, 0, 1)
    assert report["rejected"] == EXPECTED_REJECTED and report["warnings"] == EXPECTED_WARNINGS
    assert (report["imported"], report["merged_duplicates"]) == (3, 1)
    zhang = Resident.objects.get(id_number=ID_NEW)
    assert (zhang.name, zhang.phone, zhang.household.grid) == ("张国华", "13812345001", world.grid_a)
    assert sorted(zhang.categories.values_list("code", flat=True)) == ["dibao", "elderly_advanced_age", "elderly_alone"]
    assert Resident.objects.get(id_number=ID_PHONE).grid_path == world.grid_b.path


def test_a_failure_in_the_child_process_is_raised_and_nothing_is_written(world, tmp_path, pipeline, monkeypatch):
    from caregrid.people.ledger.actions import ledger_import

    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    clean = pipeline._Cleaner.clean

    def failing(self, number, cells):
        if number == 10:
            raise ValueError("row 10 could not be cleaned")
        return clean(self, number, cells)

    monkeypatch.setattr(pipeline._Cleaner, "clean", failing)
    before = Resident.objects.count()

    with pytest.raises(ValueError, match="row 10 could not be cleaned"):
        ledger_import(actor="test", path=path, into=world.community, partial=True)

    assert Resident.objects.count() == before


def test_a_child_process_that_dies_is_reported_not_waited_for(world, tmp_path, pipeline, monkeypatch):
    import os

    from caregrid.people.ledger.actions import ledger_import

    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    from caregrid.people.ledger import cleaning

    monkeypatch.setattr(cleaning, "PIPE_POLL_SECONDS", 0.05)
    monkeypatch.setattr(pipeline._Cleaner, "clean", lambda self, number, cells: os._exit(3))

    with pytest.raises(RuntimeError, match="ended without finishing"):
        ledger_import(actor="test", path=path, into=world.community, partial=True)


def test_a_household_a_large_file_puts_in_another_grid_moves_there_with_its_residents(world, tmp_path, pipeline):
    resident = world.resident_a
    newcomer = make_id("320602", "19600303", "456")
    path = tmp_path / "move.csv"
    write_csv(
        path,
        [
            ["姓名", "身份证号", "手机号码", "住址", "所属网格"],
            [resident.name, resident.id_number, resident.phone, "紫东花苑1幢1单元101室", "第二网格"],
            ["钱芳", newcomer, "13900002222", "紫东花苑1幢1单元101室", "第二网格"],
        ],
    )

    report = run_import(path)

    assert (report["imported"], report["updated"]) == (1, 0)  # the person's own fields are unchanged
    world.household_a.refresh_from_db()
    resident.refresh_from_db()
    assert world.household_a.grid == world.grid_b and world.household_a.grid_path == world.grid_b.path
    assert resident.household == world.household_a and resident.grid_path == world.grid_b.path
    assert Resident.objects.get(id_number=newcomer).grid_path == world.grid_b.path
    assert (
        not Place.objects.filter(parent=world.household_a.parent, kind=PlaceKind.HOUSEHOLD, name="101")
        .exclude(pk=world.household_a.pk)
        .exists()
    )


# --- bulk loads: indexes dropped for the load and built again from their own definitions ---

LEDGER_TABLES = ["places_place", "people_resident", "people_residentcategory"]


def ledger_schema() -> list[tuple]:
    """Every index and constraint of the ledger's tables as the database states them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN (%s, %s, %s)", LEDGER_TABLES
            )
            return sorted(cursor.fetchall(), key=str)
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename IN (%s, %s, %s)", LEDGER_TABLES
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text IN (%s, %s, %s)",
            LEDGER_TABLES,
        )
        return sorted(indexes + cursor.fetchall(), key=str)


def index_names() -> set[str]:
    """The names of the ledger tables' indexes (on PostgreSQL also those behind unique constraints)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN (%s, %s, %s)", LEDGER_TABLES
            )
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename IN (%s, %s, %s)", LEDGER_TABLES)
        return {name for (name,) in cursor.fetchall()}


@pytest.fixture
def bulk(monkeypatch):
    """Load even a small file into an empty ledger the way a district's first large file is loaded."""
    from caregrid.people.ledger import importer

    monkeypatch.setattr(importer, "BULK_MIN_ROWS", 0)
    monkeypatch.setattr(importer, "BYTES_PER_ROW", 1)
    monkeypatch.setattr(importer, "PROGRESS_EVERY", 1)
    Resident.objects.all().delete()
    return importer


DEFERRED = {"resident_name_idx", "resident_path_idx", "place_path_idx", "place_grid_path_idx", "rescat_category_idx"}


def test_a_bulk_load_builds_its_indexes_afterwards_and_leaves_the_schema_exactly_as_it_was(world, tmp_path, bulk):
    from caregrid.people.ledger.actions import ledger_import

    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    before = ledger_schema()
    during: list[set[str]] = []

    report = ledger_import(
        actor="test", path=path, into=world.community, partial=True, progress=lambda n: during.append(index_names())
    )

    assert report.written and report.imported == 3
    assert not DEFERRED & during[0]  # gone while the rows went in
    foreign_key_indexes = {
        name for name in index_names() if name.startswith(("people_resident_household_id_", "places_place_grid_id_"))
    }
    assert len(foreign_key_indexes) == 2 and not foreign_key_indexes & during[0]
    if connection.vendor == "postgresql":  # an empty ledger looks nothing up: its unique constraints wait too
        assert "resident_category_unique" not in during[0] and "place_unique_name_in_parent" not in during[0]
    assert ledger_schema() == before
    zhang = Resident.objects.get(id_number=ID_NEW)
    assert sorted(zhang.categories.values_list("code", flat=True)) == ["dibao", "elderly_advanced_age", "elderly_alone"]
    assert Resident.objects.filter(place_path__startswith=world.compound.path).count() == 3  # served by the index


def test_a_refused_bulk_load_writes_nothing_and_leaves_the_schema_as_it_was(world, tmp_path, bulk):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    before = ledger_schema()

    report = run_import(path)

    assert report["rejected"] == EXPECTED_REJECTED and report["imported"] == 0
    assert ledger_schema() == before
    assert not Resident.objects.exists()


def test_a_bulk_load_cleaned_in_a_child_process_gives_the_same_report_and_residents(world, tmp_path, bulk, pipeline):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    before = ledger_schema()

    report = run_import(path, "--partial")

    assert report["rejected"] == EXPECTED_REJECTED and report["warnings"] == EXPECTED_WARNINGS
    assert (report["imported"], report["merged_duplicates"]) == (3, 1)
    assert ledger_schema() == before
    zhang = Resident.objects.get(id_number=ID_NEW)
    assert (zhang.name, zhang.phone, zhang.household.grid) == ("张国华", "13812345001", world.grid_a)
    sun = Resident.objects.get(id_number=ID_PHONE)
    assert (sun.phone, sun.phone_valid, sun.grid_path) == ("12345", False, world.grid_b.path)

    again = run_import(path, "--partial")

    assert (again["imported"], again["updated"]) == (0, 0) and Resident.objects.count() == 3


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's sorter settings")
def test_indexes_are_built_from_small_sorted_runs_and_the_connection_gets_its_settings_back(tmp_path):
    import sqlite3

    from caregrid.people.bulk import SORT_CACHE_KIB, sorting_in_runs

    def settings(cursor):
        return [cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in ("temp_store", "cache_size")]

    fresh = sqlite3.connect(tmp_path / "fresh.sqlite3", isolation_level=None).cursor()
    fresh.execute("PRAGMA temp_store = MEMORY")
    fresh.execute("BEGIN")
    with sorting_in_runs(fresh):
        during = settings(fresh)
    assert during == [1, -SORT_CACHE_KIB]  # temporary files, runs the size of a small cache
    assert settings(fresh) == [2, -2000]

    migrated = sqlite3.connect(tmp_path / "migrated.sqlite3", isolation_level=None).cursor()
    migrated.execute("PRAGMA temp_store = MEMORY")
    migrated.execute("CREATE TEMP TABLE scratch (x)")  # as a migration leaves it: no switching inside a transaction
    migrated.execute("BEGIN")
    with sorting_in_runs(migrated):
        assert settings(migrated) == [2, -2000]
    fresh.connection.close()
    migrated.connection.close()


def test_many_rows_are_written_in_wide_statements_and_the_rest_in_one_more(world, tmp_path):
    """More rows than one statement holds, and a remainder: every row arrives once."""
    path = tmp_path / "many.csv"
    numbers = [make_id("320602", f"19{40 + n % 50:02d}0101", f"{n:03d}") for n in range(123)]
    rows = [["姓名", "身份证号", "住址", "人员类别"]]
    for n, number in enumerate(numbers):
        rows.append(
            ["王" + "明华强芳"[n % 4], number, f"紫东花苑{n % 7 + 1}幢{n % 3 + 1}单元{n + 101}室", "独居、低保"]
        )
    write_csv(path, rows)

    report = run_import(path)

    assert report["imported"] == 123 and report["rejected"] == []
    residents = Resident.objects.filter(id_number__in=numbers)
    assert residents.count() == 123 and residents.values("household").distinct().count() == 123
    assert ResidentCategory.objects.filter(resident__in=residents).count() == 246


# --- the upload page ---


@pytest.fixture
def immediate_tasks(settings, tmp_path):
    """Run jobs inside the request; django_tasks drops its cached backends when TASKS changes."""
    from django_tasks import task_backends

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}}
    settings.UPLOAD_DIR = tmp_path / "uploads"
    assert type(task_backends["default"]).__name__ == "ImmediateBackend"
    return settings


def test_the_upload_page_previews_every_problem_then_imports_the_valid_rows(world, login, tmp_path, immediate_tasks):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    client = login(world.community_worker)
    assert client.get(reverse("ledger:import")).status_code == 200

    with open(path, "rb") as f:
        response = client.post(reverse("ledger:import"), {"place": world.community.pk, "file": f})

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("ledger:job", args=[job.pk])
    assert job.status == ImportStatus.PREVIEWED and job.preview["imported"] == 3
    assert Resident.objects.filter(id_number=ID_NEW).count() == 0  # a preview writes nothing
    page = client.get(response["Location"]).content.decode()
    for problem in EXPECTED_REJECTED + EXPECTED_WARNINGS:
        assert problem["message"] in page
    assert "确认导入" in page

    response = client.post(reverse("ledger:job_confirm", args=[job.pk]), {"partial": "on"})

    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.report["imported"] == 3
    assert Resident.objects.filter(id_number=ID_NEW).exists()
    result = client.get(response["Location"]).content.decode()
    assert "已新增 3 人" in result and "身份证号校验位不正确" in result
    progress = client.get(reverse("ledger:job_progress", args=[job.pk]))
    assert progress["HX-Refresh"] == "true" and 'value="7"' in progress.content.decode()


def test_confirming_without_partial_writes_nothing_when_a_row_is_rejected(world, login, tmp_path, immediate_tasks):
    path = tmp_path / "台账.xlsx"
    messy_xlsx(path)
    client = login(world.community_worker)
    with open(path, "rb") as f:
        client.post(reverse("ledger:import"), {"place": world.community.pk, "file": f})
    job = ImportJob.objects.get()

    client.post(reverse("ledger:job_confirm", args=[job.pk]), {})

    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.report["imported"] == 0
    assert not Resident.objects.filter(id_number=ID_NEW).exists()
    assert "没有写入任何数据" in client.get(reverse("ledger:job", args=[job.pk])).content.decode()


def test_a_user_without_the_import_capability_gets_403(world, login):
    client = login(world.grid_worker_a)

    assert client.get(reverse("ledger:import")).status_code == 403


def test_one_users_import_job_is_not_visible_to_another(world, login, tmp_path, immediate_tasks):
    path = tmp_path / "a.csv"
    write_csv(path, [["姓名", "身份证号", "住址"], ["周芳", make_id("320602", "19500101", "318"), "紫东花苑5幢601室"]])
    client = login(world.community_worker)
    with open(path, "rb") as f:
        client.post(reverse("ledger:import"), {"place": world.community.pk, "file": f})
    job = ImportJob.objects.get()

    assert login(world.district_admin).get(reverse("ledger:job", args=[job.pk])).status_code == 404


def test_a_community_worker_cannot_import_into_another_community(world, login, tmp_path, immediate_tasks):
    path = tmp_path / "a.csv"
    write_csv(path, [["姓名", "身份证号", "住址"], ["周芳", make_id("320602", "19500101", "318"), "紫东花苑5幢601室"]])
    client = login(world.community_worker)
    with open(path, "rb") as f:
        response = client.post(reverse("ledger:import"), {"place": world.other_community.pk, "file": f})

    assert response.status_code == 200 and not ImportJob.objects.exists()
