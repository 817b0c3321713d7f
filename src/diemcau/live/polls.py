"""Live polls (thăm dò nhanh): the director asks, phones and kiosks answer, results by province and level.

- :func:`ask` opens a poll (one open per conference): single choice, or a scale from 1 to 5, asked to
  every participant (``people``: answered on the phone) or to the points (``points``: each kiosk
  answers for its hall). Asking closes the poll open before.
- :func:`vote` appends one :class:`PollVote` per person (or per point) and adds one to its
  :class:`PollCount` row (poll, option, province, levels) in the same transaction: totals are never
  re-counted from the votes. Two statements: ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` and the
  counter's upsert. A retry with the same client id is a no-op; a second vote by the same
  person or point with another id is refused (``already_voted``).
- :func:`results` reads the counters (a few hundred rows at national scale), never the votes.
- Every change publishes on commit a dirty notice to the polls' hub (:mod:`.poll_consumers`), which
  renders the director's results and the kiosks' view once per tick, however many votes arrive.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core import hub as hubs
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.vntext import nfc
from diemcau.events.access import require_director, sees_conference
from diemcau.events.models import Conference
from diemcau.orgs.models import PATH_STEP, EducationLevel, Person, Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

from .models import Poll, PollCount, PollVote
from .viewers import current_session

SCALE = ["1", "2", "3", "4", "5"]
MAX_CHOICES = 8


# --- the hub's groups: results (every vote) and state (asked, closed, shown on kiosks) -----------------

def results_group(conference_id: int) -> str:
    """The director's results and the kiosks' published results: dirty at every vote."""
    return f"live.polls.results.{conference_id}"


def state_group(conference_id: int) -> str:
    """The phones' poll panel: dirty when a poll opens or closes (not at each vote)."""
    return f"live.polls.state.{conference_id}"


def _changed(conference_id: int, votes_only: bool = False) -> None:
    pairs = [hubs.notice(results_group(conference_id))]
    if not votes_only:
        pairs.append(hubs.notice(state_group(conference_id)))
    publish_on_commit(*pairs)


# --- asking and closing -------------------------------------------------------------------------------

def _clean_choices(kind: str, choices) -> list[str]:
    if kind == Poll.Kind.SCALE:
        return list(SCALE)
    if kind != Poll.Kind.CHOICE:
        raise DomainError(_("Choose a single-choice question or a scale from 1 to 5."), "bad_kind")
    cleaned = [nfc(c).strip() for c in (choices or []) if nfc(c).strip()]
    if not 2 <= len(cleaned) <= MAX_CHOICES:
        raise DomainError(_("Give between 2 and %(max)d answers to choose from.") % {"max": MAX_CHOICES},
                          "bad_choices")
    if len({c.casefold() for c in cleaned}) != len(cleaned):
        raise DomainError(_("Two answers are the same."), "bad_choices")
    if any(len(c) > 120 for c in cleaned):
        raise DomainError(_("Keep each answer under 120 characters."), "bad_choices")
    return cleaned


def ask(user, conference: Conference, question: str, kind: str = Poll.Kind.CHOICE, choices=None,
        audience: str = Poll.Audience.PEOPLE) -> Poll:
    """Open a poll in the conference (the poll open before, if any, closes)."""
    require_director(user, conference)
    question = nfc(question or "").strip()
    if not question or len(question) > 300:
        raise DomainError(_("Write the question (at most 300 characters)."), "bad_question")
    if audience not in Poll.Audience.values:
        raise DomainError(_("Ask every participant or the bridge points."), "bad_audience")
    cleaned = _clean_choices(kind, choices)
    with transaction.atomic():
        Conference.objects.select_for_update().filter(pk=conference.pk).first()
        for open_poll in Poll.objects.select_for_update().filter(conference=conference, state=Poll.State.OPEN):
            _close(user, open_poll)
        poll = Poll.objects.create(conference=conference, session=current_session(conference), question=question,
                                   kind=kind, audience=audience, choices=cleaned, asked_by=user
                                   if getattr(user, "is_authenticated", False) else None)
        audit.record(user, "live.poll_asked", poll, unit_path=conference.host_unit.path,
                     after={"question": question, "kind": kind, "audience": audience, "choices": cleaned})
        _changed(conference.pk)
    return poll


def _close(user, poll: Poll) -> None:
    poll.state, poll.closed_at = Poll.State.CLOSED, timezone.now()
    poll.save(update_fields=["state", "closed_at"])
    audit.record(user, "live.poll_closed", poll, unit_path=poll.conference.host_unit.path)


