"""The roll-call screen's offline list, the point's QR poster, and a participant's self check-in.

Bad tokens (forged, expired, a personal badge, another session) each get their message and write
nothing; every page is scoped: another district's organiser gets a 404, a participant only ever
checks themselves in.
"""

import datetime
import re
import uuid

import pytest
from django.utils import timezone
from django.utils.html import escape

from diemcau.attendance import badges, checkin
from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Role, RoleAssignment

pytestmark = pytest.mark.smoke


def base(world, point="bavi_point"):
    return f"/attendance/sessions/{world['session'].pk}/points/{world[point].pk}/"


@pytest.fixture
def now_session(world):
    """The morning session moved to now, so the poster's default expiry lies ahead."""
    now = timezone.now()
    s = world["session"]
    s.starts_at, s.ends_at = now - datetime.timedelta(hours=1), now + datetime.timedelta(hours=2)
    s.save(update_fields=["starts_at", "ends_at"])
    return s


@pytest.fixture
def participant(world, make_user):
    """Trần Văn Bình's own account, linked to his person."""
    user = make_user("binh", Role.PARTICIPANT, world["t"]["school_a"])
    person = world["people"]["a_t1"]
    person.user = user
    person.save()
    return user


def point_token(world, point="bavi_point", session=None, **kw):
    kw.setdefault("expires_at", timezone.now() + datetime.timedelta(hours=1))
    return badges.make_badge_token(session or world["session"], world[point], **kw)


def test_offline_list_has_folded_names_presence_and_delegations(client, world, organiser_bavi):
    p = world["people"]
    checkin.check_in(organiser_bavi, session=world["session"], point=world["bavi_point"], person=p["a_t2"],
                     method="roll_call", client_id=uuid.uuid4())
    client.force_login(organiser_bavi)
    data = client.get(base(world) + "roll-call/data.json").json()
    names = {x["name"]: x for x in data["people"]}
    assert set(names) == {"Nguyễn Thị Hà", "Trần Văn Bình", "Lê Thị Cúc", "Phạm Đức Dũng", "Đỗ Văn Em",
                          "Vũ Thị Giang", "Hoàng Văn Hải"}  # the Ba Vì point's two schools, nobody else
    assert names["Đỗ Văn Em"]["folded"] == "do van em" and names["Đỗ Văn Em"]["unit"] == world["t"]["school_a"].name
    assert data["present"] == [p["a_t2"].pk]
    # "Whole delegation present" offline: the named members; a composition rule without names, nobody.
    assert data["delegations"] == {str(world["t"]["school_b"].pk): sorted([p["b_principal"].pk, p["b_t1"].pk])}


def test_offline_list_and_poster_are_scoped(client, world, make_user):
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, world["t"]["socson"]))
    assert client.get(base(world) + "roll-call/data.json").status_code == 404
    assert client.get(base(world) + "poster/").status_code == 404
    operator = make_user("kythuat")
    RoleAssignment.objects.create(user=operator, role=Role.POINT_OPERATOR, unit=world["t"]["THPT_BAVI"],
                                  point_id=world["thpt_point"].pk)
    client.force_login(operator)
    assert client.get(base(world) + "roll-call/data.json").status_code == 404
    data = client.get(base(world, "thpt_point") + "roll-call/data.json").json()
    assert [x["name"] for x in data["people"]] == ["Bùi Văn Khánh"]
    client.logout()
    assert client.get(base(world) + "roll-call/data.json").status_code == 302  # to the sign-in page


def test_poster_to_phone_to_check_in(client, world, organiser_bavi, participant, now_session):
    client.force_login(organiser_bavi)
    poster = client.get(base(world) + "poster/").content.decode()
    assert "<svg" in poster and escape(world["bavi_point"].name) in poster
    link = re.search(r'class="link">(http://testserver/attendance/c/[^<]+/)<', poster).group(1)
    path = link.removeprefix("http://testserver")

    client.logout()
    assert client.get(path)["Location"].startswith("/accounts/login/?next=")
    client.force_login(participant)
    page = client.get(path).content.decode()
    assert "Trần Văn Bình" in page and escape(world["bavi_point"].name) in page
    client_id = re.search(r'name="client_id" value="([0-9a-f-]+)"', page).group(1)
    for _ in range(2):  # a double tap sends the same client id: one check-in
        done = client.post(path, {"client_id": client_id, "person": world["people"]["a_t2"].pk})
        assert done.status_code == 200 and "Đã điểm danh" in done.content.decode()
    row = CheckIn.objects.get()
    assert (row.person, row.method, row.recorded_by, row.point) == (
        world["people"]["a_t1"], "qr_self", participant, world["bavi_point"])  # himself, whatever is posted
    assert "Bạn đã được điểm danh lúc" in client.get(path).content.decode()


