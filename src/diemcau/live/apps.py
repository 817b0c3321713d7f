from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "diemcau.live"
    label = "live"
    verbose_name = _("Live conference")

    def ready(self):
        # signals: token revocation on sign-out, role change, deactivation
        from . import media_hosts, signals  # noqa: F401

        media_hosts.connect()  # pages may connect to the nodes' websockets (the CSP)
