"""The public help pages under /help/: the form, its thank-you page and the status page."""

from django.urls import path

from . import views

app_name = "cases_public"
urlpatterns = [
    path("", views.help_form, name="form"),
    path("thanks/<str:code>/", views.thanks, name="thanks"),
    path("status/", views.status_lookup, name="status"),
    path("status/<str:code>/", views.status_detail, name="status_detail"),
]
