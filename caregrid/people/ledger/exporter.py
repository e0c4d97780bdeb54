"""Writing the ledger out in the columns the import reads, streamed in constant memory."""

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.db.models import QuerySet
from django.utils import timezone

from caregrid.people.models import Category, Resident, ResidentCategory
from caregrid.places.models import Place, PlaceKind

# The headers the importer recognises (see reader.HEADER_ALIASES), in ledger order.
EXPORT_HEADERS = [
    "姓名",
    "身份证号",
    "性别",
    "出生日期",
    "联系电话",
    "人员类别",
    "所属网格",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "紧急联系人",
    "紧急联系电话",
    "备注",
]
CHUNK = 2000
_VALUES = (
    "id",
    "name",
    "id_number",
    "gender",
    "birth_date",
    "phone",
    "place_path",
    "grid_path",
    "emergency_contact",
    "emergency_phone",
    "note",
)


def _chunks(qs: QuerySet[Resident]) -> Iterator[list[tuple]]:
    batch = []
    for row in qs.values_list(*_VALUES).iterator(chunk_size=CHUNK):
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def export_rows(qs: QuerySet[Resident]) -> Iterator[list[str]]:
    """One list of cells per resident; three queries per chunk of residents, whatever its size."""
    category_names = dict(Category.objects.values_list("id", "name"))
    category_order = {pk: i for i, pk in enumerate(Category.objects.values_list("id", flat=True))}
    upper: dict[int, tuple[str, str]] = {}  # places above households (and grids): few, kept
    genders = {"M": "男", "F": "女"}
    for batch in _chunks(qs):
        ids = [r[0] for r in batch]
        links: dict[int, list[int]] = {}
        for resident_id, category_id in ResidentCategory.objects.filter(resident_id__in=ids).values_list(
            "resident_id", "category_id"
        ):
            links.setdefault(resident_id, []).append(category_id)
        wanted = set()
        for r in batch:
            path_ids = [int(p) for p in r[6].split(".") if p]
            wanted.update(i for i in path_ids if i not in upper)
            grid_ids = [int(p) for p in r[7].split(".") if p]
            if grid_ids and grid_ids[-1] not in upper:
                wanted.add(grid_ids[-1])
        fetched = {
            pk: (kind, name) for pk, kind, name in Place.objects.filter(pk__in=wanted).values_list("id", "kind", "name")
        }
        households = {pk: v for pk, v in fetched.items() if v[0] == PlaceKind.HOUSEHOLD}
        upper.update({pk: v for pk, v in fetched.items() if v[0] != PlaceKind.HOUSEHOLD})
        for pk, name, id_number, gender, birth, phone, place_path, grid_path, e_contact, e_phone, note in batch:
            address = {}
            for i in (int(p) for p in place_path.split(".") if p):
                kind, place_name = upper.get(i) or households.get(i) or ("", "")
                address[kind] = place_name
            grid_ids = [int(p) for p in grid_path.split(".") if p]
            grid = upper.get(grid_ids[-1], ("", ""))[1] if grid_ids else ""
            cats = sorted(links.get(pk, ()), key=lambda c: category_order.get(c, 0))
            yield [
                name,
                id_number,
                genders.get(gender, ""),
                birth.isoformat() if isinstance(birth, dt.date) else str(birth),
                phone,
                "、".join(category_names[c] for c in cats),
                grid,
                address.get(PlaceKind.COMPOUND, ""),
                address.get(PlaceKind.BUILDING, ""),
                address.get(PlaceKind.UNIT, ""),
                address.get(PlaceKind.HOUSEHOLD, ""),
                e_contact,
                e_phone,
                note,
            ]


class _Echo:
    def write(self, value):
        return value


def csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text with a UTF-8 BOM first, so Excel opens it as UTF-8."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_HEADERS)
    for row in rows:
        yield writer.writerow(row)


def write_csv(rows: Iterable[list[str]], path: Path) -> int:
    count = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EXPORT_HEADERS)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_xlsx(rows: Iterable[list[str]], path: Path, *, title: str) -> int:
    """An xlsx with a title row over the header, written row by row (xlsxwriter constant_memory)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("居民台账")
    bold = workbook.add_format({"bold": True})
    text = workbook.add_format({"num_format": "@"})
    for i, width in enumerate([10, 21, 6, 12, 15, 24, 12, 14, 8, 8, 8, 10, 15, 20]):
        sheet.set_column(i, i, width, text if i in (1, 4, 12) else None)
    sheet.write_string(0, 0, f"{title}（导出于{timezone.localtime():%Y-%m-%d %H:%M}）", bold)
    for c, header in enumerate(EXPORT_HEADERS):
        sheet.write_string(1, c, header, bold)
    count = 0
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            if value:
                sheet.write_string(r, c, value)
        count += 1
    workbook.close()
    return count
