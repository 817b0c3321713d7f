"""Opinions and questions over JSON: submit, similar while typing, vote, and moderation.

Every handler calls the voice services (``opinions``, ``similar``, ``moderation``, ...); a
conference the caller does not take part in (:func:`events.access.visible_conference`, the events module's
rule), its items, and items outside the caller's scope answer 404, as if they did not exist. No GET writes anything.

| request                                              | body                      | reply          |
|------------------------------------------------------|---------------------------|----------------|
| GET  /voice/conferences/{id}/topics/                 |                           | [TopicOut]     |
| POST /voice/conferences/{id}/opinions/               | SubmitIn                  | OpinionOut 201 |
| GET  /voice/conferences/{id}/opinions/?unit=&below=  |                           | [OpinionOut]   |
| GET  /voice/conferences/{id}/similar/?q=             |                           | [SimilarOut]   |
| GET  /voice/conferences/{id}/queue/                  |                           | [OpinionOut]   |
| GET  /voice/conferences/{id}/mine/                   |                           | [MineOut]      |
| POST /voice/opinions/{id}/vote/                      | {kind}                    | VoteOut        |
| POST /voice/opinions/{id}/approve/ · forward/        |                           | OpinionOut     |
| POST /voice/opinions/{id}/reject/                    | {reason}                  | OpinionOut     |
| POST /voice/opinions/{id}/edit/                      | {text}                    | OpinionOut     |
| POST /voice/opinions/{id}/tag/                       | {topic_id or null}        | OpinionOut     |
| POST /voice/opinions/{id}/merge/                     | {target_id}               | OpinionOut     |
| GET  /voice/conferences/{id}/on-air/                 |                           | OnAirOut       |
| POST /voice/opinions/{id}/on-air/                    | {previous}                | OpinionOut     |
| POST /voice/opinions/{id}/answer/                    | {answer, answer_time}     | OpinionOut     |
| POST /voice/opinions/{id}/off-air/                   |                           | OpinionOut     |

``SubmitIn.point_id``: the bridge point whose kiosk the item is typed at (accepted for the point's
operator or its assigned schools' people; limited per point). The live actions are the director's
(404 for anyone else); ``on-air`` answers any signed-in user whose tree reaches the conference.

Errors: 400 ``{code, message}`` with the services' codes (``empty``, ``too_long``,
``rate_limited_person``, ``rate_limited_unit``, ``rate_limited_point``, ``bad_point``, ``not_approved``,
``not_on_air``, ``bad_answer_time``, ``not_open``, ``merge_self``, ``merge_cycle``, ...),
404 ``not_found`` for anything outside the caller's scope.
"""

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from diemcau.core.errors import ScopeError
from diemcau.events import access as event_access
from diemcau.events.models import Conference, Session
from diemcau.orgs.models import Person, Unit

from . import access, moderation, opinions, topic_list
from . import on_air as voice_on_air
from . import similar as voice_similar
from .models import Opinion, Topic

router = Router(tags=["voice"])


class TopicOut(Schema):
    id: int
    key: str
    name: str


class OpinionOut(Schema):
    id: int
    kind: str
    text: str
    status: str
    topic: TopicOut | None = None
    suggested_topic: TopicOut | None = None
    unit: str | None = Field(None, description="The author's unit; null when anonymous")
    at_unit_id: int | None = Field(None, description="The level reached; null while an anonymous item is still "
                                                    "at its author's unit")
    upvotes: int
    agree: int
    disagree: int
    passes: int
    raised_by_people: int
    raised_by_units: int

    @staticmethod
    def resolve_at_unit_id(obj):
        level = obj.shown_level
        return level.pk if level else None

    @staticmethod
    def resolve_unit(obj):
        unit = obj.shown_unit
        return unit.name if unit else None


class SimilarOut(OpinionOut):
    score: float


class MineOut(OpinionOut):
    reject_reason: str
    merged_into_id: int | None


class SubmitIn(Schema):
    text: str
    kind: str = "question"
    session_id: int | None = None
    topic_id: int | None = None
    anonymous: bool = False
    point_id: int | None = None


class OnAirOut(Schema):
    conference_id: int
    opinion: OpinionOut | None = Field(None, description="The item being answered; null when none")


class OnAirIn(Schema):
    previous: str = Field("answered", description="What becomes of the item on screen: answered or return")


class AnswerIn(Schema):
    answer: str = ""
    answer_time: str = Field("", description="hh:mm:ss in the recording")


class VoteIn(Schema):
    kind: str


class VoteOut(Schema):
    created: bool
    opinion: OpinionOut


class ReasonIn(Schema):
    reason: str


class TextIn(Schema):
    text: str


class TagIn(Schema):
    topic_id: int | None = None


class MergeIn(Schema):
    target_id: int
    # Required to merge opposite opinions (``merge_opposite`` otherwise); recorded and shown.
    override_reason: str = ""


def _person(request) -> Person | None:
    person = Person.objects.filter(user=request.user).select_related("unit").first()
    if person is not None:
        person.user = request.user  # the account is loaded already: no second look-up
    return person


def _conference(request, conference_id) -> Conference:
    """The conference, if the caller takes part in it; 404 otherwise (ScopeError)."""
    return event_access.visible_conference(request.user, conference_id)


def _opinion(request, opinion_id) -> Opinion:
    """An item of a conference the caller takes part in; 404 otherwise (ScopeError)."""
    return access.opinion_for(request.user, opinion_id)


def _moderated(request, opinion_id) -> Opinion:
    """The item, if the caller may moderate it; 404 otherwise."""
    opinion = _opinion(request, opinion_id)
    if not access.can_moderate(request.user, opinion):
        raise ScopeError()
    return opinion


