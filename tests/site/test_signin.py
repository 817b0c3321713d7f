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


BACKOFF = {"LOGIN_FAILURE_LIMIT": 3, "LOGIN_BACKOFF_BASE_SECONDS": 60, "LOGIN_BACKOFF_MAX_SECONDS": 300}


def _from(address, **extra):
    """A browser whose connection comes from ``address`` (the peer the server sees)."""
    return Client(REMOTE_ADDR=address, **extra)


@override_settings(**BACKOFF)
def test_backoff_after_free_failures(national):
    client = _from("198.51.100.7")
    for _ in range(3):
        response = _login(client, "bo", "wrong")
        assert response.status_code == 200
        assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.content.decode()
    # Now even the right password is refused, without being checked, with the wait in seconds.
    response = _login(client, "bo", "Mat-khau-2023")
    assert response.status_code == 200
    assert "Đăng nhập sai nhiều lần. Vui lòng thử lại sau 60 giây." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginFailure.objects.count() == 3  # the refused try was not a checked failure


@override_settings(**BACKOFF)
def test_backoff_doubles_and_is_capped(national):
    from datetime import timedelta

    from django.db.models import F

    from diemcau.orgs import lockout

    client = _from("198.51.100.7")
    waits = []
    for _ in range(7):
        assert "không đúng" in _login(client, "bo", "wrong").content.decode()
        waits.append(lockout.retry_after("bo", "198.51.100.7"))
        # Let the wait pass, as a patient guesser would, and guess again.
        LoginFailure.objects.update(at=F("at") - timedelta(seconds=waits[-1] + 1))
    assert waits == [0, 0, 60, 120, 240, 300, 300]


@override_settings(**BACKOFF)
def test_success_clears_the_accounts_failures(national):
    client = _from("198.51.100.7")
    for _ in range(2):
        _login(client, "bo", "wrong")
    assert _login(client, "bo", "Mat-khau-2023").status_code == 302
    assert not LoginFailure.objects.filter(username="bo").exists()


@override_settings(**BACKOFF)
def test_old_failures_are_forgotten(national):
    from datetime import timedelta

    from django.utils import timezone

    client = _from("198.51.100.7")
    for _ in range(3):
        _login(client, "bo", "wrong")
    LoginFailure.objects.update(at=timezone.now() - timedelta(hours=25))
    assert _login(client, "bo", "Mat-khau-2023").status_code == 302


def test_a_school_nat_is_not_locked_by_one_guesser(db, django_user_model):
    """20 failures from a school's one address, on many accounts: another teacher still signs in."""
    django_user_model.objects.create_user("giaovien", password="Mat-khau-2023")
    guesser = _from("203.0.113.5")
    for n in range(20):
        assert _login(guesser, f"gv{n:02d}", "sai-mat-khau").status_code == 200
    teacher = _from("203.0.113.5")
    assert _login(teacher, "giaovien", "Mat-khau-2023").status_code == 302


@override_settings(**BACKOFF)
def test_a_guesser_on_the_directors_account_does_not_stop_the_director(national):
    guesser = _from("198.51.100.7")
    for _ in range(30):
        _login(guesser, "bo", "wrong")
    assert "thử lại sau" in _login(guesser, "bo", "Mat-khau-2023").content.decode()
    # The director, from the ministry's own address, is not held back by someone else's guesses.
    assert _login(_from("203.0.113.20"), "bo", "Mat-khau-2023").status_code == 302


def test_forwarded_for_is_ignored_from_an_untrusted_peer(national):
    client = _from("198.51.100.7", HTTP_X_FORWARDED_FOR="192.0.2.44")
    _login(client, "bo", "wrong")
    assert list(LoginFailure.objects.values_list("ip", flat=True)) == ["198.51.100.7"]


@override_settings(DIEMCAU_TRUSTED_PROXIES=["10.0.0.0/8", "127.0.0.1"])
def test_forwarded_for_names_the_client_behind_a_trusted_proxy(national):
    # nginx (10.0.0.9) behind a balancer (10.0.0.1); the client forged a first entry of its own.
    client = _from("10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.44, 10.0.0.9")
    _login(client, "bo", "wrong")
    assert list(LoginFailure.objects.values_list("ip", flat=True)) == ["192.0.2.44"]
    # A peer outside the list cannot pick its address, even with the list configured.
    LoginFailure.objects.all().delete()
    _login(_from("198.51.100.7", HTTP_X_FORWARDED_FOR="192.0.2.44"), "bo", "wrong")
    assert list(LoginFailure.objects.values_list("ip", flat=True)) == ["198.51.100.7"]


@override_settings(**BACKOFF)
def test_admin_login_has_the_same_backoff(national, django_user_model):
    django_user_model.objects.create_user("hotro", password="Mat-khau-2023", is_staff=True)
    client = _from("198.51.100.7")
    for _ in range(3):
        response = client.post("/admin/login/", {"username": "hotro", "password": "wrong"})
        assert response.status_code == 200
    assert LoginFailure.objects.filter(username="hotro").count() == 3
    response = client.post("/admin/login/", {"username": "hotro", "password": "Mat-khau-2023"})
    assert response.status_code == 200
    assert "thử lại sau" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # From elsewhere, the staff member signs in to the admin as usual.
    response = _from("203.0.113.20").post("/admin/login/", {"username": "hotro", "password": "Mat-khau-2023"})
    assert response.status_code == 302


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