@pytest.mark.parametrize("kind, message", [
    ("forged", "giả mạo"), ("expired", "hết hạn"), ("personal", "thẻ cá nhân"), ("tampered", "giả mạo"),
])
def test_bad_tokens_are_refused_with_a_message(client, world, participant, kind, message):
    good = point_token(world)
    token = {
        "forged": "not-a-token",
        "expired": point_token(world, expires_at=timezone.now() - datetime.timedelta(minutes=1)),
        "personal": point_token(world, person=world["people"]["a_t1"]),
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
    }[kind]
    client.force_login(participant)
    for response in (client.get(f"/attendance/c/{token}/"),
                     client.post(f"/attendance/c/{token}/", {"client_id": str(uuid.uuid4())})):
        assert response.status_code == 400 and message in response.content.decode().lower()
    assert CheckIn.objects.count() == 0


def test_another_session_or_a_stranger_is_refused(client, world, participant, make_user):
    # The afternoon session's QR at the same point: Bình's school is not invited to it.
    token = point_token(world, session=world["afternoon"])
    client.force_login(participant)
    response = client.post(f"/attendance/c/{token}/", {"client_id": str(uuid.uuid4())})
    assert response.status_code == 400 and "không được mời" in response.content.decode()
    # An account without a person: told so, and nothing is written.
    client.force_login(make_user("khach"))
    token = point_token(world)
    assert "chưa gắn với hồ sơ" in client.get(f"/attendance/c/{token}/").content.decode()
    client.post(f"/attendance/c/{token}/", {"client_id": str(uuid.uuid4())})
    assert CheckIn.objects.count() == 0


def test_a_participant_of_another_point_is_flagged_not_refused(client, world, make_user):
    user = make_user("lan", Role.PARTICIPANT, world["t"]["school_c"])
    person = world["people"]["c_t1"]  # Sóc Sơn, assigned to the Hà Nội point
    person.user = user
    person.save()
    client.force_login(user)
    page = client.post(f"/attendance/c/{point_token(world)}/", {"client_id": str(uuid.uuid4())}).content.decode()
    assert "điểm cầu khác" in page
    assert CheckIn.objects.get(person=person).other_point is True


def test_operator_scans_badges_through_the_batch(client, world, organiser_bavi):
    """The camera's queue: personal badges in a batch; one for another session refuses the batch."""
    p, s, pt = world["people"], world["session"], world["bavi_point"]

    def item(token):
        return {"client_id": str(uuid.uuid4()), "session_id": s.pk, "point_id": pt.pk, "method": "qr_scan",
                "badge": token}

    good = item(point_token(world, person=p["b_t1"]))
    other = item(point_token(world, person=p["a_t3"], session=world["afternoon"]))
    client.force_login(organiser_bavi)
    response = client.post("/api/attendance/checkins/batch/", {"items": [good, other]},
                           content_type="application/json")
    assert response.status_code == 400
    assert [(d["index"], d["code"]) for d in response.json()["details"]] == [(1, "badge_other_session")]
    assert CheckIn.objects.count() == 0
    response = client.post("/api/attendance/checkins/batch/", {"items": [good]}, content_type="application/json")
    assert response.status_code == 200 and response.json()["results"][0]["person_id"] == p["b_t1"].pk
    assert CheckIn.objects.get().method == "qr_scan"


def test_the_service_worker_is_served_for_the_attendance_scope(client):
    response = client.get("/attendance/rollcall-sw.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert b"roll-call" in response.content and response["Cache-Control"] == "no-cache"


def test_a_session_not_started_yet_is_pointed_out(client, world, participant):
    s = world["afternoon"]
    s.starts_at, s.ends_at = timezone.now() + datetime.timedelta(hours=5), timezone.now() + datetime.timedelta(hours=8)
    s.save(update_fields=["starts_at", "ends_at"])
    client.force_login(participant)
    page = client.get(f"/attendance/c/{point_token(world, session=s)}/").content.decode()
    assert "Chưa bắt đầu" in page and "áp phích của đúng phiên" in page
    assert "Chưa bắt đầu" not in client.get(f"/attendance/c/{point_token(world)}/").content.decode()
