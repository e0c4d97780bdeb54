from django.urls import path

from . import views

app_name = "care_proof"
urlpatterns = [
    path("", views.day_view, name="day"),
    path("export/", views.export_view, name="export"),
]
