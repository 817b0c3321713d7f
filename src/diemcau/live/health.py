"""A/V health of the points' kiosks: their reports, connection phases and the state each point is in.

Kiosks report every few seconds; a report too soon after the last is refused, one missing for
``LOST_AFTER`` seconds makes the point lost. Health changes are published to the site board.
"""

from __future__ import annotations

import math

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import hub
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

from . import kiosk_modes
from .groups import board_group
from .models import AVReport, LiveAlarm, PointLiveState

# --- A/V health -------------------------------------------------------------------------------------
MIN_REPORT_INTERVAL = 2.0     # seconds between two accepted reports of one point (kiosks send every 5 s)
LOST_AFTER = 15.0             # no report for this long: the point is lost
DEGRADED_LOSS_PCT = 5.0
DEGRADED_RTT_MS = 500.0
DEGRADED_FPS = 8.0


# --- A/V reports and the site board ------------------------------------------------------------------
REPORT_FIELDS = {
    "bitrate_in_kbps": (0, 1_000_000), "bitrate_out_kbps": (0, 1_000_000), "loss_pct": (0, 100),
    "rtt_ms": (0, 600_000), "fps": (0, 240), "frames_decoded": (0, 10**12), "freezes": (0, 10**9),
    "audio_level": (0, 1), "jitter_ms": (0, 600_000),
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
        report = _store_report(point, clean)
        kiosk_modes.report_mode(point, data.get("mode"))  # how it receives (main, low, HLS, audio)
        return report
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
    publish_on_commit(hub.notice(board_group(point.conference_id)))
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
    publish_on_commit(hub.notice(board_group(point.conference_id)))
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
    publish_on_commit(hub.notice(board_group(point.conference_id)))
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
