"""The planner wired to the database: a job computes a proposal, it is compared, then applied."""

import itertools

import pytest

from diemcau.core.errors import DomainError
from diemcau.core.models import Job
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment, bridge_points
from diemcau.points import planning as points_planning
from diemcau.points.models import Assignment, BridgePoint, Proposal, RoadDistance

from .conftest import unit

pytestmark = pytest.mark.smoke


def bavi_halls(planning):
    return [h for k, h in planning["halls"].items() if k not in ("ministry", "hanoi")]


def run(actor, planning, django_capture_on_commit_callbacks, **params):
    hall_ids = params.pop("hall_ids", [h.pk for h in bavi_halls(planning)])
    request = points_planning.PlanRequest(k=params.pop("k", 3), hall_ids=hall_ids, **params)
    with django_capture_on_commit_callbacks(execute=True):
        proposal = points_planning.start_plan(actor, planning["morning"], planning["t"]["bavi"], request)
    proposal.refresh_from_db()
    return proposal


def brute_force(planning, institutions, halls, k):
    """The best plan by trying every set of k halls and every assignment (tiny instances only)."""
    from diemcau.points.planner_model import great_circle_km

    sizes = assignment.declared_staff(i.pk for i in institutions)
    best = None
    for chosen in itertools.combinations(halls, k):
        for combo in itertools.product(chosen, repeat=len(institutions)):
            load = {h.pk: 0 for h in chosen}
            for inst, h in zip(institutions, combo, strict=True):
                load[h.pk] += sizes[inst.pk]
            if any(load[h.pk] > h.capacity for h in chosen):
                continue
            cost = sum(round(1000 * float(great_circle_km(h.lat, h.lon, float(i.latitude), float(i.longitude))))
                       * sizes[i.pk] for i, h in zip(institutions, combo, strict=True))
            if best is None or cost < best:
                best = cost
    return best


def test_plan_runs_as_a_job_and_is_applied(planning, organiser_bavi, bavi_institutions,
                                           django_capture_on_commit_callbacks):
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=3)
    assert proposal.status == Proposal.Status.READY, proposal.error_message
    job = Job.objects.get(pk=proposal.job_id)
    assert job.status == Job.Status.DONE and job.owner == organiser_bavi and job.percent == 100
    result = proposal.result
    assert len(result["open"]) == 3
    assert set(result["assignment"]) == {str(i.pk) for i in bavi_institutions}
    assert result["people"] == sum(o["load"] for o in result["open"]) == 30 + 20 + 330
    for o in result["open"]:
        hall = next(h for h in bavi_halls(planning) if h.pk == o["hall"])
        assert o["load"] <= hall.capacity
    comparison = points_planning.compare(proposal)
    assert comparison["new"] == len(bavi_institutions) and comparison["moved"] == 0

    outcome = points_planning.apply_proposal(organiser_bavi, proposal)
    assert outcome.created == len(bavi_institutions)
    assert Assignment.objects.filter(session=planning["morning"], method="planner").count() == len(bavi_institutions)
    points = BridgePoint.objects.filter(hall__in=[o["hall"] for o in result["open"]])
    assert points.count() == 3
    for p in points:
        assert planning["morning"] in p.sessions.all()
        assert p.relay_parent is not None  # relays from Ba Vì's office point or Hà Nội's
    proposal.refresh_from_db()
    assert proposal.status == "applied" and proposal.applied_by == organiser_bavi
    with pytest.raises(DomainError) as err:
        points_planning.apply_proposal(organiser_bavi, proposal)
    assert err.value.code == "proposal_applied"


def test_a_second_plan_shows_moved_schools(planning, organiser_bavi, django_capture_on_commit_callbacks):
    first = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=4)
    points_planning.apply_proposal(organiser_bavi, first)
    second = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=3)
    comparison = points_planning.compare(second)
    assert comparison["new"] == 0
    assert comparison["moved"] + comparison["same"] == len(comparison["rows"])
    closed = [r for r in comparison["seats"] if r["closed"]]
    assert closed and all(r["proposed"] == 0 and r["current"] > 0 for r in closed)
    points_planning.apply_proposal(organiser_bavi, second)
    used = assignment.seats_used(planning["morning"])
    assert sum(used.values()) == 380 and len([v for v in used.values() if v]) == 3


