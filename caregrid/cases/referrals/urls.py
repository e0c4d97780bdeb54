"""12345 referral batches: upload and check, the batch page, confirm."""

from django.urls import path

from . import views

app_name = "cases_referrals"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("<slug:token>/", views.batch, name="batch"),
    path("<slug:token>/confirm/", views.confirm, name="confirm"),
]
