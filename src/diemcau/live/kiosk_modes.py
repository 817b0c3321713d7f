"""How a kiosk receives the programme: WebRTC main, the low rendition, HLS or audio only.

A kiosk picks its mode itself from its measured figures (``kiosk.js``: main → low → HLS → audio-only,
after a reconnection and an ICE restart), unless the point's operator forces one. The forced mode is
kept in the audit log (``live.kiosk_mode_forced``, its ``after`` says the mode: the durable record,
no table of its own) and read through the cache; the mode a kiosk is in arrives with its A/V report
(``mode``) and is kept in the cache as long as reports come (the site board shows it).
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core import audit, hub
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

from .groups import board_group

AUTO = "auto"
MODES = ("main", "low", "hls", "audio")  # best first: the order a kiosk falls back in
MODE_LABELS = {"auto": gettext_lazy("Automatic"), "main": gettext_lazy("WebRTC"),
               "low": gettext_lazy("Low (360p)"), "hls": gettext_lazy("HLS"), "audio": gettext_lazy("Audio only")}
FORCED_ACTION = "live.kiosk_mode_forced"
REPORTED_FOR = 30  # seconds a reported mode stays on the board without a new report (kiosks report every 5 s)


def _forced_key(point_id: int) -> str:
    return f"live:kiosk-mode:forced:{int(point_id)}"


def _reported_key(point_id: int) -> str:
    return f"live:kiosk-mode:reported:{int(point_id)}"


def forced_mode(point_id: int) -> str:
    """The mode the point's operator forced, or ``"auto"`` (the kiosk chooses)."""
    def from_audit():
        entry = (AuditEntry.objects.filter(action=FORCED_ACTION, object_type="points.bridgepoint",
                                           object_id=str(int(point_id))).order_by("-pk").only("after").first())
        mode = (entry.after or {}).get("mode") if entry else None
        return mode if mode in MODES else AUTO

    return cache.get_or_set(_forced_key(point_id), from_audit, 3600)


def force_mode(actor, point: BridgePoint, mode: str) -> str:
    """Force the point's kiosk into ``mode`` (``"auto"`` lets it choose again); audited, on the board."""
    require_operator(actor, point)
    if mode != AUTO and mode not in MODES:
        raise DomainError(_("Unknown reception mode."), "bad_mode")
    before = forced_mode(point.pk)
    with transaction.atomic():
        audit.record(actor, FORCED_ACTION, object_type="points.bridgepoint", object_id=point.pk,
                     object_repr=point.name[:300], unit_path=point.hall.unit.path,
                     before={"mode": before}, after={"mode": mode})
        publish_on_commit(hub.notice(board_group(point.conference_id)))
    cache.set(_forced_key(point.pk), mode, 3600)  # written: the audit entry is the record, this its copy
    return mode


def report_mode(point: BridgePoint, mode) -> None:
    """Keep the mode a kiosk says it is in (from its A/V report; anything else is ignored)."""
    if mode in MODES:
        cache.set(_reported_key(point.pk), mode, REPORTED_FOR)


def board_modes(point_ids: list[int]) -> dict[int, dict]:
    """Each point's reported mode and whether it was forced, for the site board (one cache round trip)."""
    keys = {_reported_key(pk): pk for pk in point_ids} | {_forced_key(pk): pk for pk in point_ids}
    found = cache.get_many(list(keys))
    out = {}
    for pk in point_ids:
        mode = found.get(_reported_key(pk), "")
        forced = found.get(_forced_key(pk), AUTO)
        out[pk] = {"mode": mode, "label": str(MODE_LABELS.get(mode, "")) if mode else "",
                   "forced": forced != AUTO}
    return out
