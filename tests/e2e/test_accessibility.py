"""Every role's main pages under axe-core (vendored, tests/e2e/vendor/axe-core): no serious or critical
violation; the roll call, the opinion form and the director's console used with the keyboard only;
and, on the same visit, what the hall's screen and the director see: the question on air as a lower
third that hides nothing, the site board's clock in Hà Nội time in a browser set to another zone, no
thumbnail asked for a point without a picture, a technical check without a camera in plain words.

One browser context (a browser set to Los Angeles time), one ASGI server, one world: the pages are
visited in turn, signing in as each role, so the whole check costs one server start.
"""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from diemcau.attendance.models import CheckIn
from diemcau.live import floor
from diemcau.live.models import FloorRequest, Programme
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import on_air
from diemcau.voice.models import Opinion
from tests.site.participant_world import teacher_morning

from .conftest import SCREENSHOTS, login, shot

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
BAD = ("serious", "critical")
TYPED = "Đề nghị công bố sớm lịch nghỉ hè cho giáo viên"


@pytest.fixture
def world(transactional_db, tree, person_factory, make_user):
    w = teacher_morning(tree, person_factory)
    make_user("bavi", Role.UNIT_ORGANISER, tree["bavi"])
    make_user("dieuphoi", Role.DIRECTOR)
    make_user("kd_bavi", Role.MODERATOR, tree["bavi"])
    on_air.put_on_air(SYSTEM, w["item"])
    floor.request_floor(SYSTEM, w["point"], "Lê Thị Mai, giáo viên")
    return w


@pytest.fixture
def elsewhere(browser, asgi_server):
    """A browser in Los Angeles: the pages must still show Hà Nội's time."""
    context = browser.new_context(locale="vi-VN", timezone_id="America/Los_Angeles", bypass_csp=True,
                                  viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15000)
    page = context.new_page()
    page.base_url = asgi_server.url
    page.requested = []
    page.on("request", lambda r: page.requested.append(r.url))
    yield page
    context.close()


def axe(page) -> list[str]:
    """The serious and critical violations of the page, one line each."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=AXE)
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                          ".map(v => ({id: v.id, impact: v.impact,"
                          " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in found if v["impact"] in BAD]


def as_user(page, username):
    page.context.clear_cookies()
    login(page, username)


def box(page, selector) -> dict:
    return page.locator(selector).first.bounding_box()


def overlaps(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def tab_to(page, selector: str, limit: int = 80):
    """Press Tab until the focus is on ``selector`` (the keyboard only, as a person without a mouse)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reaches {selector}")


def hanoi_clock_now() -> set[str]:
    now = timezone.localtime()  # settings.TIME_ZONE, Asia/Ho_Chi_Minh
    return {(now + datetime.timedelta(seconds=d)).strftime("%H:%M") for d in (-60, 0, 60)}


def check_kiosk_lower_third(page):
    """The question on air sits below the picture (alone, and while a point speaks beside the studio);
    the sound button is clear of it."""
    for both in (False, True):
        page.evaluate("(b) => document.getElementById('stage').classList.toggle('both', b)", both)
        stage, question = box(page, "#stage"), box(page, "#on-air")
        assert question["y"] >= stage["y"] + stage["height"] - 1, "the question covers the picture"
        assert not overlaps(question, box(page, "#sound-on")), "'Bật âm thanh' overlaps the question"
    page.evaluate("() => document.getElementById('stage').classList.remove('both')")


