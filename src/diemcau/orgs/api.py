"""The organisation tree over JSON: units and people in the caller's scope."""

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from diemcau.core.vntext import by_name, people_order
from diemcau.orgs.scoping import scope_for

from . import services
from .models import EducationLevel, Unit

router = Router(tags=["orgs"])


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    depth: int
    levels: list[str] = Field(default_factory=list)
    commune: str
    latitude: float | None
    longitude: float | None
    managers_count: int
    teachers_count: int
    staff_count: int

    @staticmethod
    def resolve_levels(obj):
        return EducationLevel.keys(obj.levels)


class UnitCounts(Schema):
    units: int
    institutions: int
    people_total: int
    by_kind: dict[str, int]
    people: dict[str, int]


class PersonOut(Schema):
    id: int
    code: str
    full_name: str
    category: str
    position: str
    unit_id: int


@router.get("/units/", response=list[UnitOut], summary="Search units in scope (diacritics ignored)")
def list_units(request, q: str = "", parent: int | None = None, limit: int = Query(50, ge=1, le=500)):
    if parent is not None:
        unit = get_object_or_404(scope_for(request.user).units(), pk=parent)
        return list(unit.children.order_by(by_name())[:limit])
    if q.strip():
        return list(services.search_units(request.user, q, limit=limit))
    return list(scope_for(request.user).roots().order_by(by_name())[:limit])


@router.get("/units/{unit_id}/", response=UnitOut, summary="One unit")
def get_unit(request, unit_id: int):
    return get_object_or_404(scope_for(request.user).units(), pk=unit_id)


@router.get("/units/{unit_id}/counts/", response=UnitCounts, summary="Units and people below a unit")
def get_counts(request, unit_id: int):
    unit = get_object_or_404(scope_for(request.user).units(), pk=unit_id)
    return services.unit_counts(unit)


@router.get("/units/{unit_id}/people/", response=list[PersonOut], summary="People of a unit's subtree")
def list_people(request, unit_id: int, q: str = "", offset: int = Query(0, ge=0),
                limit: int = Query(100, ge=1, le=1000)):
    unit: Unit = get_object_or_404(scope_for(request.user).units(), pk=unit_id)
    qs = services.search_people(request.user, q, within=unit).order_by("unit__path", *people_order())
    return list(qs[offset : offset + limit])
