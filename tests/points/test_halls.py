"""Halls: scope and capacity."""

import pytest

from diemcau.core.errors import DomainError, ScopeError
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import access, assignment, halls

from .conftest import unit

pytestmark = pytest.mark.smoke


# --- halls ------------------------------------------------------------------------------------
def test_halls_are_scoped(planning, organiser_bavi):
    t = planning["t"]
    hall = halls.create_hall(organiser_bavi, t["TH_CAMLINH"], name="Phòng họp", capacity=40,
                             latitude="21,15", longitude=105.37)
    assert str(hall.latitude) == "21.150000"
    with pytest.raises(ScopeError):
        halls.create_hall(organiser_bavi, t["school_c"], name="Hội trường", capacity=50)  # Sóc Sơn
    with pytest.raises(DomainError) as err:
        halls.create_hall(organiser_bavi, t["TH_CAMLINH"], name="Phòng họp", capacity=40)
    assert err.value.code == "duplicate_hall"
    assert set(access.halls_in_scope(organiser_bavi)) == {
        h for h in planning["halls"].values() if h.unit.is_within(t["bavi"])} | {hall}


def test_hall_capacity_cannot_drop_below_its_assignment(planning, bavi_point):
    assignment.assign(SYSTEM, planning["morning"], unit("THPT_BAVI"), bavi_point)  # 80 people
    with pytest.raises(DomainError) as err:
        halls.update_hall(SYSTEM, planning["halls"]["bavi"], capacity=50)
    assert err.value.code == "capacity_below_assigned"
    halls.update_hall(SYSTEM, planning["halls"]["bavi"], capacity=90)
