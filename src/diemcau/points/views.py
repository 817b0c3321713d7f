"""Pages of bridge points: the points tree, a point, halls, assignment by hand, the planner,
the assignment-list import and the official list. Thin: forms parse, services decide.

Anything the user cannot see is a 404 (no hint that it exists); what they can see but not
change is a 403.
"""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core import import_progress
from diemcau.core.errors import DomainError
from diemcau.core.excel import xlsx_response
from diemcau.core.forms import attempt, submit
from diemcau.core.vntext import by_name
from diemcau.events.shortcuts import visible_conference, visible_session
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import scope_for

from . import access, assignment, bridge_points, devices, importing, overview, planning, readiness
from . import halls as points_halls
from .access import planning_units
from .forms import CheckForm, HallForm, NewPointForm, PlannerForm, PointForm, UploadForm
from .models import Assignment, AssignmentImport, BridgePoint, Proposal, RoadDistance
from .schematic import plan_map

CSS = "points/planning.css"


# --- helpers ----------------------------------------------------------------------------------
def _point(request, pk) -> BridgePoint:
    point = get_object_or_404(BridgePoint.objects.select_related("hall__unit", "conference"), pk=pk)
    visible_conference(request, point.conference_id)
    if not access.visible_points(request.user, point.conference).filter(pk=pk).exists():
        raise Http404
    return point


def _changeable_point(request, pk) -> BridgePoint:
    point = _point(request, pk)
    if not access.can_change_point(request.user, point):
        raise PermissionDenied
    return point


def _work_unit(request) -> Unit:
    """The unit a planning page works on: ``?unit=`` if the user may change it, else their own."""
    scope = scope_for(request.user)
    raw = request.GET.get("unit") or request.POST.get("unit") or ""
    if raw.isdigit():
        unit = get_object_or_404(scope.units("read"), pk=int(raw))
        if not scope.can_change(unit):
            raise PermissionDenied
        return unit
    units = planning_units(request.user)
    if not units:
        raise PermissionDenied
    return units[0]


def _with_unit(name: str, unit: Unit, *args) -> str:
    return reverse(name, args=args) + "?" + urlencode({"unit": unit.pk})


# --- the points tree and a point --------------------------------------------------------------
@login_required
def points_tree(request, cid):
    """The points tree rolled up: how many points and seats under each unit of the user's part."""
    conf = visible_conference(request, cid)
    roots = overview.points_rollup(request.user, conf)
    upstream = [p for p in access.visible_points(request.user, conf)
                if not scope_for(request.user).can_see(p.hall.unit)]
    return render(request, "points/points_tree.html", {
        "conference": conf, "roots": roots, "upstream": upstream, "css": CSS,
        "can_add": bool(scope_for(request.user).write_paths),
    })


@login_required
def point_detail(request, pk, new_device=None):
    """A point's page; ``new_device`` = (token, secret) right after a device token is issued (shown once)."""
    point = _point(request, pk)
    sessions = []
    for s in point.sessions.all():
        items = list(Assignment.objects.filter(session=s, point=point).select_related("institution")
                     .order_by("institution__path"))
        used = sum(a.seats for a in items)
        sessions.append({"session": s, "assignments": items, "used": used,
                         "percent": min(100, round(100 * used / point.capacity)) if point.capacity else 0})
    can_change = access.can_change_point(request.user, point)
    children = list(point.relay_children.select_related("hall__unit").order_by(by_name()))
    parents = []
    if can_change and not point.is_host:
        parents = [p for p in access.visible_points(request.user, point.conference).exclude(pk=point.pk)
                   .order_by("hall__unit__path")[:500]]
    states = list(BridgePoint.Readiness.choices)
    index = [v for v, _l in states].index(point.readiness)
    return render(request, "points/point_detail.html", {
        "point": point, "conference": point.conference, "sessions": sessions, "can_change": can_change,
        "chain": bridge_points.relay_chain(point), "children": children, "parents": parents,
        "states": [{"value": v, "label": label, "done": i < index, "current": i == index}
                   for i, (v, label) in enumerate(states)],
        "next_state": readiness.FORWARD.get(point.readiness), "back_state": readiness.BACKWARD.get(point.readiness),
        "check_form": CheckForm(initial={"bandwidth_mbps": point.bandwidth_mbps}), "css": CSS,
        "readiness_labels": dict(states),
        "devices": list(devices.point_tokens(point)) if can_change else [], "new_device": new_device,
        "now": timezone.now(),
    })


