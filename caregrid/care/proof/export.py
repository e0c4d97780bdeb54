"""The day's proof as an Excel workbook: a sheet of every contact (title row, headers, one row per contact, numbers
masked), and a sheet of totals by grid and by carer. Written row by row in xlsxwriter's constant-memory mode, so
a subdistrict's busy day streams from the database to the file without being held in memory."""

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from django.utils.translation import gettext as _

from caregrid.places.models import Place

from .queries import ProofRow, TotalRow


def day_label(day: dt.date) -> str:
    return _("%(year)s年%(month)s月%(day)s日") % {"year": day.year, "month": day.month, "day": day.day}


def proof_title(place: Place, day: dt.date) -> str:
    """ "紫东社区 2026年11月23日 关爱走访记录" """
    return _("%(place)s %(day)s 关爱走访记录") % {"place": place.name, "day": day_label(day)}


def row_headers() -> list[str]:
    return [
        _("时间"),
        _("居民"),
        _("身份证号"),
        _("联系电话"),
        _("住址"),
        _("所属网格"),
        _("方式"),
        _("结果"),
        _("状况"),
        _("发现的需求"),
        _("体温"),
        _("联系人"),
        _("联系人角色"),
        _("生成的诉求"),
    ]


def row_cells(row: ProofRow) -> list[str]:
    return [
        row.at.strftime("%Y-%m-%d %H:%M"),
        row.resident_name,
        row.id_number,
        row.phone,
        row.address,
        row.grid,
        row.channel,
        row.outcome,
        row.wellbeing,
        row.needs,
        row.temperature,
        row.carer,
        row.carer_role,
        row.help_request,
    ]


def total_headers(first: str) -> list[str]:
    return [first, _("联系次数"), _("联系居民数"), _("联系上"), _("未联系上"), _("拒绝")]


def _total_cells(row: TotalRow) -> list:
    return [row.label, row.contacts, row.residents, row.reached, row.not_reached, row.refused]


WIDTHS = [17, 10, 21, 14, 26, 12, 9, 10, 9, 18, 7, 12, 12, 16]


def write_proof(
    path: Path,
    *,
    title: str,
    rows: Iterable[ProofRow],
    by_grid: list[TotalRow],
    by_carer: list[TotalRow],
) -> int:
    """Write the workbook to `path`; returns the number of contact rows written."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    bold = workbook.add_format({"bold": True})
    big = workbook.add_format({"bold": True, "font_size": 14})
    sheet = workbook.add_worksheet(_("走访记录"))
    for c, width in enumerate(WIDTHS):
        sheet.set_column(c, c, width)
    sheet.write_string(0, 0, title, big)
    for c, header in enumerate(row_headers()):
        sheet.write_string(1, c, header, bold)
    count = 0
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row_cells(row)):
            if value:
                sheet.write_string(r, c, value)
        count += 1

    totals = workbook.add_worksheet(_("汇总"))
    totals.set_column(0, 0, 20)
    totals.set_column(1, 5, 12)
    totals.write_string(0, 0, title, big)
    r = 2
    for first, table in ((_("网格"), by_grid), (_("联系人"), by_carer)):
        for c, header in enumerate(total_headers(first)):
            totals.write_string(r, c, header, bold)
        r += 1
        for row in table:
            for c, value in enumerate(_total_cells(row)):
                if isinstance(value, int):
                    totals.write_number(r, c, value)
                else:
                    totals.write_string(r, c, value)
            r += 1
        r += 1
    workbook.close()
    return count
