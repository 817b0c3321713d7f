"""Attendance over JSON: check-ins (one or a batch), headcounts and roll-ups, for kiosks and boards.

Requests
- ``POST /api/attendance/checkins/``: one check-in ``{client_id, session_id, point_id, method,
  person_id | badge, scanned_at?, device?}`` → ``{id, client_id, created, duplicate_person, other_point}``.
- ``POST /api/attendance/checkins/batch/``: ``{items: [...]}``, 1 to 500 items, all or nothing →
  ``{results: [...]}``; a refused batch is 400 ``batch_refused`` with ``details`` =
  ``[{index, client_id, code, message}]``; a badly shaped one is 422 ``invalid``.
- ``POST /api/attendance/headcounts/``: ``{client_id, session_id, point_id, counts: {category: n}}``.
- ``GET /api/attendance/sessions/{session_id}/rollup/{unit_id}/``: the roll-up of a unit's subtree.

Kiosks, scanners and scripts may send ``Authorization: Bearer dc1_…`` (a device token of one point,
``points.devices``) instead of a session and CSRF token on these three routes; an item at another
point is 404 ``not_found``.

Replies to errors carry a stable ``code``; a session, point, person or unit outside the caller's
scope is 404 ``not_found``. Sending the same ``client_id`` again is a no-op (``created: false``).
"""

import datetime
import json
import uuid

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.renderers import JSONRenderer
from pydantic import BaseModel

from diemcau.core.apiauth import device_or_session
from diemcau.events import access as event_access
from diemcau.events.models import Session
from diemcau.orgs.scoping import scope_for
from diemcau.points.devices import require_device_point
from diemcau.points.models import BridgePoint

from . import checkin, headcounts, rollup

router = Router(tags=["attendance"])
_RENDERER = JSONRenderer()  # the API's (``diemcau.api`` keeps ninja's default renderer)


class CheckInIn(BaseModel):
    """One check-in as sent. A plain pydantic model, not a ninja ``Schema``: the schema's per-object
    wrapper (made to read Django objects) cost more than the rest of a batch item's parsing."""

    client_id: uuid.UUID
    session_id: int
    point_id: int
    method: str = "roll_call"
    person_id: int | None = None
    badge: str | None = Field(None, max_length=2000)
    scanned_at: datetime.datetime | None = None
    device: str = Field("", max_length=100)


class CheckInBatch(Schema):
    items: list[CheckInIn] = Field(..., min_length=1, max_length=checkin.MAX_BATCH)


class CheckInOut(Schema):
    id: int
    client_id: uuid.UUID
    created: bool
    person_id: int | None
    point_id: int
    duplicate_person: bool
    other_point: bool


class BatchOut(Schema):
    results: list[CheckInOut]


class HeadcountIn(Schema):
    client_id: uuid.UUID
    session_id: int
    point_id: int
    counts: dict[str, int]
    scanned_at: datetime.datetime | None = None
    device: str = Field("", max_length=100)


class HeadcountOut(Schema):
    total: int
    present_at_point: int


class ChildOut(Schema):
    unit_id: int
    unit: str
    expected: int
    present: int
    percentage: float | None


class ComplianceOut(Schema):
    institution_id: int
    institution: str
    rule: str
    complete: bool
    missing: dict[str, int]
    present: dict[str, int]


class RollupOut(Schema):
    unit_id: int
    unit: str
    session_id: int
    expected: int
    present: int
    percentage: float | None
    by_category: dict[str, int]
    children: list[ChildOut]
    compliance: list[ComplianceOut]


def item(payload: CheckInIn) -> checkin.CheckInItem:
    """The request's item as the service takes it (the one place the schema becomes the dataclass)."""
    return checkin.CheckInItem(client_id=payload.client_id, session_id=payload.session_id,
                               point_id=payload.point_id, method=payload.method, person_id=payload.person_id,
                               badge=payload.badge or "", scanned_at=payload.scanned_at, device=payload.device)


def _out(result: checkin.CheckInResult) -> dict:
    c = result.checkin
    return {"id": c.pk, "client_id": str(c.client_id), "created": result.created, "person_id": c.person_id,
            "point_id": c.point_id, "duplicate_person": c.duplicate_person, "other_point": c.other_point}


def reply_one(result: checkin.CheckInResult) -> bytes:
    """A check-in's reply as JSON, written directly: its shape is the declared response's (``_out``
    gives plain values), so re-validating it per item through the response schema is skipped."""
    return json.dumps(_out(result), separators=(",", ":")).encode()


def reply_batch(results: list[checkin.CheckInResult]) -> bytes:
    return json.dumps({"results": [_out(r) for r in results]}, separators=(",", ":")).encode()


def render_error(data: dict) -> bytes:
    """An error's body as the API's exception handlers render it (``diemcau.api``)."""
    return _RENDERER.render(None, data, response_status=400).encode()


def _reply(content: bytes) -> HttpResponse:
    return HttpResponse(content, content_type="application/json")


@router.post("/checkins/", response=CheckInOut, auth=device_or_session,
             summary="Record one check-in (idempotent by client_id)")
def post_checkin(request, payload: CheckInIn):
    require_device_point(request, payload.point_id)
    return _reply(reply_one(checkin.check_in_one(request.user, item(payload))))


@router.post("/checkins/batch/", response=BatchOut, auth=device_or_session,
             summary="Record up to 500 check-ins, all or nothing")
def post_batch(request, payload: CheckInBatch):
    require_device_point(request, *{i.point_id for i in payload.items})
    return _reply(reply_batch(checkin.check_in_batch(request.user, [item(i) for i in payload.items])))


@router.post("/headcounts/", response=HeadcountOut, auth=device_or_session,
             summary="Record a headcount per category at a point")
def post_headcount(request, payload: HeadcountIn):
    require_device_point(request, payload.point_id)
    session = get_object_or_404(Session, pk=payload.session_id)
    point = get_object_or_404(BridgePoint.objects.select_related("hall__unit"), pk=payload.point_id)
    rows = headcounts.record_headcount(request.user, session=session, point=point,
                                       counts_by_category=payload.counts, client_id=payload.client_id,
                                       scanned_at=payload.scanned_at, device=payload.device)
    return {"total": sum(r.count for r in rows), "present_at_point": rollup.present_at_point(session, point)}


@router.get("/sessions/{session_id}/rollup/{unit_id}/", response=RollupOut,
            summary="Expected and present people below a unit, by category and child unit")
def get_rollup(request, session_id: int, unit_id: int):
    unit = get_object_or_404(scope_for(request.user).units(), pk=unit_id)
    session = get_object_or_404(Session, pk=session_id,
                                conference__in=event_access.visible_conferences(request.user))
    return rollup.rollup(session, unit)
