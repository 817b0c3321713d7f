"""A teacher forgot their password: the Ba Vì organiser resets it, the teacher signs in with the
temporary one and is made to choose their own, on a phone."""

import pytest

from diemcau.orgs.models import LoginFailure, Person

from .conftest import login, shot


@pytest.mark.django_db(transaction=True)
def test_reset_then_change_on_a_phone(page, phone, tree, organiser_bavi, make_user, person_factory):
    teacher = make_user("giaovien")
    person = person_factory(tree["school_a"], name="Nguyễn Thị Hoa", category=Person.Category.TEACHER)
    person.user = teacher
    person.save()

    login(page, "bavi")
    page.click("a.account-link[href='/accounts/reset/']")
    page.fill("input[name=q]", "giaovien")
    page.click("form.filters button[type=submit]")
    shot(page, "accounts-reset-list")
    page.click("table.grid button[type=submit]")
    temporary = page.inner_text("#temporary-password").strip()
    assert len(temporary) == 14
    shot(page, "accounts-reset-done")

    # The teacher, on a phone: signed in with the temporary password, sent to change it.
    login(phone, "giaovien", temporary)
    assert phone.url.endswith("/accounts/password/")
    assert "người tổ chức đặt lại" in phone.inner_text("main")
    phone.fill("#id_old_password", temporary)
    phone.fill("#id_new_password1", "12345678")
    phone.fill("#id_new_password2", "12345678")
    phone.click("main form button[type=submit]")
    assert "quá phổ biến" in phone.inner_text("main")
    shot(phone, "accounts-change-refused-phone")
    phone.fill("#id_old_password", temporary)
    phone.fill("#id_new_password1", "Hoa-phuong-do-2024")
    phone.fill("#id_new_password2", "Hoa-phuong-do-2024")
    phone.click("main form button[type=submit]")
    phone.wait_for_url(lambda url: "/accounts/password/" not in url)
    assert "Đã đổi mật khẩu" in phone.inner_text("main")
    shot(phone, "accounts-changed-phone")

    # The organiser's own change page, on the desktop.
    page.goto(page.base_url + "/accounts/password/")
    shot(page, "accounts-change-desktop")

    # The organiser's list on a phone: the table scrolls sideways inside its frame, the page does not.
    phone.context.clear_cookies()
    login(phone, "bavi")
    phone.click("button.menu-toggle")
    phone.click("nav a.account-nav[href='/accounts/reset/']")
    shot(phone, "accounts-reset-list-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.django_db(transaction=True)
def test_the_backoff_message_on_the_sign_in_page(page, phone, national, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_BACKOFF_BASE_SECONDS = 60
    for browser_page, name in ((page, "accounts-backoff-desktop"), (phone, "accounts-backoff-phone")):
        browser_page.goto(browser_page.base_url + "/accounts/login/")
        for password in ("sai-1", "sai-2", "Mat-khau-2023"):
            browser_page.fill("#id_username", "bo")
            browser_page.fill("#id_password", password)
            browser_page.click("form.login-form button[type=submit]")
            browser_page.wait_for_selector(".errorbox")
        assert "Vui lòng thử lại sau" in browser_page.inner_text(".errorbox")
        shot(browser_page, name)
        LoginFailure.objects.all().delete()
