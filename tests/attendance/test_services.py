"""Delegations, check-ins, headcounts and badges: every bad input refused with its code, nothing partial."""

import datetime
import uuid

import pytest
from django.utils import timezone

from diemcau.attendance import services
from diemcau.attendance.models import CheckIn, Delegation
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM

from .conftest import MGMT, STAFF, TEACHER

pytestmark = pytest.mark.smoke


def cid():
    return uuid.uuid4()


def roll_call(world, person, actor=SYSTEM, point=None, client_id=None, **kw):
    return services.check_in(actor, session=world["session"], point=point or world["bavi_point"], person=person,
                             method=CheckIn.Method.ROLL_CALL, client_id=client_id or cid(), **kw)


# --- delegations ------------------------------------------------------------------------------
def test_delegation_status_says_what_is_missing(world):
    p, t = world["people"], world["t"]
    a = Delegation.objects.get(institution=t["school_a"])
    status = services.delegation_status(a)
    assert not status["complete"]
    assert status["missing"] == {MGMT: 1, TEACHER: 2, STAFF: 1} and status["expected"] == 4
    a = services.name_delegation(SYSTEM, world["session"], t["school_a"], rule=Delegation.Rule.COMPOSITION,
                                 min_management=1, min_teachers=2, min_staff=1,
                                 members=[p["a_principal"], p["a_t1"], p["a_t2"], p["a_t3"]])
    status = services.delegation_status(a)
    assert status["missing"] == {STAFF: 1} and status["expected"] == 5
    all_staff = services.name_delegation(SYSTEM, world["session"], t["school_a"], rule=Delegation.Rule.ALL_STAFF)
    assert services.delegation_status(all_staff)["expected"] == 5
    assert services.delegation_status(Delegation.objects.get(institution=t["school_b"]))["complete"]
    assert AuditEntry.objects.filter(action="delegation.named", object_id=str(a.pk)).count() == 3


def test_the_principal_names_only_their_school(world, make_user):
    p, t = world["people"], world["t"]
    principal = make_user("hieutruong", Role.PRINCIPAL, t["school_b"])
    services.name_delegation(principal, world["session"], t["school_b"], members=[p["b_t1"]])
    with pytest.raises(ScopeError):
        services.name_delegation(principal, world["session"], t["school_a"], members=[p["a_t1"]])


@pytest.mark.parametrize("kwargs, code", [
    ({"members": []}, "empty_delegation"),
    ({"rule": "composition"}, "empty_rule"),
    ({"rule": "composition", "min_teachers": -1}, "invalid_minimum"),
    ({"rule": "nonsense"}, "invalid_rule"),
    ({"members": ["c_t1"]}, "member_not_in_institution"),
])
def test_bad_delegations_are_refused_and_nothing_changes(world, kwargs, code):
    p, t = world["people"], world["t"]
    if "members" in kwargs:
        kwargs["members"] = [p[k] for k in kwargs["members"]]
    before = list(Delegation.objects.get(institution=t["school_b"]).members.values_list("person_id", flat=True))
    with pytest.raises(DomainError) as err:
        services.name_delegation(SYSTEM, world["session"], t["school_b"], **kwargs)
    assert err.value.code == code
    after = list(Delegation.objects.get(institution=t["school_b"]).members.values_list("person_id", flat=True))
    assert sorted(after) == sorted(before)


def test_an_uninvited_institution_has_no_delegation(world):
    with pytest.raises(DomainError) as err:  # the university is invited to the afternoon only
        services.name_delegation(SYSTEM, world["session"], world["t"]["university"], rule="all_staff")
    assert err.value.code == "not_invited"


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
    assert services.present_at_point(world["session"], world["bavi_point"]) == 1
    assert services.rollup(world["session"], world["t"]["school_a"])["present"] == 1


