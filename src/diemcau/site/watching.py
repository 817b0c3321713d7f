"""Watching alone ("xem trực tiếp"): a person invited to a session who opens the programme on their
own device is checked in by video, once. It joins live (the session running), points (the person's
institution's assignment) and attendance (the check-in), so it lives above all three.
"""

import uuid

from diemcau.attendance import checkin as attendance
from diemcau.core.errors import DomainError
from diemcau.events.models import Conference, Session
from diemcau.live.viewers import current_session
from diemcau.orgs.models import Person
from diemcau.points.models import Assignment


def check_in_by_video(actor, conference: Conference, session: Session | None = None):
    """The "video" check-in of the actor's person in the session (default: the one running), or
    ``None`` when there is none to make: no person, no session, no assignment, or a refusal (watching
    is allowed even when the check-in is not, e.g. outside the window). A repeat is the same check-in."""
    person = Person.objects.filter(user=actor).first()
    session = session or current_session(conference)
    if person is None or session is None:
        return None
    assignment = Assignment.objects.filter(session=session, institution_id=person.unit_id) \
        .select_related("point").first()
    if assignment is None:
        return None
    client_id = uuid.uuid5(uuid.NAMESPACE_URL, f"diemcau:video:{session.pk}:{person.pk}")
    try:
        return attendance.check_in(actor, session=session, point=assignment.point, person=person,
                                   method="video", client_id=client_id, device="viewer")
    except DomainError:
        return None
