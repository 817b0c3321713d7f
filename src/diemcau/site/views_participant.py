"""The participant's pages on a phone: the home (their day) and their own badge, big enough to scan."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from diemcau.events.shortcuts import visible_session

from . import participant


def participant_home(request):
    """The home of a teacher or a member of staff (:func:`participant.is_participant`): their day."""
    day = participant.participant_day(request.user)
    return render(request, "site/participant/home.html", {
        "day": day, "panel": participant.panel_context(request, day)})


@login_required
def my_badge(request, sid):
    """The person's own badge for a session (a QR the operator scans at the door)."""
    session = visible_session(request, sid)
    assignment, row = participant.badge_for(request.user, session)
    if row is None:
        raise Http404
    return render(request, "site/participant/badge.html", {
        "session": session, "conference": session.conference, "assignment": assignment, "row": row})
