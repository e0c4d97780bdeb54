from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "caregrid.care"
    label = "care"
    verbose_name = _("关爱走访")

    def ready(self):
        from . import receivers  # noqa: F401
