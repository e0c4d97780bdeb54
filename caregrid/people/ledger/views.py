"""Ledger pages: upload → preview → confirm → progress → result, and the export download."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import get_scoped, require
from caregrid.people.models import Category, ImportJob, ImportStatus
from caregrid.people.queries import ResidentFilters, resident_search
from caregrid.places.models import Place, ZoneStatus
from caregrid.places.tree import ancestors, full_name

from .actions import import_job_create, ledger_export_record, read_progress
from .exporter import csv_stream, export_rows, write_xlsx
from .forms import ConfirmForm, UploadForm
from .tasks import preview_import, run_import


@login_required
def import_start(request):
    require(request.user, Cap.IMPORT)
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        job = import_job_create(
            actor=request.user,
            into=form.cleaned_data["place"],
            upload=form.cleaned_data["file"],
            partial=form.cleaned_data["partial"],
        )
        preview_import.enqueue(job.pk)
        return redirect("ledger:job", pk=job.pk)
    jobs = ImportJob.objects.filter(created_by=request.user).select_related("place")[:10]
    return render(request, "ledger/import.html", {"form": form, "jobs": jobs})


def _job_for(request, pk: int) -> ImportJob:
    require(request.user, Cap.IMPORT)
    return get_object_or_404(ImportJob.objects.select_related("place"), pk=pk, created_by=request.user)


@login_required
def job_detail(request, pk: int):
    job = _job_for(request, pk)
    context = {
        "job": job,
        "target": full_name(ancestors(job.place)),
        "processed": read_progress(job),
        "confirm_form": ConfirmForm(initial={"partial": job.partial}),
    }
    return render(request, "ledger/job.html", context)


@login_required
def job_progress(request, pk: int):
    job = _job_for(request, pk)
    response = render(request, "ledger/_progress.html", {"job": job, "processed": read_progress(job)})
    if not job.is_working:
        response["HX-Refresh"] = "true"  # the stage is over: reload the page to show its outcome
    return response


@login_required
@require_POST
def job_confirm(request, pk: int):
    job = _job_for(request, pk)
    form = ConfirmForm(request.POST)
    if job.status == ImportStatus.PREVIEWED and form.is_valid():
        updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PREVIEWED).update(
            status=ImportStatus.QUEUED, partial=form.cleaned_data["partial"], processed_rows=0
        )
        if updated:  # a double click enqueues once
            run_import.enqueue(job.pk)
    return redirect("ledger:job", pk=job.pk)


def export_filters(request) -> tuple[ResidentFilters, dict]:
    """The resident list's GET filters (place id, category code, zone status, q), checked against scope."""
    filters = ResidentFilters()
    described = {}
    place_id = request.GET.get("place", "").strip()
    if place_id:
        if not place_id.isdigit():
            raise PermissionDenied
        filters.place = get_scoped(request.user, Place.objects.all(), Cap.EXPORT, pk=int(place_id))
        described["place"] = full_name(ancestors(filters.place))
    code = request.GET.get("category", "").strip()
    if code:
        filters.category = Category.objects.filter(code=code).first()
        described["category"] = code
    zone = request.GET.get("zone", "").strip()
    if zone in ZoneStatus.values:
        filters.zone = zone
        described["zone"] = zone
    q = request.GET.get("q", "").strip()
    if q:
        filters.q = q
        described["q"] = q
    return filters, described


@login_required
def export(request):
    require(request.user, Cap.EXPORT)
    filters, described = export_filters(request)
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    qs = resident_search(request.user, filters, Cap.EXPORT)
    label = described.get("place") or "居民台账"
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"居民台账-{label.replace('/', '-')}-{stamp}.{fmt}"
    if fmt == "csv":
        ledger_export_record(actor=request.user, place=filters.place, filters=described, rows=qs.count(), fmt=fmt)
        response = StreamingHttpResponse(csv_stream(export_rows(qs)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    export_dir = Path(settings.EXPORT_DIR)
    export_dir.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=export_dir, suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    try:
        rows = write_xlsx(export_rows(qs), Path(handle.name), title=f"居民台账 {label}")
        ledger_export_record(actor=request.user, place=filters.place, filters=described, rows=rows, fmt=fmt)
        stream = open(handle.name, "rb")  # noqa: SIM115 (FileResponse closes it)
    finally:
        Path(handle.name).unlink(missing_ok=True)  # the open handle keeps the data until sent
    return FileResponse(stream, as_attachment=True, filename=filename)
