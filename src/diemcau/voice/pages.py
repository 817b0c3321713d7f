"""What the moderation queue and the ranked list show, for the page and for its websocket alike."""

from dataclasses import dataclass

from django.core.paginator import Paginator

from diemcau.core.vntext import by_name
from diemcau.events import access as event_access
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import scope_for

from . import access, analysis, moderation, similar, stored, topic_list
from .models import Opinion

PAGE_SIZE = 25
PEERS_SHOWN = 3


@dataclass
class QueueFilters:
    """What the moderator narrowed the queue to; the defaults are the live view (pending, page 1)."""

    status: str = "pending"  # pending | approved | all
    topic: str = ""  # a topic's id, "none" (no topic yet) or "" (any)
    unit: str = ""  # a unit's id in the moderator's scope: items at its level or below
    duplicates: bool = False  # only items with likely duplicates
    page: str = "1"

    @classmethod
    def from_query(cls, query) -> "QueueFilters":
        status = query.get("status", "pending")
        return cls(status=status if status in ("pending", "approved", "all") else "pending",
                   topic=query.get("topic", "")[:12], unit=query.get("unit", "")[:12],
                   duplicates=query.get("dups") == "1", page=query.get("page", "1")[:8])

    @property
    def is_default(self) -> bool:
        return self == QueueFilters(page=self.page) and self.page in ("", "1")


def _queue(user, conference, filters: QueueFilters, peers: dict):
    statuses = {"pending": [Opinion.Status.PENDING], "approved": [Opinion.Status.APPROVED],
                "all": [Opinion.Status.PENDING, Opinion.Status.APPROVED]}[filters.status]
    qs = scope_for(user).filter(Opinion.objects.filter(conference=conference, status__in=statuses),
                                "at_unit__path", "moderate")
    if filters.topic == "none":
        qs = qs.filter(topic__isnull=True)
    elif filters.topic.isdigit():
        qs = qs.filter(topic_id=int(filters.topic))
    if filters.unit.isdigit():
        unit = Unit.objects.filter(pk=int(filters.unit)).first()
        qs = qs.filter(at_unit__path__startswith=unit.path) if unit else qs.none()
    if filters.duplicates:
        qs = qs.filter(pk__in=list(peers))
    return qs.select_related("author_unit", "at_unit", "topic", "suggested_topic").order_by("created_at", "pk")


def _peers(groups) -> dict:
    """Each item of a duplicate cluster -> the other items of its cluster (approved ones first)."""
    peers = {}
    for group in groups:
        for item in group:
            peers[item.pk] = [other for other in group if other.pk != item.pk]
    return peers


def _unit_choices(user) -> list[Unit]:
    """The units a moderator narrows by: the tops of their scope and the level below them."""
    scope = scope_for(user)
    roots = list(scope.roots("moderate").order_by("depth", by_name())[:20])
    children = list(Unit.objects.filter(parent__in=roots, is_active=True)
                    .exclude(kind=Unit.Kind.INSTITUTION).order_by(by_name())[:200])
    return roots + children


def moderation_context(user, conference, filters: QueueFilters | None = None) -> dict:
    """The moderator's queue, a page at a time and filtered, each item beside its likely duplicates
    (the voice engine's clusters, stored by the background job: read with their age, never computed
    here); and what reached this level."""
    filters = filters or QueueFilters()
    duplicates = stored.duplicates_for(conference)
    groups = similar.suggested_duplicates(user, conference)
    peers = _peers(groups)
    page = Paginator(_queue(user, conference, filters, peers), PAGE_SIZE).get_page(filters.page)
    page.object_list = list(page.object_list)
    for item in page.object_list:
        item.peers = peers.get(item.pk, [])[:PEERS_SHOWN]
    # The moderator's whole subtree: items approved at a school still need forwarding or merging.
    level = list(moderation.ranked(user, conference, include_below=True)[:200])
    return {"conference": conference, "queue": page.object_list, "page": page, "filters": filters,
            "live": filters.is_default, "level": level if filters.is_default else [],
            "groups": groups, "duplicates": duplicates, "opposed": similar.opposed_pairs(user, conference),
            "topics": topic_list.active_topics(conference), "targets": level,
            "units": _unit_choices(user), "can_edit_topics": access.can_edit_topics(user, conference)}


def ranked_context(user, conference, below: bool) -> dict:
    """What came up to the user's level (the ministry: the national list), ranked, with counts."""
    return {"conference": conference, "below": below,
            "items": list(moderation.ranked(user, conference, include_below=below)[:500]),
            "can_direct": event_access.can_direct(user, conference),
            "can_analyse": analysis.can_analyse(user)}
