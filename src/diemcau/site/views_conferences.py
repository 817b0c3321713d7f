"""Conference pages: the list, the organiser's conference page, sessions and their agendas.

Thin: forms parse, services decide, templates show. A conference or session the user cannot see
is a 404, with no hint that it exists.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core.excel import build_workbook, xlsx_response
from diemcau.core.forms import attempt, submit
from diemcau.core.vntext import search_terms
from diemcau.events import access, services
from diemcau.events.forms import AgendaItemForm, ConferenceForm, SessionForm
from diemcau.events.models import AgendaItem
from diemcau.events.shortcuts import visible_conference, visible_session
from diemcau.orgs.models import EducationLevel, Unit
from diemcau.orgs.scoping import scope_for
from diemcau.points import overview as points_overview
from diemcau.points.access import planning_units
from diemcau.points.models import Assignment


def _host_choices(user):
    """The units that may host a conference of the user's (at most 1,000), as a queryset a choice
    field can look the posted value up in (a sliced one cannot be filtered: every choice failed)."""
    first = scope_for(user).units("write").exclude(kind=Unit.Kind.INSTITUTION).order_by("path")[:1000]
    return Unit.objects.filter(pk__in=list(first.values_list("pk", flat=True))).order_by("path")


@login_required
def conference_list(request):
    scope = scope_for(request.user)
    if scope.is_empty:
        raise PermissionDenied
    conferences = access.visible_conferences(request.user).annotate(
        n_sessions=Count("sessions", distinct=True), n_points=Count("points", distinct=True))
    return render(request, "site/conference_list.html", {
        "conferences": conferences,
        "can_create": bool(scope.write_paths),
    })


@login_required
def conference_create(request):
    hosts = _host_choices(request.user)
    if not hosts:
        raise PermissionDenied
    form = ConferenceForm(request.POST or None, hosts=hosts, initial={"host_unit": hosts[0].pk})
    conf = submit(request, form, lambda data: services.create_conference(request.user, **data),
                  _("The conference was created. Add its sessions next."))
    if conf:
        return redirect("events:conference", conf.pk)
    return render(request, "site/conference_form.html", {"form": form})


@login_required
def conference_edit(request, pk):
    conf = visible_conference(request, pk)
    if not access.can_manage(request.user, conf):
        raise PermissionDenied
    initial = {"title": conf.title, "date": conf.date, "place": conf.place, "description": conf.description}
    form = ConferenceForm(request.POST or None, initial=initial)
    if submit(request, form, lambda data: services.update_conference(request.user, conf, **data), _("Saved.")):
        return redirect("events:conference", conf.pk)
    return render(request, "site/conference_form.html", {"form": form, "conference": conf})


@login_required
def conference_detail(request, pk):
    """The organiser's page: sessions, points, counts, and what is still missing."""
    conf = visible_conference(request, pk)
    scope = scope_for(request.user)
    overview = points_overview.conference_overview(request.user, conf)
    plan_units = planning_units(request.user)
    return render(request, "site/conference_detail.html", {
        "conference": conf,
        "overview": overview,
        "can_manage": access.can_manage(request.user, conf),
        "can_plan": bool(scope.write_paths),
        "plan_unit": plan_units[0] if plan_units else None,
    })


@login_required
def session_create(request, pk):
    conf = visible_conference(request, pk)
    if not access.can_manage(request.user, conf):
        raise PermissionDenied
    form = SessionForm(request.POST or None, conference=conf)
    session = submit(request, form, lambda data: services.create_session(request.user, conf, **_session_fields(form)),
                     _("The session was added."))
    if session:
        return redirect("events:session", session.pk)
    return render(request, "site/session_form.html", {"form": form, "conference": conf})


@login_required
def session_edit(request, pk):
    session = visible_session(request, pk)
    conf = session.conference
    if not access.can_manage(request.user, conf):
        raise PermissionDenied
    form = SessionForm(request.POST or None, conference=conf, initial=SessionForm.initial_for(session))
    if submit(request, form, lambda data: services.update_session(request.user, session, **_session_fields(form)),
              _("Saved.")):
        return redirect("events:session", session.pk)
    return render(request, "site/session_form.html", {"form": form, "conference": conf, "session": session})


def _session_fields(form) -> dict:
    """What a valid session form asks of :func:`~diemcau.events.services.create_session` or ``update_session``."""
    starts, ends = form.window()
    return {"title": form.cleaned_data["title"], "starts_at": starts, "ends_at": ends,
            "audience_levels": form.levels_mask(), "audience_units": form.cleaned_data["units"]}


@login_required
def session_detail(request, pk):
    """A session: its window, audience, agenda, and the invited institutions the user can see."""
    session = visible_session(request, pk)
    conf = session.conference
    invited = services.invited_institutions(session, request.user).order_by("path")
    q = request.GET.get("q", "").strip()[:100]
    if q:
        for term in search_terms(q):
            invited = invited.filter(name_search__contains=term)
    page = Paginator(invited, 100).get_page(request.GET.get("page"))
    assigned = {a.institution_id: a for a in Assignment.objects.filter(
        session=session, institution__in=[u.pk for u in page]).select_related("point")}
    for u in page:
        u.assignment = assigned.get(u.pk)
    return render(request, "site/session_detail.html", {
        "session": session,
        "conference": conf,
        "summary": services.session_summary(session, request.user),
        "audience_units": services.audience_roots(session),
        "page": page,
        "q": q,
        "can_manage": access.can_manage(request.user, conf),
        "agenda_form": AgendaItemForm(),
        "can_plan": bool(scope_for(request.user).write_paths),
        "plan_units": planning_units(request.user),
    })


@login_required
def session_export(request, pk):
    """The invited institutions of a session (as the user sees them) with their points, as .xlsx."""
    session = visible_session(request, pk)
    invited = services.invited_institutions(session, request.user).order_by("path")
    assigned = {a.institution_id: a for a in Assignment.objects.filter(session=session).select_related("point")}
    rows = []
    for n, u in enumerate(invited.iterator(2000), start=1):
        a = assigned.get(u.pk)
        rows.append([n, u.code, u.name, ", ".join(EducationLevel.labels(u.levels)), u.people_total,
                     a.point.name if a else "", a.seats if a else ""])
    content = build_workbook(_("Invited"), [_("No."), _("Code"), _("Institution"), _("Levels of education"),
                                            _("Number of people"), _("Bridge point"), _("Seats")], rows,
                             heading=[session.conference.title.upper(), session.title],
                             widths=[6, 16, 42, 30, 10, 40, 8])
    return xlsx_response(content, f"danh-sach-moi-{session.pk}.xlsx")


@login_required
@require_POST
def agenda_add(request, pk):
    session = visible_session(request, pk)
    form = AgendaItemForm(request.POST)
    if form.is_valid():
        starts, ends = form.times(session.conference.date)
        attempt(request, lambda: services.add_agenda_item(
            request.user, session, starts_at=starts, ends_at=ends, title=form.cleaned_data["title"],
            speaker=form.cleaned_data["speaker"]))
    else:
        messages.error(request, _("Give the item a start time and a title."))
    return redirect("events:session", session.pk)


@login_required
@require_POST
def agenda_remove(request, pk):
    item = get_object_or_404(AgendaItem, pk=pk)
    session = visible_session(request, item.session_id)
    attempt(request, lambda: services.remove_agenda_item(request.user, item))
    return redirect("events:session", session.pk)
