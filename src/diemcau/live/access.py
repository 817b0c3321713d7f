"""Which points a user sees in the live programme: the kiosks they run and the points on their site board.
"""

from __future__ import annotations

from django.db.models import QuerySet

from diemcau.events.models import Conference
from diemcau.points import access
from diemcau.points.access import operated_points


# --- which points (who directs a conference is events.access's) -------------------------------------
def kiosk_points(actor, conference: Conference) -> QuerySet:
    """The points whose kiosk the actor may run: those it operates (``points.access``)."""
    return operated_points(actor, conference.pk)


def board_points(actor, conference: Conference) -> QuerySet:
    """Points on the actor's site board: those hosted in their subtrees (directors: all)."""
    return access.points_in_scope(actor, conference)
