"""Janus nodes: the root and the edges, which node serves a point, the edge plan, node state, and
calling Janus from synchronous code.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from diemcau.core import audit, hub
from diemcau.core.acting import system_scope
from diemcau.core.broadcast import publish_on_commit
from diemcau.events.models import Conference
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.models import BridgePoint

from .groups import board_group, kiosk_group
from .janus_client import JanusAdmin
from .models import LiveAlarm, LiveNode, LiveToken, Programme


# --- Janus from synchronous code ---------------------------------------------------------------------
def run_janus(coro_factory):
    """Run one coroutine against Janus from synchronous code, in a thread when a loop already runs."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(coro_factory())
        except BaseException as exc:
            result["error"] = exc
    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def admin_call(node: LiveNode, method: str, *args):
    async def call():
        async with JanusAdmin(node.admin_url, node.admin_secret, timeout=3.0) as admin:
            return await getattr(admin, method)(*args)
    return run_janus(call)


# --- nodes and edges ---------------------------------------------------------------------------------
# Which node a point watches:
#   1. the nearest edge up its relay line (itself first) that is not down and has room;
#   2. else a spare edge (one a media host's agent registered, at no point) of the point's own region
#      with room, the least loaded first (load against capacity);
#   3. else a spare edge of another region with room, the least loaded first;
#   4. else (every edge full) the relay line's edge, else the least overloaded spare of any region;
#   5. else the root.
# An edge at or over capacity is never chosen while one with room exists; an edge that comes back up
# is a spare with room again, so it takes new joins.

def region_names(node: LiveNode) -> frozenset[str]:
    """The regions a node serves: its agent's ``--region``, several separated by commas."""
    return frozenset(r.strip().casefold() for r in (node.region or "").split(",") if r.strip())


def point_regions(points: list[BridgePoint]) -> dict[int, frozenset[str]]:
    """Each point's region names: the code of the department (Sở) its hall's unit belongs to and that
    department's province (its administrative area's code); a unit under no department (the ministry,
    a university) gives its own province, if it has one. ``points`` come with ``hall__unit`` loaded."""
    ancestors = {pk for p in points for pk in p.hall.unit.ancestor_ids()}
    with system_scope("edge assignment: the department above a point's hall names its region"):
        departments = {u["pk"]: u for u in Unit.objects.filter(pk__in=ancestors, kind=Unit.Kind.DEPARTMENT)
                       .values("pk", "code", "admin_area__code")}
        own = {u["pk"]: u for u in Unit.objects.filter(pk__in={p.hall.unit_id for p in points})
               .values("pk", "admin_area__code", "admin_area__level", "admin_area__parent__code")}
    out = {}
    for p in points:
        dept = next((departments[a] for a in p.hall.unit.ancestor_ids() if a in departments), None)
        if dept is not None:
            names = {dept["code"], dept["admin_area__code"]}
        else:
            unit = own.get(p.hall.unit_id, {})
            province = (unit.get("admin_area__parent__code") if unit.get("admin_area__level") == "commune"
                        else unit.get("admin_area__code"))
            names = {province}
        out[p.pk] = frozenset(n.casefold() for n in names if n)
    return out


def _relay_line(point_id: int | None, edges: dict[int, LiveNode], parents) -> list[LiveNode]:
    """The edges up a point's relay line, nearest first (``parents``: a dict, or None to ask the database)."""
    line, seen, current = [], set(), point_id
    while current is not None and current not in seen:
        if current in edges:
            line.append(edges[current])
        seen.add(current)
        if parents is not None:
            current = parents.get(current)
        else:
            current = BridgePoint.objects.filter(pk=current).values_list("relay_parent_id", flat=True).first()
    return line


def choose_node(nodes: list[LiveNode], line: list[LiveNode], regions: frozenset[str],
                load: dict[str, int]) -> LiveNode | None:
    """The node for one point (the rules above): ``line`` its relay line's usable edges, nearest first;
    ``load`` what each node already serves (by name)."""
    def room(n):
        return load.get(n.name, 0) < n.capacity

    def fill(n):
        return load.get(n.name, 0) / max(1, n.capacity), n.name

    spare = [n for n in nodes if n.role == LiveNode.Role.EDGE and n.agent and not n.point_id
             and n.state == LiveNode.State.UP]
    own = [n for n in spare if region_names(n) & regions]
    other = [n for n in spare if not region_names(n) & regions]
    for group in (line, own, other):
        with_room = [n for n in group if room(n)]
        if with_room:
            return with_room[0] if group is line else min(with_room, key=fill)
    if line:
        return line[0]
    if spare:
        return min(spare, key=fill)
    return next((n for n in nodes if n.role == LiveNode.Role.ROOT), None)


def _usable_edges(nodes: list[LiveNode]) -> dict[int, LiveNode]:
    return {n.point_id: n for n in nodes
            if n.role == LiveNode.Role.EDGE and n.state != LiveNode.State.DOWN and n.point_id}


