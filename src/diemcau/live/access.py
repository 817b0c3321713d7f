"""Who may do what in the live programme: directors, and the points whose kiosk or board a user sees.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from diemcau.core.errors import ScopeError
from diemcau.core.scoping import SYSTEM, scope_for
from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.points import access
from diemcau.points.access import operated_points


# --- who may do what --------------------------------------------------------------------------------
def is_director(actor) -> bool:
    """Directors and national organisers run the programme and the floor."""
    if actor is SYSTEM:
        return True
    if not getattr(actor, "is_authenticated", False):
        return False
    return scope_for(actor).has_role(Role.DIRECTOR, Role.NATIONAL_ORGANISER)


def require_director(actor, conference: Conference):
    if not is_director(actor):
        raise ScopeError(_("Only the programme director may do this."), "not_director")
    if actor is not SYSTEM and not scope_for(actor).covers(conference.host_unit.path):
        raise ScopeError(_("Only the programme director may do this."), "not_director")


def kiosk_points(actor, conference: Conference) -> QuerySet:
    """The points whose kiosk the actor may run: those it operates (``points.access``)."""
    return operated_points(actor, conference.pk)


def board_points(actor, conference: Conference) -> QuerySet:
    """Points on the actor's site board: those hosted in their subtrees (directors: all)."""
    return access.points_in_scope(actor, conference)
