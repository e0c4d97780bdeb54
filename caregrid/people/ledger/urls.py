"""Ledger files in and out: the upload page and its jobs, and the export download."""

from django.urls import path

from . import views

app_name = "ledger"
urlpatterns = [
    path("import/", views.import_start, name="import"),
    path("import/jobs/<int:pk>/", views.job_detail, name="job"),
    path("import/jobs/<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("import/jobs/<int:pk>/confirm/", views.job_confirm, name="job_confirm"),
    path("export/", views.export, name="export"),
]