def live_load(nodes: list[LiveNode]) -> dict[str, int]:
    """What each node serves now: the sessions its agent last reported, plus the kiosk and viewer tokens
    issued for it since that heartbeat (so a burst of joins does not all land on one edge)."""
    load = {n.name: n.load for n in nodes}
    beats = {n.name: n.heartbeat_at for n in nodes if n.agent and n.heartbeat_at}
    if beats:
        recent = (LiveToken.objects.filter(issued_at__gte=min(beats.values()), revoked_at__isnull=True,
                                           purpose__in=(LiveToken.Purpose.KIOSK, LiveToken.Purpose.VIEWER))
                  .values_list("nodes", "issued_at"))
        for names, issued in recent:
            for name in names:
                if name in beats and issued >= beats[name]:
                    load[name] += 1
    return load


def node_for_point(point: BridgePoint, nodes: list[LiveNode] | None = None,
                   parents: dict[int, int | None] | None = None) -> LiveNode | None:
    """The node a point watches when it joins now (the rules above, against each node's live load).
    So a kiosk whose edge died is sent elsewhere, and a returning edge takes new joins again."""
    nodes = list(LiveNode.objects.all()) if nodes is None else nodes
    line = _relay_line(point.pk, _usable_edges(nodes), parents)
    return choose_node(nodes, line, point_regions([point])[point.pk], live_load(nodes))


def assign_points(points: list[BridgePoint], nodes: list[LiveNode], parents: dict[int, int | None],
                  regions: dict[int, frozenset[str]] | None = None) -> dict[int, LiveNode | None]:
    """Which node serves each point when every point joins (the plan): the rules above, each point
    adding one to its node's load, in the order of the points' ids."""
    regions = point_regions(points) if regions is None else regions
    edges = _usable_edges(nodes)
    load: dict[str, int] = defaultdict(int)
    out = {}
    for p in sorted(points, key=lambda p: p.pk):
        node = choose_node(nodes, _relay_line(p.pk, edges, parents), regions.get(p.pk, frozenset()), load)
        out[p.pk] = node
        if node is not None:
            load[node.name] += 1
    return out


def node_plan(conference: Conference) -> dict:
    """Which node serves which point, each node's region and load against its capacity, what is missing."""
    nodes = list(LiveNode.objects.all())
    rows = list(BridgePoint.objects.filter(conference=conference).select_related("hall__unit"))
    parents = {p.pk: p.relay_parent_id for p in rows}
    assigned = assign_points(rows, nodes, parents)
    load: dict[str, list[BridgePoint]] = defaultdict(list)
    for p in rows:
        node = assigned[p.pk]
        load[node.name if node else ""].append(p)
    served = []
    for n in nodes:
        count = len(load.get(n.name, []))
        served.append({"node": n, "points": load.get(n.name, []), "count": count,
                       "region": ", ".join(r.strip() for r in n.region.split(",") if r.strip()),
                       "sessions": n.load if n.agent else None,
                       "fill": round(100 * count / max(1, n.capacity)), "over": count > n.capacity})
    capacity = max((n.capacity for n in nodes), default=50) or 50
    needed = math.ceil(len(rows) / capacity) if rows else 0
    return {"nodes": served, "unserved": load.get("", []), "points": len(rows),
            "nodes_needed": needed, "suggested_sites": suggest_edge_sites(rows, parents, capacity)}


def suggest_edge_sites(rows: list[BridgePoint], parents: dict[int, int | None], capacity: int) -> list[dict]:
    """Points of the relay tree where an edge would serve a whole subtree within ``capacity``.

    Greedy from the leaves up: a point whose relay subtree has grown to ``capacity`` points (or
    whose parent is the root) gets an edge, and its subtree is counted as served.
    """
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in parents.items():
        children[parent].append(pk)
    by_id = {p.pk: p for p in rows}
    sites = []

    def walk(pk: int) -> int:
        size = 1 + sum(walk(c) for c in children.get(pk, []))
        parent = parents.get(pk)
        if parent is not None and (size >= capacity or parents.get(parent) is None) and size > 1:
            sites.append({"point": by_id[pk], "serves": size})
            return 0
        return size

    for top in children.get(None, []):
        walk(top)
    return sorted(sites, key=lambda s: -s["serves"])


@transaction.atomic
def set_node_state(node: LiveNode, state: str, *, detail: str = "") -> LiveNode:
    """Record a node going up or down (the runtime calls this); raise or clear its alarm."""
    node = LiveNode.objects.select_for_update().get(pk=node.pk)
    if node.state == state:
        return node
    before = node.state
    node.state = state
    node.state_since = timezone.now()
    if state == LiveNode.State.UP:
        node.epoch += 1
    node.save()
    if state == LiveNode.State.DOWN:
        LiveAlarm.objects.create(node=node, kind=LiveAlarm.Kind.NODE_DOWN, detail=detail[:300])
    else:
        LiveAlarm.objects.filter(node=node, cleared_at__isnull=True).update(cleared_at=timezone.now())
    audit.record(SYSTEM, "live.node_state", node, before={"state": before}, after={"state": state})
    conferences = _live_conferences()
    publish_on_commit(*[hub.notice(board_group(cid)) for cid in conferences])
    if state == LiveNode.State.DOWN and node.role == LiveNode.Role.EDGE:
        # Kiosks watching the dead edge are told to move (each gets a new token and node URL).
        publish_on_commit(*[(kiosk_group(cid), {"type": "live.move", "node": node.name}) for cid in conferences])
    return node


def _live_conferences() -> list[int]:
    return list(Programme.objects.values_list("conference_id", flat=True))
