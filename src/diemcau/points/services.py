"""The rules of halls, bridge points and the assignment of institutions to points.

Every function that changes state takes the acting user first, checks their scope (an organiser
only touches halls, points and assignments in their own subtree), validates, writes inside one
transaction and appends audit entries. Batches (a page of changes, an imported list, a planner
proposal) are all-or-nothing: every problem is reported, nothing partial is written.

The planner engine (``planner.py``) is pure; :func:`start_plan` turns a session and a subtree
into its input and runs it as a background job, :func:`apply_proposal` writes its result.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, jobs
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events import services as events
from diemcau.events.access import line_q
from diemcau.events.models import Conference, Session
from diemcau.orgs.models import PATH_STEP, Person, Unit, path_upper_bound
from diemcau.orgs.scoping import SYSTEM, require_scope, scope_for
from diemcau.orgs.services import clean_text

from .models import Assignment, BridgePoint, Hall, Proposal, RoadDistance

HALL_FIELDS = ["name", "address", "latitude", "longitude", "capacity", "is_active"]
POINT_FIELDS = ["name", "contact_name", "contact_phone", *BridgePoint.EQUIPMENT_FIELDS, "bandwidth_mbps"]
R = BridgePoint.Readiness
FORWARD = {R.PLANNED: R.EQUIPPED, R.EQUIPPED: R.CHECKED, R.CHECKED: R.LIVE, R.LIVE: R.ENDED}
BACKWARD = {R.EQUIPPED: R.PLANNED, R.CHECKED: R.EQUIPPED}
PLAN_JOB = "points.plan"
EXACT_TIME_LIMIT_S = 60


def _n(value) -> str:
    """A whole number written the Vietnamese way: 3.200."""
    return f"{int(value):,}".replace(",", ".")


# --- scope ------------------------------------------------------------------------------------
def visible_points(user, conference: Conference) -> QuerySet:
    """Points of a conference in the user's subtrees and upstream of them (their relay line)."""
    qs = BridgePoint.objects.filter(conference=conference).select_related("hall__unit")
    if user is SYSTEM:
        return qs
    if scope_for(user).is_empty:
        return qs.none()
    return qs.filter(line_q(user, "hall__unit__path"))


def points_in_scope(user, conference: Conference, mode: str = "read", within: Unit | None = None) -> QuerySet:
    """Points hosted inside the user's subtrees (not upstream), optionally below ``within``."""
    qs = BridgePoint.objects.filter(conference=conference).select_related("hall__unit")
    if within is not None:
        qs = qs.filter(hall__unit__path__gte=within.path, hall__unit__path__lt=path_upper_bound(within.path))
    if user is SYSTEM:
        return qs
    return scope_for(user).filter(qs, "hall__unit__path", mode)


def can_change_point(user, point: BridgePoint) -> bool:
    return user is SYSTEM or scope_for(user).can_change(point.hall.unit)


def halls_in_scope(user, within: Unit | None = None, mode: str = "read") -> QuerySet:
    qs = Hall.objects.select_related("unit")
    if within is not None:
        qs = qs.filter(unit__path__gte=within.path, unit__path__lt=path_upper_bound(within.path))
    if user is SYSTEM:
        return qs
    return scope_for(user).filter(qs, "unit__path", mode)


def _require_point(actor, point: BridgePoint):
    """Raise unless the actor may change ``point`` (its hall's unit is in their subtree)."""
    if actor is SYSTEM:
        return
    if not scope_for(actor).can_change(point.hall.unit):
        raise ScopeError(
            _("The bridge point %(point)s is outside your part of the tree.") % {"point": point.name},
            "point_out_of_scope",
        )


# --- halls ------------------------------------------------------------------------------------
def _clean_decimal(value, label, low, high):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).replace(",", "."))
    except InvalidOperation as exc:
        raise DomainError(_("%(field)s must be a number.") % {"field": label}, "bad_number") from exc
    if not low <= number <= high:
        raise DomainError(_("%(field)s must lie between %(low)s and %(high)s.")
                          % {"field": label, "low": low, "high": high}, "bad_coordinates")
    return number.quantize(Decimal("0.000001"))


def _validate_hall(hall: Hall):
    hall.name = clean_text(hall.name, _("Hall name"), required=True, max_length=200)
    hall.address = clean_text(hall.address, _("Address"), max_length=300)
    hall.latitude = _clean_decimal(hall.latitude, _("Latitude"), -90, 90)
    hall.longitude = _clean_decimal(hall.longitude, _("Longitude"), -180, 180)
    try:
        hall.capacity = int(hall.capacity)
    except (TypeError, ValueError) as exc:
        raise DomainError(_("Seats must be a whole number."), "bad_capacity") from exc
    if hall.capacity < 0:
        raise DomainError(_("Seats must be a whole number."), "bad_capacity")
    if Hall.objects.filter(unit=hall.unit, name=hall.name).exclude(pk=hall.pk).exists():
        raise DomainError(_("%(unit)s already has a hall named %(name)s.")
                          % {"unit": hall.unit.name, "name": hall.name}, "duplicate_hall")


