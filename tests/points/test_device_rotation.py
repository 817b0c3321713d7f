"""Device tokens rotate: a new token issued, the old one kept for a short overlap, then refused.

By the organiser on the point's page and by the device itself through the API, before its token
expires; audited (``points.device_token_rotated``); never a way to mint tokens from an old one.
"""

import pytest
from django.utils import timezone

from diemcau.core.models import AuditEntry
from diemcau.orgs import services as orgs
from diemcau.orgs.models import RoleAssignment
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import devices
from diemcau.points.models import DeviceToken
from tests.attendance.conftest import world  # noqa: F401  (fixture reused)

pytestmark = pytest.mark.smoke

ROTATE = "/api/points/devices/rotate"


def _rotate(client, secret):
    return client.post(ROTATE, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def issued(world, organiser_bavi):  # noqa: F811
    return devices.issue(organiser_bavi, world["bavi_point"], "Màn hình điểm cầu")


def test_the_device_rotates_its_own_token_and_the_old_one_ends_after_the_overlap(client, issued, settings):
    old, old_secret = issued
    reply = _rotate(client, old_secret)
    assert reply.status_code == 200, reply.content
    body = reply.json()
    new_secret = body["token"]
    assert new_secret.startswith("dc1_") and new_secret != old_secret
    assert devices.authenticate(new_secret).point_id == old.point_id
    # The old token still works for the overlap (the device switches), then no more.
    old.refresh_from_db()
    overlap = settings.DEVICE_TOKEN_OVERLAP_MINUTES * 60
    assert devices.authenticate(old_secret) is not None
    assert 0 < (old.expires_at - timezone.now()).total_seconds() <= overlap
    assert body["old_expires_at"] == old.expires_at.isoformat()
    # An old token mints nothing more: a thief holding it cannot keep a device alive.
    again = _rotate(client, old_secret)
    assert again.status_code == 400 and again.json()["code"] == "already_rotated"
    # The new one rotates in turn; with no overlap the previous one is refused at once.
    settings.DEVICE_TOKEN_OVERLAP_MINUTES = 0
    third = _rotate(client, new_secret)
    assert third.status_code == 200
    assert _rotate(client, new_secret).status_code == 401
    entries = AuditEntry.objects.filter(action="points.device_token_rotated").order_by("pk")
    assert [e.after["by"] for e in entries] == ["device", "device"]
    assert entries[0].after["prefix"] == old.prefix and "token" not in entries[0].after
    assert new_secret not in str(list(entries.values()))


def test_only_a_live_token_with_its_issuers_right_rotates(client, issued, organiser_bavi):
    old, old_secret = issued
    assert client.post(ROTATE, content_type="application/json").status_code == 401  # no token
    client.force_login(organiser_bavi)  # a session is not a device
    assert client.post(ROTATE, content_type="application/json").status_code == 401
    client.logout()
    for role in RoleAssignment.objects.filter(user=organiser_bavi):
        orgs.revoke_role(SYSTEM, role)
    assert _rotate(client, old_secret).status_code == 404  # the right that issued it went
    DeviceToken.objects.filter(pk=old.pk).update(expires_at=timezone.now())
    assert _rotate(client, old_secret).status_code == 401  # expired: too late to rotate
    assert DeviceToken.objects.count() == 1


def test_the_organiser_rotates_on_the_points_page(client, world, issued, organiser_bavi):  # noqa: F811
    old, old_secret = issued
    url = f"/points/{world['bavi_point'].pk}/devices/{old.pk}/rotate/"
    client.force_login(organiser_bavi)
    page = client.post(url)
    assert page.status_code == 200
    new = DeviceToken.objects.exclude(pk=old.pk).get()
    secret = page.context["new_device"][1]
    assert secret in page.content.decode() and devices.authenticate(secret).pk == new.pk
    assert devices.authenticate(old_secret) is not None  # the overlap
    assert AuditEntry.objects.get(action="points.device_token_rotated").after["by"] == "organiser"
    assert client.post(url).status_code == 302  # rotated already: said on the page, nothing issued
    assert DeviceToken.objects.count() == 2
