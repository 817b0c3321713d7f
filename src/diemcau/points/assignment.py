"""Which institutions attend a session at which bridge point.

Changes come as batches (a page of changes, an imported list, a planner proposal) and are
all-or-nothing: :func:`check_changes` reports every problem (scope, capacity, session, double
assignment), :func:`apply_changes` writes nothing unless there is none. A single assignment is a
batch of one.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Sum
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.events import services as events
from diemcau.events.models import Session
from diemcau.orgs.models import PATH_STEP, Person, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for

from .halls import whole_number
from .models import Assignment, BridgePoint


# --- delegations and seats --------------------------------------------------------------------
def declared_staff(institution_ids) -> dict[int, int]:
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
        if c.point is not None and (refused := _point_refusal(c.point, session, scope, serving)):
            refuse(*refused)
    if problems:
        return problems
    return _capacity_problems(session, changes, current)


def _point_refusal(point: BridgePoint, session: Session, scope, serving: set[int]) -> tuple[str, str] | None:
    """Why a batch may not send institutions to ``point`` (code, message), or None."""
    if point.conference_id != session.conference_id:
        return "point_other_conference", _("%(point)s is a point of another conference.") % {"point": point.name}
    if scope is not None and not scope.can_change(point.hall.unit):
        return ("point_out_of_scope", _("The bridge point %(point)s is outside your part of the tree.")
                % {"point": point.name})
    if point.pk not in serving:
        return ("point_not_in_session", _("%(point)s does not serve the session “%(session)s”.")
                % {"point": point.name, "session": session.title})
    return None


def _capacity_problems(session: Session, changes: list[Change], current: dict[int, Assignment]) -> list[Problem]:
    """Points the batch would fill beyond their seats; judged on the final state, so swapping two schools is fine."""
    problems: list[Problem] = []
    sizes = declared_staff(c.institution.pk for c in changes)
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
                % {"point": point.name, "cap": whole_number(point.capacity), "need": whole_number(loads[pk]),
                   "excess": whole_number(loads[pk] - point.capacity)},
                last.row, last.column, last.institution.name,
            ))
    return problems


# Sent inside the writing transaction when a session's assignments change (created, moved, re-seated or
# removed): ``session_id``, ``institution_ids``. Attendance keeps its expected counts from it.
assignments_changed = Signal()


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
        sizes = declared_staff(c.institution.pk for c in changes)
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
        AuditEntry.objects.bulk_create(entries, batch_size=500)
        if result.created or result.moved or result.removed or to_update:
            assignments_changed.send(Assignment, session_id=session.pk,
                                     institution_ids=[c.institution.pk for c in changes])
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
