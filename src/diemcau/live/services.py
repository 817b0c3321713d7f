"""The live conference's rules: tokens, the floor, the programme, A/V health, edges, technical checks.

Views, the JSON API, websocket consumers and the runtime call these. A state change validates,
writes in a transaction, records an audit entry and publishes its live update on commit. The
Janus side of the programme (re-pointing forwarders) is done by the runtime (``runtime.py``),
which follows ``Programme.version``; tokens are added to (and removed from) Janus here, at once,
and the runtime keeps every node's token list equal to the valid tokens (after a restart too).

Trust (docs/SECURITY.md, "The broadcast"): a publisher in the root's room is forwarded only when
diemcau granted its id (a floor grant's or the studio credential's random id, see
:func:`granted_publishers`); tokens last minutes, are renewed while the right holds and are revoked
when it goes; the floor queue's names and the HLS link are for those the rules below name.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import math
import secrets
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.broadcast import send_to_group
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events.access import can_direct, require_director, sees_conference
from diemcau.events.models import Conference, Session
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for
from diemcau.points import services as points
from diemcau.points.access import operated_points, require_operator
from diemcau.points.models import Assignment, BridgePoint

from .janus_client import STREAMING, VIDEOROOM, JanusAdmin, JanusError, JanusUnreachable
from .models import (
    AVReport,
    FloorEvent,
    FloorRequest,
    LiveAlarm,
    LiveNode,
    LiveToken,
    PointLiveState,
    Programme,
    ProgrammeSwitch,
    TechnicalCheck,
)
from .signals import kiosk_group

# --- the media layout every node shares ------------------------------------------------------------
MAIN_MOUNTPOINT = 1   # the programme (host or the point on air)
SIDE_MOUNTPOINT = 2   # the second picture when host and point are shown side by side

# Offsets in a node's 1000-port block (see janus_node): the programme mountpoints' RTP ports and
# the HLS packager's, all inside the block's streaming range and chosen here, never by Janus.
PORTS = {"main": (700, 702), "side": (710, 712), "hls": (800, 802)}

# --- A/V health -------------------------------------------------------------------------------------
MIN_REPORT_INTERVAL = 2.0     # seconds between two accepted reports of one point (kiosks send every 5 s)
LOST_AFTER = 15.0             # no report for this long: the point is lost
DEGRADED_LOSS_PCT = 5.0
DEGRADED_RTT_MS = 500.0
DEGRADED_FPS = 8.0

STATES = ("never", "connected", "receiving", "publishing", "floor", "lost")


def room_id(conference: Conference | int) -> int:
    """The root's VideoRoom for a conference."""
    return int(getattr(conference, "pk", conference))


def new_publisher_id() -> int:
    """A random publisher id for the root's room: unguessable, and below 2**53 so a browser holds it exactly."""
    return 2**32 + secrets.randbelow(2**53 - 2**32)


def token_lifetime() -> datetime.timedelta:
    """How long a Janus token lasts (``DIEMCAU_LIVE_TOKEN_MINUTES``); pages renew it before it ends."""
    return datetime.timedelta(minutes=getattr(settings, "LIVE_TOKEN_MINUTES", 15))


def renew_grace() -> datetime.timedelta:
    """How long a renewed token still works (``DIEMCAU_LIVE_TOKEN_GRACE_SECONDS``)."""
    return datetime.timedelta(seconds=getattr(settings, "LIVE_TOKEN_GRACE_SECONDS", 60))


# --- publishing live updates -------------------------------------------------------------------------
def board_group(conference_id: int) -> str:
    return f"live.board.{conference_id}"


def director_group(conference_id: int) -> str:
    return f"live.director.{conference_id}"


def point_group(point_id: int) -> str:
    return f"live.point.{point_id}"


def _send(group: str, message: dict):
    send_to_group(group, message)


def _publish_on_commit(*pairs: tuple[str, dict]):
    def send():
        for group, message in pairs:
            _send(group, message)
    transaction.on_commit(send)


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


def _admin_call(node: LiveNode, method: str, *args):
    async def call():
        async with JanusAdmin(node.admin_url, node.admin_secret, timeout=3.0) as admin:
            return await getattr(admin, method)(*args)
    return run_janus(call)


# --- who may do what --------------------------------------------------------------------------------
def kiosk_points(actor, conference: Conference) -> QuerySet:
    """The points whose kiosk the actor may run: those it operates (``points.access``)."""
    return operated_points(actor, conference.pk)


def board_points(actor, conference: Conference) -> QuerySet:
    """Points on the actor's site board: those hosted in their subtrees (directors: all)."""
    return points.points_in_scope(actor, conference)


# --- nodes and edges ---------------------------------------------------------------------------------
def root_node() -> LiveNode | None:
    return LiveNode.objects.filter(role=LiveNode.Role.ROOT).first()


