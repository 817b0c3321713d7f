"""A bridge point's readiness: planned, equipped, checked, live, ended, and the technical check.

The state moves one step forward or back at a time; equipped needs the equipment list complete and
checked needs a passed check. The readiness board (:func:`board`) lists each point with its rehearsal
slots, its technical check's deadline and its alarms.
"""


from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.orgs.services import clean_text

from .access import points_in_scope, require_change_point
from .bridge_points import validate_point
from .models import BridgePoint, RehearsalSlot
from .rehearsals import check_deadline, first_starts

R = BridgePoint.Readiness
FORWARD = {R.PLANNED: R.EQUIPPED, R.EQUIPPED: R.CHECKED, R.CHECKED: R.LIVE, R.LIVE: R.ENDED}
BACKWARD = {R.EQUIPPED: R.PLANNED, R.CHECKED: R.EQUIPPED}


@transaction.atomic
def set_readiness(actor, point: BridgePoint, state: str) -> BridgePoint:
    """Move a point one step along planned → equipped → checked → live → ended (or one step back)."""
    point = BridgePoint.objects.select_for_update().select_related("hall__unit").get(pk=point.pk)
    require_change_point(actor, point)
    if state not in R.values:
        raise DomainError(_("Unknown readiness: %(s)s.") % {"s": state}, "bad_readiness")
    current = point.readiness
    if state == current:
        return point
    if state not in (FORWARD.get(current), BACKWARD.get(current)):
        raise DomainError(
            _("A point cannot go from “%(from)s” to “%(to)s”.")
            % {"from": R(current).label, "to": R(state).label},
            "bad_transition",
        )
    if state == R.EQUIPPED and not point.equipment_complete:
        missing = [str(label) for label, ok in point.equipment_list() if not ok]
        if not point.bandwidth_mbps:
            missing.append(_("measured bandwidth"))
        raise DomainError(_("The equipment checklist is incomplete: %(missing)s.")
                          % {"missing": ", ".join(missing)}, "equipment_incomplete")
    if state == R.CHECKED and point.check_result != BridgePoint.CheckResult.PASSED:
        raise DomainError(_("The point has not passed its technical check."), "check_not_passed")
    point.readiness = state
    point.save(update_fields=["readiness", "updated_at"])
    audit.record(actor, "point.readiness", point, unit_path=point.hall.unit.path,
                 before={"readiness": current}, after={"readiness": state})
    return point


@transaction.atomic
def record_check(actor, point: BridgePoint, *, passed: bool, note: str = "", bandwidth_mbps=None) -> BridgePoint:
    """Store a technical check's result: passing makes an equipped point checked, failing undoes it."""
    point = BridgePoint.objects.select_for_update().select_related("hall__unit").get(pk=point.pk)
    require_change_point(actor, point)
    if point.readiness not in (R.EQUIPPED, R.CHECKED):
        raise DomainError(_("Only an equipped point can be checked."), "not_equipped")
    before = audit.snapshot(point, ["readiness", "check_result", "check_note", "bandwidth_mbps"])
    point.check_result = BridgePoint.CheckResult.PASSED if passed else BridgePoint.CheckResult.FAILED
    point.check_note = clean_text(note, _("Check note"), max_length=500)
    point.checked_at = timezone.now()
    if bandwidth_mbps not in (None, ""):
        point.bandwidth_mbps = bandwidth_mbps
        validate_point(point)
    point.readiness = R.CHECKED if passed else R.EQUIPPED
    point.save()
    b, a = audit.changed(before, audit.snapshot(point, ["readiness", "check_result", "check_note",
                                                        "bandwidth_mbps"]))
    audit.record(actor, "point.checked", point, unit_path=point.hall.unit.path, before=b, after=a)
    return point


# --- the readiness board ----------------------------------------------------------------------
ALARMS = {
    "overdue": _lazy("Technical check overdue"),
    "not_checked": _lazy("Not checked yet"),
    "no_contact": _lazy("No technical contact"),
    "no_equipment": _lazy("Equipment incomplete"),
}


def _alarms(point: BridgePoint, deadline, now) -> list[str]:
    found = []
    if point.check_result != BridgePoint.CheckResult.PASSED:
        found.append("overdue" if deadline is not None and now >= deadline else "not_checked")
    if not point.has_contact:
        found.append("no_contact")
    if not point.equipment_complete:
        found.append("no_equipment")
    return found


def board(user, conference, within=None, now=None) -> dict:
    """The readiness board: each point in the user's subtrees with its rehearsal, deadline and alarms.

    Alarms: the technical check not passed (overdue once its deadline has passed), no technical
    contact, the equipment list incomplete. Rows with alarms come first.
    """
    now = now or timezone.now()
    points = list(points_in_scope(user, conference, within=within).order_by("hall__unit__path", "name"))
    starts = first_starts(points)
    slots = {}
    for slot in RehearsalSlot.objects.filter(point__in=points).order_by("starts_at"):
        slots.setdefault(slot.point_id, []).append(slot)
    rows = []
    for p in points:
        deadline = check_deadline(starts.get(p.pk))
        codes = _alarms(p, deadline, now)
        rows.append({"point": p, "deadline": deadline, "slots": slots.get(p.pk, []),
                     "alarms": [(code, ALARMS[code]) for code in codes]})
    rows.sort(key=lambda r: (not r["alarms"], r["point"].hall.unit.path, r["point"].name))
    counts = {code: sum(1 for r in rows if any(c == code for c, _l in r["alarms"])) for code in ALARMS}
    return {"rows": rows, "counts": [(code, label, counts[code]) for code, label in ALARMS.items()],
            "points": len(rows), "ready": sum(1 for r in rows if not r["alarms"]),
            "no_rehearsal": sum(1 for r in rows if not r["slots"]),
            "deadline_minutes": settings.TECHNICAL_CHECK_DEADLINE_MINUTES}
