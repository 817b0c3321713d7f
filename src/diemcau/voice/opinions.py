"""Sending opinions and questions, and voting on them.

A participant (or a point's kiosk on their behalf) sends an item; flooding limits hold per person,
per unit and per kiosk. Votes are one per person and family, appended by one
``INSERT … ON CONFLICT DO NOTHING`` and added to the item's counter by one ``UPDATE … + 1`` in the
same transaction (:func:`vote`); a merge moves votes and recounts both items (:func:`recount`).
"""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, vntext
from diemcau.core.broadcast import publish_on_commit, publish_soon_on_commit
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.vntext import nfc
from diemcau.events.access import require_director, require_sees
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.access import operates_point
from diemcau.points.models import Assignment, BridgePoint

from . import anonymity
from .access import VISIBLE, can_see
from .models import MAX_TEXT, Opinion, Vote
from .notices import later_notice, opinion_notice
from .topic_list import suggest_topic

# Flooding limits: a person, a whole unit (a school), and a bridge point's kiosk, per window.
RATE_WINDOW = timedelta(minutes=10)
RATE_PER_PERSON = 5
RATE_PER_UNIT = 200
RATE_PER_POINT = 60


# --- submit -------------------------------------------------------------------------------------

def clean_opinion_text(text) -> str:
    vntext.clean_text(text, _("Your question or opinion"), kind=vntext.MULTILINE)  # controls, bidi, zero-width
    text = nfc(text)
    if not text:
        raise DomainError(_("Write your question or opinion first."), "empty")
    if len(text) > MAX_TEXT:
        raise DomainError(_("Keep it under %(max)d characters (now %(n)d).") % {"max": MAX_TEXT, "n": len(text)},
                          "too_long")
    return text


