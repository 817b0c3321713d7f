"""A teacher's concern from a phone to the ministry's list and onto the screens, then the demo's pages.

1. A teacher types without diacritics on a phone, sees the same concern already sent, upvotes it.
2. The district moderator merges two duplicates and forwards the item up; the ministry's moderator
   (at the top) forwards it to the ministry and sees it ranked.
3. The director puts it on screen; the on-air fragment (what kiosks include) shows it.
4. On the demo data: the demo accounts use the summary, the printable report, opinion groups, the
   topic list and the director's page.
"""

import datetime
import re

import pytest

from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions
from diemcau.voice import on_air as voice_on_air
from diemcau.voice.models import Opinion, Vote

from .conftest import login as _login
from .conftest import shot


def login(page, username, password="Mat-khau-2023"):
    """Sign in as someone else on the same page (signed-in users are sent away from the login form)."""
    page.context.clear_cookies()
    _login(page, username, password)

CONCERN = "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học"
TYPED = "de nghi giam bot ho so so sach cho giao vien tieu hoc"
DUPLICATE = "Giảm hồ sơ, sổ sách cho giáo viên tiểu học"


@pytest.fixture
def world(transactional_db, tree, make_user, person_factory):
    conference = Conference.objects.create(title="Bộ trưởng gặp gỡ nhà giáo 2026", date=datetime.date(2026, 11, 20),
                                           host_unit=tree["ministry"], place="Hà Nội")
    teacher = person_factory(tree["school_a"], name="Nguyễn Thị Lan", user=make_user("gv_lan"))
    first = person_factory(tree["school_a"], name="Trần Văn Bình", user=make_user("gv_binh"))
    second = person_factory(tree["school_b"], name="Lê Thị Hoa", user=make_user("gv_hoa"))
    item = moderation.approve(SYSTEM, opinions.submit(first, conference, CONCERN, kind="question"))
    duplicate = opinions.submit(second, conference, DUPLICATE, kind="question")
    make_user("kd_bavi", Role.MODERATOR, tree["bavi"])
    make_user("kd_bo", Role.MODERATOR, tree["ministry"])
    make_user("dieuphoi", Role.DIRECTOR)
    return {"conference": conference, "teacher": teacher, "item": item, "duplicate": duplicate}


def test_from_a_phone_to_the_ministry_and_onto_the_screen(page, phone, world, tree):
    conference, item, duplicate = world["conference"], world["item"], world["duplicate"]
    base = f"/voice/{conference.pk}/"

    # 1. The teacher, on a phone, types without diacritics and upvotes the existing item instead.
    login(phone, "gv_lan")
    phone.goto(phone.base_url + base)
    phone.fill("#id_text", TYPED)
    similar = phone.locator(f"#similar #vote-{item.pk}")
    similar.wait_for()
    assert CONCERN in phone.locator("#similar").inner_text()
    shot(phone, "voice-phone-similar")
    similar.locator("button[type=submit]").click()
    phone.locator(f"#vote-{item.pk} .tag.ok").wait_for()
    assert Vote.objects.filter(opinion=item, person=world["teacher"], kind="upvote").exists()
    assert not Opinion.objects.filter(author=world["teacher"]).exists()  # nothing sent twice
    phone_width = phone.evaluate("document.documentElement.scrollWidth")
    assert phone_width <= 390, "the phone page scrolls sideways"

    # 2. The district moderator merges the duplicate into the item and forwards it twice (school → district
    #    → department); the ministry's moderator forwards it to the ministry.
    login(page, "kd_bavi")
    page.goto(page.base_url + base + "moderate/")
    row = page.locator(f"#item-{duplicate.pk}")
    row.locator("input[name=target]").fill(str(item.pk))
    row.locator("form[action$='/merge/'] button").click()
    page.locator(f"#item-{duplicate.pk} .tag", has_text=re.compile("Merged|Đã gộp")).wait_for()
    for level in (tree["bavi"], tree["hanoi"]):
        page.goto(page.base_url + base + "moderate/")
        with page.expect_response(lambda r: r.url.endswith("/forward/")) as response:
            page.locator(f"#level #item-{item.pk} form[action$='/forward/'] button").click()
        assert response.value.ok
        item.refresh_from_db()
        assert item.at_unit == level
    page.locator(f"#item-{item.pk} [data-left-scope]").wait_for()  # now the department's to decide
    shot(page, "voice-moderator")
    item.refresh_from_db()
    assert item.raised_by_people == 2 and item.raised_by_units == 2

    login(page, "kd_bo")
    page.goto(page.base_url + base + "moderate/")
    with page.expect_response(lambda r: r.url.endswith("/forward/")):
        page.locator(f"#level #item-{item.pk} form[action$='/forward/'] button").click()
    page.goto(page.base_url + base + "ranked/")
    first_row = page.locator("table tbody tr").first
    assert CONCERN in first_row.inner_text() and "2" in first_row.inner_text()
    shot(page, "voice-ranked-ministry")
    item.refresh_from_db()
    assert item.at_unit == tree["ministry"]

    # 3. The director puts it on screen; the fragment kiosks include shows it, with who asked and its votes.
    login(page, "dieuphoi")
    page.goto(page.base_url + base + "director/")
    page.locator(f"#cand-{item.pk} button[type=submit]").click()
    page.locator("#current .voice-on-air .question").wait_for()
    assert CONCERN in page.locator("#current").inner_text()
    shot(page, "voice-director")
    assert voice_on_air.on_air(conference) == item

    phone.goto(phone.base_url + base + "on-air/")
    fragment = phone.locator("#voice-on-air")
    assert fragment.get_attribute("data-opinion") == str(item.pk)
    assert CONCERN in fragment.inner_text() and "Trường Tiểu học Tây Đằng A" in fragment.inner_text()
    assert fragment.locator(".upvotes").inner_text() == "1"
    shot(phone, "voice-on-air-fragment")


