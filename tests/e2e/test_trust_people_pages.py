"""Trust items 5, 6 and 13 as people see them: contacts only for the principal, a teacher's own badge,
a corrected scan time flagged on the point's list. Screenshots at desktop and phone sizes."""

import datetime
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from diemcau.attendance import checkin
from diemcau.orgs.models import Person, Role
from diemcau.orgs.scoping import SYSTEM
from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.points.conftest import bavi_institutions, planning  # noqa: F401

from .conftest import login, shot


@pytest.fixture
def accounts(live_server, world, make_user):  # noqa: F811
    school_a = world["t"]["school_a"]
    Person.objects.filter(unit=school_a).update(phone="0912345678", email="giaovien@tdA.edu.vn")
    make_user("hieutruong", Role.PRINCIPAL, school_a)
    teacher = make_user("binh", Role.PARTICIPANT, school_a)
    Person.objects.filter(pk=world["people"]["a_t1"].pk).update(user=teacher)
    return world


def people_lists(page, accounts, size):
    school_a = accounts["t"]["school_a"]
    login(page, "binh")
    page.goto(f"{page.base_url}/orgs/units/{school_a.pk}/people/")
    expect(page.locator("#people-rows")).to_contain_text("Lê Thị Cúc")
    assert "0912345678" not in page.content() and page.locator("text=Xuất Excel").count() == 0
    shot(page, f"people-list-teacher-no-contacts-{size}")
    page.context.clear_cookies()
    login(page, "hieutruong")
    page.goto(f"{page.base_url}/orgs/units/{school_a.pk}/people/")
    expect(page.locator("#people-rows")).to_contain_text("0912345678")
    shot(page, f"people-list-principal-contacts-{size}")


def own_badge(page, accounts, size):
    login(page, "binh")
    page.goto(f"{page.base_url}/attendance/sessions/{accounts['session'].pk}/institutions/"
              f"{accounts['t']['school_a'].pk}/badges/")
    expect(page.locator(".badge")).to_have_count(1)
    expect(page.locator(".badge .who")).to_have_text("Trần Văn Bình")
    shot(page, f"badges-teacher-own-only-{size}")


def test_people_list_with_and_without_contacts_desktop(page, accounts):
    people_lists(page, accounts, "desktop")


def test_people_list_with_and_without_contacts_phone(phone, accounts):
    people_lists(phone, accounts, "phone")


def test_a_teacher_sees_their_own_badge_desktop(page, accounts):
    own_badge(page, accounts, "desktop")


def test_a_teacher_sees_their_own_badge_phone(phone, accounts):
    own_badge(phone, accounts, "phone")


def test_a_corrected_scan_time_is_flagged(page, accounts, organiser_bavi):
    checkin.check_in(SYSTEM, session=accounts["session"], point=accounts["bavi_point"],
                     person=accounts["people"]["a_t2"], method="roll_call", client_id=uuid.uuid4(),
                     scanned_at=datetime.datetime(2001, 9, 9, 8, 0, tzinfo=datetime.UTC))
    checkin.check_in(SYSTEM, session=accounts["session"], point=accounts["bavi_point"],
                     person=accounts["people"]["a_t3"], method="roll_call", client_id=uuid.uuid4(),
                     scanned_at=timezone.now() - datetime.timedelta(minutes=5))
    login(page, "bavi")
    page.goto(f"{page.base_url}/attendance/sessions/{accounts['session'].pk}/points/"
              f"{accounts['bavi_point'].pk}/people/")
    expect(page.locator("text=Đã sửa giờ quét")).to_have_count(1)
    shot(page, "point-people-scan-time-corrected")
