"""Ledger export: importable columns, full numbers but audited, scoped like the list, and a lossless round trip."""

import csv
import io
import json

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from caregrid.accounts.models import AuditEvent
from caregrid.people.actions import CategoryEntry, ResidentData, resident_create
from caregrid.people.ledger.exporter import EXPORT_HEADERS, export_rows
from caregrid.people.models import Category, Resident
from caregrid.places.actions import place_create
from caregrid.places.models import PlaceKind
from tests.conftest import make_id

INTO = "崇川区/和平桥街道/紫东社区"


def snapshot():
    return sorted(
        (
            r.id_number,
            r.name,
            r.phone,
            r.household_id,
            r.grid_path,
            r.emergency_contact,
            r.emergency_phone,
            r.note,
            r.version,
            tuple(sorted(r.categories.values_list("code", flat=True))),
        )
        for r in Resident.objects.all()
    )


def test_export_then_import_round_trip_changes_nothing(world, tmp_path):
    unit = place_create(actor="system", parent=world.building_b, kind=PlaceKind.UNIT, name="2单元")
    household = place_create(actor="system", parent=unit, kind=PlaceKind.HOUSEHOLD, name="502")
    resident_create(
        actor="system",
        data=ResidentData(
            id_number=make_id("320602", "19380909", "442"),
            name="陈桂兰",
            household=household,
            phone="0513-85123456",
            emergency_contact="陈明",
            emergency_phone="13800001234",
            note="右耳失聪，敲门要用力",
            categories=[
                CategoryEntry(Category.objects.get(code="elderly_no_family")),
                CategoryEntry(Category.objects.get(code="dibao")),
            ],
        ),
    )
    before = snapshot()
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"export.{fmt}"
        call_command("export", "residents", "--place", INTO, "--format", fmt, "-o", str(path), stdout=io.StringIO())
        out = io.StringIO()

        call_command("import", "residents", str(path), "--into", INTO, "--json", stdout=out)

        report = json.loads(out.getvalue())
        assert report == {
            "rows": 3,
            "imported": 0,
            "updated": 0,
            "merged_duplicates": 0,
            "rejected": [],
            "warnings": [],
        }, fmt
        assert snapshot() == before


def test_the_export_has_the_import_columns_with_full_numbers_and_canonical_categories(world, tmp_path):
    path = tmp_path / "export.csv"

    call_command("export", "residents", "--place", INTO, "-o", str(path), stdout=io.StringIO())

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == EXPORT_HEADERS
    by_id = {r[1]: r for r in rows[1:]}
    a = by_id[world.resident_a.id_number]
    gender = world.resident_a.get_gender_display()
    assert a[:11] == ["王秀英", world.resident_a.id_number, gender, "1945-01-01", "13812345678", "独居老人", "第一网格",
                      "紫东花苑", "1幢", "1单元", "101"]  # fmt: skip
    assert world.resident_other.id_number not in by_id
    audit = AuditEvent.objects.get(action="resident.export")
    assert audit.changes == {"filters": {"place": INTO}, "rows": 2, "format": "csv"}


def test_export_reads_in_chunks_without_a_query_per_resident(world):
    qs = Resident.objects.order_by("place_path", "id")
    with CaptureQueriesContext(connection) as few:
        list(export_rows(qs))
    for n in range(20):
        resident_create(
            actor="system",
            data=ResidentData(
                id_number=make_id("320602", "19600101", f"{n:03d}"),
                name=f"测试{n}",
                household=world.household_a,
                categories=[CategoryEntry(Category.objects.get(code="dibao"))],
            ),
        )
    with CaptureQueriesContext(connection) as many:
        list(export_rows(qs))
    assert len(many) == len(few)


def test_the_export_download_streams_csv_with_a_bom_for_excel_and_is_audited(world, login):
    client = login(world.community_worker)

    response = client.get(reverse("ledger:export"), {"place": world.community.pk})

    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff姓名,身份证号")
    assert world.resident_a.id_number in body and world.resident_b.id_number in body
    assert world.resident_other.id_number not in body
    audit = AuditEvent.objects.get(action="resident.export")
    assert audit.actor == world.community_worker and audit.changes["rows"] == 2


def test_the_export_download_takes_the_list_filters(world, login):
    client = login(world.community_worker)

    response = client.get(reverse("ledger:export"), {"category": "dialysis", "format": "xlsx"})

    assert response.status_code == 200
    from python_calamine import CalamineWorkbook

    data = b"".join(response.streaming_content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert rows[1][:2] == ["姓名", "身份证号"]
    assert [r[1] for r in rows[2:]] == [world.resident_b.id_number]
    assert AuditEvent.objects.get(action="resident.export").changes == {
        "filters": {"category": "dialysis"},
        "rows": 1,
        "format": "xlsx",
    }


def test_a_district_admin_export_of_a_community_excludes_other_communities(world, login):
    client = login(world.district_admin)

    body = b"".join(client.get(reverse("ledger:export"), {"place": world.other_community.pk}).streaming_content)

    assert world.resident_other.id_number.encode() in body
    assert world.resident_a.id_number.encode() not in body


def test_a_grid_worker_of_grid_a_cannot_export_grid_b_residents(world, login):
    client = login(world.grid_worker_a)

    assert client.get(reverse("ledger:export"), {"place": world.grid_b.pk}).status_code == 403
    assert client.get(reverse("ledger:export")).status_code == 403
    assert not AuditEvent.objects.filter(action="resident.export").exists()


def test_a_community_worker_cannot_export_another_community(world, login):
    client = login(world.community_worker)

    assert client.get(reverse("ledger:export"), {"place": world.other_community.pk}).status_code == 404


def test_a_hotline_operator_without_the_export_capability_gets_403(world, login):
    assert login(world.hotline_operator).get(reverse("ledger:export")).status_code == 403
