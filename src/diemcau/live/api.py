"""The live conference over JSON, for kiosks and scripts (mounted at ``/api/live/``).

Requests (session-authenticated; errors ``{code, message}``, out of scope = 404 ``not_found``)
- ``POST /points/{id}/token`` ``{purpose: "kiosk"|"check"}`` → the Janus config: ``{token, root_url,
  watch_url, watch_node, room, main, side, publisher_id (null: a kiosk hears its id over its websocket
  while it has the floor), expires_at, lifetime_s, renew_url}``.
- ``POST /tokens/renew`` header ``X-Live-Token`` → the same config with a new token (the right is
  checked again; the old token works 60 s more); refused: ``bad_token`` (404).
- ``POST /points/{id}/stats`` header ``X-Live-Token`` + ``{phase?, bitrate_in_kbps?, bitrate_out_kbps?,
  loss_pct?, rtt_ms?, fps?, frames_decoded?, freezes?, audio_level?}`` → ``{id}``; refused:
  ``bad_token``, ``token_other_point`` (404), ``too_frequent``, ``bad_report`` (400).
- ``POST /points/{id}/floor`` ``{who}`` → the request; ``already_requested``, ``who_required``.
- ``POST /floor/{id}/withdraw`` (the kiosk), ``/floor/{id}/grant`` ``{source: "point"|"both"}`` and
  ``/floor/{id}/revoke`` (the director; a kiosk gets 404 ``not_found``).
- ``POST /points/{id}/mute`` ``{muted}`` (director). ``POST /conferences/{id}/programme`` ``{source}``.
- ``GET /conferences/{id}/floor`` (the director: every open request; an organiser: their write scope's;
  an operator: their point's; others: none), ``GET /conferences/{id}/board``.
- ``POST /points/{id}/check`` ``{camera_ok, microphone_ok, mic_level, speakers_ok, bandwidth_kbps,
  rtt_ms, note?}`` → ``{id, passed}``.
- ``POST /points/{id}/thumbnail`` header ``X-Live-Token``, body the JPEG (``image/jpeg``, ≤ 64 KB) →
  ``{taken_at}``; refused: ``bad_token``, ``token_other_point`` (404), ``empty``, ``too_big``,
  ``not_jpeg``, ``too_frequent`` (400). Only the latest picture is kept.
- ``GET /conferences/{id}/thumbnails?ids=1,2`` → ``{ages: {point_id: seconds|null}}`` (points in scope).
- ``POST /polls/{id}/vote`` ``{choice, client_id, point_id?}`` → ``{id, poll, choice, point_id, new}`` (a
  retry with the same ``client_id`` answers ``new: false``); a person answers for themself, a point's
  operator for ``point_id``. Also with a kiosk's device token (``Authorization: Bearer dc1_…``, no session):
  for the token's point only, and only a poll asked to the points (else 404 ``not_found``); refused:
  ``poll_closed``, ``bad_choice``, ``already_voted``, ``bad_client_id`` (400), a bad token 401.

Media hosts' agents (``manage.py media_node``; header ``Authorization: Bearer <media node key>``, no session)
- ``POST /nodes/register`` ``{name, role, base_port, private_address, ws_url (public, for browsers),
  http_url, admin_url, api_secret, admin_secret, admin_key, capacity, region}`` → ``{name, state,
  heartbeat_every}``; refused: ``bad_node_name``, ``bad_node_role``, ``bad_address``, ``bad_node_url``,
  ``bad_node_secret``, ``node_name_taken`` (400); a wrong key: 401.
- ``POST /nodes/{name}/heartbeat`` ``{load}`` → the same; ``node_not_registered`` (400).

Every route declares its reply as a schema below (``*Out``), so /api/openapi.json describes them all.
"""

from datetime import UTC, datetime
from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.security import HttpBearer

from diemcau.core.acting import system_scope
from diemcau.core.apiauth import device_or_session
from diemcau.core.errors import ScopeError
from diemcau.events.access import visible_conferences
from diemcau.points.devices import require_device_point
from diemcau.points.models import BridgePoint

from . import (
    access,
    floor,
    health,
    kiosk_modes,
    node_registry,
    polls,
    programme,
    site_board,
    technical_checks,
    thumbs,
    tokens,
)
from .models import FloorRequest, LiveToken, Poll
from .node_agent import HEARTBEAT_EVERY

