from django.urls import path

from . import views

app_name = "care_contacts"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("contacts/", views.contact_create, name="create"),
    path("residents/<int:pk>/phone/", views.resident_phone, name="phone"),
]
