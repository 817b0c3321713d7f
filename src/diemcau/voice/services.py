"""The rules of opinions and questions: submit, find similar, vote, moderate up the tree, rank.

Views, the API and (later) kiosks call these functions. Each change validates, writes inside a
transaction, appends a :class:`ModerationAction` for moderation and an audit entry, and raises
:class:`DomainError` with a stable code when a rule refuses.

Moderation permission: the moderator role (or national organiser) plus read scope covering the
level the item has reached (``at_unit``), both from :func:`scope_for`.
"""

import re
import threading
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from diemcau.core import audit, vntext
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.vntext import fold, nfc
from diemcau.events.access import require_director, require_sees, sees_conference, visible_conferences
from diemcau.orgs.models import PATH_STEP, Role, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for

from . import anonymity, textsim
from . import topics as topic_engine
from .models import MAX_TEXT, ModerationAction, Opinion, Topic, TopicProposal, Vote
from .signals import send_on_air_changed, send_on_commit

# Flooding limits: a person, a whole unit (a school), and a bridge point's kiosk, per window.
RATE_WINDOW = timedelta(minutes=10)
RATE_PER_PERSON = 5
RATE_PER_UNIT = 200
RATE_PER_POINT = 60

MODERATOR_ROLES = (Role.MODERATOR, Role.NATIONAL_ORGANISER)
VISIBLE = (Opinion.Status.APPROVED, Opinion.Status.ON_AIR, Opinion.Status.ANSWERED)


# --- access: who sees and directs a conference is events.access's ---------------------------------

def opinion_for(user, opinion_id) -> Opinion:
    """An item of a conference the user takes part in; :class:`ScopeError` (a 404) otherwise."""
    opinion = Opinion.objects.select_related("conference__host_unit", "at_unit", "author_unit").filter(
        pk=opinion_id, conference__in=visible_conferences(user).values("pk")).first()
    if opinion is None:
        raise ScopeError()
    return opinion


# --- topics -------------------------------------------------------------------------------------

def active_topics(conference) -> list[Topic]:
    """The conference's active topics, as they are: what pages and the API read (never writes)."""
    return list(conference.voice_topics.filter(active=True))


def ensure_topics(conference) -> list[Topic]:
    """The conference's active topics, seeded from DEFAULT_TOPICS if it has none (a write).

    Called when a conference is created (:mod:`signals`) and on write paths (submit, adding a
    topic) for conferences made before that; a GET reads :func:`active_topics` instead.
    """
    if not conference.voice_topics.exists():
        Topic.objects.bulk_create(
            [Topic(conference=conference, key=t.key, name=t.name, keywords=list(t.keywords), position=i)
             for i, t in enumerate(topic_engine.DEFAULT_TOPICS)],
            ignore_conflicts=True,
        )
    return list(conference.voice_topics.filter(active=True))


_cache_lock = threading.Lock()
_suggesters: dict[int, tuple[tuple, topic_engine.TopicSuggester]] = {}
_indexes: dict[int, tuple[tuple, textsim.SimilarityIndex]] = {}


def _suggester(conference) -> topic_engine.TopicSuggester:
    """A TopicSuggester for the conference: keywords first, then moderators' choices once tagged."""
    topics = ensure_topics(conference)
    labelled = Opinion.objects.filter(conference=conference, topic__isnull=False, topic__active=True).exclude(
        status__in=[Opinion.Status.REJECTED, Opinion.Status.PENDING])
    stamp = (tuple((t.pk, t.updated_at) for t in topics),
             tuple(labelled.aggregate(n=Count("pk"), m=Max("updated_at")).values()))
    with _cache_lock:
        cached = _suggesters.get(conference.pk)
        if cached and cached[0] == stamp:
            return cached[1]
    suggester = topic_engine.TopicSuggester(
        [topic_engine.Topic(t.key, t.name, tuple(t.keywords)) for t in topics],
        featurizer=textsim.default_featurizer(),
    )
    rows = list(labelled.values_list("text", "topic__key"))
    if rows:
        suggester.fit([r[0] for r in rows], [r[1] for r in rows])
    with _cache_lock:
        _suggesters[conference.pk] = (stamp, suggester)
    return suggester


