"""Batches of new check-ins are recorded in a few grouped queries, with the same rows and flags as item by item."""

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from diemcau.attendance import board_notices, checkin
from diemcau.attendance.checkin import CheckInItem
from diemcau.attendance.models import CheckIn
from diemcau.core.errors import DomainError
from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke


async def nothing_more(layer, channel, seconds=0.3) -> bool:
    """True when no further message reaches ``channel`` within ``seconds``."""
    try:
        await asyncio.wait_for(layer.receive(channel), seconds)
    except TimeoutError:
        return True
    return False


def item(world, person, point=None, **kw):
    return CheckInItem(**{"client_id": str(uuid.uuid4()), "session_id": world["session"].pk,
                          "point_id": (point or world["bavi_point"]).pk, "person_id": person.pk,
                          "method": "roll_call", **kw})


def operator_of(make_user, world, point, name="kiosk"):
    user = make_user(name, Role.POINT_OPERATOR, point.hall.unit)
    RoleAssignment.objects.filter(user=user).update(point_id=point.pk)
    return type(user).objects.get(pk=user.pk)


def fields(row):
    return (row.session_id, row.point_id, row.person_id, row.institution_id, row.method, row.category, row.count,
            row.device, row.recorded_by_id, row.duplicate_person, row.other_point)


def test_a_clean_batch_gives_the_rows_and_flags_of_item_by_item(world, make_user, django_assert_max_num_queries,
                                                                django_capture_on_commit_callbacks):
    p, bavi, thpt = world["people"], world["bavi_point"], world["thpt_point"]
    operator = operator_of(make_user, world, bavi)
    # Earlier today: one teacher at this point, another at THPT Ba Vì's point.
    checkin.check_in(SYSTEM, session=world["session"], point=bavi, person=p["a_t1"], method="roll_call",
                     client_id=uuid.uuid4())
    checkin.check_in(SYSTEM, session=world["session"], point=thpt, person=p["a_t2"], method="roll_call",
                     client_id=uuid.uuid4())
    keys = ["a_principal", "a_t1", "a_t2", "a_staff", "b_principal", "thpt_t1"]
    items = [item(world, p[k], device="kiosk-1") for k in keys]
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(board_notices.group_name(world["session"].pk), channel)
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(16):
        results = checkin.check_in_batch(operator, items)  # the same few queries for 6 items as for 500
    sent = [async_to_sync(layer.receive)(channel)]
    async_to_sync(layer.group_discard)(board_notices.group_name(world["session"].pk), channel)
    assert [r.created for r in results] == [True] * 6
    assert [str(r.checkin.client_id) for r in results] == [i.client_id for i in items]
    assert all(r.checkin.pk for r in results)
    flags = {k: (r.checkin.duplicate_person, r.checkin.other_point) for k, r in zip(keys, results, strict=True)}
    assert flags == {"a_principal": (False, False), "a_t1": (True, False), "a_t2": (False, True),
                     "a_staff": (False, False), "b_principal": (False, False),
                     "thpt_t1": (False, True)}  # assigned to THPT Ba Vì's point, scanned at Ba Vì's
    # One dirty notice for the whole batch, naming the institutions' paths (never figures).
    assert sent[0]["type"] == "hub.dirty" and sent[0]["session"] == world["session"].pk
    assert sent[0]["paths"] == [] or set(sent[0]["paths"]) == {
        r.checkin.person.unit.path for r in results}
    assert async_to_sync(nothing_more)(layer, channel)

    # The same check-ins recorded one by one (the reference path) make the same rows.
    CheckIn.objects.filter(pk__in=[r.checkin.pk for r in results]).delete()
    one_by_one = [checkin.check_in(operator, session=world["session"], point=bavi, person=p[k], method="roll_call",
                                    client_id=uuid.uuid4(), device="kiosk-1").checkin for k in keys]
    stored = {r.checkin.person_id: r.checkin for r in results}
    assert [fields(stored[c.person_id]) for c in one_by_one] == [fields(c) for c in one_by_one]


def test_a_retried_batch_is_a_no_op_and_a_mixed_one_keeps_its_first_rows(world, make_user):
    p = world["people"]
    operator = operator_of(make_user, world, world["bavi_point"])
    items = [item(world, p["a_t1"]), item(world, p["a_t2"])]
    first = checkin.check_in_batch(operator, items)
    again = checkin.check_in_batch(operator, items)
    assert [r.created for r in again] == [False, False]
    assert [r.checkin.pk for r in again] == [r.checkin.pk for r in first]
    mixed = checkin.check_in_batch(operator, [items[0], item(world, p["a_t3"])])
    assert [r.created for r in mixed] == [False, True]
    assert CheckIn.objects.count() == 3


def test_the_same_person_twice_in_a_batch_is_flagged_the_second_time(world):
    p = world["people"]
    results = checkin.check_in_batch(SYSTEM, [item(world, p["a_t1"]), item(world, p["a_t1"])])
    assert [(r.created, r.checkin.duplicate_person) for r in results] == [(True, False), (True, True)]


def test_a_bad_item_refuses_the_whole_batch_with_its_code(world, make_user, person_factory):
    p = world["people"]
    operator = operator_of(make_user, world, world["bavi_point"])
    stranger = person_factory(world["t"]["TH_CAMLINH"], "Lý Văn Minh")  # school not assigned
    inactive = p["a_t3"]
    inactive.is_active = False
    inactive.save()
    items = [item(world, p["a_t1"]), item(world, stranger), item(world, inactive),
             item(world, p["c_t1"]),  # Sóc Sơn's teacher: outside the operator's point and part of the tree
             item(world, p["a_t2"], point=world["thpt_point"])]  # a point this operator does not run
    with pytest.raises(DomainError) as err:
        checkin.check_in_batch(operator, items)
    assert [(d["index"], d["code"]) for d in err.value.details] == [
        (1, "not_invited"), (2, "person_inactive"), (3, "not_found"), (4, "not_found")]
    assert CheckIn.objects.count() == 0