@transaction.atomic
def create_hall(actor, unit: Unit, *, name: str, capacity: int, address: str = "",
                latitude=None, longitude=None) -> Hall:
    """Record a hall that ``unit`` owns; it is offered for every later conference."""
    require_scope(actor, unit, "write")
    hall = Hall(unit=unit, name=name, capacity=capacity, address=address, latitude=latitude, longitude=longitude)
    _validate_hall(hall)
    hall.save()
    audit.record(actor, "hall.created", hall, unit_path=unit.path, after=audit.snapshot(hall, HALL_FIELDS))
    return hall


@transaction.atomic
def update_hall(actor, hall: Hall, **fields) -> Hall:
    """Change a hall; fewer seats than a current point there already uses are refused."""
    hall = Hall.objects.select_for_update().select_related("unit").get(pk=hall.pk)
    require_scope(actor, hall.unit, "write")
    before = audit.snapshot(hall, HALL_FIELDS)
    for name, value in fields.items():
        if name not in HALL_FIELDS:
            raise DomainError(_("Field %(f)s cannot be changed here.") % {"f": name}, "bad_field")
        setattr(hall, name, value)
    _validate_hall(hall)
    busiest = (Assignment.objects.filter(point__hall=hall, point__readiness__in=[R.PLANNED, R.EQUIPPED,
                                                                                 R.CHECKED, R.LIVE])
               .values("session", "point").annotate(seats=Sum("seats")).order_by("-seats").first())
    if busiest and busiest["seats"] > hall.capacity:
        raise DomainError(
            _("%(n)s people are already assigned to this hall for one session; it cannot have fewer seats.")
            % {"n": _n(busiest["seats"])},
            "capacity_below_assigned",
        )
    hall.save()
    b, a = audit.changed(before, audit.snapshot(hall, HALL_FIELDS))
    if a:
        audit.record(actor, "hall.updated", hall, unit_path=hall.unit.path, before=b, after=a)
    return hall


# --- bridge points ----------------------------------------------------------------------------
def default_relay_parent(conference: Conference, unit: Unit, exclude=None) -> BridgePoint | None:
    """The point a new point at ``unit`` relays from: the nearest point above it, else the host point."""
    above = [unit.path[:end] for end in range(PATH_STEP, len(unit.path), PATH_STEP)]
    qs = BridgePoint.objects.filter(conference=conference, hall__unit__path__in=above).select_related("hall__unit")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    candidates = sorted(qs, key=lambda p: (-len(p.hall.unit.path), not p.is_host, p.pk))
    if candidates:
        return candidates[0]
    return BridgePoint.objects.filter(conference=conference, is_host=True).exclude(
        pk=exclude.pk if exclude else None).first()


def _check_relay_parent(actor, point: BridgePoint, parent: BridgePoint | None):
    if point.is_host:
        if parent is not None:
            raise DomainError(_("The host point is the root of the relay tree; it has no parent."),
                              "host_has_no_parent")
        return
    if parent is None:
        raise DomainError(_("This conference has no host point yet; create the host point first."),
                          "no_host_point")
    if parent.conference_id != point.conference_id:
        raise DomainError(_("The relay parent must belong to the same conference."), "relay_other_conference")
    if actor is not SYSTEM and not visible_points(actor, point.conference).filter(pk=parent.pk).exists():
        raise ScopeError(_("The relay parent %(point)s is outside your part of the tree.")
                         % {"point": parent.name}, "point_out_of_scope")
    # Walk up from the new parent: meeting the point itself means a cycle.
    seen, node = set(), parent
    while node is not None:
        if node.pk == point.pk and point.pk is not None:
            raise DomainError(
                _("%(point)s cannot relay from %(parent)s: %(parent)s already relays from it (a cycle).")
                % {"point": point.name, "parent": parent.name},
                "relay_cycle",
            )
        if node.pk in seen:  # defensive: an existing cycle must never loop forever
            raise DomainError(_("The relay tree has a cycle."), "relay_cycle")
        seen.add(node.pk)
        node = BridgePoint.objects.filter(pk=node.relay_parent_id).first() if node.relay_parent_id else None


