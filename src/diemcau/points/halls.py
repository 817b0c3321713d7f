"""Halls (hội trường): the rooms a unit offers, their place and capacity.

Changes take the acting user first, check their write scope, validate, write in one transaction
and append an audit entry.
"""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.edits import set_fields
from diemcau.core.errors import DomainError
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import require_scope
from diemcau.orgs.services import clean_text

from .models import Assignment, BridgePoint, Hall

R = BridgePoint.Readiness

HALL_FIELDS = ["name", "address", "latitude", "longitude", "capacity", "is_active"]


def whole_number(value) -> str:
    """A whole number in the language's format (formats/vi: 3.200)."""
    return number_format(int(value), force_grouping=True)


# --- halls ------------------------------------------------------------------------------------
def _clean_decimal(value, label, low, high):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).replace(",", "."))
    except InvalidOperation as exc:
        raise DomainError(_("%(field)s must be a number.") % {"field": label}, "bad_number") from exc
    if not low <= number <= high:
        raise DomainError(_("%(field)s must lie between %(low)s and %(high)s.")
                          % {"field": label, "low": low, "high": high}, "bad_coordinates")
    return number.quantize(Decimal("0.000001"))


def _validate_hall(hall: Hall):
    hall.name = clean_text(hall.name, _("Hall name"), required=True, max_length=200)
    hall.address = clean_text(hall.address, _("Address"), max_length=300)
    hall.latitude = _clean_decimal(hall.latitude, _("Latitude"), -90, 90)
    hall.longitude = _clean_decimal(hall.longitude, _("Longitude"), -180, 180)
    try:
        hall.capacity = int(hall.capacity)
    except (TypeError, ValueError) as exc:
        raise DomainError(_("Seats must be a whole number."), "bad_capacity") from exc
    if hall.capacity < 0:
        raise DomainError(_("Seats must be a whole number."), "bad_capacity")
    if Hall.objects.filter(unit=hall.unit, name=hall.name).exclude(pk=hall.pk).exists():
        raise DomainError(_("%(unit)s already has a hall named %(name)s.")
                          % {"unit": hall.unit.name, "name": hall.name}, "duplicate_hall")


@transaction.atomic
def create_hall(actor, unit: Unit, *, name: str, capacity: int, address: str = "",
                latitude=None, longitude=None) -> Hall:
    """Record a hall that ``unit`` owns; it is offered for every later conference."""
    require_scope(actor, unit, "write")
    hall = Hall(unit=unit, name=name, capacity=capacity, address=address, latitude=latitude, longitude=longitude)
    _validate_hall(hall)
    hall.save()
    audit.record(actor, "hall.created", hall, unit_path=unit.path, after=audit.snapshot(hall, HALL_FIELDS))
    return hall


@transaction.atomic
def update_hall(actor, hall: Hall, **fields) -> Hall:
    """Change a hall; fewer seats than a current point there already uses are refused."""
    hall = Hall.objects.select_for_update().select_related("unit").get(pk=hall.pk)
    require_scope(actor, hall.unit, "write")
    before = audit.snapshot(hall, HALL_FIELDS)
    set_fields(hall, fields, HALL_FIELDS)
    _validate_hall(hall)
    busiest = (Assignment.objects.filter(point__hall=hall, point__readiness__in=[R.PLANNED, R.EQUIPPED,
                                                                                 R.CHECKED, R.LIVE])
               .values("session", "point").annotate(seats=Sum("seats")).order_by("-seats").first())
    if busiest and busiest["seats"] > hall.capacity:
        raise DomainError(
            _("%(n)s people are already assigned to this hall for one session; it cannot have fewer seats.")
            % {"n": whole_number(busiest["seats"])},
            "capacity_below_assigned",
        )
    hall.save()
    audit.record_changes(actor, "hall.updated", hall, before, HALL_FIELDS, unit_path=hall.unit.path)
    return hall
