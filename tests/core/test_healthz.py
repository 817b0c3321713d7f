"""``/healthz``: the database and Redis reachable, 200 or 503 JSON, no sign-in, no data. Also the
bare endpoint the benchmarks measure as the server stack's ceiling (one query)."""

import pytest

from diemcau.core import health
from tests.servers import redis_server

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture
def fresh_redis_client():
    health._redis_client = None
    yield
    health._redis_client = None


def test_healthz_answers_without_sign_in_in_one_query(client, django_assert_num_queries, settings,
                                                      fresh_redis_client):
    settings.REDIS_URL = ""
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "not_configured"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_says_503_when_redis_is_down(client, settings, fresh_redis_client):
    with redis_server() as url:
        settings.REDIS_URL = url
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "redis": "ok"}
    # the private redis-server has stopped: its port refuses
    response = client.get("/healthz")
    assert response.status_code == 503 and response["Retry-After"] == str(health.RETRY_AFTER_SECONDS)
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "down"}
