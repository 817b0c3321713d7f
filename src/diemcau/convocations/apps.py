from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConvocationsConfig(AppConfig):
    name = "diemcau.convocations"
    label = "convocations"
    verbose_name = _("Convocations")
