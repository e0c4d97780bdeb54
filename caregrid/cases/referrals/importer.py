"""12345 referral batches: a CSV or spreadsheet of requests the 12345 hotline referred to the bureau, checked
row by row and logged as help requests through case_create, all in one transaction.

Files come as 12345 platforms export them: a title row or two above the header, header names that vary
("工单编号" / "工单号"), GB18030 CSVs; the ledger reader's file handling reads them. A referral already logged
(same 工单编号 on the 12345 channel) is skipped, so importing the same file twice is harmless.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can
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
from caregrid.people.validation import clean_phone, clean_text
from caregrid.places.models import Place, PlaceKind

from ..actions import DESCRIPTION_MAX, CaseError, IntakeData, case_create, case_note
from ..models import Channel, HelpRequest, Subcategory
from ..taxonomy import CaseCategory, Urgency

# A batch is a shift's or a day's referrals. The import is one transaction, which on SQLite holds the write
# lock throughout (about 10 ms a row), so a batch is capped to keep the hotline's own writes waiting seconds
# at most; larger files are split.
MAX_ROWS = 500
EXTERNAL_ID_MAX = 64
CALLER_NAME_MAX = 50
ADDRESS_MAX = 200
# A call time this far ahead of the clock is a typing error, not a clock difference.
FUTURE_SLACK = dt.timedelta(minutes=10)

# Field → the header texts that name it (compared after `header_key`: half-width, Simplified, no spaces,
# no trailing "(必填)").
HEADERS: dict[str, tuple[str, ...]] = {
    "external_id": ("工单编号", "工单号", "12345工单编号", "12345工单号", "转办单号", "受理编号", "工单流水号", "单号"),
    "received_at": ("来电时间", "受理时间", "来电日期", "登记时间", "转办时间", "派单时间", "交办时间", "反映时间"),
    "caller_name": ("来电人", "来电人姓名", "求助人", "诉求人", "反映人", "联系人", "市民姓名", "姓名"),
    "caller_phone": ("联系电话", "来电号码", "来电电话", "联系方式", "手机号码", "手机号", "电话", "回访电话"),
    "address_text": ("诉求地址", "事发地址", "地址", "详细地址", "住址", "事发地点", "问题地址", "反映地址"),
    "description": ("诉求内容", "来电内容", "工单内容", "诉求描述", "问题描述", "反映内容", "来电诉求", "内容"),
    "category": ("诉求类型", "诉求类别", "问题类型", "问题分类", "工单类型", "诉求分类", "类别", "类型"),
    "urgency": ("紧急程度", "紧急度", "缓急程度", "是否紧急", "办理级别", "紧急"),
    "deadline": ("办理时限", "办结时限", "处理时限", "限办时间", "办理期限", "截止时间", "要求办结时间"),
}
_HEADER_TO_FIELD = {header_key(alias): f for f, aliases in HEADERS.items() for alias in aliases}
REQUIRED_COLUMNS = ("external_id", "description")

# Names 12345 platforms use for the bureau's categories, besides the categories' own labels and codes.
CATEGORY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "medical": ("医疗", "看病", "就诊", "急诊", "医疗救治", "就医需求", "血透", "透析", "产检"),
    "medicine": ("药品", "买药", "配药", "取药", "代购药品", "药物", "用药"),
    "supplies": ("物资", "生活保障", "生活物资保障", "买菜", "食品", "物资配送", "保供"),
    "testing": ("核酸", "检测", "采样", "核酸采样", "抗原", "上门采样"),
    "mental_health": ("心理", "心理咨询", "心理援助", "情绪疏导"),
    "financial_aid": ("救助", "社会救助", "临时救助", "困难帮扶", "帮扶", "低保", "特困"),
    "travel": ("出行", "通行", "通行证", "返乡", "滞留", "交通出行"),
    "caregiving": ("照料", "照护", "看护", "养老服务", "老人照料", "儿童看护"),
    "utilities": ("水电", "维修", "停水", "停电", "燃气", "供水", "供电", "物业维修"),
    "complaint": ("投诉", "举报", "意见", "不满"),
    "policy": ("咨询", "政策", "政策解答", "防疫政策", "办事咨询"),
    "other": ("其它",),
}
URGENCY_NAMES: dict[str, tuple[str, ...]] = {
    Urgency.URGENT: ("紧急", "特急", "加急", "特别紧急", "非常紧急", "急", "是"),
    Urgency.HIGH: ("较急", "比较紧急", "急件", "优先", "较紧急"),
    Urgency.NORMAL: ("一般", "普通", "正常", "平件", "不紧急", "否", "常规"),
}
# "民政-社会救助-临时救助", "就医/血透": the finest part is tried first.
_CATEGORY_PARTS = re.compile(r"[-－—/／>＞、|｜]+")

_DURATION = re.compile(r"^(\d{1,3})\s*(个)?\s*(分钟|小时|工作日|天|日)(?:内)?$")


class ReferralFileError(LedgerFileError):
    """The file cannot be read as a referral batch at all (not a row problem)."""


@dataclass
class Referral:
    """One checked row, ready for case_create."""

    row: int
    external_id: str
    description: str
    received_at: dt.datetime | None = None
    caller_name: str = ""
    caller_phone: str = ""
    address_text: str = ""
    category: str = ""
    subcategory: Subcategory | None = None
    urgency: str = ""
    deadline: dt.datetime | None = None


@dataclass
class ReferralReport:
    rows: int = 0  # data rows read (blank and footer rows aside)
    valid: list[Referral] = field(default_factory=list)
    imported: list[dict] = field(default_factory=list)  # {"row", "external_id", "id", "number"}
    skipped: list[dict] = field(default_factory=list)  # already logged: {"row", "external_id", "id", "number"}
    rejected: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field → the header as the file writes it
    written: bool = False  # did the run commit anything

    @property
    def to_import(self) -> int:
        """Rows that would be logged (on a check) or were (after a run)."""
        return len(self.imported) if self.written else len(self.valid)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "to_import": self.to_import,
            "imported": self.imported,
            "skipped": self.skipped,
            "rejected": [p.as_dict() for p in self.rejected],
            "warnings": [p.as_dict() for p in self.warnings],
            "columns": self.columns,
            "written": self.written,
        }


# ---- reading -----------------------------------------------------------------------------------


def _layout(head: list[list]) -> tuple[dict[str, int], dict[str, str], int]:
    return find_header(
        head,
        _HEADER_TO_FIELD,
        headers=HEADERS,
        required=REQUIRED_COLUMNS,
        error=ReferralFileError,
        not_found=_("没有找到表头：前%(n)d行中没有“工单编号”“诉求内容”等列名") % {"n": HEADER_SCAN_ROWS},
    )


def _add_workdays(start: dt.datetime, days: int) -> dt.datetime:
    moment = start
    while days > 0:
        moment += dt.timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def parse_deadline(value, received: dt.datetime) -> dt.datetime | None:
    """The referral's own deadline: a date and time, or a span from the call ("24小时", "3个工作日")."""
    moment = parse_time(value)
    if moment is not None:
        return moment
    m = _DURATION.match(clean_text(value))
    if m is None:
        return None
    n, unit = int(m.group(1)), m.group(3)
    if unit == "分钟":
        return received + dt.timedelta(minutes=n)
    if unit == "小时":
        return received + dt.timedelta(hours=n)
    if unit == "工作日":
        return _add_workdays(received, n)
    return received + dt.timedelta(days=n)


