"""The roll-call screen of a bridge point (màn hình điểm danh): find a person, check them in.

Thin: the page searches and lists, :mod:`checkin` decides. A point the user may not operate is a
404, like anything else outside their scope. The offline queue (IndexedDB) is not here yet.
"""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core.errors import DomainError
from diemcau.core.vntext import by_name, people_order, search_terms
from diemcau.events.shortcuts import visible_session
from diemcau.orgs import services as orgs
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import scope_for
from diemcau.points.models import Assignment
from diemcau.points.shortcuts import operated_point

from . import badges, checkin, delegations, headcounts, rollup
from .models import CheckIn, Delegation

PAGE = 50


def _counts(session, point) -> dict:
    return rollup.point_counts(session, [point])[point.pk]


def _people(session, point, q: str):
    qs = checkin.people_at_point(session, point).select_related("unit")
    for term in search_terms(q):
        qs = qs.filter(name_search__contains=term)
    people = list(qs.order_by(*people_order(), "pk")[:PAGE])
    present = set(CheckIn.objects.filter(session=session, person__in=people).values_list("person_id", flat=True))
    return [{"person": p, "present": p.pk in present, "client_id": uuid.uuid4()} for p in people]


def _headcount(session, point) -> dict:
    """The headcount form: the latest counts at this point (if any) and a fresh client id."""
    latest = {r.category: r for r in rollup.latest_headcounts(session).filter(point=point)}
    fields = [{"key": c.value, "label": c.label, "value": latest[c.value].count if c.value in latest else ""}
              for c in Person.Category]
    when = max((r.scanned_at for r in latest.values()), default=None)
    return {"fields": fields, "when": when, "client_id": uuid.uuid4()}


def _institutions(session, point):
    """Institutions assigned to the point, with present and expected people."""
    assigned = Assignment.objects.filter(session=session, point=point)
    units = list(Unit.objects.filter(pk__in=assigned.values("institution_id")).order_by(by_name()))
    present = dict(CheckIn.objects.filter(session=session, institution__in=units).values("institution_id")
                   .annotate(n=Count("person", distinct=True)).values_list("institution_id", "n"))
    named = set(Delegation.objects.filter(session=session, institution__in=units)
                .values_list("institution_id", flat=True))
    expected = delegations.expected_by_institution(session, assigned)
    return [{"unit": u, "present": present.get(u.pk, 0), "expected": expected.get(u.pk, 0),
             "has_delegation": u.pk in named, "client_id": uuid.uuid4()} for u in units]


@login_required
def session_points(request, sid):
    """The points of a session where the user may take the roll, each with present and expected."""
    session = visible_session(request, sid)
    points = list(checkin.points_for_operator(request.user, session).select_related("hall__unit")
                  .order_by("hall__unit__path", by_name()))
    counts = rollup.point_counts(session, points)
    rows = [{"point": p, "counts": counts[p.pk]} for p in points]
    return render(request, "attendance/session_points.html", {
        "session": session, "conference": session.conference, "rows": rows})


@login_required
def school_badges(request, sid, uid):
    """A school's badges for a session, one page to print (A4, several per sheet)."""
    session = visible_session(request, sid)
    institution = get_object_or_404(scope_for(request.user).units(), pk=uid, kind=Unit.Kind.INSTITUTION)
    only = None
    if not badges.may_print_badges(request.user, institution):
        only = badges.own_badge_person(request.user, institution)
        if only is None:
            raise Http404
    assignment, rows = badges.school_badges(session, institution, only=only)
    if rows:
        orgs.record_personal_export(request.user, "attendance.badges", institution, rows=len(rows),
                                    filters={"session": session.pk, "own": only is not None})
    return render(request, "attendance/badges.html", {
        "session": session, "conference": session.conference, "institution": institution,
        "assignment": assignment, "rows": rows})


