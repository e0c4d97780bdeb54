"""The Excel workbook of a round's results: one sheet of households (every one in the user's part of the round,
with the state its latest visit left it in) and one sheet of visits with their findings. Rows are read in
chunks and written in order (xlsxwriter constant-memory), so a subdistrict's round fits in little memory."""

import io

from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.places.tree import addresses_for

from . import queries
from .models import DoorFinding, DoorRound, FindingKind, VisitOutcome

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 2000


def export_file_name(door_round: DoorRound) -> str:
    name = "".join(ch for ch in door_round.name if ch not in '\\/:*?"<>|')[:60]
    return _("敲门行动") + f"-{name}-{timezone.localdate():%Y%m%d}.xlsx"


def _state_labels() -> dict:
    """The state of a household as the sheet writes it, by the outcome of its latest visit (None: never)."""
    labels = {o.value: str(o.label) for o in VisitOutcome}
    labels[VisitOutcome.NOBODY_HOME] = _("无人在家（待再访）")
    labels[None] = _("未走访")
    return labels


def _local(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""


def _findings_text(findings: list[DoorFinding]) -> str:
    parts = []
    for f in findings:
        if f.kind == FindingKind.NEW_RESIDENT:
            parts.append(_("新登记居民：%(name)s") % {"name": f.resident_name})
        else:
            parts.append(
                _("%(name)s新增类别：%(category)s")
                % {"name": f.resident_name, "category": f.category.name if f.category else ""}
            )
    return "；".join(parts)


def _household_chunks(user, door_round: DoorRound):
    """The user's households of the round in tree order with their state, a chunk at a time (keyset on path)."""
    qs = queries.households_with_state(user, door_round).only("id", "name", "path", "grid_id")
    last = ""
    while True:
        chunk = list(qs.filter(path__gt=last)[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].path


def _visit_chunks(user, door_round: DoorRound):
    """The user's visits of the round in the order they were recorded, a chunk at a time, with the findings of
    the chunk's visits read in one query."""
    qs = (
        queries.visits_visible(user, door_round)
        .select_related("household", "visitor")
        .only(
            "id",
            "at",
            "outcome",
            "note",
            "findings",
            "household__id",
            "household__name",
            "household__path",
            "household__grid_id",
            "visitor__full_name",
            "visitor__username",
        )
        .order_by("id")
    )
    last = 0
    while True:
        chunk = list(qs.filter(id__gt=last)[:CHUNK])
        if not chunk:
            return
        found: dict[int, list[DoorFinding]] = {}
        with_findings = [v.pk for v in chunk if v.findings]
        if with_findings:
            rows = DoorFinding.objects.filter(visit_id__in=with_findings).select_related("category").order_by("id")
            for f in rows:
                found.setdefault(f.visit_id, []).append(f)
        yield chunk, found
        last = chunk[-1].pk


def round_workbook(user, door_round: DoorRound) -> tuple[bytes, dict[str, int]]:
    """The workbook's bytes and the rows written per sheet."""
    import xlsxwriter

    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    bold = workbook.add_format({"bold": True})
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    title = _("%(name)s（%(start)s至%(end)s，导出于%(at)s）") % {
        "name": door_round.name,
        "start": door_round.start_date.isoformat(),
        "end": door_round.end_date.isoformat(),
        "at": stamp,
    }
    grid_names = {g.pk: g.name for g in queries.round_grids(user, door_round)}
    sizes: dict[str, int] = {}
    states = _state_labels()
    outcomes = {o.value: str(o.label) for o in VisitOutcome}

    name = _("住户走访结果")
    sheet = workbook.add_worksheet(name)
    headers = [_("网格"), _("住址"), _("走访状态"), _("走访次数"), _("最近走访时间"), _("最近走访人"), _("最近备注")]
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 30)
    sheet.set_column(2, 6, 16)
    sheet.write_string(0, 0, title, bold)
    for c, header in enumerate(headers):
        sheet.write_string(1, c, header, bold)
    r = 2
    for chunk in _household_chunks(user, door_round):
        addresses = addresses_for(chunk)
        for h in chunk:
            values = [
                grid_names.get(h.grid_id, ""),
                addresses.get(h.pk, h.name),
                states.get(h.state_outcome, ""),
                h.state_visits or 0,
                _local(h.state_at),
                h.state_visitor_name or h.state_visitor_username or "",
                h.state_note or "",
            ]
            for c, value in enumerate(values):
                if isinstance(value, int):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, value)
            r += 1
    sizes[name] = r - 2

    name = _("走访记录")
    sheet = workbook.add_worksheet(name)
    headers = [_("走访时间"), _("网格"), _("住址"), _("结果"), _("走访人"), _("备注"), _("发现情况")]
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 14)
    sheet.set_column(2, 2, 30)
    sheet.set_column(3, 6, 16)
    sheet.write_string(0, 0, title, bold)
    for c, header in enumerate(headers):
        sheet.write_string(1, c, header, bold)
    r = 2
    for chunk, found in _visit_chunks(user, door_round):
        addresses = addresses_for(list({v.household_id: v.household for v in chunk}.values()))
        for v in chunk:
            values = [
                _local(v.at),
                grid_names.get(v.household.grid_id, ""),
                addresses.get(v.household_id, v.household.name),
                outcomes.get(v.outcome, v.outcome),
                v.visitor.full_name or v.visitor.username,
                v.note,
                _findings_text(found.get(v.pk, [])),
            ]
            for c, value in enumerate(values):
                sheet.write_string(r, c, value)
            r += 1
    sizes[name] = r - 2
    workbook.close()
    return output.getvalue(), sizes
