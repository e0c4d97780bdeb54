"""Results from the testing team's CSV or spreadsheet (姓名, 身份证号, 采样时间, 检测结果, 采样点), checked row by
row and written to a round's sampling records in one transaction.

Files are read with the ledger reader's file handling (title rows above the header, GB18030 CSVs, header name
variants). Residents are matched by ID number among those the user may reach; each problem names the row as
Excel shows it, the column and the reason. Without "only valid rows" nothing is written when any row is
rejected. A row whose record already holds the same result changes nothing, so importing a file twice
writes nothing the second time. A new positive result notifies the community's staff.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.accounts.masking import mask_id_number
from caregrid.accounts.models import AuditEvent
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.people.bulk import RowInserter
from caregrid.people.ledger.reader import (
    HEADER_SCAN_ROWS,
    Issue,
    LedgerFileError,
    file_sha256,
    find_header,
    header_key,
    is_blank,
    is_footer,
    raw_rows,
)
from caregrid.people.ledger.reader import parse_sheet_time as parse_time
from caregrid.people.ledger.reader import sheet_cell as _cell
from caregrid.people.models import Resident
from caregrid.people.validation import FieldProblem, clean_name, clean_text, parse_id_number

from . import queries
from .actions import CLOCK_SKEW, SITE_MAX, TUBE_MAX, notify_positive, sampled_at_problem
from .models import (
    HomeRequestStatus,
    HomeSamplingRequest,
    Result,
    RoundStatus,
    SamplingRecord,
    SamplingRound,
    Source,
    Where,
)

# A subdistrict's results in one file; larger files are split.
MAX_ROWS = 100_000
CHUNK = 500

HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "受检人", "受检者姓名", "被采样人", "人员姓名", "居民姓名"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "证件号", "公民身份号码", "身份证"),
    "sampled_at": ("采样时间", "采样日期", "采集时间", "采样日期时间", "采集日期"),
    "result": ("检测结果", "核酸结果", "结果", "核酸检测结果", "检验结果"),
    "site": ("采样点", "采样地点", "采样点名称", "采集点", "采样机构"),
    "tube_code": ("试管编码", "试管号", "管码", "样本编号", "样本编码", "条码号"),
}
_HEADER_TO_FIELD = {header_key(alias): f for f, aliases in HEADERS.items() for alias in aliases}
REQUIRED_COLUMNS = ("id_number", "sampled_at", "result")

RESULT_WORDS: dict[str, tuple[str, ...]] = {
    Result.NEGATIVE: ("阴性", "阴", "阴性(-)", "(-)", "-", "negative", "neg", "n"),
    Result.POSITIVE: ("阳性", "阳", "阳性(+)", "(+)", "+", "positive", "pos", "p"),
    Result.PENDING: ("待检", "待检测", "检测中", "待出", "未出", "未出结果", "待复核", "pending", ""),
}
_RESULT = {clean_text(w).lower().replace(" ", ""): code for code, words in RESULT_WORDS.items() for w in words}
HOME_SITE = re.compile(r"上门|入户")


class ResultsFileError(LedgerFileError):
    """The file cannot be read as a results file at all (not a row problem)."""


@dataclass
class ResultRow:
    """One checked row, matched to a resident of the round."""

    row: int
    resident: Resident
    sampled_at: dt.datetime
    result: str
    site: str = ""
    tube_code: str = ""


@dataclass
class ResultsReport:
    rows: int = 0
    valid: list[ResultRow] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    positives: list[int] = field(default_factory=list)  # records newly positive
    rejected: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # result code → rows (valid ones)
    written: bool = False
    imported_before: str = ""  # when this very file was last imported into the round

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "valid": len(self.valid),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "positives": len(self.positives),
            "rejected": [p.as_dict() for p in self.rejected],
            "warnings": [p.as_dict() for p in self.warnings],
            "columns": self.columns,
            "counts": self.counts,
            "written": self.written,
            "imported_before": self.imported_before,
        }


def result_code(value) -> str | None:
    """阴性/阴/negative…, 阳性/阳/positive…, 待检/检测中/blank… → a Result code; None when unknown."""
    return _RESULT.get(clean_text(value).lower().replace(" ", "").replace("（", "(").replace("）", ")"))


def _layout(head: list[list]) -> tuple[dict[str, int], dict[str, str], int]:
    return find_header(
        head,
        _HEADER_TO_FIELD,
        headers=HEADERS,
        required=REQUIRED_COLUMNS,
        error=ResultsFileError,
        not_found=_("没有找到表头：前%(n)d行中没有“身份证号”“检测结果”等列名") % {"n": HEADER_SCAN_ROWS},
    )


@dataclass
class _Pending:
    row: int
    id_number: str
    name: str
    sampled_at: dt.datetime
    result: str
    site: str
    tube_code: str


def check_file(user, round: SamplingRound, path: Path, *, now: dt.datetime | None = None) -> ResultsReport:
    """Read and check every row against the round without writing."""
    now = now or timezone.now()
    raw = raw_rows(Path(path))
    head: list[list] = []
    for row in raw:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    columns, labels, header_rows = _layout(head)
    report = ResultsReport(columns=labels)

    def rows():
        number = header_rows
        for row in head[header_rows:]:
            number += 1
            yield number, row
        for row in raw:
            number += 1
            yield number, row

    first_row_of: dict[str, int] = {}
    pending: list[_Pending] = []
    for number, row in rows():
        if is_blank(row) or is_footer(row):
            continue
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise ResultsFileError(_("文件超过%(n)s行，请拆分后分批导入") % {"n": f"{MAX_ROWS:,}"})
        cells = {f: (row[col] if col < len(row) else None) for f, col in columns.items()}
        checked = _check_row(number, cells, labels, round, report, now)
        if checked is None:
            continue
        earlier = first_row_of.get(checked.id_number)
        if earlier is not None:
            report.rejected.append(
                Issue(
                    number,
                    labels["id_number"],
                    "duplicate_in_file",
                    _("身份证号%(id)s与第%(row)s行重复") % {"id": mask_id_number(checked.id_number), "row": earlier},
                )
            )
            continue
        first_row_of[checked.id_number] = number
        pending.append(checked)
    _match(user, round, pending, labels, report)
    report.rejected.sort(key=lambda p: p.row)
    report.warnings.sort(key=lambda p: p.row)
    for r in report.valid:
        report.counts[r.result] = report.counts.get(r.result, 0) + 1
    return report


def _check_row(number: int, cells: dict, labels: dict, round: SamplingRound, report: ResultsReport, now):
    problems: list[Issue] = []

    def reject(name: str, code: str, message: str) -> None:
        problems.append(Issue(number, labels.get(name, ""), code, message))

    id_number = ""
    try:
        id_number = parse_id_number(_cell(cells.get("id_number")), today=timezone.localdate()).number
    except FieldProblem as e:
        reject("id_number", e.code, e.message)
    name = ""
    if _cell(cells.get("name")).strip():
        try:
            name = clean_name(_cell(cells.get("name")))
        except FieldProblem:
            name = ""
    raw_time = cells.get("sampled_at")
    sampled_at = None
    if not _cell(raw_time).strip():
        reject("sampled_at", "time_missing", _("采样时间为空"))
    else:
        sampled_at = parse_time(raw_time)
        if sampled_at is None:
            reject(
                "sampled_at",
                "bad_time",
                _("采样时间“%(value)s”无法识别，请写成 2022-04-10 08:15 这样的格式") % {"value": _cell(raw_time)},
            )
        else:
            problem = sampled_at_problem(round, sampled_at, now=now)
            if problem:
                code = "future_time" if sampled_at > now + CLOCK_SKEW else "time_outside_round"
                reject("sampled_at", code, f"{problem}（{_cell(raw_time)}）")
    raw_result = _cell(cells.get("result")).strip()
    result = result_code(raw_result)
    if result is None:
        reject(
            "result",
            "bad_result",
            _("检测结果“%(value)s”无法识别，可填：阴性、阳性、待检") % {"value": raw_result},
        )
    site = clean_text(_cell(cells.get("site")))[:SITE_MAX]
    tube_code = clean_text(_cell(cells.get("tube_code"))).replace(" ", "")
    if len(tube_code) > TUBE_MAX:
        reject("tube_code", "too_long", _("试管编码不能超过%(n)s个字符") % {"n": TUBE_MAX})
    if problems:
        report.rejected.extend(problems)
        return None
    return _Pending(number, id_number, name, sampled_at, result, site, tube_code)


def _match(user, round: SamplingRound, pending: list[_Pending], labels: dict, report: ResultsReport) -> None:
    """Find each row's resident among those the user may reach (an ID outside the user's area reads as unknown,
    so the file cannot be used to learn who lives elsewhere) and check they belong to the round."""
    column = labels.get("id_number", "")
    reachable = scoped(user, Resident.objects.all(), Cap.LOG_ROUND_WORK) if user is not None else Resident.objects.all()
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        found = {
            r.id_number: r
            for r in reachable.filter(id_number__in=[p.id_number for p in chunk]).only(
                "id", "district_id", "id_number", "name", "place_path", "grid_path", "is_priority"
            )
        }
        for p in chunk:
            resident = found.get(p.id_number)
            masked = mask_id_number(p.id_number)
            if resident is None:
                report.rejected.append(
                    Issue(
                        p.row,
                        column,
                        "unknown_id",
                        _("身份证号%(id)s不在居民台账中（或不在您负责的范围内）") % {"id": masked},
                    )
                )
                continue
            if not queries.includes(round, resident):
                report.rejected.append(
                    Issue(
                        p.row,
                        column,
                        "outside_round",
                        _("%(name)s（%(id)s）不在本轮检测范围内") % {"name": resident.name, "id": masked},
                    )
                )
                continue
            if p.name and p.name != resident.name:
                report.warnings.append(
                    Issue(
                        p.row,
                        labels.get("name", ""),
                        "name_mismatch",
                        _("姓名“%(file)s”与台账中的“%(ledger)s”不一致，按身份证号匹配")
                        % {"file": p.name, "ledger": resident.name},
                    )
                )
            report.valid.append(
                ResultRow(
                    row=p.row,
                    resident=resident,
                    sampled_at=p.sampled_at,
                    result=p.result,
                    site=p.site,
                    tube_code=p.tube_code,
                )
            )


def _imported_before(round: SamplingRound, sha256: str) -> str:
    event = (
        AuditEvent.objects.filter(
            action="sampling.import",
            object_type="sampling.samplinground",
            object_id=str(round.pk),
            changes__sha256=sha256,
        )
        .filter(changes__written=True)
        .order_by("-id")
        .first()
    )
    return timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M") if event is not None else ""


def results_import(
    *, actor, round: SamplingRound, path: Path, file_name: str = "", partial: bool = False, dry_run: bool = False
) -> ResultsReport:
    """Write a results file into the round's sampling records in one transaction (see the module's notes)."""
    path = Path(path)
    user = actor if getattr(actor, "is_authenticated", False) else None
    report = check_file(user, round, path)
    sha256 = file_sha256(path)
    report.imported_before = _imported_before(round, sha256)
    if round.status != RoundStatus.OPEN:
        report.rejected.insert(0, Issue(0, "", "round_closed", _("本轮检测已结束，不能再导入结果")))
        report.valid = []
    if dry_run:
        _classify(round, report)
        return report
    name = file_name or path.name
    if report.rejected and (not partial or round.status != RoundStatus.OPEN):
        with transaction.atomic():
            _audit(actor, round, name, sha256, report, partial)
        return report
    with transaction.atomic():
        # Serialises imports into one round, so two runs of one file cannot both create a record.
        SamplingRound.objects.select_for_update().filter(pk=round.pk).first()
        _write(actor, round, report)
        report.written = bool(report.created or report.updated)
        _audit(actor, round, name, sha256, report, partial)
        if report.positives:
            records = list(SamplingRecord.objects.filter(pk__in=report.positives).select_related("resident", "round"))
            notify_positive(records)
    return report


def _existing(round: SamplingRound, rows: list[ResultRow]) -> dict[int, SamplingRecord]:
    found: dict[int, SamplingRecord] = {}
    for start in range(0, len(rows), CHUNK):
        ids = [r.resident.pk for r in rows[start : start + CHUNK]]
        for record in SamplingRecord.objects.filter(round=round, resident_id__in=ids):
            found[record.resident_id] = record
    return found


def _change(record: SamplingRecord | None, row: ResultRow) -> str:
    """What the row does to the resident's record: "create", "update", "keep" (a pending row never replaces
    a result already known) or "same"."""
    if record is None:
        return "create"
    if record.result == row.result:
        return "same"
    if row.result == Result.PENDING:
        return "keep"
    return "update"


def _classify(round: SamplingRound, report: ResultsReport) -> None:
    """Counts for the preview: how many rows would create, update or leave a record as it is."""
    existing = _existing(round, report.valid)
    for row in report.valid:
        change = _change(existing.get(row.resident.pk), row)
        if change == "create":
            report.created += 1
        elif change == "update":
            report.updated += 1
        else:
            report.unchanged += 1


def _write(actor, round: SamplingRound, report: ResultsReport) -> None:
    now = timezone.now()
    existing = _existing(round, report.valid)
    creates: list[ResultRow] = []
    updates: list[SamplingRecord] = []
    newly_positive_residents: set[int] = set()
    for row in report.valid:
        record = existing.get(row.resident.pk)
        change = _change(record, row)
        if change == "create":
            creates.append(row)
            if row.result == Result.POSITIVE:
                newly_positive_residents.add(row.resident.pk)
        elif change == "update":
            record.result = row.result
            record.result_at = now
            record.updated_at = now
            updates.append(record)
            if row.result == Result.POSITIVE:
                newly_positive_residents.add(row.resident.pk)
        else:
            report.unchanged += 1
            if change == "keep":
                report.warnings.append(
                    Issue(
                        row.row,
                        report.columns.get("result", ""),
                        "result_kept",
                        _("%(name)s已有检测结果“%(result)s”，本行“待检”不覆盖")
                        % {"name": row.resident.name, "result": record.get_result_display()},
                    )
                )
    _insert(actor, round, creates, now)
    SamplingRecord.objects.bulk_update(updates, ["result", "result_at", "updated_at"], batch_size=CHUNK)
    report.created, report.updated = len(creates), len(updates)
    report.warnings.sort(key=lambda p: p.row)
    if creates:
        # A resident waiting for the home-sampling team has been sampled after all.
        created_ids = [r.resident.pk for r in creates]
        records = {}
        for start in range(0, len(created_ids), CHUNK):
            chunk = created_ids[start : start + CHUNK]
            for pk, resident_id in SamplingRecord.objects.filter(round=round, resident_id__in=chunk).values_list(
                "pk", "resident_id"
            ):
                records[resident_id] = pk
            waiting = list(
                HomeSamplingRequest.objects.filter(
                    round=round, resident_id__in=chunk, status=HomeRequestStatus.REQUESTED
                )
            )
            for request in waiting:
                request.status = HomeRequestStatus.SAMPLED
                request.record_id = records[request.resident_id]
                request.updated_at = now
            HomeSamplingRequest.objects.bulk_update(waiting, ["status", "record", "updated_at"])
    if newly_positive_residents:
        ids = list(newly_positive_residents)
        for start in range(0, len(ids), CHUNK):
            report.positives.extend(
                SamplingRecord.objects.filter(round=round, resident_id__in=ids[start : start + CHUNK]).values_list(
                    "pk", flat=True
                )
            )


INSERT_COLUMNS = [
    "district_id",
    "round_id",
    "resident_id",
    "where",
    "site",
    "sampled_at",
    "tube_code",
    "result",
    "result_at",
    "resamples",
    "source",
    "recorded_by_id",
    "place_path",
    "grid_path",
    "created_at",
    "updated_at",
]
ROWS_PER_STATEMENT = 100


def _insert(actor, round: SamplingRound, rows: list[ResultRow], now: dt.datetime) -> None:
    """New records with wide multi-row INSERTs (a subdistrict's file holds tens of thousands)."""
    if not rows:
        return
    adapt = connection.ops.adapt_datetimefield_value
    stamp = adapt(now)
    by = actor.pk if getattr(actor, "is_authenticated", False) else None
    values: list = []
    for row in rows:
        resident = row.resident
        values += [
            resident.district_id,
            round.pk,
            resident.pk,
            Where.HOME if HOME_SITE.search(row.site) else Where.SITE,
            row.site,
            adapt(row.sampled_at),
            row.tube_code,
            row.result,
            None if row.result == Result.PENDING else stamp,
            0,
            Source.IMPORT,
            by,
            resident.place_path,
            resident.grid_path,
            stamp,
            stamp,
        ]
    inserter = RowInserter(SamplingRecord, INSERT_COLUMNS, ROWS_PER_STATEMENT)
    with connection.cursor() as cursor:
        inserter.write(cursor, values)


def _audit(actor, round: SamplingRound, file_name: str, sha256: str, report: ResultsReport, partial: bool) -> None:
    audit_record(
        actor=actor,
        action="sampling.import",
        obj=round,
        changes={
            "file": file_name,
            "sha256": sha256,
            "partial": partial,
            "written": report.written,
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
            "warnings": len(report.warnings),
            "positives": report.positives,
        },
    )