def test_main_pages_are_accessible_and_keyboard_usable(elsewhere, world):
    page, base = elsewhere, elsewhere.base_url
    cid, sid, pid = world["conference"].pk, world["session"].pk, world["point"].pk
    problems = {}

    def check(name, path, ready=None):
        page.goto(base + path, wait_until="domcontentloaded")
        if ready:
            page.locator(ready).first.wait_for()
        problems[name] = axe(page)

    check("sign-in", "/accounts/login/")
    as_user(page, "bavi")
    check("organiser home", "/")
    check("conference page", f"/events/{cid}/")
    check("attendance board", f"/attendance/sessions/{sid}/board/")
    check("kiosk", f"/live/points/{pid}/kiosk/", ready="#on-air .question")
    check_kiosk_lower_third(page)
    shot(page, "kiosk-question-on-air-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    check_kiosk_lower_third(page)
    page.screenshot(path=str(SCREENSHOTS / "kiosk-question-on-air-phone.png"))
    page.set_viewport_size({"width": 1280, "height": 860})

    # The roll call by keyboard: type a name in the search box, Tab to "Điểm danh", Enter.
    check("roll call", f"/attendance/sessions/{sid}/points/{pid}/roll-call/")
    page.focus("#q")
    page.keyboard.type("Le Thi Mai")
    row = f"#person-{world['person'].pk}"
    page.locator(row).wait_for()
    tab_to(page, f"{row} button")
    page.keyboard.press("Enter")
    page.locator(f"{row} .tag.ok").wait_for()
    assert CheckIn.objects.filter(person=world["person"], session=world["session"]).count() == 1

    # The technical check on a computer without a camera: what is wrong and what to do, in words.
    check_page = page.context.new_page()
    check_page.add_init_script("navigator.mediaDevices.getUserMedia = () =>"
                               " Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));")
    check_page.goto(f"{base}/live/points/{pid}/check/", wait_until="domcontentloaded")
    problem = check_page.locator("#c-problem")
    problem.wait_for()
    text = problem.inner_text()
    assert "Không tìm thấy camera" in text and "Cắm camera" in text and "NotFoundError" not in text
    assert "✗" not in check_page.locator("#c-camera").inner_text()
    check_page.close()

    as_user(page, "kd_bavi")
    check("moderation queue", f"/voice/{cid}/moderate/")

    # The director: the wall asks for no picture of a point that never sent one; the floor is given
    # and the programme switched with the keyboard.
    as_user(page, "dieuphoi")
    page.requested.clear()
    with page.expect_response(lambda r: "/thumbnails?ids=" in r.url):
        check("director console", f"/live/conference/{cid}/director/", ready="#wall .tile")
    assert not [u for u in page.requested if "thumbnail.jpg" in u], "thumbnails asked of points without one"
    page.locator("#queue [data-act=grant]").wait_for()
    tab_to(page, "#queue [data-act=grant]")
    page.keyboard.press("Enter")
    page.locator("#queue li.granted").wait_for()
    assert FloorRequest.objects.get(point=world["point"]).state == FloorRequest.State.GRANTED
    tab_to(page, "[data-source=both]")
    page.keyboard.press("Enter")
    page.locator("[data-source=both][aria-pressed=true]").wait_for()
    assert Programme.objects.get(conference=world["conference"]).source == "both"

    # The site board's clock: Hà Nội's time in a browser set to Los Angeles.
    check("site board", f"/live/conference/{cid}/board/", ready="#board-rows tr")
    assert page.locator("[data-clock]").inner_text()[:5] in hanoi_clock_now()

    as_user(page, "giaovien")
    check("participant home", "/")
    check("watch page", f"/live/conference/{cid}/watch/", ready="#on-air .question")
    assert box(page, "#on-air")["y"] >= box(page, ".topbar")["y"] + box(page, ".topbar")["height"], \
        "the question covers the menu"

    # The opinion form by keyboard: Tab to the text, type, Tab to "Gửi", Enter.
    check("opinion form", f"/voice/{cid}/")
    tab_to(page, "#id_text")
    page.keyboard.type(TYPED)
    tab_to(page, "#send-form button[type=submit]")
    page.keyboard.press("Enter")
    page.locator(".msg.success").wait_for()
    assert Opinion.objects.filter(author=world["person"], text=TYPED).exists()

    assert not any(problems.values()), "\n".join(f"{k}: {v}" for k, v in problems.items() if v)