def node_for_point(point: BridgePoint, nodes: list[LiveNode] | None = None,
                   parents: dict[int, int | None] | None = None) -> LiveNode | None:
    """The node a point watches: the nearest point up its relay line (itself first) with an edge, else the root."""
    nodes = list(LiveNode.objects.all()) if nodes is None else nodes
    edges = {n.point_id: n for n in nodes if n.role == LiveNode.Role.EDGE and n.point_id}
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
    _publish_on_commit(*[(board_group(cid), {"type": "live.refresh"}) for cid in _live_conferences()])
    return node


def _live_conferences() -> list[int]:
    return list(Programme.objects.values_list("conference_id", flat=True))


# --- tokens ------------------------------------------------------------------------------------------
@dataclass
class IssuedToken:
    token: LiveToken
    root: LiveNode | None
    watch: LiveNode | None

    def as_config(self) -> dict:
        """What a page needs to speak to Janus: the token, the nodes' URLs, the ids."""
        t = self.token
        return {
            "token": t.token,
            "purpose": t.purpose,
            "root_url": self.root.ws_url if self.root else "",
            "watch_url": self.watch.ws_url if self.watch else "",
            "watch_node": self.watch.name if self.watch else "",
            "room": room_id(t.conference_id),
            "main": MAIN_MOUNTPOINT,
            "side": SIDE_MOUNTPOINT,
            # The studio's own id; a kiosk hears its id over its websocket only while it has the floor.
            "publisher_id": t.publisher_id,
            "expires_at": t.expires_at.isoformat(),
            "lifetime_s": int((t.expires_at - t.issued_at).total_seconds()) if t.issued_at else None,
            "renew_url": "/api/live/tokens/renew",
        }


PURPOSE_PLUGINS = {
    LiveToken.Purpose.KIOSK: [VIDEOROOM, STREAMING],
    LiveToken.Purpose.CHECK: [VIDEOROOM, STREAMING],
    LiveToken.Purpose.STUDIO: [VIDEOROOM],
    LiveToken.Purpose.DIRECTOR: [VIDEOROOM, STREAMING],
    LiveToken.Purpose.VIEWER: [STREAMING],
}


def issue_token(actor, conference: Conference, purpose: str, point: BridgePoint | None = None, *,
                publisher_id: int | None = None) -> IssuedToken:
    """Issue a per-person (and, for kiosks, per-point) Janus token and add it to the nodes it needs.

    Kiosks and checks need the point's operator; the studio and the director console need the
    director; a viewer needs only to see the conference. The token works on the root (publishing)
    and on the node the point watches. A node that is down gets it when it comes back (runtime).
    A studio token carries the random id the studio publishes as (``publisher_id`` keeps the one of
    the token being renewed).
    """
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        raise ScopeError()
    if purpose not in LiveToken.Purpose.values:
        raise DomainError(_("Unknown token purpose."), "bad_purpose")
    if point is not None and point.conference_id != conference.pk:
        raise DomainError(_("This point belongs to another conference."), "wrong_conference")
    if purpose in (LiveToken.Purpose.KIOSK, LiveToken.Purpose.CHECK):
        if point is None:
            raise DomainError(_("Say which bridge point."), "point_required")
        require_operator(actor, point)
    elif purpose in (LiveToken.Purpose.STUDIO, LiveToken.Purpose.DIRECTOR):
        require_director(actor, conference)
        point = conference.points.filter(is_host=True).first() if purpose == LiveToken.Purpose.STUDIO else None
    else:
        if not sees_conference(actor, conference):
            raise ScopeError()
        point = None
    if purpose != LiveToken.Purpose.STUDIO:
        publisher_id = None
    elif publisher_id is None:
        publisher_id = new_publisher_id()
    nodes = list(LiveNode.objects.all())
    root = next((n for n in nodes if n.is_root), None)
    if root is None:
        raise DomainError(_("The media server is not running."), "no_media_node")
    watch = node_for_point(point, nodes) if point is not None else _least_loaded(nodes)
    targets = [n for n in {root.pk: root, watch.pk: watch}.values() if n is not None]
    plugins = PURPOSE_PLUGINS[purpose]
    with transaction.atomic():
        token = LiveToken.objects.create(
            token=secrets.token_urlsafe(24), user=actor, conference=conference, point=point, purpose=purpose,
            plugins=plugins, nodes=[n.name for n in targets], publisher_id=publisher_id,
            expires_at=timezone.now() + token_lifetime())
        audit.record(actor, "live.token_issued", object_type="live.livetoken", object_id=token.pk,
                     object_repr=f"{purpose} {point or ''}".strip(),
                     unit_path=point.hall.unit.path if point else conference.host_unit.path)
    for node in targets:
        if node.state == LiveNode.State.UP:
            try:
                _admin_call(node, "add_token", token.token, plugins)
            except (JanusError, JanusUnreachable, OSError):
                pass  # the runtime adds every valid token again when it sees the node
    return IssuedToken(token, root, watch)


