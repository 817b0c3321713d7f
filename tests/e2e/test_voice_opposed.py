"""The moderator sees opposite opinions ("ý kiến trái chiều") apart, with no merge button between them;
merging them by hand is refused unless a reason is given. The summary for policy is a stored result
shown with its age."""

import datetime

import pytest
from django.utils import timezone

from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions, stored
from diemcau.voice.models import StoredDuplicates, StoredSummary

from .conftest import login, shot


@pytest.fixture
def world(transactional_db, tree, make_user, person_factory):
    conference = Conference.objects.create(title="Bộ trưởng gặp gỡ nhà giáo 2026", date=datetime.date(2026, 11, 20),
                                           host_unit=tree["ministry"], place="Hà Nội")
    a = person_factory(tree["school_a"], name="Trần Văn Bình", user=make_user("gv_binh"))
    b = person_factory(tree["school_b"], name="Lê Thị Hoa", user=make_user("gv_hoa"))
    allow = opinions.submit(a, conference, "Đề nghị cho phép học sinh dùng điện thoại trong giờ học khi cần tra cứu")
    ban = opinions.submit(b, conference, "Đề nghị cấm học sinh dùng điện thoại trong giờ học khi cần tra cứu")
    make_user("kd_bavi", Role.MODERATOR, tree["bavi"])
    make_user("pt_bo", Role.ANALYST, tree["ministry"])
    return {"conference": conference, "allow": allow, "ban": ban}


def test_moderator_sees_opposite_opinions_apart(page, phone, world):
    url = f"/voice/{world['conference'].pk}/moderate/"
    for p, name in ((page, "desktop"), (phone, "phone")):
        login(p, "kd_bavi")
        p.goto(p.base_url + url)
        section = p.locator("#opposed")
        assert section.get_by_text("Ý kiến trái chiều").first.is_visible()
        assert section.get_by_text(world["ban"].text).is_visible()
        assert p.locator("#duplicates").count() == 0  # never suggested for merging
        shot(p, f"voice-opposite-opinions-{name}")


def test_opposite_merge_needs_a_reason_and_the_summary_shows_its_age(page, phone, world, tree):
    allow, ban = (moderation.approve(SYSTEM, world[k]) for k in ("allow", "ban"))
    conference = world["conference"]
    for p, name in ((page, "desktop"), (phone, "phone")):
        login(p, "kd_bavi")
        p.goto(p.base_url + f"/voice/{conference.pk}/moderate/")
        item = p.locator(f"#item-{ban.pk}")
        item.locator("input[name=target]").fill(str(allow.pk))
        item.get_by_role("button", name="Gộp vào").click()
        item.locator('[data-code="merge_opposite"]').wait_for()
        assert "trái chiều" in item.locator(".errorbox").inner_text()
        shot(p, f"voice-opposite-merge-refused-{name}")
    item.locator("input[name=override_reason]").fill("Cùng hỏi về quy định dùng điện thoại")
    item.get_by_role("button", name=f"Vẫn gộp vào #{allow.pk}").click()
    item.locator("[data-opposite-merge]").wait_for()
    shot(phone, "voice-opposite-merge-override-phone")

    # The summary: computing in the background (the page reloads by itself), then its age.
    StoredSummary.objects.create(conference=conference, unit=tree["ministry"], requested_at=timezone.now())
    for p in (page, phone):
        p.context.clear_cookies()
        login(p, "pt_bo")
        p.goto(p.base_url + f"/voice/{conference.pk}/summary/")
        p.locator("#summary-pending").wait_for()
    shot(page, "voice-summary-pending-desktop")
    stored.recompute(conference.pk)  # what the worker does
    StoredSummary.objects.update(requested_at=timezone.now())  # and more items arrived since
    for p, name in ((page, "desktop"), (phone, "phone")):
        p.goto(p.base_url + f"/voice/{conference.pk}/summary/")
        assert p.locator("#summary-age").inner_text().startswith("Cập nhật")
        assert p.locator("#summary-refreshing").is_visible()
        shot(p, f"voice-summary-age-{name}")


def test_moderator_sees_likely_duplicates_computed_in_the_background(page, phone, world, tree, person_factory):
    conference = world["conference"]
    a = opinions.submit(person_factory(tree["school_a"], name="Phạm Văn Nam"), conference,
                        "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học")
    b = opinions.submit(person_factory(tree["school_b"], name="Đỗ Thị Mai"), conference,
                        "de nghi giam bot ho so so sach cho giao vien tieu hoc")
    # The job is on its way (a worker has not run it yet): the page says so and suggests nothing.
    StoredDuplicates.objects.create(conference=conference, requested_at=timezone.now())
    url = f"/voice/{conference.pk}/moderate/"
    for p, name in ((page, "desktop"), (phone, "phone")):
        login(p, "kd_bavi")
        p.goto(p.base_url + url)
        assert p.locator("#duplicates-pending").is_visible() and p.locator(".peers").count() == 0
        shot(p, f"voice-duplicates-pending-{name}")
    stored.recompute(conference.pk)  # what the worker does
    for p, name in ((page, "desktop"), (phone, "phone")):
        p.goto(p.base_url + url)
        assert p.locator("#duplicates-age").inner_text().startswith("Ý kiến có thể trùng lặp: đã tìm trong 4 ý kiến")
        assert p.locator(f"#item-{a.pk}").locator("..").locator(".peers").get_by_text(b.text).is_visible()
        shot(p, f"voice-duplicates-age-{name}")
