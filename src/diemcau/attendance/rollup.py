"""Roll-ups: expected and present people per point, per unit's subtree, by category and child unit.

Expected comes from the delegations' rules (:func:`delegations.expected_by_category`), kept in the
running counts when assignments or delegations change; present counts distinct people checked in
plus the latest headcount per point and category, so nobody counted twice and a later headcount
supersedes an earlier one. A unit's figures (present and expected) are sums of the running counts
(:mod:`.counts`) over its subtree; a point's are read from its check-ins (one index range).
Everything here is a few grouped queries, whatever the number of people.
"""

from django.db.models import Count, Max, Q, Sum

from diemcau.core.vntext import by_name
from diemcau.events.models import Session
from diemcau.orgs.models import PATH_STEP, Person, Unit, path_upper_bound
from diemcau.points.models import Assignment, BridgePoint

from . import counts
from .delegations import CATEGORIES, expected_by_institution, missing_by_category
from .models import CheckIn, Delegation, DelegationMember


def subtree_q(field: str, unit: Unit) -> Q:
    """Rows whose ``field`` (a tree path) lies in ``unit``'s subtree, the unit itself included."""
    return Q(**{f"{field}__gte": unit.path, f"{field}__lt": path_upper_bound(unit.path)})


def expected_at_point(session: Session, point: BridgePoint) -> int:
    return sum(expected_by_institution(session, Assignment.objects.filter(session=session, point=point)).values())


def latest_headcounts(session: Session):
    """The latest headcount row per (point, category) of a session: the ones that count."""
    latest = (CheckIn.objects.filter(session=session, method=CheckIn.Method.HEADCOUNT).values("point_id", "category")
              .annotate(last=Max("id")).values("last"))
    return CheckIn.objects.filter(pk__in=latest)


def present_at_point(session: Session, point: BridgePoint) -> int:
    people = (CheckIn.objects.filter(session=session, point=point, person__isnull=False)
              .aggregate(n=Count("person", distinct=True))["n"])
    heads = latest_headcounts(session).filter(point=point).aggregate(n=Sum("count"))["n"] or 0
    return people + heads


def percentage_of(present: int, expected: int) -> float | None:
    return round(100 * present / expected, 1) if expected else None


def rollup(session: Session, unit: Unit) -> dict:
    """Expected and present people for ``unit``'s subtree: totals, by category, per child, compliance.

    Expected counts institutions of the subtree assigned to the session; present counts distinct
    people of those institutions checked in anywhere, plus the latest headcounts at points hosted
    in the subtree: both sums of the running counts (:mod:`.counts`) over the subtree's units by
    path prefix, never a scan of check-ins or of the delegations. The loops below run over institutions and child units.
    """
    assignments = Assignment.objects.filter(session=session).filter(subtree_q("institution__path", unit))
    by_category = dict.fromkeys(CATEGORIES, 0)
    for cat, n in counts.present_by_category(session, unit).items():
        by_category[cat] = by_category.get(cat, 0) + n
    # Per institution and category, distinct people present: the basis of compliance.
    present_inst = {pk: {**dict.fromkeys(CATEGORIES, 0), **cats}
                    for pk, cats in counts.people_by_institution(session, unit).items()}
    children = _children(session, unit)
    total_present = sum(by_category.values())
    total_expected = counts.expected_in(session, unit)
    return {
        "unit_id": unit.pk, "unit": unit.name, "session_id": session.pk,
        "expected": total_expected, "present": total_present,
        "percentage": percentage_of(total_present, total_expected),
        "by_category": by_category, "children": children,
        "compliance": _compliance(session, assignments, present_inst),
    }


def _children(session, unit) -> list[dict]:
    child_units = list(Unit.objects.filter(parent=unit).order_by(by_name()).values("pk", "name", "path"))
    if not child_units:
        return []
    by_path = counts.by_head(session, unit, len(unit.path) + PATH_STEP)
    rows = []
    for c in child_units:
        p, e = by_path.get(c["path"], (0, 0))
        if e or p:
            rows.append({"unit_id": c["pk"], "unit": c["name"], "expected": e, "present": p,
                         "percentage": percentage_of(p, e)})
    return rows


def _compliance(session, assignments, present_inst) -> list[dict]:
    """Per institution with a delegation: does who came meet its rule, and who is missing."""
    delegations = list(Delegation.objects.filter(session=session, institution_id__in=assignments.values(
        "institution_id")).select_related("institution").order_by("institution__path"))
    if not delegations:
        return []
    ids = [d.pk for d in delegations]
    staff_of = {}
    for pk, cat, n in (Person.objects.filter(is_active=True, unit__delegations__in=[
            d.pk for d in delegations if d.rule == Delegation.Rule.ALL_STAFF]).values("unit_id", "category")
            .annotate(n=Count("id")).values_list("unit_id", "category", "n")):
        staff_of.setdefault(pk, dict.fromkeys(CATEGORIES, 0))[cat] = n
    named_total = dict(DelegationMember.objects.filter(delegation_id__in=ids).values("delegation_id")
                       .annotate(n=Count("id")).values_list("delegation_id", "n"))
    named_present = dict(DelegationMember.objects.filter(
        delegation_id__in=ids, person__checkins__session=session).values("delegation_id")
        .annotate(n=Count("person", distinct=True)).values_list("delegation_id", "n"))
    rows = []
    for d in delegations:
        have = present_inst.get(d.institution_id, dict.fromkeys(CATEGORIES, 0))
        missing = missing_by_category(d, have, staff_of.get(d.institution_id, dict.fromkeys(CATEGORIES, 0)))
        absent = named_total.get(d.pk, 0) - named_present.get(d.pk, 0)
        if d.rule == Delegation.Rule.NAMED and absent:
            missing["named"] = absent
        rows.append({"institution_id": d.institution_id, "institution": d.institution.name, "rule": d.rule,
                     "complete": not missing, "missing": missing, "present": have,
                     "named_absent": absent})
    return rows


def point_counts(session: Session, points) -> dict[int, dict]:
    """Present and expected people per point, for many points at once (grouped queries)."""
    ids = [p.pk for p in points]
    assigned = Assignment.objects.filter(session=session, point_id__in=ids)
    by_institution = expected_by_institution(session, assigned)
    expected = dict.fromkeys(ids, 0)
    for institution_id, point_id in assigned.values_list("institution_id", "point_id"):
        expected[point_id] += by_institution.get(institution_id, 0)
    present = dict(CheckIn.objects.filter(session=session, point_id__in=ids, person__isnull=False)
                   .values("point_id").annotate(n=Count("person", distinct=True)).values_list("point_id", "n"))
    for point_id, n in (latest_headcounts(session).filter(point_id__in=ids).values("point_id")
                        .annotate(n=Sum("count")).values_list("point_id", "n")):
        present[point_id] = present.get(point_id, 0) + (n or 0)
    return {pk: {"present": present.get(pk, 0), "expected": expected[pk],
                 "percentage": percentage_of(present.get(pk, 0), expected[pk])} for pk in ids}