def suggest_topic(conference, text: str) -> Topic | None:
    suggestions = _suggester(conference).suggest(text, k=1)
    if not suggestions:
        return None
    return conference.voice_topics.filter(key=suggestions[0].key).first()


# --- similar items ------------------------------------------------------------------------------

def _index(conference) -> textsim.SimilarityIndex:
    """The conference's index of visible items, kept in process and rebuilt when items change."""
    visible = Opinion.objects.filter(conference=conference, status__in=VISIBLE)
    stamp = tuple(visible.aggregate(n=Count("pk"), m=Max("updated_at")).values())
    with _cache_lock:
        cached = _indexes.get(conference.pk)
        if cached and cached[0] == stamp:
            return cached[1]
    index = textsim.SimilarityIndex(textsim.default_featurizer())
    rows = list(visible.values_list("pk", "text"))
    if rows:
        index.add_many([r[0] for r in rows], [r[1] for r in rows])
    with _cache_lock:
        _indexes[conference.pk] = (stamp, index)
    return index


def _reach(scope) -> Q:
    """Items written in the scope, or forwarded up to a unit above it (a district's teachers see
    what their district sent on)."""
    above = {p[:i] for p in scope.read_paths for i in range(PATH_STEP, len(p) + 1, PATH_STEP)}
    return scope.q("author_unit__path") | Q(at_unit__path__in=above)


def visible_opinions(user, conference):
    """Approved or answered items the user may see and vote on."""
    qs = Opinion.objects.filter(conference=conference, status__in=VISIBLE)
    return qs.filter(_reach(scope_for(user))).select_related("author_unit", "at_unit", "topic")


def can_see(user, opinion: Opinion) -> bool:
    """True when the item is in the user's reach (written in their scope or sent up above it)."""
    scope = scope_for(user)
    path = opinion.at_unit.path
    return (scope.can_see(opinion.author_unit) or any(p.startswith(path) for p in scope.read_paths)) \
        and sees_conference(user, opinion.conference)


def similar(conference, text: str, user, k: int = 5, min_score: float = 0.25) -> list[Opinion]:
    """Existing visible items in the user's scope that say much the same as ``text``, best first."""
    text = nfc(text)
    if len(text) < 3:
        return []
    matches = _index(conference).similar(text[:MAX_TEXT], k=k * 4, min_score=min_score)
    if not matches:
        return []
    found = {o.pk: o for o in visible_opinions(user, conference).filter(pk__in=[m.key for m in matches])}
    result = []
    for m in matches:
        if m.key in found:
            found[m.key].score = m.score
            result.append(found[m.key])
    return result[:k]


# --- submit -------------------------------------------------------------------------------------

def _clean_text(text) -> str:
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
    from diemcau.points.access import operates_point
    from diemcau.points.models import Assignment, BridgePoint

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
    text = _clean_text(text)
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
        send_on_commit(opinion, "submit")
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

    Returns the vote and whether it was new.
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
    existing = Vote.objects.filter(opinion=opinion, person=person, family=family).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            v = Vote.objects.create(opinion=opinion, person=person, kind=kind)
            Opinion.objects.filter(pk=opinion.pk).update(**{_count_field(kind): F(_count_field(kind)) + 1})
            send_on_commit(opinion, "vote")
    except IntegrityError:  # a parallel request voted first: still a no-op
        return Vote.objects.get(opinion=opinion, person=person, family=family), False
    opinion.refresh_from_db()
    return v, True


def _count_field(kind: str) -> str:
    return {"upvote": "upvotes", "agree": "agree", "disagree": "disagree", "pass": "passes"}[kind]


# --- moderation ---------------------------------------------------------------------------------

def can_moderate(user, opinion: Opinion) -> bool:
    if user is SYSTEM:
        return True
    return scope_for(user).covers(opinion.at_unit.path, "moderate") and sees_conference(user, opinion.conference)


def _require_moderator(user, opinion: Opinion):
    if not can_moderate(user, opinion):
        raise ScopeError()