class _Names:
    """Category and urgency names as 12345 files write them → codes (and a bureau's sub-category)."""

    def __init__(self):
        self.categories: dict[str, tuple[str, Subcategory | None]] = {}
        # Later entries win: the bureau's own sub-categories over the synonyms, the categories' labels and
        # codes over everything.
        for code, aliases in CATEGORY_SYNONYMS.items():
            for alias in aliases:
                self.categories[self.key(alias)] = (code, None)
        for sub in Subcategory.objects.filter(is_active=True):
            self.categories[self.key(sub.code)] = (sub.category, sub)
            self.categories[self.key(sub.name)] = (sub.category, sub)
        for language in ("en", "zh-hans"):  # Chinese last: its labels win over any clash
            with translation.override(language):
                for code, label in CaseCategory.choices:
                    self.categories[self.key(str(label))] = (code, None)
        for code in CaseCategory.values:
            self.categories[self.key(code)] = (code, None)
        self.urgencies = {self.key(code): code for code in Urgency.values}
        for code, aliases in URGENCY_NAMES.items():
            for alias in aliases:
                self.urgencies[self.key(alias)] = code
        with translation.override("zh-hans"):
            for code, label in Urgency.choices:
                self.urgencies[self.key(str(label))] = code

    @staticmethod
    def key(text: str) -> str:
        return clean_text(text).lower().replace(" ", "")

    def category(self, text: str) -> tuple[str, Subcategory | None] | None:
        whole = self.key(text)
        if whole in self.categories:
            return self.categories[whole]
        parts = [p for p in _CATEGORY_PARTS.split(whole) if p]
        found = [self.categories[p] for p in reversed(parts) if p in self.categories]
        if not found:
            return None
        # The finest part names the category; a sub-category among the parts is kept when it fits.
        code = found[0][0]
        sub = next((s for c, s in found if s is not None and c == code), None)
        return code, sub

    def urgency(self, text: str) -> str | None:
        return self.urgencies.get(self.key(text))


