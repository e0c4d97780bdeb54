from django.urls import path

from . import views

app_name = "cases_stats"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/", views.export, name="export"),
]