def _log(user, opinion: Opinion, action: str, before=None, after=None, reason: str = ""):
    ModerationAction.objects.create(opinion=opinion, actor=user if getattr(user, "is_authenticated", False) else None,
                                    action=action, before=before, after=after, reason=reason)
    logged_before, logged_after = anonymity.audit_changes(opinion, before, after)
    audit.record(user, f"voice.opinion.{action}", opinion, before=logged_before, after=logged_after,
                 unit_path=opinion.at_unit.path, object_repr=anonymity.audit_label(opinion))
    send_on_commit(opinion, action)


def _locked(opinion: Opinion) -> Opinion:
    return Opinion.objects.select_for_update().select_related("at_unit").get(pk=opinion.pk)


def approve(user, opinion: Opinion) -> Opinion:
    """Let a pending item be seen and voted on in its scope."""
    _require_moderator(user, opinion)
    with transaction.atomic():
        opinion = _locked(opinion)
        if opinion.status != Opinion.Status.PENDING:
            raise DomainError(_("Only pending items can be approved."), "not_pending")
        opinion.status = Opinion.Status.APPROVED
        opinion.save(update_fields=["status", "updated_at"])
        _log(user, opinion, "approve", {"status": "pending"}, {"status": "approved"})
    return opinion


def reject(user, opinion: Opinion, reason: str) -> Opinion:
    """Refuse an item, with a reason its author sees."""
    _require_moderator(user, opinion)
    reason = nfc(reason)[:500]
    if not reason:
        raise DomainError(_("Give the author a reason for the rejection."), "reason_required")
    with transaction.atomic():
        opinion = _locked(opinion)
        if opinion.status not in (Opinion.Status.PENDING, Opinion.Status.APPROVED):
            raise DomainError(_("This item can no longer be rejected."), "bad_status")
        before = opinion.status
        opinion.status, opinion.reject_reason = Opinion.Status.REJECTED, reason
        opinion.save(update_fields=["status", "reject_reason", "updated_at"])
        _log(user, opinion, "reject", {"status": before}, {"status": "rejected"}, reason)
    return opinion


def edit(user, opinion: Opinion, text: str) -> Opinion:
    """Fix typos in an item's text; the original stays in the moderation log."""
    _require_moderator(user, opinion)
    text = _clean_text(text)
    with transaction.atomic():
        opinion = _locked(opinion)
        if opinion.status in (Opinion.Status.MERGED, Opinion.Status.REJECTED):
            raise DomainError(_("This item can no longer be edited."), "bad_status")
        if text == opinion.text:
            return opinion
        before = opinion.text
        opinion.text = text
        opinion.save(update_fields=["text", "updated_at"])
        _log(user, opinion, "edit", {"text": before}, {"text": text})
    return opinion


def tag(user, opinion: Opinion, topic: Topic | None) -> Opinion:
    """Set an item's topic; the choice teaches the topic suggester."""
    _require_moderator(user, opinion)
    if topic is not None and topic.conference_id != opinion.conference_id:
        raise DomainError(_("This topic belongs to another conference."), "bad_topic")
    with transaction.atomic():
        opinion = _locked(opinion)
        before = opinion.topic_id
        opinion.topic = topic
        opinion.save(update_fields=["topic", "updated_at"])
        _log(user, opinion, "tag", {"topic": before}, {"topic": getattr(topic, "pk", None)})
    return opinion


def forward(user, opinion: Opinion) -> Opinion:
    """Send an approved item one level up the tree, to the moderators of the parent unit."""
    _require_moderator(user, opinion)
    with transaction.atomic():
        opinion = _locked(opinion)
        if opinion.status != Opinion.Status.APPROVED:
            raise DomainError(_("Only approved items can be forwarded."), "not_approved")
        parent = opinion.at_unit.parent
        if parent is None:
            raise DomainError(_("This item has already reached the top of the tree."), "at_top")
        before = opinion.at_unit_id
        opinion.at_unit = parent
        opinion.save(update_fields=["at_unit", "updated_at"])
        # Items merged into it travel with it, so every level counts them.
        Opinion.objects.filter(merged_into=opinion).update(at_unit=parent)
        _log(user, opinion, "forward", {"at_unit": before}, {"at_unit": parent.pk})
    return opinion


