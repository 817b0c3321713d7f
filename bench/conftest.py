"""bench/media_sip.py's scenario runs under pytest with the tests' fixtures (database, the live world,
the system scope): pytest reads this file only for what it collects under bench/."""

from tests.conftest import *  # noqa: F403
from tests.live.conftest import *  # noqa: F403
