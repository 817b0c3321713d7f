"""The home page and the sign-in page after their move to the site app, in Chromium on a desktop and
on a phone: the organiser's units with their figures, the conferences, no sideways scrolling."""

import pytest

from diemcau.events.models import Conference
from diemcau.orgs.models import Person

from .conftest import login, shot


@pytest.mark.django_db(transaction=True)
def test_home_on_a_desktop_and_a_phone(page, phone, tree, organiser_bavi, person_factory):
    for n, category in enumerate([Person.Category.MANAGEMENT, Person.Category.TEACHER, Person.Category.TEACHER,
                                  Person.Category.STAFF]):
        person_factory(tree["school_a"], name=f"Người thứ {n + 1}", category=category)
    Conference.objects.create(title="Hội nghị triển khai nhiệm vụ năm học 2023-2024", date="2023-08-15",
                              host_unit=tree["bavi"], place="Ba Vì")

    phone.goto(phone.base_url + "/accounts/login/")
    assert "Đăng nhập" in phone.inner_text("main")
    shot(phone, "site-login-phone")

    for browser_page, name in ((page, "site-home-desktop"), (phone, "site-home-phone")):
        login(browser_page, "bavi")
        main = browser_page.inner_text("main")
        assert "Phòng GD&ĐT huyện Ba Vì" in main
        assert "Hội nghị triển khai nhiệm vụ năm học 2023-2024" in main
        assert browser_page.locator("figure.barchart .barrow").count() >= 2
        width = browser_page.evaluate("document.documentElement.scrollWidth")
        assert width <= browser_page.viewport_size["width"], name  # nothing runs off the screen
        shot(browser_page, name)