def merge(user, source: Opinion, target: Opinion) -> Opinion:
    """Merge a duplicate into another item: its votes and authors carry over, its text stays readable.

    Refused when merging an item into itself, into an item already merged (which would make a
    chain or a cycle), or across conferences. Both items must be in the moderator's scope.
    """
    if source.pk == target.pk:
        raise DomainError(_("An item cannot be merged into itself."), "merge_self")
    _require_moderator(user, source)
    _require_moderator(user, target)
    with transaction.atomic():
        # Lock both rows in a fixed order so two merges of the same pair cannot deadlock.
        locked = {o.pk: o for o in Opinion.objects.select_for_update().select_related("at_unit")
                  .filter(pk__in=[source.pk, target.pk]).order_by("pk")}
        source, target = locked[source.pk], locked[target.pk]
        if source.conference_id != target.conference_id:
            raise DomainError(_("Items of different conferences cannot be merged."), "merge_conference")
        seen, node = set(), target
        while node.merged_into_id is not None and node.pk not in seen:
            seen.add(node.pk)
            if node.merged_into_id == source.pk:
                raise DomainError(_("Merging these items would make a cycle."), "merge_cycle")
            node = Opinion.objects.get(pk=node.merged_into_id)
        if target.status == Opinion.Status.MERGED:
            raise DomainError(_("The target has itself been merged; merge into the item it was merged into."),
                              "merge_into_merged")
        if source.status == Opinion.Status.MERGED:
            raise DomainError(_("This item has already been merged."), "already_merged")
        if source.status == Opinion.Status.ON_AIR:
            raise DomainError(_("Take the item off screen before merging it."), "on_air")
        if target.status in (Opinion.Status.REJECTED, Opinion.Status.PENDING):
            raise DomainError(_("Approve the target item before merging into it."), "target_not_approved")
        # Votes move unless the person already voted the same way on the target; those stay
        # behind as the record of what happened.
        taken = set(target.votes.values_list("person_id", "family"))
        movable = [v.pk for v in source.votes.all() if (v.person_id, v.family) not in taken]
        Vote.objects.filter(pk__in=movable).update(opinion=target)
        # Flatten: items merged into the source now point at the target, so chains never form.
        Opinion.objects.filter(merged_into=source).update(merged_into=target)
        before = {"status": source.status, "merged_into": None}
        source.status, source.merged_into = Opinion.Status.MERGED, target
        source.save(update_fields=["status", "merged_into", "updated_at"])
        recount(source)
        recount(target)
        _log(user, source, "merge", before, {"status": "merged", "merged_into": target.pk})
    return target


# --- live: the question being answered ------------------------------------------------------

ANSWER_TIME = re.compile(r"^(\d{1,2}):([0-5]\d):([0-5]\d)$")


def on_air(conference) -> Opinion | None:
    """The item being answered on screen now, if any."""
    return Opinion.objects.filter(conference=conference, status=Opinion.Status.ON_AIR).select_related(
        "author_unit", "at_unit", "topic").first()


