"""Check-in written once: plan a list, then apply it; one check-in is a batch of one.

Each rule refuses with the same code whichever way the check-in comes: one by one from a page
(``check_in``), one item through the API (``check_in_one``) or inside a batch (``batch_refused``
naming the item; anything outside the actor's reach reads ``not_found`` there).
"""

import datetime
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from diemcau.attendance import board_notices, checkin, headcounts
from diemcau.attendance.checkin import CheckInItem
from diemcau.attendance.models import CheckIn
from diemcau.core.errors import DomainError
from diemcau.events.models import Session
from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM

from .conftest import TEACHER

pytestmark = pytest.mark.smoke


def operator_of(make_user, world, point):
    user = make_user("kiosk", Role.POINT_OPERATOR, point.hall.unit)
    RoleAssignment.objects.filter(user=user).update(point_id=point.pk)
    return type(user).objects.get(pk=user.pk)


def _stranger(world, person_factory):
    return person_factory(world["t"]["TH_CAMLINH"], "Lý Văn Minh")  # school not assigned


def _inactive(world, person_factory):
    person = world["people"]["a_t3"]
    person.is_active = False
    person.save()
    return person


def _closed(world, person_factory):
    now = timezone.now()
    Session.objects.filter(pk=world["session"].pk).update(starts_at=now + datetime.timedelta(days=1),
                                                          ends_at=now + datetime.timedelta(days=1, hours=3))
    world["session"].refresh_from_db()
    return world["people"]["a_t1"]


def _reused(world, person_factory):
    checkin.check_in(SYSTEM, session=world["session"], point=world["bavi_point"], person=world["people"]["a_t2"],
                     method="roll_call", client_id=REUSED)
    return world["people"]["a_t1"]


REUSED = uuid.UUID("00000000-0000-4000-8000-000000000001")
# case: (who, actor, point, item fields) → the code of the single path, of the batch's item
CASES = {
    "not invited": (_stranger, "system", "bavi_point", {}, "not_invited", "not_invited"),
    "inactive": (_inactive, "system", "bavi_point", {}, "person_inactive", "person_inactive"),
    "window closed": (_closed, "system", "bavi_point", {}, "outside_session_window", "outside_session_window"),
    "client id reused": (_reused, "system", "bavi_point", {"client_id": REUSED}, "client_id_reused",
                         "client_id_reused"),
    "bad method": ("a_t1", "system", "bavi_point", {"method": "teleport"}, "invalid_method", "invalid_method"),
    "bad client id": ("a_t1", "system", "bavi_point", {"client_id": "not-a-uuid"}, "invalid_client_id",
                      "invalid_client_id"),
    "naive scan time": ("a_t1", "system", "bavi_point", {"scanned_at": datetime.datetime(2023, 8, 15, 8)},
                        "invalid_scan_time", "invalid_scan_time"),
    "other session's point": ("a_t1", "system", "bavi_point", {"session": "afternoon"}, "not_invited",
                              "not_invited"),
    "point not operated": ("a_t2", "operator", "thpt_point", {}, "point_out_of_scope", "not_found"),
    "person out of reach": ("c_t1", "bavi_organiser", "bavi_point", {}, "person_out_of_scope", "not_found"),
    "forged badge": ("a_t1", "system", "bavi_point", {"badge": "forged"}, "badge_forged", "badge_forged"),
}


@pytest.fixture
def case(request, world, make_user, organiser_bavi, person_factory):
    who, actor, point, fields, single, batch = CASES[request.param]
    fields = dict(fields)
    person = who(world, person_factory) if callable(who) else world["people"][who]
    actor = {"system": SYSTEM, "bavi_organiser": organiser_bavi,
             "operator": operator_of(make_user, world, world["bavi_point"]) if actor == "operator" else None}[actor]
    session = world[fields.pop("session")] if "session" in fields else world["session"]
    return {"actor": actor, "session": session, "point": world[point], "person": person, "fields": fields,
            "single": single, "batch": batch}


