"""What a page of any app needs to fetch a conference or session for the request's user: the object
if it concerns the user, else a 404 with no hint that it exists (as ``django.shortcuts`` does for
any object). The rule itself is :func:`diemcau.events.access.visible_conferences`."""

from django.shortcuts import get_object_or_404

from . import access
from .models import Conference, Session


def visible_conference(request, pk) -> Conference:
    """The conference ``pk`` if it concerns the user; 404 otherwise."""
    return get_object_or_404(access.visible_conferences(request.user), pk=pk)


def visible_session(request, pk) -> Session:
    """The session ``pk`` if its conference concerns the user; 404 otherwise."""
    session = get_object_or_404(Session.objects.select_related("conference__host_unit"), pk=pk)
    visible_conference(request, session.conference_id)
    return session
