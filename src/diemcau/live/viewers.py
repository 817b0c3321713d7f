"""Viewers who follow the programme without a point: a watch token and the session on now.
"""

from __future__ import annotations

import uuid

from django.utils import timezone

from diemcau.core.errors import DomainError
from diemcau.events.models import Conference, Session
from diemcau.orgs.models import Person
from diemcau.points.models import Assignment

from .models import LiveToken
from .tokens import IssuedToken, issue_token


# --- viewers -----------------------------------------------------------------------------------------
def join_as_viewer(actor, conference: Conference, session: Session | None = None) -> tuple[IssuedToken, object]:
    """A person watching alone: a viewer token and, when they are invited, a "video" check-in."""
    from diemcau.attendance import checkin as attendance

    issued = issue_token(actor, conference, LiveToken.Purpose.VIEWER)
    result = None
    person = Person.objects.filter(user=actor).first()
    session = session or current_session(conference)
    if person is not None and session is not None:
        assignment = Assignment.objects.filter(session=session, institution_id=person.unit_id) \
            .select_related("point").first()
        if assignment is not None:
            client_id = uuid.uuid5(uuid.NAMESPACE_URL, f"diemcau:video:{session.pk}:{person.pk}")
            try:
                result = attendance.check_in(actor, session=session, point=assignment.point, person=person,
                                             method="video", client_id=client_id, device="viewer")
            except DomainError:
                result = None  # watching is allowed even when the check-in is not (e.g. not invited)
    return issued, result


def current_session(conference: Conference) -> Session | None:
    """The session running now, else the next one, else the first."""
    now = timezone.now()
    sessions = list(conference.sessions.order_by("starts_at"))
    for s in sessions:
        if s.starts_at <= now <= s.ends_at:
            return s
    later = [s for s in sessions if s.starts_at > now]
    return later[0] if later else (sessions[0] if sessions else None)
