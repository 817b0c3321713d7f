"""Assignments of institutions to points: batches, capacity, scope, session audience."""

import pytest

from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.events import services as events
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment, bridge_points
from diemcau.points.models import Assignment

from .conftest import unit

pytestmark = pytest.mark.smoke


# --- assignment -------------------------------------------------------------------------------
def test_assign_and_move(planning, bavi_point):
    school = unit("THPT_BAVI")
    a = assignment.assign(SYSTEM, planning["morning"], school, bavi_point)
    assert a.seats == 80 and a.method == "manual"
    thpt_point = bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["thpt"])
    with pytest.raises(DomainError) as err:
        assignment.assign(SYSTEM, planning["morning"], school, thpt_point)
    assert err.value.code == "already_assigned"
    assignment.assign(SYSTEM, planning["morning"], school, thpt_point, move=True)
    assert Assignment.objects.get(institution=school).point == thpt_point
    assignment.unassign(SYSTEM, planning["morning"], school)
    assert not Assignment.objects.exists()
    actions = list(AuditEntry.objects.filter(action__startswith="assignment.").values_list("action", flat=True))
    assert {"assignment.created", "assignment.moved", "assignment.removed"} <= set(actions)


def test_an_institution_twice_in_one_batch(planning, bavi_point):
    school = unit("THPT_BAVI")
    with pytest.raises(DomainError) as err:
        assignment.apply_changes(SYSTEM, planning["morning"], [assignment.Change(school, bavi_point, row=3),
                                                            assignment.Change(school, bavi_point, row=7)])
    assert err.value.code == "already_assigned"
    assert err.value.details[0]["row"] == 7
    assert not Assignment.objects.exists()


def test_over_capacity_is_refused_and_nothing_is_written(planning, bavi_point):
    schools = [unit(c) for c in ("THPT_BAVI", "THCS_TANLINH", "TH_TANLINH")]  # 80 + 45 + 40 > 150
    with pytest.raises(DomainError) as err:
        assignment.move_institutions(SYSTEM, planning["morning"], schools, bavi_point)
    assert err.value.code == "over_capacity"
    assert "150" in err.value.message and "165" in err.value.message and "15" in err.value.message
    assert not Assignment.objects.exists()
    # The afternoon is another session: the same hall's seats are free again.
    assignment.move_institutions(SYSTEM, planning["morning"], schools[:2], bavi_point)


def test_swapping_two_schools_between_full_points_is_fine(planning, bavi_point):
    thpt_point = bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["th_vh"])  # 80 seats
    big, small = unit("THPT_BAVI"), unit("GDTX_BAVI")  # 80 and 25
    assignment.assign(SYSTEM, planning["morning"], big, thpt_point)
    assignment.assign(SYSTEM, planning["morning"], small, bavi_point)
    assignment.apply_changes(SYSTEM, planning["morning"], [assignment.Change(big, bavi_point),
                                                           assignment.Change(small, thpt_point)])
    assert Assignment.objects.get(institution=big).point == bavi_point


def test_assignment_rules(planning, bavi_point, organiser_bavi, tree):
    morning, afternoon = planning["morning"], planning["afternoon"]
    with pytest.raises(DomainError) as err:  # a university is not invited in the morning
        assignment.assign(SYSTEM, morning, planning["t"]["university"], planning["host"])
    assert err.value.code == "not_invited"
    with pytest.raises(DomainError) as err:  # a Ba Vì school is not invited in the afternoon
        assignment.assign(SYSTEM, afternoon, unit("THPT_BAVI"), bavi_point)
    assert err.value.code == "not_invited"
    bridge_points.update_point(SYSTEM, bavi_point, sessions=[afternoon])
    with pytest.raises(DomainError) as err:
        assignment.assign(SYSTEM, morning, unit("THPT_BAVI"), bavi_point)
    assert err.value.code == "point_not_in_session"
    bridge_points.update_point(SYSTEM, bavi_point, sessions=[morning, afternoon])
    with pytest.raises(DomainError) as err:  # Ba Vì cannot use Hà Nội's point
        assignment.assign(organiser_bavi, morning, unit("THPT_BAVI"), planning["hanoi_point"])
    assert err.value.code == "point_out_of_scope"
    with pytest.raises(DomainError) as err:  # nor assign Sóc Sơn's school
        assignment.assign(organiser_bavi, morning, tree["school_c"], bavi_point)
    assert err.value.code == "out_of_scope"
    assignment.assign(organiser_bavi, morning, unit("THPT_BAVI"), bavi_point)
    with pytest.raises(DomainError) as err:
        bridge_points.update_point(SYSTEM, bavi_point, sessions=[afternoon])
    assert err.value.code == "session_has_assignments"


def test_session_audience_cannot_drop_assigned_schools(planning, bavi_point):
    from diemcau.orgs.models import EducationLevel as L

    assignment.assign(SYSTEM, planning["morning"], unit("THPT_BAVI"), bavi_point)
    with pytest.raises(DomainError) as err:
        events.update_session(SYSTEM, planning["morning"], audience_levels=L.PRIMARY)
    assert err.value.code == "audience_drops_assigned"


def test_organiser_cannot_grant_beyond_scope(planning, make_user):
    hanoi = make_user("hn", Role.UNIT_ORGANISER, planning["t"]["hanoi"])
    # Hà Nội's organiser covers Ba Vì: a Ba Vì school may go to Hà Nội's point.
    assignment.assign(hanoi, planning["morning"], unit("THPT_BAVI"), planning["hanoi_point"])
