"""The bare endpoint the benchmarks measure as the server stack's ceiling: no sign-in, one query."""

import pytest

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def test_healthz_answers_without_sign_in_in_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
