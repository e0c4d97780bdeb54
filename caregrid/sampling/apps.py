from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SamplingConfig(AppConfig):
    name = "caregrid.sampling"
    verbose_name = _("核酸检测轮次")
