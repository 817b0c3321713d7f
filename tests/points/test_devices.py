"""Device tokens: one point, hashed, expiring, revocable, audited; never an organiser's key.

The security tests first (a token for point A at point B, a revoked or expired token, the organiser
routes), then who may issue (roles × points), then the point's page.
"""

import datetime
import hashlib
import uuid

import pytest
from django.utils import timezone

from diemcau.attendance.models import CheckIn
from diemcau.core.models import AuditEntry
from diemcau.orgs import services as orgs
from diemcau.orgs.models import RoleAssignment
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import devices
from diemcau.points.models import DeviceToken
from tests.attendance.conftest import world  # noqa: F401  (fixture reused)
from tests.points.test_access import POINTS, actors, halls  # noqa: F401  (fixtures reused)

pytestmark = pytest.mark.smoke


def item(world, person, point=None):  # noqa: F811
    return {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk,
            "point_id": (point or world["bavi_point"]).pk, "person_id": person.pk, "method": "roll_call"}


def post(client, url, data, secret):
    return client.post(url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def issued(world, organiser_bavi):  # noqa: F811
    """A token of Ba Vì's office point, issued by Ba Vì's organiser (who also runs THPT Ba Vì's point)."""
    token, secret = devices.issue(organiser_bavi, world["bavi_point"], "Máy quét cửa chính")
    return token, secret


def test_a_token_checks_in_at_its_own_point_and_nowhere_else(client, world, issued):  # noqa: F811
    _token, secret = issued
    p = world["people"]
    ok = post(client, "/api/attendance/checkins/", item(world, p["a_t1"]), secret)
    assert ok.status_code == 200 and ok.json()["created"] is True
    # The issuer may run THPT Ba Vì's point; the token may not.
    other = post(client, "/api/attendance/checkins/", item(world, p["thpt_t1"], world["thpt_point"]), secret)
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    mixed = {"items": [item(world, p["a_t2"]), item(world, p["thpt_t1"], world["thpt_point"])]}
    assert post(client, "/api/attendance/checkins/batch/", mixed, secret).status_code == 404
    headcount = {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk,
                 "point_id": world["thpt_point"].pk, "counts": {"teacher": 3}}
    assert post(client, "/api/attendance/headcounts/", headcount, secret).status_code == 404
    batch = post(client, "/api/attendance/checkins/batch/", {"items": [item(world, p["a_t2"])]}, secret)
    assert batch.status_code == 200
    assert set(CheckIn.objects.values_list("point_id", flat=True)) == {world["bavi_point"].pk}
    # The check-in is recorded by the issuer, and no session was made for the device.
    assert set(CheckIn.objects.values_list("recorded_by__username", flat=True)) == {"bavi"}
    assert "sessionid" not in ok.cookies and "sessionid" not in client.cookies


def test_a_revoked_token_is_refused_at_once_and_both_acts_are_audited(client, world, issued, organiser_bavi):  # noqa: F811
    token, secret = issued
    p = world["people"]
    assert post(client, "/api/attendance/checkins/", item(world, p["a_t1"]), secret).status_code == 200
    devices.revoke(organiser_bavi, token)
    refused = post(client, "/api/attendance/checkins/", item(world, p["a_t2"]), secret)
    assert refused.status_code == 401 and refused.json()["code"] == "device_token_refused"
    assert CheckIn.objects.count() == 1
    actions = list(AuditEntry.objects.filter(object_type="points.devicetoken").values_list("action", flat=True))
    assert sorted(actions) == ["points.device_token_issued", "points.device_token_revoked"]
    # Stored and logged: the hash and an 8-character prefix, never the secret.
    stored = DeviceToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    logged = " ".join(str(e.after) + e.object_repr for e in AuditEntry.objects.all())
    assert secret not in logged and secret[4:] not in logged


def test_an_expired_token_an_unknown_one_and_an_inactive_issuer_are_refused(client, world, issued, organiser_bavi):  # noqa: F811
    token, secret = issued
    body = item(world, world["people"]["a_t1"])
    DeviceToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert post(client, "/api/attendance/checkins/", body, secret).json()["code"] == "device_token_refused"
    DeviceToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + datetime.timedelta(hours=1))
    assert post(client, "/api/attendance/checkins/", body, secret[:-2] + "xx").status_code == 401
    type(organiser_bavi).objects.filter(pk=organiser_bavi.pk).update(is_active=False)
    assert post(client, "/api/attendance/checkins/", body, secret).status_code == 401
    assert CheckIn.objects.count() == 0


