"""A participant's day (giáo viên, nhân viên on their phone): which session, where, when, what to
bring, their badge, their delegation, and the conference's questions to vote on.

It joins events (sessions), points (the assignment and the hall), attendance (badge, delegation,
check-in) and voice (items to vote on), so it lives in ``site``. The home page calls
:func:`is_participant` and :func:`participant_day`; the panels other parts add to the home page
(live polls, answers to one's questions) take :func:`panel_context` as their context.
"""

from __future__ import annotations

import datetime
import urllib.parse
from dataclasses import dataclass, field

from django.utils import timezone

from diemcau.attendance import badges
from diemcau.attendance.checkin import check_in_window
from diemcau.attendance.models import CheckIn, Delegation
from diemcau.events.access import visible_conferences
from diemcau.events.models import Conference, Session
from diemcau.live import polls
from diemcau.orgs.models import Person, Role
from diemcau.orgs.scoping import scope_for
from diemcau.points.models import Assignment
from diemcau.voice import answers
from diemcau.voice.access import visible_opinions

# Roles that keep the organiser's home: they run things, the participant's page would hide them.
RUNNING_ROLES = tuple(r for r in Role.values if r != Role.PARTICIPANT)
VOTE_ITEMS = 5
# Be in the hall this long before the session starts (the roll call takes a while at the door).
ARRIVE_MINUTES = 15


def person_of(user) -> Person | None:
    """The person an account stands for (active), with their unit."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.filter(user=user, is_active=True).select_related("unit").first()


def is_participant(user) -> bool:
    """True for an account that is a person of a unit and runs nothing (no organiser, operator,
    principal, director, moderator or analyst role): they get the participant's home."""
    return person_of(user) is not None and not scope_for(user).has_role(*RUNNING_ROLES)


def directions_link(address: str) -> str:
    """A ``geo:`` search for the hall's address: the phone's own maps app opens it (no tiles of ours)."""
    return "geo:0,0?q=" + urllib.parse.quote(address)


def maps_search_link(address: str) -> str:
    """The same search on the web, for a phone without a maps app."""
    return "https://www.openstreetmap.org/search?query=" + urllib.parse.quote(address)


@dataclass
class Delegate:
    """The person's delegation to one session: its rule, who is named, whether they are."""

    rule: str
    rule_label: str
    members: list[str]
    named: bool


@dataclass
class DaySession:
    """One session the person's institution is assigned to, and everything to get there."""

    session: Session
    assignment: Assignment
    opens_at: datetime.datetime
    arrive_by: datetime.datetime
    checked_in_at: datetime.datetime | None
    delegation: Delegate | None
    running: bool
    directions: str = ""
    maps: str = ""

    @property
    def point(self):
        return self.assignment.point

    @property
    def hall(self):
        return self.assignment.point.hall


@dataclass
class ParticipantDay:
    """What the participant's home shows."""

    person: Person
    conference: Conference | None = None
    sessions: list[DaySession] = field(default_factory=list)
    is_today: bool = False
    vote_items: list = field(default_factory=list)
    voted: set[int] = field(default_factory=set)


def _delegation(session: Session, person: Person) -> Delegate | None:
    delegation = Delegation.objects.filter(session=session, institution_id=person.unit_id).first()
    if delegation is None:
        return None
    members = list(delegation.members.select_related("person").order_by("person__name_search")
                   .values_list("person__full_name", "person_id"))
    named = delegation.rule == Delegation.Rule.ALL_STAFF or any(pid == person.pk for _name, pid in members)
    return Delegate(rule=delegation.rule, rule_label=delegation.get_rule_display(),
                    members=[name for name, _pid in members], named=named)


def _day_session(assignment: Assignment, person: Person, now) -> DaySession:
    session = assignment.session
    opens, _closes = check_in_window(session)
    checkin = CheckIn.objects.filter(session=session, person=person).order_by("scanned_at").first()
    address = assignment.point.hall.address.strip()
    day = DaySession(
        session=session, assignment=assignment, opens_at=opens,
        arrive_by=session.starts_at - datetime.timedelta(minutes=ARRIVE_MINUTES),
        checked_in_at=checkin.scanned_at if checkin else None, delegation=_delegation(session, person),
        running=session.starts_at <= now <= session.ends_at)
    if address:
        day.directions, day.maps = directions_link(address), maps_search_link(address)
    return day


def _upcoming_assignments(person: Person, now):
    """The person's institution's assignments to sessions not yet over, in conferences they see."""
    return (Assignment.objects.filter(institution_id=person.unit_id, session__ends_at__gte=now,
                                      session__conference__in=visible_conferences(person.user).values("pk"))
            .select_related("session__conference", "point__hall").order_by("session__starts_at"))


def participant_day(user) -> ParticipantDay | None:
    """The person's sessions of the first day still to come (today's when there are), or none."""
    person = person_of(user)
    if person is None:
        return None
    now = timezone.now()
    assignments = list(_upcoming_assignments(person, now)[:20])
    day = ParticipantDay(person=person)
    if not assignments:
        return day
    first_date = timezone.localtime(assignments[0].session.starts_at).date()
    chosen = [a for a in assignments if timezone.localtime(a.session.starts_at).date() == first_date]
    day.conference = chosen[0].session.conference
    day.is_today = first_date == timezone.localdate()
    day.sessions = [_day_session(a, person, now) for a in chosen if a.session.conference_id == day.conference.pk]
    day.vote_items, day.voted = vote_items(user, person, day.conference)
    return day


def vote_items(user, person: Person, conference: Conference) -> tuple[list, set[int]]:
    """Others' approved items of the conference, most upvoted first, and those the person upvoted."""
    items = list(visible_opinions(user, conference).exclude(author=person)
                 .order_by("-upvotes", "-pk")[:VOTE_ITEMS])
    voted = set(person.opinion_votes.filter(opinion__in=items, family="up").values_list("opinion_id", flat=True))
    return items, voted


def badge_for(user, session: Session):
    """The person's own badge for a session: (assignment, row with the QR) or (None, None).

    The participant opens their own badge only (``attendance.badges.own_badge_person``, the rule the
    badges page applies)."""
    person = person_of(user)
    if person is None:
        return None, None
    own = badges.own_badge_person(user, person.unit)
    if own is None:
        return None, None
    assignment, rows = badges.school_badges(session, person.unit, only=own)
    return assignment, (rows[0] if rows else None)


def panel_context(request, day: ParticipantDay) -> dict:
    """The context of the home page's extra panels (``site/participant/_slot_*.html``): the person,
    the conference, today's sessions, the live poll panel and the answers panel."""
    panels = {"person": day.person, "conference": day.conference, "sessions": [s.session for s in day.sessions],
              "user": request.user, **answers.answers_panel_context(request.user)}
    if day.conference is not None:
        panels.update(polls.poll_panel_context(request.user, day.conference))
    return panels
