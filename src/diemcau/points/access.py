"""Who operates a bridge point (điểm cầu): one rule for roll call, poster, kiosk and thumbnails.

A person operates a point when they are

- its point operator, named for the point itself, or for the point's hall's unit (a technician of
  a district office runs every point that office hosts, including ones made after the role), or
- an organiser whose write scope covers the unit that hosts the point.

Attendance (roll call, poster, headcount), live (kiosk, floor, A/V reports, thumbnails) and voice
(sending from a kiosk) all ask these functions; none writes the rule again.

Who plans points for which units (:func:`planning_units`) is here too: the planner's pages and the
conference pages open on those units.
"""


from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from diemcau.core.errors import ScopeError
from diemcau.core.vntext import by_name
from diemcau.events.access import line_q
from diemcau.events.models import Conference
from diemcau.orgs.models import Role, RoleAssignment, Unit, path_upper_bound
from diemcau.orgs.scoping import SYSTEM, scope_for, write_scope_sql

from .models import BridgePoint, Hall


def _operator_roles(actor) -> QuerySet:
    return RoleAssignment.objects.filter(user=actor, role=Role.POINT_OPERATOR)


def _named_operator_q(actor) -> Q:
    """Points the actor is point operator of: by the point, or by the hall's unit (no point named)."""
    own = _operator_roles(actor)
    return (Q(pk__in=own.filter(point_id__isnull=False).values("point_id"))
            | Q(hall__unit_id__in=own.filter(point_id__isnull=True).values("unit_id")))


# The named-operator half of the rule as SQL, for the check-in's one context statement: true when the
# account (the parameter) holds the point-operator role for the point ``bp`` or for its hall's unit (``h``).
NAMED_OPERATOR_SQL = (
    "EXISTS (SELECT 1 FROM orgs_roleassignment r WHERE r.user_id = %s AND r.role = 'point_operator'"
    " AND (r.point_id = bp.id OR (r.point_id IS NULL AND r.unit_id = h.unit_id)))")
# The whole rule of :func:`operates_point` as SQL (``bp``, ``h`` and the hall's unit ``hu`` joined; the
# account's id as both parameters), for an active account that is not a superuser (the caller's to check).
OPERATES_POINT_SQL = f"({NAMED_OPERATOR_SQL} OR {write_scope_sql('hu.path')})"


def operates_point(actor, point: BridgePoint) -> bool:
    """True when ``actor`` operates ``point`` (the rule in this module's docstring)."""
    if actor is SYSTEM:
        return True
    if not getattr(actor, "is_authenticated", False):
        return False
    if scope_for(actor).can_change(point.hall.unit):
        return True
    return _operator_roles(actor).filter(
        Q(point_id=point.pk) | Q(point_id__isnull=True, unit_id=point.hall.unit_id)).exists()


def require_operator(actor, point: BridgePoint) -> None:
    """Raise :class:`ScopeError` unless ``actor`` operates ``point``."""
    if not operates_point(actor, point):
        raise ScopeError(_("You do not run this bridge point."), "point_out_of_scope")


def operated_points(actor, conference_id: int) -> QuerySet:
    """The conference's points that ``actor`` operates, as a query (kiosks, roll-call lists)."""
    qs = BridgePoint.objects.filter(conference_id=conference_id).select_related("hall__unit")
    if actor is SYSTEM:
        return qs
    if not getattr(actor, "is_authenticated", False):
        return qs.none()
    return qs.filter(_named_operator_q(actor) | scope_for(actor).q("hall__unit__path", "write"))



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


def require_change_point(actor, point: BridgePoint):
    """Raise unless the actor may change ``point`` (its hall's unit is in their subtree)."""
    if actor is SYSTEM:
        return
    if not scope_for(actor).can_change(point.hall.unit):
        raise ScopeError(
            _("The bridge point %(point)s is outside your part of the tree.") % {"point": point.name},
            "point_out_of_scope",
        )


def planning_units(user) -> list[Unit]:
    """The units a user plans for by default: the tops of their write scope (not institutions)."""
    return list(scope_for(user).roots("write").exclude(kind=Unit.Kind.INSTITUTION).order_by("depth", by_name())[:20])