def _validate_point(point: BridgePoint):
    point.name = clean_text(point.name, _("Name"), required=True, max_length=300)
    point.contact_name = clean_text(point.contact_name, _("Technical contact"), max_length=150)
    point.contact_phone = clean_text(point.contact_phone, _("Contact phone"), max_length=20)
    if point.contact_phone and not all(ch.isdigit() or ch in "+ .-()" for ch in point.contact_phone):
        raise DomainError(_("The phone number may contain only digits."), "bad_phone")
    if point.bandwidth_mbps not in (None, ""):
        try:
            point.bandwidth_mbps = Decimal(str(point.bandwidth_mbps).replace(",", "."))
        except InvalidOperation as exc:
            raise DomainError(_("Bandwidth must be a number of Mbit/s."), "bad_bandwidth") from exc
        if point.bandwidth_mbps < 0 or point.bandwidth_mbps >= 100000:
            raise DomainError(_("Bandwidth must be a number of Mbit/s."), "bad_bandwidth")
    else:
        point.bandwidth_mbps = None


def _check_sessions(point: BridgePoint, sessions):
    for s in sessions:
        if s.conference_id != point.conference_id:
            raise DomainError(_("A point can only serve sessions of its own conference."),
                              "session_other_conference")


def _previous_point(hall: Hall) -> BridgePoint | None:
    return hall.points.order_by("-conference__date", "-pk").first()


@transaction.atomic
def create_point(actor, conference: Conference, hall: Hall, *, name: str = "", is_host: bool = False,
                 relay_parent: BridgePoint | None = None, sessions=None, **fields) -> BridgePoint:
    """Open a bridge point of ``conference`` in ``hall``.

    The relay parent defaults to the nearest point above the hall's unit (else the host point);
    the contact and the equipment carry over from the hall's previous conference unless given.
    Sessions default to every session of the conference.
    """
    conference = Conference.objects.select_related("host_unit").get(pk=conference.pk)
    hall = Hall.objects.select_related("unit").get(pk=hall.pk)
    require_scope(actor, hall.unit, "write")
    if is_host:
        require_scope(actor, conference.host_unit, "write")
        if BridgePoint.objects.filter(conference=conference, is_host=True).exists():
            raise DomainError(_("This conference already has a host point."), "duplicate_host_point")
    if not hall.is_active:
        raise DomainError(_("The hall %(hall)s is no longer in use.") % {"hall": hall.name}, "hall_inactive")
    if BridgePoint.objects.filter(conference=conference, hall=hall).exists():
        raise DomainError(_("%(hall)s is already a bridge point of this conference.") % {"hall": str(hall)},
                          "duplicate_point")
    point = BridgePoint(conference=conference, hall=hall, is_host=is_host, name=name or hall.unit.name)
    previous = _previous_point(hall)
    for f in POINT_FIELDS:
        if f in fields:
            setattr(point, f, fields.pop(f))
        elif previous is not None and f != "name":
            setattr(point, f, getattr(previous, f))
    if fields:
        raise DomainError(_("Field %(f)s cannot be changed here.") % {"f": ", ".join(fields)}, "bad_field")
    _validate_point(point)
    if not is_host and relay_parent is None:
        relay_parent = default_relay_parent(conference, hall.unit)
    _check_relay_parent(actor, point, relay_parent)
    point.relay_parent = relay_parent
    sessions = list(conference.sessions.all()) if sessions is None else list(sessions)
    _check_sessions(point, sessions)
    point.save()
    point.sessions.set(sessions)
    audit.record(actor, "point.created", point, unit_path=hall.unit.path,
                 after={**audit.snapshot(point, [*POINT_FIELDS, "hall", "is_host", "relay_parent"]),
                        "sessions": [s.pk for s in sessions]})
    return point


@transaction.atomic
def update_point(actor, point: BridgePoint, *, sessions=None, **fields) -> BridgePoint:
    """Change a point's name, contact, equipment checklist or sessions served.

    Equipment reported missing takes a point that was equipped or checked back to planned.
    A session cannot be dropped while institutions are assigned to the point for it.
    """
    point = BridgePoint.objects.select_for_update().select_related("hall__unit", "conference").get(pk=point.pk)
    _require_point(actor, point)
    before = {**audit.snapshot(point, [*POINT_FIELDS, "readiness"]),
              "sessions": sorted(point.sessions.values_list("pk", flat=True))}
    for name, value in fields.items():
        if name not in POINT_FIELDS:
            raise DomainError(_("Field %(f)s cannot be changed here.") % {"f": name}, "bad_field")
        setattr(point, name, value)
    _validate_point(point)
    if point.readiness in (R.EQUIPPED, R.CHECKED) and not point.equipment_complete:
        point.readiness = R.PLANNED
        point.check_result = BridgePoint.CheckResult.NONE
    if sessions is not None:
        sessions = list(sessions)
        _check_sessions(point, sessions)
        dropped = set(before["sessions"]) - {s.pk for s in sessions}
        busy = Session.objects.filter(pk__in=dropped, assignments__point=point).distinct()
        if busy.exists():
            raise DomainError(
                _("Institutions are assigned to this point for %(sessions)s; move them before the point "
                  "stops serving it.") % {"sessions": ", ".join(s.title for s in busy)},
                "session_has_assignments",
            )
    point.save()
    if sessions is not None:
        point.sessions.set(sessions)
    after = {**audit.snapshot(point, [*POINT_FIELDS, "readiness"]),
             "sessions": sorted(point.sessions.values_list("pk", flat=True))}
    b, a = audit.changed(before, after)
    if a:
        audit.record(actor, "point.updated", point, unit_path=point.hall.unit.path, before=b, after=a)
    return point


