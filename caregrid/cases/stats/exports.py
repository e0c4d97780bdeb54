"""The tables of the statistics page, defined once: the page shows them under its charts and the workbook
holds one sheet per table (xlsxwriter in constant-memory mode, rows written in order). Every export is audited."""

import datetime as dt
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.places.tree import ancestors, full_name

from ..queries import duration_text
from .queries import PLACE_METRICS, CaseStats, CountRow, PlaceRow, minutes


@dataclass(frozen=True)
class Duration:
    """A duration cell: read as "1小时25分" on the page, written as minutes in the workbook."""

    value: dt.timedelta | None

    def __str__(self) -> str:
        return duration_text(self.value)

    @property
    def minutes(self) -> float | None:
        return minutes(self.value)


@dataclass
class Table:
    key: str  # the element id on the page
    title: str  # the heading on the page and the sheet's name
    headers: list[str]
    rows: list[list]
    total: list | None = None  # the 合计 row, when the rows add up
    notes: list[str] = field(default_factory=list)


def _count_table(key: str, title: str, first: str, rows: list[CountRow]) -> Table:
    return Table(
        key=key,
        title=title,
        headers=[first, _("诉求数")],
        rows=[[r.label, r.count] for r in rows],
        total=[_("合计"), sum(r.count for r in rows)],
    )


def _place_table(key: str, title: str, rows: list[PlaceRow], note: str) -> Table:
    headers = [
        _("地点"),
        _("受理诉求"),
        _("热线来电"),
        _("即刻答复"),
        _("协调解决"),
        _("交办处置"),
        _("尚未办结"),
        _("当前超时"),
    ]
    body = [[r.label, *(getattr(r, name) for name in PLACE_METRICS)] for r in rows]
    total = [_("合计"), *(sum(getattr(r, name) for r in rows) for name in PLACE_METRICS)] if rows else None
    return Table(key=key, title=title, headers=headers, rows=body, total=total, notes=[note])


def stats_tables(stats: CaseStats) -> list[Table]:
    place_note = _("受理、热线与处置各列按统计期内受理的诉求计；“当前超时”为此刻仍超时未办的诉求，不限受理时间。")
    tables = [
        _count_table("by_category", _("按诉求类别"), _("诉求类别"), stats.by_category),
        _count_table("by_urgency", _("按紧急程度"), _("紧急程度"), stats.by_urgency),
        _count_table("by_channel", _("按来源渠道"), _("来源渠道"), stats.by_channel),
        _count_table("by_status", _("按当前状态"), _("状态"), stats.by_status),
    ]
    if stats.by_place:
        tables.append(_place_table("by_place", _("按下级地点"), stats.by_place, place_note))
    if stats.by_grid:
        grid_note = _("同一批诉求按网格划分；交办到网格的诉求计入该网格。")
        tables.append(_place_table("by_grid", _("按网格"), stats.by_grid, grid_note))
    hourly = stats.period.hourly
    tables.append(
        Table(
            key="by_time",
            title=_("按小时") if hourly else _("按日"),
            headers=[_("时段") if hourly else _("日期"), _("诉求数")],
            rows=[[p.label, p.count] for p in stats.series],
            total=[_("合计"), sum(p.count for p in stats.series)],
        )
    )
    tables.append(
        Table(
            key="timings",
            title=_("办理用时"),
            headers=[
                _("范围"),
                _("首次联系用时中位数"),
                _("已联系件数"),
                _("首次联系时限"),
                _("办结用时中位数"),
                _("已办结件数"),
                _("办结时限"),
            ],
            rows=[
                [
                    m.label,
                    Duration(m.first_contact),
                    m.first_contact_n,
                    Duration(m.first_contact_limit),
                    Duration(m.resolution),
                    m.resolution_n,
                    Duration(m.resolution_limit),
                ]
                for m in stats.medians
            ],
            notes=[
                _(
                    "用时自受理起计；中位数只计统计期内受理、已到达该环节的诉求，不含已撤销的；"
                    "即刻答复的诉求在通话中即联系并办结。"
                )
            ],
        )
    )
    return tables


def footnotes(stats: CaseStats) -> list[str]:
    """What the standard line counts, in the bureau's words (the page's footnote and the workbook's)."""
    return [
        _(
            "“接通来电”为统计期内（按受理时间，北京时间）经热线受理的诉求数，含已撤销的%(cancelled)s个；"
            "“各渠道”另含网上求助、网格上报、12345转办等渠道。"
        )
        % {"cancelled": stats.hotline.cancelled},
        _(
            "即刻答复、协调解决、交办处置按每件诉求的首次处置方式各计一次：先协调后交办的计为协调解决，"
            "未经分流直接派发任务或办结的计为协调解决；三项之外的%(pending)s个热线诉求尚未分流或未经处置即撤销。"
        )
        % {"pending": stats.hotline.pending},
        _("处置方式与状态为统计时的情况。"),
    ]


