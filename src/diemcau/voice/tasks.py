"""Background jobs of the voice app: opinion groups and proposed topics (see analysis.py)."""

from . import analysis  # noqa: F401  (registers the job handlers)
