from django.urls import path
from django.views.generic import TemplateView

app_name = "places"
urlpatterns = [path("", TemplateView.as_view(template_name="accounts/home.html"), name="tree")]