def check_file(path: Path, *, now: dt.datetime | None = None) -> ReferralReport:
    """Read and check every row without writing: rejected rows, warnings, referrals already logged."""
    now = now or timezone.now()
    raw = raw_rows(Path(path))
    head: list[list] = []
    for row in raw:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    columns, labels, header_rows = _layout(head)
    report = ReferralReport(columns=labels)
    names = _Names()
    first_row_of: dict[str, int] = {}

    def rows():
        number = header_rows
        for row in head[header_rows:]:
            number += 1
            yield number, row
        for row in raw:
            number += 1
            yield number, row

    for number, row in rows():
        if is_blank(row) or is_footer(row):
            continue
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise ReferralFileError(_("文件超过%(n)s行，请拆分后分批导入") % {"n": f"{MAX_ROWS:,}"})
        cells = {f: (row[col] if col < len(row) else None) for f, col in columns.items()}
        referral = _check_row(number, cells, labels, names, report, now)
        if referral is None:
            continue
        earlier = first_row_of.get(referral.external_id)
        if earlier is not None:
            report.rejected.append(
                Issue(
                    number,
                    labels["external_id"],
                    "duplicate_in_file",
                    _("工单编号“%(id)s”与第%(row)s行重复") % {"id": referral.external_id, "row": earlier},
                )
            )
            continue
        first_row_of[referral.external_id] = number
        report.valid.append(referral)
    _mark_already_logged(report)
    return report


