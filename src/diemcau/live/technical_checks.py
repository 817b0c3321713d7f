"""A point's technical check before the conference: camera, microphone, bandwidth and round trip.
"""

from __future__ import annotations

import math

from django.db import transaction
from django.utils.translation import gettext as _

from diemcau.core import audit, hub
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import readiness
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

from .groups import board_group
from .models import TechnicalCheck

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
        readiness.record_check(SYSTEM, point, passed=passed, note=summary,
                            bandwidth_mbps=round((bandwidth_kbps or 0) / 1000, 1) if bandwidth_kbps else None)
    publish_on_commit(hub.notice(board_group(point.conference_id)))
    return check
