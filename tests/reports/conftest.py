"""The documents are built from the domain apps' figures: their fixtures are reused here."""

from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.convocations.conftest import convoked, people  # noqa: F401
from tests.points.conftest import bavi_institutions, planning  # noqa: F401
from tests.voice.conftest import approved, conference, moderator, teacher  # noqa: F401
