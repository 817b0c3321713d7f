"""What a test needs from the machine: skipped on a developer's machine without it, a failure in CI.

CI (`.ci/run`, which sets ``CI``) installs PostgreSQL, Redis, Janus, Chromium and ffmpeg, so a test
that lacks one there has found a broken environment, not a reason to pass quietly.
"""

import os

import pytest


def missing(reason: str):
    """Stop the current test because the machine lacks something: fail in CI, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it)", pytrace=False)
    pytest.skip(reason)
