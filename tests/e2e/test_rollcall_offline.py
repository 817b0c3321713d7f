"""The roll-call screen offline: five check-ins queue in IndexedDB, sync once when the network returns.

Chromium goes offline with Playwright's ``context.set_offline``; the operator searches without
diacritics and checks five people in; the screen says five wait; back online they sync in order,
exactly once each. A reply lost after the server recorded a check-in is resent without a duplicate,
and reloading the page sends nothing again.
"""

import datetime
import re

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from diemcau.attendance.models import CheckIn
from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.points.conftest import bavi_institutions, planning  # noqa: F401

from .conftest import CHROMIUM, CHROMIUM_ARGS, login, shot

FIVE = [("tran van binh", "a_t1"), ("le thi cuc", "a_t2"), ("pham duc dung", "a_t3"), ("do van em", "a_staff"),
        ("vu thi giang", "b_principal")]


def check_in_by_search(page, query):
    page.fill("#q", query)
    row = page.locator("#people-rows tr").first
    row.locator("button.js-checkin").click()
    row.locator(".tag.warn, .tag.ok").wait_for()


@pytest.fixture
def screen(page, world, organiser_bavi):  # noqa: F811
    login(page, "bavi")
    page.goto(f"{page.base_url}/attendance/sessions/{world['session'].pk}/points/{world['bavi_point'].pk}/roll-call/")
    page.wait_for_selector("#rollcall[data-ready='1']")
    return page


def test_offline_check_ins_queue_then_sync_once(screen, world):  # noqa: F811
    page, people = screen, world["people"]
    page.context.set_offline(True)
    for query, _ in FIVE:
        check_in_by_search(page, query)
    page.fill("#q", "")
    count = page.locator("#sync-count")
    count.wait_for(state="visible")
    assert re.search(r"\b5\b", count.inner_text()) and "đồng bộ" in count.inner_text()
    assert page.locator("#people-rows tr.pending").count() == 5
    assert CheckIn.objects.count() == 0  # nothing left the browser
    shot(page, "rollcall-offline-5-waiting")

    page.context.set_offline(False)
    page.wait_for_selector("#rollcall[data-waiting='0']", timeout=30000)
    assert page.locator("#sync-count").is_hidden()
    assert page.locator("#people-rows tr.pending").count() == 0
    assert page.locator("#people-rows .tag.ok").count() == 5
    expect(page.locator("#rollcall-counts")).to_contain_text("5")  # the htmx counts line reloaded
    shot(page, "rollcall-online-synced")
    rows = list(CheckIn.objects.order_by("id"))
    assert [r.person_id for r in rows] == [people[key].pk for _, key in FIVE]  # each once, in order
    assert {r.method for r in rows} == {"roll_call"} and len({r.client_id for r in rows}) == 5

    # A reload sends nothing again: the queue is empty and the people show as present.
    page.reload()
    page.wait_for_selector("#rollcall[data-ready='1']")
    page.wait_for_selector("#rollcall[data-waiting='0']")
    assert CheckIn.objects.count() == 5


def test_a_lost_reply_is_resent_without_a_duplicate(screen, world):  # noqa: F811
    page, person = screen, world["people"]["b_t1"]
    replies = []

    def lose_first_reply(route):
        if not replies:
            replies.append(route.fetch())  # the server records the check-in...
            route.abort("connectionreset")  # ...and the reply never reaches the kiosk
        else:
            route.continue_()

    page.route("**/api/attendance/checkins/batch/", lose_first_reply)
    check_in_by_search(page, "hoang van hai")
    page.wait_for_selector("#rollcall[data-waiting='0']", timeout=30000)
    assert replies and replies[0].status == 200
    assert CheckIn.objects.filter(person=person).count() == 1 and CheckIn.objects.count() == 1


def test_a_refused_check_in_is_shown_and_dropped(screen, world):  # noqa: F811
    page, person = screen, world["people"]["a_t1"]
    page.context.set_offline(True)
    check_in_by_search(page, "tran van binh")
    # While offline the school is withdrawn from the session: the queued check-in will be refused.
    from diemcau.points.models import Assignment
    Assignment.objects.filter(session=world["session"], institution=person.unit).delete()
    page.context.set_offline(False)
    page.wait_for_selector("#rollcall[data-waiting='0']", timeout=30000)
    alert = page.locator("#sync-refused li").first
    assert person.full_name in alert.inner_text() and "không" in alert.inner_text().lower()
    shot(page, "rollcall-refused")
    assert CheckIn.objects.count() == 0


