"""During and after the day, in Chromium: a phone answers the director's poll and the director's console
shows the totals by province without a reload; a recorded session plays and jumps to a chapter mark; the
asker finds the answer on their phone panel."""

import datetime
import uuid

import pytest
from django.utils import timezone

from diemcau.events.models import Conference, Session
from diemcau.live import polls
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, on_air, opinions
from tests.live.test_recording import record_programme

from .conftest import login, shot


@pytest.fixture
def conference(transactional_db, tree):
    return Conference.objects.create(title="Hội nghị trực tuyến toàn ngành năm học 2026–2027",
                                     date=timezone.localdate(), host_unit=tree["ministry"], place="Hà Nội")


def test_the_recording_plays_from_a_chapter_and_the_asker_sees_the_answer(page, phone, conference, tree, settings,
                                                                           tmp_path, make_user, person_factory):
    settings.VAR_DIR = tmp_path
    now, hour = timezone.now(), datetime.timedelta(hours=1)
    session = Session.objects.create(conference=conference, title="Phiên toàn thể", starts_at=now - hour,
                                     ends_at=now + 2 * hour)
    rec = record_programme(session, 5, [(-30, "Khai mạc – Thứ trưởng phát biểu"),
                                        (2.0, "Bộ trưởng trả lời câu hỏi của giáo viên Ba Vì")])
    login(page, make_user("bo_e2e", Role.NATIONAL_ORGANISER).username)
    page.goto(f"{page.base_url}/live/recordings/{rec.pk}/")
    page.wait_for_function("() => document.getElementById('rec-player').readyState >= 1")
    chapter = page.locator("#chapters button").nth(1)
    at = float(chapter.get_attribute("data-at"))
    chapter.click()
    page.wait_for_function(f"() => {{ const v = document.getElementById('rec-player');"
                           f" return !v.seeking && Math.abs(v.currentTime - {at}) < 1.0 && v.readyState >= 2; }}")
    assert page.locator("#chapters button.current").count() == 1
    shot(page, "recording-chapters-desktop")
    phone_user = make_user("gv_phone")
    asker = person_factory(tree["school_a"], name="Nguyễn Thị Lan", user=phone_user)
    item = moderation.approve(SYSTEM, opinions.submit(asker, conference, "Khi nào có phụ cấp thu hút cho giáo viên "
                                                                            "vùng khó khăn?"))
    on_air.put_on_air(SYSTEM, item)
    on_air.answer(SYSTEM, item, "Bộ trưởng: phụ cấp thu hút áp dụng từ năm học tới.")
    login(phone, "gv_phone")
    phone.goto(f"{phone.base_url}/live/recordings/{rec.pk}/")
    phone.wait_for_function("() => document.getElementById('rec-player').readyState >= 1")
    shot(phone, "recording-chapters-phone")
    phone.goto(f"{phone.base_url}/")
    panel = phone.locator("#answers-panel")
    assert "phụ cấp thu hút áp dụng từ năm học tới" in panel.inner_text()
    shot(phone, "answer-on-phone-panel")


def test_a_phone_answers_the_poll_and_the_director_sees_the_totals_live(browser, asgi_server, asgi_page, conference,
                                                                       tree, make_user, person_factory):
    make_user("dp_e2e", Role.DIRECTOR)
    poll = polls.ask(SYSTEM, conference, "Thầy cô đã nhận đủ sách giáo khoa lớp 1 chưa?",
                     choices=["Đủ", "Thiếu một phần", "Chưa nhận"])
    for i, (school, choice) in enumerate([("school_a", 0), ("school_b", 1), ("school_c", 0), ("school_d", 2),
                                          ("school_d", 0)]):
        person = person_factory(tree[school], name=f"Giáo viên {i}", user=make_user(f"gv_poll{i}"))
        polls.vote(person.user, poll, choice, uuid.uuid4())
    person_factory(tree["school_a"], name="Trần Văn Bình", user=make_user("gv_binh"))
    login(asgi_page, "dp_e2e")
    asgi_page.goto(f"{asgi_page.base_url}/live/conference/{conference.pk}/director/")
    asgi_page.wait_for_selector("#poll-results h3", timeout=15000)
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    teacher = context.new_page()
    teacher.base_url = asgi_server.url
    login(teacher, "gv_binh")
    pushes = []
    teacher.on("websocket", lambda ws: ws.on("framereceived", lambda frame: pushes.append(frame))
               if "/polls/" in ws.url else None)
    teacher.goto(f"{teacher.base_url}/live/conference/{conference.pk}/watch/")
    teacher.click("#poll-panel button[value='1']")
    teacher.wait_for_selector("#poll-panel .msg.success")
    # a change of the poll's state (shown on the kiosks) is pushed to every phone, as is the fragment a
    # phone gets when its websocket connects (CI once saw that land after the vote): the phone that
    # answered keeps its thanks instead of getting the form back
    _wait_until(lambda: pushes, teacher)
    heard = len(pushes)
    asgi_page.click("#poll-results form[action$='/show/'] button")
    _wait_until(lambda: len(pushes) > heard, teacher)
    teacher.wait_for_timeout(200)
    assert teacher.locator("#poll-panel .msg.success").is_visible()
    assert teacher.locator("#poll-panel button").count() == 0
    shot(teacher, "poll-on-phone")
    asgi_page.wait_for_selector("#poll-results:has-text('6 câu trả lời')", timeout=10000)
    asgi_page.locator("#poll-results").scroll_into_view_if_needed()
    shot(asgi_page, "poll-results-director-desktop")
    context.close()
    assert polls.results(poll)["total"] == 6


def _wait_until(condition, page, seconds: float = 15) -> None:
    """Let ``page``'s event loop run until ``condition()`` holds."""
    for _ in range(int(seconds * 20)):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the websocket push never came")

