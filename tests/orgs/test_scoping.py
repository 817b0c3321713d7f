"""Scoping: users never see or change anything outside their subtree (property-based)."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diemcau.core.errors import ScopeError
from diemcau.orgs import services
from diemcau.orgs.models import Role, RoleAssignment, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for

pytestmark = pytest.mark.smoke

READ_ROLES = {Role.UNIT_ORGANISER, Role.PRINCIPAL, Role.MODERATOR, Role.POINT_OPERATOR, Role.PARTICIPANT}
WRITE_ROLES = {Role.UNIT_ORGANISER}
PEOPLE_ROLES = {Role.UNIT_ORGANISER, Role.PRINCIPAL}
GLOBAL_READ = {Role.NATIONAL_ORGANISER, Role.DIRECTOR, Role.ANALYST}

trees = st.integers(min_value=2, max_value=14).flatmap(
    lambda n: st.tuples(*[st.just(None)] + [st.integers(0, i - 1) for i in range(1, n)])
)
role_sets = st.lists(
    st.tuples(st.sampled_from(sorted(Role.values)), st.integers(0, 100)), min_size=0, max_size=3
)


def _descendants(parents, i):
    """Brute force: every node whose chain of parents reaches i."""
    out = set()
    for j in range(len(parents)):
        k = j
        while k is not None:
            if k == i:
                out.add(j)
                break
            k = parents[k]
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parents=trees, roles=role_sets)
def test_random_users_stay_in_their_subtrees(db, django_user_model, parents, roles):
    with transaction.atomic():
        units = []
        for i, p in enumerate(parents):
            units.append(services.create_unit(
                SYSTEM, parent=units[p] if p is not None else None,
                kind=Unit.Kind.INSTITUTION, code=f"H{i}", name=f"Đơn vị {i}"))
        user = django_user_model.objects.create_user(username="u")
        read, write, people = set(), set(), set()
        for role, idx in roles:
            i = idx % len(units)
            if role in GLOBAL_READ:
                RoleAssignment.objects.get_or_create(user=user, role=role, unit=None)
                read |= set(range(len(units)))
                if role == Role.NATIONAL_ORGANISER:
                    write |= set(range(len(units)))
                    people |= set(range(len(units)))
                continue
            RoleAssignment.objects.get_or_create(user=user, role=role, unit=units[i])
            below = _descendants(parents, i)
            if role in READ_ROLES:
                read |= below
            if role in WRITE_ROLES:
                write |= below
            if role in PEOPLE_ROLES:
                people |= below

        scope = scope_for(user)
        codes = {u.code for u in scope.units()}
        assert codes == {f"H{i}" for i in read}
        assert {u.code for u in scope.units("write")} == {f"H{i}" for i in write}
        for i, unit in enumerate(units):
            assert scope.can_see(unit) == (i in read)
            assert scope.can_change(unit) == (i in write)
            assert scope.can_change_people(unit) == (i in people)
            if i in write:
                services.update_unit(user, unit, short_name="ok")
            else:
                with pytest.raises(ScopeError):
                    services.update_unit(user, unit, short_name="leak")
                assert Unit.objects.get(pk=unit.pk).short_name != "leak"
        transaction.set_rollback(True)


def test_organiser_scope(tree, organiser_bavi):
    scope = scope_for(organiser_bavi)
    assert scope.can_change(tree["school_a"])
    assert not scope.can_see(tree["school_c"])  # Sóc Sơn is a sibling district
    assert not scope.can_see(tree["hanoi"])  # the parent is outside too
    assert {r.code for r in scope.roots()} == {"PGD_BAVI"}


def test_organiser_cannot_move_a_unit_out_of_their_subtree(tree, organiser_bavi):
    with pytest.raises(ScopeError):
        services.move_unit(organiser_bavi, tree["school_a"], tree["socson"])


def test_principal_changes_people_not_the_school(tree, make_user, person_factory):
    principal = make_user("ht", Role.PRINCIPAL, tree["school_a"])
    teacher = person_factory(tree["school_a"])
    services.update_person(principal, teacher, position="Tổ trưởng")
    with pytest.raises(ScopeError):
        services.update_unit(principal, tree["school_a"], name="Đổi tên")
    other = person_factory(tree["school_b"])
    with pytest.raises(ScopeError):
        services.update_person(principal, other, position="x")


def test_unit_organiser_cannot_grant_a_national_role(tree, organiser_bavi, make_user):
    victim = make_user("v")
    from diemcau.core.errors import DomainError

    with pytest.raises(DomainError):
        services.grant_role(organiser_bavi, victim, Role.NATIONAL_ORGANISER)
    with pytest.raises(ScopeError):
        services.grant_role(organiser_bavi, victim, Role.UNIT_ORGANISER, tree["socson"])
    services.grant_role(organiser_bavi, victim, Role.PRINCIPAL, tree["school_a"])
    assert scope_for(victim).can_see(tree["school_a"])


def test_participant_sees_only_own_unit(tree, make_user, person_factory):
    user = make_user("gv")
    person = person_factory(tree["school_a"])
    person.user = user
    person.save()
    scope = scope_for(user)
    assert {u.code for u in scope.units()} == {"TH_TAYDANG_A"}
    assert not scope.write_paths


def test_inactive_or_anonymous_users_see_nothing(tree, make_user):
    from django.contrib.auth.models import AnonymousUser

    user = make_user("off", Role.NATIONAL_ORGANISER)
    user.is_active = False
    user.save()
    user = type(user).objects.get(pk=user.pk)
    assert scope_for(user).is_empty
    assert scope_for(AnonymousUser()).units().count() == 0


def test_moderators_moderate_only_their_assigned_subtree(tree, make_user, person_factory):
    # A Ba Vì moderator who is also a teacher at a Sóc Sơn school reads that school (as a
    # participant) but moderates only Ba Vì.
    moderator = make_user("kd", Role.MODERATOR, tree["bavi"])
    person = person_factory(tree["school_c"])
    person.user = moderator
    person.save()
    scope = scope_for(type(moderator).objects.get(pk=moderator.pk))
    assert scope.can_see(tree["school_c"])
    assert not scope.covers(tree["school_c"].path, "moderate")
    assert scope.covers(tree["school_a"].path, "moderate")


def test_everything_survives_an_or_with_another_condition(tree, national):
    """A national organiser's "everything" OR-ed with a narrower rule is still everything.

    An empty ``Q()`` is dropped by ``|``, so "in scope, or assigned here" had become "assigned
    here" for the one role that reads everything (kiosk lists, check-in reach)."""
    from django.db.models import Q

    from diemcau.orgs.models import Unit
    from diemcau.orgs.scoping import scope_for

    everything = Unit.objects.filter(scope_for(national).q("path") | Q(code="none-such"))
    assert everything.count() == Unit.objects.count() > 0
