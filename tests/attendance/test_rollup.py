"""Roll-ups: Ba Vì's morning checked by hand, in a few grouped queries whatever the number of people."""

import pytest

from diemcau.attendance import rollup

from .conftest import MGMT, STAFF, TEACHER

pytestmark = pytest.mark.smoke


# --- roll-up ----------------------------------------------------------------------------------
def test_rollup_figures_by_hand(morning_so_far):
    w = morning_so_far
    t, s = w["t"], w["session"]
    bavi = rollup.rollup(s, t["bavi"])
    # expected 4 (school A's rule) + 2 (school B's names) + 80 (THPT's seats); present 3 + 1 + 15.
    assert (bavi["expected"], bavi["present"], bavi["percentage"]) == (86, 19, 22.1)
    assert bavi["by_category"] == {MGMT: 2, TEACHER: 14, STAFF: 3}
    children = {c["unit"]: (c["expected"], c["present"]) for c in bavi["children"]}
    assert children == {t["school_a"].name: (4, 3), t["school_b"].name: (2, 1), t["THPT_BAVI"].name: (80, 15)}
    compliance = {c["institution_id"]: (c["complete"], c["missing"]) for c in bavi["compliance"]}
    assert compliance == {t["school_a"].pk: (False, {STAFF: 1}), t["school_b"].pk: (False, {"named": 1})}

    hanoi = rollup.rollup(s, t["hanoi"])
    assert (hanoi["expected"], hanoi["present"]) == (87, 19)
    assert {c["unit"]: (c["expected"], c["present"]) for c in hanoi["children"]} == {
        t["bavi"].name: (86, 19), t["socson"].name: (1, 0)}
    assert rollup.rollup(s, t["ministry"])["present"] == 19
    assert rollup.rollup(s, t["hcm"])["expected"] == 0 and rollup.rollup(s, t["hcm"])["percentage"] is None


def test_rollup_is_a_few_queries(morning_so_far, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        rollup.rollup(morning_so_far["session"], morning_so_far["t"]["ministry"])


def test_point_counts_match_the_one_point_figures(morning_so_far, django_assert_max_num_queries):
    w = morning_so_far
    points = [w["bavi_point"], w["thpt_point"], w["hanoi_point"], w["host"]]
    with django_assert_max_num_queries(8):
        counts = rollup.point_counts(w["session"], points)
    for point in points:
        assert counts[point.pk]["present"] == rollup.present_at_point(w["session"], point)
        assert counts[point.pk]["expected"] == rollup.expected_at_point(w["session"], point)
    assert (counts[w["bavi_point"].pk]["present"], counts[w["bavi_point"].pk]["expected"]) == (4, 6)
    assert (counts[w["thpt_point"].pk]["present"], counts[w["thpt_point"].pk]["expected"]) == (16, 80)