def test_a_token_ends_with_the_right_that_issued_it(client, world, issued, organiser_bavi):  # noqa: F811
    _token, secret = issued
    for role in RoleAssignment.objects.filter(user=organiser_bavi):
        orgs.revoke_role(SYSTEM, role)
    response = post(client, "/api/attendance/checkins/", item(world, world["people"]["a_t1"]), secret)
    assert response.status_code in (400, 404) and CheckIn.objects.count() == 0


def test_a_token_cannot_reach_organiser_routes(client, world, issued):  # noqa: F811
    _token, secret = issued
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    for url in ("/api/orgs/units/", f"/api/orgs/units/{world['t']['bavi'].pk}/",
                f"/api/attendance/sessions/{world['session'].pk}/rollup/{world['t']['bavi'].pk}/"):
        response = client.get(url, **auth)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated", url
    opinion = client.post(f"/api/voice/conferences/{world['conference'].pk}/opinions/", {"text": "x"},
                          content_type="application/json", **auth)
    assert opinion.status_code in (401, 404)
    # Nor the pages: the token is read on the API only.
    assert client.get(f"/points/{world['bavi_point'].pk}/", **auth).status_code == 302


ISSUERS = {
    "system": set(),  # a token acts for a person, whose right is checked at each use
    "anonymous": set(),
    "national organiser": set(POINTS),
    "Ba Vì organiser": {"office", "school"},
    "Hà Nội organiser": {"office", "school", "hanoi"},
    # Operators run the kiosk; an organiser of the point's unit gives the kiosk its token.
    "operator of the school's point": set(),
    "operator named for Ba Vì's office": set(),
    "director": set(),
    "analyst": set(),
    "moderator of Ba Vì": set(),
    "principal of THPT Ba Vì": set(),
    "teacher of THPT Ba Vì": set(),
}


def test_who_may_issue_and_revoke_a_points_token(actors, halls):  # noqa: F811
    """The table of roles × points, in one world (one fixture build for every role)."""
    national = actors["national organiser"]
    for role, expected in ISSUERS.items():
        actor, allowed = actors[role], set()
        for name in POINTS:
            existing, _secret = devices.issue(national, halls[name], "Máy quét")
            try:
                devices.issue(actor, halls[name], "Kiosk hội trường")
            except devices.ScopeError:
                with pytest.raises(devices.ScopeError):
                    devices.revoke(actor, existing)
                continue
            devices.revoke(actor, existing)
            allowed.add(name)
        assert allowed == expected, role


def test_the_points_page_issues_shows_once_and_revokes(client, world, organiser_bavi):  # noqa: F811
    client.force_login(organiser_bavi)
    point = world["bavi_point"]
    page = client.post(f"/points/{point.pk}/devices/", {"name": "Kiosk hội trường"}, follow=True)
    assert page.status_code == 200
    token = DeviceToken.objects.get(point=point)
    text = page.content.decode()
    secret = text.split('data-device-secret="')[1].split('"')[0]
    assert hashlib.sha256(secret.encode()).hexdigest() == token.token_hash
    again = client.get(f"/points/{point.pk}/").content.decode()
    assert secret not in again and token.prefix in again
    client.post(f"/points/{point.pk}/devices/{token.pk}/revoke/")
    assert DeviceToken.objects.get(pk=token.pk).revoked_at is not None
    client.logout()
    body = item(world, world["people"]["a_t1"])
    assert post(client, "/api/attendance/checkins/", body, secret).status_code == 401
