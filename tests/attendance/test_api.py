"""The attendance API: idempotent check-ins, all-or-nothing batches, headcounts, scoped roll-ups."""

import uuid

import pytest

from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Role

pytestmark = pytest.mark.smoke


def item(world, person, **kw):
    return {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk,
            "point_id": world["bavi_point"].pk, "person_id": person.pk, "method": "roll_call", **kw}


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_single_check_in_is_idempotent(client, world, organiser_bavi):
    client.force_login(organiser_bavi)
    body = item(world, world["people"]["a_t1"])
    first = post(client, "/api/attendance/checkins/", body)
    assert first.status_code == 200 and first.json()["created"] is True
    again = post(client, "/api/attendance/checkins/", body)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["id"] == first.json()["id"] and CheckIn.objects.count() == 1


def test_errors_carry_codes_and_scope_is_404(client, world, organiser_bavi, make_user):
    client.force_login(organiser_bavi)
    response = post(client, "/api/attendance/checkins/", item(world, world["people"]["a_t1"], badge="forged"))
    assert response.status_code == 400 and response.json()["code"] == "badge_forged"
    socson = make_user("socson", Role.UNIT_ORGANISER, world["t"]["socson"])
    client.force_login(socson)
    response = post(client, "/api/attendance/checkins/", item(world, world["people"]["a_t1"]))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert CheckIn.objects.count() == 0


def test_batch_all_or_nothing(client, world, organiser_bavi):
    client.force_login(organiser_bavi)
    p = world["people"]
    items = [item(world, p["a_t1"]), item(world, p["c_t1"]), item(world, p["a_t2"])]
    response = post(client, "/api/attendance/checkins/batch/", {"items": items})
    assert response.status_code == 400 and response.json()["code"] == "batch_refused"
    assert [(d["index"], d["code"]) for d in response.json()["details"]] == [(1, "not_found")]
    assert CheckIn.objects.count() == 0
    good = {"items": [items[0], items[2], items[0]]}
    results = post(client, "/api/attendance/checkins/batch/", good).json()["results"]
    assert [r["created"] for r in results] == [True, True, False]
    results = post(client, "/api/attendance/checkins/batch/", good).json()["results"]
    assert [r["created"] for r in results] == [False, False, False] and CheckIn.objects.count() == 2


@pytest.mark.parametrize("body", [
    {"items": []},
    {"items": [{"client_id": "not-a-uuid", "session_id": 1, "point_id": 1}]},
    {"nothing": 1},
])
def test_malformed_batches_are_422(client, world, organiser_bavi, body):
    client.force_login(organiser_bavi)
    response = post(client, "/api/attendance/checkins/batch/", body)
    assert response.status_code == 422 and response.json()["code"] == "invalid"
    assert CheckIn.objects.count() == 0


def test_a_batch_above_500_is_refused(client, world, organiser_bavi):
    client.force_login(organiser_bavi)
    items = [item(world, world["people"]["a_t1"]) for _ in range(501)]
    assert post(client, "/api/attendance/checkins/batch/", {"items": items}).status_code == 422
    assert CheckIn.objects.count() == 0


def test_headcount_and_rollup(client, world, organiser_bavi, make_user):
    client.force_login(organiser_bavi)
    body = {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk, "point_id": world["thpt_point"].pk,
            "counts": {"teacher": 12, "staff": 3}}
    response = post(client, "/api/attendance/headcounts/", body)
    assert response.status_code == 200 and response.json() == {"total": 15, "present_at_point": 15}
    over = post(client, "/api/attendance/headcounts/", {**body, "client_id": str(uuid.uuid4()),
                                                        "counts": {"teacher": 200}})
    assert over.status_code == 400 and over.json()["code"] == "over_capacity"
    rollup = client.get(f"/api/attendance/sessions/{world['session'].pk}/rollup/{world['t']['bavi'].pk}/")
    assert rollup.status_code == 200
    data = rollup.json()
    assert (data["expected"], data["present"], data["by_category"]["teacher"]) == (86, 15, 12)
    outside = client.get(f"/api/attendance/sessions/{world['session'].pk}/rollup/{world['t']['socson'].pk}/")
    assert outside.status_code == 404
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, world["t"]["socson"]))
    assert post(client, "/api/attendance/headcounts/", {**body, "client_id": str(uuid.uuid4())}).status_code == 404


def test_api_needs_a_login(client, world):
    assert post(client, "/api/attendance/checkins/", item(world, world["people"]["a_t1"])).status_code == 401