def _badge_video(path, text):
    """A Y4M clip whose every frame shows ``text`` as a QR code, for Chromium's fake camera."""
    import qrcode

    w, h = 640, 480
    img = qrcode.make(text, box_size=6, border=4).get_image().convert("L")
    frame = Image.new("L", (w, h), 255)
    frame.paste(img, ((w - img.width) // 2, (h - img.height) // 2))
    chroma = bytes([128]) * (w * h // 4)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            f.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)


def test_camera_scans_a_personal_badge(browser, live_server, world, organiser_bavi, tmp_path):  # noqa: F811
    """Chromium's fake camera plays a clip of Hoàng Văn Hải's badge: jsQR reads it, he is checked in."""
    from diemcau.attendance import badges

    person = world["people"]["b_t1"]
    token = badges.make_badge_token(world["session"], world["bavi_point"], person,
                                    expires_at=timezone.now() + datetime.timedelta(hours=1))
    video = tmp_path / "badge.y4m"
    _badge_video(video, token)
    camera = browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                         args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"])
    try:
        context = camera.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
        context.grant_permissions(["camera"])
        page = context.new_page()
        page.base_url = live_server.url
        login(page, "bavi")
        page.goto(f"{page.base_url}/attendance/sessions/{world['session'].pk}/points/"
                  f"{world['bavi_point'].pk}/roll-call/")
        page.wait_for_selector("#rollcall[data-ready='1']")
        page.click("#scan-open")
        expect(page.locator("#scan-log")).to_contain_text(person.full_name, timeout=20000)
        page.wait_for_selector("#rollcall[data-waiting='0']")
        shot(page, "rollcall-camera-scan")
        row = CheckIn.objects.get()
        assert (row.person, row.method) == (person, "qr_scan")
        page.wait_for_timeout(1500)  # the badge stays in front of the camera: still one check-in
        assert CheckIn.objects.count() == 1
    finally:
        camera.close()


def test_phone_self_check_in_from_the_poster(browser, live_server, world, organiser_bavi, make_user):  # noqa: F811
    s = world["session"]
    s.starts_at, s.ends_at = timezone.now(), timezone.now() + datetime.timedelta(hours=2)
    s.save(update_fields=["starts_at", "ends_at"])
    user = make_user("binh")
    person = world["people"]["a_t1"]
    person.user = user
    person.save()
    desk = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = desk.new_page()
    page.base_url = live_server.url
    login(page, "bavi")
    page.goto(f"{page.base_url}/attendance/sessions/{s.pk}/points/{world['bavi_point'].pk}/poster/")
    shot(page, "self-checkin-poster")
    link = page.locator(".poster .link").inner_text().strip()
    desk.close()

    phone = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True)
    p = phone.new_page()
    p.base_url = live_server.url
    p.goto(link)  # not signed in yet: the sign-in page, then back here
    p.fill("#id_username", "binh")
    p.fill("#id_password", "Mat-khau-2023")
    p.click("form.login-form button[type=submit]")
    p.wait_for_url(link)
    expect(p.locator(".selfcheck .me")).to_have_text(person.full_name)
    shot(p, "self-checkin-phone-confirm")
    p.click("button.primary")
    expect(p.locator(".tag.ok")).to_be_visible()
    shot(p, "self-checkin-phone-done")
    phone.close()
    row = CheckIn.objects.get()
    assert (row.person, row.method, row.recorded_by) == (person, "qr_self", user)


def test_the_screen_reloads_offline(screen, world):  # noqa: F811
    """A reload at the hall without network: the service worker's copy opens, the queue goes on."""
    page = screen
    for _ in range(50):  # the service worker takes over the page once it is active
        if page.evaluate("navigator.serviceWorker.controller !== null"):
            break
        page.wait_for_timeout(200)
    page.reload()  # online, through the service worker: its copy of the page is kept
    page.wait_for_selector("#rollcall[data-ready='1']")
    page.context.set_offline(True)
    response = page.reload()
    assert response.from_service_worker
    page.wait_for_selector("#rollcall[data-ready='1']")  # the people list from IndexedDB
    check_in_by_search(page, "hoang van hai")
    expect(page.locator("#sync-count")).to_contain_text("1")
    shot(page, "rollcall-offline-reloaded")
    assert CheckIn.objects.count() == 0
    page.context.set_offline(False)
    page.wait_for_selector("#rollcall[data-waiting='0']", timeout=30000)
    assert CheckIn.objects.get().person == world["people"]["b_t1"]


def test_whole_delegation_offline(screen, world):  # noqa: F811
    page, p = screen, world["people"]
    page.context.set_offline(True)
    school_b = world["t"]["school_b"]
    page.click(f"form.js-delegation[data-institution='{school_b.pk}'] button")
    expect(page.locator("#sync-count")).to_contain_text("2")
    page.context.set_offline(False)
    page.wait_for_selector("#rollcall[data-waiting='0']", timeout=30000)
    assert set(CheckIn.objects.values_list("person_id", flat=True)) == {p["b_principal"].pk, p["b_t1"].pk}
    assert CheckIn.objects.count() == 2


# --- Trust item 7: the offline copy of the people list does not outlive the sign-in ---------------
STORED_LISTS = """() => (indexedDB.databases ? indexedDB.databases() : Promise.resolve([]))
  .then((dbs) => {
    if (!dbs.some((d) => d.name === "diemcau-rollcall")) { return 0; }
    return new Promise((resolve) => {
      const open = indexedDB.open("diemcau-rollcall");
      open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains("people")) { db.close(); resolve(0); return; }
        const r = db.transaction("people").objectStore("people").count();
        r.onsuccess = () => { db.close(); resolve(r.result); };
      };
      open.onerror = () => resolve(-1);
    });
  })"""

AGE_LISTS = """(change) => new Promise((resolve) => {
  const open = indexedDB.open("diemcau-rollcall");
  open.onsuccess = () => {
    const db = open.result, tx = db.transaction("people", "readwrite"), store = tx.objectStore("people");
    const all = store.getAll();
    all.onsuccess = () => {
      all.result.forEach((r) => {
        if (change.hours) { r.at = Date.now() - change.hours * 3600 * 1000; }
        if (change.user) { r.user = change.user; }
        store.put(r);
      });
    };
    tx.oncomplete = () => { db.close(); resolve(all.result.length); };
  };
})"""


def _wait_for_worker(page):
    for _ in range(50):
        if page.evaluate("navigator.serviceWorker.controller !== null"):
            return
        page.wait_for_timeout(200)


def test_sign_out_clears_the_stored_list_cache_and_worker(screen, world):  # noqa: F811
    page = screen
    _wait_for_worker(page)
    page.reload()  # through the service worker: its copy of the page is kept
    page.wait_for_selector("#rollcall[data-ready='1']")
    assert page.evaluate(STORED_LISTS) == 1  # the point's people, kept for offline search
    assert page.evaluate("caches.keys().then((k) => k.length)") >= 1
    page.click("header form[action$='/logout/'] button")
    page.wait_for_url(lambda url: "/accounts/login/" in url)
    assert page.evaluate(STORED_LISTS) == 0
    assert page.evaluate("caches.keys().then((k) => k.length)") == 0
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0


@pytest.mark.parametrize("change", [{"hours": 13}, {"user": 999999}], ids=["expired", "another_user"])
def test_a_stale_or_foreign_list_is_not_used(screen, world, change):  # noqa: F811
    page = screen
    assert page.evaluate(AGE_LISTS, change) == 1
    page.route("**/roll-call/data.json", lambda route: route.abort("internetdisconnected"))
    page.reload()
    page.wait_for_selector("#rollcall[data-waiting]", state="attached")
    assert page.locator("#rollcall").get_attribute("data-ready") != "1"
    assert page.evaluate(STORED_LISTS) == 0  # dropped, not merely ignored
    expect(page.locator("#sync-refused")).to_contain_text("đã bị xóa")
    shot(page, f"rollcall-list-dropped-{'expired' if change.get('hours') else 'another-user'}")