def test_the_plan_is_optimal_on_a_small_instance(planning, organiser_bavi, bavi_institutions,
                                                 django_capture_on_commit_callbacks):
    halls = bavi_halls(planning)[:4]
    small = bavi_institutions[:6]
    # Keep the instance small enough for brute force: only six institutions are invited.
    from diemcau.events import services as events

    events.update_session(SYSTEM, planning["morning"], audience_units=small)
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=3,
                   hall_ids=[h.pk for h in halls])
    assert proposal.status == "ready", proposal.error_message
    best = brute_force(planning, small, halls, 2)
    assert proposal.result["cost_pm"] == best


def test_exact_method(planning, organiser_bavi, django_capture_on_commit_callbacks):
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=3, method="exact",
                   time_limit_s=10)
    assert proposal.status == "ready", proposal.error_message
    assert proposal.result["gap_pct"] is not None and proposal.result["gap_pct"] < 0.01


def test_more_points_than_halls(planning, organiser_bavi):
    request = points_planning.PlanRequest(k=9, hall_ids=[h.pk for h in bavi_halls(planning)])
    with pytest.raises(DomainError) as err:
        points_planning.start_plan(organiser_bavi, planning["morning"], planning["t"]["bavi"], request)
    assert err.value.code == "too_many_points"
    assert not Proposal.objects.exists()


def test_not_enough_seats_is_explained(planning, organiser_bavi, django_capture_on_commit_callbacks):
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=2)  # 150 + 150 < 380
    assert proposal.status == "failed" and proposal.error_code == "not_enough_seats"
    assert "380" in proposal.error_message and "80" in proposal.error_message  # needed, missing
    assert Job.objects.get(pk=proposal.job_id).status == Job.Status.FAILED


def test_halls_outside_the_subtree_are_refused(planning, organiser_bavi):
    request = points_planning.PlanRequest(k=1, hall_ids=[planning["halls"]["hanoi"].pk])
    with pytest.raises(DomainError) as err:
        points_planning.start_plan(organiser_bavi, planning["morning"], planning["t"]["bavi"], request)
    assert err.value.code == "bad_hall"
    with pytest.raises(DomainError) as err:
        points_planning.start_plan(organiser_bavi, planning["morning"], planning["t"]["hanoi"], request)
    assert err.value.code == "out_of_scope"


def test_pins_and_keep_together(planning, organiser_bavi, django_capture_on_commit_callbacks):
    halls = planning["halls"]
    pin_school, far_hall = unit("TH_CAMLINH"), halls["thpt"]
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=4,
                   pins=[(pin_school.pk, far_hall.pk)],
                   together=[[unit("MN_BAVI").pk, unit("THPT_BAVI").pk]])
    assert proposal.status == "ready", proposal.error_message
    a = proposal.result["assignment"]
    assert a[str(pin_school.pk)] == far_hall.pk
    assert a[str(unit("MN_BAVI").pk)] == a[str(unit("THPT_BAVI").pk)]


def test_fixed_points_assign_only(planning, organiser_bavi, django_capture_on_commit_callbacks):
    halls = planning["halls"]
    fixed = [halls["bavi"].pk, halls["thpt"].pk, halls["thcs_tl"].pk]
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=None, hall_ids=fixed,
                   fixed_hall_ids=fixed)
    assert proposal.status == "ready", proposal.error_message
    assert sorted(o["hall"] for o in proposal.result["open"]) == sorted(fixed)


def test_a_point_serving_only_the_afternoon_is_left_out(planning, organiser_bavi,
                                                        django_capture_on_commit_callbacks):
    point = bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["thpt"],
                                       sessions=[planning["afternoon"]])
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=4)
    assert proposal.status == "ready", proposal.error_message
    assert point.hall_id not in {o["hall"] for o in proposal.result["open"]}


def test_road_distances_replace_great_circle(planning, organiser_bavi, bavi_institutions,
                                             django_capture_on_commit_callbacks):
    halls = bavi_halls(planning)
    # Every road leads to the district office's hall: it becomes the cheapest for everyone.
    rows = [(h, i, 1 if h == planning["halls"]["bavi"] else 90) for h in halls for i in bavi_institutions]
    points_planning.save_road_distances(organiser_bavi, planning["t"]["bavi"], rows)
    assert RoadDistance.objects.count() == len(rows)
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=3, use_road_distances=True)
    assert proposal.status == "ready", proposal.error_message
    to_office = [i for i, h in proposal.result["assignment"].items() if h == planning["halls"]["bavi"].pk]
    load = sum(proposal.result["sizes"][i] for i in to_office)
    assert 140 <= load <= 150  # the office's hall is filled first