@login_required
def point_create(request, cid):
    conf = visible_conference(request, cid)
    unit = _work_unit(request)
    halls = access.halls_in_scope(request.user, within=unit, mode="write").filter(is_active=True).exclude(
        points__conference=conf)
    form = NewPointForm(request.POST or None, conference=conf, halls=halls,
                        initial={"sessions": list(conf.sessions.all())})

    def save(data):
        data = dict(data)
        hall, sessions = data.pop("hall"), data.pop("sessions")
        return bridge_points.create_point(request.user, conf, hall, sessions=sessions, **data)

    point = submit(request, form, save, _("The bridge point was created."))
    if point:
        return redirect("points:point", point.pk)
    return render(request, "points/point_form.html", {"form": form, "conference": conf, "unit": unit,
                                                      "css": CSS})


@login_required
def point_edit(request, pk):
    point = _changeable_point(request, pk)
    form = PointForm(request.POST or None, conference=point.conference, initial=PointForm.initial_for(point))

    def save(data):
        data = dict(data)
        sessions = data.pop("sessions")
        if not data["name"]:
            data["name"] = point.name
        return bridge_points.update_point(request.user, point, sessions=sessions, **data)

    if submit(request, form, save, _("Saved.")):
        return redirect("points:point", point.pk)
    return render(request, "points/point_form.html", {"form": form, "conference": point.conference,
                                                      "point": point, "css": CSS})


@login_required
@require_POST
def point_readiness(request, pk):
    point = _changeable_point(request, pk)
    attempt(request, lambda: readiness.set_readiness(request.user, point, request.POST.get("state", "")))
    return redirect("points:point", point.pk)


@login_required
@require_POST
def point_check(request, pk):
    point = _changeable_point(request, pk)
    form = CheckForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: readiness.record_check(request.user, point, **form.cleaned_data))
    else:
        messages.error(request, _("Choose the result of the check."))
    return redirect("points:point", point.pk)


@login_required
@require_POST
def point_relay(request, pk):
    point = _changeable_point(request, pk)
    raw = request.POST.get("parent", "")
    parent = get_object_or_404(BridgePoint, pk=int(raw), conference=point.conference) if raw.isdigit() else None
    attempt(request, lambda: bridge_points.set_relay_parent(request.user, point, parent),
            _("The relay parent was changed."))
    return redirect("points:point", point.pk)


@login_required
@require_POST
def point_delete(request, pk):
    point = _changeable_point(request, pk)
    if attempt(request, lambda: bridge_points.delete_point(request.user, point), _("The bridge point was removed.")):
        return redirect("points:tree", point.conference_id)
    return redirect("points:point", point.pk)


# --- halls ------------------------------------------------------------------------------------
@login_required
def hall_list(request):
    """A unit's halls (reused conference after conference), and a form to add one."""
    unit = _work_unit(request)
    halls = access.halls_in_scope(request.user, within=unit).order_by("unit__path", by_name())
    form = HallForm(request.POST or None)
    owner = unit
    if request.method == "POST":
        raw = request.POST.get("owner", "")
        if raw.isdigit():
            owner = get_object_or_404(scope_for(request.user).units("write"), pk=int(raw))
        if submit(request, form, lambda data: points_halls.create_hall(request.user, owner, **data),
                  _("The hall was added.")):
            return redirect(_with_unit("points:halls", unit))
    owners = scope_for(request.user).filter(Unit.objects.filter(
        path__gte=unit.path, path__lt=unit.subtree_bounds()[1]), "path", "write").order_by("path")[:2000]
    return render(request, "points/hall_list.html", {"unit": unit, "halls": halls, "form": form,
                                                     "owners": owners, "owner": owner, "css": CSS})


@login_required
def hall_edit(request, pk):
    hall = get_object_or_404(access.halls_in_scope(request.user, mode="write"), pk=pk)
    form = HallForm(request.POST or None, initial=HallForm.initial_for(hall))
    if submit(request, form, lambda data: points_halls.update_hall(request.user, hall, **data), _("Saved.")):
        return redirect(_with_unit("points:halls", hall.unit))
    return render(request, "points/hall_form.html", {"hall": hall, "form": form, "css": CSS})


