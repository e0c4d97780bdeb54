"""Excel workbooks of a round: its sampling records, and the residents not yet sampled with their outreach rung.
Written row by row (xlsxwriter constant memory), a chunk of rows at a time with one query for its addresses.
ID and phone numbers are masked unless the caller asks for full numbers (the view checks the capability)."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.masking import mask_id_number, mask_phone
from caregrid.places.models import Place, PlaceKind
from caregrid.places.tree import address_label, ids_from_path

from .models import Result, SamplingRecord, SamplingRound, Where
from .queries import rungs_for

CHUNK = 2000


def _chunks(qs: QuerySet) -> Iterator[list]:
    batch = []
    for item in qs.iterator(chunk_size=CHUNK):
        batch.append(item)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


class _GridNames:
    def __init__(self):
        self.names: dict[int, str] = {}

    def load(self, paths: list[str]) -> None:
        wanted = {ids_from_path(p)[-1] for p in paths if p} - set(self.names)
        if wanted:
            self.names.update(Place.objects.filter(pk__in=wanted).values_list("pk", "name"))

    def of(self, path: str) -> str:
        ids = ids_from_path(path)
        return self.names.get(ids[-1], "") if ids else ""


def _time(moment, tz) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


RECORD_HEADERS = [
    "姓名",
    "身份证号",
    "所属网格",
    "住址",
    "采样方式",
    "采样点",
    "采样时间",
    "试管编码",
    "检测结果",
    "出结果时间",
    "复采次数",
    "登记人",
]


@dataclass(slots=True)
class _Named:
    kind: str
    name: str


class _Addresses:
    """Address labels for chunks of households: the places above households (few) are fetched once and kept,
    each chunk's households with one query of plain values."""

    def __init__(self):
        self.upper: dict[int, _Named] = {}
        self.households: dict[int, _Named] = {}

    def load(self, paths: list[str]) -> None:
        wanted = {i for path in paths for i in ids_from_path(path)} - set(self.upper)
        self.households = {}
        for pk, kind, name in Place.objects.filter(pk__in=wanted).values_list("pk", "kind", "name"):
            target = self.households if kind == PlaceKind.HOUSEHOLD else self.upper
            target[pk] = _Named(kind, name)

    def of(self, path: str) -> str:
        chain = [self.upper.get(i) or self.households.get(i) for i in ids_from_path(path)]
        return address_label([p for p in chain if p is not None])


_RECORD_VALUES = (
    "resident__name",
    "resident__id_number",
    "resident__household__path",
    "grid_path",
    "where",
    "site",
    "sampled_at",
    "tube_code",
    "result",
    "result_at",
    "resamples",
    "recorded_by__full_name",
    "recorded_by__username",
)


def record_rows(records: QuerySet[SamplingRecord], *, full_numbers: bool) -> Iterator[list[str]]:
    """One list of cells per record; two queries per chunk of records (the records, their addresses)."""
    grids, addresses = _GridNames(), _Addresses()
    tz = timezone.get_current_timezone()
    wheres = {value: str(label) for value, label in Where.choices}
    results = {value: str(label) for value, label in Result.choices}
    qs = records.order_by("place_path", "id").values_list(*_RECORD_VALUES)
    for batch in _chunks(qs):
        addresses.load([r[2] for r in batch])
        grids.load([r[3] for r in batch])
        for (
            name,
            id_number,
            path,
            grid_path,
            where,
            site,
            sampled_at,
            tube,
            result,
            result_at,
            n,
            by,
            login,
        ) in batch:
            yield [
                name,
                id_number if full_numbers else mask_id_number(id_number),
                grids.of(grid_path),
                addresses.of(path),
                wheres.get(where, where),
                site,
                _time(sampled_at, tz),
                tube,
                results.get(result, result),
                _time(result_at, tz),
                str(n) if n else "",
                by or login or "",
            ]


MISSING_HEADERS = ["姓名", "身份证号", "联系电话", "所属网格", "住址", "动员进度", "最近动员时间", "动员结果", "备注"]


_MISSING_VALUES = ("id", "name", "id_number", "phone", "household__path", "grid_path")


def missing_rows(round: SamplingRound, residents: QuerySet, *, full_numbers: bool) -> Iterator[list[str]]:
    """One list of cells per resident not sampled; three queries per chunk (residents, addresses, rungs)."""
    grids, addresses = _GridNames(), _Addresses()
    tz = timezone.get_current_timezone()
    not_yet = _("未动员")
    for batch in _chunks(residents.values_list(*_MISSING_VALUES)):
        addresses.load([r[4] for r in batch])
        grids.load([r[5] for r in batch])
        rungs = rungs_for(round, [r[0] for r in batch])
        for pk, name, id_number, phone, path, grid_path in batch:
            rung = rungs.get(pk)
            yield [
                name,
                id_number if full_numbers else mask_id_number(id_number),
                phone if full_numbers else mask_phone(phone),
                grids.of(grid_path),
                addresses.of(path),
                rung.label if rung else not_yet,
                _time(rung.at, tz) if rung else "",
                rung.outcome if rung else "",
                rung.note if rung else "",
            ]


def write_xlsx(path: Path, *, title: str, sheet: str, headers: list[str], rows: Iterator[list[str]]) -> int:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    worksheet = workbook.add_worksheet(sheet)
    bold = workbook.add_format({"bold": True})
    text = workbook.add_format({"num_format": "@"})
    for i, header in enumerate(headers):
        worksheet.set_column(i, i, 21 if header in ("身份证号", "住址") else 12, text)
    worksheet.write_string(0, 0, f"{title}（导出于{timezone.localtime():%Y-%m-%d %H:%M}）", bold)
    for c, header in enumerate(headers):
        worksheet.write_string(1, c, header, bold)
    count = 0
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            if value:
                worksheet.write_string(r, c, value)
        count += 1
    workbook.close()
    return count
