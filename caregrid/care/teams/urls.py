from django.urls import path

from . import views

app_name = "care_teams"
urlpatterns = [
    path("", views.team, name="team"),
    path("gaps/", views.gaps, name="gaps"),
    path("templates/<slug:code>/", views.template_apply, name="template"),
    path("residents/<int:pk>/", views.resident_panel, name="resident_panel"),
    path("residents/<int:pk>/assign/", views.assign, name="assign"),
    path("assignments/<int:pk>/handover/", views.handover, name="handover"),
    path("assignments/<int:pk>/end/", views.end, name="end"),
]
