"""The scripts' words come from Django's catalogue (/jsi18n/) in the page's language, offline too, and
numbers are printed with the language's separators, on a desktop and on a phone."""

import pytest
from playwright.sync_api import expect

from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Unit
from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.points.conftest import bavi_institutions, planning  # noqa: F401

from .conftest import login, shot


def _roll_call(p, world):  # noqa: F811
    p.goto(f"{p.base_url}/attendance/sessions/{world['session'].pk}/points/{world['bavi_point'].pk}/roll-call/")
    p.wait_for_selector("#rollcall[data-ready='1']")


def _check_in(p, query):
    p.fill("#q", query)
    row = p.locator("#people-rows tr").first
    row.locator("button.js-checkin").click()
    row.locator(".tag.warn").wait_for()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_roll_call_offline_speaks_vietnamese_from_the_catalogue(live_server, request, world, organiser_bavi, device):  # noqa: F811
    p = request.getfixturevalue("page" if device == "desktop" else "phone")
    login(p, "bavi")
    _roll_call(p, world)
    expect(p.locator("#sync-state")).to_contain_text("Mọi lượt điểm danh đã được đồng bộ.")
    p.context.set_offline(True)
    _check_in(p, "tran van binh")
    _check_in(p, "le thi cuc")
    p.fill("#q", "")
    expect(p.locator("#sync-count")).to_have_text("2 lượt điểm danh đang chờ đồng bộ")
    expect(p.locator("#sync-state")).to_contain_text("Mất kết nối mạng")
    expect(p.locator("#people-rows tr.pending .tag.warn").first).to_have_text("Chờ đồng bộ")
    shot(p, f"frontend-rollcall-offline-{device}")
    assert CheckIn.objects.count() == 0
    p.context.set_offline(False)
    p.wait_for_selector("#rollcall[data-waiting='0']", timeout=30000)
    assert CheckIn.objects.count() == 2


def test_the_same_script_speaks_english_with_english_plurals(page, world, organiser_bavi):  # noqa: F811
    login(page, "bavi")
    page.click("form.lang button[value='en']")
    page.wait_for_load_state()
    _roll_call(page, world)
    page.context.set_offline(True)
    _check_in(page, "tran van binh")
    page.fill("#q", "")
    expect(page.locator("#sync-count")).to_have_text("1 check-in waiting to sync")  # ngettext's singular
    expect(page.locator("#sync-state")).to_contain_text("Offline: check-ins are kept on this device")
    page.context.set_offline(False)
    page.wait_for_selector("#rollcall[data-waiting='0']", timeout=30000)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_counts_are_printed_the_vietnamese_way(live_server, request, world, organiser_bavi, device):  # noqa: F811
    school = world["t"]["school_a"]
    Unit.objects.filter(pk=school.pk).update(managers_count=12, teachers_count=1250, staff_count=1034)
    p = request.getfixturevalue("page" if device == "desktop" else "phone")
    login(p, "bavi")
    p.goto(f"{p.base_url}/orgs/units/{school.pk}/")
    text = p.locator("main").inner_text()
    assert "1.250" in text and "1.034" in text and "1,250" not in text
    shot(p, f"frontend-numbers-unit-{device}")
    # The number a script writes follows the same language: Intl through Diemcau.number.
    assert p.evaluate("Diemcau.number(4900)") == "4.900" and p.evaluate("Diemcau.number(83.25, 1)") == "83,3"
    assert p.evaluate("document.documentElement.dataset.timeZone") == "Asia/Ho_Chi_Minh"
