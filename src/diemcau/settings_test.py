"""Settings for the test suite: the same as production's, with jobs inline and a fast hasher.

Jobs run inline (``CELERY_TASK_ALWAYS_EAGER``); the tests that need a real worker use the
``celery_worker`` fixture (``tests/conftest.py``), which starts one with ``CELERY_TASK_ALWAYS_EAGER=0``.
"""

import os

os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("DIEMCAU_FAST_HASHER", "1")

from .settings import *  # noqa: F403
