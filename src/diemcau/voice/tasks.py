"""Background jobs of the voice app: opinion groups, proposed topics (analysis.py), answer e-mails (answers.py)."""

from . import analysis, answers  # noqa: F401  (registers the job handlers)
