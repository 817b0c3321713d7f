"""Check-ins one by one, by badge, by delegation and in batches: each bad input refused with its code."""

import datetime

import pytest
from django.utils import timezone

from diemcau.attendance import badges, checkin, rollup
from diemcau.attendance.checkin import CheckInItem
from diemcau.attendance.models import CheckIn
from diemcau.core.errors import DomainError, ScopeError
from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM

from .conftest import cid, roll_call

pytestmark = pytest.mark.smoke


# --- check-in ---------------------------------------------------------------------------------
def test_same_client_id_twice_is_one_row(world):
    p, client_id = world["people"], cid()
    first = roll_call(world, p["a_t1"], client_id=client_id)
    again = roll_call(world, p["a_t1"], client_id=str(client_id))
    assert first.created and not again.created and again.checkin.pk == first.checkin.pk
    assert CheckIn.objects.count() == 1
    with pytest.raises(DomainError) as err:  # the same id for someone else is a client bug, not a retry
        roll_call(world, p["a_t2"], client_id=client_id)
    assert err.value.code == "client_id_reused"


def test_duplicates_are_flagged_not_double_counted(world):
    p = world["people"]
    assert not roll_call(world, p["a_t1"]).checkin.duplicate_person
    twice = roll_call(world, p["a_t1"]).checkin
    assert twice.duplicate_person and not twice.other_point
    elsewhere = roll_call(world, p["a_t1"], point=world["thpt_point"]).checkin
    assert elsewhere.other_point and not elsewhere.duplicate_person
    assert CheckIn.objects.count() == 3
    assert rollup.present_at_point(world["session"], world["bavi_point"]) == 1
    assert rollup.rollup(world["session"], world["t"]["school_a"])["present"] == 1


def test_person_not_invited_or_inactive(world, person_factory):
    stranger = person_factory(world["t"]["TH_CAMLINH"], "Lý Văn Minh")  # school not assigned
    with pytest.raises(DomainError) as err:
        roll_call(world, stranger)
    assert err.value.code == "not_invited"
    with pytest.raises(DomainError) as err:
        checkin.check_in(SYSTEM, session=world["session"], point=world["bavi_point"], person=world["people"]["a_t1"],
                         method="teleport", client_id=cid())
    assert err.value.code == "invalid_method"
    with pytest.raises(DomainError) as err:
        roll_call(world, world["people"]["a_t1"], client_id="not-a-uuid")
    assert err.value.code == "invalid_client_id"
    with pytest.raises(DomainError) as err:
        roll_call(world, world["people"]["a_t1"], scanned_at=datetime.datetime(2023, 8, 15, 8, 0))
    assert err.value.code == "invalid_scan_time"  # no time zone
    with pytest.raises(DomainError) as err:
        checkin.check_in(SYSTEM, session=world["afternoon"], point=world["bavi_point"],
                         person=world["people"]["a_t1"], method="roll_call", client_id=cid())
    assert err.value.code == "not_invited"
    assert CheckIn.objects.count() == 0


def test_scope_of_operators(world, make_user, organiser_bavi):
    p, t = world["people"], world["t"]
    socson = make_user("socson", Role.UNIT_ORGANISER, t["socson"])
    with pytest.raises(ScopeError) as err:  # another district's organiser, at Ba Vì's point
        roll_call(world, p["a_t1"], actor=socson)
    assert err.value.code == "point_out_of_scope"
    with pytest.raises(ScopeError) as err:  # Sóc Sơn's teacher, assigned elsewhere, outside Ba Vì
        roll_call(world, p["c_t1"], actor=organiser_bavi)
    assert err.value.code == "person_out_of_scope"
    assert roll_call(world, p["a_t1"], actor=organiser_bavi).created
    # An operator named for another unit is refused; one named for the point's own unit (the demo's
    # technician) runs its roll call, as it runs its kiosk (one rule: points.access).
    elsewhere = make_user("kythuat_socson", Role.POINT_OPERATOR, t["socson"])
    with pytest.raises(ScopeError):
        roll_call(world, p["a_t2"], actor=elsewhere)
    operator = make_user("kythuat", Role.POINT_OPERATOR, world["bavi_point"].hall.unit)
    assert roll_call(world, p["a_t2"], actor=operator).checkin.recorded_by == operator
    RoleAssignment.objects.filter(user=operator).update(point_id=world["bavi_point"].pk)
    operator = type(operator).objects.get(pk=operator.pk)  # a fresh user: scopes are cached per object
    assert roll_call(world, p["a_t3"], actor=operator).checkin.recorded_by == operator
    assert CheckIn.objects.count() == 3


