"""The seed's conference in the demo: Ba Vì's 14 points from the planner, everyone assigned, idempotent."""

import pytest

from diemcau.core.models import AuditEntry
from diemcau.demo import events as demo
from diemcau.demo import org_tree
from diemcau.demo import orgs as orgs_demo
from diemcau.events import services as events
from diemcau.orgs.models import Unit
from diemcau.points.models import Assignment, BridgePoint

pytestmark = pytest.mark.slow


@pytest.mark.django_db
def test_demo_conference(django_capture_on_commit_callbacks):
    orgs_demo.load(accounts=False)
    report = demo.load()
    assert not report.skipped
    assert report.bavi_points == demo.BA_VI_POINTS
    assert report.bavi_people == 4890 <= report.bavi_seats
    conference = demo.loaded()
    morning, afternoon = conference.sessions.order_by("starts_at")
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    invited = events.invited_institutions(morning, within=bavi)
    assert invited.count() == report.bavi_institutions >= 100
    assert not invited.exclude(point_assignments__session=morning).exists()  # every Ba Vì school has a point
    assert Assignment.objects.filter(session=morning, institution__in=invited, method="planner").count() \
        == invited.count()
    # The relay tree: ministry → Hà Nội → Ba Vì's office → the schools' points.
    office_point = BridgePoint.objects.get(conference=conference, hall__unit=bavi)
    assert office_point.relay_parent.relay_parent.is_host
    assert BridgePoint.objects.filter(relay_parent=office_point).count() == demo.BA_VI_POINTS - 1
    # Everyone invited anywhere has a point, in both sessions.
    for session in (morning, afternoon):
        assert not events.invited_institutions(session).exclude(point_assignments__session=session).exists()
    for point in BridgePoint.objects.filter(conference=conference):
        assert sum(a.seats for a in point.assignments.all()) <= point.capacity
    # Running it again is a no-op.
    entries = AuditEntry.objects.count()
    again = demo.load()
    assert again.skipped and AuditEntry.objects.count() == entries
    assert (again.travel_person_km, again.bavi_seats) == (report.travel_person_km, report.bavi_seats)
