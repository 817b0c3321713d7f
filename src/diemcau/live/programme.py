"""The programme: what every point sees (the host studio, a point with the floor, or both side by side).

A switch bumps ``Programme.version``; the runtime re-points the forwarders to follow it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, hub
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError
from diemcau.events.access import require_director
from diemcau.events.models import Conference
from diemcau.points.models import BridgePoint

from . import wakeup
from .groups import board_group, director_group, kiosk_group
from .models import FloorRequest, Programme, ProgrammeSwitch


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


def switch_source(actor, prog: Programme, source: str, point: BridgePoint | None, speaker: str):
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
    publish_on_commit((kiosk_group(cid), message), (director_group(cid), message),
                      hub.notice(board_group(cid)))
    wakeup.notify(cid, programme=prog)  # the runtime re-points the forwarders as soon as this commits


@transaction.atomic
def set_programme(actor, conference: Conference, source: str) -> Programme:
    """Choose what every point sees: the host, the point that has the floor, or both side by side."""
    require_director(actor, conference)
    if source not in Programme.Source.values:
        raise DomainError(_("Unknown programme source."), "bad_source")
    # One query when the row exists (the switch's path: every round trip before the commit delays kiosks).
    prog = (Programme.objects.select_for_update().filter(conference=conference).first()
            or Programme.objects.select_for_update().get(pk=programme(conference).pk))
    prog.conference = conference  # the caller's: its host unit is loaded already (the director's check)
    point, speaker = None, ""
    if source != Programme.Source.HOST:
        floor = (FloorRequest.objects.filter(conference=conference, state=FloorRequest.State.GRANTED)
                 .select_related("point").first())
        if floor is None:
            raise DomainError(_("No point has the floor."), "no_floor")
        point, speaker = floor.point, floor.who
    if source == prog.source and point == prog.point:
        return prog
    switch_source(actor, prog, source, point, speaker)
    return prog