@transaction.atomic
def set_relay_parent(actor, point: BridgePoint, parent: BridgePoint | None) -> BridgePoint:
    """Make ``point`` relay from ``parent`` (any depth); cycles are refused."""
    point = BridgePoint.objects.select_for_update().select_related("hall__unit", "conference").get(pk=point.pk)
    _require_point(actor, point)
    if parent is not None:
        parent = BridgePoint.objects.select_related("hall__unit").get(pk=parent.pk)
    _check_relay_parent(actor, point, parent)
    old = point.relay_parent_id
    point.relay_parent = parent
    point.save(update_fields=["relay_parent", "updated_at"])
    if old != point.relay_parent_id:
        audit.record(actor, "point.relay_changed", point, unit_path=point.hall.unit.path,
                     before={"relay_parent": old}, after={"relay_parent": point.relay_parent_id})
    return point


@transaction.atomic
def set_readiness(actor, point: BridgePoint, state: str) -> BridgePoint:
    """Move a point one step along planned → equipped → checked → live → ended (or one step back)."""
    point = BridgePoint.objects.select_for_update().select_related("hall__unit").get(pk=point.pk)
    _require_point(actor, point)
    if state not in R.values:
        raise DomainError(_("Unknown readiness: %(s)s.") % {"s": state}, "bad_readiness")
    current = point.readiness
    if state == current:
        return point
    if state not in (FORWARD.get(current), BACKWARD.get(current)):
        raise DomainError(
            _("A point cannot go from “%(from)s” to “%(to)s”.")
            % {"from": R(current).label, "to": R(state).label},
            "bad_transition",
        )
    if state == R.EQUIPPED and not point.equipment_complete:
        missing = [str(label) for label, ok in point.equipment_list() if not ok]
        if not point.bandwidth_mbps:
            missing.append(_("measured bandwidth"))
        raise DomainError(_("The equipment checklist is incomplete: %(missing)s.")
                          % {"missing": ", ".join(missing)}, "equipment_incomplete")
    if state == R.CHECKED and point.check_result != BridgePoint.CheckResult.PASSED:
        raise DomainError(_("The point has not passed its technical check."), "check_not_passed")
    point.readiness = state
    point.save(update_fields=["readiness", "updated_at"])
    audit.record(actor, "point.readiness", point, unit_path=point.hall.unit.path,
                 before={"readiness": current}, after={"readiness": state})
    return point


@transaction.atomic
def record_check(actor, point: BridgePoint, *, passed: bool, note: str = "", bandwidth_mbps=None) -> BridgePoint:
    """Store a technical check's result: passing makes an equipped point checked, failing undoes it."""
    point = BridgePoint.objects.select_for_update().select_related("hall__unit").get(pk=point.pk)
    _require_point(actor, point)
    if point.readiness not in (R.EQUIPPED, R.CHECKED):
        raise DomainError(_("Only an equipped point can be checked."), "not_equipped")
    before = audit.snapshot(point, ["readiness", "check_result", "check_note", "bandwidth_mbps"])
    point.check_result = BridgePoint.CheckResult.PASSED if passed else BridgePoint.CheckResult.FAILED
    point.check_note = clean_text(note, _("Check note"), max_length=500)
    point.checked_at = timezone.now()
    if bandwidth_mbps not in (None, ""):
        point.bandwidth_mbps = bandwidth_mbps
        _validate_point(point)
    point.readiness = R.CHECKED if passed else R.EQUIPPED
    point.save()
    b, a = audit.changed(before, audit.snapshot(point, ["readiness", "check_result", "check_note",
                                                        "bandwidth_mbps"]))
    audit.record(actor, "point.checked", point, unit_path=point.hall.unit.path, before=b, after=a)
    return point