def overview_rows(stats: CaseStats) -> list[list]:
    return [
        [_("热线"), stats.hotline_text],
        [_("各渠道"), stats.all_channels_text],
        [_("受理诉求"), stats.total],
        [_("热线来电"), stats.hotline.received],
        [_("当前在办"), stats.open_now],
        [_("当前超时"), stats.overdue_now],
        [_("首次联系超时"), stats.overdue_first_contact],
        [_("办结超时"), stats.overdue_resolution],
        [_("首次联系用时中位数"), Duration(stats.overall.first_contact)],
        [_("办结用时中位数"), Duration(stats.overall.resolution)],
    ]


def export_title(stats: CaseStats) -> str:
    return _("诉求统计 %(scope)s %(period)s") % {"scope": stats.scope_label, "period": stats.period.label}


def _sheet_name(title: str, used: set[str]) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Sheet"
    base, n = name, 2
    while name in used:
        name = f"{base[:28]}({n})"
        n += 1
    used.add(name)
    return name


def stats_workbook(stats: CaseStats, tables: list[Table]) -> tuple[bytes, dict[str, int]]:
    """The workbook: an overview sheet, then one sheet per table. Returns its bytes and rows per sheet."""
    import xlsxwriter

    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    bold = workbook.add_format({"bold": True})
    big = workbook.add_format({"bold": True, "font_size": 14})
    one_decimal = workbook.add_format({"num_format": "0.0"})
    used: set[str] = set()
    sizes: dict[str, int] = {}
    stamp = timezone.localtime(stats.now).strftime("%Y-%m-%d %H:%M")
    title = _("%(title)s（导出于%(at)s）") % {"title": export_title(stats), "at": stamp}

    def write(sheet, r: int, c: int, value, fmt=None) -> None:
        if isinstance(value, Duration):
            if value.minutes is None:
                sheet.write_blank(r, c, None)
            else:
                sheet.write_number(r, c, value.minutes, one_decimal)
        elif isinstance(value, int | float):
            sheet.write_number(r, c, value, fmt)
        elif value is None or value == "":
            sheet.write_blank(r, c, None)
        else:
            sheet.write_string(r, c, str(value), fmt)

    name = _sheet_name(_("概况"), used)
    sheet = workbook.add_worksheet(name)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 60)
    sheet.write_string(0, 0, title, bold)
    r = 2
    for label, value in overview_rows(stats):
        write(sheet, r, 0, label, bold)
        write(sheet, r, 1, value, big if r < 4 else None)
        r += 1
    r += 1
    for note in footnotes(stats):
        sheet.write_string(r, 0, note)
        r += 1
    sizes[name] = r

    for table in tables:
        name = _sheet_name(table.title, used)
        sheet = workbook.add_worksheet(name)
        sheet.set_column(0, 0, 24)
        sheet.set_column(1, len(table.headers) - 1, 14)
        sheet.write_string(0, 0, f"{table.title} · {title}", bold)
        for c, header in enumerate(table.headers):
            sheet.write_string(1, c, header, bold)
        r = 2
        for row in table.rows:
            for c, value in enumerate(row):
                write(sheet, r, c, value)
            r += 1
        if table.total is not None:
            for c, value in enumerate(table.total):
                write(sheet, r, c, value, bold)
            r += 1
        for note in table.notes:
            sheet.write_string(r + 1, 0, note)
            r += 1
        if any(isinstance(v, Duration) for row in table.rows for v in row):
            sheet.write_string(r + 1, 0, _("用时单位：分钟"))
        sizes[name] = len(table.rows)
    workbook.close()
    return output.getvalue(), sizes


def stats_export_record(*, actor, stats: CaseStats, sheets: dict[str, int]) -> None:
    """Statistics leave the system in files: each export is on the record."""
    place = stats.place or stats.parent
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="case.stats_export",
            obj=stats.place,
            object_type="places.place" if stats.place else "",
            object_repr=full_name(ancestors(stats.place)) if stats.place else stats.scope_label,
            place_path=place.path if place else "",
            changes={
                "period": {
                    "kind": stats.period.kind,
                    "start": stats.period.start.isoformat(),
                    "end": stats.period.end.isoformat(),
                },
                "place": stats.place.pk if stats.place else None,
                "sheets": sheets,
                "received": stats.total,
            },
        )
