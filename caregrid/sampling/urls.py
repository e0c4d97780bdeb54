"""URLs of the testing-round pages."""

from django.urls import path

from . import views

app_name = "sampling"
urlpatterns = [
    path("", views.round_list, name="rounds"),
    path("new/", views.round_new, name="round_new"),
    path("<int:pk>/", views.round_detail, name="round"),
    path("<int:pk>/close/", views.round_status, {"status": "close"}, name="round_close"),
    path("<int:pk>/reopen/", views.round_status, {"status": "reopen"}, name="round_reopen"),
    path("<int:pk>/record/", views.record_new, name="record"),
    path("<int:pk>/records/", views.record_list, name="records"),
    path("<int:pk>/records/<int:record_pk>/result/", views.record_result, name="record_result"),
    path("<int:pk>/records/<int:record_pk>/resample/", views.record_resample, name="record_resample"),
    path("<int:pk>/import/", views.import_upload, name="import"),
    path("<int:pk>/import/<slug:token>/", views.import_batch, name="import_batch"),
    path("<int:pk>/import/<slug:token>/confirm/", views.import_confirm, name="import_confirm"),
    path("<int:pk>/home/", views.home, name="home"),
    path("<int:pk>/home/add/", views.home_add, name="home_add"),
    path("<int:pk>/home/<int:request_pk>/cancel/", views.home_cancel, name="home_cancel"),
    path("<int:pk>/home/<int:request_pk>/sampled/", views.home_sampled, name="home_sampled"),
    path("<int:pk>/route/", views.route, name="route"),
    path("<int:pk>/missing/", views.missing, name="missing"),
    path("<int:pk>/missing/notice/", views.group_notice, name="group_notice"),
    path("<int:pk>/missing/<int:resident_pk>/", views.outreach, name="outreach"),
    path("<int:pk>/export/records/", views.export_records, name="export_records"),
    path("<int:pk>/export/missing/", views.export_missing, name="export_missing"),
]
