"""Running counts: kept by the check-in's own statement, summed by path prefix, repaired from the rows."""

import pytest
from django.core.management import call_command

from diemcau.attendance import counts, rollup
from diemcau.attendance.models import AttendanceCount
from tests.attendance.conftest import TEACHER, headcount, roll_call

pytestmark = pytest.mark.smoke


def stored(world):
    return {(u, c): (p, h) for u, c, p, h in AttendanceCount.objects.filter(session=world["session"])
            .values_list("unit_id", "category", "people", "heads")}


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


def test_repair_reports_and_fixes_a_count_that_drifted(world, capsys):
    roll_call(world, world["people"]["a_t2"])
    school = world["t"]["school_a"]
    AttendanceCount.objects.filter(unit=school).update(people=5)  # drifted (a hand edit, a lost update)
    AttendanceCount.objects.create(session=world["session"], unit=world["t"]["school_b"], category=TEACHER, people=2)
    with pytest.raises(SystemExit):
        call_command("repair_attendance_counts", "--check")
    out = capsys.readouterr().out
    assert f"unit {school.pk} teacher: stored people 5, heads 0; recomputed people 1, heads 0" in out
    assert "2 differences found" in out
    call_command("repair_attendance_counts")
    assert "2 differences repaired" in capsys.readouterr().out
    assert stored(world) == {(school.pk, TEACHER): (1, 0)} and counts.differences() == []
    assert rollup.rollup(world["session"], world["t"]["bavi"])["present"] == 1