def _check_row(number: int, cells: dict, labels: dict, names: _Names, report: ReferralReport, now) -> Referral | None:
    problems: list[Issue] = []

    def reject(name: str, code: str, message: str) -> None:
        problems.append(Issue(number, labels.get(name, ""), code, message))

    def warn(name: str, code: str, message: str) -> None:
        report.warnings.append(Issue(number, labels.get(name, ""), code, message))

    external_id = clean_text(_cell(cells.get("external_id"))).replace(" ", "")
    if not external_id:
        reject("external_id", "required", _("工单编号为空"))
    elif len(external_id) > EXTERNAL_ID_MAX:
        reject("external_id", "too_long", _("工单编号不能超过%(n)s个字符") % {"n": EXTERNAL_ID_MAX})
    description = clean_text(_cell(cells.get("description")))
    if not description:
        reject("description", "required", _("诉求内容为空"))
    elif len(description) > DESCRIPTION_MAX:
        reject("description", "too_long", _("诉求内容不能超过%(n)s个字") % {"n": DESCRIPTION_MAX})
    caller_name = clean_text(_cell(cells.get("caller_name")))
    if len(caller_name) > CALLER_NAME_MAX:
        reject("caller_name", "too_long", _("来电人姓名不能超过%(n)s个字") % {"n": CALLER_NAME_MAX})
    address_text = clean_text(_cell(cells.get("address_text")))
    if len(address_text) > ADDRESS_MAX:
        reject("address_text", "too_long", _("诉求地址不能超过%(n)s个字") % {"n": ADDRESS_MAX})
    raw_phone = _cell(cells.get("caller_phone")).strip()
    phone, valid = clean_phone(raw_phone)
    if raw_phone and not valid:
        warn(
            "caller_phone",
            "phone_invalid",
            _("联系电话“%(value)s”不是有效的手机或固话号码，已原样保留") % {"value": raw_phone},
        )

    received_at = None
    raw_time = cells.get("received_at")
    if "received_at" in cells and not _cell(raw_time).strip():
        warn("received_at", "time_missing", _("来电时间为空，按导入时间受理"))
    elif _cell(raw_time).strip():
        received_at = parse_time(raw_time)
        if received_at is None:
            reject(
                "received_at",
                "bad_time",
                _("来电时间“%(value)s”无法识别，请写成 2022-04-10 08:15 这样的格式") % {"value": _cell(raw_time)},
            )
        elif received_at > now + FUTURE_SLACK:
            reject("received_at", "future_time", _("来电时间“%(value)s”晚于当前时间") % {"value": _cell(raw_time)})

    category, subcategory = "", None
    raw_category = _cell(cells.get("category")).strip()
    if raw_category:
        found = names.category(raw_category)
        if found is None:
            choices = "、".join(str(label) for label in CaseCategory.labels)
            reject(
                "category",
                "unknown_category",
                _("诉求类型“%(value)s”无法识别，可填：%(choices)s，或留空由系统判断")
                % {"value": raw_category, "choices": choices},
            )
        else:
            category, subcategory = found
    urgency = ""
    raw_urgency = _cell(cells.get("urgency")).strip()
    if raw_urgency:
        urgency = names.urgency(raw_urgency) or ""
        if not urgency:
            reject(
                "urgency",
                "unknown_urgency",
                _("紧急程度“%(value)s”无法识别，可填：紧急、较急、一般，或留空由系统判断") % {"value": raw_urgency},
            )

    deadline = None
    raw_deadline = _cell(cells.get("deadline")).strip()
    if raw_deadline and not problems:
        deadline = parse_deadline(cells.get("deadline"), received_at or now)
        if deadline is None:
            warn(
                "deadline",
                "bad_deadline",
                _("办理时限“%(value)s”无法识别，按本局的办理时限办理") % {"value": raw_deadline},
            )

    if problems:
        report.rejected.extend(problems)
        return None
    return Referral(
        row=number,
        external_id=external_id,
        description=description,
        received_at=received_at,
        caller_name=caller_name,
        caller_phone=phone,
        address_text=address_text,
        category=category,
        subcategory=subcategory,
        urgency=urgency,
        deadline=deadline,
    )


