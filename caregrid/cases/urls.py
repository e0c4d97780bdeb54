from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.intake, name="new"),
    path("new/caller/", views.intake_caller, name="intake_caller"),
    path("new/suggest/", views.intake_suggest, name="intake_suggest"),
    path("tasks/", views.tasks_mine, name="tasks"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("settings/", views.deadline_settings, name="settings"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/tasks/", views.task_new, name="task_new"),
    path("<int:pk>/unmask/", views.unmask, name="unmask"),
    path("<int:pk>/<slug:action>/", views.act, name="act"),
]
