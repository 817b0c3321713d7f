"""Check-ins racing each other: retries stay one row, and the duplicate flags stay exact."""

import uuid

import pytest
from django.db import connection

from diemcau.attendance import checkin, rollup
from diemcau.attendance.models import CheckIn
from diemcau.orgs.scoping import SYSTEM
from tests.racing import race as race_all

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers anyway")]


def race(n, work):
    errors = race_all(n, work)
    assert not errors, errors


def test_the_same_client_id_in_parallel_is_one_row(world):
    client_id, person = uuid.uuid4(), world["people"]["a_t1"]
    race(6, lambda i: checkin.check_in(SYSTEM, session=world["session"], point=world["bavi_point"],
                                        person=person, method="roll_call", client_id=client_id))
    assert CheckIn.objects.filter(client_id=client_id).count() == 1


def test_one_person_twice_in_parallel_is_flagged_once(world):
    person = world["people"]["a_t2"]
    race(6, lambda i: checkin.check_in(SYSTEM, session=world["session"], point=world["bavi_point"],
                                        person=person, method="roll_call", client_id=uuid.uuid4()))
    rows = CheckIn.objects.filter(person=person)
    assert rows.count() == 6 and rows.filter(duplicate_person=False).count() == 1
    assert rollup.present_at_point(world["session"], world["bavi_point"]) == 1


def test_one_client_id_for_different_people_in_parallel_is_one_row_and_reused_errors(world):
    """No lock orders these (different people): the unique key does, and the losers are planned again."""
    client_id = uuid.uuid4()
    keys = ["a_principal", "a_t1", "a_t2", "a_t3", "a_staff", "b_t1"]
    errors = race_all(len(keys), lambda i: checkin.check_in(
        SYSTEM, session=world["session"], point=world["bavi_point"], person=world["people"][keys[i]],
        method="roll_call", client_id=client_id))
    assert CheckIn.objects.filter(client_id=client_id).count() == 1
    assert len(errors) == len(keys) - 1 and {getattr(e, "code", repr(e)) for e in errors} == {"client_id_reused"}
