"""Items that say much the same thing: the similar items shown while writing, and duplicates for merging.

The per-conference similarity index is kept in process and updated item by item: each call reads
the conference's items changed since the last one (``updated_at``) and adds, replaces or removes
just those; it is rebuilt only when items vanished from the table. Suggested duplicates are
clustered over the whole conference (all its pending and approved items) by the background job of
:mod:`.stored` and stored (:class:`~.models.StoredDuplicates`); pages read what is stored, and each
moderator sees the groups of their own scope.
"""

import threading
from dataclasses import dataclass, field

from diemcau.core.vntext import nfc
from diemcau.orgs.scoping import scope_for

from . import near_duplicates, textsim
from .access import VISIBLE, visible_opinions
from .models import MAX_TEXT, Opinion, StoredDuplicates
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


@dataclass(frozen=True)
class Clusters:
    """Likely duplicates of a conference: the clusters of two or more items, and the opposite pairs."""

    clusters: list[list[int]]
    opposed: list[tuple[int, int]]
    items: int = 0

    @property
    def labels(self) -> dict[int, int]:
        """The cluster of each clustered item (pk → its cluster's index)."""
        return {pk: n for n, pks in enumerate(self.clusters) for pk in pks}


def conference_clusters(conference) -> Clusters:
    """Cluster every pending or approved item of the whole conference (the background job's work).

    Through the product's merge path (:func:`near_duplicates.duplicate_clusters`), which also says
    which pairs were close enough to merge but refused as opposite opinions ("ý kiến trái chiều").
    """
    rows = list(Opinion.objects.filter(conference=conference, status__in=_MERGEABLE)
                .order_by("pk").values_list("pk", "text"))
    if len(rows) < 2:
        return Clusters([], [], len(rows))
    found = near_duplicates.duplicate_clusters([t for _pk, t in rows])
    by_label: dict[int, list[int]] = {}
    for (pk, _t), label in zip(rows, found.labels, strict=True):
        by_label.setdefault(int(label), []).append(pk)
    clusters = [pks for pks in by_label.values() if len(pks) >= 2]
    return Clusters(clusters, [(rows[i][0], rows[j][0]) for i, j, _score in found.opposed], len(rows))


_stored: StampedCache[Clusters] = StampedCache()


def stored_clusters(conference) -> Clusters:
    """The clusters the background job stored last (none before its first run); read, never computed.

    Kept in process per conference until the job stores newer ones (its ``computed_at``).
    """
    stamp = StoredDuplicates.objects.filter(conference=conference).values_list("computed_at", flat=True).first()
    if stamp is None:
        return Clusters([], [])

    def load():
        row = StoredDuplicates.objects.filter(conference=conference).values("clusters", "opposed", "items").first()
        if not row or row["clusters"] is None:
            return Clusters([], [])
        return Clusters(row["clusters"], [tuple(p) for p in row["opposed"] or []], row["items"])

    return _stored.get(conference.pk, stamp, load)


def suggested_duplicates(user, conference) -> list[list[Opinion]]:
    """Clusters of items in the moderator's scope that look like the same thing, for merging.

    Read from the conference's stored clusters (over the whole conference, by the background job of
    :mod:`.stored`), then cut to the moderator's scope: two items of the scope are suggested
    together when they are in one cluster, never across opposite polarity. Items merged, rejected or
    out of scope since the clusters were stored drop out; new ones join at the next recomputation.
    """
    labels = stored_clusters(conference).labels
    if not labels:
        return []
    scope = scope_for(user)
    qs = Opinion.objects.filter(conference=conference, status__in=_MERGEABLE, pk__in=list(labels))
    in_scope = scope.filter(qs, "at_unit__path").values_list("pk", flat=True)
    by_label: dict[int, list[int]] = {}
    for pk in in_scope:
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
    """Pairs of items in the moderator's scope that look alike but say opposite things (stored).

    Shown as "ý kiến trái chiều": never suggested for merging, and :func:`moderation.merge` refuses them.
    """
    opposed = stored_clusters(conference).opposed
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