@transaction.atomic
def delete_point(actor, point: BridgePoint):
    """Remove a point that nobody is assigned to and nothing relays from."""
    point = BridgePoint.objects.select_for_update().select_related("hall__unit").get(pk=point.pk)
    _require_point(actor, point)
    if point.assignments.exists():
        raise DomainError(_("Institutions are assigned to this point; move them first."), "point_has_assignments")
    if point.relay_children.exists():
        raise DomainError(_("Other points relay from this one; give them another parent first."),
                          "point_has_children")
    audit.record(actor, "point.deleted", point, unit_path=point.hall.unit.path,
                 before=audit.snapshot(point, [*POINT_FIELDS, "hall", "is_host"]))
    point.delete()


# --- delegations and seats --------------------------------------------------------------------
def delegation_sizes(institution_ids) -> dict[int, int]:
    """Seats each institution needs: its declared managers, teachers and staff, else its people."""
    sizes, missing = {}, []
    for pk, m, t, s in Unit.objects.filter(pk__in=list(institution_ids)).values_list(
            "pk", "managers_count", "teachers_count", "staff_count"):
        sizes[pk] = m + t + s
        if not sizes[pk]:
            missing.append(pk)
    if missing:
        for row in (Person.objects.filter(unit_id__in=missing, is_active=True).values("unit_id")
                    .annotate(n=Count("id"))):
            sizes[row["unit_id"]] = row["n"]
    return sizes


def seats_used(session: Session, points=None) -> dict[int, int]:
    """Seats taken at each point for a session: the sum of its assigned delegations."""
    qs = Assignment.objects.filter(session=session)
    if points is not None:
        qs = qs.filter(point__in=points)
    return dict(qs.values("point").annotate(n=Sum("seats")).values_list("point", "n"))


# --- assignment -------------------------------------------------------------------------------
@dataclass
class Problem:
    """One refused change of a batch, located by row (imports) or institution (pages)."""

    code: str
    message: str
    row: int | None = None
    column: str = ""
    institution: str = ""

    def as_detail(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message, "code": self.code,
                "institution": self.institution}


@dataclass
class Change:
    """One wanted assignment: ``point`` None means "no point" (unassign)."""

    institution: Unit
    point: BridgePoint | None
    row: int | None = None
    column: str = ""


@dataclass
class BatchResult:
    created: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    problems: list = field(default_factory=list)


def check_changes(actor, session: Session, changes: list[Change], *, allow_move: bool = True) -> list[Problem]:
    """Every problem a batch of assignments would cause, without writing anything."""
    problems: list[Problem] = []
    scope = None if actor is SYSTEM else scope_for(actor)
    invited = set(events.invited_institutions(session).filter(
        pk__in=[c.institution.pk for c in changes]).values_list("pk", flat=True))
    current = {a.institution_id: a for a in Assignment.objects.filter(
        session=session, institution__in=[c.institution.pk for c in changes]).select_related("point")}
    serving = set(session.points.values_list("pk", flat=True))
    seen: dict[int, Change] = {}
    for c in changes:
        inst = c.institution

        def refuse(code, message, column=c.column, inst=inst, row=c.row):
            problems.append(Problem(code, message, row, column, inst.name))

        if inst.pk in seen:
            refuse("already_assigned", _("%(inst)s appears twice in the list (also at row %(row)s).")
                   % {"inst": inst.name, "row": seen[inst.pk].row or "?"})
            continue
        seen[inst.pk] = c
        if scope is not None and not scope.can_change(inst):
            refuse("out_of_scope", _("%(inst)s is outside your part of the tree.") % {"inst": inst.name})
            continue
        if inst.pk not in invited:
            refuse("not_invited", _("%(inst)s is not invited to the session “%(session)s”.")
                   % {"inst": inst.name, "session": session.title})
            continue
        existing = current.get(inst.pk)
        if not allow_move and existing is not None and c.point is not None and existing.point_id != c.point.pk:
            refuse("already_assigned", _("%(inst)s is already assigned to %(point)s for this session.")
                   % {"inst": inst.name, "point": existing.point.name})
            continue
        point = c.point
        if point is None:
            continue
        if point.conference_id != session.conference_id:
            refuse("point_other_conference", _("%(point)s is a point of another conference.")
                   % {"point": point.name})
        elif scope is not None and not scope.can_change(point.hall.unit):
            refuse("point_out_of_scope", _("The bridge point %(point)s is outside your part of the tree.")
                   % {"point": point.name})
        elif point.pk not in serving:
            refuse("point_not_in_session", _("%(point)s does not serve the session “%(session)s”.")
                   % {"point": point.name, "session": session.title})
    if problems:
        return problems
    # Capacity is judged on the final state of the batch, so swapping two schools is fine.
    sizes = delegation_sizes(c.institution.pk for c in changes)
    loads = defaultdict(int, seats_used(session))
    gaining = defaultdict(list)
    for c in changes:
        existing = current.get(c.institution.pk)
        if existing is not None:
            loads[existing.point_id] -= existing.seats
        if c.point is not None:
            loads[c.point.pk] += sizes.get(c.institution.pk, 0)
            if existing is None or existing.point_id != c.point.pk:
                gaining[c.point.pk].append(c)
    points = {c.point.pk: c.point for c in changes if c.point is not None}
    for pk, moved_in in gaining.items():
        point = points[pk]
        if loads[pk] > point.capacity:
            last = moved_in[-1]
            problems.append(Problem(
                "over_capacity",
                _("%(point)s has %(cap)s seats but would need %(need)s: %(excess)s too many.")
                % {"point": point.name, "cap": _n(point.capacity), "need": _n(loads[pk]),
                   "excess": _n(loads[pk] - point.capacity)},
                last.row, last.column, last.institution.name,
            ))
    return problems


