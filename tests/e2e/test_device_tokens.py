"""A device token in a real browser: the organiser issues one on the point's page (shown once), a
scanner with no session checks in with it, the roll-call screen keeps it and syncs its queue with it
(no cookie, no CSRF token); the organiser revokes it: the scanner is refused at once and the roll call
forgets it and goes back to the sign-in."""

import hashlib
import uuid

from playwright.sync_api import expect

from diemcau.attendance.models import CheckIn
from diemcau.points.models import DeviceToken
from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.points.conftest import bavi_institutions, planning  # noqa: F401

from .conftest import login, shot


def test_issue_use_and_revoke_a_scanners_token(page, browser, world, organiser_bavi):  # noqa: F811
    point = world["bavi_point"]
    login(page, "bavi")
    page.goto(f"{page.base_url}/points/{point.pk}/")
    page.fill("#device-name", "Máy quét cửa chính")
    page.get_by_role("button", name="Cấp mã thiết bị").click()
    secret_box = page.locator("[data-device-secret]")
    expect(secret_box).to_be_visible()
    secret = secret_box.get_attribute("data-device-secret")
    token = DeviceToken.objects.get(point=point)
    assert hashlib.sha256(secret.encode()).hexdigest() == token.token_hash
    shot(page, "points-device-token-issued-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "points-device-token-issued-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # The scanner: its own browser context, no cookie, no CSRF token; only the bearer token.
    scanner = browser.new_context()
    body = {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk, "point_id": point.pk,
            "person_id": world["people"]["a_t1"].pk, "method": "roll_call"}
    auth = {"Authorization": f"Bearer {secret}"}
    reply = scanner.request.post(page.base_url + "/api/attendance/checkins/", data=body, headers=auth)
    assert reply.status == 200 and reply.json()["created"] is True

    # The roll-call screen of this point keeps the token and syncs with it, without the session.
    sent = []
    page.on("request", lambda r: sent.append(r.headers) if r.url.endswith("/checkins/batch/") else None)
    page.goto(f"{page.base_url}/attendance/sessions/{world['session'].pk}/points/{point.pk}/roll-call/")
    page.wait_for_selector("#rollcall[data-ready='1']")
    page.locator("#device-token summary").click()
    page.fill("#device-token-input", secret)
    page.get_by_role("button", name="Lưu trên thiết bị này").click()
    expect(page.locator("#device-token-state")).to_contain_text("mã thiết bị của mình")
    page.fill("#q", "le thi cuc")
    page.locator("#people-rows tr").first.locator("button.js-checkin").click()
    expect(page.locator("#sync-state")).to_contain_text("đồng bộ")
    page.wait_for_function("() => document.querySelector('#people-rows .tag.ok')")
    # (The script sends it with credentials "omit": no cookie goes with it.)
    assert sent and all(h.get("authorization") == f"Bearer {secret}" and "x-csrftoken" not in h for h in sent)
    shot(page, "attendance-rollcall-device-token-desktop")

    # Reloaded, the point's page lists the token by its prefix only; the organiser revokes it.
    page.goto(f"{page.base_url}/points/{point.pk}/")
    assert secret not in page.content()
    row = page.locator("#devices tbody tr", has_text="Máy quét cửa chính")
    expect(row).to_contain_text(token.prefix)
    row.get_by_role("button", name="Thu hồi").click()
    expect(page.locator("#devices tbody tr", has_text="Máy quét cửa chính")).to_contain_text("đã thu hồi")
    shot(page, "points-device-token-revoked-desktop")
    body["client_id"], body["person_id"] = str(uuid.uuid4()), world["people"]["a_t2"].pk
    refused = scanner.request.post(page.base_url + "/api/attendance/checkins/", data=body, headers=auth)
    assert refused.status == 401 and refused.json()["code"] == "device_token_refused"
    assert CheckIn.objects.count() == 2
    # The roll call forgets the refused token and sends with the organiser's sign-in.
    sent.clear()
    page.goto(f"{page.base_url}/attendance/sessions/{world['session'].pk}/points/{point.pk}/roll-call/")
    page.wait_for_selector("#rollcall[data-ready='1']")
    page.fill("#q", "pham duc dung")
    page.locator("#people-rows tr").first.locator("button.js-checkin").click()
    page.wait_for_function(f"() => !localStorage.getItem('diemcau.device-token.{point.pk}')")
    expect(page.locator("#people-rows .tag.ok")).to_have_count(1)
    assert CheckIn.objects.count() == 3 and "authorization" not in sent[-1]
    scanner.close()

    # Rotation on the page: a new secret shown once, the old token marked as ending (still works a while).
    page.goto(f"{page.base_url}/points/{point.pk}/")
    page.fill("#device-name", "Màn hình điểm cầu")
    page.get_by_role("button", name="Cấp mã thiết bị").click()
    old_secret = page.locator("[data-device-secret]").get_attribute("data-device-secret")
    page.goto(f"{page.base_url}/points/{point.pk}/")
    page.locator("#devices tbody tr", has_text="Màn hình điểm cầu").get_by_role("button", name="Đổi mã").click()
    new_secret = page.locator("[data-device-secret]").get_attribute("data-device-secret")
    assert new_secret and new_secret != old_secret
    expect(page.locator("#devices tbody tr", has_text="đã thay")).to_contain_text("Màn hình điểm cầu")
    shot(page, "points-device-token-rotated-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#devices").scroll_into_view_if_needed()
    shot(page, "points-device-token-rotated-phone")
    device = browser.new_context()  # the screen itself: the old token still authenticates, mints nothing more
    rotate = page.base_url + "/api/points/devices/rotate"
    again = device.request.post(rotate, headers={"Authorization": f"Bearer {old_secret}"})
    assert again.status == 400 and again.json()["code"] == "already_rotated"
    assert device.request.post(rotate, headers={"Authorization": f"Bearer {new_secret}"}).status == 200
    device.close()