def _least_loaded(nodes: list[LiveNode]) -> LiveNode | None:
    edges = [n for n in nodes if n.role == LiveNode.Role.EDGE and n.state == LiveNode.State.UP]
    if not edges:
        return next((n for n in nodes if n.is_root), None)
    counts = defaultdict(int)
    for names in LiveToken.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now(),
                                          purpose=LiveToken.Purpose.VIEWER).values_list("nodes", flat=True):
        for name in names:
            counts[name] += 1
    return min(edges, key=lambda n: (counts[n.name] / max(n.capacity, 1), n.name))


def valid_tokens(node: LiveNode) -> list[LiveToken]:
    """Tokens the node must know (the runtime adds them again after a restart)."""
    return [t for t in LiveToken.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
            if node.name in t.nodes]


def token_for(token: str, *, user, point: BridgePoint | None = None, purposes=None) -> LiveToken:
    """The live token ``token`` if it is valid, belongs to ``user`` and, when given, to ``point``."""
    row = LiveToken.objects.filter(token=token or "").first()
    if row is None or row.revoked_at is not None or row.expires_at <= timezone.now():
        raise ScopeError(_("This live token is not valid."), "bad_token")
    if getattr(user, "pk", None) != row.user_id:
        raise ScopeError(_("This live token is not valid."), "bad_token")
    if point is not None and row.point_id != point.pk:
        raise ScopeError(_("This token was issued for another bridge point."), "token_other_point")
    if purposes is not None and row.purpose not in purposes:
        raise ScopeError(_("This live token is not valid."), "bad_token")
    return row


def renew_token(actor, token: str) -> IssuedToken:
    """A fresh token for the page holding ``token``, if the right that issued it still holds.

    The new token is added to Janus first; the old one stays valid :func:`renew_grace` more
    (the page moves its open Janus sessions to the new one), then expires and the runtime removes it.
    """
    old = token_for(token, user=actor)
    conference = Conference.objects.select_related("host_unit").get(pk=old.conference_id)
    point = BridgePoint.objects.select_related("hall__unit").get(pk=old.point_id) if old.point_id else None
    if old.purpose == LiveToken.Purpose.STUDIO:
        point = None
    issued = issue_token(actor, conference, old.purpose, point, publisher_id=old.publisher_id)
    grace_end = timezone.now() + renew_grace()
    LiveToken.objects.filter(pk=old.pk, expires_at__gt=grace_end).update(expires_at=grace_end)
    return issued


def _still_allowed(token: LiveToken) -> bool:
    """Whether the right that issued ``token`` still holds (the checks of :func:`issue_token`)."""
    user, conference = token.user, token.conference
    if not user.is_active:
        return False
    try:
        if token.purpose in (LiveToken.Purpose.KIOSK, LiveToken.Purpose.CHECK):
            require_operator(user, token.point)
        elif token.purpose in (LiveToken.Purpose.STUDIO, LiveToken.Purpose.DIRECTOR):
            require_director(user, conference)
        else:
            return sees_conference(user, conference)
    except ScopeError:
        return False
    return True


def revoke_user_tokens(user, reason: str, *, recheck: bool = False) -> int:
    """Revoke ``user``'s live tokens (sign-out, deactivation); with ``recheck`` only those whose right went.

    Returns how many were revoked. Janus refuses them at once (the runtime also removes any a node
    missed), and the runtime stops forwarding a studio whose credential went.
    """
    open_tokens = LiveToken.objects.filter(user_id=user.pk, revoked_at__isnull=True, expires_at__gt=timezone.now())
    rows = list(open_tokens.select_related("conference__host_unit", "point__hall__unit"))
    if recheck:
        for row in rows:
            row.user = user
        rows = [row for row in rows if not _still_allowed(row)]
    for row in rows:
        revoke_token(SYSTEM, row, reason=reason)
    return len(rows)


def revoke_token(actor, token: LiveToken, *, reason: str = "") -> LiveToken:
    """Withdraw a token: Janus refuses it at once, on new requests and on sessions already open."""
    if actor is not SYSTEM and actor.pk != token.user_id and not can_direct(actor, token.conference):
        raise ScopeError()
    with transaction.atomic():
        token = LiveToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(actor, "live.token_revoked", object_type="live.livetoken", object_id=token.pk,
                     object_repr=token.purpose, after={"reason": reason} if reason else None)
    for node in LiveNode.objects.filter(name__in=token.nodes, state=LiveNode.State.UP):
        try:
            _admin_call(node, "remove_token", token.token)
        except (JanusError, JanusUnreachable, OSError):
            pass
    return token


