from django.contrib.auth import views as auth_views
from django.urls import path

from caregrid.places import views as place_views

from . import views

urlpatterns = [
    path("", place_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("audit/", views.audit_log, name="audit"),
]
