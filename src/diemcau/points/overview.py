"""What organisers look at: a conference's points by readiness and subtree, and their roll-up up the tree.
"""

from collections import defaultdict

from django.db.models import Sum

from diemcau.core.vntext import vi_sort_key
from diemcau.events import services as events
from diemcau.events.models import Conference
from diemcau.orgs.models import PATH_STEP, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for

from .access import points_in_scope
from .assignment import seats_used
from .models import Assignment, BridgePoint

R = BridgePoint.Readiness


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
        node["children"].sort(key=lambda n: vi_sort_key(n["unit"].name))
    return roots
