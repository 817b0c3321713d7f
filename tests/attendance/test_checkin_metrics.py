"""The check-ins stored counter of /metrics counts rows written, once: a retry with the same client
id writes nothing and counts nothing."""

import pytest
from prometheus_client import generate_latest

from tests.attendance.conftest import cid, roll_call

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def _stored() -> float:
    line = next(x for x in generate_latest().decode().splitlines() if x.startswith("diemcau_checkins_stored_total"))
    return float(line.rsplit(" ", 1)[1])


def test_checkins_stored_counts_new_rows_only(world):
    before = _stored()
    client_id = cid()
    roll_call(world, world["people"]["a_t1"], client_id=client_id)
    roll_call(world, world["people"]["a_t1"], client_id=client_id)  # the kiosk's retry
    roll_call(world, world["people"]["a_t2"])
    assert _stored() == before + 2