@pytest.mark.parametrize("case", list(CASES), indirect=True)
def test_every_rule_refuses_with_one_code_whichever_the_way_in(world, case):
    actor, session, point, person, fields = (case[k] for k in ("actor", "session", "point", "person", "fields"))
    item = CheckInItem(**{"client_id": uuid.uuid4(), "session_id": session.pk, "point_id": point.pk,
                          "person_id": person.pk, "method": "roll_call", **fields})
    before = CheckIn.objects.count()
    codes = []
    if not item.badge:
        with pytest.raises(DomainError) as err:
            checkin.check_in(actor, session=session, point=point, person=person, method=item.method,
                             client_id=item.client_id, scanned_at=item.scanned_at)
        codes.append(err.value.code)
    else:
        with pytest.raises(DomainError) as err:
            checkin.check_in_by_badge(actor, session=session, point=point, token=item.badge, client_id=item.client_id)
        codes.append(err.value.code)
    ok = CheckInItem(client_id=uuid.uuid4(), session_id=world["session"].pk, point_id=world["bavi_point"].pk,
                     person_id=world["people"]["b_t1"].pk)
    with pytest.raises(DomainError) as err:
        checkin.check_in_batch(actor, [ok, item])
    assert err.value.code == "batch_refused"
    codes.append({d["index"]: d["code"] for d in err.value.details}[1])
    assert codes == [case["single"], case["batch"]]
    assert CheckIn.objects.count() == before  # the good item of the refused batch is not recorded either


def test_a_plan_writes_nothing_and_apply_writes_its_new_rows(world, django_capture_on_commit_callbacks):
    p = world["people"]
    first = CheckInItem(client_id=uuid.uuid4(), session_id=world["session"].pk, point_id=world["bavi_point"].pk,
                        person_id=p["a_t1"].pk)
    items = [first, first, CheckInItem(client_id=uuid.uuid4(), session_id=world["session"].pk,
                                       point_id=world["thpt_point"].pk, person_id=p["a_t1"].pk)]
    plan = checkin.plan_check_ins(SYSTEM, items)
    assert CheckIn.objects.count() == 0 and not plan.refused
    assert [(o.created, o.row.duplicate_person, o.row.other_point) for o in plan.outcomes] == [
        (True, False, False), (False, False, False), (True, False, True)]
    assert plan.outcomes[1].row is plan.outcomes[0].row  # the retry inside the list is the first row
    with django_capture_on_commit_callbacks() as callbacks:
        results = checkin.apply(plan)
    assert len(callbacks) == 1  # one notice for the whole list
    assert CheckIn.objects.count() == 2 and results[0].checkin.pk == results[1].checkin.pk


def test_a_refused_plan_is_not_applied(world):
    item = CheckInItem(client_id="nope", session_id=world["session"].pk, point_id=world["bavi_point"].pk,
                       person_id=world["people"]["a_t1"].pk)
    plan = checkin.plan_check_ins(SYSTEM, [item])
    assert [o.error.code for _i, o in plan.refused] == ["invalid_client_id"]
    with pytest.raises(ValueError):
        checkin.apply(plan)
    assert CheckIn.objects.count() == 0


def test_headcounts_are_written_by_the_same_apply(world, django_capture_on_commit_callbacks):
    """A headcount's rows go through ``apply`` like any check-in: one board notice on commit, for its point."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    group = board_notices.group_name(world["session"].pk)
    async_to_sync(layer.group_add)(group, channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            rows = headcounts.record_headcount(SYSTEM, session=world["session"], point=world["thpt_point"],
                                               counts_by_category={TEACHER: 7}, client_id=uuid.uuid4())
        notice = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(group, channel)
    assert notice["session"] == world["session"].pk
    assert notice["paths"] in ([], [world["thpt_point"].hall.unit.path])
    assert sum(r.count for r in rows) == 7


def test_whole_delegation_present_is_one_list_all_or_nothing(world):
    p, c = world["people"], uuid.uuid4()
    # The principal's derived client id already used at another point: a client bug, the whole
    # delegation is refused with that code and the teacher is not recorded either.
    checkin.check_in(SYSTEM, session=world["session"], point=world["thpt_point"], person=p["b_principal"],
                     method="roll_call", client_id=checkin.derived_uuid(c, p["b_principal"].pk))
    with pytest.raises(DomainError) as err:
        checkin.check_in_delegation(SYSTEM, session=world["session"], point=world["bavi_point"],
                                    institution=world["t"]["school_b"], client_id=c)
    assert err.value.code == "client_id_reused" and CheckIn.objects.count() == 1
    p["b_t1"].is_active = False  # the named teacher left after being named: not brought
    p["b_t1"].save()
    results = checkin.check_in_delegation(SYSTEM, session=world["session"], point=world["bavi_point"],
                                          institution=world["t"]["school_b"], client_id=uuid.uuid4())
    assert [(r.checkin.person_id, r.checkin.duplicate_person, r.checkin.other_point) for r in results] == [
        (p["b_principal"].pk, False, True)]  # seen at THPT's point before: flagged as elsewhere
