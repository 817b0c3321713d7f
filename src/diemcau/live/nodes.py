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
from diemcau.core.broadcast import publish_on_commit
from diemcau.events.models import Conference
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.models import BridgePoint

from .groups import board_group, kiosk_group
from .janus_client import JanusAdmin
from .models import LiveAlarm, LiveNode, Programme


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
def node_for_point(point: BridgePoint, nodes: list[LiveNode] | None = None,
                   parents: dict[int, int | None] | None = None) -> LiveNode | None:
    """The node a point watches: the nearest point up its relay line (itself first) with an edge that is
    not down; else the least loaded edge a media host's agent registered (load against capacity);
    else the root. So a kiosk whose edge died is sent elsewhere, and gets its edge back for a new
    join once the edge is up again."""
    nodes = list(LiveNode.objects.all()) if nodes is None else nodes
    usable = [n for n in nodes if n.role == LiveNode.Role.EDGE and n.state != LiveNode.State.DOWN]
    edges = {n.point_id: n for n in usable if n.point_id}
    root = next((n for n in nodes if n.role == LiveNode.Role.ROOT), None)
    seen = set()
    current: int | None = point.pk
    while current is not None and current not in seen:
        if current in edges:
            return edges[current]
        seen.add(current)
        if parents is not None:
            current = parents.get(current)
        else:
            current = BridgePoint.objects.filter(pk=current).values_list("relay_parent_id", flat=True).first()
    spare = [n for n in usable if n.agent and not n.point_id and n.state == LiveNode.State.UP]
    if spare:
        return min(spare, key=lambda n: (n.load / max(1, n.capacity), n.name))
    return root


def node_plan(conference: Conference) -> dict:
    """Which node serves which point, each node's load against its capacity, and what is missing."""
    nodes = list(LiveNode.objects.all())
    rows = list(BridgePoint.objects.filter(conference=conference).select_related("hall__unit"))
    parents = {p.pk: p.relay_parent_id for p in rows}
    load: dict[str, list[BridgePoint]] = defaultdict(list)
    for p in rows:
        node = node_for_point(p, nodes, parents)
        load[node.name if node else ""].append(p)
    served = []
    for n in nodes:
        count = len(load.get(n.name, []))
        served.append({"node": n, "points": load.get(n.name, []), "count": count,
                       "over": count > n.capacity})
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