def apply_changes(actor, session: Session, changes: list[Change], *, method: str = Assignment.Method.MANUAL,
                  allow_move: bool = True, action: str = "assignment.changed") -> BatchResult:
    """Write a batch of assignments all-or-nothing; raise a DomainError listing every problem."""
    with transaction.atomic():
        # One writer per session at a time: capacity sums stay true.
        session = Session.objects.select_for_update().select_related("conference").get(pk=session.pk)
        problems = check_changes(actor, session, changes, allow_move=allow_move)
        if problems:
            first = problems[0]
            raise DomainError(
                first.message if len(problems) == 1 else
                _("%(n)d problems; nothing was changed. First: %(first)s") % {"n": len(problems),
                                                                                "first": first.message},
                first.code, details=[p.as_detail() for p in problems],
            )
        result = BatchResult()
        sizes = delegation_sizes(c.institution.pk for c in changes)
        current = {a.institution_id: a for a in Assignment.objects.filter(
            session=session, institution__in=[c.institution.pk for c in changes]).select_related("point")}
        user = actor if getattr(actor, "is_authenticated", False) else None
        entries, to_create, to_update, to_delete = [], [], [], []
        for c in changes:
            existing = current.get(c.institution.pk)
            seats = sizes.get(c.institution.pk, 0)
            if c.point is None:
                if existing is not None:
                    to_delete.append(existing.pk)
                    result.removed += 1
                    entries.append(_entry(actor, "assignment.removed", existing, {"point": existing.point_id},
                                          None))
                else:
                    result.unchanged += 1
                continue
            if existing is None:
                a = Assignment(session=session, institution=c.institution, point=c.point, seats=seats,
                               method=method, assigned_by=user)
                to_create.append(a)
                result.created += 1
                entries.append(_entry(actor, "assignment.created", a, None, {"point": c.point.pk, "seats": seats}))
            elif existing.point_id != c.point.pk or existing.seats != seats:
                if existing.point_id != c.point.pk:
                    result.moved += 1
                else:
                    result.unchanged += 1
                entries.append(_entry(actor, "assignment.moved", existing,
                                      {"point": existing.point_id, "seats": existing.seats},
                                      {"point": c.point.pk, "seats": seats}))
                existing.point, existing.seats, existing.method, existing.assigned_by = c.point, seats, method, user
                to_update.append(existing)
            else:
                result.unchanged += 1
        Assignment.objects.filter(pk__in=to_delete).delete()
        now = timezone.now()
        for a in to_update:
            a.assigned_at = now
        Assignment.objects.bulk_update(to_update, ["point", "seats", "method", "assigned_by", "assigned_at"],
                                       batch_size=500)
        Assignment.objects.bulk_create(to_create, batch_size=500)
        from diemcau.core.models import AuditEntry

        AuditEntry.objects.bulk_create(entries, batch_size=500)
        if changes:
            audit.record(actor, action, session, unit_path=_common_path([c.institution.path for c in changes]),
                         after={"created": result.created, "moved": result.moved, "removed": result.removed,
                                "method": method})
    return result


def _entry(actor, action, assignment: Assignment, before, after):
    return audit.build(actor, action, object_type="points.assignment",
                       object_id=str(assignment.pk or ""), object_repr=f"{assignment.institution.name}"[:300],
                       unit_path=assignment.institution.path, before=before, after=after)


def _common_path(paths: list[str]) -> str:
    """The deepest path that is an ancestor of all of ``paths`` (so the entry stays in scope)."""
    if not paths:
        return ""
    first = min(paths)
    last = max(paths)
    end = 0
    while end + PATH_STEP <= min(len(first), len(last)) and first[: end + PATH_STEP] == last[: end + PATH_STEP]:
        end += PATH_STEP
    return first[:end]


