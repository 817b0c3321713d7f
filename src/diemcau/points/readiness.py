"""A bridge point's readiness: planned, equipped, checked, live, ended, and the technical check.

The state moves one step forward or back at a time; equipped needs the equipment list complete and
checked needs a passed check.
"""


from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.orgs.services import clean_text

from .access import require_change_point
from .bridge_points import validate_point
from .models import BridgePoint

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
