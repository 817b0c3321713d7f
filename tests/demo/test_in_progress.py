"""The demo's conference under way: check-ins at each point and a floor request waiting, once."""

import pytest

from diemcau.attendance.models import CheckIn
from diemcau.demo import in_progress
from diemcau.live.models import FloorRequest
from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.points.conftest import bavi_institutions, planning  # noqa: F401


@pytest.mark.django_db
def test_the_demo_shows_a_conference_in_progress(world):  # noqa: F811
    first = in_progress.start(world["session"])
    assert first.checkins > 0 and CheckIn.objects.filter(session=world["session"]).count() == first.checkins
    assert first.floor_request and FloorRequest.objects.filter(state__in=FloorRequest.OPEN).count() == 1
    again = in_progress.start(world["session"])  # a second `make demo`: nothing new
    assert again.checkins == 0 and not again.floor_request
    assert FloorRequest.objects.filter(state__in=FloorRequest.OPEN).count() == 1