# --- the programme -----------------------------------------------------------------------------------
def programme(conference: Conference) -> Programme:
    """The conference's programme row (created on first use, showing the host)."""
    prog, _created = Programme.objects.get_or_create(conference=conference)
    return prog


def programme_state(prog: Programme) -> dict:
    """What kiosks and consoles show about the programme."""
    point = prog.point
    return {
        "source": prog.source,
        "source_label": str(Programme.Source(prog.source).label),
        "point_id": point.pk if point else None,
        "point_name": point.name if point else "",
        "speaker": prog.speaker,
        "version": prog.version,
        "changed_at": prog.changed_at.isoformat() if prog.changed_at else None,
    }


def _switch(actor, prog: Programme, source: str, point: BridgePoint | None, speaker: str):
    before = programme_state(prog)
    prog.source, prog.point, prog.speaker = source, point, speaker
    prog.version += 1
    prog.changed_at = timezone.now()
    prog.save()
    ProgrammeSwitch.objects.create(programme=prog, source=source, point=point,
                                   actor=actor if getattr(actor, "is_authenticated", False) else None)
    after = programme_state(prog)
    audit.record(actor, "live.programme", object_type="live.programme", object_id=prog.pk,
                 object_repr=after["source_label"], unit_path=prog.conference.host_unit.path,
                 before={k: before[k] for k in ("source", "point_id")},
                 after={k: after[k] for k in ("source", "point_id")})
    cid = prog.conference_id
    message = {"type": "live.programme", "programme": after}
    _publish_on_commit((kiosk_group(cid), message), (director_group(cid), message),
                       (board_group(cid), {"type": "live.refresh"}))


@transaction.atomic
def set_programme(actor, conference: Conference, source: str) -> Programme:
    """Choose what every point sees: the host, the point that has the floor, or both side by side."""
    require_director(actor, conference)
    if source not in Programme.Source.values:
        raise DomainError(_("Unknown programme source."), "bad_source")
    prog = Programme.objects.select_for_update().get(pk=programme(conference).pk)
    point, speaker = None, ""
    if source != Programme.Source.HOST:
        floor = (FloorRequest.objects.filter(conference=conference, state=FloorRequest.State.GRANTED)
                 .select_related("point").first())
        if floor is None:
            raise DomainError(_("No point has the floor."), "no_floor")
        point, speaker = floor.point, floor.who
    if source == prog.source and point == prog.point:
        return prog
    _switch(actor, prog, source, point, speaker)
    return prog


