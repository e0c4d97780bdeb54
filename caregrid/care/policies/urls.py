from django.urls import path

from . import views

app_name = "care_policies"
urlpatterns = [
    path("", views.policy_list, name="list"),
    path("<int:pk>/end/", views.policy_end_view, name="end"),
    path("coverage/", views.coverage_view, name="coverage"),
]
