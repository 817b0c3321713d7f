"""Trust item 13: check-ins only inside the session's window; a device's scan time is clamped and flagged.

The window is [start − DIEMCAU_CHECKIN_MARGIN_BEFORE_MINUTES, end + DIEMCAU_CHECKIN_MARGIN_AFTER_MINUTES]
(120 and 60 by default), judged on the server's clock. A scan time sent by a device is kept only when
it lies in [now − CHECKIN_SCAN_MAX_AGE_MINUTES, now] and inside the window; otherwise the row gets the
server's time, ``scan_time_clamped`` and the time the device claimed.
"""

import datetime
import uuid

import pytest
from django.utils import timezone

from diemcau.attendance import checkin, headcounts
from diemcau.attendance.models import CheckIn
from diemcau.core.errors import DomainError
from diemcau.events.models import Session
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke

H = datetime.timedelta(hours=1)
M = datetime.timedelta(minutes=1)


def window(world, start, end):
    """Put the morning session at ``start``–``end`` relative to now."""
    now = timezone.now()
    Session.objects.filter(pk=world["session"].pk).update(starts_at=now + start, ends_at=now + end)
    world["session"].refresh_from_db()
    return world["session"]


def roll_call(world, person_key="a_t1", **kw):
    return checkin.check_in(SYSTEM, session=world["session"], point=world["bavi_point"],
                            person=world["people"][person_key], method=CheckIn.Method.ROLL_CALL,
                            client_id=uuid.uuid4(), **kw)


@pytest.mark.parametrize("start, end", [
    (24 * H, 27 * H),            # a day before the session
    (-7 * 24 * H, -7 * 24 * H + 3 * H),  # a week after it
    (121 * M, 5 * H),            # just over the 120 minutes' margin before the start
    (-5 * H, -61 * M),           # just over the 60 minutes' margin after the end
])
def test_a_check_in_outside_the_window_is_refused(world, start, end):
    window(world, start, end)
    with pytest.raises(DomainError) as err:
        roll_call(world)
    assert err.value.code == "outside_session_window"
    assert "phiên" in err.value.message.lower() or "session" in err.value.message.lower()
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize("start, end", [(119 * M, 4 * H), (-H, 2 * H), (-4 * H, -59 * M)])
def test_inside_the_window_and_its_margins_is_accepted(world, start, end):
    window(world, start, end)
    assert roll_call(world).created


def test_the_margins_are_settings(world, settings):
    window(world, 90 * M, 4 * H)
    settings.CHECKIN_MARGIN_BEFORE_MINUTES = 60
    with pytest.raises(DomainError) as err:
        roll_call(world)
    assert err.value.code == "outside_session_window"
    settings.CHECKIN_MARGIN_BEFORE_MINUTES = 120
    assert roll_call(world).created


def test_a_headcount_outside_the_window_is_refused(world):
    window(world, 24 * H, 27 * H)
    with pytest.raises(DomainError) as err:
        headcounts.record_headcount(SYSTEM, session=world["session"], point=world["bavi_point"],
                                    counts_by_category={"teacher": 3}, client_id=uuid.uuid4())
    assert err.value.code == "outside_session_window"


@pytest.mark.parametrize("claimed", [
    datetime.datetime(2001, 1, 1, 8, 0, tzinfo=datetime.UTC),  # a device's clock reset
    "two_hours_before_start",  # inside the scan age, before the window opens
    "in_an_hour",              # the future
])
def test_an_untrustworthy_scan_time_is_clamped_and_flagged(world, claimed):
    session = window(world, -30 * M, 3 * H)
    if claimed == "two_hours_before_start":
        claimed = session.starts_at - 150 * M
    elif claimed == "in_an_hour":
        claimed = timezone.now() + H
    before = timezone.now()
    row = roll_call(world, scanned_at=claimed).checkin
    row.refresh_from_db()
    assert before <= row.scanned_at <= timezone.now()
    assert row.scan_time_clamped and row.claimed_scanned_at == claimed


def test_a_plausible_scan_time_is_kept(world):
    window(world, -H, 2 * H)
    claimed = timezone.now() - 20 * M
    row = roll_call(world, scanned_at=claimed).checkin
    row.refresh_from_db()
    assert row.scanned_at == claimed and not row.scan_time_clamped and row.claimed_scanned_at is None


def test_an_offline_batch_with_a_2001_clock_is_clamped_through_the_api(client, world, organiser_bavi):
    window(world, -H, 2 * H)
    client.force_login(organiser_bavi)
    p = world["people"]
    items = [{"client_id": str(uuid.uuid4()), "session_id": world["session"].pk, "point_id": world["bavi_point"].pk,
              "person_id": p[k].pk, "method": "roll_call", "scanned_at": "2001-09-09T08:00:00+07:00"}
             for k in ("a_t1", "a_t2")]
    response = client.post("/api/attendance/checkins/batch/", {"items": items}, content_type="application/json")
    assert response.status_code == 200
    rows = list(CheckIn.objects.all())
    assert len(rows) == 2 and all(r.scan_time_clamped and r.scanned_at.year >= 2026 for r in rows)
    assert all(r.claimed_scanned_at.year == 2001 for r in rows)


def test_the_api_refuses_outside_the_window_with_its_code(client, world, organiser_bavi):
    window(world, 24 * H, 27 * H)
    client.force_login(organiser_bavi)
    item = {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk, "point_id": world["bavi_point"].pk,
            "person_id": world["people"]["a_t1"].pk, "method": "roll_call"}
    response = client.post("/api/attendance/checkins/", item, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "outside_session_window"
