from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Official documents (văn bản hành chính): print, PDF and .xlsx built the same way everywhere."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "diemcau.reports"
    verbose_name = "Reports"