# --- assignment by hand -----------------------------------------------------------------------
@login_required
def assign(request, sid):
    """Pick a point per school, or move selected schools to a point, in one all-or-nothing step."""
    session = visible_session(request, sid)
    unit = _work_unit(request)
    institutions = list(planning.planning_institutions(session, unit))
    points = list(access.points_in_scope(request.user, session.conference, mode="write")
                  .filter(sessions=session).order_by("hall__unit__path", by_name()))
    by_pk = {p.pk: p for p in points}
    problems = []
    if request.method == "POST":
        changes = []
        if request.POST.get("action") == "move":
            target = by_pk.get(int(request.POST.get("target") or 0))
            chosen = {int(x) for x in request.POST.getlist("selected") if x.isdigit()}
            if target is None or not chosen:
                messages.error(request, _("Select schools and the point to move them to."))
            changes = [assignment.Change(u, target) for u in institutions if u.pk in chosen and target]
        else:
            for u in institutions:
                new, old = request.POST.get(f"p_{u.pk}"), request.POST.get(f"was_{u.pk}")
                if new is None or new == old:
                    continue
                point = by_pk.get(int(new)) if new.isdigit() else None
                if new and point is None:
                    continue
                changes.append(assignment.Change(u, point))
        if changes:
            try:
                result = assignment.apply_changes(request.user, session, changes)
            except DomainError as exc:
                problems = exc.details
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Saved: %(created)d assigned, %(moved)d moved, %(removed)d removed.")
                                 % {"created": result.created, "moved": result.moved, "removed": result.removed})
                return redirect(_with_unit("points:assign", unit, session.pk))
        elif request.POST.get("action") != "move":
            messages.info(request, _("Nothing changed."))
    current = {a.institution_id: a for a in Assignment.objects.filter(session=session, institution__in=institutions)}
    sizes = assignment.declared_staff(u.pk for u in institutions)
    used = assignment.seats_used(session, points)
    rows = [{"unit": u, "assignment": current.get(u.pk), "size": sizes.get(u.pk, 0)} for u in institutions]
    point_rows = [{"point": p, "used": used.get(p.pk, 0),
                   "percent": min(100, round(100 * used.get(p.pk, 0) / p.capacity)) if p.capacity else 100,
                   "over": used.get(p.pk, 0) > p.capacity} for p in points]
    return render(request, "points/assign.html", {
        "session": session, "conference": session.conference, "unit": unit, "rows": rows, "points": point_rows,
        "problems": problems, "unassigned": sum(1 for r in rows if r["assignment"] is None), "css": CSS,
        "units": planning_units(request.user),
    })


# --- the planner ------------------------------------------------------------------------------
@login_required
def planner(request, sid):
    """The planner's parameters; submitting starts a background job and shows its proposal."""
    session = visible_session(request, sid)
    unit = _work_unit(request)
    halls = list(planning.candidate_halls(request.user, session, unit))
    institutions = list(planning.planning_institutions(session, unit))
    existing = set(BridgePoint.objects.filter(conference=session.conference, sessions=session,
                                              hall__in=halls).values_list("hall", flat=True))
    form = PlannerForm(request.POST or None, halls=halls, institutions=institutions,
                       initial={"k": min(len(halls), max(1, len(existing) or 14))})

    def start(d):
        return planning.start_plan(request.user, session, unit, planning.PlanRequest(
            k=d["k"], hall_ids=d["halls"], fixed_hall_ids=d["fixed"], pins=d["pins"], together=d["together"],
            respect_groups=d["respect_groups"], use_road_distances=d["use_road_distances"], method=d["method"],
            time_limit_s=d.get("time_limit_s") or 20))

    proposal = submit(request, form, start)
    if proposal:
        return redirect("points:proposal", proposal.pk)
    chosen = set(form.cleaned_data.get("halls", [])) if form.is_bound and hasattr(form, "cleaned_data") else None
    relaying = planning.relaying_halls(session, halls)
    kept = planning.kept_halls(session, halls)
    # By default the points others relay through, and those marked keep, stay open; the organiser may untick them.
    fixed = set(form.cleaned_data.get("fixed", [])) if chosen is not None else planning.default_fixed_halls(
        session, halls)
    sizes = assignment.declared_staff(u.pk for u in institutions)
    return render(request, "points/planner.html", {
        "session": session, "conference": session.conference, "unit": unit, "form": form,
        "halls": [{"hall": h, "checked": h.pk in chosen if chosen is not None else True,
                   "fixed": h.pk in fixed, "existing": h.pk in existing, "relays": relaying.get(h.pk, 0),
                   "kept": h.pk in kept}
                  for h in halls],
        "institutions": len(institutions), "people": sum(sizes.values()),
        "seats": sum(h.capacity for h in halls),
        "road_pairs": RoadDistance.objects.filter(hall__in=halls).count(),
        "proposals": Proposal.objects.filter(session=session, unit=unit).select_related("created_by")[:10],
        "units": planning_units(request.user), "css": CSS,
    })


@login_required
@require_POST
def distances_import(request, sid):
    session = visible_session(request, sid)
    unit = _work_unit(request)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            n = importing.import_road_distances(request.user, unit, upload.read(), upload.name)
        except DomainError as exc:
            messages.error(request, exc.message)
            for d in exc.details[:20]:
                messages.error(request, d.get("message", ""))
        else:
            messages.success(request, _("%(n)d road distances imported.") % {"n": n})
    return redirect(_with_unit("points:planner", unit, session.pk))


