"""The statistics page (/cases/stats/) and its Excel export: thin views over queries.case_stats."""

import datetime as dt
import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can

from ..queries import duration_text
from .exports import footnotes, stats_export_record, stats_tables, stats_workbook
from .forms import PERIOD_CHOICES, StatsFilterForm
from .queries import Period, case_stats

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require(user) -> None:
    if not can(user, Cap.VIEW_CASES):
        raise PermissionDenied


def _query(form: StatsFilterForm, period: Period, **extra) -> str:
    params = {"period": period.kind}
    if form.place_obj is not None:
        params["place"] = form.place_obj.pk
    if period.kind == "custom":
        params.update(start=period.start.isoformat(), end=period.end.isoformat())
    else:
        params["date"] = period.start.isoformat()
    params.update(extra)
    return urlencode(params)


def _step(period: Period, direction: int) -> Period | None:
    """The period before or after (a day or a week); none for custom periods."""
    if period.kind == "week":
        return Period.week(period.start + dt.timedelta(days=7 * direction))
    if period.kind == "day":
        return Period.day(period.start + dt.timedelta(days=direction))
    return None


def _chart(data: dict, shown: bool) -> dict:
    """A chart's data as JSON for a data attribute: htmx drops <script> tags from swapped content
    (scripts are off under the Content-Security-Policy), so json_script would not survive a filter change."""
    return {"json": json.dumps(data, ensure_ascii=False), "shown": shown}


def _charts(stats) -> dict:
    requests = _("诉求数")
    categories = sorted((r for r in stats.by_category if r.count), key=lambda r: -r.count)
    place_rows = [r for r in stats.by_place if r.place is not None]
    return {
        "category": _chart(
            {
                "labels": [r.label for r in categories],
                "series": [{"name": requests, "values": [r.count for r in categories]}],
            },
            bool(categories),
        ),
        "channel": _chart(
            {"name": requests, "items": [{"name": r.label, "value": r.count} for r in stats.by_channel if r.count]},
            bool(stats.total),
        ),
        "time": _chart(
            {"name": requests, "labels": [p.label for p in stats.series], "values": [p.count for p in stats.series]},
            True,
        ),
        "place": _chart(
            {
                "labels": [r.label for r in place_rows],
                "series": [
                    {"name": _("即刻答复"), "values": [r.answered for r in place_rows]},
                    {"name": _("协调解决"), "values": [r.coordinated for r in place_rows]},
                    {"name": _("交办处置"), "values": [r.dispatched for r in place_rows]},
                    {
                        "name": _("尚未分流"),
                        "values": [r.total - r.answered - r.coordinated - r.dispatched for r in place_rows],
                    },
                ],
            },
            bool(place_rows),
        ),
        "grid": _chart(
            {
                "labels": [r.label for r in stats.by_grid],
                "series": [{"name": requests, "values": [r.total for r in stats.by_grid]}],
            },
            bool(stats.by_grid),
        ),
    }


@login_required
@require_GET
def dashboard(request):
    """The numbers for the chosen place and period; htmx requests get only the body (a partial template)."""
    _require(request.user)
    form = StatsFilterForm(request.GET, user=request.user)
    form.is_valid()
    period = form.period_obj
    stats = case_stats(request.user, period=period, place=form.place_obj)
    before, after = _step(period, -1), _step(period, 1)
    context = {
        "form": form,
        "period_choices": PERIOD_CHOICES,
        "stats": stats,
        "tables": {t.key: t for t in stats_tables(stats)},
        "charts": _charts(stats),
        "footnotes": footnotes(stats),
        "first_contact_median": duration_text(stats.overall.first_contact),
        "resolution_median": duration_text(stats.overall.resolution),
        "period_value": form.data.get("period") or period.kind,
        "date_value": form.data.get("date") or period.start.isoformat(),
        "start_value": form.data.get("start") or period.start.isoformat(),
        "end_value": form.data.get("end") or period.end.isoformat(),
        "query": _query(form, period),
        "prev_query": _query(form, before) if before else "",
        "next_query": _query(form, after) if after else "",
    }
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    template = "cases/stats/_body.html" if partial else "cases/stats/dashboard.html"
    response = render(request, template, {**context, "oob": partial})
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def export(request):
    """Every table of the page in one workbook, a sheet per table; the export is audited."""
    _require(request.user)
    form = StatsFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    stats = case_stats(request.user, period=form.period_obj, place=form.place_obj)
    content, sheets = stats_workbook(stats, stats_tables(stats))
    stats_export_record(actor=request.user, stats=stats, sheets=sheets)
    scope = stats.scope_label.replace("/", "-").replace("、", "-")
    period = f"{stats.period.start:%Y%m%d}" + (
        f"-{stats.period.end:%Y%m%d}" if stats.period.end != stats.period.start else ""
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, _("诉求统计") + f"-{scope}-{period}.xlsx")
    return response