@router.get("/conferences/{conference_id}/topics/", response=list[TopicOut], summary="The conference's topics")
def list_topics(request, conference_id: int):
    return topic_list.active_topics(_conference(request, conference_id))


@router.post("/conferences/{conference_id}/opinions/", response={201: OpinionOut},
             summary="Send a question or an opinion")
def submit(request, conference_id: int, payload: SubmitIn):
    conference = _conference(request, conference_id)
    session = topic = None
    if payload.session_id is not None:
        session = get_object_or_404(Session, pk=payload.session_id, conference=conference)
    if payload.topic_id is not None:
        topic = get_object_or_404(Topic, pk=payload.topic_id, conference=conference)
    person = _person(request)
    point = opinions.kiosk_point(request.user, person, conference, payload.point_id)
    opinion = opinions.submit(person, conference, payload.text, kind=payload.kind, session=session,
                              topic=topic, anonymous=payload.anonymous, point=point)
    return Status(201, opinion)


@router.get("/conferences/{conference_id}/opinions/", response=list[OpinionOut],
            summary="Items that came up to a level, ranked")
def list_ranked(request, conference_id: int, unit: int | None = None, below: bool = False):
    conference = _conference(request, conference_id)
    level = get_object_or_404(Unit, pk=unit) if unit is not None else None
    return list(moderation.ranked(request.user, conference, unit=level, include_below=below)[:200])


@router.get("/conferences/{conference_id}/similar/", response=list[SimilarOut],
            summary="Visible items similar to a text being typed")
def similar(request, conference_id: int, q: str = ""):
    return voice_similar.similar(_conference(request, conference_id), q[:2000], request.user)


@router.get("/conferences/{conference_id}/queue/", response=list[OpinionOut], summary="Items awaiting moderation")
def queue(request, conference_id: int):
    return list(moderation.moderation_queue(request.user, _conference(request, conference_id))[:200])


@router.get("/conferences/{conference_id}/mine/", response=list[MineOut], summary="The caller's own items")
def mine(request, conference_id: int):
    conference = _conference(request, conference_id)
    person = _person(request)
    if person is None:
        return []
    return list(opinions.my_opinions(person, conference))


@router.post("/opinions/{opinion_id}/vote/", response=VoteOut, summary="Upvote, agree, disagree or pass")
def vote(request, opinion_id: int, payload: VoteIn):
    opinion, person = access.vote_target(request.user, opinion_id)  # one statement: the item and the voter
    if person is None and not access.can_see(request.user, opinion):
        raise ScopeError()  # out of reach is "not found" before "not a participant"
    _, created = opinions.vote(person, opinion, payload.kind)
    if not created:
        opinion.refresh_from_db()
    return {"created": created, "opinion": opinion}


@router.post("/opinions/{opinion_id}/approve/", response=OpinionOut, summary="Approve a pending item")
def approve(request, opinion_id: int):
    return moderation.approve(request.user, _moderated(request, opinion_id))


@router.post("/opinions/{opinion_id}/reject/", response=OpinionOut, summary="Reject with a reason for the author")
def reject(request, opinion_id: int, payload: ReasonIn):
    return moderation.reject(request.user, _moderated(request, opinion_id), payload.reason)


@router.post("/opinions/{opinion_id}/edit/", response=OpinionOut, summary="Fix typos (original kept in the log)")
def edit(request, opinion_id: int, payload: TextIn):
    return moderation.edit(request.user, _moderated(request, opinion_id), payload.text)


@router.post("/opinions/{opinion_id}/tag/", response=OpinionOut, summary="Set the topic")
def tag(request, opinion_id: int, payload: TagIn):
    opinion = _moderated(request, opinion_id)
    topic = None
    if payload.topic_id is not None:
        topic = get_object_or_404(Topic, pk=payload.topic_id, conference_id=opinion.conference_id)
    return moderation.tag(request.user, opinion, topic)


@router.post("/opinions/{opinion_id}/forward/", response=OpinionOut, summary="Send one level up the tree")
def forward(request, opinion_id: int):
    return moderation.forward(request.user, _moderated(request, opinion_id))


@router.post("/opinions/{opinion_id}/merge/", response=OpinionOut, summary="Merge into another item")
def merge(request, opinion_id: int, payload: MergeIn):
    source = _moderated(request, opinion_id)
    target = _moderated(request, payload.target_id)
    return moderation.merge(request.user, source, target, override_reason=payload.override_reason)


# --- live -----------------------------------------------------------------------------------

def _directed(request, opinion_id) -> Opinion:
    """The item, if the caller directs its conference; 404 otherwise."""
    opinion = _opinion(request, opinion_id)
    if not event_access.can_direct(request.user, opinion.conference):
        raise ScopeError()
    return opinion


@router.get("/conferences/{conference_id}/on-air/", response=OnAirOut, summary="The item being answered now")
def on_air(request, conference_id: int):
    conference = _conference(request, conference_id)
    return {"conference_id": conference.pk, "opinion": voice_on_air.on_air(conference)}


@router.post("/opinions/{opinion_id}/on-air/", response=OpinionOut, summary="Put an approved item on screen")
def put_on_air(request, opinion_id: int, payload: OnAirIn):
    return voice_on_air.put_on_air(request.user, _directed(request, opinion_id), previous=payload.previous)


@router.post("/opinions/{opinion_id}/answer/", response=OpinionOut, summary="Record the answer of the item on screen")
def answer(request, opinion_id: int, payload: AnswerIn):
    return voice_on_air.answer(request.user, _directed(request, opinion_id), payload.answer, payload.answer_time)


@router.post("/opinions/{opinion_id}/off-air/", response=OpinionOut, summary="Take the item off screen, unanswered")
def off_air(request, opinion_id: int):
    return voice_on_air.take_off_air(request.user, _directed(request, opinion_id))
