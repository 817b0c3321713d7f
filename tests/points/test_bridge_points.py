"""Bridge points: relay tree, host point, scope, equipment carried over, readiness, deletion."""

import pytest

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.events import services as events
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import access, assignment, bridge_points, halls, readiness
from diemcau.points.models import BridgePoint

from .conftest import unit

pytestmark = pytest.mark.smoke


# --- points -----------------------------------------------------------------------------------
def test_new_points_relay_from_the_nearest_point_above(planning, bavi_point):
    assert bavi_point.relay_parent == planning["hanoi_point"]
    assert planning["hanoi_point"].relay_parent == planning["host"]
    school_point = bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["thpt"])
    assert school_point.relay_parent == bavi_point
    assert bridge_points.relay_chain(school_point) == [planning["host"], planning["hanoi_point"], bavi_point]
    assert set(school_point.sessions.all()) == {planning["morning"], planning["afternoon"]}


def test_relay_cycle_is_refused(planning, bavi_point):
    school_point = bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["thpt"])
    with pytest.raises(DomainError) as err:
        bridge_points.set_relay_parent(SYSTEM, bavi_point, school_point)
    assert err.value.code == "relay_cycle"
    with pytest.raises(DomainError) as err:
        bridge_points.set_relay_parent(SYSTEM, bavi_point, bavi_point)
    assert err.value.code == "relay_cycle"
    bavi_point.refresh_from_db()
    assert bavi_point.relay_parent == planning["hanoi_point"]
    # Any depth: the school relays straight from the host point if asked.
    bridge_points.set_relay_parent(SYSTEM, school_point, planning["host"])
    assert BridgePoint.objects.get(pk=school_point.pk).relay_parent == planning["host"]


def test_host_point_rules(planning):
    with pytest.raises(DomainError) as err:
        bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["bavi"], is_host=True)
    assert err.value.code == "duplicate_host_point"
    with pytest.raises(DomainError) as err:
        bridge_points.set_relay_parent(SYSTEM, planning["host"], planning["hanoi_point"])
    assert err.value.code == "host_has_no_parent"


def test_a_point_needs_the_host_point_first(planning, tree):
    conf = events.create_conference(SYSTEM, title="Khác", date=planning["conference"].date,
                                    host_unit=tree["ministry"])
    with pytest.raises(DomainError) as err:
        bridge_points.create_point(SYSTEM, conf, planning["halls"]["bavi"])
    assert err.value.code == "no_host_point"


def test_duplicate_point_in_a_hall(planning, bavi_point):
    with pytest.raises(DomainError) as err:
        bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["bavi"])
    assert err.value.code == "duplicate_point"


def test_points_outside_the_subtree(planning, organiser_bavi, bavi_point):
    with pytest.raises(ScopeError) as err:
        bridge_points.update_point(organiser_bavi, planning["hanoi_point"], contact_name="X")
    assert err.value.code == "point_out_of_scope"
    bridge_points.update_point(organiser_bavi, bavi_point, contact_name="Nguyễn Văn Kỹ", contact_phone="0912 345 678")
    # Ba Vì may relay from Hà Nội's point (upstream) but cannot reach Hồ Chí Minh City's.
    hcm_hall = halls.create_hall(SYSTEM, planning["t"]["hcm"], name="Hội trường", capacity=100)
    hcm_point = bridge_points.create_point(SYSTEM, planning["conference"], hcm_hall)
    with pytest.raises(ScopeError):
        bridge_points.set_relay_parent(organiser_bavi, bavi_point, hcm_point)
    visible = set(access.visible_points(organiser_bavi, planning["conference"]))
    assert visible == {planning["host"], planning["hanoi_point"], bavi_point}


def test_equipment_carries_over_to_the_next_conference(planning, bavi_point, tree):
    bridge_points.update_point(SYSTEM, bavi_point, contact_name="Lê Thị Hạnh", contact_phone="0988111222",
                               has_camera=True, bandwidth_mbps="50")
    conf = events.create_conference(SYSTEM, title="Hội nghị 2024", date=planning["conference"].date.replace(year=2024),
                                    host_unit=tree["ministry"])
    hall = halls.create_hall(SYSTEM, tree["ministry"], name="Hội trường lớn", capacity=500)
    bridge_points.create_point(SYSTEM, conf, hall, is_host=True)
    hanoi = bridge_points.create_point(SYSTEM, conf, planning["halls"]["hanoi"])
    again = bridge_points.create_point(SYSTEM, conf, planning["halls"]["bavi"])
    assert again.contact_name == "Lê Thị Hạnh" and again.has_camera and again.bandwidth_mbps == 50
    assert again.relay_parent == hanoi


def test_readiness_moves_step_by_step(planning, bavi_point):
    with pytest.raises(DomainError) as err:
        readiness.set_readiness(SYSTEM, bavi_point, "live")
    assert err.value.code == "bad_transition"
    with pytest.raises(DomainError) as err:
        readiness.set_readiness(SYSTEM, bavi_point, "equipped")
    assert err.value.code == "equipment_incomplete"
    bridge_points.update_point(SYSTEM, bavi_point, has_camera=True, has_microphone=True, has_speakers=True,
                               has_display=True, has_computer=True, bandwidth_mbps=40)
    readiness.set_readiness(SYSTEM, bavi_point, "equipped")
    with pytest.raises(DomainError) as err:
        readiness.set_readiness(SYSTEM, bavi_point, "checked")
    assert err.value.code == "check_not_passed"
    point = readiness.record_check(SYSTEM, bavi_point, passed=False, note="Mất tiếng")
    assert point.readiness == "equipped" and point.check_result == "failed"
    point = readiness.record_check(SYSTEM, bavi_point, passed=True, bandwidth_mbps="45,5")
    assert point.readiness == "checked" and str(point.bandwidth_mbps) == "45.5"
    readiness.set_readiness(SYSTEM, point, "live")
    readiness.set_readiness(SYSTEM, point, "ended")
    assert AuditEntry.objects.filter(action="point.readiness", object_id=str(point.pk)).count() == 3
    # A broken camera reported on an equipped point takes it back to planned.
    other = bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["thpt"],
                                       has_camera=True, has_microphone=True, has_speakers=True, has_display=True,
                                       has_computer=True, bandwidth_mbps=20)
    readiness.set_readiness(SYSTEM, other, "equipped")
    other = bridge_points.update_point(SYSTEM, other, has_camera=False)
    assert other.readiness == "planned"


def test_delete_point_refuses_when_in_use(planning, bavi_point):
    assignment.assign(SYSTEM, planning["morning"], unit("THPT_BAVI"), bavi_point)
    with pytest.raises(DomainError) as err:
        bridge_points.delete_point(SYSTEM, bavi_point)
    assert err.value.code == "point_has_assignments"
    with pytest.raises(DomainError) as err:
        bridge_points.delete_point(SYSTEM, planning["hanoi_point"])
    assert err.value.code == "point_has_children"
