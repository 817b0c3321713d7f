"""The official list of bridge points and the institutions assigned to them: the rows that
``reports.official_list`` turns into the official document (page, PDF, .xlsx).
"""

from collections import defaultdict

from diemcau.core.errors import ScopeError
from diemcau.core.vntext import by_name
from diemcau.events.models import Conference
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import SYSTEM, scope_for

from .access import points_in_scope
from .models import Assignment


# --- the official list ------------------------------------------------------------------------
def official_list(user, conference: Conference, unit: Unit | None = None) -> list[dict]:
    """Bridge points with their assigned institutions, contacts and seat use, per session.

    ``unit`` limits the list to points hosted in its subtree; without it, every point the user
    can see inside their subtrees (the whole conference for a national organiser).
    """
    if unit is not None and user is not SYSTEM and not scope_for(user).can_see(unit):
        raise ScopeError()
    points = list(points_in_scope(user, conference, within=unit).prefetch_related("sessions")
                  .order_by("hall__unit__path", by_name()))
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