router = Router(tags=["live"])


def _point(request, pk) -> BridgePoint:
    point = get_object_or_404(BridgePoint.objects.select_related("hall__unit", "conference__host_unit"), pk=pk)
    if not visible_conferences(request.user).filter(pk=point.conference_id).exists():
        raise ScopeError()
    return point


def _conference(request, pk):
    return get_object_or_404(visible_conferences(request.user).select_related("host_unit"), pk=pk)


def _floor(request, pk) -> FloorRequest:
    req = get_object_or_404(FloorRequest.objects.select_related("point__hall__unit", "conference"), pk=pk)
    if not visible_conferences(request.user).filter(pk=req.conference_id).exists():
        raise ScopeError()
    return req


class MediaNodeKey(HttpBearer):
    """A media host's agent: the media node key as a bearer token (no session, no CSRF)."""

    def authenticate(self, request, token):
        return "media-node" if node_registry.key_accepted(token) else None


class NodeIn(Schema):
    name: str = Field(max_length=40)
    role: str = "edge"
    base_port: int = 0
    private_address: str = Field(max_length=64)
    ws_url: str = Field(max_length=200)
    http_url: str = Field(max_length=200)
    admin_url: str = Field(max_length=200)
    api_secret: str = Field(max_length=100)
    admin_secret: str = Field(max_length=100)
    admin_key: str = Field(max_length=100)
    capacity: int = 50
    region: str = Field("", max_length=40)


class HeartbeatIn(Schema):
    load: int = 0


class NodeOut(Schema):
    name: str
    state: str
    heartbeat_every: float


class TokenIn(Schema):
    purpose: str = "kiosk"


class StatsIn(Schema):
    phase: str = ""
    bitrate_in_kbps: float | None = None
    bitrate_out_kbps: float | None = None
    loss_pct: float | None = None
    rtt_ms: float | None = None
    fps: float | None = None
    frames_decoded: int | None = None
    freezes: int | None = None
    audio_level: float | None = None
    mode: str | None = Field(None, description="how the kiosk receives: main, low, hls or audio")


class ModeIn(Schema):
    mode: str = Field(description="auto (the kiosk chooses), main, low, hls or audio")


class ModeOut(Schema):
    mode: str


class FloorIn(Schema):
    who: str = Field("", max_length=200)


class GrantIn(Schema):
    source: str = "point"


class MuteIn(Schema):
    muted: bool = True


class ProgrammeIn(Schema):
    source: str


class TechnicalCheckIn(Schema):
    """A point's technical check (kiểm tra kỹ thuật), as the check page measured it."""

    camera_ok: bool
    microphone_ok: bool
    mic_level: float = 0
    speakers_ok: bool
    bandwidth_kbps: float | None = None
    rtt_ms: float | None = None
    note: str = Field("", max_length=500)


# --- replies --------------------------------------------------------------------------------------
class ErrorOut(Schema):
    """A refusal: the service's stable code and its message (Vietnamese by default)."""

    code: str
    message: str
    details: Any = None


class IceServerOut(Schema):
    """One RTCPeerConnection ``iceServers`` entry: TURN URLs and credentials that end with the token."""

    urls: list[str]
    username: str
    credential: str


class LiveConfigOut(Schema):
    """What a page needs to speak to Janus with a short-lived token (services.IssuedToken.as_config)."""

    token: str
    purpose: str
    root_url: str
    watch_url: str
    watch_node: str
    room: int
    main: int
    side: int
    publisher_id: int | None = Field(None, description="the studio's id; a kiosk hears its own over its websocket")
    expires_at: str
    lifetime_s: int | None
    renew_url: str
    ice_servers: list[IceServerOut] = Field([], description="TURN (UDP, TCP, TLS 443); empty when none is set up")
    renditions: dict[str, int] = Field({}, description="mountpoints of the low and audio-only renditions")
    hls_url: str = Field("", description="the programme's signed HLS playlist (a kiosk's fallback)")
    forced_mode: str = Field("auto", description="the reception mode the point's operator forced")


class StatsOut(Schema):
    id: int


class ThumbnailOut(Schema):
    taken_at: str


class ThumbnailAgesOut(Schema):
    ages: dict[int, int | None] = Field(description="seconds since each point's picture; null: none yet")