def _proposal(request, pk) -> Proposal:
    proposal = get_object_or_404(Proposal.objects.select_related("session__conference", "unit", "job"), pk=pk)
    visible_session(request, proposal.session_id)
    if not scope_for(request.user).can_see(proposal.unit):
        raise Http404
    return proposal


@login_required
def proposal_detail(request, pk):
    """A proposal: progress while it runs; then the table, the map and the comparison."""
    proposal = _proposal(request, pk)
    context = {"proposal": proposal, "session": proposal.session, "conference": proposal.session.conference,
               "unit": proposal.unit, "css": CSS,
               "can_apply": scope_for(request.user).can_change(proposal.unit)}
    if proposal.status in (Proposal.Status.READY, Proposal.Status.APPLIED):
        comparison = planning.compare(proposal)
        result = proposal.result
        drawing = plan_map(comparison)
        numbers = drawing["number"] if drawing else {}
        for row in comparison["seats"] + comparison["rows"]:
            row["n"] = numbers.get(row["hall"].pk)
        context.update({
            "comparison": comparison, "map": drawing, "result": result,
            "explanation": planning.explain(proposal, comparison),
            "avg_km": round(result["travel_person_km"] / result["people"], 2) if result["people"] else 0,
            "used_pct": round(100 * result["people"] / result["seats"]) if result["seats"] else 0,
        })
    if proposal.job_id and proposal.status == Proposal.Status.RUNNING:
        context["job"] = proposal.job
        context["job_done_url"] = request.path
    return render(request, "points/proposal.html", context)


@login_required
@require_POST
def proposal_apply(request, pk):
    proposal = _proposal(request, pk)
    try:
        outcome = planning.apply_proposal(request.user, proposal)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("points:proposal", proposal.pk)
    messages.success(request, _("The proposal was applied: %(created)d assigned, %(moved)d moved, "
                                "%(same)d unchanged.")
                     % {"created": outcome.created, "moved": outcome.moved, "same": outcome.unchanged})
    return redirect("points:proposal", proposal.pk)


# --- the assignment-list import ---------------------------------------------------------------
@login_required
def import_upload(request, sid):
    session = visible_session(request, sid)
    unit = _work_unit(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    batch = submit(request, form, lambda data: importing.start_import(request.user, session, unit, data["file"]),
                   field="file")
    if batch:
        return redirect("points:import-preview", batch.pk)
    return render(request, "points/import_upload.html", {
        "session": session, "conference": session.conference, "unit": unit, "form": form, "css": CSS,
        "columns": importing.COLUMNS, "points": importing.point_choices(request.user, session),
    })


@login_required
def import_template(request, sid):
    session = visible_session(request, sid)
    unit = _work_unit(request)
    content = importing.template_workbook(request.user, session, unit)
    return xlsx_response(content, f"danh-sach-phan-cong-{unit.code}.xlsx")


def _batch(request, pk) -> AssignmentImport:
    batch = get_object_or_404(AssignmentImport.objects.select_related("session__conference", "unit"), pk=pk)
    if batch.owner_id != request.user.pk:
        raise Http404
    return batch


@login_required
def import_preview(request, pk):
    """The preview of a list, or the progress of the job that checks or applies a big one."""
    batch = _batch(request, pk)
    return render(request, "points/import_preview.html", {
        "batch": batch, "s": batch.summary, "session": batch.session, "conference": batch.session.conference,
        "unit": batch.unit, "css": CSS, "job": batch.job,
        "status_url": reverse("points:import-status", args=[batch.pk]),
        "page_url": reverse("points:import-preview", args=[batch.pk])})


@login_required
def import_status(request, pk):
    """The progress of a list's job (an htmx fragment); once it ends, the browser goes to the preview."""
    batch = _batch(request, pk)
    page = reverse("points:import-preview", args=[batch.pk])
    return import_progress.status_response(request, batch, busy=batch.is_busy, page_url=page, done_url=page,
                                           status_url=reverse("points:import-status", args=[batch.pk]))


@login_required
@require_POST
def import_confirm(request, pk):

    def applied(batch):
        r = batch.result
        messages.success(request, _("The list was imported: %(created)d assigned, %(moved)d moved, "
                                    "%(same)d unchanged.")
                         % {"created": r.get("created", 0), "moved": r.get("moved", 0),
                            "same": r.get("unchanged", 0)})
        return redirect(_with_unit("points:assign", batch.unit, batch.session_id))

    batch = _batch(request, pk)
    return import_progress.confirm_response(
        request, importing.confirm_import, batch, page_url=reverse("points:import-preview", args=[batch.pk]),
        applied=applied)
