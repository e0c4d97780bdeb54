"""URLs of the door-knocking pages."""

from django.urls import path

from . import views

app_name = "doors"
urlpatterns = [
    path("", views.round_list, name="list"),
    path("new/", views.round_new, name="new"),
    path("<int:pk>/", views.round_detail, name="round"),
    path("<int:pk>/close/", views.round_close_view, name="close"),
    path("<int:pk>/todo/", views.households_todo, name="todo"),
    path("<int:pk>/households/<int:household_pk>/", views.household, name="household"),
    path("<int:pk>/sheet/", views.sheet, name="sheet"),
    path("<int:pk>/export/", views.export, name="export"),
]
