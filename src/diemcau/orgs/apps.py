from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "diemcau.orgs"
    label = "orgs"
    verbose_name = _("Organisation")

    def ready(self):
        from . import signals  # noqa: F401  (login failure and lockout bookkeeping)
