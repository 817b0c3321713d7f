"""The moderation queue and the audit log as a moderator and an organiser see them, desktop and phone:
pages, filters, duplicates beside an item, bulk actions; sentences with names. Screenshots."""

import hashlib

import pytest
from playwright.sync_api import expect

from diemcau.orgs.models import Person, Role
from diemcau.voice import moderation, opinions
from tests.voice.conftest import conference  # noqa: F401  (fixtures reused)

from .conftest import login, shot

TEXTS = ["Đề nghị giảm hồ sơ sổ sách cho giáo viên tiểu học",
         "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học",
         "Khi nào tăng lương cơ sở cho giáo viên mầm non vùng khó khăn?",
         "Cần bổ sung biên chế giáo viên tiếng Anh cho các trường tiểu học ở xã"]


@pytest.fixture
def world(live_server, conference, tree, make_user):  # noqa: F811
    people = [Person.objects.create(unit=tree["school_a"], code=f"GV-E{n}", full_name=name,
                                    category=Person.Category.TEACHER)
              for n, name in enumerate(["Lê Thị Hoa", "Trần Văn Bình", "Phạm Thu Hà", "Đỗ Minh Đức"] * 4)]
    mod = make_user("kiemduyet", Role.MODERATOR, tree["bavi"])
    mod.first_name, mod.last_name = "Nguyễn Văn", "An"
    mod.save()
    items = [opinions.submit(people[n], conference, text) for n, text in enumerate(TEXTS)]
    for n in range(30):
        words = " ".join(hashlib.sha256(f"{n}-{k}".encode()).hexdigest()[:6] for k in range(3))
        items.append(opinions.submit(people[4 + n % 12], conference, f"Kiến nghị số {n}: {words}"))
    moderation.approve(mod, items[0])
    moderation.approve(mod, items[2])
    moderation.forward(mod, items[2])
    make_user("bavi_tc", Role.UNIT_ORGANISER, tree["bavi"])
    return {"conference": conference, "items": items}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_moderation_queue_and_audit_log(request, world, size):
    page = request.getfixturevalue("page" if size == "desktop" else "phone")
    login(page, "kiemduyet")
    page.goto(f"{page.base_url}/voice/{world['conference'].pk}/moderate/")
    expect(page.locator("#queue h2")).to_contain_text("32 ý kiến chờ duyệt")
    expect(page.locator(".peers").first).to_contain_text("Gộp #")
    shot(page, f"moderation-queue-{size}")
    if size == "desktop":
        # Bulk: tick two items, approve them in one click.
        boxes = page.locator("input[name=items]")
        boxes.nth(1).check()
        boxes.nth(2).check()
        page.click("#bulk-form button[value=approve]")
        expect(page.locator(".messages")).to_contain_text("Đã xử lý 2 mục")
    page.context.clear_cookies()
    login(page, "bavi_tc")
    page.goto(f"{page.base_url}/audit/")
    expect(page.locator("td.sentence").first).to_be_visible()
    expect(page.locator("body")).to_contain_text(f"Nguyễn Văn An chuyển ý kiến #{world['items'][2].pk} từ "
                                                 "Trường Tiểu học Tây Đằng A lên Phòng GD&ĐT huyện Ba Vì")
    shot(page, f"audit-log-{size}")