def test_person_not_invited_or_inactive(world, person_factory):
    stranger = person_factory(world["t"]["TH_CAMLINH"], "Lý Văn Minh")  # school not assigned
    with pytest.raises(DomainError) as err:
        roll_call(world, stranger)
    assert err.value.code == "not_invited"
    with pytest.raises(DomainError) as err:
        services.check_in(SYSTEM, session=world["session"], point=world["bavi_point"], person=world["people"]["a_t1"],
                          method="teleport", client_id=cid())
    assert err.value.code == "invalid_method"
    with pytest.raises(DomainError) as err:
        roll_call(world, world["people"]["a_t1"], client_id="not-a-uuid")
    assert err.value.code == "invalid_client_id"
    with pytest.raises(DomainError) as err:
        roll_call(world, world["people"]["a_t1"], scanned_at=datetime.datetime(2023, 8, 15, 8, 0))
    assert err.value.code == "invalid_scan_time"  # no time zone
    with pytest.raises(DomainError) as err:
        services.check_in(SYSTEM, session=world["afternoon"], point=world["bavi_point"],
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
    mine = services.check_in(teacher, session=world["session"], point=world["bavi_point"], person=p["a_t1"],
                             method=CheckIn.Method.QR_SELF, client_id=cid())
    assert mine.created
    with pytest.raises(ScopeError):
        services.check_in(teacher, session=world["session"], point=world["bavi_point"], person=p["a_t2"],
                          method=CheckIn.Method.QR_SELF, client_id=cid())
    with pytest.raises(ScopeError):
        roll_call(world, p["a_t1"], actor=teacher)


def test_whole_delegation_present(world):
    results = services.check_in_delegation(SYSTEM, session=world["session"], point=world["bavi_point"],
                                           institution=world["t"]["school_b"], client_id=(c := cid()))
    assert [r.created for r in results] == [True, True]
    again = services.check_in_delegation(SYSTEM, session=world["session"], point=world["bavi_point"],
                                         institution=world["t"]["school_b"], client_id=c)
    assert [r.created for r in again] == [False, False] and CheckIn.objects.count() == 2
    with pytest.raises(DomainError) as err:  # a composition rule with nobody named
        services.check_in_delegation(SYSTEM, session=world["session"], point=world["bavi_point"],
                                     institution=world["t"]["school_a"], client_id=cid())
    assert err.value.code == "delegation_not_named"


# --- headcount --------------------------------------------------------------------------------
def headcount(world, counts, client_id=None, point=None):
    return services.record_headcount(SYSTEM, session=world["session"], point=point or world["thpt_point"],
                                     counts_by_category=counts, client_id=client_id or cid())


def test_headcount_latest_counts_and_retries_are_no_ops(world):
    c = cid()
    headcount(world, {TEACHER: 10, STAFF: 2}, client_id=c)
    headcount(world, {TEACHER: 10, STAFF: 2}, client_id=c)
    assert CheckIn.objects.count() == 3  # one row per category, zeros included
    headcount(world, {TEACHER: 12, STAFF: 3})
    assert services.present_at_point(world["session"], world["thpt_point"]) == 15


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


# --- badges -----------------------------------------------------------------------------------
def badge(session, point, person=None):
    # The fixture's session was in 2023: its badges' default expiry has passed, so give one.
    return services.make_badge_token(session, point, person,
                                     expires_at=timezone.now() + datetime.timedelta(hours=1))


def test_personal_badge_checks_in(world):
    p, s, point = world["people"], world["session"], world["bavi_point"]
    token = badge(s, point, p["a_t3"])
    result = services.check_in_by_badge(SYSTEM, session=s, point=point, token=token, client_id=cid())
    assert result.checkin.person == p["a_t3"] and result.checkin.method == CheckIn.Method.QR_SCAN


def test_point_badge_checks_the_participant_in(world, make_user):
    p, s, point = world["people"], world["session"], world["bavi_point"]
    teacher = make_user("cuc")
    p["a_t2"].user = teacher
    p["a_t2"].save()
    token = badge(s, point)
    result = services.check_in_by_badge(teacher, session=s, point=point, token=token, client_id=cid())
    assert result.checkin.person == p["a_t2"] and result.checkin.method == CheckIn.Method.QR_SELF


def test_bad_badges(world):
    p, s, point = world["people"], world["session"], world["bavi_point"]
    good = badge(s, point, p["a_t1"])
    past = timezone.now() - datetime.timedelta(minutes=1)
    cases = {
        good[:-3] + ("abc" if not good.endswith("abc") else "xyz"): "badge_forged",
        "": "badge_forged",
        services.make_badge_token(s, point, p["a_t1"], expires_at=past): "badge_expired",
        badge(world["afternoon"], point, p["a_t1"]): "badge_other_session",
        badge(s, world["thpt_point"], p["a_t1"]): "badge_other_point",
    }
    for token, code in cases.items():
        with pytest.raises(DomainError) as err:
            services.check_in_by_badge(SYSTEM, session=s, point=point, token=token, client_id=cid())
        assert err.value.code == code, token
    assert CheckIn.objects.count() == 0


# --- batches ----------------------------------------------------------------------------------
def item(world, person, **kw):
    return {"client_id": str(cid()), "session_id": world["session"].pk, "point_id": world["bavi_point"].pk,
            "person_id": person.pk, "method": "roll_call", **kw}


def test_a_malformed_batch_writes_nothing(world):
    p = world["people"]
    items = [item(world, p["a_t1"]), item(world, p["b_t1"], session_id=world["afternoon"].pk),
             item(world, p["a_t2"], badge="forged"), item(world, p["a_t3"], person_id=999999)]
    with pytest.raises(DomainError) as err:
        services.check_in_batch(SYSTEM, items)
    assert err.value.code == "batch_refused"
    assert [(d["index"], d["code"]) for d in err.value.details] == [(1, "not_invited"), (2, "badge_forged"),
                                                                    (3, "not_found")]
    assert CheckIn.objects.count() == 0
    good = [items[0], items[0], item(world, p["a_t3"])]
    assert [r.created for r in services.check_in_batch(SYSTEM, good)] == [True, False, True]
    assert [r.created for r in services.check_in_batch(SYSTEM, good)] == [False, False, False]
    assert CheckIn.objects.count() == 2


# --- roll-up ----------------------------------------------------------------------------------
@pytest.fixture
def morning_so_far(world):
    """Ba Vì's morning, checked by hand: see the figures in the test below."""
    p = world["people"]
    for key in ("a_principal", "a_t1", "a_t1", "a_t2", "b_principal"):
        roll_call(world, p[key])
    roll_call(world, p["b_principal"], point=world["thpt_point"])  # flagged, not counted twice
    headcount(world, {TEACHER: 10, STAFF: 2})
    headcount(world, {TEACHER: 12, STAFF: 3})  # supersedes the first
    return world


def test_rollup_figures_by_hand(morning_so_far):
    w = morning_so_far
    t, s = w["t"], w["session"]
    bavi = services.rollup(s, t["bavi"])
    # expected 4 (school A's rule) + 2 (school B's names) + 80 (THPT's seats); present 3 + 1 + 15.
    assert (bavi["expected"], bavi["present"], bavi["percentage"]) == (86, 19, 22.1)
    assert bavi["by_category"] == {MGMT: 2, TEACHER: 14, STAFF: 3}
    children = {c["unit"]: (c["expected"], c["present"]) for c in bavi["children"]}
    assert children == {t["school_a"].name: (4, 3), t["school_b"].name: (2, 1), t["THPT_BAVI"].name: (80, 15)}
    compliance = {c["institution_id"]: (c["complete"], c["missing"]) for c in bavi["compliance"]}
    assert compliance == {t["school_a"].pk: (False, {STAFF: 1}), t["school_b"].pk: (False, {"named": 1})}

    hanoi = services.rollup(s, t["hanoi"])
    assert (hanoi["expected"], hanoi["present"]) == (87, 19)
    assert {c["unit"]: (c["expected"], c["present"]) for c in hanoi["children"]} == {
        t["bavi"].name: (86, 19), t["socson"].name: (1, 0)}
    assert services.rollup(s, t["ministry"])["present"] == 19
    assert services.rollup(s, t["hcm"])["expected"] == 0 and services.rollup(s, t["hcm"])["percentage"] is None


def test_rollup_is_a_few_queries(morning_so_far, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        services.rollup(morning_so_far["session"], morning_so_far["t"]["ministry"])


def test_point_counts_match_the_one_point_figures(morning_so_far, django_assert_max_num_queries):
    w = morning_so_far
    points = [w["bavi_point"], w["thpt_point"], w["hanoi_point"], w["host"]]
    with django_assert_max_num_queries(8):
        counts = services.point_counts(w["session"], points)
    for point in points:
        assert counts[point.pk]["present"] == services.present_at_point(w["session"], point)
        assert counts[point.pk]["expected"] == services.expected_at_point(w["session"], point)
    assert (counts[w["bavi_point"].pk]["present"], counts[w["bavi_point"].pk]["expected"]) == (4, 6)
    assert (counts[w["thpt_point"].pk]["present"], counts[w["thpt_point"].pk]["expected"]) == (16, 80)
