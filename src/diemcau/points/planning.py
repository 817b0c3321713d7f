"""The planner as a service: from a session and a subtree to a proposal, and from a proposal to assignments.

The engines (``planner.py``, ``planner_exact.py``) are pure; :func:`build_problem` turns halls and
institutions into their input, :func:`start_plan` runs it as a background job, :func:`compare`
shows a proposal beside the current assignment and :func:`apply_proposal` writes it as one batch.
Road distances (measured, not straight-line) are stored here too.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, tasks
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.vntext import vi_sort_key
from diemcau.events import services as events
from diemcau.events.models import Session
from diemcau.orgs.models import PATH_STEP, Unit
from diemcau.orgs.scoping import SYSTEM, require_scope

from . import planner, planner_exact
from .access import halls_in_scope
from .assignment import BatchResult, Change, apply_changes, declared_staff
from .bridge_points import create_point
from .models import Assignment, BridgePoint, Hall, Proposal, RoadDistance
from .planner_model import Hall as PHall
from .planner_model import Institution as PInst
from .planner_model import PlanProblem, great_circle_km

PLAN_JOB = "points.plan"
EXACT_TIME_LIMIT_S = 60


# --- the planner ------------------------------------------------------------------------------
@dataclass
class PlanRequest:
    """What an organiser asks the planner: K points among candidate halls, with constraints."""

    k: int | None
    hall_ids: list[int]
    fixed_hall_ids: list[int] = field(default_factory=list)
    pins: list[tuple[int, int]] = field(default_factory=list)  # (institution id, hall id)
    together: list[list[int]] = field(default_factory=list)
    respect_groups: bool = False
    use_road_distances: bool = False
    method: str = "heuristic"  # or "exact"
    time_limit_s: int = 20

    def as_params(self) -> dict:
        return {"k": self.k, "halls": self.hall_ids, "fixed": self.fixed_hall_ids, "pins": self.pins,
                "together": self.together, "respect_groups": self.respect_groups,
                "use_road_distances": self.use_road_distances, "method": self.method,
                "time_limit_s": self.time_limit_s}

    @classmethod
    def from_params(cls, p: dict) -> "PlanRequest":
        return cls(k=p.get("k"), hall_ids=list(p.get("halls", [])), fixed_hall_ids=list(p.get("fixed", [])),
                   pins=[tuple(x) for x in p.get("pins", [])], together=[list(g) for g in p.get("together", [])],
                   respect_groups=bool(p.get("respect_groups")), use_road_distances=bool(p.get("use_road_distances")),
                   method=p.get("method", "heuristic"), time_limit_s=int(p.get("time_limit_s", 20)))


def relaying_halls(session: Session, halls) -> dict[int, int]:
    """Halls whose point relays the conference to other points: hall id -> how many it relays to.

    The planner's default keeps them open ("must open"): closing the point the others relay
    through (Ba Vì's own office) would cut them off.
    """
    from django.db.models import Count

    rows = (BridgePoint.objects.filter(conference=session.conference_id, hall__in=halls)
            .annotate(n=Count("relay_children")).filter(n__gt=0).values_list("hall_id", "n"))
    return dict(rows)


def kept_halls(session: Session, halls) -> dict[int, str]:
    """Halls whose point the organiser marked "keep": hall id -> the point's name.

    The planner's default keeps them open beside the relaying ones (:func:`relaying_halls`).
    """
    rows = BridgePoint.objects.filter(conference=session.conference_id, hall__in=halls, keep=True)
    return dict(rows.values_list("hall_id", "name"))


def default_fixed_halls(session: Session, halls) -> set[int]:
    """The halls the planner's default plan keeps open: points that relay for others, points marked keep."""
    return set(relaying_halls(session, halls)) | set(kept_halls(session, halls))


def explain(proposal: Proposal, comparison: dict) -> list[str]:
    """What the proposal changes and why, in plain words, naming the method the organiser chose."""
    result = proposal.result or {}
    params = proposal.params or {}
    # The method the organiser chose (the result's own label is the engine's, e.g. "cp-sat").
    method = _("the exact solver (CP-SAT)") if params.get("method") == "exact" else _("the fast heuristic")
    lines = [_("Computed with %(method)s: %(open)d points for %(people)s people, to make the total "
               "travel as short as the seats allow.") % {"method": method, "open": len(result.get("open", [])),
                                                          "people": result.get("people", 0)}]
    kept = len(params.get("fixed", []))
    if kept:
        lines.append(_("%(n)d halls were kept open because you marked them “must open” (by default the "
                       "points other points relay through).") % {"n": kept})
        requested = kept_halls(proposal.session, params["fixed"])
        if requested:
            lines.append(_("Kept at the unit's request: %(names)s.") % {
                "names": ", ".join(sorted(requested.values(), key=vi_sort_key))})
    closed = [r for r in comparison.get("seats", []) if r["closed"] and r["current"]]
    if closed:
        lines.append(_("Points that would close: %(names)s; their schools go to the nearest open point "
                       "with seats.") % {"names": ", ".join(r["hall"].unit.name for r in closed)})
    lines.append(_("%(moved)d schools change point, %(new)d get one for the first time, %(same)d stay where "
                   "they are.") % {"moved": comparison.get("moved", 0), "new": comparison.get("new", 0),
                                   "same": comparison.get("same", 0)})
    return lines


def candidate_halls(user, session: Session, unit: Unit) -> QuerySet:
    """Halls in ``unit``'s subtree that the user may plan with: in use and with seats."""
    return halls_in_scope(user, within=unit, mode="write").filter(is_active=True, capacity__gt=0).order_by(
        "-capacity", "unit__path", "name")


def planning_institutions(session: Session, unit: Unit) -> QuerySet:
    return events.invited_institutions(session, within=unit).order_by("path")


def _group_of(unit: Unit, root: Unit) -> Unit:
    """The part of ``root``'s subtree a unit belongs to, for "do not cross a subtree boundary".

    Units two or more levels below ``root`` belong to the child of ``root`` above them; a child that
    is an office (not an institution) is its own part; the rest belong to ``root`` itself.
    """
    child_end = len(root.path) + PATH_STEP
    if len(unit.path) > child_end or (len(unit.path) == child_end and unit.kind != Unit.Kind.INSTITUTION):
        return unit.path[:child_end]
    return root.path


def build_problem(session: Session, unit: Unit, request: PlanRequest, halls: list[Hall],
                  institutions: list[Unit]):
    """Turn a request into the engine's ``PlanProblem``; return it with the label ↔ id maps.

    Labels are names, so the engine's explanations name halls and schools as people know them.
    """
    hall_label, inst_label = {}, {}
    used = set()
    for h in halls:
        label = f"{h.unit.name} · {h.name}"
        hall_label[h.pk] = label if label not in used else f"{label} (#{h.pk})"
        used.add(hall_label[h.pk])
    for i in institutions:
        inst_label[i.pk] = f"{i.name} ({i.code})"
    sizes = declared_staff(i.pk for i in institutions)
    planned = {i.pk for i in institutions}
    # Seats other institutions (outside this plan) already hold at these halls stay taken.
    taken = dict(Assignment.objects.filter(session=session, point__hall__in=halls)
                 .exclude(institution__in=planned).values("point__hall")
                 .annotate(n=Sum("seats")).values_list("point__hall", "n"))
    point_sessions = defaultdict(set)
    for hall_id, session_id in BridgePoint.objects.filter(conference=session.conference_id, hall__in=halls).values_list(
            "hall", "sessions"):
        point_sessions[hall_id].add(session_id)
    group_key = {u.pk: _group_of(u, unit) for u in [*institutions, *(h.unit for h in halls)]}
    # Group keys are paths; the engine's messages should name the units instead.
    group_name = dict(Unit.objects.filter(path__in=set(group_key.values())).values_list("path", "name"))

    def group(u):
        return group_name.get(group_key[u.pk], group_key[u.pk])

    p_halls = [PHall(id=hall_label[h.pk], lat=_nan(h.lat), lon=_nan(h.lon),
                     capacity=max(0, h.capacity - taken.get(h.pk, 0)),
                     sessions=frozenset(point_sessions[h.pk]) - {None} if h.pk in point_sessions else None,
                     group=group(h.unit)) for h in halls]
    p_insts = [PInst(id=inst_label[i.pk], lat=_nan(i.latitude), lon=_nan(i.longitude), size=sizes.get(i.pk, 0),
                     group=group(i)) for i in institutions]
    distances = None
    if request.use_road_distances:
        distances = {(hall_label[h], inst_label[i]): float(km) for h, i, km in RoadDistance.objects.filter(
            hall__in=halls, institution__in=institutions).values_list("hall", "institution", "km")}
    problem = PlanProblem(
        halls=p_halls, institutions=p_insts, k=request.k,
        fixed=[hall_label[h] for h in request.fixed_hall_ids if h in hall_label],
        pins={inst_label[i]: hall_label[h] for i, h in request.pins if i in inst_label and h in hall_label},
        together=[[inst_label[i] for i in g if i in inst_label] for g in request.together],
        respect_groups=request.respect_groups, session=session.pk, distances=distances,
    )
    return problem, hall_label, inst_label, sizes


def _nan(value) -> float:
    return float(value) if value is not None else float("nan")


def _validate_request(actor, session: Session, unit: Unit, request: PlanRequest):
    """Refuse a request the organiser can fix before any planning; return (halls, institutions)."""
    require_scope(actor, unit, "write")
    allowed = {h.pk: h for h in candidate_halls(actor, session, unit)}
    halls = [allowed[h] for h in dict.fromkeys(request.hall_ids) if h in allowed]
    if len(halls) != len(set(request.hall_ids)):
        raise DomainError(_("Some chosen halls are not usable halls of %(unit)s.") % {"unit": unit.name},
                          "bad_hall")
    if not halls:
        raise DomainError(_("Choose at least one candidate hall."), "no_halls")
    if request.k is not None:
        if request.k < 1:
            raise DomainError(_("The number of points must be 1 or more."), "invalid_k")
        if request.k > len(halls):
            raise DomainError(
                _("You asked for %(k)d points but only %(n)d candidate halls are chosen.")
                % {"k": request.k, "n": len(halls)},
                "too_many_points",
            )
    institutions = list(planning_institutions(session, unit))
    if not institutions:
        raise DomainError(_("No institution of %(unit)s is invited to this session.") % {"unit": unit.name},
                          "nothing_to_plan")
    if not request.use_road_distances:
        lost = [i.name for i in institutions if i.latitude is None or i.longitude is None]
        if lost:
            raise DomainError(
                _("%(n)d institutions have no coordinates (%(names)s); add them or import road distances.")
                % {"n": len(lost), "names": ", ".join(lost[:5])},
                "missing_coordinates",
            )
        lost = [h.name for h in halls if h.lat is None]
        if lost:
            raise DomainError(_("%(n)d halls have no coordinates (%(names)s).")
                              % {"n": len(lost), "names": ", ".join(lost[:5])}, "missing_coordinates")
    if request.method not in ("heuristic", "exact"):
        raise DomainError(_("Unknown planning method."), "bad_method")
    return halls, institutions


@transaction.atomic
def start_plan(actor, session: Session, unit: Unit, request: PlanRequest) -> Proposal:
    """Check a planning request and run it in the background; the proposal shows its progress."""
    session = Session.objects.select_related("conference").get(pk=session.pk)
    _validate_request(actor, session, unit, request)
    proposal = Proposal.objects.create(session=session, unit=unit, params=request.as_params(),
                                       created_by=actor if getattr(actor, "pk", None) else None)
    proposal.job = tasks.enqueue(PLAN_JOB, owner=actor, proposal=proposal.pk)
    proposal.save(update_fields=["job"])
    audit.record(actor, "plan.started", proposal, unit_path=unit.path, after=request.as_params())
    return proposal


def plan_now(actor, session: Session, unit: Unit, request: PlanRequest, *, seed: int = 0) -> Proposal:
    """Check a request and compute its proposal at once, without a job (commands and loaders).

    An infeasible request raises its ``PlanInfeasible``; the failed proposal is kept for the record.
    """
    session = Session.objects.select_related("conference").get(pk=session.pk)
    _validate_request(actor, session, unit, request)
    proposal = Proposal.objects.create(session=session, unit=unit, params={**request.as_params(), "seed": seed},
                                       created_by=actor if getattr(actor, "pk", None) else None)
    audit.record(actor, "plan.started", proposal, unit_path=unit.path, after=request.as_params())
    run_proposal(proposal)
    proposal.refresh_from_db()
    return proposal


def run_proposal(proposal: Proposal, progress=None) -> dict:
    """Compute a proposal (the job's body): read the input, run the engine, store the result."""

    progress = progress or (lambda *a, **k: None)
    session, unit = proposal.session, proposal.unit
    request = PlanRequest.from_params(proposal.params)
    actor = proposal.created_by or SYSTEM
    progress(0, 4, _("Reading halls and institutions"), force=True)
    try:
        halls, institutions = _validate_request(actor, session, unit, request)
        problem, hall_label, inst_label, sizes = build_problem(session, unit, request, halls, institutions)
        progress(1, 4, _("Choosing the points"), force=True)
        if request.method == "exact":

            hint = planner.plan(problem)
            progress(2, 4, _("Proving the best plan (exact solver)"), force=True)
            plan = planner_exact.plan_exact(problem, time_limit=min(request.time_limit_s, EXACT_TIME_LIMIT_S),
                                            hint=hint)
        else:
            plan = planner.plan(problem, seed=proposal.params.get("seed", 0))
    except DomainError as exc:
        Proposal.objects.filter(pk=proposal.pk).update(status=Proposal.Status.FAILED, error_code=exc.code,
                                                       error_message=exc.message, error_details=exc.details)
        raise
    progress(3, 4, _("Comparing with the current assignment"), force=True)
    hall_by_label = {v: k for k, v in hall_label.items()}
    inst_by_label = {v: k for k, v in inst_label.items()}
    halls_by_id = {h.pk: h for h in halls}
    assignment = {str(inst_by_label[i]): hall_by_label[h] for i, h in plan.assignment.items()}
    km = {}
    for i in institutions:
        h = halls_by_id[assignment[str(i.pk)]]
        km[str(i.pk)] = _km(h, i, request, problem, hall_label, inst_label)
    result = {
        "open": [{"hall": hall_by_label[h], "load": int(plan.loads[h])} for h in plan.open_halls],
        "assignment": assignment,
        "sizes": {str(k): int(v) for k, v in sizes.items()},
        "km": km,
        "travel_person_km": round(plan.cost, 1),
        "cost_pm": int(plan.cost_pm),
        "method": plan.method,
        "elapsed_s": round(plan.elapsed_s, 3),
        "gap_pct": None if plan.gap_pct is None else round(plan.gap_pct, 3),
        "optimal": plan.optimal,
        "people": int(sum(sizes.get(i.pk, 0) for i in institutions)),
        "seats": int(sum(halls_by_id[hall_by_label[h]].capacity for h in plan.open_halls)),
    }
    Proposal.objects.filter(pk=proposal.pk).update(status=Proposal.Status.READY, result=result)
    progress(4, 4, _("Done"), force=True)
    return {"proposal": proposal.pk, "points": len(result["open"]), "travel_person_km": result["travel_person_km"]}


def _km(hall: Hall, inst: Unit, request: PlanRequest, problem, hall_label, inst_label) -> float | None:

    if request.use_road_distances and problem.distances:
        road = problem.distances.get((hall_label[hall.pk], inst_label[inst.pk]))
        if road is not None:
            return round(float(road), 2)
    if hall.lat is None or inst.latitude is None:
        return None
    return round(float(great_circle_km(hall.lat, hall.lon, float(inst.latitude), float(inst.longitude))), 2)


def compare(proposal: Proposal) -> dict:
    """The proposal beside the current assignment: moved schools and seats used per point."""
    result = proposal.result or {}
    session = proposal.session
    inst_ids = [int(i) for i in result.get("assignment", {})]
    institutions = {u.pk: u for u in Unit.objects.filter(pk__in=inst_ids)}
    current = {a.institution_id: a for a in Assignment.objects.filter(
        session=session, institution__in=inst_ids).select_related("point__hall__unit")}
    open_ids = [o["hall"] for o in result.get("open", [])]
    halls = {h.pk: h for h in Hall.objects.filter(
        Q(pk__in=open_ids) | Q(points__assignments__in=current.values())).select_related("unit").distinct()}
    points_by_hall = {p.hall_id: p for p in BridgePoint.objects.filter(conference=session.conference_id,
                                                                        hall__in=halls)}
    rows, moved, new = [], 0, 0
    for iid in sorted(inst_ids, key=lambda i: institutions[i].path):
        inst = institutions[iid]
        hall = halls[result["assignment"][str(iid)]]
        now = current.get(iid)
        status = "same"
        if now is None:
            status, new = "new", new + 1
        elif now.point.hall_id != hall.pk:
            status, moved = "moved", moved + 1
        rows.append({"institution": inst, "hall": hall, "point": points_by_hall.get(hall.pk),
                     "current": now.point if now else None, "status": status,
                     "size": result["sizes"].get(str(iid), 0), "km": result["km"].get(str(iid))})
    current_load = defaultdict(int)
    for a in current.values():
        current_load[a.point.hall_id] += a.seats
    seat_rows = []
    for hid in list(dict.fromkeys(open_ids + sorted(current_load))):
        hall = halls[hid]
        proposed = next((o["load"] for o in result["open"] if o["hall"] == hid), 0)
        seat_rows.append({"hall": hall, "point": points_by_hall.get(hid), "capacity": hall.capacity,
                          "current": current_load.get(hid, 0), "proposed": proposed,
                          "opened": hid in open_ids, "closed": hid not in open_ids})
    seat_rows.sort(key=lambda r: (not r["opened"], -r["proposed"], vi_sort_key(r["hall"].unit.name)))
    return {"rows": rows, "seats": seat_rows, "moved": moved, "new": new,
            "same": len(rows) - moved - new}


def apply_proposal(actor, proposal: Proposal) -> BatchResult:
    """Write a proposal in one transaction: open its points (new ones relay from the nearest point
    above) for the session and send every institution to its proposed point.

    Refused if the invited institutions changed since it was computed (re-run the planner).
    """
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().select_related("session__conference", "unit").get(
            pk=proposal.pk)
        require_scope(actor, proposal.unit, "write")
        if proposal.status == Proposal.Status.APPLIED:
            raise DomainError(_("This proposal has already been applied."), "proposal_applied")
        if proposal.status != Proposal.Status.READY:
            raise DomainError(_("This proposal has no result to apply."), "proposal_not_ready")
        session, conference, result = proposal.session, proposal.session.conference, proposal.result
        invited = set(planning_institutions(session, proposal.unit).values_list("pk", flat=True))
        planned = {int(i) for i in result["assignment"]}
        if invited != planned:
            raise DomainError(
                _("The invited institutions changed since this proposal was made (%(added)d added, %(gone)d "
                  "removed); run the planner again.")
                % {"added": len(invited - planned), "gone": len(planned - invited)},
                "proposal_stale",
            )
        halls = {h.pk: h for h in halls_in_scope(actor, mode="write").filter(
            pk__in=[o["hall"] for o in result["open"]], is_active=True)}
        if len(halls) != len(result["open"]):
            raise DomainError(_("A proposed hall is no longer in use or not yours; run the planner again."),
                              "proposal_stale")
        points = {}
        # Offices before schools: a new point relays from the nearest point above it.
        for o in sorted(result["open"], key=lambda o: (len(halls[o["hall"]].unit.path), o["hall"])):
            hall = halls[o["hall"]]
            point = BridgePoint.objects.filter(conference=conference, hall=hall).first()
            if point is None:
                point = create_point(actor, conference, hall, sessions=[session])
            elif not point.sessions.filter(pk=session.pk).exists():
                point.sessions.add(session)
                audit.record(actor, "point.updated", point, unit_path=hall.unit.path,
                             after={"sessions_added": [session.pk]})
            points[hall.pk] = point
        units = {u.pk: u for u in Unit.objects.filter(pk__in=planned)}
        changes = [Change(units[int(i)], points[h]) for i, h in result["assignment"].items()]
        outcome = apply_changes(actor, session, changes, method=Assignment.Method.PLANNER,
                                action="plan.applied")
        proposal.status = Proposal.Status.APPLIED
        proposal.applied_by = actor if getattr(actor, "pk", None) else None
        proposal.applied_at = timezone.now()
        proposal.save(update_fields=["status", "applied_by", "applied_at"])
    return outcome


# --- road distances ---------------------------------------------------------------------------
@transaction.atomic
def save_road_distances(actor, unit: Unit, rows: list[tuple[Hall, Unit, Decimal]]) -> int:
    """Store imported road distances (replacing the same pairs); all halls and schools in scope."""
    require_scope(actor, unit, "write")
    for hall, inst, _km in rows:
        if not hall.unit.is_within(unit) or not inst.is_within(unit):
            raise ScopeError()
    for hall, inst, km in rows:
        RoadDistance.objects.update_or_create(hall=hall, institution=inst, defaults={"km": km})
    audit.record(actor, "distances.imported", unit, after={"pairs": len(rows)})
    return len(rows)