def close(user, poll: Poll) -> Poll:
    """Close a poll: no more votes; its results stay."""
    require_director(user, poll.conference)
    with transaction.atomic():
        poll = Poll.objects.select_for_update().select_related("conference__host_unit").get(pk=poll.pk)
        if poll.state == Poll.State.OPEN:
            _close(user, poll)
            _changed(poll.conference_id)
    return poll


def show_on_kiosks(user, poll: Poll, shown: bool = True) -> Poll:
    """Show (or hide) the poll's results on every kiosk of the conference."""
    require_director(user, poll.conference)
    with transaction.atomic():
        poll = Poll.objects.select_for_update().select_related("conference__host_unit").get(pk=poll.pk)
        if poll.on_kiosks != shown:
            poll.on_kiosks = shown
            poll.save(update_fields=["on_kiosks"])
            audit.record(user, "live.poll_on_kiosks", poll, unit_path=poll.conference.host_unit.path,
                         after={"on_kiosks": shown})
            _changed(poll.conference_id)
    return poll


# --- voting -------------------------------------------------------------------------------------------

def area_of(unit: Unit) -> int:
    """The province (department's unit) a unit lies in: the second segment of its path; 0 above."""
    segment = unit.path[PATH_STEP:2 * PATH_STEP]
    return int(segment) if segment else 0


def _voter(actor, poll: Poll, point_id, person=None) -> tuple[Person | None, BridgePoint | None, Unit]:
    """Who answers: the actor's person (``people``) or the point they operate (``points``); the system
    actor (a loader) may name the person."""
    if poll.audience == Poll.Audience.POINTS:
        point = BridgePoint.objects.select_related("hall__unit").filter(
            pk=point_id or 0, conference_id=poll.conference_id).first()
        if point is None:
            raise ScopeError()
        require_operator(actor, point)
        return None, point, point.hall.unit
    if person is not None and actor is not SYSTEM:
        raise ScopeError()
    if person is None:
        person = Person.objects.select_related("unit").filter(user=actor).first() if actor is not None else None
    if person is None:
        raise DomainError(_("Only participants listed in a unit can answer."), "not_a_participant")
    return person, None, person.unit


def vote(actor, poll: Poll, choice: int, client_id, point_id=None, person=None) -> tuple[PollVote, bool]:
    """Record one answer; returns the vote and whether it is new (a retry with its client id is not)."""
    try:
        client_id = uuid.UUID(str(client_id))
    except ValueError:
        raise DomainError(_("The answer has no valid client id."), "bad_client_id") from None
    if not sees_conference(actor, poll.conference):
        raise ScopeError()
    # The state is read afresh: the caller's object may be older than the director's "close". A retry
    # is found by its client id when the insert collides (no look-up before every first vote), or here
    # when the poll closed meanwhile.
    if Poll.objects.filter(pk=poll.pk).values_list("state", flat=True).first() != Poll.State.OPEN:
        existing = PollVote.objects.filter(poll=poll, client_id=client_id).first()
        if existing is not None:
            return existing, False
        raise DomainError(_("This poll is closed."), "poll_closed")
    if not isinstance(choice, int) or not 0 <= choice < len(poll.choices):
        raise DomainError(_("Choose one of the answers."), "bad_choice")
    person, point, unit = _voter(actor, poll, point_id, person)
    row = PollVote(poll=poll, person=person, point=point, choice=choice, client_id=client_id,
                   area_id=area_of(unit), levels=unit.levels, at=timezone.now())
    with transaction.atomic():
        row.pk = _insert_vote(row)
        if row.pk is not None:
            _count(row)
            _changed(poll.conference_id, votes_only=True)
    if row.pk is None:
        again = PollVote.objects.filter(poll=poll, client_id=client_id).first()
        if again is not None:  # the same answer arrived again (or twice at once): the first one counts
            return again, False
        raise DomainError(_("You have already answered this poll."), "already_voted")
    return row, True


def _insert_vote(row: PollVote) -> int | None:
    """Append the answer unless its client id, person or point has one already: its id, or None.

    ``ON CONFLICT DO NOTHING`` covers the three unique constraints, so a retry or a second answer
    costs no error and no savepoint.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PollVote._meta.db_table} "
            "(poll_id, person_id, point_id, choice, client_id, area_id, levels, at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [row.poll_id, row.person_id, row.point_id, row.choice, _db_value(row, "client_id"), row.area_id,
             row.levels, _db_value(row, "at")])
        found = cursor.fetchone()
    return found[0] if found else None


def _db_value(row: PollVote, name: str):
    # As the field stores it on this database (SQLite keeps a UUID as 32 hex digits).
    return PollVote._meta.get_field(name).get_db_prep_value(getattr(row, name), connection)


def _count(row: PollVote) -> None:
    """One more vote on the row's counter, in the vote's transaction: one upsert (made on the first vote)."""
    table = PollCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (poll_id, choice, area_id, levels, votes) VALUES (%s, %s, %s, %s, 1) "
            f"ON CONFLICT (poll_id, choice, area_id, levels) DO UPDATE SET votes = {table}.votes + 1",
            [row.poll_id, row.choice, row.area_id, row.levels])


# --- reading ------------------------------------------------------------------------------------------

def open_poll(conference_id: int, audience: str | None = None) -> Poll | None:
    """The conference's open poll (of one audience, if given)."""
    qs = Poll.objects.filter(conference_id=conference_id, state=Poll.State.OPEN)
    if audience:
        qs = qs.filter(audience=audience)
    return qs.first()


