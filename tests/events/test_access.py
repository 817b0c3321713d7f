"""Who directs a conference and who sees it: one table of roles × conferences.

Before ``events.access``, live and voice each decided "directs this conference" and disagreed on
two rows: live let a director of Sóc Sơn who also moderates Ba Vì direct Ba Vì's conference (it
read the director's whole read scope, not the director assignment), and live's ``is_director``
gave a director of Hà Nội the whole floor queue of the ministry's conference, which they cannot
direct. Voice's rule (the director assignment covers the host unit) is the one kept.
"""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser

from diemcau.core.errors import ScopeError
from diemcau.events import access
from diemcau.events import services as events
from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke

DAY = datetime.date(2023, 8, 15)
CONFERENCES = ("ministry", "hanoi", "bavi", "socson", "hcm")


@pytest.fixture
def conferences(tree):
    return {key: events.create_conference(SYSTEM, title=f"Hội nghị {key}", date=DAY, host_unit=tree[key])
            for key in CONFERENCES}


@pytest.fixture
def actors(tree, make_user, person_factory):
    def two(name, *roles):
        user = make_user(name)
        for role, unit in roles:
            from diemcau.orgs import services as orgs
            orgs.grant_role(SYSTEM, user, role, unit)
        return type(user).objects.get(pk=user.pk)

    teacher = make_user("gv_tayDang")
    person_factory(tree["school_a"], user=teacher)
    return {
        "system": SYSTEM,
        "anonymous": AnonymousUser(),
        "national organiser": make_user("bo", Role.NATIONAL_ORGANISER),
        "Ba Vì organiser": make_user("tc_bavi", Role.UNIT_ORGANISER, tree["bavi"]),
        "Hà Nội organiser": make_user("tc_hanoi", Role.UNIT_ORGANISER, tree["hanoi"]),
        "director (unscoped)": make_user("dp", Role.DIRECTOR),
        "director of Hà Nội": make_user("dp_hanoi", Role.DIRECTOR, tree["hanoi"]),
        "director of Sóc Sơn, moderator of Ba Vì": two(
            "dp_ss", (Role.DIRECTOR, tree["socson"]), (Role.MODERATOR, tree["bavi"])),
        "moderator of Ba Vì": make_user("kd_bavi", Role.MODERATOR, tree["bavi"]),
        "analyst": make_user("pt", Role.ANALYST),
        "point operator of Ba Vì": make_user("kt_bavi", Role.POINT_OPERATOR, tree["bavi"]),
        "teacher of Tây Đằng A": teacher,
        "account with no role": make_user("nobody"),
    }


ALL = set(CONFERENCES)
LINE_BAVI = {"ministry", "hanoi", "bavi"}  # Ba Vì's subtree and the units it hangs from
# role: (conferences seen, conferences directed)
TABLE = {
    "system": (ALL, ALL),
    "anonymous": (set(), set()),
    "national organiser": (ALL, ALL),
    "Ba Vì organiser": (LINE_BAVI, set()),
    "Hà Nội organiser": ({"ministry", "hanoi", "bavi", "socson"}, set()),
    "director (unscoped)": (ALL, ALL),
    "director of Hà Nội": ({"ministry", "hanoi", "bavi", "socson"}, {"hanoi", "bavi", "socson"}),
    # Directs by its director assignment only: moderating Ba Vì gives no right to direct Ba Vì.
    "director of Sóc Sơn, moderator of Ba Vì": ({"ministry", "hanoi", "bavi", "socson"}, {"socson"}),
    "moderator of Ba Vì": (LINE_BAVI, set()),
    "analyst": (ALL, set()),
    "point operator of Ba Vì": (LINE_BAVI, set()),
    "teacher of Tây Đằng A": (LINE_BAVI, set()),
    "account with no role": (set(), set()),
}


@pytest.mark.parametrize("role", list(TABLE))
def test_who_sees_and_directs_which_conference(role, actors, conferences):
    actor = actors[role]
    seen, directed = TABLE[role]
    assert {k for k, c in conferences.items() if c in access.visible_conferences(actor)} == seen
    assert {k for k, c in conferences.items() if access.sees_conference(actor, c)} == seen
    # Host unit loaded: decided on its path in Python (the votes' fast path); not loaded: the database.
    assert all(Conference.host_unit.is_cached(c) for c in conferences.values())
    assert {k for k, c in conferences.items()
            if access.sees_conference(actor, Conference.objects.get(pk=c.pk))} == seen
    assert {k for k, c in conferences.items() if access.can_direct(actor, c)} == directed
    for key, conference in conferences.items():
        if key in seen:
            assert access.visible_conference(actor, conference.pk) == conference
        else:
            with pytest.raises(ScopeError):
                access.visible_conference(actor, conference.pk)
        if key in directed:
            access.require_director(actor, conference)
        else:
            with pytest.raises(ScopeError) as refused:
                access.require_director(actor, conference)
            assert refused.value.code == "not_director"
    assert directed <= seen  # whoever directs a conference sees it


def test_the_floor_queue_names_speakers_to_those_who_direct(actors, conferences, tree):
    """Before: live's ``is_director`` showed any director the whole queue of any conference they saw."""
    from diemcau.live import floor
    from diemcau.points import bridge_points, halls

    ministry = conferences["ministry"]
    studio = halls.create_hall(SYSTEM, tree["ministry"], name="Trường quay", capacity=50)
    bridge_points.create_point(SYSTEM, ministry, studio, name="Điểm cầu chính", is_host=True)
    hall = halls.create_hall(SYSTEM, tree["socson"], name="Hội trường Sóc Sơn", capacity=80)
    point = bridge_points.create_point(SYSTEM, ministry, hall, name="Điểm cầu Sóc Sơn")
    floor.request_floor(SYSTEM, point, "Nguyễn Thị Thu Hà")
    queues = {role: [row["who"] for row in floor.floor_queue(actors[role], ministry)]
              for role in ("director (unscoped)", "director of Hà Nội", "national organiser", "Hà Nội organiser",
                           "Ba Vì organiser")}
    assert queues == {
        "director (unscoped)": ["Nguyễn Thị Thu Hà"],
        "director of Hà Nội": [],  # directs Hà Nội's conferences, not the ministry's
        "national organiser": ["Nguyễn Thị Thu Hà"],
        "Hà Nội organiser": ["Nguyễn Thị Thu Hà"],  # runs the Sóc Sơn point (points.access)
        "Ba Vì organiser": [],
    }