@pytest.fixture
def demo_world(transactional_db):
    from diemcau.demo import events as events_demo
    from diemcau.demo import orgs as orgs_demo
    from diemcau.demo import voice as demo

    orgs_demo.load()
    events_demo.load()
    demo.load()
    return events_demo.loaded()


def test_demo_accounts_use_the_voice_pages(page, demo_world):
    from diemcau.demo import voice as demo
    from diemcau.demo.orgs import DEMO_PASSWORD

    conference = demo_world
    base = f"{page.base_url}/voice/{conference.pk}/"
    on_air = voice_on_air.on_air(conference)
    assert on_air is not None and on_air.at_unit.parent_id is None
    report = demo.summarise(conference)
    assert report.items == 330 and report.rejected > 10 and report.merged > 50 and report.at_ministry >= 15
    assert report.groups == 2 and Opinion.objects.filter(conference=conference, status="pending").exists()
    assert Opinion.objects.filter(conference=conference, status="answered").exclude(answer_time="").exists()
    assert demo.load().skipped  # a second run changes nothing

    login(page, "phantich", DEMO_PASSWORD)
    page.goto(base + "summary/")
    assert page.locator(".barchart .barrow").count() > 20
    assert page.locator("#summary-groups svg.scatter circle").count() > 100
    shot(page, "voice-summary")
    with page.expect_download() as download:
        page.click("#download-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")
    page.click("#printable")
    page.wait_for_url(re.compile(r"/summary/print/"))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page.locator(".doc-header").inner_text()
    shot(page, "voice-summary-print")
    page.emulate_media(media="print")
    shot(page, "voice-summary-print-media")
    page.emulate_media(media="screen")
    page.goto(base + "groups/")
    shot(page, "voice-groups")

    login(page, "dieuphoi", DEMO_PASSWORD)
    page.goto(base + "director/")
    assert on_air.text[:40] in page.locator("#current").inner_text()
    shot(page, "voice-director-demo")

    login(page, "bo", DEMO_PASSWORD)
    page.goto(base + "topics/")
    assert page.locator("#topic-list .item").count() >= 12
    shot(page, "voice-topics")

    login(page, "kiemduyet", DEMO_PASSWORD)
    page.goto(base + "summary/")
    assert "Ba Vì" in page.locator("p.muted.small").first.inner_text()