class FloorOut(Schema):
    id: int
    point_id: int
    who: str
    state: str
    since: str
    granted_at: str | None


class FloorQueueItemOut(FloorOut):
    point: str
    unit: str


class FloorQueueOut(Schema):
    queue: list[FloorQueueItemOut]


class MuteOut(Schema):
    muted: bool


class ProgrammeOut(Schema):
    """What every point sees: the host studio, a point that has the floor, or both."""

    source: str
    source_label: str
    point_id: int | None
    point_name: str
    speaker: str
    version: int
    changed_at: str | None


class FiguresOut(Schema):
    """A point's last A/V report."""

    bitrate_in_kbps: float
    bitrate_out_kbps: float
    loss_pct: float
    rtt_ms: float | None
    jitter_ms: float | None = None
    fps: float
    frames_decoded: int
    freezes: int
    audio_level: float


class BoardPointOut(Schema):
    id: int
    name: str
    unit: str
    unit_path: str
    group: str
    state: str = Field(description="never, connected, receiving, publishing, floor or lost")
    degraded: bool
    node: str
    node_up: bool
    readiness: str
    gaps: int
    last_report_at: str | None
    figures: FiguresOut | None


class BoardRollupOut(Schema):
    unit: str
    total: int
    live: int
    degraded: int
    lost: int


class BoardAlarmOut(Schema):
    kind: str
    label: str
    where: str
    since: str


class BoardNodeOut(Schema):
    name: str
    role: str
    state: str
    since: str | None


class BoardOut(Schema):
    """The live site board: every point in the caller's scope, rolled up by unit, alarms, nodes."""

    points: list[BoardPointOut]
    rollup: list[BoardRollupOut]
    alarms: list[BoardAlarmOut]
    nodes: list[BoardNodeOut]
    at: str


class PollVoteIn(Schema):
    choice: int
    client_id: str = Field(max_length=64)
    point_id: int | None = None


class PollVoteOut(Schema):
    id: int
    poll: int
    choice: int
    point_id: int | None
    new: bool


class TechnicalCheckOut(Schema):
    id: int
    passed: bool


def _replies(schema) -> dict:
    """A route's replies: ``schema`` on success; a refusal (400) or not found / out of scope (404)."""
    return {200: schema, 400: ErrorOut, 404: ErrorOut}


def _floor_out(req: FloorRequest) -> dict:
    return {"id": req.pk, "point_id": req.point_id, "who": req.who, "state": req.state,
            "since": req.since.isoformat(), "granted_at": req.granted_at.isoformat() if req.granted_at else None}


def _node_out(row) -> dict:
    return {"name": row.name, "state": row.state, "heartbeat_every": HEARTBEAT_EVERY}


@router.post("/nodes/register", auth=MediaNodeKey(), response=_replies(NodeOut))
def register_node(request, body: NodeIn):
    with system_scope("a media host's agent registers its node"):
        return _node_out(node_registry.register_node(body.dict()))


@router.post("/nodes/{name}/heartbeat", auth=MediaNodeKey(), response=_replies(NodeOut))
def node_heartbeat(request, name: str, body: HeartbeatIn):
    with system_scope("a media host's agent sends its heartbeat"):
        return _node_out(node_registry.heartbeat(name, body.load))


@router.post("/points/{point_id}/token", response=_replies(LiveConfigOut))
def token(request, point_id: int, body: TokenIn):
    point = _point(request, point_id)
    if body.purpose not in (LiveToken.Purpose.KIOSK, LiveToken.Purpose.CHECK):
        body.purpose = LiveToken.Purpose.KIOSK
    return tokens.issue_token(request.user, point.conference, body.purpose, point).as_config()


@router.post("/tokens/renew", response=_replies(LiveConfigOut))
def renew_token(request):
    return tokens.renew_token(request.user, request.headers.get("X-Live-Token", "")).as_config()


@router.post("/points/{point_id}/stats", response=_replies(StatsOut))
def stats(request, point_id: int, body: StatsIn):
    point = _point(request, point_id)
    tokens.token_for(request.headers.get("X-Live-Token", ""), user=request.user, point=point,
                     purposes=(LiveToken.Purpose.KIOSK, LiveToken.Purpose.CHECK))
    report = health.ingest_report(request.user, point, body.dict(exclude_none=True))
    return {"id": report.pk}


