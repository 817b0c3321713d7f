"""Who operates a bridge point (điểm cầu): one rule for roll call, poster, kiosk and thumbnails.

A person operates a point when they are

- its point operator, named for the point itself, or for the point's hall's unit (a technician of
  a district office runs every point that office hosts, including ones made after the role), or
- an organiser whose write scope covers the unit that hosts the point.

Attendance (roll call, poster, headcount), live (kiosk, floor, A/V reports, thumbnails) and voice
(sending from a kiosk) all ask these functions; none writes the rule again.
"""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from diemcau.core.errors import ScopeError
from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM, scope_for

from .models import BridgePoint


def _operator_roles(actor) -> QuerySet:
    return RoleAssignment.objects.filter(user=actor, role=Role.POINT_OPERATOR)


def _named_operator_q(actor) -> Q:
    """Points the actor is point operator of: by the point, or by the hall's unit (no point named)."""
    own = _operator_roles(actor)
    return (Q(pk__in=own.filter(point_id__isnull=False).values("point_id"))
            | Q(hall__unit_id__in=own.filter(point_id__isnull=True).values("unit_id")))


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
