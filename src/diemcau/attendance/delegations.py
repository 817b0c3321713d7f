"""Delegations (đoàn đại biểu): who an institution sends to a session, and whether that meets its rule.

A delegation is named people (``named``), every active person (``all_staff``) or named people
held to minimums per category (``composition``). The expected figures of roll-ups and boards and
the "whole delegation present" action read the rule from here.
"""

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events import services as events
from diemcau.events.models import Session
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for
from diemcau.points.models import BridgePoint

from .models import Delegation, DelegationMember

CATEGORIES = [c.value for c in Person.Category]


def _require_people_scope(actor, institution: Unit):
    if actor is SYSTEM:
        return
    if not scope_for(actor).can_change_people(institution):
        raise ScopeError()


def _clean_minimum(value, label) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise DomainError(_("%(field)s must be a whole number, zero or more.") % {"field": label},
                          "invalid_minimum")
    return n


@transaction.atomic
def name_delegation(actor, session: Session, institution: Unit, *, rule: str = Delegation.Rule.NAMED,
                    min_management=0, min_teachers=0, min_staff=0, members=()) -> Delegation:
    """Name (or rename) an institution's delegation to a session: its rule and its people.

    The principal of the institution, or an organiser above it, may do this.
    """
    _require_people_scope(actor, institution)
    if institution.kind != Unit.Kind.INSTITUTION:
        raise DomainError(_("Only an educational institution sends a delegation."), "not_institution")
    if not events.invited_institutions(session).filter(pk=institution.pk).exists():
        raise DomainError(_("%(unit)s is not invited to this session.") % {"unit": institution.name},
                          "not_invited")
    if rule not in Delegation.Rule.values:
        raise DomainError(_("Unknown delegation rule."), "invalid_rule")
    mins = [_clean_minimum(min_management, _("Management board")), _clean_minimum(min_teachers, _("Teachers")),
            _clean_minimum(min_staff, _("Staff"))]
    if rule != Delegation.Rule.COMPOSITION:
        mins = [0, 0, 0]
    elif not sum(mins):
        raise DomainError(_("A composition rule needs at least one minimum above zero."), "empty_rule")
    member_ids = sorted({getattr(m, "pk", m) for m in members})
    people = list(Person.objects.filter(pk__in=member_ids))
    strangers = [pk for pk in member_ids if pk not in {p.pk for p in people}]
    strangers += [p.pk for p in people if p.unit_id != institution.pk or not p.is_active]
    if strangers:
        raise DomainError(_("Some people named are not active members of %(unit)s.") % {"unit": institution.name},
                          "member_not_in_institution", details=[{"person_id": pk} for pk in strangers])
    if rule == Delegation.Rule.NAMED and not people:
        raise DomainError(_("Name at least one person."), "empty_delegation")

    delegation, created = Delegation.objects.get_or_create(session=session, institution=institution)
    delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
    before = None if created else {**audit.snapshot(delegation, ["rule", "min_management", "min_teachers",
                                                                  "min_staff"]),
                                   "members": sorted(delegation.members.values_list("person_id", flat=True))}
    delegation.rule = rule
    delegation.min_management, delegation.min_teachers, delegation.min_staff = mins
    delegation.named_by = actor if getattr(actor, "is_authenticated", False) else None
    delegation.save()
    delegation.members.all().delete()
    DelegationMember.objects.bulk_create([DelegationMember(delegation=delegation, person=p) for p in people])
    after = {**audit.snapshot(delegation, ["rule", "min_management", "min_teachers", "min_staff"]),
             "members": member_ids}
    audit.record(actor, "delegation.named", delegation, unit_path=institution.path, before=before, after=after)
    from .counts import refresh_expected  # counts reads this module's rule

    refresh_expected(session.pk, [institution.pk])
    return delegation


# --- the rule: who is expected, what is missing -------------------------------------------------
def _category_counts(qs) -> dict[str, int]:
    counts = dict.fromkeys(CATEGORIES, 0)
    counts.update(dict(qs.values("category").annotate(n=Count("id")).values_list("category", "n")))
    return counts


def _expected(delegation: Delegation, named: dict[str, int], staff: dict[str, int]) -> dict[str, int]:
    """Expected people per category under the delegation's rule."""
    if delegation.rule == Delegation.Rule.ALL_STAFF:
        return staff
    if delegation.rule == Delegation.Rule.COMPOSITION:
        return {c: max(named[c], delegation.minimums()[c]) for c in CATEGORIES}
    return named


