from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SiteConfig(AppConfig):
    """The pages a person meets, composed from the domain apps: home, sign-in, password pages, the
    audit log, conference and session pages. Above the domain apps; only urls and demo sit higher."""

    name = "diemcau.site"
    label = "site"
    verbose_name = _("Site")
