"""Background jobs of the voice app: opinion groups, proposed topics (analysis.py), answer e-mails
(answers.py), the stored summary and groups recomputed as items and votes arrive (stored.py)."""

from . import analysis, answers, stored  # noqa: F401  (registers the job handlers)
