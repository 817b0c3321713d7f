"""The ministry's board on the demo's morning: drill down to Ba Vì; check-ins made through the same
server (another browser context, the JSON API) change the figures by themselves within 2 seconds."""

import datetime
import random
import re
import time
import uuid

import pytest
from django.utils import timezone

from diemcau.attendance import checkin, delegations
from diemcau.attendance.checkin import CheckInItem
from diemcau.attendance.models import CheckIn, Delegation
from diemcau.demo import events as demo
from diemcau.demo import org_tree
from diemcau.demo import orgs as orgs_demo
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.models import Assignment

from .conftest import login, shot

pytestmark = pytest.mark.slow


@pytest.fixture
def morning_under_way(transactional_db):
    """The demo's morning with Ba Vì planned, a few delegation rules, and two thirds of its people
    already checked in over the last 50 minutes (through the check-in service, in batches)."""
    orgs_demo.load()
    demo.load()
    conference = demo.loaded()
    morning = conference.sessions.order_by("starts_at").first()
    # Check-ins are taken only inside the session's window: the demo's morning is held now.
    now = timezone.now()
    type(morning).objects.filter(pk=morning.pk).update(starts_at=now - datetime.timedelta(hours=1),
                                                       ends_at=now + datetime.timedelta(hours=2, minutes=30))
    morning.refresh_from_db()
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    assignments = list(Assignment.objects.filter(session=morning, institution__path__startswith=bavi.path)
                       .select_related("institution").order_by("institution__code"))
    rng = random.Random(2023)
    for a in assignments[:12]:
        delegations.name_delegation(SYSTEM, morning, a.institution, rule=Delegation.Rule.COMPOSITION,
                                    min_management=1, min_teachers=3, min_staff=1)
    now = timezone.now()
    items = []
    late = set()
    for n, a in enumerate(assignments):
        if n % 9 == 4:  # a few schools not there yet
            late.add(a.institution_id)
            continue
        people = list(Person.objects.filter(unit=a.institution, is_active=True).order_by("pk"))
        share = 0.55 + 0.35 * rng.random()
        chosen = people[: int(len(people) * share)]
        if n < 12:  # a delegation: its board member, three teachers and (mostly) one staff member
            chosen = delegation(people, {"management": 1, "teacher": 3, "staff": 0 if n % 4 == 3 else 1})
        for p in chosen:
            minutes = min(abs(rng.gauss(18, 11)), 49)
            items.append(CheckInItem(
                client_id=uuid.uuid4(), session_id=morning.pk, point_id=a.point_id, person_id=p.pk,
                method=rng.choice(["qr_scan", "qr_scan", "roll_call"]),
                scanned_at=now - datetime.timedelta(minutes=minutes, seconds=rng.randint(0, 59))))
    for k in range(0, len(items), 500):
        checkin.check_in_batch(SYSTEM, items[k:k + 500])
    return {"conference": conference, "session": morning, "bavi": bavi, "assignments": assignments,
            "late": late}


def delegation(people, wanted):
    """The first people of each category, as many as ``wanted`` says."""
    chosen = []
    for p in people:
        if wanted.get(p.category, 0) > 0:
            wanted[p.category] -= 1
            chosen.append(p)
    return chosen


# Every board row's id and text, in page order, from a board's HTML (the time of the figures and the
# chart aside: its time axis runs to the minute it was drawn).
ROWS_JS = """(html) => { const t = document.createElement('template'); t.innerHTML = html;
  return [...t.content.querySelectorAll('[id^=b-]')].filter(e => !['b-updated', 'b-chart'].includes(e.id))
    .map(e => e.id + ' ' + e.textContent.replace(/\\s+/g, ' ').trim()); }"""


def figure(page, name):
    return page.locator(f"#board-live [data-figure={name}]")


def number(text):
    return int(re.sub(r"\D", "", text))