def assign(actor, session: Session, institution: Unit, point: BridgePoint, *, move: bool = False,
           method: str = Assignment.Method.MANUAL) -> Assignment:
    """Send one institution to one point for a session; moving it needs ``move=True``."""
    apply_changes(actor, session, [Change(institution, point)], method=method, allow_move=move)
    return Assignment.objects.get(session=session, institution=institution)


def unassign(actor, session: Session, institution: Unit):
    apply_changes(actor, session, [Change(institution, None)])


def move_institutions(actor, session: Session, institutions, point: BridgePoint) -> BatchResult:
    """Move several institutions to ``point`` in one step (the "move selected" of the pages)."""
    return apply_changes(actor, session, [Change(i, point) for i in institutions])


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
    from .planner import Hall as PHall
    from .planner import Institution as PInst
    from .planner import PlanProblem

    hall_label, inst_label = {}, {}
    used = set()
    for h in halls:
        label = f"{h.unit.name} · {h.name}"
        hall_label[h.pk] = label if label not in used else f"{label} (#{h.pk})"
        used.add(hall_label[h.pk])
    for i in institutions:
        inst_label[i.pk] = f"{i.name} ({i.code})"
    sizes = delegation_sizes(i.pk for i in institutions)
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
    proposal.job = jobs.enqueue(PLAN_JOB, owner=actor, proposal=proposal.pk)
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
    from . import planner

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
            from . import planner_exact

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
    from .planner import great_circle_km

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
    seat_rows.sort(key=lambda r: (not r["opened"], -r["proposed"], r["hall"].unit.name))
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


# --- what organisers look at ------------------------------------------------------------------
def conference_overview(user, conference: Conference, limit: int = 30) -> dict:
    """Sessions, points and counts in the user's part of a conference, and what is missing."""
    points = list(points_in_scope(user, conference).prefetch_related("sessions"))
    sessions = list(conference.sessions.all())
    used = {s.pk: seats_used(s, [p.pk for p in points]) for s in sessions}
    session_rows, unassigned, over = [], [], []
    for s in sessions:
        summary = events.session_summary(s, user)
        serving = [p for p in points if any(x.pk == s.pk for x in p.sessions.all())]
        seats = sum(p.capacity for p in serving)
        session_rows.append({"session": s, **summary, "points": len(serving), "seats": seats,
                             "people": sum(used[s.pk].values())})
        if summary["unassigned"]:
            missing = (events.invited_institutions(s, user).exclude(point_assignments__session=s)
                       .order_by("path")[:limit])
            unassigned.append({"session": s, "count": summary["unassigned"], "institutions": list(missing)})
        for p in serving:
            if used[s.pk].get(p.pk, 0) > p.capacity:
                over.append({"session": s, "point": p, "used": used[s.pk][p.pk], "capacity": p.capacity})
    by_state = defaultdict(int)
    for p in points:
        by_state[p.readiness] += 1
    no_contact = [p for p in points if not p.has_contact]
    return {
        "missing": len(no_contact) + sum(u["count"] for u in unassigned) + len(over),
        "invited": sum(r["invited"] for r in session_rows),
        "assigned": sum(r["assigned"] for r in session_rows),
        "sessions": session_rows,
        "points": len(points),
        "seats": sum(p.capacity for p in points),
        "readiness": [(label, by_state.get(value, 0)) for value, label in R.choices],
        "no_contact": no_contact,
        "unassigned": unassigned,
        "over_capacity": over,
        "no_session": [p for p in points if not p.sessions.all()],
    }


def points_rollup(user, conference: Conference) -> list[dict]:
    """The points tree rolled up: points, seats and assigned people under each unit of the scope.

    Returns the scope's top nodes; each node has ``unit``, ``points``, ``seats``, ``people``,
    ``own`` (points hosted by the unit itself) and ``children``.
    """
    scope = None if user is SYSTEM else scope_for(user)
    points = list(points_in_scope(user, conference))
    people = dict(Assignment.objects.filter(point__in=points).values("point").annotate(n=Sum("seats"))
                  .values_list("point", "n"))
    totals = defaultdict(lambda: {"points": 0, "seats": 0, "people": 0})
    own = defaultdict(list)
    for p in points:
        path = p.hall.unit.path
        own[path].append(p)
        for end in range(PATH_STEP, len(path) + 1, PATH_STEP):
            prefix = path[:end]
            if scope is not None and not scope.covers(prefix, "read"):
                continue
            t = totals[prefix]
            t["points"] += 1
            t["seats"] += p.capacity
            t["people"] += people.get(p.pk, 0)
    units = {u.path: u for u in Unit.objects.filter(path__in=list(totals))}
    nodes = {path: {"unit": units[path], **totals[path], "own": own.get(path, []), "children": []}
             for path in totals if path in units}
    roots = []
    for path in sorted(nodes, key=len):
        parent = path[:-PATH_STEP]
        if parent in nodes:
            nodes[parent]["children"].append(nodes[path])
        else:
            roots.append(nodes[path])
    for node in nodes.values():
        node["children"].sort(key=lambda n: n["unit"].name)
    return roots


