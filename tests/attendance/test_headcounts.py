"""Headcounts: the latest counts, retries are no-ops, every bad count refused with its code."""

import pytest

from diemcau.attendance import rollup
from diemcau.attendance.models import CheckIn
from diemcau.core.errors import DomainError

from .conftest import STAFF, TEACHER, cid, headcount

pytestmark = pytest.mark.smoke


# --- headcount --------------------------------------------------------------------------------
def test_headcount_latest_counts_and_retries_are_no_ops(world):
    c = cid()
    headcount(world, {TEACHER: 10, STAFF: 2}, client_id=c)
    headcount(world, {TEACHER: 10, STAFF: 2}, client_id=c)
    assert CheckIn.objects.count() == 3  # one row per category, zeros included
    headcount(world, {TEACHER: 12, STAFF: 3})
    assert rollup.present_at_point(world["session"], world["thpt_point"]) == 15


@pytest.mark.parametrize("counts, code", [
    ({TEACHER: 151}, "over_capacity"),       # the hall seats 150
    ({TEACHER: 90}, "over_delegation"),      # 80 expected at this point
    ({TEACHER: -1}, "invalid_count"),
    ({TEACHER: "5"}, "invalid_count"),
    ({"parents": 3}, "invalid_category"),
    ({}, "empty_headcount"),
])
def test_bad_headcounts_are_refused(world, counts, code):
    with pytest.raises(DomainError) as err:
        headcount(world, counts)
    assert err.value.code == code
    assert CheckIn.objects.count() == 0
