"""Who operates a bridge point: one rule (``points.access``), one table of roles × points.

Roll call, poster, headcount (attendance), kiosk, floor and thumbnails (live) and sending from a
kiosk (voice) all ask it; before, attendance refused an operator named for a unit (no point id)
whom live let run the kiosk.
"""

import pytest
from django.contrib.auth.models import AnonymousUser

from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import access, bridge_points

pytestmark = pytest.mark.smoke


@pytest.fixture
def halls(planning):
    """The ministry's host point, Hà Nội's department, the Ba Vì office's hall and a Ba Vì school's hall."""
    t, conf = planning["t"], planning["conference"]
    office = bridge_points.create_point(SYSTEM, conf, planning["halls"]["bavi"], name="Điểm cầu Phòng GD&ĐT Ba Vì")
    school = bridge_points.create_point(SYSTEM, conf, planning["halls"]["thpt"], name="Điểm cầu THPT Ba Vì")
    return {"host": planning["host"], "hanoi": planning["hanoi_point"], "office": office, "school": school,
            "t": t, "conference": conf}


@pytest.fixture
def actors(halls, make_user):
    t = halls["t"]

    def operator_of_point(name, point):
        user = make_user(name, Role.POINT_OPERATOR, point.hall.unit)
        RoleAssignment.objects.filter(user=user).update(point_id=point.pk)
        return type(user).objects.get(pk=user.pk)

    return {
        "system": SYSTEM,
        "anonymous": AnonymousUser(),
        "national organiser": make_user("bo", Role.NATIONAL_ORGANISER),
        "Ba Vì organiser": make_user("tc_bavi", Role.UNIT_ORGANISER, t["bavi"]),
        "Hà Nội organiser": make_user("tc_hanoi", Role.UNIT_ORGANISER, t["hanoi"]),
        "operator of the school's point": operator_of_point("kt_thpt", halls["school"]),
        "operator named for Ba Vì's office": make_user("kythuat", Role.POINT_OPERATOR, t["bavi"]),
        "director": make_user("dieuphoi", Role.DIRECTOR),
        "analyst": make_user("phantich", Role.ANALYST),
        "moderator of Ba Vì": make_user("kd_bavi", Role.MODERATOR, t["bavi"]),
        "principal of THPT Ba Vì": make_user("ht_thpt", Role.PRINCIPAL, t["THPT_BAVI"]),
        "teacher of THPT Ba Vì": make_user("gv_thpt", Role.PARTICIPANT, t["THPT_BAVI"]),
    }


# Who operates which point: host (the ministry's), hanoi (the department's), office (Ba Vì's office
# hall), school (THPT Ba Vì's hall).
POINTS = ("host", "hanoi", "office", "school")
TABLE = {
    "system": set(POINTS),
    "anonymous": set(),
    "national organiser": set(POINTS),
    "Ba Vì organiser": {"office", "school"},
    "Hà Nội organiser": {"office", "school", "hanoi"},
    "operator of the school's point": {"school"},
    # Named for the office's unit: the points hosted by the office, not those of schools below it.
    "operator named for Ba Vì's office": {"office"},
    "director": set(),
    "analyst": set(),
    "moderator of Ba Vì": set(),
    "principal of THPT Ba Vì": set(),
    "teacher of THPT Ba Vì": set(),
}


@pytest.mark.parametrize("role", list(TABLE))
def test_who_operates_which_point(role, actors, halls):
    actor = actors[role]
    operated = {name for name in POINTS if access.operates_point(actor, halls[name])}
    assert operated == TABLE[role]
    # The list (kiosks, roll-call points) and the check say the same.
    listed = {p.pk for p in access.operated_points(actor, halls["conference"].pk)}
    assert listed == {halls[name].pk for name in TABLE[role]}


def test_a_unit_named_operator_runs_roll_call_poster_and_kiosk_of_its_point(client, actors, halls, planning):
    """The demo's technician (named for the district office) opens all three; another point is 404."""
    user = actors["operator named for Ba Vì's office"]
    client.force_login(user)
    office, school = halls["office"], halls["school"]
    session = planning["morning"]
    for point, expected in ((office, 200), (school, 404)):
        assert client.get(f"/attendance/sessions/{session.pk}/points/{point.pk}/roll-call/").status_code == expected
        assert client.get(f"/attendance/sessions/{session.pk}/points/{point.pk}/poster/").status_code == expected
        kiosk = client.get(f"/live/points/{point.pk}/kiosk/").status_code
        assert (kiosk == 200) == (expected == 200), kiosk
