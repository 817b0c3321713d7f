"""Viewers who follow the programme without a point: a watch token and the session on now.
"""

from __future__ import annotations

from django.utils import timezone

from diemcau.events.models import Conference, Session

from .models import LiveToken
from .tokens import IssuedToken, issue_token


def join_as_viewer(actor, conference: Conference) -> IssuedToken:
    """A person watching alone: a viewer token (the watch page, in ``site``, adds the "video" check-in)."""
    return issue_token(actor, conference, LiveToken.Purpose.VIEWER)


def current_session(conference: Conference) -> Session | None:
    """The session running now, else the next one, else the first."""
    now = timezone.now()
    sessions = list(conference.sessions.order_by("starts_at"))
    for s in sessions:
        if s.starts_at <= now <= s.ends_at:
            return s
    later = [s for s in sessions if s.starts_at > now]
    return later[0] if later else (sessions[0] if sessions else None)
