"""Items that say much the same thing: the similar items shown while writing, and duplicates for merging.

The per-conference similarity index is kept in process and updated item by item: each call reads
the conference's items changed since the last one (``updated_at``) and adds, replaces or removes
just those; it is rebuilt only when items vanished from the table. Suggested duplicates are
clustered over the whole conference (all its pending and approved items), kept per conference
until an item changes, and each moderator sees the groups of their own scope.
"""

import threading
from dataclasses import dataclass, field

from django.db.models import Count, Max

from diemcau.core.vntext import nfc
from diemcau.orgs.scoping import scope_for

from . import near_duplicates, textsim
from .access import VISIBLE, visible_opinions
from .models import MAX_TEXT, Opinion
from .stamped import StampedCache


@dataclass
class _Live:
    """A conference's typing index and what it has applied: the updated_at of each item seen."""

    index: near_duplicates.SimilarityIndex
    seen: dict = field(default_factory=dict)
    since: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_live: dict[int, _Live] = {}
_live_lock = threading.Lock()


def _apply(live: _Live, rows) -> None:
    """Add, replace or remove the items of ``rows`` (pk, text, status, updated_at) not applied yet."""
    add_keys, add_texts = [], []
    for pk, text, status, updated in rows:
        if live.seen.get(pk) == updated:
            continue
        live.seen[pk] = updated
        if status in VISIBLE:
            add_keys.append(pk)
            add_texts.append(text)
        else:
            live.index.remove(pk)
        if live.since is None or updated > live.since:
            live.since = updated
    if add_keys:
        live.index.add_many(add_keys, add_texts)


def _index(conference) -> near_duplicates.SimilarityIndex:
    """The conference's index of visible items, kept in process and updated per changed item."""
    items = Opinion.objects.filter(conference=conference)
    with _live_lock:
        live = _live.get(conference.pk)
        if live is None:
            live = _live[conference.pk] = _Live(near_duplicates.SimilarityIndex(textsim.default_featurizer()))
    with live.lock:
        changed = items if live.since is None else items.filter(updated_at__gte=live.since)
        _apply(live, changed.values_list("pk", "text", "status", "updated_at").order_by("updated_at", "pk"))
        if len(live.index) != items.filter(status__in=VISIBLE).count():
            # Rows deleted outright (a conference's clean-up): start again from the table.
            fresh = _Live(near_duplicates.SimilarityIndex(textsim.default_featurizer()))
            _apply(fresh, items.values_list("pk", "text", "status", "updated_at").order_by("updated_at", "pk"))
            live.index, live.seen, live.since = fresh.index, fresh.seen, fresh.since
        return live.index


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


_MERGEABLE = (Opinion.Status.PENDING, Opinion.Status.APPROVED)
_clusters: StampedCache[tuple[dict[int, int], list[tuple[int, int]]]] = StampedCache()


def conference_clusters(conference) -> tuple[dict[int, int], list[tuple[int, int]]]:
    """Cluster label of each pending or approved item of the whole conference (pk → label), and the
    pairs close enough to merge that were refused as opposite opinions ("ý kiến trái chiều").

    Through the product's merge path (:func:`near_duplicates.duplicate_clusters`); kept per
    conference until an item changes.
    """
    qs = Opinion.objects.filter(conference=conference, status__in=_MERGEABLE)
    stamp = tuple(qs.aggregate(n=Count("pk"), m=Max("updated_at")).values())

    def build():
        rows = list(qs.order_by("pk").values_list("pk", "text"))
        if len(rows) < 2:
            return {}, []
        found = near_duplicates.duplicate_clusters([t for _pk, t in rows])
        labels = {pk: int(label) for (pk, _t), label in zip(rows, found.labels, strict=True)}
        return labels, [(rows[i][0], rows[j][0]) for i, j, _score in found.opposed]

    return _clusters.get(conference.pk, stamp, build)


def suggested_duplicates(user, conference):
    """Clusters of items in the moderator's scope that look like the same thing, for merging.

    Clustered over the whole conference, then cut to the moderator's scope: two items of the scope
    are suggested together when they are in one cluster, never across opposite polarity.
    """
    labels, _opposed = conference_clusters(conference)
    if not labels:
        return []
    scope = scope_for(user)
    qs = Opinion.objects.filter(conference=conference, status__in=_MERGEABLE)
    in_scope = scope.filter(qs, "at_unit__path").values_list("pk", flat=True)
    by_label: dict[int, list[int]] = {}
    for pk in in_scope:
        if pk in labels:
            by_label.setdefault(labels[pk], []).append(pk)
    wanted = [pks for pks in by_label.values() if len(pks) >= 2]
    if not wanted:
        return []
    found = Opinion.objects.in_bulk([pk for pks in wanted for pk in pks])
    groups = [[found[pk] for pk in pks if pk in found] for pks in wanted]
    # Approved items first: the moderator merges the others into the first one. Largest first.
    groups = [sorted(g, key=lambda o: (o.status != Opinion.Status.APPROVED, o.pk)) for g in groups if len(g) >= 2]
    groups.sort(key=lambda g: (-len(g), g[0].pk))
    return groups


def opposed_pairs(user, conference, limit: int = 50) -> list[tuple[Opinion, Opinion]]:
    """Pairs of items in the moderator's scope that look alike but say opposite things.

    Shown as "ý kiến trái chiều": never suggested for merging, and :func:`moderation.merge` refuses them.
    """
    _labels, opposed = conference_clusters(conference)
    if not opposed:
        return []
    pks = {pk for pair in opposed for pk in pair}
    qs = Opinion.objects.filter(conference=conference, status__in=_MERGEABLE, pk__in=pks)
    found = {o.pk: o for o in scope_for(user).filter(qs, "at_unit__path")}
    pairs, seen = [], set()
    for a, b in opposed:
        key = (min(a, b), max(a, b))
        if a in found and b in found and key not in seen:
            seen.add(key)
            pairs.append((found[key[0]], found[key[1]]))
    return pairs[:limit]