@router.post("/points/{point_id}/mode", response=_replies(ModeOut))
def force_mode(request, point_id: int, body: ModeIn):
    """The point's operator forces how its kiosk receives the programme (``auto``: the kiosk chooses)."""
    return {"mode": kiosk_modes.force_mode(request.user, _point(request, point_id), body.mode)}


@router.post("/points/{point_id}/thumbnail", response=_replies(ThumbnailOut))
def thumbnail(request, point_id: int):
    point = _point(request, point_id)
    tokens.token_for(request.headers.get("X-Live-Token", ""), user=request.user, point=point,
                     purposes=(LiveToken.Purpose.KIOSK, LiveToken.Purpose.CHECK))
    at = thumbs.store(request.user, point, request.body)
    return {"taken_at": datetime.fromtimestamp(at, tz=UTC).isoformat()}


@router.post("/polls/{poll_id}/vote", auth=device_or_session, response=_replies(PollVoteOut))
def poll_vote(request, poll_id: int, body: PollVoteIn):
    """Answer a poll: a person for themself; a point's operator, or its kiosk's device token, for the point."""
    poll = get_object_or_404(Poll.objects.select_related("conference__host_unit"), pk=poll_id)
    if not visible_conferences(request.user).filter(pk=poll.conference_id).exists():
        raise ScopeError()
    point_id = body.point_id
    if request.device is not None:  # a device answers for its own point, only what is asked to the points
        point_id = request.device.point_id if point_id is None else point_id
        require_device_point(request, point_id)
        if poll.audience != Poll.Audience.POINTS:
            raise ScopeError()
    row, new = polls.vote(request.user, poll, body.choice, body.client_id, point_id=point_id)
    return {"id": row.pk, "poll": poll.pk, "choice": row.choice, "point_id": row.point_id, "new": new}


@router.get("/conferences/{conference_id}/thumbnails", response=_replies(ThumbnailAgesOut))
def thumbnail_ages(request, conference_id: int, ids: str = ""):
    conference = _conference(request, conference_id)
    wanted = [int(x) for x in ids.split(",") if x.strip().isdigit()][:100]
    allowed = access.board_points(request.user, conference).filter(pk__in=wanted).values_list("pk", flat=True)
    return {"ages": thumbs.ages(allowed)}


@router.post("/points/{point_id}/floor", response=_replies(FloorOut))
def floor_request(request, point_id: int, body: FloorIn):
    return _floor_out(floor.request_floor(request.user, _point(request, point_id), body.who))


@router.post("/floor/{request_id}/withdraw", response=_replies(FloorOut))
def floor_withdraw(request, request_id: int):
    return _floor_out(floor.withdraw_floor(request.user, _floor(request, request_id)))


@router.post("/floor/{request_id}/grant", response=_replies(FloorOut))
def floor_grant(request, request_id: int, body: GrantIn):
    return _floor_out(floor.grant_floor(request.user, _floor(request, request_id), source=body.source))


@router.post("/floor/{request_id}/revoke", response=_replies(FloorOut))
def floor_revoke(request, request_id: int):
    return _floor_out(floor.revoke_floor(request.user, _floor(request, request_id)))


@router.post("/points/{point_id}/mute", response=_replies(MuteOut))
def mute(request, point_id: int, body: MuteIn):
    floor.mute_point(request.user, _point(request, point_id), body.muted)
    return {"muted": body.muted}


@router.post("/conferences/{conference_id}/programme", response=_replies(ProgrammeOut))
def set_programme(request, conference_id: int, body: ProgrammeIn):
    prog = programme.set_programme(request.user, _conference(request, conference_id), body.source)
    return programme.programme_state(prog)


@router.get("/conferences/{conference_id}/floor", response=_replies(FloorQueueOut))
def floor_queue(request, conference_id: int):
    return {"queue": floor.floor_queue(request.user, _conference(request, conference_id))}


@router.get("/conferences/{conference_id}/board", response=_replies(BoardOut))
def board(request, conference_id: int):
    return site_board.board(request.user, _conference(request, conference_id))


@router.post("/points/{point_id}/check", response=_replies(TechnicalCheckOut))
def technical_check(request, point_id: int, body: TechnicalCheckIn):
    check = technical_checks.record_technical_check(request.user, _point(request, point_id), **body.dict())
    return {"id": check.pk, "passed": check.passed}