def relay_chain(point: BridgePoint) -> list[BridgePoint]:
    """The points from the host point down to ``point``'s parent."""
    chain, node, seen = [], point, set()
    while node.relay_parent_id and node.relay_parent_id not in seen:
        seen.add(node.relay_parent_id)
        node = BridgePoint.objects.select_related("hall__unit").get(pk=node.relay_parent_id)
        chain.append(node)
    return list(reversed(chain))


# --- the official list ------------------------------------------------------------------------
def official_list(user, conference: Conference, unit: Unit | None = None) -> list[dict]:
    """Bridge points with their assigned institutions, contacts and seat use, per session.

    ``unit`` limits the list to points hosted in its subtree; without it, every point the user
    can see inside their subtrees (the whole conference for a national organiser).
    """
    if unit is not None and user is not SYSTEM and not scope_for(user).can_see(unit):
        raise ScopeError()
    points = list(points_in_scope(user, conference, within=unit).prefetch_related("sessions")
                  .order_by("hall__unit__path", "name"))
    assignments = defaultdict(list)
    for a in (Assignment.objects.filter(point__in=points).select_related("institution")
              .order_by("institution__path")):
        assignments[(a.point_id, a.session_id)].append(a)
    blocks = []
    for s in conference.sessions.all():
        rows = []
        for p in points:
            if not any(x.pk == s.pk for x in p.sessions.all()):
                continue
            items = assignments.get((p.pk, s.pk), [])
            rows.append({"point": p, "assignments": items, "used": sum(a.seats for a in items)})
        if rows:
            blocks.append({"session": s, "points": rows,
                           "institutions": sum(len(r["assignments"]) for r in rows),
                           "people": sum(r["used"] for r in rows)})
    return blocks


NATIONAL_HEADER = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


def document_date(place: str, day: datetime.date) -> str:
    """The place-and-date line of a Vietnamese administrative document.

    Written in Vietnamese whatever the interface language: the document is official.
    """
    return f"{place}, ngày {day.day} tháng {day.month} năm {day.year}"


def issuing_units(conference: Conference, unit: Unit | None) -> tuple[str, str]:
    """The two lines of the issuing unit: its parent (governing body) and itself, in capitals."""
    issuer = unit or conference.host_unit
    parent = issuer.parent.name.upper() if issuer.parent_id else ""
    return parent, issuer.name.upper()


# The official list's columns are Vietnamese whatever the interface language: officials exchange
# it, and it reads back as an assignment list (points/importing.py uses the same labels).
OFFICIAL_HEADERS = ["STT", "Phiên", "Mã điểm cầu", "Điểm cầu", "Hội trường", "Địa chỉ", "Đơn vị chủ trì",
                    "Người phụ trách kỹ thuật", "Điện thoại", "Số chỗ", "Số chỗ đã xếp", "Đơn vị được phân công",
                    "Mã đơn vị", "Số người"]
OFFICIAL_TITLE = "DANH SÁCH ĐIỂM CẦU VÀ ĐƠN VỊ ĐƯỢC PHÂN CÔNG"


def official_list_workbook(user, conference: Conference, unit: Unit | None, place: str,
                           day: datetime.date) -> bytes:
    """The official list as an .xlsx: the administrative heading, then one row per institution."""
    from diemcau.core.excel import build_workbook

    blocks = official_list(user, conference, unit)
    parent, issuer = issuing_units(conference, unit)
    heading = [NATIONAL_HEADER[0], NATIONAL_HEADER[1], parent, issuer, "", OFFICIAL_TITLE, conference.title,
               document_date(place, day)]
    rows, n = [], 0
    for block in blocks:
        for r in block["points"]:
            p = r["point"]
            base = [block["session"].title, p.pk, p.name, p.hall.name, p.hall.full_address, p.hall.unit.name,
                    p.contact_name, p.contact_phone, p.capacity, r["used"]]
            if not r["assignments"]:
                n += 1
                rows.append([n, *base, "", "", 0])
            for a in r["assignments"]:
                n += 1
                rows.append([n, *base, a.institution.name, a.institution.code, a.seats])
    return build_workbook("Danh sách điểm cầu", OFFICIAL_HEADERS, rows, heading=[h for h in heading if h],
                          widths=[6, 20, 10, 32, 22, 30, 28, 22, 14, 9, 11, 36, 16, 9])
