"""Sessions off the database (cached_db on a real Redis): a request reads no session row, and
sign-out, a password change and a reset still end a session at once, in every process."""

import pytest
from django.contrib.sessions.models import Session as DbSession
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from diemcau.orgs import accounts, services
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from tests.servers import redis_server

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture
def cached_sessions(settings, redis_url):
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": "test"}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    caches["default"].clear()
    yield
    caches["default"].clear()


def _reads_sessions(client, url="/") -> bool:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return any(DbSession._meta.db_table in q["sql"] for q in captured)


def _another_process(client) -> Client:
    """The same browser's cookie sent to another process: a client sharing nothing but the cache."""
    other = Client()
    other.cookies = client.cookies
    return other


def test_a_signed_in_request_reads_no_session_row_and_sign_out_ends_it_everywhere(cached_sessions, make_user):
    user = make_user("gv_cache", password="Mat-khau-2023")
    client = Client()
    assert client.post("/accounts/login/", {"username": "gv_cache", "password": "Mat-khau-2023"}).status_code == 302
    assert not _reads_sessions(client)
    cookie = client.cookies["sessionid"].value
    assert DbSession.objects.filter(session_key=cookie).exists()  # written through: a restart keeps it
    other = _another_process(client)
    assert other.get("/").status_code == 200
    client.post("/accounts/logout/")
    # The old cookie, replayed anywhere, is signed out.
    stale = Client()
    stale.cookies["sessionid"] = cookie
    assert stale.get("/").status_code == 302
    assert not DbSession.objects.filter(session_key=cookie).exists()
    assert user.pk


def test_a_password_change_and_a_reset_end_the_other_sessions(cached_sessions, make_user, tree):
    make_user("tc_bavi_cache", Role.UNIT_ORGANISER, tree["bavi"])
    teacher = make_user("gv_bavi_cache", password="Mat-khau-2023")
    services.create_person(SYSTEM, unit=tree["school_a"], full_name="Lê Văn Tùng",
                           category="teacher", code="P_CACHE_1", user=teacher)
    phone, laptop = Client(), Client()
    for c in (phone, laptop):
        c.post("/accounts/login/", {"username": "gv_bavi_cache", "password": "Mat-khau-2023"})
        assert c.get("/").status_code == 200
    changed = laptop.post("/accounts/password/", {"old_password": "Mat-khau-2023", "new_password1": "Cau-Moi-2024!x",
                                                  "new_password2": "Cau-Moi-2024!x"})
    assert changed.status_code == 302
    assert laptop.get("/").status_code == 200  # the browser that changed it stays signed in
    assert phone.get("/").status_code == 302  # the other one is out, although its session is cached
    organiser = type(teacher).objects.get(username="tc_bavi_cache")
    accounts.reset_password(organiser, type(teacher).objects.get(pk=teacher.pk))
    assert laptop.get("/").status_code == 302