def _check_rate(person, unit, point=None):
    since = timezone.now() - RATE_WINDOW
    if point is not None and Opinion.objects.filter(point=point, created_at__gte=since).count() >= RATE_PER_POINT:
        raise DomainError(
            _("This bridge point has sent %(n)d items in the last %(m)d minutes. Please wait a few minutes "
              "before sending more from this kiosk.") % {"n": RATE_PER_POINT, "m": RATE_WINDOW.seconds // 60},
            "rate_limited_point")
    if Opinion.objects.filter(author=person, created_at__gte=since).count() >= RATE_PER_PERSON:
        raise DomainError(
            _("You have sent %(n)d items in the last %(m)d minutes. Please wait a little before sending more.")
            % {"n": RATE_PER_PERSON, "m": RATE_WINDOW.seconds // 60}, "rate_limited_person")
    if Opinion.objects.filter(author_unit=unit, created_at__gte=since).count() >= RATE_PER_UNIT:
        raise DomainError(_("Your unit has sent too many items in the last few minutes. Please try again later."),
                          "rate_limited_unit")


def kiosk_point(user, person, conference, point_id):
    """The bridge point an item is sent from, when typed at its kiosk; None when not given.

    Accepted when the point belongs to the conference and the author's institution is assigned to
    it, or the signed-in account operates it (or organises its host unit).
    """
    if not point_id:
        return None
    point = BridgePoint.objects.select_related("hall__unit").filter(pk=point_id, conference=conference).first()
    if point is None:
        raise DomainError(_("This bridge point belongs to another conference."), "bad_point")
    if person is not None and Assignment.objects.filter(point=point, institution=person.unit_id).exists():
        return point
    if operates_point(user, point):
        return point
    raise DomainError(_("You cannot send from this bridge point."), "bad_point")


def live_candidates(user, conference):
    """Approved items the director may put on screen, ranked (the top levels' lists first)."""
    require_director(user, conference)
    qs = Opinion.objects.filter(conference=conference, status=Opinion.Status.APPROVED)
    return qs.select_related("author_unit", "at_unit", "topic").order_by(
        "at_unit__depth", -(F("upvotes") + F("agree")), "-raised_by_units", "-raised_by_people", "created_at")


def submit(person, conference, text, kind=Opinion.Kind.QUESTION, session=None, topic=None,
           anonymous=False, point=None) -> Opinion:
    """Record a participant's question or opinion; it waits for the moderators of their unit.

    ``point``: the bridge point whose kiosk it was typed at, if any (limited per point as well).
    Markup is allowed in the text and stored as typed: templates escape it wherever it shows.
    """
    if person is None:
        raise DomainError(_("Only participants listed in a unit can send opinions."), "not_a_participant")
    if person.user is not None:
        require_sees(person.user, conference)
    text = clean_opinion_text(text)
    if kind not in Opinion.Kind.values:
        raise DomainError(_("Unknown kind of item."), "bad_kind")
    if session is not None and session.conference_id != conference.pk:
        raise DomainError(_("This session belongs to another conference."), "bad_session")
    if topic is not None and topic.conference_id != conference.pk:
        raise DomainError(_("This topic belongs to another conference."), "bad_topic")
    if point is not None and point.conference_id != conference.pk:
        raise DomainError(_("This bridge point belongs to another conference."), "bad_point")
    unit = person.unit
    with transaction.atomic():
        # Lock the point's and the author's rows so parallel submissions cannot slip under a limit.
        if point is not None:
            type(point).objects.select_for_update().filter(pk=point.pk).first()
        type(person).objects.select_for_update().filter(pk=person.pk).first()
        _check_rate(person, unit, point)
        opinion = Opinion.objects.create(
            conference=conference, session=session, kind=kind, text=text, author=person, author_unit=unit,
            anonymous=bool(anonymous), topic=topic, suggested_topic=suggest_topic(conference, text),
            at_unit=unit, point=point,
        )
        after = {"kind": kind, "anonymous": opinion.anonymous, "session": getattr(session, "pk", None)}
        if not opinion.anonymous:
            after["point"] = getattr(point, "pk", None)
        # Audit the act, not the person, when the author asked to stay anonymous (see anonymity).
        audit.record(SYSTEM if opinion.anonymous else (person.user or SYSTEM), "voice.opinion.submit", opinion,
                     unit_path=unit.path, object_repr=anonymity.audit_label(opinion), after=after)
        publish_on_commit(opinion_notice(opinion, "submit"))
    return opinion


# --- votes --------------------------------------------------------------------------------------

def recount(opinion: Opinion) -> Opinion:
    """Re-derive an item's cached counts from its votes and the items merged into it."""
    by_kind = dict(opinion.votes.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    group = Opinion.objects.filter(Q(pk=opinion.pk) | Q(merged_into=opinion))
    opinion.upvotes = by_kind.get(Vote.Kind.UPVOTE, 0)
    opinion.agree = by_kind.get(Vote.Kind.AGREE, 0)
    opinion.disagree = by_kind.get(Vote.Kind.DISAGREE, 0)
    opinion.passes = by_kind.get(Vote.Kind.PASS, 0)
    opinion.raised_by_people = group.values("author").distinct().count()
    opinion.raised_by_units = group.values("author_unit").distinct().count()
    opinion.save(update_fields=["upvotes", "agree", "disagree", "passes", "raised_by_people",
                                "raised_by_units", "updated_at"])
    return opinion


def vote(person, opinion: Opinion, kind: str) -> tuple[Vote, bool]:
    """Vote on a visible item in the person's scope; a second vote in the same family is a no-op.

    Returns the vote and whether it was new; ``opinion``'s counts are the ones the vote left.
    """
    if kind not in Vote.Kind.values:
        raise DomainError(_("Unknown kind of vote."), "bad_vote")
    if person is None:
        raise DomainError(_("Only participants listed in a unit can vote."), "not_a_participant")
    user = person.user
    if user is not None and not can_see(user, opinion):
        raise ScopeError()
    if opinion.status not in VISIBLE:
        raise DomainError(_("This item is not open for votes."), "not_open")
    if kind != Vote.Kind.UPVOTE and opinion.kind != Opinion.Kind.OPINION:
        raise DomainError(_("Only opinions can be agreed or disagreed with; questions take upvotes."),
                          "not_a_statement")
    family = Vote.FAMILIES[kind]
    with transaction.atomic():
        vote_id = _insert_vote(opinion.pk, person.pk, kind, family)
        if vote_id is None:  # voted before (or a parallel request did, first): a no-op
            return Vote.objects.get(opinion=opinion, person=person, family=family), False
        _add_to_counter(opinion, kind)
        # Votes come in bursts: the voter's thread does not wait for the send, and the notices queued
        # meanwhile go as one (a dirty notice carries no figures).
        publish_soon_on_commit(opinion_notice(opinion, "vote"), merge=later_notice)
    return Vote(pk=vote_id, opinion=opinion, person=person, kind=kind, family=family), True


def _insert_vote(opinion_id: int, person_id: int, kind: str, family: str) -> int | None:
    """Append the vote unless the person has one of that family on the item: its id, or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Vote._meta.db_table} (opinion_id, person_id, kind, family, at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (opinion_id, person_id, family) DO NOTHING RETURNING id",
            [opinion_id, person_id, kind, family, connection.ops.adapt_datetimefield_value(timezone.now())])
        row = cursor.fetchone()
    return row[0] if row else None


def _add_to_counter(opinion: Opinion, kind: str) -> None:
    """One more on the item's counter of ``kind``; ``opinion`` gets the counts as they now stand."""
    field = _count_field(kind)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Opinion._meta.db_table} SET {field} = {field} + 1 WHERE id = %s "
            "RETURNING upvotes, agree, disagree, passes", [opinion.pk])
        opinion.upvotes, opinion.agree, opinion.disagree, opinion.passes = cursor.fetchone()


def _count_field(kind: str) -> str:
    return {"upvote": "upvotes", "agree": "agree", "disagree": "disagree", "pass": "passes"}[kind]


def my_opinions(person, conference):
    """A participant's own items, with their status and any rejection reason."""
    return Opinion.objects.filter(conference=conference, author=person).select_related("merged_into")
