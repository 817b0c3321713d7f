"""NUL in any request is a 400, never a 500 from PostgreSQL (Trust item 11): the net under the text rules."""

import uuid

import pytest

from diemcau.attendance.models import CheckIn

pytestmark = pytest.mark.smoke


def test_check_in_with_nul_in_a_device_name_is_a_400(client, world, organiser_bavi):
    client.force_login(organiser_bavi)
    body = {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk, "point_id": world["bavi_point"].pk,
            "person_id": world["people"]["a_t1"].pk, "method": "roll_call", "device": "kiosk\x00"}
    r = client.post("/api/attendance/checkins/", body, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "unsafe_char" and "U+0000" in r.json()["message"]
    assert not CheckIn.objects.exists()


def test_nul_in_a_query_or_a_form_is_a_400(client, world, organiser_bavi):
    client.force_login(organiser_bavi)
    assert client.get("/orgs/search/", {"q": "a\x00b"}).status_code == 400
    r = client.post("/orgs/import/", "kind=units&x=%00", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400 and "U+0000" in r.content.decode()
    assert client.get("/orgs/search/", {"q": "Tây Đằng"}).status_code == 200
