"""What a page of any app needs to fetch a bridge point of a session for the request's user: the
point if the rule allows, else a 404 with no hint that it exists. The rules themselves are in
:mod:`diemcau.points.access`."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from diemcau.events.models import Session
from diemcau.events.shortcuts import visible_session

from .access import operates_point
from .models import BridgePoint


def session_point(request, sid, pk) -> tuple[Session, BridgePoint]:
    """The session ``sid`` if it concerns the user, and the point ``pk`` of its conference; 404 otherwise."""
    session = visible_session(request, sid)
    point = get_object_or_404(BridgePoint.objects.select_related("hall__unit"), pk=pk,
                              conference_id=session.conference_id)
    return session, point


def operated_point(request, sid, pk) -> tuple[Session, BridgePoint]:
    """:func:`session_point` for the point's operators only."""
    session, point = session_point(request, sid, pk)
    if not operates_point(request.user, point):
        raise Http404
    return session, point