def _clean_answer_time(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    m = ANSWER_TIME.match(value)
    if not m:
        raise DomainError(_("Write the time in the recording as hh:mm:ss, for example 01:05:30."), "bad_answer_time")
    return f"{int(m.group(1)):02d}:{m.group(2)}:{m.group(3)}"


def _leave_air(user, current: Opinion, answered: bool, answer: str = "", answer_time: str = ""):
    """Take the current item off screen: answered (keeping any answer) or back to the list."""
    now = timezone.now()
    if answered:
        current.status, current.answered_at = Opinion.Status.ANSWERED, now
        current.answer, current.answer_time = answer, answer_time
        current.save(update_fields=["status", "answered_at", "answer", "answer_time", "updated_at"])
        _log(user, current, "answer", {"status": "on_air"},
             {"status": "answered", "answer": answer, "answer_time": answer_time})
    else:
        current.status = Opinion.Status.APPROVED
        current.save(update_fields=["status", "updated_at"])
        _log(user, current, "off_air", {"status": "on_air"}, {"status": "approved"})


def put_on_air(user, opinion: Opinion, previous: str = "answered") -> Opinion:
    """Show an approved item on every screen as the one being answered now.

    One at a time per conference: the item on screen before becomes answered (``previous`` =
    "answered") or returns to the list ("return").
    """
    if previous not in ("answered", "return"):
        raise DomainError(_("Say whether the previous item was answered or returns to the list."), "bad_previous")
    conference = opinion.conference
    require_director(user, conference)
    with transaction.atomic():
        # Lock the conference's row: two directors clicking at once take turns.
        type(conference).objects.select_for_update().filter(pk=conference.pk).first()
        opinion = _locked(opinion)
        if opinion.status == Opinion.Status.ON_AIR:
            return opinion
        if opinion.status != Opinion.Status.APPROVED:
            raise DomainError(_("Only approved items can be put on screen."), "not_approved")
        current = Opinion.objects.select_for_update().select_related("at_unit").filter(
            conference=conference, status=Opinion.Status.ON_AIR).first()
        if current is not None:
            _leave_air(user, current, answered=previous == "answered")
        opinion.status, opinion.on_air_at = Opinion.Status.ON_AIR, timezone.now()
        opinion.save(update_fields=["status", "on_air_at", "updated_at"])
        _log(user, opinion, "on_air", {"status": "approved", "previous": getattr(current, "pk", None)},
             {"status": "on_air"})
        send_on_air_changed(conference.pk)
    return opinion


def answer(user, opinion: Opinion, text: str = "", answer_time: str = "") -> Opinion:
    """Record the answer of the item on screen (or correct an answered one's), taking it off screen."""
    require_director(user, opinion.conference)
    text = nfc(text)
    if len(text) > MAX_TEXT * 4:
        raise DomainError(_("Keep the answer under %(max)d characters.") % {"max": MAX_TEXT * 4}, "too_long")
    answer_time = _clean_answer_time(answer_time)
    with transaction.atomic():
        opinion = _locked(opinion)
        if opinion.status == Opinion.Status.ON_AIR:
            _leave_air(user, opinion, answered=True, answer=text, answer_time=answer_time)
            send_on_air_changed(opinion.conference_id)
        elif opinion.status == Opinion.Status.ANSWERED:
            before = {"answer": opinion.answer, "answer_time": opinion.answer_time}
            opinion.answer, opinion.answer_time = text, answer_time
            opinion.save(update_fields=["answer", "answer_time", "updated_at"])
            _log(user, opinion, "answer", before, {"answer": text, "answer_time": answer_time})
        else:
            raise DomainError(_("Only the item on screen, or one already answered, takes an answer."), "not_on_air")
    return opinion


def take_off_air(user, opinion: Opinion) -> Opinion:
    """Return the item on screen to the list unanswered (the screens show nothing)."""
    require_director(user, opinion.conference)
    with transaction.atomic():
        opinion = _locked(opinion)
        if opinion.status != Opinion.Status.ON_AIR:
            raise DomainError(_("This item is not on screen."), "not_on_air")
        _leave_air(user, opinion, answered=False)
        send_on_air_changed(opinion.conference_id)
    return opinion


def answered(conference):
    """Answered items, latest first, with their answers."""
    return Opinion.objects.filter(conference=conference, status=Opinion.Status.ANSWERED).select_related(
        "author_unit", "at_unit", "topic").order_by("-answered_at", "-pk")


# --- the topic list -----------------------------------------------------------------------------

def can_edit_topics(user, conference) -> bool:
    """National organisers and the moderators at the top of the conference (its host unit or above)."""
    if user is SYSTEM:
        return True
    return scope_for(user).covers(conference.host_unit.path, "moderate")


def _require_topic_editor(user, conference):
    if not can_edit_topics(user, conference):
        raise ScopeError()


def _clean_keywords(keywords) -> list[str]:
    if isinstance(keywords, str):
        keywords = keywords.replace(";", ",").replace("\n", ",").split(",")
    seen, out = set(), []
    for k in keywords or []:
        k = nfc(k)[:60]
        if k and k.lower() not in seen:
            seen.add(k.lower())
            out.append(k)
    return out[:60]


def _clean_topic_name(conference, name: str, exclude=None) -> str:
    name = nfc(name)[:200]
    if not name:
        raise DomainError(_("Give the topic a name."), "empty")
    clash = conference.voice_topics.filter(name__iexact=name, active=True)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise DomainError(_("A topic with this name already exists."), "duplicate_topic")
    return name


def _topic_audit(user, action, topic, before=None, after=None):
    audit.record(user, f"voice.topic.{action}", topic, before=before, after=after,
                 unit_path=topic.conference.host_unit.path)


def add_topic(user, conference, name: str, keywords=()) -> Topic:
    """Add a topic to the conference's list."""
    _require_topic_editor(user, conference)
    ensure_topics(conference)
    name = _clean_topic_name(conference, name)
    keywords = _clean_keywords(keywords)
    base = slugify(fold(name).replace("đ", "d"))[:50] or "chu-de"
    with transaction.atomic():
        key, n = base, 1
        while conference.voice_topics.filter(key=key).exists():
            n += 1
            key = f"{base}-{n}"
        position = (conference.voice_topics.aggregate(m=Max("position"))["m"] or 0) + 1
        topic = Topic.objects.create(conference=conference, key=key, name=name, keywords=keywords, position=position)
        _topic_audit(user, "add", topic, after={"name": name, "keywords": keywords})
    return topic


def edit_topic(user, topic: Topic, name: str, keywords=()) -> Topic:
    """Rename a topic or change its keywords (the suggester uses them from the next item on)."""
    _require_topic_editor(user, topic.conference)
    name = _clean_topic_name(topic.conference, name, exclude=topic)
    keywords = _clean_keywords(keywords)
    with transaction.atomic():
        topic = Topic.objects.select_for_update().get(pk=topic.pk)
        before = {"name": topic.name, "keywords": topic.keywords}
        topic.name, topic.keywords = name, keywords
        topic.save(update_fields=["name", "keywords", "updated_at"])
        _topic_audit(user, "edit", topic, before=before, after={"name": name, "keywords": keywords})
    return topic


def retire_topic(user, topic: Topic) -> Topic:
    """Stop offering and suggesting a topic; items already tagged with it keep it."""
    _require_topic_editor(user, topic.conference)
    with transaction.atomic():
        topic = Topic.objects.select_for_update().get(pk=topic.pk)
        if not topic.active:
            return topic
        if topic.conference.voice_topics.filter(active=True).count() <= 1:
            raise DomainError(_("Keep at least one topic."), "last_topic")
        topic.active = False
        topic.save(update_fields=["active", "updated_at"])
        _topic_audit(user, "retire", topic, before={"active": True}, after={"active": False})
    return topic


def merge_topic(user, source: Topic, target: Topic) -> Topic:
    """Fold one topic into another: its items and suggestions move, it is retired."""
    _require_topic_editor(user, source.conference)
    if source.pk == target.pk:
        raise DomainError(_("A topic cannot be merged into itself."), "merge_self")
    if source.conference_id != target.conference_id:
        raise DomainError(_("This topic belongs to another conference."), "bad_topic")
    if not target.active:
        raise DomainError(_("Merge into an active topic."), "topic_retired")
    with transaction.atomic():
        source = Topic.objects.select_for_update().get(pk=source.pk)
        moved = Opinion.objects.filter(topic=source).update(topic=target, updated_at=timezone.now())
        Opinion.objects.filter(suggested_topic=source).update(suggested_topic=target)
        keywords = _clean_keywords(list(target.keywords) + list(source.keywords))
        Topic.objects.filter(pk=target.pk).update(keywords=keywords, updated_at=timezone.now())
        source.active = False
        source.save(update_fields=["active", "updated_at"])
        _topic_audit(user, "merge", source, before={"active": True},
                     after={"merged_into": target.pk, "items": moved})
    target.refresh_from_db()
    return target


def accept_proposal(user, proposal: TopicProposal, name: str | None = None) -> Topic:
    """Turn a proposed topic into a topic of the conference; its terms become keywords."""
    _require_topic_editor(user, proposal.conference)
    with transaction.atomic():
        proposal = TopicProposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.status != TopicProposal.Status.PROPOSED:
            raise DomainError(_("This proposal has already been handled."), "proposal_handled")
        topic = add_topic(user, proposal.conference, name or proposal.name, proposal.terms)
        proposal.status, proposal.topic = TopicProposal.Status.ACCEPTED, topic
        proposal.save(update_fields=["status", "topic"])
    return topic


def dismiss_proposal(user, proposal: TopicProposal) -> TopicProposal:
    _require_topic_editor(user, proposal.conference)
    with transaction.atomic():
        proposal = TopicProposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.status != TopicProposal.Status.PROPOSED:
            raise DomainError(_("This proposal has already been handled."), "proposal_handled")
        proposal.status = TopicProposal.Status.DISMISSED
        proposal.save(update_fields=["status"])
        audit.record(user, "voice.topic.dismiss_proposal", proposal, unit_path=proposal.conference.host_unit.path)
    return proposal


# --- queues -------------------------------------------------------------------------------------

def moderation_queue(user, conference):
    """Pending items whose level lies in the moderator's scope, oldest first."""
    scope = scope_for(user)
    if not scope.has_role(*MODERATOR_ROLES):
        return Opinion.objects.none()
    qs = Opinion.objects.filter(conference=conference, status=Opinion.Status.PENDING)
    return scope.filter(qs, "at_unit__path", "moderate").select_related("author_unit", "at_unit", "topic",
                                                            "suggested_topic").order_by("created_at")


def _ranking(qs):
    return qs.order_by(-(F("upvotes") + F("agree")), "-raised_by_units", "-raised_by_people", "created_at")


def ranked(user, conference, unit: Unit | None = None, include_below: bool = False):
    """The approved items that have come up to a level, ranked by votes and how many raised them.

    ``unit`` defaults to the top of the user's scope; with ``include_below`` the items still at
    lower levels of its subtree are included too.
    """
    scope = scope_for(user)
    if unit is None:
        unit = scope.roots().order_by("depth", "path").first()
        if unit is None:
            return Opinion.objects.none()
    scope.require(unit)
    qs = Opinion.objects.filter(conference=conference, status__in=VISIBLE)
    qs = qs.filter(at_unit__path__startswith=unit.path) if include_below else qs.filter(at_unit=unit)
    return _ranking(scope.filter(qs, "at_unit__path").select_related("author_unit", "at_unit", "topic"))


def national(user, conference):
    """The ministry's list: items forwarded to the top of the tree, merged duplicates folded in."""
    top = Unit.objects.filter(parent__isnull=True).order_by("path").first()
    if top is None:
        return Opinion.objects.none()
    return ranked(user, conference, unit=top)


def suggested_duplicates(user, conference, threshold: float = textsim.DEFAULT_THRESHOLD):
    """Clusters of items in the moderator's scope that look like the same thing, for merging."""
    scope = scope_for(user)
    qs = Opinion.objects.filter(conference=conference,
                                status__in=[Opinion.Status.PENDING, Opinion.Status.APPROVED])
    items = list(scope.filter(qs, "at_unit__path").order_by("pk")[:5000])
    if len(items) < 2:
        return []
    clusters = textsim.find_duplicates([o.text for o in items], threshold=threshold,
                                       featurizer=textsim.default_featurizer())
    # Approved items first: the moderator merges the others into the first one.
    return [sorted((items[i] for i in group), key=lambda o: (o.status != Opinion.Status.APPROVED, o.pk))
            for group in clusters.groups(min_size=2)]


def my_opinions(person, conference):
    """A participant's own items, with their status and any rejection reason."""
    return Opinion.objects.filter(conference=conference, author=person).select_related("merged_into")
