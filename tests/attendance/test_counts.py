"""Running counts: kept by the check-in's own statement, summed by path prefix, repaired from the rows."""

import pytest
from django.core.management import call_command

from diemcau.attendance import board, counts, delegations, rollup
from diemcau.attendance.models import AttendanceArrival, AttendanceCount, CheckIn, Delegation
from diemcau.orgs.models import Person
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment
from tests.attendance.conftest import TEACHER, headcount, roll_call

pytestmark = pytest.mark.smoke


def stored(world):
    """Present counts only (people, heads); the expected ones are tested below."""
    return {(u, c): (p, h) for u, c, p, h in AttendanceCount.objects.filter(session=world["session"])
            .values_list("unit_id", "category", "people", "heads") if p or h}


def test_each_person_counts_once_and_the_latest_headcount_replaces_the_one_before(world):
    p, t = world["people"], world["t"]
    roll_call(world, p["a_t1"])
    roll_call(world, p["a_t1"])  # the same person again: a duplicate, not counted twice
    roll_call(world, p["a_t1"], point=world["thpt_point"])  # and at another point: still once
    roll_call(world, p["b_principal"], point=world["thpt_point"])  # first seen elsewhere: counted
    headcount(world, {TEACHER: 12})
    headcount(world, {TEACHER: 9})  # supersedes the 12
    thpt = world["thpt_point"].hall.unit_id
    assert stored(world) == {(t["school_a"].pk, TEACHER): (1, 0), (t["school_b"].pk, "management"): (1, 0),
                             (thpt, TEACHER): (0, 9)}
    assert counts.differences([world["session"].pk]) == []
    figures = rollup.rollup(world["session"], t["bavi"])
    assert figures["present"] == 11 and figures["by_category"]["teacher"] == 10
    # The arrivals chart: two people (not the duplicate, not the headcount), at their first row's minute.
    first = CheckIn.objects.filter(person=p["a_t1"]).order_by("id").first().scanned_at.replace(second=0, microsecond=0)
    assert sum(n for _m, n in board.arrivals(world["session"], t["bavi"])) == 2
    assert dict(board.arrivals(world["session"], t["school_a"])) == {first: 1}


def test_repair_reports_and_fixes_a_count_that_drifted(world, capsys):
    roll_call(world, world["people"]["a_t2"])
    school = world["t"]["school_a"]
    AttendanceCount.objects.filter(unit=school, category=TEACHER).update(people=5)  # drifted (a lost update)
    AttendanceCount.objects.filter(session=world["session"], unit=world["t"]["school_b"], category=TEACHER).update(
        people=2)  # a row of its expected teachers, with people nobody checked in
    arrival = AttendanceArrival.objects.get(session=world["session"], unit=school)
    AttendanceArrival.objects.filter(pk=arrival.pk).update(people=3)  # the chart's minute drifted too
    AttendanceArrival.objects.create(session=world["session"], unit=world["t"]["school_b"],
                                     minute=arrival.minute, people=4)  # and a minute nobody arrived in
    with pytest.raises(SystemExit):
        call_command("repair_attendance_counts", "--check")
    out = capsys.readouterr().out
    assert (f"unit {school.pk} teacher: stored people 5, heads 0, expected 2; "
            "recomputed people 1, heads 0, expected 2") in out
    assert f"unit {school.pk} arrivals at {arrival.minute:%Y-%m-%d %H:%M} UTC: stored 3; recomputed 1" in out
    assert "4 differences found" in out
    call_command("repair_attendance_counts")
    assert "4 differences repaired" in capsys.readouterr().out
    assert stored(world) == {(school.pk, TEACHER): (1, 0)} and counts.differences() == []
    assert rollup.rollup(world["session"], world["t"]["bavi"])["present"] == 1
    assert board.arrivals(world["session"], world["t"]["bavi"]) == [(arrival.minute, 1)]


def expected_stored(world) -> dict:
    return {(u, c): e for u, c, e in AttendanceCount.objects.filter(session=world["session"], expected__gt=0)
            .values_list("unit_id", "category", "expected")}


def test_expected_counts_follow_assignments_and_delegations_and_roll_up_by_path(world):
    """The hand-checked figures of tests/attendance/conftest.py, kept as counters: then moved, renamed,
    removed; each time the counters agree with the record and the roll-up sums them."""
    t, session = world["t"], world["session"]
    a, b, thpt, c = (t[k].pk for k in ("school_a", "school_b", "THPT_BAVI", "school_c"))
    assert expected_stored(world) == {(a, "management"): 1, (a, TEACHER): 2, (a, "staff"): 1,
                                      (b, "management"): 1, (b, TEACHER): 1, (thpt, ""): 80, (c, ""): 1}
    assert rollup.rollup(session, t["bavi"])["expected"] == 4 + 2 + 80
    assert rollup.rollup(session, t["ministry"])["expected"] == 4 + 2 + 80 + 1
    # School B's delegation becomes "all staff" (its two people); THPT Ba Vì leaves the session.
    delegations.name_delegation(SYSTEM, session, t["school_b"], rule=Delegation.Rule.ALL_STAFF)
    assignment.unassign(SYSTEM, session, t["THPT_BAVI"])
    # School C moves to Ba Vì's point: its expected stays with it (an institution's, wherever it sits).
    assignment.assign(SYSTEM, session, t["school_c"], world["bavi_point"], move=True)
    assert expected_stored(world) == {(a, "management"): 1, (a, TEACHER): 2, (a, "staff"): 1,
                                      (b, "management"): 1, (b, TEACHER): 1, (c, ""): 1}
    assert counts.differences([session.pk]) == []
    figures = rollup.rollup(session, t["ministry"])
    assert figures["expected"] == 4 + 2 + 1
    assert sum(child["expected"] for child in figures["children"]) == figures["expected"]
    # A person of an all-staff delegation leaves: the repair command brings the counters back.
    Person.objects.filter(pk=world["people"]["b_t1"].pk).update(is_active=False)
    assert [(d.unit_id, d.category, d.stored[2], d.recomputed[2]) for d in counts.differences([session.pk])] == [
        (b, TEACHER, 1, 0)]
    counts.repair([session.pk])
    assert counts.differences([session.pk]) == [] and rollup.rollup(session, t["ministry"])["expected"] == 6
