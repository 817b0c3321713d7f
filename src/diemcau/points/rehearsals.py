"""Rehearsals (chạy thử) of bridge points before the day, and the technical check's deadline.

An organiser books slots for the points of their subtree, one by one or spread evenly over a
window; a slot lies before the conference's day and never overlaps another slot of its point. A
point's technical check is due ``TECHNICAL_CHECK_DEADLINE_MINUTES`` before its first session.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, vntext
from diemcau.core.errors import DomainError
from diemcau.events.models import Conference
from diemcau.orgs.models import Unit
from diemcau.orgs.services import clean_text

from .access import points_in_scope, require_change_point
from .models import BridgePoint, RehearsalSlot

SHORTEST_SLOT = datetime.timedelta(minutes=5)


def check_deadline(first_start: datetime.datetime | None) -> datetime.datetime | None:
    """When a point's technical check is due, given its first session's start (None: no session)."""
    if first_start is None:
        return None
    return first_start - datetime.timedelta(minutes=settings.TECHNICAL_CHECK_DEADLINE_MINUTES)


def first_starts(points) -> dict[int, datetime.datetime]:
    """Each point's first session start, in one query."""
    rows = (BridgePoint.objects.filter(pk__in=[p.pk for p in points]).annotate(first=Min("sessions__starts_at"))
            .values_list("pk", "first"))
    return {pk: first for pk, first in rows if first is not None}


def _validate(point: BridgePoint, starts_at, ends_at, exclude=None):
    if ends_at <= starts_at or ends_at - starts_at < SHORTEST_SLOT:
        raise DomainError(_("A rehearsal ends at least 5 minutes after it starts."), "bad_slot_window")
    if timezone.localtime(ends_at).date() >= point.conference.date:
        raise DomainError(_("A rehearsal takes place before the conference's day (%(day)s).")
                          % {"day": point.conference.date.strftime("%d/%m/%Y")}, "slot_not_before_day")
    clash = RehearsalSlot.objects.filter(point=point, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise DomainError(_("The point %(point)s already has a rehearsal at that time.") % {"point": point.name},
                          "slot_overlap")


@transaction.atomic
def create_slot(actor, point: BridgePoint, *, starts_at, ends_at, note: str = "") -> RehearsalSlot:
    """Book one rehearsal slot for ``point``."""
    point = BridgePoint.objects.select_for_update().select_related("hall__unit", "conference").get(pk=point.pk)
    require_change_point(actor, point)
    _validate(point, starts_at, ends_at)
    slot = RehearsalSlot.objects.create(
        point=point, starts_at=starts_at, ends_at=ends_at,
        note=clean_text(note, _("Note"), max_length=300, kind=vntext.MULTILINE),
        created_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(actor, "point.rehearsal_booked", slot, unit_path=point.hall.unit.path,
                 after={"point": point.pk, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    return slot


@transaction.atomic
def delete_slot(actor, slot: RehearsalSlot) -> None:
    point = slot.point
    require_change_point(actor, point)
    audit.record(actor, "point.rehearsal_cancelled", slot, unit_path=point.hall.unit.path,
                 before={"point": point.pk, "starts_at": slot.starts_at.isoformat()})
    slot.delete()


@transaction.atomic
def generate_slots(actor, conference: Conference, unit: Unit, *, starts_at, ends_at,
                   minutes: int = 30) -> list[RehearsalSlot]:
    """Spread one slot per point without one, in ``unit``'s subtree, evenly over the window.

    Each point gets ``minutes`` (less when the window is too short for all of them, never under 5).
    """
    points = list(points_in_scope(actor, conference, "write", within=unit).filter(rehearsals__isnull=True)
                  .select_related("conference").order_by("hall__unit__path", "name"))
    if not points:
        raise DomainError(_("Every point here already has a rehearsal slot."), "nothing_to_schedule")
    step = (ends_at - starts_at) / len(points)
    length = min(datetime.timedelta(minutes=minutes), step)
    if length < SHORTEST_SLOT:
        raise DomainError(_("The window is too short: %(n)d points need at least 5 minutes each.")
                          % {"n": len(points)}, "window_too_short")
    slots = []
    for i, point in enumerate(points):
        start = starts_at + i * step
        _validate(point, start, start + length)
        slots.append(RehearsalSlot(point=point, starts_at=start, ends_at=start + length,
                                   created_by=actor if getattr(actor, "is_authenticated", False) else None))
    RehearsalSlot.objects.bulk_create(slots)
    audit.record(actor, "point.rehearsals_generated", unit, unit_path=unit.path,
                 after={"conference": conference.pk, "slots": len(slots), "starts_at": starts_at.isoformat(),
                        "ends_at": ends_at.isoformat(), "minutes": int(length.total_seconds() // 60)})
    return slots


def slots_in_scope(user, conference: Conference, within: Unit | None = None):
    """The rehearsal slots of the points the user sees in their subtrees (below ``within``)."""
    points = points_in_scope(user, conference, within=within)
    return (RehearsalSlot.objects.filter(point__in=points).select_related("point__hall__unit")
            .order_by("starts_at", "point__name"))
