"""The JSON API: scoped like the pages, typed, published as OpenAPI."""

import pytest

pytestmark = pytest.mark.smoke


def test_api_needs_a_login(client, tree):
    response = client.get("/api/orgs/units/")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_search_is_scoped_and_folds(client, organiser_bavi, tree):
    client.force_login(organiser_bavi)
    codes = [u["code"] for u in client.get("/api/orgs/units/", {"q": "TRUONG"}).json()]
    assert set(codes) == {"TH_TAYDANG_A", "MN_VANHOA"}
    roots = client.get("/api/orgs/units/").json()
    assert [u["code"] for u in roots] == ["PGD_BAVI"]


def test_outside_the_scope_is_not_found(client, organiser_bavi, tree):
    client.force_login(organiser_bavi)
    for url in (f"/api/orgs/units/{tree['school_c'].pk}/", f"/api/orgs/units/{tree['hanoi'].pk}/counts/",
                f"/api/orgs/units/?parent={tree['socson'].pk}"):
        response = client.get(url)
        assert response.status_code == 404, url


def test_unit_and_counts(client, national, tree, person_factory):
    person_factory(tree["school_a"])
    client.force_login(national)
    unit = client.get(f"/api/orgs/units/{tree['school_a'].pk}/").json()
    assert unit["levels"] == ["primary"] and unit["teachers_count"] == 30
    counts = client.get(f"/api/orgs/units/{tree['bavi'].pk}/counts/").json()
    assert counts["institutions"] == 2 and counts["people_total"] == 1


def test_bad_parameters_are_a_clear_422(client, national, tree):
    client.force_login(national)
    response = client.get("/api/orgs/units/", {"limit": 100000})
    assert response.status_code == 422 and response.json()["code"] == "invalid"


def test_openapi_is_published(client, db):
    schema = client.get("/api/openapi.json").json()
    assert "/api/orgs/units/" in schema["paths"]
