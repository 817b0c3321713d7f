"""Who sees and changes which points, checked against a brute-force walk of the tree for every role."""

import pytest

from diemcau.core.errors import DomainError
from diemcau.events import access as event_access
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM, scope_for
from diemcau.points import access, assignment, bridge_points, halls, official_list, readiness
from diemcau.points.models import Assignment, BridgePoint

from .conftest import unit

pytestmark = pytest.mark.smoke


@pytest.fixture
def world(planning, make_user):
    t, conf = planning["t"], planning["conference"]
    extra = {
        "bavi": bridge_points.create_point(SYSTEM, conf, planning["halls"]["bavi"]),
        "thpt": bridge_points.create_point(SYSTEM, conf, planning["halls"]["thpt"]),
        "socson": bridge_points.create_point(SYSTEM, conf, halls.create_hall(SYSTEM, t["socson"], name="HT",
                                                                             capacity=100)),
        "hcm": bridge_points.create_point(SYSTEM, conf, halls.create_hall(SYSTEM, t["hcm"], name="HT", capacity=100)),
    }
    users = {
        "national": make_user("u_bo", Role.NATIONAL_ORGANISER),
        "hanoi": make_user("u_hn", Role.UNIT_ORGANISER, t["hanoi"]),
        "bavi": make_user("u_bv", Role.UNIT_ORGANISER, t["bavi"]),
        "socson": make_user("u_ss", Role.UNIT_ORGANISER, t["socson"]),
        "principal": make_user("u_ht", Role.PRINCIPAL, t["THPT_BAVI"]),
        "teacher": make_user("u_gv", Role.PARTICIPANT, t["school_a"]),
        "director": make_user("u_dp", Role.DIRECTOR),
        "nobody": make_user("u_0"),
    }
    return {**planning, "extra": extra, "users": users}


def brute_visible(user, points):
    scope = scope_for(user)
    return {p.pk for p in points
            if any(p.hall.unit.path.startswith(r) or r.startswith(p.hall.unit.path) for r in scope.read_paths)}


def brute_changeable(user, points):
    scope = scope_for(user)
    return {p.pk for p in points if any(p.hall.unit.path.startswith(w) for w in scope.write_paths)}


@pytest.mark.parametrize("who", ["national", "hanoi", "bavi", "socson", "principal", "teacher", "director", "nobody"])
def test_points_visible_and_changeable_match_the_tree(world, who):
    user, conf = world["users"][who], world["conference"]
    points = list(BridgePoint.objects.filter(conference=conf).select_related("hall__unit"))
    assert {p.pk for p in access.visible_points(user, conf)} == brute_visible(user, points)
    assert {p.pk for p in access.points_in_scope(user, conf, mode="write")} == brute_changeable(user, points)
    for p in points:
        assert access.can_change_point(user, p) == (p.pk in brute_changeable(user, points))
    listed = {r["point"].pk for block in official_list.official_list(user, conf) for r in block["points"]}
    assert listed <= {p.pk for p in access.points_in_scope(user, conf)}
    assert (conf in event_access.visible_conferences(user)) == (who != "nobody")


@pytest.mark.parametrize("who", ["bavi", "socson", "principal", "teacher", "director"])
def test_changes_outside_the_subtree_are_refused_and_nothing_is_written(world, who):
    user = world["users"][who]
    changeable = brute_changeable(user, BridgePoint.objects.select_related("hall__unit"))
    for name, point in world["extra"].items():
        if point.pk in changeable:
            continue
        before = BridgePoint.objects.get(pk=point.pk)
        for attempt in (lambda p=point: bridge_points.update_point(user, p, contact_name="X"),
                        lambda p=point: readiness.set_readiness(user, p, "equipped"),
                        lambda p=point: bridge_points.set_relay_parent(user, p, world["host"]),
                        lambda p=point: bridge_points.delete_point(user, p)):
            with pytest.raises(DomainError) as err:
                attempt()
            assert err.value.code in ("point_out_of_scope", "out_of_scope"), name
        after = BridgePoint.objects.get(pk=point.pk)
        assert (after.contact_name, after.readiness, after.relay_parent_id) == \
            (before.contact_name, before.readiness, before.relay_parent_id)
    with pytest.raises(DomainError):
        assignment.assign(user, world["morning"], unit("THPT_BAVI"), world["extra"]["socson"])
    assert not Assignment.objects.exists()
