"""Headcounts (đếm số người): how many people of each category are in a hall that does not name them.

A headcount is one row per category, appended like any check-in and written by the same
:func:`checkin.apply`; the latest headcount at a point supersedes the earlier ones in the
roll-ups (both are kept).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core.errors import DomainError, ScopeError
from diemcau.events.models import Session
from diemcau.points.access import operates_point
from diemcau.points.models import BridgePoint

from .checkin import Outcome, Plan, apply, check_point, client_uuid, derived_uuid, require_window, scan_time
from .delegations import CATEGORIES
from .models import CheckIn
from .rollup import expected_at_point


def _clean_counts(counts_by_category) -> dict[str, int]:
    counts = {}
    for key, value in (counts_by_category or {}).items():
        if key not in CATEGORIES:
            raise DomainError(_("Unknown category: %(key)s.") % {"key": key}, "invalid_category")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DomainError(_("A count must be a whole number, zero or more."), "invalid_count")
        counts[key] = value
    if not sum(counts.values()):
        raise DomainError(_("The headcount is empty."), "empty_headcount")
    return counts


@transaction.atomic
def record_headcount(actor, *, session: Session, point: BridgePoint, counts_by_category: dict, client_id,
                     scanned_at=None, device: str = "") -> list[CheckIn]:
    """Record how many people of each category are in the hall, for points that do not name them.

    A later headcount at the same point supersedes the earlier one (both rows are kept); a retry
    with the same ``client_id`` changes nothing.
    """
    now = timezone.now()
    client_id = client_uuid(client_id)
    if not operates_point(actor, point):
        raise ScopeError(_("You may not record check-ins at this bridge point."), "point_out_of_scope")
    check_point(session, point)
    counts = _clean_counts(counts_by_category)
    total = sum(counts.values())
    point = BridgePoint.objects.select_for_update().select_related("hall").get(pk=point.pk)
    # A retry is answered before the limits: the hall may have changed since the first attempt.
    ids = {c: derived_uuid(client_id, c) for c in CATEGORIES}
    existing = list(CheckIn.objects.filter(session=session, client_id__in=ids.values()))
    if existing:
        if any(r.point_id != point.pk or r.count != counts.get(r.category, 0) for r in existing):
            raise DomainError(_("This client id was already used for another check-in."), "client_id_reused")
        return existing
    require_window(session, now)
    scan = scan_time(scanned_at, now, session)
    if point.hall.capacity and total > point.hall.capacity:
        raise DomainError(_("A headcount of %(n)s is more than the hall's %(cap)s seats.") % {
            "n": total, "cap": point.hall.capacity}, "over_capacity")
    expected = expected_at_point(session, point)
    if expected and total > expected:
        raise DomainError(_("A headcount of %(n)s is more than the %(exp)s expected at this point.") % {
            "n": total, "exp": expected}, "over_delegation")
    rows = [CheckIn(session=session, point=point, method=CheckIn.Method.HEADCOUNT, category=c,
                    count=counts.get(c, 0), device=(device or "")[:100], scanned_at=scan.at, received_at=now,
                    client_id=ids[c], scan_time_clamped=scan.clamped, claimed_scanned_at=scan.claimed,
                    recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
            for c in CATEGORIES]
    plan = Plan(actor, [Outcome(None, row, created=True) for row in rows])
    return [result.checkin for result in apply(plan)]
