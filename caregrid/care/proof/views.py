"""The day's proof (一天一问一记录的留痕): every contact under a place on a local day, and its Excel export."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can, require

from . import queries
from .actions import proof_export_record
from .export import day_label, proof_title, write_proof
from .forms import ProofForm


def _filters(request) -> tuple[ProofForm, queries.ProofFilters, list]:
    form = ProofForm(request.GET)
    options = queries.proof_places(request.user)
    place = queries.proof_place(request.user, form.value("place"), options)
    filters = queries.ProofFilters(
        place=place,
        day=form.day(),
        grid=queries.proof_grid(request.user, place, form.value("grid")),
        channel=form.value("channel") or "",
        outcome=form.value("outcome") or "",
        newest_first=form.value("sort") == "-at",
    )
    return form, filters, options


def _query(filters: queries.ProofFilters, **changes) -> str:
    """The page's GET parameters with some changed (for sort, pager and export links)."""
    params = {
        "place": filters.place.pk,
        "date": filters.day.isoformat(),
        "grid": filters.grid.pk if filters.grid else "",
        "channel": filters.channel,
        "outcome": filters.outcome,
        "sort": "-at" if filters.newest_first else "",
    }
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


@login_required
@require_GET
def day_view(request):
    """The contacts of a place subtree on a day with a summary line; a page of rows, sortable by time."""
    require(request.user, Cap.VIEW_CARE)
    form, filters, options = _filters(request)
    qs = queries.day_contacts(request.user, filters)
    page = form.value("page") or 1
    size = settings.PAGE_SIZE
    contacts = list(queries.ordered(qs, filters.newest_first)[(page - 1) * size : page * size + 1])
    has_next = len(contacts) > size
    context = {
        "form": form,
        "filters": filters,
        "place": filters.place,
        "place_options": options,
        "grids": queries.grids_under(request.user, filters.place),
        "summary": queries.day_summary(qs),
        "rows": queries.proof_rows(contacts[:size]),
        "day_label": day_label(filters.day),
        "page": page,
        "prev_query": _query(filters, page=page - 1) if page > 1 else "",
        "next_query": _query(filters, page=page + 1) if has_next else "",
        "sort_query": _query(filters, sort="" if filters.newest_first else "-at"),
        "export_query": _query(filters),
        "may_export": can(request.user, Cap.EXPORT),
        "channels": form.fields["channel"].choices,
        "outcomes": form.fields["outcome"].choices,
    }
    return render(request, "care/proof/day.html", context)


@login_required
@require_GET
def export_view(request):
    """The same rows as an xlsx (all pages), with totals by grid and by carer; the export is audited."""
    require(request.user, Cap.VIEW_CARE)
    require(request.user, Cap.EXPORT)
    _form, filters, _options = _filters(request)
    qs = queries.day_contacts(request.user, filters)
    title = proof_title(filters.place, filters.day)
    export_dir = Path(settings.EXPORT_DIR)
    export_dir.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=export_dir, suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    try:
        rows = write_proof(
            Path(handle.name),
            title=title,
            rows=queries.iter_rows(qs, filters.newest_first),
            by_grid=queries.totals_by_grid(qs),
            by_carer=queries.totals_by_carer(qs),
        )
        described = {
            k: v
            for k, v in {
                "grid": filters.grid.pk if filters.grid else None,
                "channel": filters.channel,
                "outcome": filters.outcome,
            }.items()
            if v
        }
        proof_export_record(actor=request.user, place=filters.place, day=filters.day, rows=rows, filters=described)
        stream = open(handle.name, "rb")  # noqa: SIM115 (FileResponse closes it)
    finally:
        Path(handle.name).unlink(missing_ok=True)  # the open handle keeps the data until sent
    filename = _("关爱走访记录") + f"-{filters.place.name}-{filters.day:%Y%m%d}.xlsx"
    return FileResponse(stream, as_attachment=True, filename=filename)
