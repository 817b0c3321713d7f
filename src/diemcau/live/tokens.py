"""Short-lived tokens for Janus: issued for a purpose (watch, publish, the studio), renewed while the
right holds, revoked when it goes.

A token is added to its node's Janus at once; the runtime keeps every node's token list equal to
:func:`valid_tokens` (after a restart too).
"""

from __future__ import annotations

import datetime
import secrets
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, ws_auth
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events.access import can_direct, require_director, sees_conference
from diemcau.events.models import Conference
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

from . import kiosk_modes, renditions
from .hls import hls_link
from .janus_client import STREAMING, VIDEOROOM, JanusError, JanusUnreachable
from .layout import conference_lane, mountpoint, new_publisher_id, room_id
from .models import LiveNode, LiveToken
from .nodes import admin_call, node_for_point
from .turn import turn_credentials


def token_lifetime() -> datetime.timedelta:
    """How long a Janus token lasts (``DIEMCAU_LIVE_TOKEN_MINUTES``); pages renew it before it ends."""
    return datetime.timedelta(minutes=settings.LIVE_TOKEN_MINUTES)


def renew_grace() -> datetime.timedelta:
    """How long a renewed token still works (``DIEMCAU_LIVE_TOKEN_GRACE_SECONDS``)."""
    return datetime.timedelta(seconds=settings.LIVE_TOKEN_GRACE_SECONDS)


# --- tokens ------------------------------------------------------------------------------------------
@dataclass
class IssuedToken:
    token: LiveToken
    root: LiveNode | None
    watch: LiveNode | None

    def as_config(self) -> dict:
        """What a page needs to speak to Janus: the token, the nodes' URLs, the ids."""
        t = self.token
        lane = conference_lane(t.conference_id)  # the conference's mountpoints on the shared nodes
        return {
            "token": t.token,
            "purpose": t.purpose,
            "root_url": self.root.ws_url if self.root else "",
            "watch_url": self.watch.ws_url if self.watch else "",
            "watch_node": self.watch.name if self.watch else "",
            "room": room_id(t.conference_id),
            "main": mountpoint("main", lane),
            "side": mountpoint("side", lane),
            # The studio's own id; a kiosk hears its id over its websocket only while it has the floor.
            "publisher_id": t.publisher_id,
            "expires_at": t.expires_at.isoformat(),
            "lifetime_s": int((t.expires_at - t.issued_at).total_seconds()) if t.issued_at else None,
            "renew_url": "/api/live/tokens/renew",
            # TURN for halls behind NAT or a firewall: credentials that end with the token.
            "ice_servers": turn_servers(t),
            # What a kiosk falls back to on a thin link (kiosk.js), and the mode its operator forced.
            "renditions": renditions.mountpoints(lane) if renditions.enabled() else {},
            "hls_url": _hls_url(t),
            "forced_mode": kiosk_modes.forced_mode(t.point_id) if t.point_id else kiosk_modes.AUTO,
        }


# --- TURN credentials (coturn's `use-auth-secret`, the "TURN REST API" scheme) ---------------------
def _hls_url(token: LiveToken) -> str:
    """The programme's signed HLS playlist for the token's holder ('' if they may not have it)."""
    try:
        return hls_link(token.user, token.conference)
    except ScopeError:
        return ""


def turn_servers(token: LiveToken) -> list[dict]:
    """RTCPeerConnection ``iceServers`` for a token's holder: TURN over UDP, TCP and TLS (443).

    The credentials expire with the token (``LIVE_TURN_URLS`` empty: none offered). The holder is the
    bridge point (a kiosk, a check) or the person, so coturn's log says who relayed.
    """
    urls = list(settings.LIVE_TURN_URLS)
    if not urls or not settings.LIVE_TURN_SECRET:
        return []
    holder = f"point-{token.point_id}" if token.point_id else f"user-{token.user_id}"
    username, credential = turn_credentials(settings.LIVE_TURN_SECRET, int(token.expires_at.timestamp()), holder)
    return [{"urls": urls, "username": username, "credential": credential}]


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
                admin_call(node, "add_token", token.token, plugins)
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


def current_token(token: str, *, user, point: BridgePoint, purposes) -> str | None:
    """The token a page that opened with ``token`` holds now, or ``None`` once it is revoked.

    ``token`` itself while it is valid; once it expired, the newest valid token the page renewed it to
    (same person, point and purpose, issued later). A revoked token has no successor.
    """
    row = LiveToken.objects.filter(token=token or "").first()
    if (row is None or row.revoked_at is not None or row.user_id != getattr(user, "pk", None)
            or row.point_id != point.pk or row.purpose not in purposes):
        return None
    now = timezone.now()
    if row.expires_at > now:
        return row.token
    newer = (LiveToken.objects.filter(user_id=row.user_id, point_id=row.point_id, purpose=row.purpose,
                                      revoked_at__isnull=True, expires_at__gt=now, issued_at__gt=row.issued_at)
             .order_by("-issued_at").values_list("token", flat=True).first())
    return newer


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
        # The holder's websockets check their token again: the one opened on it closes (4401).
        ws_auth.publish_revoked(ws_auth.user_key(token.user_id), recheck=True)
    for node in LiveNode.objects.filter(name__in=token.nodes, state=LiveNode.State.UP):
        try:
            admin_call(node, "remove_token", token.token)
        except (JanusError, JanusUnreachable, OSError):
            pass
    return token