@login_required
def delegation(request, sid, uid):
    """The principal names the school's delegation for a session: rule, minimums, people."""
    session = visible_session(request, sid)
    scope = scope_for(request.user)
    institution = get_object_or_404(scope.units(), pk=uid, kind=Unit.Kind.INSTITUTION)
    if not scope.can_change_people(institution):
        raise PermissionDenied
    current = Delegation.objects.filter(session=session, institution=institution).first()
    if request.method == "POST":
        try:
            current = delegations.name_delegation(
                request.user, session, institution, rule=request.POST.get("rule", ""),
                min_management=request.POST.get("min_management") or 0,
                min_teachers=request.POST.get("min_teachers") or 0, min_staff=request.POST.get("min_staff") or 0,
                members=[int(x) for x in request.POST.getlist("members") if x.isdigit()])
            messages.success(request, _("The delegation is saved."))
            return redirect("attendance:delegation", sid=session.pk, uid=institution.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
    chosen = set(current.members.values_list("person_id", flat=True)) if current else set()
    people = Person.objects.filter(unit=institution, is_active=True).order_by("category", *people_order())
    return render(request, "attendance/delegation.html", {
        "session": session, "conference": session.conference, "institution": institution,
        "delegation": current, "status": delegations.delegation_status(current) if current else None,
        "rules": Delegation.Rule.choices, "people": [{"person": p, "chosen": p.pk in chosen} for p in people]})


@login_required
def roll_call(request, sid, pk):
    session, point = operated_point(request, sid, pk)
    q = request.GET.get("q", "")
    return render(request, "attendance/roll_call.html", {
        "session": session, "point": point, "conference": session.conference, "q": q,
        "counts": _counts(session, point), "rows": _people(session, point, q),
        "institutions": _institutions(session, point), "headcount": _headcount(session, point),
        "list_max_age_hours": settings.ROLLCALL_LIST_MAX_AGE_HOURS})


@login_required
def roll_call_people(request, sid, pk):
    session, point = operated_point(request, sid, pk)
    return render(request, "attendance/_people.html", {
        "session": session, "point": point, "rows": _people(session, point, request.GET.get("q", ""))})


@login_required
@require_POST
def roll_call_check_in(request, sid, pk):
    session, point = operated_point(request, sid, pk)
    person = get_object_or_404(checkin.people_at_point(session, point).select_related("unit"),
                               pk=request.POST.get("person") or 0)
    error = None
    try:
        checkin.check_in(request.user, session=session, point=point, person=person,
                         method=CheckIn.Method.ROLL_CALL, client_id=request.POST.get("client_id"),
                         device=request.headers.get("User-Agent", "")[:100])
    except DomainError as exc:
        error = exc.message
    row = {"person": person, "present": CheckIn.objects.filter(session=session, person=person).exists(),
           "client_id": uuid.uuid4(), "error": error}
    response = render(request, "attendance/_person_row.html", {"session": session, "point": point, "row": row})
    response["HX-Trigger"] = "checked-in"  # the counts line reloads itself
    return response


@login_required
def roll_call_counts(request, sid, pk):
    session, point = operated_point(request, sid, pk)
    return render(request, "attendance/_counts.html", {"session": session, "point": point,
                                                       "counts": _counts(session, point)})


@login_required
@require_POST
def roll_call_delegation(request, sid, pk):
    session, point = operated_point(request, sid, pk)
    institution = get_object_or_404(
        Unit.objects.filter(point_assignments__session=session, point_assignments__point=point),
        pk=request.POST.get("institution") or 0)
    try:
        results = checkin.check_in_delegation(request.user, session=session, point=point,
                                              institution=institution, client_id=request.POST.get("client_id"))
        messages.success(request, _("%(unit)s: %(n)s people checked in.") % {
            "unit": institution.name, "n": sum(r.created for r in results)})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("attendance:roll-call", sid=session.pk, pk=point.pk)


@login_required
@require_POST
def roll_call_headcount(request, sid, pk):
    """A headcount by category, for points that do not name the people in the hall."""
    session, point = operated_point(request, sid, pk)
    try:
        counts = {c: int(request.POST.get(f"count_{c}") or 0) for c in delegations.CATEGORIES}
    except ValueError:
        messages.error(request, _("A count must be a whole number, zero or more."))
        return redirect("attendance:roll-call", sid=session.pk, pk=point.pk)
    try:
        rows = headcounts.record_headcount(request.user, session=session, point=point, counts_by_category=counts,
                                           client_id=request.POST.get("client_id"),
                                           device=request.headers.get("User-Agent", "")[:100])
        messages.success(request, _("Headcount recorded: %(n)s people.") % {"n": sum(r.count for r in rows)})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("attendance:roll-call", sid=session.pk, pk=point.pk)
