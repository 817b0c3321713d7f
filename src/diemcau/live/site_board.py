"""The live site board: every point's live state, rolled up the tree for an organiser or a director.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from diemcau.core.dbrouter import reading_replica
from diemcau.core.errors import ScopeError
from diemcau.events.models import Conference
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import SYSTEM, scope_for
from diemcau.points.models import BridgePoint

from . import kiosk_modes
from .access import board_points
from .health import REPORT_FIELDS, point_state
from .models import FloorRequest, LiveAlarm, LiveNode, PointLiveState
from .nodes import assign_points

# What each point state is called on the site board (server-rendered rows).
STATE_LABELS = {"never": _("Never connected"), "connected": _("Connected"), "receiving": _("Receiving"),
                "publishing": _("Publishing"), "floor": _("Has the floor"), "lost": _("Lost")}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


@reading_replica  # figures may lag the primary by a moment: read from the replica when there is one
def board(actor, conference: Conference, *, unit: Unit | None = None) -> dict:
    """The site board: every point in the actor's scope with its state and figures, rolled up by unit."""
    qs = board_points(actor, conference)
    if unit is not None:
        if actor is not SYSTEM and not scope_for(actor).can_see(unit):
            raise ScopeError()
        qs = qs.filter(hall__unit__path__startswith=unit.path)
    rows = list(qs.select_related("hall__unit", "live_state__last_report"))
    now = timezone.now()
    floor_points = set(FloorRequest.objects.filter(conference=conference, state=FloorRequest.State.GRANTED)
                       .values_list("point_id", flat=True))
    nodes = list(LiveNode.objects.all())
    everyone = list(BridgePoint.objects.filter(conference=conference).select_related("hall__unit"))
    assigned = assign_points(everyone, nodes, {p.pk: p.relay_parent_id for p in everyone})
    group_units = _rollup_units(actor, rows)
    modes = kiosk_modes.board_modes([p.pk for p in rows])  # how each kiosk receives (main, low, HLS, audio)
    points_out, rollup = [], {}
    for p in rows:
        st = getattr(p, "live_state", None)
        state = point_state(p, st, floor_points, now)
        report = st.last_report if st else None
        node = assigned.get(p.pk)
        live = state in ("connected", "receiving", "publishing", "floor")
        degraded = live and st is not None and st.health == PointLiveState.Health.DEGRADED
        group = group_units.get(p.pk)
        points_out.append({
            "id": p.pk, "name": p.name, "unit": p.hall.unit.name, "unit_path": p.hall.unit.path,
            "group": group.name if group else "", "state": state, "degraded": degraded,
            "node": node.name if node else "", "node_up": bool(node and node.state == LiveNode.State.UP),
            "readiness": p.readiness, "gaps": st.gaps if st else 0, "reception": modes[p.pk],
            "last_report_at": st.last_report_at.isoformat() if st and st.last_report_at else None,
            "figures": ({f: getattr(report, f) for f in REPORT_FIELDS} if report else None),
        })
        if group is not None:
            r = rollup.setdefault(group.pk, {"unit": group.name, "total": 0, "live": 0, "degraded": 0, "lost": 0})
            r["total"] += 1
            r["live"] += live
            r["degraded"] += degraded
            r["lost"] += state == "lost"
    alarms = (LiveAlarm.objects.filter(cleared_at__isnull=True)
              .filter(Q(point__in=[p.pk for p in rows]) | Q(node__isnull=False))
              .select_related("point", "node")[:50])
    return {
        "points": points_out,
        "rollup": sorted(rollup.values(), key=lambda r: r["unit"]),
        "alarms": [{"kind": a.kind, "label": str(LiveAlarm.Kind(a.kind).label),
                    "where": a.point.name if a.point else (a.node.name if a.node else ""),
                    "since": a.raised_at.isoformat()} for a in alarms],
        "nodes": [{"name": n.name, "role": n.role, "state": n.state, "region": n.region,
                   "points": sum(1 for p in points_out if p["node"] == n.name), "capacity": n.capacity,
                   "sessions": n.load if n.agent else None,
                   "since": n.state_since.isoformat() if n.state_since else None} for n in nodes],
        "at": now.isoformat(),
    }


def _rollup_units(actor, rows: list[BridgePoint]) -> dict[int, Unit]:
    """Each point's unit one level below the top of the actor's view (e.g. its department)."""
    if not rows:
        return {}
    scope_paths = [""] if actor is SYSTEM else scope_for(actor).read_paths
    top = min((len(p) for p in scope_paths), default=0)
    step = 9  # orgs.models.PATH_STEP
    level = top + step * (2 if top == 0 else 1)
    wanted = {p.hall.unit.path[:level] for p in rows}
    units = {u.path: u for u in Unit.objects.filter(path__in=wanted)}
    return {p.pk: units.get(p.hall.unit.path[:level]) or p.hall.unit for p in rows}
