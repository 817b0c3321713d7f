"""Items that say much the same thing: the similar items shown while writing, and duplicates for merging.

The per-conference similarity index is kept in process and rebuilt when the visible items change.
"""


from django.db.models import Count, Max

from diemcau.core.vntext import nfc
from diemcau.orgs.scoping import scope_for

from . import near_duplicates, textsim
from .access import VISIBLE, visible_opinions
from .models import MAX_TEXT, Opinion
from .stamped import StampedCache

_indexes: StampedCache[near_duplicates.SimilarityIndex] = StampedCache()


# --- similar items ------------------------------------------------------------------------------

def _index(conference) -> near_duplicates.SimilarityIndex:
    """The conference's index of visible items, kept in process and rebuilt when items change."""
    visible = Opinion.objects.filter(conference=conference, status__in=VISIBLE)
    stamp = tuple(visible.aggregate(n=Count("pk"), m=Max("updated_at")).values())

    def build():
        index = near_duplicates.SimilarityIndex(textsim.default_featurizer())
        rows = list(visible.values_list("pk", "text"))
        if rows:
            index.add_many([r[0] for r in rows], [r[1] for r in rows])
        return index

    return _indexes.get(conference.pk, stamp, build)


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


def suggested_duplicates(user, conference, threshold: float = near_duplicates.DEFAULT_THRESHOLD):
    """Clusters of items in the moderator's scope that look like the same thing, for merging."""
    scope = scope_for(user)
    qs = Opinion.objects.filter(conference=conference,
                                status__in=[Opinion.Status.PENDING, Opinion.Status.APPROVED])
    items = list(scope.filter(qs, "at_unit__path").order_by("pk")[:5000])
    if len(items) < 2:
        return []
    clusters = near_duplicates.find_duplicates([o.text for o in items], threshold=threshold,
                                       featurizer=textsim.default_featurizer())
    # Approved items first: the moderator merges the others into the first one.
    return [sorted((items[i] for i in group), key=lambda o: (o.status != Opinion.Status.APPROVED, o.pk))
            for group in clusters.groups(min_size=2)]
