import importlib

from django.apps import AppConfig, apps


class CoreConfig(AppConfig):
    name = "diemcau.core"
    label = "core"
    verbose_name = "diemcau core"

    def ready(self):
        # Each app's background-job handlers live in its tasks.py and register on import.
        for app in apps.get_app_configs():
            if app.name.startswith("diemcau."):
                try:
                    importlib.import_module(f"{app.name}.tasks")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app.name}.tasks":
                        raise
