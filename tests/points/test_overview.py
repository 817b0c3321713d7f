"""What organisers look at: the overview, the roll-up and the official list."""

import pytest

from diemcau.core.errors import ScopeError
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment, bridge_points, official_list
from diemcau.points import overview as points_overview

from .conftest import unit

pytestmark = pytest.mark.smoke


# --- overviews --------------------------------------------------------------------------------
def test_overview_shows_what_is_missing(planning, bavi_point, organiser_bavi):
    assignment.assign(SYSTEM, planning["morning"], unit("THPT_BAVI"), bavi_point)
    overview = points_overview.conference_overview(organiser_bavi, planning["conference"])
    assert overview["points"] == 1 and overview["seats"] == 150
    morning = overview["sessions"][0]
    assert morning["invited"] == 10 and morning["assigned"] == 1 and morning["people"] == 80
    assert [p.pk for p in overview["no_contact"]] == [bavi_point.pk]
    assert overview["unassigned"][0]["count"] == 9
    # Over capacity (seats cut by SQL, as after a mistaken edit) is shown, not hidden.
    from diemcau.points.models import Hall

    Hall.objects.filter(pk=bavi_point.hall_id).update(capacity=50)
    overview = points_overview.conference_overview(organiser_bavi, planning["conference"])
    assert overview["over_capacity"][0]["used"] == 80


def test_rollup_counts_points_and_seats_under_each_unit(planning, bavi_point, national):
    bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["thpt"])
    roots = points_overview.points_rollup(national, planning["conference"])
    assert len(roots) == 1 and roots[0]["unit"] == planning["t"]["ministry"]
    assert roots[0]["points"] == 4 and roots[0]["seats"] == 300 + 200 + 150 + 150
    hanoi = roots[0]["children"][0]
    bavi = hanoi["children"][0]
    assert (hanoi["points"], bavi["points"], bavi["seats"]) == (3, 2, 300)


def test_official_list_rows(planning, bavi_point, organiser_bavi):
    bridge_points.update_point(SYSTEM, bavi_point, contact_name="Nguyễn Văn Kỹ", contact_phone="0912345678")
    assignment.move_institutions(SYSTEM, planning["morning"], [unit("THPT_BAVI"), unit("GDTX_BAVI")], bavi_point)
    blocks = official_list.official_list(organiser_bavi, planning["conference"], planning["t"]["bavi"])
    assert len(blocks) == 2  # the point serves both sessions; the afternoon has nobody yet
    assert blocks[0]["institutions"] == 2 and blocks[0]["people"] == 105
    with pytest.raises(ScopeError):
        official_list.official_list(organiser_bavi, planning["conference"], planning["t"]["socson"])