def latest_poll(conference_id: int) -> Poll | None:
    return Poll.objects.filter(conference_id=conference_id).first()


def _bars(counts: dict[int, int], labels: list[str]) -> list[dict]:
    total = sum(counts.values())
    return [{"label": label, "votes": counts.get(i, 0), "pct": round(100 * counts.get(i, 0) / total) if total else 0}
            for i, label in enumerate(labels)]


def _mean(counts: dict[int, int]) -> float | None:
    total = sum(counts.values())
    return round(sum((i + 1) * n for i, n in counts.items()) / total, 2) if total else None


def results(poll: Poll) -> dict:
    """The poll's totals: per option, and per option within each province and each level of education."""
    by_choice: dict[int, int] = defaultdict(int)
    by_area: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    by_level: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for choice, area, levels, votes in PollCount.objects.filter(poll=poll).values_list(
            "choice", "area_id", "levels", "votes"):
        by_choice[choice] += votes
        by_area[area][choice] += votes
        for bit, _key, _label in EducationLevel.CHOICES:
            if levels & bit:
                by_level[bit][choice] += votes
        if not levels:
            by_level[0][choice] += votes
    names = dict(Unit.objects.filter(pk__in=[a for a in by_area if a]).values_list("pk", "name"))
    level_names = {bit: str(label) for bit, _key, label in EducationLevel.CHOICES}
    scale = poll.kind == Poll.Kind.SCALE

    def row(label, counts):
        return {"label": label, "total": sum(counts.values()), "bars": _bars(counts, poll.choices),
                "mean": _mean(counts) if scale else None}

    provinces = sorted((row(names.get(a, _("Ministry and national units")), c) for a, c in by_area.items()),
                       key=lambda r: (-r["total"], r["label"]))
    levels = [row(level_names.get(bit, _("No level of education")), by_level[bit])
              for bit in [*level_names, 0] if bit in by_level]
    return {"poll": poll, "total": sum(by_choice.values()), "bars": _bars(by_choice, poll.choices),
            "mean": _mean(by_choice) if scale else None, "provinces": provinces, "levels": levels}


def conference_polls(conference) -> list[dict]:
    """Every poll of a conference with its results, oldest first (the summary for policy)."""
    return [results(p) for p in Poll.objects.filter(conference=conference).order_by("opened_at", "pk")]


# --- the phone's and the kiosk's panel ----------------------------------------------------------------

def poll_panel_context(user, conference, answered: PollVote | None = None) -> dict:
    """Context of ``live/_poll_panel.html`` on a participant's page: the open poll asked to everyone,
    and the answer they gave, if any.

    ``answered``: the answer :func:`vote` just recorded (the panel after a new vote): its poll was
    open a moment ago and the answer is theirs, so neither is looked up again.
    """
    if answered is not None and answered.person_id is not None:
        return {"poll_panel": {"conference": conference, "poll": answered.poll, "mine": answered.choice,
                               "client_id": uuid.uuid4()}}
    poll = open_poll(conference.pk, Poll.Audience.PEOPLE)
    mine = None
    if poll is not None and getattr(user, "is_authenticated", False):
        mine = PollVote.objects.filter(poll=poll, person__user=user).values_list("choice", flat=True).first()
    return {"poll_panel": {"conference": conference, "poll": poll, "mine": mine, "client_id": uuid.uuid4()}}


def kiosk_context(conference_id: int, point_id: int | None = None) -> dict:
    """What a kiosk shows: the open poll asked to points (and the point's answer), or the results the
    director chose to show on kiosks."""
    poll = open_poll(conference_id, Poll.Audience.POINTS)
    mine = None
    if poll is not None and point_id:
        mine = PollVote.objects.filter(poll=poll, point_id=point_id).values_list("choice", flat=True).first()
    shown = Poll.objects.filter(conference_id=conference_id, on_kiosks=True).first()
    return {"poll": poll, "mine": mine, "shown": results(shown) if shown else None, "client_id": uuid.uuid4()}