# --- the floor ---------------------------------------------------------------------------------------
def _floor_event(request: FloorRequest, action: str, actor):
    FloorEvent.objects.create(request=request, action=action,
                              actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(actor, f"live.floor_{action}", request, unit_path=request.point.hall.unit.path)


def floor_queue(actor, conference: Conference) -> list[dict]:
    """Open floor requests the actor may see, the one with the floor first, then by waiting time.

    The queue names who will speak: the director sees it whole, an organiser the requests of the
    points in their write scope, an operator their own point's; anybody else sees none.
    """
    rows = (FloorRequest.objects.filter(conference=conference, state__in=FloorRequest.OPEN)
            .select_related("point__hall__unit").order_by("-state", "since"))
    if not can_direct(actor, conference):
        rows = rows.filter(point__in=kiosk_points(actor, conference))
    return [{"id": r.pk, "point_id": r.point_id, "point": r.point.name, "unit": r.point.hall.unit.name,
             "who": r.who, "since": r.since.isoformat(), "state": r.state,
             "granted_at": r.granted_at.isoformat() if r.granted_at else None} for r in rows]


def _floor_changed(request: FloorRequest, extra: dict | None = None):
    cid = request.conference_id
    msg = {"type": "live.floor", "request": {"id": request.pk, "state": request.state,
                                             "point_id": request.point_id}, **(extra or {})}
    _publish_on_commit((director_group(cid), msg), (point_group(request.point_id), msg),
                       (kiosk_group(cid), {"type": "live.floor_info"}), (board_group(cid), {"type": "live.refresh"}))


def point_floor(point: BridgePoint) -> dict | None:
    """A kiosk's own open request: its state, and the publisher id it may use while it has the floor."""
    own = FloorRequest.objects.filter(point=point, state__in=FloorRequest.OPEN).first()
    if own is None:
        return None
    status = {"id": own.pk, "state": own.state, "who": own.who,
              "granted_at": own.granted_at.isoformat() if own.granted_at else None}
    if own.state == FloorRequest.State.GRANTED:
        status["publisher_id"] = own.publisher_id
    return status


def granted_publishers(conference_id: int) -> dict:
    """What the runtime may forward from the root's room: the studio credentials' ids (newest first)
    and ``(point id, publisher id)`` of the grant on the floor (or None). Anything else is kicked."""
    now = timezone.now()
    studio = list(LiveToken.objects.filter(conference_id=conference_id, purpose=LiveToken.Purpose.STUDIO,
                                           revoked_at__isnull=True, expires_at__gt=now,
                                           publisher_id__isnull=False)
                  .order_by("-issued_at").values_list("publisher_id", flat=True))
    studio = list(dict.fromkeys(studio))
    floor = (FloorRequest.objects.filter(conference_id=conference_id, state=FloorRequest.State.GRANTED)
             .values_list("point_id", "publisher_id").first())
    return {"studio": studio, "point": tuple(floor) if floor and floor[1] else None}


def room_tokens(conference_id: int) -> set[str]:
    """Tokens that may join the root's room (VideoRoom ``allowed``): the valid studio credentials'
    and the valid kiosk tokens of the point that has the floor."""
    now = timezone.now()
    valid = LiveToken.objects.filter(conference_id=conference_id, revoked_at__isnull=True, expires_at__gt=now)
    floor_point = (FloorRequest.objects.filter(conference_id=conference_id, state=FloorRequest.State.GRANTED)
                   .values_list("point_id", flat=True).first())
    q = Q(purpose=LiveToken.Purpose.STUDIO)
    if floor_point is not None:
        q |= Q(purpose=LiveToken.Purpose.KIOSK, point_id=floor_point)
    return set(valid.filter(q).values_list("token", flat=True))


@transaction.atomic
def request_floor(actor, point: BridgePoint, who: str) -> FloorRequest:
    """A kiosk asks for the floor (xin phát biểu) for someone in its hall."""
    require_operator(actor, point)
    who = " ".join((who or "").split())[:200]
    if not who:
        raise DomainError(_("Say who will speak."), "who_required")
    BridgePoint.objects.select_for_update().get(pk=point.pk)  # one open request per point
    if FloorRequest.objects.filter(point=point, state__in=FloorRequest.OPEN).exists():
        raise DomainError(_("This point has already asked for the floor."), "already_requested")
    req = FloorRequest.objects.create(conference_id=point.conference_id, point=point, who=who,
                                      requested_by=actor if getattr(actor, "is_authenticated", False) else None)
    _floor_event(req, "requested", actor)
    _floor_changed(req)
    return req


def _open_request(request: FloorRequest) -> FloorRequest:
    return FloorRequest.objects.select_for_update().select_related("point__hall__unit", "conference__host_unit") \
        .get(pk=request.pk)


@transaction.atomic
def withdraw_floor(actor, request: FloorRequest) -> FloorRequest:
    """The kiosk takes its request back (or gives the floor back)."""
    request = _open_request(request)
    require_operator(actor, request.point)
    if request.state not in FloorRequest.OPEN:
        raise DomainError(_("This request is already closed."), "floor_closed")
    return _close(actor, request, FloorRequest.State.WITHDRAWN, "withdrawn")


def _close(actor, request: FloorRequest, state: str, action: str) -> FloorRequest:
    had_floor = request.state == FloorRequest.State.GRANTED
    request.state = state
    request.closed_at = timezone.now()
    request.save(update_fields=["state", "closed_at"])
    _floor_event(request, action, actor)
    _floor_changed(request)
    if had_floor:
        prog = Programme.objects.select_for_update().get(pk=programme(request.conference).pk)
        if prog.point_id == request.point_id:
            _switch(actor, prog, Programme.Source.HOST, None, "")
    return request


@transaction.atomic
def grant_floor(actor, request: FloorRequest, *, source: str = Programme.Source.POINT) -> FloorRequest:
    """The director gives the floor: the point goes on air (alone, or beside the host)."""
    request = _open_request(request)
    require_director(actor, request.conference)
    if request.state != FloorRequest.State.REQUESTED:
        raise DomainError(_("Only a waiting request can be granted."), "floor_not_waiting")
    if source not in (Programme.Source.POINT, Programme.Source.BOTH):
        raise DomainError(_("Unknown programme source."), "bad_source")
    for other in FloorRequest.objects.select_for_update().filter(conference=request.conference,
                                                                  state=FloorRequest.State.GRANTED):
        _close(actor, other, FloorRequest.State.REVOKED, "revoked")
    request.state = FloorRequest.State.GRANTED
    request.granted_at = timezone.now()
    request.publisher_id = new_publisher_id()
    request.save(update_fields=["state", "granted_at", "publisher_id"])
    _floor_event(request, "granted", actor)
    _floor_changed(request)
    prog = Programme.objects.select_for_update().get(pk=programme(request.conference).pk)
    _switch(actor, prog, source, request.point, request.who)
    return request


@transaction.atomic
def revoke_floor(actor, request: FloorRequest) -> FloorRequest:
    """The director takes the floor back (or refuses a waiting request); the host returns on air."""
    request = _open_request(request)
    require_director(actor, request.conference)
    if request.state not in FloorRequest.OPEN:
        raise DomainError(_("This request is already closed."), "floor_closed")
    return _close(actor, request, FloorRequest.State.REVOKED, "revoked")


@transaction.atomic
def mute_point(actor, point: BridgePoint, muted: bool = True) -> None:
    """The director mutes (or unmutes) a point's microphone; the kiosk obeys over its websocket."""
    require_director(actor, point.conference)
    request = FloorRequest.objects.filter(point=point, state__in=FloorRequest.OPEN).first()
    if request is not None:
        _floor_event(request, "muted" if muted else "unmuted", actor)
    else:
        audit.record(actor, "live.floor_muted" if muted else "live.floor_unmuted", point,
                     unit_path=point.hall.unit.path)
    _publish_on_commit((point_group(point.pk), {"type": "live.mute", "muted": muted}))


# --- A/V reports and the site board ------------------------------------------------------------------
REPORT_FIELDS = {
    "bitrate_in_kbps": (0, 1_000_000), "bitrate_out_kbps": (0, 1_000_000), "loss_pct": (0, 100),
    "rtt_ms": (0, 600_000), "fps": (0, 240), "frames_decoded": (0, 10**12), "freezes": (0, 10**9),
    "audio_level": (0, 1),
}
PHASES = ("connected", "receiving", "publishing")


def _clean_report(data: dict) -> dict:
    if not isinstance(data, dict):
        raise DomainError(_("A report must be an object of figures."), "bad_report")
    clean = {}
    for name, (low, high) in REPORT_FIELDS.items():
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise DomainError(_("Figure %(f)s is not a number.") % {"f": name}, "bad_report")
        if not low <= value <= high:
            raise DomainError(_("Figure %(f)s is out of range.") % {"f": name}, "bad_report")
        clean[name] = int(value) if name in ("frames_decoded", "freezes") else float(value)
    phase = data.get("phase", "")
    if phase not in ("", *PHASES):
        raise DomainError(_("Unknown kiosk phase."), "bad_report")
    clean["phase"] = phase
    return clean


def _state_row(point: BridgePoint) -> PointLiveState:
    PointLiveState.objects.get_or_create(point=point)
    return PointLiveState.objects.select_for_update().get(point=point)


def _health(report: AVReport, previous: AVReport | None) -> str:
    if report.loss_pct > DEGRADED_LOSS_PCT or (report.rtt_ms or 0) > DEGRADED_RTT_MS:
        return PointLiveState.Health.DEGRADED
    if report.phase in ("receiving", "publishing") and report.fps < DEGRADED_FPS:
        return PointLiveState.Health.DEGRADED
    if previous is not None and report.freezes > previous.freezes:
        return PointLiveState.Health.DEGRADED
    return PointLiveState.Health.OK


class _TooFrequent(Exception):
    pass


def ingest_report(actor, point: BridgePoint, data: dict) -> AVReport:
    """Store a kiosk's WebRTC figures; a point sending faster than every 2 s is refused (``too_frequent``)."""
    require_operator(actor, point)
    clean = _clean_report(data)
    try:
        return _store_report(point, clean)
    except _TooFrequent:
        # Counted outside the refused transaction, so the board can show a flooding kiosk.
        PointLiveState.objects.filter(point=point).update(refused_reports=F("refused_reports") + 1)
        raise DomainError(_("Reports are arriving too often; send one every 5 seconds."), "too_frequent") from None


@transaction.atomic
def _store_report(point: BridgePoint, clean: dict) -> AVReport:
    state = _state_row(point)
    now = timezone.now()
    if state.last_report_at and (now - state.last_report_at).total_seconds() < MIN_REPORT_INTERVAL:
        raise _TooFrequent
    previous = state.last_report
    report = AVReport.objects.create(point=point, **clean)
    health = _health(report, previous)
    if health != state.health:
        _set_health(point, state, health)
    state.last_report, state.last_report_at = report, now
    state.save()
    _publish_on_commit((board_group(point.conference_id), {"type": "live.refresh"}))
    return report


def _set_health(point: BridgePoint, state: PointLiveState, health: str):
    open_alarms = LiveAlarm.objects.filter(point=point, cleared_at__isnull=True)
    if health == PointLiveState.Health.OK:
        open_alarms.update(cleared_at=timezone.now())
    else:
        kind = LiveAlarm.Kind.LOST if health == PointLiveState.Health.LOST else LiveAlarm.Kind.DEGRADED
        if not open_alarms.filter(kind=kind).exists():
            LiveAlarm.objects.create(conference_id=point.conference_id, point=point, kind=kind)
    state.health = health


@transaction.atomic
def kiosk_connected(actor, point: BridgePoint) -> PointLiveState:
    """A kiosk's websocket opened."""
    require_operator(actor, point)
    state = _state_row(point)
    state.connections += 1
    state.connected_at = timezone.now()
    if state.health == PointLiveState.Health.LOST:
        _set_health(point, state, PointLiveState.Health.OK)
    state.save()
    _publish_on_commit((board_group(point.conference_id), {"type": "live.refresh"}))
    return state


@transaction.atomic
def kiosk_disconnected(point: BridgePoint) -> PointLiveState:
    """A kiosk's websocket closed; with none left the point is lost (the board shows the gap)."""
    state = _state_row(point)
    state.connections = max(0, state.connections - 1)
    if state.connections == 0:
        state.disconnected_at = timezone.now()
        state.gaps += 1
        _set_health(point, state, PointLiveState.Health.LOST)
    state.save()
    _publish_on_commit((board_group(point.conference_id), {"type": "live.refresh"}))
    return state


def point_state(point: BridgePoint, state: PointLiveState | None, floor_points: set[int], now) -> str:
    """never / connected / receiving / publishing / floor / lost, from the kept state and last report."""
    if state is None or state.connected_at is None:
        return "never"
    fresh = state.last_report_at and (now - state.last_report_at).total_seconds() < LOST_AFTER
    if state.connections == 0 or (state.last_report_at and not fresh) or state.health == PointLiveState.Health.LOST:
        return "lost"
    if point.pk in floor_points:
        return "floor"
    report = state.last_report
    if report is None or not fresh:
        return "connected"
    if report.bitrate_out_kbps > 0 or report.phase == "publishing":
        return "publishing"
    if report.frames_decoded > 0 and report.fps > 0:
        return "receiving"
    return "connected"


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
    parents = {p.pk: p.relay_parent_id for p in BridgePoint.objects.filter(conference=conference)}
    group_units = _rollup_units(actor, rows)
    points_out, rollup = [], {}
    for p in rows:
        st = getattr(p, "live_state", None)
        state = point_state(p, st, floor_points, now)
        report = st.last_report if st else None
        node = node_for_point(p, nodes, parents)
        live = state in ("connected", "receiving", "publishing", "floor")
        degraded = live and st is not None and st.health == PointLiveState.Health.DEGRADED
        group = group_units.get(p.pk)
        points_out.append({
            "id": p.pk, "name": p.name, "unit": p.hall.unit.name, "unit_path": p.hall.unit.path,
            "group": group.name if group else "", "state": state, "degraded": degraded,
            "node": node.name if node else "", "node_up": bool(node and node.state == LiveNode.State.UP),
            "readiness": p.readiness, "gaps": st.gaps if st else 0,
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
        "nodes": [{"name": n.name, "role": n.role, "state": n.state,
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


# --- technical checks --------------------------------------------------------------------------------
# The check measures the programme arriving for a few seconds (not a capacity test): it passes when
# the programme arrives at a usable rate.
MIN_BANDWIDTH_KBPS = 64.0
MAX_RTT_MS = 300.0


@transaction.atomic
def record_technical_check(actor, point: BridgePoint, *, camera_ok: bool, microphone_ok: bool, mic_level: float,
                           speakers_ok: bool, bandwidth_kbps: float | None, rtt_ms: float | None,
                           note: str = "") -> TechnicalCheck:
    """Store a kiosk's technical check and set the point's readiness from it.

    Passed: camera, microphone and speakers confirmed, the programme arriving at 64 kbit/s or more,
    and under 300 ms round trip to its node.
    """
    require_operator(actor, point)
    for name, value in (("bandwidth_kbps", bandwidth_kbps), ("rtt_ms", rtt_ms), ("mic_level", mic_level)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value) or value < 0):
            raise DomainError(_("Figure %(f)s is not a number.") % {"f": name}, "bad_check")
    passed = bool(camera_ok and microphone_ok and speakers_ok and bandwidth_kbps is not None
                  and bandwidth_kbps >= MIN_BANDWIDTH_KBPS and rtt_ms is not None and rtt_ms <= MAX_RTT_MS)
    check = TechnicalCheck.objects.create(
        point=point, checked_by=actor if getattr(actor, "is_authenticated", False) else None,
        camera_ok=bool(camera_ok), microphone_ok=bool(microphone_ok), mic_level=float(mic_level or 0),
        speakers_ok=bool(speakers_ok), bandwidth_kbps=bandwidth_kbps, rtt_ms=rtt_ms, passed=passed,
        note=(note or "")[:500])
    audit.record(actor, "live.technical_check", point, unit_path=point.hall.unit.path,
                 after={"passed": passed, "bandwidth_kbps": bandwidth_kbps, "rtt_ms": rtt_ms})
    point = BridgePoint.objects.get(pk=point.pk)
    if point.readiness in (BridgePoint.Readiness.EQUIPPED, BridgePoint.Readiness.CHECKED):
        summary = _("Camera %(c)s, microphone %(m)s, speakers %(s)s, %(b)s kbit/s, %(r)s ms") % {
            "c": "✓" if camera_ok else "✗", "m": "✓" if microphone_ok else "✗",
            "s": "✓" if speakers_ok else "✗", "b": round(bandwidth_kbps or 0), "r": round(rtt_ms or 0)}
        # The operator has no write scope on the point; this module has checked that they run it,
        # and the points module records the result as the system on the operator's behalf.
        points.record_check(SYSTEM, point, passed=passed, note=summary,
                            bandwidth_mbps=round((bandwidth_kbps or 0) / 1000, 1) if bandwidth_kbps else None)
    _publish_on_commit((board_group(point.conference_id), {"type": "live.refresh"}))
    return check


# --- HLS for mass viewers ----------------------------------------------------------------------------
# A link is /live/hls/<conference>/<expires>/<signature>/index.m3u8; the playlist names its segments
# relatively, so they ride on the same signed prefix. The signature is nginx secure_link's md5 form
# (base64url of md5("<expires><prefix> <secret>"), no padding), so a cache checks it without Django:
# see deploy/nginx/hls-secure-link.conf. Expiry is rounded up, so one link serves many viewers (and
# one cache entry) per window.
HLS_PREFIX = "/live/hls/"


def _hls_secret() -> str:
    return getattr(settings, "LIVE_HLS_SECRET", "") or hashlib.sha256(
        f"diemcau-hls:{settings.SECRET_KEY}".encode()).hexdigest()


def hls_signature(conference_id: int, expires: int) -> str:
    """nginx ``secure_link_md5 "$secure_link_expires<prefix> <secret>"`` for one conference's prefix."""
    text = f"{expires}{HLS_PREFIX}{int(conference_id)}/ {_hls_secret()}"
    # md5 because nginx's secure_link speaks nothing else; the secret at the end keys it, the links
    # expire, and what a link opens (one conference's programme) is the same for every invited person.
    digest = hashlib.md5(text.encode()).digest()  # noqa: S324
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hls_path(conference_id: int, expires: int) -> str:
    """The signed folder of the conference's HLS valid until ``expires`` (Unix seconds)."""
    return f"{HLS_PREFIX}{int(conference_id)}/{int(expires)}/{hls_signature(conference_id, expires)}/"


def hls_link_ok(conference_id: int, expires: int, signature: str) -> bool:
    """Whether a link's signature is diemcau's and it has not expired."""
    return expires >= time.time() and hmac.compare_digest(hls_signature(conference_id, expires), signature or "")


def hls_link(actor, conference: Conference) -> str:
    """The programme's HLS playlist for someone invited to the conference (``LIVE_HLS_LINK_MINUTES``)."""
    if not sees_conference(actor, conference):
        raise ScopeError()
    window = 300
    lifetime = int(getattr(settings, "LIVE_HLS_LINK_MINUTES", 120)) * 60
    expires = (int(time.time()) + lifetime + window - 1) // window * window
    return hls_path(conference.pk, expires) + "index.m3u8"


# --- viewers -----------------------------------------------------------------------------------------
def join_as_viewer(actor, conference: Conference, session: Session | None = None) -> tuple[IssuedToken, object]:
    """A person watching alone: a viewer token and, when they are invited, a "video" check-in."""
    from diemcau.attendance import services as attendance

    issued = issue_token(actor, conference, LiveToken.Purpose.VIEWER)
    result = None
    person = Person.objects.filter(user=actor).first()
    session = session or current_session(conference)
    if person is not None and session is not None:
        assignment = Assignment.objects.filter(session=session, institution_id=person.unit_id) \
            .select_related("point").first()
        if assignment is not None:
            client_id = uuid.uuid5(uuid.NAMESPACE_URL, f"diemcau:video:{session.pk}:{person.pk}")
            try:
                result = attendance.check_in(actor, session=session, point=assignment.point, person=person,
                                             method="video", client_id=client_id, device="viewer")
            except DomainError:
                result = None  # watching is allowed even when the check-in is not (e.g. not invited)
    return issued, result


def current_session(conference: Conference) -> Session | None:
    """The session running now, else the next one, else the first."""
    now = timezone.now()
    sessions = list(conference.sessions.order_by("starts_at"))
    for s in sessions:
        if s.starts_at <= now <= s.ends_at:
            return s
    later = [s for s in sessions if s.starts_at > now]
    return later[0] if later else (sessions[0] if sessions else None)
