"""Settings for the test suite: the same as production's, with jobs inline and a fast hasher."""

import os

os.environ.setdefault("DIEMCAU_JOBS", "eager")
os.environ.setdefault("DIEMCAU_FAST_HASHER", "1")

from .settings import *  # noqa: F403
