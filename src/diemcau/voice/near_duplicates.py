"""Near-duplicate texts: exact similarities of many texts to many, the in-memory index that finds
the items most similar to a text being typed, and duplicate clusters for merging; all on the
feature rows of :mod:`diemcau.voice.textsim`.

Scoring many texts against many texts (:func:`_similarities`) splits the columns in two: those
several of the compared rows use (common n-grams and words), multiplied as dense arrays by BLAS,
and the long tail, multiplied as sparse matrices. Either half alone is slow (a sparse product is
dominated by the few columns nearly every text has, a dense one by the width); together they are
fast, and exact.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .lexicon import opposite
from .textsim import N_COLUMNS, Featurizer, Progress, TextMeta, default_featurizer, training_texts

# Score at or above which two items of full length are called duplicates: with the rest of
# DEFAULT_RULE, the lowest threshold whose pairwise precision on the development files pooled (three
# writers: data/eval_train.tsv, eval_heldout.tsv, eval_heldout2.tsv, each clustered on its own, the
# featurizer fitted on their texts) is at least 0.95: 0.38 gives precision 0.963, recall 0.528
# (0.325, chosen on eval_train alone until session 9, gives 0.914 / 0.609 there). Moderators merge
# what is suggested, so a wrong merge costs more than a missed one. bench/voice_lofo.py measures
# this choice leave-one-file-out (docs/BENCHMARKS.md, "Session 10: duplicates on three writers").
DEFAULT_THRESHOLD = 0.38
# Background closeness (MatchRule.generic_weight) and average linkage (.link_share) are OFF.
# bench/voice_tune.py, on the training file only (grouped CV over families, whole-file clustering),
# prefers background closeness chosen at precision 0.97: threshold 0.28, weight 2.0, center 0.231,
# CV precision 0.959 / recall 0.765 against 0.875 / 0.664 for this rule tuned the same way. On the
# held-out file that rule gave precision 0.783, recall 0.771 (this rule: 0.922 / 0.779): texts of a
# topic the background does not cover look "specific", their threshold falls, and one weak link
# ("bệnh thành tích" / "bệnh nghề nghiệp") merged two groups. Not shipped; docs/BENCHMARKS.md.
# Session 9: that CV took each item's background as the file minus its own family (the labels cut
# exactly its duplicates); with a label-free background (the other folds: voice_tune --background
# folds) the rule gains no recall at precision ≥ 0.95 (0.979 / 0.705 against 0.972 / 0.625 for this
# rule chosen alike, and 0.934 / 0.714 chosen at 0.95 as DEFAULT_THRESHOLD was).
GENERIC_WEIGHT = 0.0
GENERIC_CENTER = 0.231
LINK_SHARE = 0.0
# A yes/no question against a statement (MatchRule.question_penalty): off; in grouped CV on the
# training file it costs recall and, chosen on four folds, precision on the fifth (docs/BENCHMARKS.md).
QUESTION_PENALTY = 0.0

# Whom an opinion is about or for: the people of a school named in its content words (after the
# synonyms of data/synonyms.tsv, so "GV", "thầy cô", "nhà giáo" are all giao_vien). Two texts that
# each name some of them but none in common are about different people, however many other words
# they share: a health check "cho giáo viên" is not one "cho học sinh", a house "cho giáo viên cắm
# bản" not a boarding house "cho học sinh" (MatchRule.role_check; docs/BENCHMARKS.md, session 10).
ROLES = (
    frozenset({"giao_vien", "gv", "nha_giao", "co_giao", "thay_giao", "thay_co"}),
    frozenset({"hoc_sinh", "hs", "hoc_tro"}),
    frozenset({"phu_huynh"}),
    frozenset({"hieu_truong", "hieu_pho", "can_bo_quan_ly"}),
)


def _compact(x: sp.csr_matrix, colmap: np.ndarray, width: int, dense: bool):
    """The part of x on the columns that colmap maps (≥ 0), renumbered; dense array or CSR."""
    mapped = colmap[x.indices]
    keep = mapped >= 0
    counts = np.add.reduceat(keep, x.indptr[:-1]) if x.nnz else np.zeros(x.shape[0], dtype=np.int64)
    counts[np.diff(x.indptr) == 0] = 0  # reduceat repeats the next value for empty rows
    indptr = np.zeros(x.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    out = sp.csr_matrix((x.data[keep], mapped[keep], indptr), shape=(x.shape[0], width))
    return out.toarray() if dense else out


def _similarities(q: sp.csr_matrix, m: sp.csr_matrix, max_dense: int = 500) -> np.ndarray:
    """Exact similarities (dot products) of the rows of q to the rows of m, as a dense q × m array.

    The columns that several rows of m use (the common n-grams and words) are multiplied as dense
    arrays, which BLAS does fast; the long tail of columns is multiplied as sparse matrices, which
    is cheap because each of those columns is in one or two rows of m.
    """
    df = np.bincount(m.indices, minlength=m.shape[1])
    dense_cols = np.flatnonzero(df > 2)
    if len(dense_cols) > max_dense:
        dense_cols = dense_cols[np.argsort(-df[dense_cols], kind="stable")[:max_dense]]
    colmap = np.full(m.shape[1], -1, dtype=np.int64)
    colmap[dense_cols] = np.arange(len(dense_cols))
    out = _compact(q, colmap, len(dense_cols), True) @ _compact(m, colmap, len(dense_cols), True).T
    sparse_cols = np.flatnonzero((df > 0) & (colmap < 0))
    colmap[:] = -1
    colmap[sparse_cols] = np.arange(len(sparse_cols))
    rest = _compact(q, colmap, len(sparse_cols), False) @ _compact(m, colmap, len(sparse_cols), False).T
    rest = rest.tocoo()
    out[rest.row, rest.col] += rest.data
    return out


@dataclass(frozen=True)
class Match:
    """An indexed item similar to a query, with its similarity (0..1)."""

    key: object
    score: float


class SimilarityIndex:
    """Finds the items most similar to a text, e.g. while its author types a new question.

    Items are kept as feature rows in memory: the bulk column-major, so that a query reads only the
    postings of its own features, and the items added since the last merge as a small row-major
    block, so that adding one item does not rebuild the bulk. The search is exact. A conference's
    index is built from the database at start and kept in step by the service that records
    opinions.
    """

    def __init__(self, featurizer: Featurizer | None = None, merge_at: int = 2000):
        self.featurizer = featurizer or default_featurizer()
        self.merge_at = merge_at
        self._keys: list = []
        self._signatures: list[tuple] = []
        self._pos: dict = {}
        self._alive = np.zeros(0, dtype=bool)
        self._bulk = sp.csc_matrix((0, 2 * N_COLUMNS), dtype=np.float32)
        self._recent = sp.csr_matrix((0, 2 * N_COLUMNS), dtype=np.float32)
        # The query spread over all columns, for scoring the recent rows by lookup; zeroed after use.
        self._query = np.zeros(2 * N_COLUMNS, dtype=np.float32)

    def __len__(self) -> int:
        return int(self._alive.sum())

    def add(self, key, text: str) -> None:
        """Index one item (replacing the text of an existing key)."""
        self.add_many([key], [text])

    def add_many(self, keys: Sequence, texts: Sequence[str]) -> None:
        """Index many items at once."""
        for key in keys:
            if key in self._pos:
                self._alive[self._pos[key]] = False
        start = len(self._keys)
        for i, key in enumerate(keys):
            self._pos[key] = start + i
        self._keys.extend(keys)
        rows, meta = self.featurizer.transform_meta(list(texts))
        self._signatures.extend(meta.signature(i) for i in range(len(keys)))
        self._alive = np.concatenate([self._alive, np.ones(len(keys), dtype=bool)])
        self._recent = sp.vstack([self._recent, rows], format="csr")
        if self._recent.shape[0] >= max(self.merge_at, self._bulk.shape[0] // 20):
            self._bulk = sp.vstack([self._bulk.tocsr(), self._recent], format="csc")
            self._recent = sp.csr_matrix((0, 2 * N_COLUMNS), dtype=np.float32)

    def remove(self, key) -> None:
        """Forget an item (e.g. merged into another or rejected)."""
        pos = self._pos.pop(key, None)
        if pos is not None:
            self._alive[pos] = False

    def keys(self) -> set:
        """The keys of the items indexed now."""
        return set(self._pos)

    def similar(self, text: str, k: int = 5, min_score: float = 0.25, exclude=None,
                same_polarity: bool = True) -> list[Match]:
        """Return up to k indexed items with similarity ≥ min_score to text, best first.

        :param same_polarity: leave out items of opposite polarity (a teacher who writes "không
            tăng" is not offered to vote for "tăng" instead).
        """
        if not self._keys or not text or not text.strip():
            return []
        q, q_meta = self.featurizer.transform_meta([text])
        mine = q_meta.signature(0)
        scores = np.zeros(len(self._keys), dtype=np.float32)
        n_bulk = self._bulk.shape[0]
        if n_bulk:
            scores[:n_bulk] = self._bulk[:, q.indices] @ q.data
        recent = self._recent
        if recent.nnz:
            self._query[q.indices] = q.data
            products = recent.data * self._query[recent.indices]
            self._query[q.indices] = 0.0
            nonempty = np.flatnonzero(np.diff(recent.indptr) > 0)
            scores[n_bulk + nonempty] = np.add.reduceat(products, recent.indptr[nonempty])
        scores[~self._alive] = 0
        hits = np.flatnonzero(scores >= min_score)
        hits = hits[np.lexsort((hits, -scores[hits]))]
        out = []
        for i in hits:
            if same_polarity and opposite(mine, self._signatures[i]):
                continue
            if self._keys[i] != exclude:
                out.append(Match(self._keys[i], float(scores[i])))
                if len(out) == k:
                    break
        return out


@dataclass
class DuplicateClusters:
    """The result of :func:`find_duplicates`: one cluster label per item."""

    labels: np.ndarray
    leaders: np.ndarray
    scores: np.ndarray
    #: (i, j, score): close enough to merge, refused because the two say opposite things.
    opposed: list = field(default_factory=list)

    @property
    def n_clusters(self) -> int:
        """Number of clusters, singletons included."""
        return len(self.leaders)

    def groups(self, min_size: int = 2) -> list[np.ndarray]:
        """Return the item indices of each cluster with at least min_size items, largest first."""
        order = np.argsort(self.labels, kind="stable")
        bounds = np.flatnonzero(np.diff(self.labels[order])) + 1
        parts = [p for p in np.split(order, bounds) if len(p) >= min_size]
        parts.sort(key=lambda p: (-len(p), p[0]))
        return parts


@dataclass(frozen=True)
class MatchRule:
    """When two texts count as duplicates: the merge rule shared by suggestions and the evaluation.

    A pair is a duplicate when (1) its similarity reaches the threshold for its length: ``threshold``
    for texts of ``full_length`` content words or more, up to ``threshold + short_penalty`` for a
    one-word text (short texts share a larger part of their features by chance: "dạy hay",
    "dạy nhiệt tình"); (2) it shares at least ``min_shared`` content words (fewer when a text has
    fewer); (3) the two texts do not have opposite polarity (:func:`~diemcau.voice.lexicon.opposite`),
    whatever their score. In a cluster, the item must also score at least ``leader_share`` of its
    threshold against the cluster's first item, so that a chain of close pairs cannot drift to
    another concern (A ~ B ~ C with A far from C).
    """

    threshold: float = DEFAULT_THRESHOLD
    short_penalty: float = 0.15
    full_length: int = 12
    min_shared: int = 2
    leader_share: float = 0.8
    #: how much a pair's threshold rises with the texts' closeness to background opinions
    #: (:func:`background_closeness`: generic texts are near many others by chance); 0 = off.
    generic_weight: float = GENERIC_WEIGHT
    #: the background closeness at which the threshold is exactly the length-aware one
    generic_center: float = GENERIC_CENTER
    #: an item joins a cluster only if its mean score to the cluster's members reaches this share of
    #: the pair's threshold (average linkage; 0 = off)
    link_share: float = LINK_SHARE
    #: how much higher the threshold is when one text asks a yes/no question and the other does not
    #: ("Có nên bỏ kỳ thi tốt nghiệp THPT không?" is not the proposal to announce the exam's plan
    #: early, though they share the exam's words)
    question_penalty: float = QUESTION_PENALTY
    #: never merge two texts that name people of a school (:data:`ROLES`) but none in common
    role_check: bool = True

    def threshold_table(self, longest: int) -> np.ndarray:
        """Threshold by the shorter text's number of content words, 0..longest (float32)."""
        return self.thresholds(longest, np.arange(longest + 1))

    def thresholds(self, n_a: int, n_b: np.ndarray) -> np.ndarray:
        """Threshold per pair of a text of n_a content words with texts of n_b words."""
        shortest = np.minimum(n_a, n_b).astype(np.float32)
        return self.threshold + self.short_penalty * np.clip(1.0 - shortest / self.full_length, 0.0, 1.0)

    def shares_enough(self, a: frozenset, b: frozenset) -> bool:
        need = min(self.min_shared, len(a), len(b))
        return need > 0 and len(a & b) >= need


DEFAULT_RULE = MatchRule()


class _Clusters:
    """Growing clusters: their labels, polarity so far, and the exemplars new items are scored against."""

    def __init__(self, meta: TextMeta, max_exemplars: int, exemplar_below: float):
        self.meta = meta
        self.max_exemplars = max_exemplars
        self.exemplar_below = exemplar_below
        self.negated: list[set] = []
        self.lacking: list[set] = []
        self.affirmed: list[set] = []
        self.wished: list[set] = []
        self.up: list[int] = []
        self.down: list[int] = []
        self.n_exemplars: list[int] = []
        self.exemplars: list[int] = []  # item indices
        self.exemplar_label: list[int] = []
        self.leaders: list[int] = []
        self.opposed: list[tuple[int, int, float]] = []

    def found(self, i: int) -> int:
        label = len(self.negated)
        m = self.meta
        self.negated.append(set(m.negated[i]))
        self.lacking.append(set(m.lacking[i]))
        self.affirmed.append(set(m.affirmed[i]))
        self.wished.append(set(m.wished[i]))
        self.up.append(int(m.up[i]))
        self.down.append(int(m.down[i]))
        self.n_exemplars.append(0)
        self.leaders.append(i)
        self.add_exemplar(i, label)
        return label

    def add_exemplar(self, i: int, label: int) -> None:
        self.exemplars.append(i)
        self.exemplar_label.append(label)
        self.n_exemplars[label] += 1

    def join(self, i: int, label: int, score: float) -> None:
        m = self.meta
        self.negated[label] |= m.negated[i]
        self.lacking[label] |= m.lacking[i]
        self.affirmed[label] |= m.affirmed[i]
        self.wished[label] |= m.wished[i]
        self.up[label] |= int(m.up[i])
        self.down[label] |= int(m.down[i])
        if score < self.exemplar_below and self.n_exemplars[label] < self.max_exemplars:
            self.add_exemplar(i, label)

    def compatible(self, i: int, label: int) -> bool:
        """Whether item i may join the cluster: never against the polarity of any of its members."""
        return not opposite(self.meta.signature(i), (self.negated[label], self.lacking[label], self.affirmed[label],
                                                     self.wished[label], self.up[label], self.down[label]))


def find_duplicates(texts: Sequence[str], threshold: float | None = None,
                    featurizer: Featurizer | None = None, batch_size: int = 1024,
                    progress: Progress | None = None, features: sp.csr_matrix | None = None,
                    meta: TextMeta | None = None, rule: MatchRule | None = None,
                    max_exemplars: int = 4, exemplar_below: float = 0.7,
                    generic: np.ndarray | None = None, rescore=None) -> DuplicateClusters:
    """Cluster near-duplicate texts: each item joins the cluster of its closest match, or starts one.

    1. Texts with the same content words and polarity (typos corrected, diacritics and order
       ignored) are one cluster at once.
    2. The others, in arrival order and in batches, are scored against every earlier item of the
       batch and against the exemplars of the earlier clusters (every item that is not a near copy
       of one already kept, up to ``max_exemplars`` per cluster): an index over all the distinct
       items. Each item joins the cluster of its **closest** match that passes the :class:`MatchRule`
       (length-aware threshold, shared content words, never across polarity, checked against every
       member's polarity so far), else it founds a cluster. Scores are exact (:func:`_similarities`).

    :param featurizer: fitted on ``texts`` when neither it nor ``features`` is given.
    :param features, meta: the rows and :class:`TextMeta` of ``texts`` when the caller has them.
    :param progress: called as ``progress(done, total, message)``.
    :param generic: each text's :func:`background_closeness`, which raises its pairs' threshold by
        ``rule.generic_weight`` times its distance from ``rule.generic_center`` (ignored when None).
    :param rescore: ``rescore(rows, cols, scores)`` returns the pairs' scores to use instead of the
        feature rows' similarities (item indices rows × cols), e.g. a learned pair score; None = off.
    """
    rule = rule or (DEFAULT_RULE if threshold is None else MatchRule(threshold=threshold))
    if features is None or meta is None:
        if featurizer is None:
            featurizer, features, meta = Featurizer.fit_transform_meta(texts, progress=progress)
        else:
            features, meta = featurizer.transform_meta(texts, progress=progress)
    n = features.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    scores = np.zeros(n, dtype=np.float32)
    if n == 0:
        return DuplicateClusters(labels, np.zeros(0, dtype=np.int64), scores)
    same_as = _same_content(meta)
    distinct = np.flatnonzero(same_as == np.arange(n))
    clusters = _Clusters(meta, max_exemplars, exemplar_below)
    n_words = meta.n_words
    shift = np.zeros(n, dtype=np.float32)
    if generic is not None and rule.generic_weight:
        shift = (rule.generic_weight * (np.asarray(generic, dtype=np.float32) - rule.generic_center)).astype(np.float32)
    roles = roles_of(meta) if rule.role_check else None
    for start in range(0, len(distinct), batch_size):
        batch = distinct[start:start + batch_size]
        _cluster_batch(features, meta, batch, clusters, labels, scores, rule, n_words, shift, roles, rescore)
        if progress:
            progress(min(start + batch_size, len(distinct)), len(distinct), "Đang gom các ý kiến trùng nhau")
    copies = np.flatnonzero(same_as != np.arange(n))
    labels[copies] = labels[same_as[copies]]
    scores[copies] = 1.0
    first: dict[int, int] = {}
    for k, label in enumerate(clusters.exemplar_label):
        first.setdefault(label, clusters.exemplars[k])
    leaders = [first[label] for label in range(len(clusters.negated))]
    return DuplicateClusters(labels, np.asarray(leaders, dtype=np.int64), scores, clusters.opposed)


def duplicate_clusters(texts: Sequence[str], rule: MatchRule = DEFAULT_RULE,
                       progress: Progress | None = None) -> DuplicateClusters:
    """The product's merge path: the clusters suggested to moderators (and measured by ``voice_eval``).

    The default featurizer (fitted on the bundled training items), the default rule, the texts'
    closeness to the bundled training items as the background.
    """
    features, meta = default_featurizer().transform_meta(texts, progress=progress)
    generic = background_closeness(features, default_background()) if rule.generic_weight else None
    return find_duplicates(texts, features=features, meta=meta, rule=rule, progress=progress, generic=generic)


# Background closeness: the mean of a text's BACKGROUND_K highest similarities to a background of
# varied opinions, leaving out those at or above BACKGROUND_BELOW (its own duplicates, if the
# background holds any). A generic text ("đề nghị quan tâm giáo viên vùng khó khăn") is close to
# many different opinions, so a given score says less about it than about a specific one.
BACKGROUND_K = 5
BACKGROUND_BELOW = 0.5


@functools.lru_cache(maxsize=1)
def default_background() -> sp.csr_matrix:
    """The rows of the bundled training items (never the held-out ones), by the default featurizer."""
    return default_featurizer().transform(training_texts())


def background_closeness(x: sp.csr_matrix, background: sp.csr_matrix, k: int = BACKGROUND_K,
                         below: float = BACKGROUND_BELOW, chunk: int = 4096) -> np.ndarray:
    """Per row of x, the mean of its k highest similarities (< below) to the rows of background."""
    out = np.zeros(x.shape[0], dtype=np.float32)
    if background.shape[0] == 0:
        return out
    k = min(k, background.shape[0])
    for start in range(0, x.shape[0], chunk):
        sims = _similarities(x[start:start + chunk], background)
        sims[sims >= below] = 0.0
        top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
        out[start:start + chunk] = top.mean(axis=1)
    return out


def opposite_texts(a: str, b: str) -> bool:
    """Whether two texts say opposite things, by the product's detector ("ý kiến trái chiều")."""
    _rows, meta = default_featurizer().transform_meta([a, b])
    return meta.opposes(0, 1)


def roles_of(meta: TextMeta) -> np.ndarray:
    """Per text, a bit mask of the :data:`ROLES` its content words name."""
    out = np.zeros(len(meta.words), dtype=np.int64)
    for i, words in enumerate(meta.words):
        for bit, names in enumerate(ROLES):
            if not names.isdisjoint(words):
                out[i] |= 1 << bit
    return out


def _same_content(meta: TextMeta) -> np.ndarray:
    """For each text, the first text with the same content words and polarity (itself if none)."""
    first: dict = {}
    out = np.arange(len(meta.words), dtype=np.int64)
    for i, words in enumerate(meta.words):
        if not words:
            continue
        key = (words, *meta.signature(i))
        out[i] = first.setdefault(key, i)
    return out


def _cluster_batch(x: sp.csr_matrix, meta: TextMeta, batch: np.ndarray, clusters: _Clusters,
                   labels: np.ndarray, scores: np.ndarray, rule: MatchRule,
                   n_words: np.ndarray | None = None, shift: np.ndarray | None = None,
                   roles: np.ndarray | None = None, rescore=None) -> None:
    """Give each item of the batch the cluster of its closest acceptable match (see find_duplicates)."""
    ex = np.asarray(clusters.exemplars, dtype=np.int64)
    ex_label = np.asarray(clusters.exemplar_label, dtype=np.int64)
    prev, within = _batch_scores(x, batch, ex, rescore)
    # Each earlier cluster's leader is its first exemplar; a leader founded in this batch is in it.
    first_ex = {}
    for col, label in enumerate(ex_label.tolist()):
        first_ex.setdefault(label, col)
    n_before = len(clusters.leaders)
    in_batch = {int(i): k for k, i in enumerate(batch)}
    n_words = meta.n_words if n_words is None else n_words
    table = rule.threshold_table(int(n_words.max(initial=0)))
    # Which pairs reach the threshold for their length, for the whole batch at once.
    # The threshold falls with length, so a pair's is the larger of its two texts' own.
    need = table[n_words[batch]]
    prev_need = np.maximum(need[:, None], table[n_words[ex]][None, :])
    within_need = np.maximum(need[:, None], need[None, :])
    if shift is not None:
        # Generic texts need a higher score: the mean of the two texts' shifts.
        prev_need = prev_need + (shift[batch][:, None] + shift[ex][None, :]) / 2
        within_need = within_need + (shift[batch][:, None] + shift[batch][None, :]) / 2
    if rule.question_penalty:
        asks = meta.questions()
        prev_need = prev_need + rule.question_penalty * (asks[batch][:, None] != asks[ex][None, :])
        within_need = within_need + rule.question_penalty * (asks[batch][:, None] != asks[batch][None, :])
    prev_ok = prev >= prev_need
    within_ok = within >= within_need
    links = _Links(prev, within, ex_label) if rule.link_share else None
    for k, i in enumerate(batch):

        def leader_score(label, k=k):
            if label < n_before:
                return float(prev[k, first_ex[label]])
            return float(within[k, in_batch[clusters.leaders[label]]])

        label, best = -1, 0.0
        hit_prev = np.flatnonzero(prev_ok[k])
        hit_within = np.flatnonzero(within_ok[k, :k])
        if len(hit_prev) or len(hit_within):
            cand_items = np.concatenate([ex[hit_prev], batch[hit_within]])
            cand_scores = np.concatenate([prev[k, hit_prev], within[k, hit_within]])
            cand_labels = np.concatenate([ex_label[hit_prev], labels[batch[hit_within]]])
            cand_need = np.concatenate([prev_need[k, hit_prev], within_need[k, hit_within]])
            for j in np.argsort(-cand_scores, kind="stable")[:8]:
                other = int(cand_items[j])
                if not _may_pair(rule, meta, roles, int(i), other):
                    continue
                if not clusters.compatible(int(i), int(cand_labels[j])):
                    if meta.opposes(int(i), other):
                        clusters.opposed.append((int(i), other, float(cand_scores[j])))
                    continue
                guard = rule.leader_share * float(table[min(int(n_words[i]), int(n_words[other]))])
                if leader_score(int(cand_labels[j])) >= guard and (
                        links is None or links.mean(k, int(cand_labels[j])) >= rule.link_share * float(cand_need[j])):
                    label, best = int(cand_labels[j]), float(cand_scores[j])
                    break
        if label < 0:
            labels[i] = clusters.found(int(i))
            scores[i] = 1.0
        else:
            labels[i] = label
            scores[i] = best
            clusters.join(int(i), label, best)
        if links is not None:
            links.joined(k, int(labels[i]))


def _batch_scores(x: sp.csr_matrix, batch: np.ndarray, ex: np.ndarray, rescore=None):
    """Scores of the batch's items against the exemplars (prev) and against each other (within)."""
    rows = x[batch]
    prev = _similarities(rows, x[ex]) if len(ex) else np.zeros((len(batch), 0), dtype=np.float32)
    within = _similarities(rows, rows)
    if rescore is not None:
        prev = rescore(batch, ex, prev) if len(ex) else prev
        within = rescore(batch, batch, within)
    return prev, within


def _may_pair(rule: MatchRule, meta: TextMeta, roles: np.ndarray | None, i: int, j: int) -> bool:
    """The rule's checks besides the score: shared content words, and the people named (role_check)."""
    if not rule.shares_enough(meta.words[i], meta.words[j]):
        return False
    return roles is None or not (roles[i] and roles[j] and not roles[i] & roles[j])


class _Links:
    """An item's mean score to a cluster's members scored in this batch: the earlier clusters'
    exemplars and the batch's items already placed (average linkage, so that one close member does
    not pull an item into a cluster whose others it does not resemble)."""

    def __init__(self, prev: np.ndarray, within: np.ndarray, ex_label: np.ndarray):
        self.prev, self.within = prev, within
        self.ex_cols: dict[int, list[int]] = {}
        for col, label in enumerate(ex_label.tolist()):
            self.ex_cols.setdefault(label, []).append(col)
        self.in_batch: dict[int, list[int]] = {}

    def mean(self, k: int, label: int) -> float:
        cols, rows = self.ex_cols.get(label, ()), self.in_batch.get(label, ())
        total = float(self.prev[k, cols].sum()) if cols else 0.0
        total += float(self.within[k, rows].sum()) if rows else 0.0
        count = len(cols) + len(rows)
        return total / count if count else 0.0

    def joined(self, k: int, label: int) -> None:
        self.in_batch.setdefault(label, []).append(k)
