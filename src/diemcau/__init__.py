"""diemcau: nationwide hybrid conferences through bridge points.

The Celery application is loaded with the package, so a job sent from a web process or a command
goes to the configured broker (``diemcau/celery.py``).
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
