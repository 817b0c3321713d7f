"""The documents are built from the domain apps' figures: their fixtures are reused here."""

import pytest

from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.convocations.conftest import convoked, people  # noqa: F401
from tests.points.conftest import bavi_institutions, planning  # noqa: F401
from tests.voice.conftest import approved, conference, moderator, teacher  # noqa: F401


@pytest.fixture
def read_summary(django_capture_on_commit_callbacks):
    """Get a summary document as a reader does once its stored figures exist: the first visit queues
    their computation (run here at commit), then the document reads them."""
    def get(client, url):
        with django_capture_on_commit_callbacks(execute=True):
            first = client.get(url)
        return client.get(url) if first.status_code == 202 else first
    return get