def test_the_board_updates_itself_after_check_ins_elsewhere(browser, asgi_server, asgi_page, morning_under_way):
    w = morning_under_way
    session, bavi = w["session"], w["bavi"]
    page = asgi_page

    # The ministry's organiser opens the board: the nation, then Hà Nội, then Ba Vì.
    login(page, "bo", orgs_demo.DEMO_PASSWORD)
    page.goto(f"{page.base_url}/events/sessions/{session.pk}/")
    page.get_by_role("link", name="Bảng theo dõi điểm danh").first.click()
    page.wait_for_url(re.compile(r"/units/\d+/board/$"))
    page.wait_for_selector("#live-status[data-state=live]", timeout=15000)
    # The arrivals chart comes as numbers; board.js draws its bars and cumulative line.
    assert page.locator("#b-chart svg rect.arr-bar").count() > 3
    assert page.locator("#b-chart svg polyline.cum-line").count() == 1
    shot(page, "attendance-board-ministry")
    page.locator("#board-live").get_by_role("link", name=re.compile("Hà Nội")).first.click()
    page.locator("#board-live").get_by_role("link", name=re.compile("Ba Vì")).first.click()
    page.wait_for_url(re.compile(rf"/units/{bavi.pk}/board/$"))
    page.wait_for_selector("#live-status[data-state=live]", timeout=15000)
    assert "Phòng Giáo dục và Đào tạo huyện Ba Vì" in page.locator("h1").inner_text()
    before = number(figure(page, "present").inner_text())
    assert before == CheckIn.objects.filter(session=session, institution__path__startswith=bavi.path).values(
        "person").distinct().count()
    page.evaluate("window.__sameDocument = true")

    # Ba Vì's organiser, in another browser, checks five late people in through the JSON API of the
    # same server (the in-memory channel layer lives in that process).
    operator = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    op = operator.new_page()
    op.base_url = asgi_server.url
    login(op, "bavi", orgs_demo.DEMO_PASSWORD)
    csrf = next(c["value"] for c in operator.cookies() if c["name"] == "csrftoken")
    late = next(a for a in w["assignments"] if a.institution_id in w["late"])
    people = list(Person.objects.filter(unit=late.institution, is_active=True).order_by("pk")[:5])
    for p in people:
        response = operator.request.post(f"{asgi_server.url}/api/attendance/checkins/", headers={
            "X-CSRFToken": csrf, "Referer": asgi_server.url + "/"}, data={
            "client_id": str(uuid.uuid4()), "session_id": session.pk, "point_id": late.point_id,
            "person_id": p.pk, "method": "roll_call"})
        assert response.status == 200, response.text()
    sent = time.monotonic()
    page.wait_for_function(
        "([n]) => parseInt(document.querySelector('#board-live [data-figure=present]').textContent"
        ".replace(/\\D/g, ''), 10) === n", arg=[before + 5], timeout=2000)
    lag = time.monotonic() - sent
    print(f"board lag after the last of 5 check-ins: {lag:.2f} s")
    assert lag < 2, lag
    assert page.evaluate("window.__sameDocument") is True  # no reload: the websocket did it
    # The school is no longer among those with nobody present.
    assert late.institution.name not in page.locator("#board-live").inner_text().split("Đơn vị chưa có ai có mặt")[1]
    assert page.locator("#b-chart svg rect.arr-bar").count() > 3  # drawn again from the delta's numbers
    shot(page, "attendance-board-bavi")

    # A headcount at another point reaches the board too (a point without names).
    other = next(a for a in w["assignments"] if a.point_id != late.point_id)
    response = operator.request.post(f"{asgi_server.url}/api/attendance/headcounts/", headers={
        "X-CSRFToken": csrf}, data={"client_id": str(uuid.uuid4()), "session_id": session.pk,
                                    "point_id": other.point_id, "counts": {"teacher": 3}})
    assert response.status == 200, response.text()
    page.wait_for_function(
        "([n]) => parseInt(document.querySelector('#board-live [data-figure=present]').textContent"
        ".replace(/\\D/g, ''), 10) === n", arg=[before + 8], timeout=2000)
    operator.close()
    # The rows the deltas left on the page are those of a fresh board, in the same order.
    assert int(page.locator("#board-live").get_attribute("data-version")) > 1
    fresh = page.request.get(f"{page.base_url}/attendance/sessions/{session.pk}/units/{bavi.pk}/board/live/").text()
    assert page.evaluate(ROWS_JS, page.locator("#board-live").inner_html()) == page.evaluate(ROWS_JS, fresh)

    # The printable report and a point's list of people, from the board.
    page.get_by_role("link", name="Báo cáo để in").click()
    page.wait_for_url(re.compile(r"/report/$"))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page.content()
    shot(page, "attendance-report")
    page.emulate_media(media="print")
    shot(page, "attendance-report-print")
    page.emulate_media(media="screen")
    page.go_back()
    page.locator("#board-live").get_by_role("link", name=re.compile("Điểm cầu")).first.click()
    page.wait_for_url(re.compile(r"/points/\d+/people/$"))
    assert page.locator("table.grid tbody tr").count() > 10
    shot(page, "attendance-point-people")


    # The same board on a phone: no sideways scrolling.
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.base_url = asgi_server.url
    login(phone, "bavi", orgs_demo.DEMO_PASSWORD)
    phone.goto(f"{phone.base_url}/attendance/sessions/{session.pk}/board/")
    phone.wait_for_selector("#live-status[data-state=live]", timeout=15000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400
    shot(phone, "attendance-board-phone")
    context.close()
