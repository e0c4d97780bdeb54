"""Background jobs of the upload page (run by `caregrid worker`): thin, they load the job and act."""

from django_tasks import task

from caregrid.people.models import ImportJob, ImportStatus

from .actions import import_job_preview, import_job_run


@task()
def preview_import(job_id: int) -> str:
    job = ImportJob.objects.select_related("created_by", "place").get(pk=job_id)
    if job.status != ImportStatus.PREVIEWING:
        return job.status  # already done: retrying is harmless
    return import_job_preview(job=job).status


@task()
def run_import(job_id: int) -> str:
    job = ImportJob.objects.select_related("created_by", "place").get(pk=job_id)
    if job.status != ImportStatus.QUEUED:
        return job.status
    return import_job_run(job=job).status
