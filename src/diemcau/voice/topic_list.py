"""A conference's topic list: seeding, suggesting a topic for a text, and editing the list.
"""


from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.core.vntext import fold, nfc

from . import textsim
from . import topics as topic_engine
from .access import require_topic_editor
from .models import Opinion, Topic, TopicProposal
from .stamped import StampedCache

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


_suggesters: StampedCache[topic_engine.TopicSuggester] = StampedCache()
# From this many labels a fit takes seconds (~8 s CPU at 11,000): it is done in a thread, and the
# teacher whose submission noticed the change is served by the previous model meanwhile.
REFIT_IN_BACKGROUND_FROM = 2000


def _suggester(conference) -> topic_engine.TopicSuggester:
    """A TopicSuggester for the conference: keywords first, then moderators' choices once tagged."""
    topics = ensure_topics(conference)
    labelled = Opinion.objects.filter(conference=conference, topic__isnull=False, topic__active=True).exclude(
        status__in=[Opinion.Status.REJECTED, Opinion.Status.PENDING])
    n_labelled, last_change = labelled.aggregate(n=Count("pk"), m=Max("updated_at")).values()
    stamp = (tuple((t.pk, t.updated_at) for t in topics), (n_labelled, last_change))
    engine_topics = [topic_engine.Topic(t.key, t.name, tuple(t.keywords)) for t in topics]

    def load():
        return list(labelled.values_list("text", "topic__key"))

    def fit(rows):
        return topic_engine.learned_suggester(engine_topics, [r[0] for r in rows], [r[1] for r in rows],
                                              featurizer=textsim.default_featurizer())

    if n_labelled >= REFIT_IN_BACKGROUND_FROM:
        return _suggesters.get_refreshing(conference.pk, stamp, load, fit)
    return _suggesters.get(conference.pk, stamp, lambda: fit(load()))


def suggest_topic(conference, text: str) -> Topic | None:
    suggestions = _suggester(conference).suggest(text, k=1)
    if not suggestions:
        return None
    return conference.voice_topics.filter(key=suggestions[0].key).first()


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
    require_topic_editor(user, conference)
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
    require_topic_editor(user, topic.conference)
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
    require_topic_editor(user, topic.conference)
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
    require_topic_editor(user, source.conference)
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
    require_topic_editor(user, proposal.conference)
    with transaction.atomic():
        proposal = TopicProposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.status != TopicProposal.Status.PROPOSED:
            raise DomainError(_("This proposal has already been handled."), "proposal_handled")
        topic = add_topic(user, proposal.conference, name or proposal.name, proposal.terms)
        proposal.status, proposal.topic = TopicProposal.Status.ACCEPTED, topic
        proposal.save(update_fields=["status", "topic"])
    return topic


def dismiss_proposal(user, proposal: TopicProposal) -> TopicProposal:
    require_topic_editor(user, proposal.conference)
    with transaction.atomic():
        proposal = TopicProposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.status != TopicProposal.Status.PROPOSED:
            raise DomainError(_("This proposal has already been handled."), "proposal_handled")
        proposal.status = TopicProposal.Status.DISMISSED
        proposal.save(update_fields=["status"])
        audit.record(user, "voice.topic.dismiss_proposal", proposal, unit_path=proposal.conference.host_unit.path)
    return proposal
