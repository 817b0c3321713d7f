"""Bridge points (điểm cầu) of a conference: creating, changing and deleting them, and their relay line.

A point is a hall used by a conference; its relay parent is the point upstream that its picture
comes through. Changes are scoped to the actor's subtree, validated, written in one transaction
and audited.
"""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.edits import set_fields
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events.models import Conference, Session
from diemcau.orgs.models import PATH_STEP, Unit
from diemcau.orgs.scoping import SYSTEM, require_scope
from diemcau.orgs.services import clean_text

from .access import require_change_point, visible_points
from .models import BridgePoint, Hall

R = BridgePoint.Readiness

POINT_FIELDS = ["name", "contact_name", "contact_phone", *BridgePoint.EQUIPMENT_FIELDS, "bandwidth_mbps", "keep"]
# What a new point does not take over from the hall's previous conference: its own decisions.
NOT_CARRIED_OVER = ("name", "keep")


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


def validate_point(point: BridgePoint):
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
        elif previous is not None and f not in NOT_CARRIED_OVER:
            setattr(point, f, getattr(previous, f))
    if fields:
        raise DomainError(_("Field %(f)s cannot be changed here.") % {"f": ", ".join(fields)}, "bad_field")
    validate_point(point)
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
    """Change a point's name, contact, equipment checklist, sessions served or the organiser's "keep".

    Equipment reported missing takes a point that was equipped or checked back to planned.
    A session cannot be dropped while institutions are assigned to the point for it.
    """
    point = BridgePoint.objects.select_for_update().select_related("hall__unit", "conference").get(pk=point.pk)
    require_change_point(actor, point)
    before = {**audit.snapshot(point, [*POINT_FIELDS, "readiness"]),
              "sessions": sorted(point.sessions.values_list("pk", flat=True))}
    set_fields(point, fields, POINT_FIELDS)
    validate_point(point)
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
    require_change_point(actor, point)
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
def delete_point(actor, point: BridgePoint):
    """Remove a point that nobody is assigned to and nothing relays from."""
    point = BridgePoint.objects.select_for_update().select_related("hall__unit").get(pk=point.pk)
    require_change_point(actor, point)
    if point.assignments.exists():
        raise DomainError(_("Institutions are assigned to this point; move them first."), "point_has_assignments")
    if point.relay_children.exists():
        raise DomainError(_("Other points relay from this one; give them another parent first."),
                          "point_has_children")
    audit.record(actor, "point.deleted", point, unit_path=point.hall.unit.path,
                 before=audit.snapshot(point, [*POINT_FIELDS, "hall", "is_host"]))
    point.delete()


def relay_chain(point: BridgePoint) -> list[BridgePoint]:
    """The points from the host point down to ``point``'s parent."""
    chain, node, seen = [], point, set()
    while node.relay_parent_id and node.relay_parent_id not in seen:
        seen.add(node.relay_parent_id)
        node = BridgePoint.objects.select_related("hall__unit").get(pk=node.relay_parent_id)
        chain.append(node)
    return list(reversed(chain))
