"""A moderation queue and a ranked list update by themselves: a teacher's submission in another browser
appears on the moderator's page without a reload (htmx's ws extension swapping server-rendered rows)."""

import datetime
import time

import pytest

from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions
from diemcau.voice.models import Opinion

from .conftest import login, shot

NEW = "Đề nghị bổ sung giáo viên tiếng Anh cho các trường vùng khó khăn"


@pytest.fixture
def world(transactional_db, tree, make_user, person_factory):
    conference = Conference.objects.create(title="Bộ trưởng gặp gỡ nhà giáo 2026", date=datetime.date(2026, 11, 20),
                                           host_unit=tree["ministry"], place="Hà Nội")
    first = person_factory(tree["school_a"], name="Trần Văn Bình", user=make_user("gv_binh"))
    person_factory(tree["school_a"], name="Nguyễn Thị Lan", user=make_user("gv_lan"))
    moderation.approve(SYSTEM, opinions.submit(first, conference, "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên"))
    opinions.submit(first, conference, "Khi nào tăng lương cơ sở cho giáo viên mầm non?")
    make_user("kd_bavi", Role.MODERATOR, tree["bavi"])
    return {"conference": conference}


def test_a_submission_in_another_browser_appears_in_the_queue_without_reload(browser, asgi_server, asgi_page,
                                                                               world):
    conference = world["conference"]
    page = asgi_page
    login(page, "kd_bavi")
    page.goto(f"{page.base_url}/voice/{conference.pk}/moderate/")
    page.wait_for_function("() => document.querySelectorAll('#queue .item').length === 1")
    page.evaluate("window.__sameDocument = true")
    time.sleep(1)  # the socket opens (the first push is the same page)

    teacher = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = teacher.new_page()
    phone.base_url = asgi_server.url
    login(phone, "gv_lan")
    phone.goto(f"{phone.base_url}/voice/{conference.pk}/")
    phone.fill("#id_text", NEW)
    sent = time.monotonic()
    phone.click("#send-form button[type=submit]")
    page.wait_for_selector(f"#queue .item:has-text('{NEW}')", timeout=5000)
    print(f"queue lag after a submission: {time.monotonic() - sent:.2f} s")
    assert page.evaluate("window.__sameDocument") is True  # no reload: the websocket did it
    assert page.locator("#queue .item").count() == 2
    shot(page, "voice-moderation-queue-live")

    # Approving it from the pushed row works (the row's forms are live htmx forms).
    new = Opinion.objects.get(text=NEW)
    page.locator(f"#item-{new.pk} button.primary").click()
    page.wait_for_selector(f"#level #item-{new.pk}", timeout=5000)
    assert page.evaluate("window.__sameDocument") is True

    # The moderator's queue on a phone: no sideways scrolling.
    phone.context.clear_cookies()
    login(phone, "kd_bavi")
    phone.goto(f"{phone.base_url}/voice/{conference.pk}/moderate/")
    phone.wait_for_selector(f"#level #item-{new.pk}")
    shot(phone, "voice-moderation-queue-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400
    teacher.close()
