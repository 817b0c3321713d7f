from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "diemcau.live"
    label = "live"
    verbose_name = _("Live conference")

    def ready(self):
        from . import signals  # noqa: F401  (the voice on-air relay; token revocation on sign-out, role, deactivation)
