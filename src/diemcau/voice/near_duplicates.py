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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .textsim import N_COLUMNS, Featurizer, Progress, default_featurizer

# Score at or above which two items are called duplicates: the lowest threshold whose pairwise
# precision on the training split of the labelled set is at least 0.95 (bench/voice.py prints the
# sweep; F1 peaks lower, near 0.33, at precision 0.86). Moderators merge what is suggested, so a
# wrong merge costs more than a missed one.
DEFAULT_THRESHOLD = 0.375


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


def _similarities(q: sp.csr_matrix, m: sp.csr_matrix, max_dense: int = 6000) -> np.ndarray:
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
        self._alive = np.concatenate([self._alive, np.ones(len(keys), dtype=bool)])
        self._recent = sp.vstack([self._recent, self.featurizer.transform(list(texts))], format="csr")
        if self._recent.shape[0] >= max(self.merge_at, self._bulk.shape[0] // 20):
            self._bulk = sp.vstack([self._bulk.tocsr(), self._recent], format="csc")
            self._recent = sp.csr_matrix((0, 2 * N_COLUMNS), dtype=np.float32)

    def remove(self, key) -> None:
        """Forget an item (e.g. merged into another or rejected)."""
        pos = self._pos.pop(key, None)
        if pos is not None:
            self._alive[pos] = False

    def similar(self, text: str, k: int = 5, min_score: float = 0.25, exclude=None) -> list[Match]:
        """Return up to k indexed items with similarity ≥ min_score to text, best first."""
        if not self._keys or not text or not text.strip():
            return []
        q = self.featurizer.transform([text])
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


def find_duplicates(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD,
                    featurizer: Featurizer | None = None, batch_size: int = 2048,
                    progress: Progress | None = None, features: sp.csr_matrix | None = None
                    ) -> DuplicateClusters:
    """Cluster near-duplicate texts: each item joins the most similar earlier cluster, or starts one.

    Leader clustering, in arrival order and in mini-batches: an item joins the cluster whose
    founding item (leader) is most similar to it if that similarity is ≥ threshold, else it founds
    a new cluster. Comparing with leaders only keeps the cost at items × clusters instead of
    items², and avoids the chaining of single linkage (A~B, B~C, so A~C) that merges different
    concerns through a vague item in between. Scores are exact (:func:`_similarities`).

    :param featurizer: fitted on ``texts`` when neither it nor ``features`` is given.
    :param features: the rows of ``texts`` when the caller has them already.
    :param progress: called as ``progress(done, total, message)``.
    """
    n = len(texts) if features is None else features.shape[0]
    if features is None:
        if featurizer is None:
            featurizer, features = Featurizer.fit_transform(texts, progress=progress)
        else:
            features = featurizer.transform(texts, progress=progress)
    x = features
    labels = np.full(n, -1, dtype=np.int64)
    scores = np.zeros(n, dtype=np.float32)
    leaders: list[int] = []
    leader_rows: sp.csr_matrix | None = None
    start = 0
    while start < n:
        # Keep the batch × leaders score array around 16 MB however many clusters there are.
        size = max(256, min(batch_size, 4_000_000 // max(len(leaders), 1)))
        stop = min(start + size, n)
        batch = x[start:stop]
        if leader_rows is not None:
            s = _similarities(batch, leader_rows)
            best = s.argmax(axis=1)
            top = s[np.arange(len(best)), best]
            has = top >= threshold
            labels[start:stop][has] = best[has]
            scores[start:stop][has] = top[has]
        todo = np.flatnonzero(labels[start:stop] < 0)
        new_leaders = _claim_within(batch[todo], threshold, labels, scores, start + todo, len(leaders))
        if new_leaders:
            leaders.extend(new_leaders)
            leader_rows = x[np.asarray(leaders)]
        if progress:
            progress(stop, n, "Đang gom các ý kiến trùng nhau")
        start = stop
    return DuplicateClusters(labels, np.asarray(leaders, dtype=np.int64), scores)


def _claim_within(rows: sp.csr_matrix, threshold: float, labels: np.ndarray, scores: np.ndarray,
                  positions: np.ndarray, first_label: int) -> list[int]:
    """Leader-cluster the items of one batch that matched no earlier leader; return the new leaders."""
    if rows.shape[0] == 0:
        return []
    sims = _similarities(rows, rows)
    close = sims >= threshold
    taken = np.zeros(rows.shape[0], dtype=bool)
    new_leaders = []
    # Greedy in arrival order: the first unclaimed item founds a cluster and claims the later
    # unclaimed items close to it. (Claimed by the first close leader, not the closest: within a
    # batch that is what arrival order would have done item by item.)
    for i in range(rows.shape[0]):
        if taken[i]:
            continue
        label = first_label + len(new_leaders)
        new_leaders.append(int(positions[i]))
        taken[i] = True
        claim = np.flatnonzero(close[i] & ~taken)
        claim = claim[claim > i]
        taken[claim] = True
        labels[positions[i]] = label
        scores[positions[i]] = 1.0
        labels[positions[claim]] = label
        scores[positions[claim]] = sims[i, claim]
    return new_leaders
