"""The demo's conference under way: some people checked in at each point, a floor request waiting.

So that every board (attendance, site board, director's floor queue) has something to show when a
newcomer opens it. Deterministic (client ids from the seed), idempotent (a retry records nothing),
and only while the session takes check-ins: the demo holds its day today (``DIEMCAU_DEMO_DAY``).
"""

import uuid
from dataclasses import dataclass

from django.utils import timezone

from diemcau.attendance import checkin
from diemcau.attendance.models import CheckIn
from diemcau.events.models import Session
from diemcau.live import floor
from diemcau.live.models import FloorRequest
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.models import Assignment, BridgePoint

SHARE_CHECKED_IN = 0.6  # of each point's people, in the order of the roll call
_NAMESPACE = uuid.UUID("6f1d3c52-5a43-4c1e-9d4f-2f6f0b1d7a10")


@dataclass
class InProgress:
    checkins: int = 0
    floor_request: str = ""
    skipped: str = ""


def start(session: Session, share: float = SHARE_CHECKED_IN) -> InProgress:
    """Check in ``share`` of the people at each point of ``session`` and ask for the floor at one point."""
    opens, closes = checkin.check_in_window(session)
    if not opens <= timezone.now() <= closes:
        return InProgress(skipped="the session does not take check-ins now")
    result = InProgress()
    points = list(BridgePoint.objects.filter(pk__in=Assignment.objects.filter(session=session)
                                             .values("point_id")).order_by("pk"))
    for point in points:
        people = list(checkin.people_at_point(session, point).order_by("code").values_list("pk", flat=True))
        chosen = people[: int(len(people) * share)]
        for i in range(0, len(chosen), checkin.MAX_BATCH):
            items = [checkin.CheckInItem(client_id=uuid.uuid5(_NAMESPACE, f"{session.pk}-{pk}"),
                                         session_id=session.pk, point_id=point.pk, person_id=pk,
                                         method=CheckIn.Method.ROLL_CALL, device="demo")
                     for pk in chosen[i:i + checkin.MAX_BATCH]]
            result.checkins += sum(1 for r in checkin.check_in_batch(SYSTEM, items) if r.created)
    result.floor_request = _ask_for_the_floor(points)
    return result


def _ask_for_the_floor(points: list[BridgePoint]) -> str:
    """One point asks for the floor (the first school point without an open request)."""
    candidates = [p for p in points if not p.is_host]
    if not candidates:
        return ""
    if FloorRequest.objects.filter(point__in=candidates, state__in=FloorRequest.OPEN).exists():
        return ""
    point = candidates[len(candidates) // 2]
    who = "Cô Nguyễn Thị Hoa, giáo viên, xin phát biểu về định mức tiết dạy"
    floor.request_floor(SYSTEM, point, who)
    return point.name
