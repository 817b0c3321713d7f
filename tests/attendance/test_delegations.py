"""Delegations: who an institution sends, its rule, what is missing; every bad input refused with its code."""

import pytest

from diemcau.attendance import delegations
from diemcau.attendance.models import Delegation
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM

from .conftest import MGMT, STAFF, TEACHER

pytestmark = pytest.mark.smoke


# --- delegations ------------------------------------------------------------------------------
def test_delegation_status_says_what_is_missing(world):
    p, t = world["people"], world["t"]
    a = Delegation.objects.get(institution=t["school_a"])
    status = delegations.delegation_status(a)
    assert not status["complete"]
    assert status["missing"] == {MGMT: 1, TEACHER: 2, STAFF: 1} and status["expected"] == 4
    a = delegations.name_delegation(SYSTEM, world["session"], t["school_a"], rule=Delegation.Rule.COMPOSITION,
                                    min_management=1, min_teachers=2, min_staff=1,
                                    members=[p["a_principal"], p["a_t1"], p["a_t2"], p["a_t3"]])
    status = delegations.delegation_status(a)
    assert status["missing"] == {STAFF: 1} and status["expected"] == 5
    all_staff = delegations.name_delegation(SYSTEM, world["session"], t["school_a"], rule=Delegation.Rule.ALL_STAFF)
    assert delegations.delegation_status(all_staff)["expected"] == 5
    assert delegations.delegation_status(Delegation.objects.get(institution=t["school_b"]))["complete"]
    assert AuditEntry.objects.filter(action="delegation.named", object_id=str(a.pk)).count() == 3


def test_the_principal_names_only_their_school(world, make_user):
    p, t = world["people"], world["t"]
    principal = make_user("hieutruong", Role.PRINCIPAL, t["school_b"])
    delegations.name_delegation(principal, world["session"], t["school_b"], members=[p["b_t1"]])
    with pytest.raises(ScopeError):
        delegations.name_delegation(principal, world["session"], t["school_a"], members=[p["a_t1"]])


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
        delegations.name_delegation(SYSTEM, world["session"], t["school_b"], **kwargs)
    assert err.value.code == code
    after = list(Delegation.objects.get(institution=t["school_b"]).members.values_list("person_id", flat=True))
    assert sorted(after) == sorted(before)


def test_an_uninvited_institution_has_no_delegation(world):
    with pytest.raises(DomainError) as err:  # the university is invited to the afternoon only
        delegations.name_delegation(SYSTEM, world["session"], world["t"]["university"], rule="all_staff")
    assert err.value.code == "not_invited"
