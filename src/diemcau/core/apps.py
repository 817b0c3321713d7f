import importlib
from pathlib import Path

from django.apps import AppConfig, apps
from django.conf import settings

from diemcau import paths


class CoreConfig(AppConfig):
    name = "diemcau.core"
    label = "core"
    verbose_name = "diemcau core"

    def ready(self):
        from django.db.backends.signals import connection_created

        from .vntext import register_sqlite_collation

        prepare_var_dir()
        # SQLite orders lists as PostgreSQL's ICU "vi" collation does (core/vntext.py).
        connection_created.connect(register_sqlite_collation, dispatch_uid="diemcau-vi-collation")
        from . import metrics

        metrics.connect_task_signals()  # Celery's task runs, failures and durations, in any worker
        from . import ws_auth

        ws_auth.connect_signals()  # a sign-out or a deactivation closes the person's websockets
        # Each app's background-job handlers live in its tasks.py and register on import.
        for app in apps.get_app_configs():
            if app.name.startswith("diemcau."):
                try:
                    importlib.import_module(f"{app.name}.tasks")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app.name}.tasks":
                        raise


def prepare_var_dir() -> None:
    """At start-up, not at the import of settings: var/ and its files private, STATIC_ROOT present.

    STATIC_ROOT must exist before WhiteNoise starts (it warns of a missing folder); the SQLite file
    is made private only when it is a file (not an in-memory or URI database).
    """
    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    sqlite = None
    if database["ENGINE"].endswith("sqlite3") and name and not name.startswith((":memory:", "file:")):
        sqlite = Path(name)
    paths.make_private(Path(settings.VAR_DIR), sqlite)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
