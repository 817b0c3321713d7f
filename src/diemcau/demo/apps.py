from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The synthetic scenarios (the seed's district, the nation) and their loaders: above every
    product app, imported by none (import-linter's "no-demo" contract)."""

    name = "diemcau.demo"
    label = "demo"
    verbose_name = _("Demo data")
