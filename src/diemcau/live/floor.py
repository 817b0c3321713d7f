"""The floor: points ask to speak, the director grants, revokes or mutes; the queue and who may publish.

Only a granted request's random publisher id (or the studio's) is forwarded by the root
(:func:`granted_publishers`).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, hub
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError
from diemcau.events.access import can_direct, require_director
from diemcau.events.models import Conference
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

from .access import kiosk_points
from .groups import board_group, director_group, kiosk_group, point_group
from .layout import new_publisher_id
from .models import FloorEvent, FloorRequest, LiveToken, Programme
from .programme import programme, switch_source


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
    publish_on_commit((director_group(cid), msg), (point_group(request.point_id), msg),
                      (kiosk_group(cid), {"type": "live.floor_info"}), hub.notice(board_group(cid)))


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
            switch_source(actor, prog, Programme.Source.HOST, None, "")
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
    switch_source(actor, prog, source, request.point, request.who)
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
    publish_on_commit((point_group(point.pk), {"type": "live.mute", "muted": muted}))
