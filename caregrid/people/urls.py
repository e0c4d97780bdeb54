from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("", views.resident_list, name="list"),
    path("count/", views.resident_count, name="count"),
    path("new/", views.resident_new, name="new"),
    path("validate/", views.validate_field, name="validate"),
    path("households/", views.household_picker, name="household_picker"),
    path("categories/", views.categories, name="categories"),
    path("<int:pk>/", views.resident_detail, name="detail"),
    path("<int:pk>/unmask/", views.resident_unmask, name="unmask"),
    path("<int:pk>/edit/", views.resident_edit, name="edit"),
]