def _mark_already_logged(report: ReferralReport) -> None:
    """Move referrals whose 工单编号 is already a request on the 12345 channel from `valid` to `skipped`."""
    ids = [r.external_id for r in report.valid]
    logged: dict[str, tuple[int, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for pk, number, external_id in HelpRequest.objects.filter(
            channel=Channel.REFERRAL_12345, external_id__in=chunk
        ).values_list("pk", "number", "external_id"):
            logged.setdefault(external_id, (pk, number))
    if not logged:
        return
    still = []
    for referral in report.valid:
        if referral.external_id in logged:
            pk, number = logged[referral.external_id]
            report.skipped.append(
                {"row": referral.row, "external_id": referral.external_id, "id": pk, "number": number}
            )
        else:
            still.append(referral)
    report.valid = still


# ---- importing ---------------------------------------------------------------------------------


def _district_for(actor) -> Place | None:
    """The district the actor's requests belong to; None for the command line (the first district)."""
    from caregrid.accounts.scope import scope_places

    places = scope_places(actor, Cap.TAKE_CASES) if getattr(actor, "is_authenticated", False) else []
    if places:
        return Place.objects.get(pk=places[0].district_id)
    return Place.objects.filter(kind=PlaceKind.DISTRICT).order_by("id").first()


def referrals_import(
    *, actor, path: Path, file_name: str = "", partial: bool = False, dry_run: bool = False
) -> ReferralReport:
    """Log every referral of a file as a help request on the 12345 channel, in one transaction.

    Without `partial`, nothing is written when any row is rejected. Referrals already logged are skipped
    (not an error). A user below district level gets requests placed within their own scope (see
    cases.queries.intake_place). Every real run is audited, one that wrote nothing too."""
    from ..queries import intake_place

    path = Path(path)
    user = actor if getattr(actor, "is_authenticated", False) else None
    if user is not None and not can(user, Cap.TAKE_CASES):
        raise CaseError("forbidden", _("您的角色没有登记诉求的权限"))
    report = check_file(path)
    if dry_run:
        return report
    sha256 = file_sha256(path)
    district = _district_for(actor)
    if report.rejected and not partial:
        with transaction.atomic():
            _audit(actor, district, file_name or path.name, sha256, report, partial)
        return report
    with transaction.atomic():
        if district is not None:
            # Serialises imports into one district, so two runs of one file cannot both log a referral.
            Place.objects.select_for_update().filter(pk=district.pk).first()
        _mark_already_logged(report)
        for referral in report.valid:
            place = None
            if user is not None:
                place, _district = intake_place(user, referral.address_text or referral.description)
            data = IntakeData(
                channel=Channel.REFERRAL_12345,
                description=referral.description,
                category=referral.category,
                urgency=referral.urgency,
                subcategory=referral.subcategory,
                caller_name=referral.caller_name,
                caller_phone=referral.caller_phone,
                place=place,
                address_text=referral.address_text,
                external_id=referral.external_id,
                received_at=referral.received_at,
                resolution_due=referral.deadline,
            )
            try:
                with transaction.atomic():
                    case = case_create(actor=actor, data=data, district=district)
                    if referral.deadline is not None:
                        case_note(
                            actor=actor,
                            case=case,
                            note=_("12345办理时限：%(deadline)s")
                            % {"deadline": timezone.localtime(referral.deadline).strftime("%Y-%m-%d %H:%M")},
                        )
            except CaseError as e:
                column = report.columns.get(e.field, e.field)
                report.rejected.append(Issue(referral.row, column, e.code, e.message))
                continue
            report.imported.append(
                {"row": referral.row, "external_id": referral.external_id, "id": case.pk, "number": case.number}
            )
        report.rejected.sort(key=lambda p: p.row)
        report.written = bool(report.imported) and (partial or not report.rejected)
        if not report.written:
            transaction.set_rollback(True)
            report.imported = []
        else:
            _audit(actor, district, file_name or path.name, sha256, report, partial)
    if not report.written:
        with transaction.atomic():
            _audit(actor, district, file_name or path.name, sha256, report, partial)
    return report


def _audit(actor, district, file_name: str, sha256: str, report: ReferralReport, partial: bool) -> None:
    audit_record(
        actor=actor,
        action="case.referral_import",
        object_type="cases.helprequest",
        object_repr=file_name,
        place_path=district.path if district else "",
        changes={
            "file": file_name,
            "sha256": sha256,
            "partial": partial,
            "written": report.written,
            "rows": report.rows,
            "imported": len(report.imported),
            "skipped": len(report.skipped),
            "rejected": len(report.rejected),
            "warnings": len(report.warnings),
        },
    )
