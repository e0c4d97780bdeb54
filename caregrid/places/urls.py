from django.urls import path

from . import views

app_name = "places"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("<int:pk>/", views.place_detail, name="detail"),
    path("<int:pk>/zone/", views.zone_change, name="zone"),
    path("<int:pk>/leader/", views.leader_change, name="leader"),
    path("mode/", views.mode_switch, name="mode"),
]