def missing_by_category(delegation: Delegation, have: dict[str, int], staff: dict[str, int]) -> dict[str, int]:
    """Per category, how many people the rule still wants beyond ``have`` (only the short ones)."""
    if delegation.rule == Delegation.Rule.ALL_STAFF:
        need = staff
    elif delegation.rule == Delegation.Rule.COMPOSITION:
        need = delegation.minimums()
    else:
        need = dict.fromkeys(CATEGORIES, 0)
    return {c: need[c] - have.get(c, 0) for c in CATEGORIES if need[c] > have.get(c, 0)}


def delegation_status(delegation: Delegation) -> dict:
    """Whether the people named meet the delegation's rule, and what is missing per category."""
    named = _category_counts(Person.objects.filter(delegations__delegation=delegation, is_active=True))
    staff = _category_counts(Person.objects.filter(unit_id=delegation.institution_id, is_active=True))
    missing = missing_by_category(delegation, named, staff)
    if delegation.rule == Delegation.Rule.NAMED and not sum(named.values()):
        missing = {"named": 1}
    expected = _expected(delegation, named, staff)
    return {"complete": not missing, "missing": missing, "named": named, "expected": sum(expected.values()),
            "expected_by_category": expected}


# Expected people of an institution with no delegation: its assignment's seats, not by category.
SEATS = ""


def expected_by_category(session: Session, assignments) -> dict[tuple[int, str], int]:
    """Expected people per (assigned institution, category): its delegation's rule (as
    :func:`delegation_status` reads it: named members, at least the minimums, or all active staff),
    else the assignment's seats under :data:`SEATS`. Four grouped queries, whatever the number."""
    expected = {(pk, SEATS): seats for pk, seats in assignments.values_list("institution_id", "seats")}
    delegations = Delegation.objects.filter(session=session, institution_id__in=assignments.values("institution_id"))
    named: dict[int, dict[str, int]] = {}
    for pk, cat, n in (DelegationMember.objects.filter(delegation__in=delegations)
                       .values("delegation__institution_id", "person__category").annotate(n=Count("id"))
                       .values_list("delegation__institution_id", "person__category", "n")):
        named.setdefault(pk, {})[cat] = n
    staff: dict[int, dict[str, int]] = {}
    for pk, cat, n in (Person.objects.filter(is_active=True, unit__delegations__in=delegations.filter(
            rule=Delegation.Rule.ALL_STAFF)).values("unit_id", "category").annotate(n=Count("id"))
            .values_list("unit_id", "category", "n")):
        staff.setdefault(pk, {})[cat] = n
    for d in delegations.only("institution_id", "rule", "min_management", "min_teachers", "min_staff"):
        pk = d.institution_id
        expected.pop((pk, SEATS), None)
        by_category = _expected(d, {**dict.fromkeys(CATEGORIES, 0), **named.get(pk, {})},
                                {**dict.fromkeys(CATEGORIES, 0), **staff.get(pk, {})})
        expected.update({(pk, cat): n for cat, n in by_category.items() if n})
    return expected


def expected_by_institution(session: Session, assignments) -> dict[int, int]:
    """Expected people per assigned institution (:func:`expected_by_category` summed)."""
    expected = dict.fromkeys(assignments.values_list("institution_id", flat=True), 0)
    for (pk, _cat), n in expected_by_category(session, assignments).items():
        expected[pk] = expected.get(pk, 0) + n
    return expected


# --- who "whole delegation present" checks in -------------------------------------------------
def delegation_people(delegation: Delegation):
    """The active people a delegation brings: its named members, or everyone for ``all_staff``."""
    if delegation.rule == Delegation.Rule.ALL_STAFF:
        return Person.objects.filter(unit_id=delegation.institution_id, is_active=True)
    return Person.objects.filter(delegations__delegation=delegation, is_active=True)


def delegation_people_at_point(session: Session, point: BridgePoint) -> dict[int, list[int]]:
    """Per institution assigned to ``point``, whom "whole delegation present" checks in (person ids).

    The same people as :func:`delegation_people`, for every delegation of the point in two
    queries; the roll-call screen keeps this list so the action works offline too.
    """
    delegations = Delegation.objects.filter(session=session, institution__point_assignments__session=session,
                                            institution__point_assignments__point=point)
    out: dict[int, list[int]] = {}
    for pk, inst in (DelegationMember.objects.filter(delegation__in=delegations.exclude(
            rule=Delegation.Rule.ALL_STAFF), person__is_active=True).order_by("person_id")
            .values_list("person_id", "delegation__institution_id")):
        out.setdefault(inst, []).append(pk)
    for pk, inst in (Person.objects.filter(is_active=True, unit__delegations__in=delegations.filter(
            rule=Delegation.Rule.ALL_STAFF)).order_by("pk").values_list("pk", "unit_id")):
        out.setdefault(inst, []).append(pk)
    return out
