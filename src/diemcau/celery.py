"""The Celery application: background jobs run by workers (``celery -A diemcau worker``).

Its configuration is Django's settings under the ``CELERY_`` namespace (``settings.py``, "Background
tasks"); each app's ``tasks.py`` is discovered. The job machinery itself is ``core/tasks.py``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diemcau.settings")

app = Celery("diemcau")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
