"""Sign-in: Vietnamese by default, lockout after repeated failures, CSRF, audit."""

import pytest
from django.test import Client, override_settings

from diemcau.core.models import AuditEntry
from diemcau.orgs.models import LoginFailure

pytestmark = pytest.mark.smoke


def _login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_page_speaks_vietnamese(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert "Đăng nhập" in html
    assert 'lang="vi"' in html


def test_english_is_selectable(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    html = client.get("/accounts/login/").content.decode()
    assert "Sign in" in html and 'lang="en"' in html


def test_pages_need_a_login(client, db):
    response = client.get("/orgs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_good_login_is_audited(client, national):
    response = _login(client, "bo", "Mat-khau-2023")
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="account.login", actor=national).exists()


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_LOCKOUT_MINUTES=15)
def test_lockout_after_repeated_failures(client, national):
    for _ in range(3):
        response = _login(client, "bo", "wrong")
        assert response.status_code == 200
        assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.content.decode()
    # Now even the right password is refused, with a message saying why.
    response = _login(client, "bo", "Mat-khau-2023")
    assert response.status_code == 200
    assert "Đăng nhập sai quá nhiều lần" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out by bo's failures.
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("khac", password="Mat-khau-2023")
    assert _login(Client(), "khac", "Mat-khau-2023").status_code == 302


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_lockout_expires(client, national):
    from datetime import timedelta

    from django.utils import timezone

    for _ in range(3):
        _login(client, "bo", "wrong")
    LoginFailure.objects.update(at=timezone.now() - timedelta(hours=1))
    assert _login(client, "bo", "Mat-khau-2023").status_code == 302


def test_logout_needs_post_and_csrf(national):
    client = Client(enforce_csrf_checks=True)
    client.force_login(national)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 403  # no CSRF token


def test_dates_are_day_first_in_hanoi_time(client, national):
    import datetime

    from django.template import Context, Template
    from django.utils import translation

    # No time zone override: the project's own setting must put this at 08:30 in Hà Nội.
    moment = datetime.datetime(2023, 8, 15, 1, 30, tzinfo=datetime.UTC)
    with translation.override("vi"):
        out = Template("{{ d|date:'SHORT_DATETIME_FORMAT' }} {{ d|date }}").render(Context({"d": moment}))
    assert out == "15/08/2023 08:30 15/08/2023"


def test_security_headers(client, db):
    response = client.get("/accounts/login/")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