def test_a_participant_checks_only_themselves_in(world, make_user):
    p = world["people"]
    teacher = make_user("binh")
    p["a_t1"].user = teacher
    p["a_t1"].save()
    mine = checkin.check_in(teacher, session=world["session"], point=world["bavi_point"], person=p["a_t1"],
                            method=CheckIn.Method.QR_SELF, client_id=cid())
    assert mine.created
    with pytest.raises(ScopeError):
        checkin.check_in(teacher, session=world["session"], point=world["bavi_point"], person=p["a_t2"],
                         method=CheckIn.Method.QR_SELF, client_id=cid())
    with pytest.raises(ScopeError):
        roll_call(world, p["a_t1"], actor=teacher)


def test_whole_delegation_present(world):
    results = checkin.check_in_delegation(SYSTEM, session=world["session"], point=world["bavi_point"],
                                          institution=world["t"]["school_b"], client_id=(c := cid()))
    assert [r.created for r in results] == [True, True]
    again = checkin.check_in_delegation(SYSTEM, session=world["session"], point=world["bavi_point"],
                                        institution=world["t"]["school_b"], client_id=c)
    assert [r.created for r in again] == [False, False] and CheckIn.objects.count() == 2
    with pytest.raises(DomainError) as err:  # a composition rule with nobody named
        checkin.check_in_delegation(SYSTEM, session=world["session"], point=world["bavi_point"],
                                    institution=world["t"]["school_a"], client_id=cid())
    assert err.value.code == "delegation_not_named"


# --- badges -----------------------------------------------------------------------------------
def badge(session, point, person=None):
    # The fixture's session was in 2023: its badges' default expiry has passed, so give one.
    return badges.make_badge_token(session, point, person,
                                   expires_at=timezone.now() + datetime.timedelta(hours=1))


def test_personal_badge_checks_in(world):
    p, s, point = world["people"], world["session"], world["bavi_point"]
    token = badge(s, point, p["a_t3"])
    result = checkin.check_in_by_badge(SYSTEM, session=s, point=point, token=token, client_id=cid())
    assert result.checkin.person == p["a_t3"] and result.checkin.method == CheckIn.Method.QR_SCAN


def test_point_badge_checks_the_participant_in(world, make_user):
    p, s, point = world["people"], world["session"], world["bavi_point"]
    teacher = make_user("cuc")
    p["a_t2"].user = teacher
    p["a_t2"].save()
    token = badge(s, point)
    result = checkin.check_in_by_badge(teacher, session=s, point=point, token=token, client_id=cid())
    assert result.checkin.person == p["a_t2"] and result.checkin.method == CheckIn.Method.QR_SELF


def test_bad_badges(world):
    p, s, point = world["people"], world["session"], world["bavi_point"]
    good = badge(s, point, p["a_t1"])
    past = timezone.now() - datetime.timedelta(minutes=1)
    cases = {
        good[:-3] + ("abc" if not good.endswith("abc") else "xyz"): "badge_forged",
        "": "badge_forged",
        badges.make_badge_token(s, point, p["a_t1"], expires_at=past): "badge_expired",
        badge(world["afternoon"], point, p["a_t1"]): "badge_other_session",
        badge(s, world["thpt_point"], p["a_t1"]): "badge_other_point",
    }
    for token, code in cases.items():
        with pytest.raises(DomainError) as err:
            checkin.check_in_by_badge(SYSTEM, session=s, point=point, token=token, client_id=cid())
        assert err.value.code == code, token
    assert CheckIn.objects.count() == 0


# --- batches ----------------------------------------------------------------------------------
def item(world, person, **kw):
    return CheckInItem(**{"client_id": str(cid()), "session_id": world["session"].pk,
                          "point_id": world["bavi_point"].pk, "person_id": person.pk, "method": "roll_call", **kw})


def test_a_malformed_batch_writes_nothing(world):
    p = world["people"]
    items = [item(world, p["a_t1"]), item(world, p["b_t1"], session_id=world["afternoon"].pk),
             item(world, p["a_t2"], badge="forged"), item(world, p["a_t3"], person_id=999999)]
    with pytest.raises(DomainError) as err:
        checkin.check_in_batch(SYSTEM, items)
    assert err.value.code == "batch_refused"
    assert [(d["index"], d["code"]) for d in err.value.details] == [(1, "not_invited"), (2, "badge_forged"),
                                                                    (3, "not_found")]
    assert CheckIn.objects.count() == 0
    good = [items[0], items[0], item(world, p["a_t3"])]
    assert [r.created for r in checkin.check_in_batch(SYSTEM, good)] == [True, False, True]
    assert [r.created for r in checkin.check_in_batch(SYSTEM, good)] == [False, False, False]
    assert CheckIn.objects.count() == 2
