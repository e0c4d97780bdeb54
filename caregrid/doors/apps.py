from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DoorsConfig(AppConfig):
    name = "caregrid.doors"
    verbose_name = _("敲门行动")
