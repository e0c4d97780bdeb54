from django.urls import path
from django.views.generic import TemplateView

app_name = "ledger"
urlpatterns = [path("import/", TemplateView.as_view(template_name="accounts/home.html"), name="import")]
