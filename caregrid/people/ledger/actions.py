"""Ledger imports and exports as business actions: each run writes its audit row."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from caregrid.accounts.audit import audit_record
from caregrid.people.models import ImportJob, ImportStatus, Resident
from caregrid.people.signals import residents_changed
from caregrid.places.actions import place_ensure_names
from caregrid.places.models import Place
from caregrid.places.tree import ancestors, full_name

from .importer import ImportReport, ResidentImporter
from .reader import count_data_rows, file_sha256


def ledger_import(
    *,
    actor,
    path: Path,
    into: Place | None = None,
    into_names: list[str] | None = None,
    file_name: str = "",
    partial: bool = False,
    dry_run: bool = False,
    scope_paths: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a ledger file into a community (given as a place or as its path of names).

    Nothing is written on a dry run, nor (without `partial`) when any row is rejected; then even the
    missing levels of `into_names` are not created. Every real run is audited, failed ones too.
    """
    path = Path(path)
    sha256 = file_sha256(path)
    target = ""
    with transaction.atomic():
        if into is None:
            into = place_ensure_names(actor=actor, names=into_names or [])
        target = full_name(ancestors(into))
        report = ResidentImporter(
            actor=actor, into=into, partial=partial, dry_run=dry_run, scope_paths=scope_paths, progress=progress
        ).run(path)
        if dry_run or not report.written:
            transaction.set_rollback(True)
        else:
            _audit_import(actor, into, target, file_name or path.name, sha256, report, partial)
            residents_changed.send(sender=Resident, place=into)
    if not dry_run and not report.written:
        with transaction.atomic():
            _audit_import(actor, None, target, file_name or path.name, sha256, report, partial)
    return report


def _audit_import(actor, into, target, file_name, sha256, report: ImportReport, partial: bool) -> None:
    audit_record(
        actor=actor,
        action="resident.import",
        obj=into,
        object_type="places.place",
        object_repr=target,
        changes={
            "file": file_name,
            "sha256": sha256,
            "target": target,
            "partial": partial,
            "written": report.written,
            "rows": report.rows,
            "imported": report.imported,
            "updated": report.updated,
            "merged_duplicates": report.merged_duplicates,
            "rejected": len(report.rejected),
            "warnings": len(report.warnings),
            "places_created": report.places_created if report.written else 0,
        },
    )


def ledger_export_record(*, actor, place: Place | None, filters: dict, rows: int, fmt: str) -> None:
    """Exports carry full ID and phone numbers, so each one is on the record."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="resident.export",
            obj=place,
            object_type="places.place",
            object_repr=full_name(ancestors(place)) if place else "",
            changes={"filters": filters, "rows": rows, "format": fmt},
        )


# --- the upload page's jobs ---


def progress_file(job: ImportJob) -> Path:
    return Path(settings.UPLOAD_DIR) / f"job-{job.pk}.progress"


def read_progress(job: ImportJob) -> int:
    """Rows processed so far. The import's transaction holds SQLite's write lock, so while it runs
    the count travels through a small file beside the upload rather than the job row."""
    try:
        return max(job.processed_rows, int(progress_file(job).read_text() or 0))
    except (FileNotFoundError, ValueError):
        return job.processed_rows


def _progress_writer(job: ImportJob) -> Callable[[int], None]:
    target = progress_file(job)

    def write(rows: int) -> None:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(str(rows))
        tmp.replace(target)

    return write


def _scope_paths(job: ImportJob) -> list[str] | None:
    from caregrid.accounts.roles import Cap
    from caregrid.accounts.scope import scope_places

    return [p.path for p in scope_places(job.created_by, Cap.IMPORT)]


def import_job_create(*, actor, into: Place, upload, partial: bool) -> ImportJob:
    """Save an uploaded file under UPLOAD_DIR and open a job for it."""
    upload_dir = Path(settings.UPLOAD_DIR)
    upload_dir.mkdir(parents=True, exist_ok=True)
    name = Path(upload.name).name[:200]
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    stored = (
        upload_dir
        / f"{stamp}-{hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]}{Path(name).suffix.lower()}"
    )
    digest = hashlib.sha256()
    with open(stored, "wb") as f:
        for chunk in upload.chunks():
            f.write(chunk)
            digest.update(chunk)
    return ImportJob.objects.create(
        created_by=actor,
        place=into,
        file_name=name,
        stored_path=str(stored),
        sha256=digest.hexdigest(),
        partial=partial,
        status=ImportStatus.PREVIEWING,
    )


def _finish(job: ImportJob, report: ImportReport, status: str, field: str) -> None:
    setattr(job, field, json.loads(json.dumps(report.as_dict())))
    job.processed_rows = report.rows
    job.total_rows = report.rows
    job.status = status
    job.finished_at = timezone.now()
    job.save()


def import_job_preview(*, job: ImportJob) -> ImportJob:
    """Check every row without writing; the preview lists every problem."""
    job.started_at = timezone.now()
    try:
        job.total_rows = count_data_rows(Path(job.stored_path))
        job.save(update_fields=["total_rows", "started_at"])
        report = ledger_import(
            actor=job.created_by,
            path=Path(job.stored_path),
            into=job.place,
            file_name=job.file_name,
            partial=True,
            dry_run=True,
            scope_paths=_scope_paths(job),
            progress=_progress_writer(job),
        )
    except Exception as e:
        return _fail(job, e)
    _finish(job, report, ImportStatus.PREVIEWED, "preview")
    return job


def import_job_run(*, job: ImportJob) -> ImportJob:
    job.status = ImportStatus.RUNNING
    job.processed_rows = 0
    job.started_at = timezone.now()
    job.save(update_fields=["status", "processed_rows", "started_at"])
    progress_file(job).unlink(missing_ok=True)
    try:
        report = ledger_import(
            actor=job.created_by,
            path=Path(job.stored_path),
            into=job.place,
            file_name=job.file_name,
            partial=job.partial,
            scope_paths=_scope_paths(job),
            progress=_progress_writer(job),
        )
    except Exception as e:
        return _fail(job, e)
    _finish(job, report, ImportStatus.DONE, "report")
    progress_file(job).unlink(missing_ok=True)
    return job


def _fail(job: ImportJob, error: Exception) -> ImportJob:
    from .reader import LedgerFileError

    job.status = ImportStatus.FAILED
    job.error = str(error) if isinstance(error, LedgerFileError) else f"{type(error).__name__}: {error}"[:2000]
    job.finished_at = timezone.now()
    job.save()
    progress_file(job).unlink(missing_ok=True)
    if not isinstance(error, LedgerFileError):
        raise error
    return job