def test_stale_proposal_is_refused(planning, organiser_bavi, make_unit, django_capture_on_commit_callbacks):
    from diemcau.orgs.models import EducationLevel as L

    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=3)
    make_unit(planning["t"]["bavi"], "Trường Mầm non Mới", levels=L.PRESCHOOL, latitude=21.1, longitude=105.4)
    with pytest.raises(DomainError) as err:
        points_planning.apply_proposal(organiser_bavi, proposal)
    assert err.value.code == "proposal_stale"
    assert not Assignment.objects.exists()


def test_missing_coordinates(planning, organiser_bavi, make_unit):
    from diemcau.orgs.models import EducationLevel as L

    make_unit(planning["t"]["bavi"], "Trường Tiểu học Không Tọa Độ", levels=L.PRIMARY)
    request = points_planning.PlanRequest(k=3, hall_ids=[h.pk for h in bavi_halls(planning)])
    with pytest.raises(DomainError) as err:
        points_planning.start_plan(organiser_bavi, planning["morning"], planning["t"]["bavi"], request)
    assert err.value.code == "missing_coordinates" and "Không Tọa Độ" in err.value.message


def test_the_default_plan_keeps_the_relay_point_and_explains_itself(planning, organiser_bavi, client,
                                                                     django_capture_on_commit_callbacks):
    conf, morning = planning["conference"], planning["morning"]
    office = bridge_points.create_point(SYSTEM, conf, planning["halls"]["bavi"], name="Điểm cầu Phòng GD&ĐT Ba Vì",
                                        sessions=[morning])
    bridge_points.create_point(SYSTEM, conf, planning["halls"]["thpt"], name="Điểm cầu THPT Ba Vì",
                               relay_parent=office, sessions=[morning])
    halls = bavi_halls(planning)
    assert points_planning.relaying_halls(morning, halls) == {planning["halls"]["bavi"].pk: 1}
    client.force_login(organiser_bavi)
    page = client.get(f"/points/sessions/{morning.pk}/plan/?unit={planning['t']['bavi'].pk}").content.decode()
    assert f'name="fixed" value="{planning["halls"]["bavi"].pk}" checked' in page
    assert "chuyển tiếp cho 1 điểm cầu" in page
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=3, method="exact",
                   fixed_hall_ids=[planning["halls"]["bavi"].pk])
    assert any(o["hall"] == planning["halls"]["bavi"].pk for o in proposal.result["open"])
    lines = points_planning.explain(proposal, points_planning.compare(proposal))
    assert "bộ giải chính xác (CP-SAT)" in lines[0] and "bắt buộc mở" in lines[1]


def test_the_default_plan_keeps_the_points_the_unit_marked_keep(planning, organiser_bavi, client,
                                                                 django_capture_on_commit_callbacks):
    conf, morning, halls = planning["conference"], planning["morning"], planning["halls"]
    bridge_points.create_point(SYSTEM, conf, halls["thcs_cl"], name="Điểm cầu THCS Cẩm Lĩnh", sessions=[morning],
                               keep=True)
    bridge_points.create_point(SYSTEM, conf, halls["th_vh"], name="Điểm cầu TH Vân Hòa", sessions=[morning])
    assert points_planning.default_fixed_halls(morning, bavi_halls(planning)) == {halls["thcs_cl"].pk}
    client.force_login(organiser_bavi)
    page = client.get(f"/points/sessions/{morning.pk}/plan/?unit={planning['t']['bavi'].pk}").content.decode()
    assert f'name="fixed" value="{halls["thcs_cl"].pk}" checked' in page
    assert f'name="fixed" value="{halls["th_vh"].pk}" checked' not in page
    assert "giữ theo yêu cầu của đơn vị" in page
    proposal = run(organiser_bavi, planning, django_capture_on_commit_callbacks, k=3,
                   fixed_hall_ids=[halls["thcs_cl"].pk])
    assert proposal.status == Proposal.Status.READY, proposal.error_message
    assert any(o["hall"] == halls["thcs_cl"].pk for o in proposal.result["open"])
    lines = points_planning.explain(proposal, points_planning.compare(proposal))
    assert "Giữ theo yêu cầu của đơn vị: Điểm cầu THCS Cẩm Lĩnh." in lines
