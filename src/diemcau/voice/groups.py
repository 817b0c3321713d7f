"""Opinion groups (nhóm quan điểm) from agree/disagree/pass votes on statements, the Pol.is way.

Participants vote agree (+1), disagree (−1) or pass (0) on short statements (ý kiến), each on a few
dozen of them. From the votes:

1. **Projection (PCA).** A missing vote is imputed with the statement's mean, and the matrix is
   centred on the same means; both together leave a sparse matrix (vote − mean where voted, 0
   elsewhere), so 1.6 million × 2,000 never becomes dense. Its principal axes are the top
   eigenvectors of its 2,000 × 2,000 Gram matrix, accumulated over chunks of participants (of a
   seeded sample of them, when there are more than ``fit_sample``): an exact PCA in one streaming
   pass. Every participant is then projected chunk by chunk and scaled by
   ``sqrt(statements / own votes)``, as Pol.is does, so that people who voted little are not all
   pulled towards the centre.
2. **Clustering.** Mini-batch k-means on the projections, for each k in a range, on a sample; the
   k with the best silhouette (on a smaller sample) wins and labels everyone. Then a few rounds of
   hard EM of a latent-class model refine the labels: each group gets its smoothed agree /
   disagree / pass rate per statement, and each participant moves to the group under which their
   own votes are most likely. The projection keeps a handful of axes and loses what a participant's
   votes say outside them; the latent-class step uses every vote. On noisy planted groups (Bayes
   ceiling 0.90) it lifts the adjusted Rand index from 0.65 to 0.89; see docs/voice-engine.md.
3. **Representative statements** of a group: those where the group's agree (or disagree) rate
   differs most from the rest's, with Pol.is' add-one smoothing: ratio ``p_group / p_rest``, a
   two-proportion z-test of the difference and a one-proportion z-test that the group leans that
   way at all (rate > 1/2). Only statements significant on both are kept, ranked by
   ratio × rate.
4. **Consensus statements:** those every group agrees (or disagrees) with, ranked by the product of
   the groups' rates (Pol.is' "group-aware consensus"), each group significantly above 1/2.

The progress callback is ``progress(done, total, message)``, as for background jobs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

Progress = Callable[[int, int, str], None]

AGREE, DISAGREE, PASS = 1, -1, 0
Z_90 = 1.2816  # one-sided 90 %, Pol.is' threshold for representative statements
Z_95 = 1.6449


@dataclass
class VoteMatrix:
    """Votes of participants (rows) on statements (columns): +1 agree, −1 disagree, 0 pass.

    A pass is an explicitly stored 0, so "passed" and "not shown / not voted" differ. Build it with
    :meth:`from_triples` or :meth:`from_csr`; do not run scipy arithmetic on ``matrix`` directly,
    which may drop the stored zeros.
    """

    matrix: sp.csr_matrix

    @classmethod
    def from_csr(cls, matrix: sp.csr_matrix) -> VoteMatrix:
        """Wrap a CSR matrix of int8 votes (explicit zeros are passes)."""
        m = sp.csr_matrix(matrix, copy=False)
        if m.dtype != np.int8:
            m = sp.csr_matrix((m.data.astype(np.int8), m.indices, m.indptr), shape=m.shape)
        if m.nnz and (m.data.min() < -1 or m.data.max() > 1):
            raise ValueError("votes must be +1 (agree), -1 (disagree) or 0 (pass)")
        return cls(m)

    @classmethod
    def from_triples(cls, participant: np.ndarray, statement: np.ndarray, vote: np.ndarray,
                     n_participants: int | None = None, n_statements: int | None = None) -> VoteMatrix:
        """Build from parallel arrays in casting order; a later vote replaces an earlier one."""
        participant = np.asarray(participant, dtype=np.int64)
        statement = np.asarray(statement, dtype=np.int64)
        vote = np.asarray(vote, dtype=np.int8)
        if n_participants is None:
            n_participants = int(participant.max()) + 1 if len(participant) else 0
        if n_statements is None:
            n_statements = int(statement.max()) + 1 if len(statement) else 0
        n, m = int(n_participants), int(n_statements)
        key = participant * m + statement
        # Keep the last vote per (participant, statement): a stable sort, then the last of each run.
        order = np.argsort(key, kind="stable")
        key = key[order]
        last = np.ones(len(key), dtype=bool)
        last[:-1] = key[1:] != key[:-1]
        order = order[last]
        rows, cols = participant[order], statement[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        return cls(sp.csr_matrix((vote[order], cols.astype(np.int32), indptr), shape=(n, m)))

    @property
    def shape(self) -> tuple[int, int]:
        """(participants, statements)."""
        return self.matrix.shape

    def votes_per_participant(self) -> np.ndarray:
        """Number of votes (passes included) of each participant."""
        return np.diff(self.matrix.indptr)


@dataclass
class RepresentativeStatement:
    """A statement that sets a group apart: it agrees (or disagrees) much more than the rest."""

    statement: int
    direction: str  # "agree" or "disagree"
    group_rate: float
    rest_rate: float
    ratio: float
    z: float  # two-proportion z of group vs rest
    n_seen: int


@dataclass
class ConsensusStatement:
    """A statement all groups agree (or all disagree) with."""

    statement: int
    direction: str
    rates: list[float]  # per group, smoothed
    score: float  # product of the rates
    min_z: float  # the weakest group's z against 1/2


@dataclass
class OpinionGroups:
    """The opinion groups of a vote matrix and what characterises each."""

    labels: np.ndarray  # group of each participant; -1 for those with too few votes
    k: int
    silhouettes: dict[int, float]
    components: np.ndarray  # statements × n_components, the principal axes
    explained: np.ndarray  # share of variance of each component
    projection: np.ndarray  # participants × 2, for the map; NaN for those not clustered
    centers: np.ndarray  # k × n_components
    sizes: np.ndarray
    agree: np.ndarray  # k × statements counts
    disagree: np.ndarray
    seen: np.ndarray
    representative: dict[int, list[RepresentativeStatement]] = field(default_factory=dict)
    consensus: list[ConsensusStatement] = field(default_factory=list)
    consensus_against: list[ConsensusStatement] = field(default_factory=list)


class _Steps:
    """Maps the phases of the computation onto one progress bar."""

    def __init__(self, progress: Progress | None, weights: dict[str, int]):
        self.progress = progress
        self.weights = weights
        self.total = sum(weights.values())
        self.done = 0  # weight of the phases finished so far

    def report(self, phase: str, fraction: float, message: str) -> None:
        if self.progress:
            self.progress(int(self.done + fraction * self.weights[phase]), self.total, message)

    def finish(self, phase: str, message: str) -> None:
        self.done += self.weights[phase]
        if self.progress:
            self.progress(self.done, self.total, message)


def _centred_chunk(votes: sp.csr_matrix, means: np.ndarray) -> sp.csr_matrix:
    """Rows of votes minus their statements' means where voted (0 where not): imputed and centred."""
    data = votes.data.astype(np.float32) - means[votes.indices]
    return sp.csr_matrix((data, votes.indices, votes.indptr), shape=votes.shape)


def find_opinion_groups(votes: VoteMatrix, k_range: tuple[int, int] = (2, 8), n_components: int | None = None,
                        max_components: int = 10, min_votes: int = 7, fit_sample: int = 400_000,
                        cluster_sample: int = 100_000, silhouette_sample: int = 4_000, chunk: int = 100_000,
                        refine: int = 5, n_representative: int = 5, n_consensus: int = 10, seed: int = 0,
                        progress: Progress | None = None) -> OpinionGroups:
    """Find opinion groups, their representative statements and the consensus statements.

    :param k_range: the numbers of groups tried, inclusive.
    :param n_components: principal components used for clustering; by default those whose
        eigenvalue stands clear of the noise floor (25 % above the median of the next few
        eigenvalues), 2 to ``max_components``.
    :param min_votes: participants with fewer votes are not clustered (label −1), as in Pol.is.
    :param fit_sample: participants sampled to estimate the principal axes.
    :param cluster_sample: participants sampled to fit k-means for each k.
    :param silhouette_sample: participants sampled to score each k.
    :param chunk: participants per chunk when streaming over all of them.
    :param refine: rounds of latent-class refinement after k-means (0: k-means labels as they are).
    """
    rng = np.random.default_rng(seed)
    steps = _Steps(progress, {"a_fit": 25, "b_project": 15, "c_cluster": 30, "d_assign": 20, "e_stats": 10})
    mat = votes.matrix
    n, m = mat.shape
    counts = votes.votes_per_participant()
    active = np.flatnonzero(counts >= min_votes)
    if len(active) < 2 * k_range[0]:
        raise ValueError("too few participants with enough votes to find groups")

    # Statement means over everyone who voted on it (a pass counts as 0).
    seen_all = np.bincount(mat.indices, minlength=m).astype(np.float64)
    sums = np.bincount(mat.indices, weights=mat.data.astype(np.float64), minlength=m)
    means = np.divide(sums, seen_all, out=np.zeros(m), where=seen_all > 0).astype(np.float32)

    # 1. Principal axes; 2. everyone projected on them.
    fit_rows = active if len(active) <= fit_sample else np.sort(rng.choice(active, fit_sample, replace=False))
    components, explained = _principal_axes(mat, fit_rows, means, n_components, max_components, chunk, steps)
    proj = _project(mat, active, means, components, np.sqrt(m / counts[active]).astype(np.float32), chunk, steps)

    # 3. k by silhouette; mini-batch k-means on a sample for each k.
    best_k, model, silhouettes = _choose_k(proj, k_range, cluster_sample, silhouette_sample, rng, seed, steps)

    active_labels = _assign(votes, active, proj, model, best_k, refine, chunk, steps)
    # Number groups by size, largest first, so that "group 0" means the same across runs.
    sizes = np.bincount(active_labels, minlength=best_k)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty(best_k, dtype=np.int64)
    rank[order] = np.arange(best_k)
    active_labels = rank[active_labels]
    centers = np.stack([proj[active_labels == rank[g]].mean(axis=0) if np.any(active_labels == rank[g])
                        else model.cluster_centers_[g] for g in order])
    labels = np.full(n, -1, dtype=np.int64)
    labels[active] = active_labels
    projection = np.full((n, 2), np.nan, dtype=np.float32)
    projection[active] = proj[:, :2]
    steps.finish("d_assign", "Đã xếp nhóm")

    # 4. Counts per group and statement, then representative and consensus statements.
    agree, disagree, seen = group_vote_counts(votes, labels, best_k)
    result = OpinionGroups(labels=labels, k=best_k, silhouettes=silhouettes, components=components,
                           explained=explained, projection=projection, centers=centers,
                           sizes=np.bincount(active_labels, minlength=best_k), agree=agree, disagree=disagree,
                           seen=seen)
    result.representative = representative_statements(agree, disagree, seen, n_representative)
    result.consensus = consensus_statements(agree, seen, n_consensus, "agree")
    result.consensus_against = consensus_statements(disagree, seen, n_consensus, "disagree")
    steps.finish("e_stats", "Xong")
    return result


def _principal_axes(mat, fit_rows: np.ndarray, means: np.ndarray, n_components: int | None,
                    max_components: int, chunk: int, steps: _Steps) -> tuple[np.ndarray, np.ndarray]:
    """Principal axes from the Gram matrix of the centred votes of ``fit_rows``, and their explained shares."""
    m = mat.shape[1]
    gram = np.zeros((m, m), dtype=np.float64)
    for start in range(0, len(fit_rows), chunk):
        c = _centred_chunk(mat[fit_rows[start:start + chunk]], means)
        gram += (c.T @ c).toarray()
        steps.report("a_fit", min(1.0, (start + chunk) / len(fit_rows)), "Đang phân tích biểu quyết (PCA)")
    # Only the top of the spectrum is needed: Lanczos (eigsh) is ~10 times faster than a full eigh.
    n_eig = min(max_components + 6, m - 1)
    eigval, eigvec = eigsh(gram, k=n_eig, which="LA")
    order = np.argsort(-eigval)
    eigval, eigvec = eigval[order].clip(min=0), eigvec[:, order]
    if n_components is None:
        # The eigenvalues past max_components are taken as the noise floor; a component counts
        # when it stands 25 % above it (planted groups give a clear gap, see tests/voice).
        noise = float(np.median(eigval[max_components:])) if n_eig > max_components else 0.0
        clear = int(np.sum(eigval[:max_components] > 1.25 * noise))
        n_components = int(np.clip(clear, 2, max_components))
    components = eigvec[:, :n_components].astype(np.float32)
    explained = (eigval[:n_components] / max(float(np.trace(gram)), 1e-12)).astype(np.float64)
    # An eigenvector's sign is arbitrary: make each point towards more agreement, for a stable map.
    flip = np.sign(components.sum(axis=0))
    flip[flip == 0] = 1
    components *= flip.astype(np.float32)
    steps.finish("a_fit", "Đã tìm các trục quan điểm")
    return components, explained


def _project(mat, active: np.ndarray, means: np.ndarray, components: np.ndarray, scale: np.ndarray,
             chunk: int, steps: _Steps) -> np.ndarray:
    """Every active participant's centred votes on the principal axes, in chunks, scaled for missing votes."""
    proj = np.zeros((len(active), components.shape[1]), dtype=np.float32)
    for start in range(0, len(active), chunk):
        rows = active[start:start + chunk]
        proj[start:start + chunk] = _centred_chunk(mat[rows], means) @ components
        steps.report("b_project", min(1.0, (start + chunk) / len(active)), "Đang chiếu người tham gia")
    proj *= scale[:, None]
    steps.finish("b_project", "Đã chiếu người tham gia")
    return proj


def _choose_k(proj: np.ndarray, k_range: tuple[int, int], cluster_sample: int, silhouette_sample: int,
              rng: np.random.Generator, seed: int, steps: _Steps) -> tuple[int, MiniBatchKMeans, dict[int, float]]:
    """The number of groups with the best silhouette, its k-means model, and every k's silhouette."""
    fit_idx = np.arange(len(proj))
    if len(fit_idx) > cluster_sample:
        fit_idx = np.sort(rng.choice(fit_idx, cluster_sample, replace=False))
    sil_idx = rng.choice(fit_idx, min(silhouette_sample, len(fit_idx)), replace=False)
    ks = list(range(k_range[0], min(k_range[1], len(sil_idx) - 1) + 1))
    models, silhouettes = {}, {}
    # One OpenMP thread: mini-batch k-means works on small batches, where thread start-up and
    # spinning cost more than they save, ten times more on a shared, loaded machine.
    with threadpool_limits(limits=1, user_api="openmp"):
        for i, k in enumerate(ks):
            model = MiniBatchKMeans(n_clusters=k, batch_size=4096, n_init=3, random_state=seed,
                                    max_no_improvement=20)
            model.fit(proj[fit_idx])
            sil_labels = model.predict(proj[sil_idx])
            silhouettes[k] = (float(silhouette_score(proj[sil_idx], sil_labels, random_state=seed))
                              if len(np.unique(sil_labels)) > 1 else -1.0)
            models[k] = model
            steps.report("c_cluster", (i + 1) / len(ks), f"Đã thử {k} nhóm")
    best_k = max(ks, key=lambda k: (silhouettes[k], -k))
    steps.finish("c_cluster", f"Chọn {best_k} nhóm")
    return best_k, models[best_k], silhouettes


def _assign(votes: VoteMatrix, active: np.ndarray, proj: np.ndarray, model: MiniBatchKMeans, k: int,
            refine: int, chunk: int, steps: _Steps) -> np.ndarray:
    """Each active participant's group: k-means labels, then up to ``refine`` latent-class rounds."""
    labels = np.empty(len(active), dtype=np.int64)
    with threadpool_limits(limits=1, user_api="openmp"):
        for start in range(0, len(active), chunk * 5):
            labels[start:start + chunk * 5] = model.predict(proj[start:start + chunk * 5])
    active_votes = VoteMatrix(votes.matrix[active]) if len(active) < votes.matrix.shape[0] else votes
    for round_ in range(refine):
        labels, moved = _latent_class_step(active_votes, labels, k, chunk)
        steps.report("d_assign", (round_ + 1) / max(refine, 1), f"Tinh chỉnh nhóm: {moved} người đổi nhóm")
        if moved <= len(active) // 2000:
            break
    return labels


def _latent_class_step(votes: VoteMatrix, labels: np.ndarray, k: int, chunk: int) -> tuple[np.ndarray, int]:
    """One hard-EM round: group vote rates from the labels, then each participant to their likeliest group."""
    agree, disagree, seen = group_vote_counts(votes, labels, k)
    passed = seen - agree - disagree
    # log P(vote | group, statement) for pass (row 0), agree (1), disagree (2); add-one smoothing.
    table = np.log(np.stack([passed, agree, disagree]) + 1.0) - np.log(seen + 3.0)[None]
    table = table.astype(np.float32)
    prior = np.log(np.bincount(labels, minlength=k) + 1.0).astype(np.float32)
    mat = votes.matrix
    new = np.empty_like(labels)
    for start in range(0, mat.shape[0], chunk):
        sub = mat[start:start + chunk]
        code = np.where(sub.data == AGREE, 1, np.where(sub.data == DISAGREE, 2, 0))
        contrib = table[code, :, sub.indices]  # nnz × k
        loglik = np.zeros((sub.shape[0], k), dtype=np.float32)
        _add_rows(loglik, sub.indptr, contrib)
        new[start:start + chunk] = np.argmax(loglik + prior, axis=1)
    return new, int(np.sum(new != labels))


def _add_rows(out: np.ndarray, indptr: np.ndarray, values: np.ndarray) -> None:
    """out[i] += sum of values[indptr[i]:indptr[i+1]] (rows of a CSR), without a Python loop."""
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if len(nonempty):
        out[nonempty] += np.add.reduceat(values, indptr[nonempty], axis=0)


def group_vote_counts(votes: VoteMatrix, labels: np.ndarray, k: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return agree, disagree and seen counts, each groups × statements (label −1 is left out)."""
    mat = votes.matrix
    n, m = mat.shape
    agree = np.zeros((k, m), dtype=np.int64)
    disagree = np.zeros((k, m), dtype=np.int64)
    seen = np.zeros((k, m), dtype=np.int64)
    step = 200_000  # participants at a time, to bound the temporary arrays
    for start in range(0, n, step):
        sub = mat[start:start + step]
        rows = np.repeat(labels[start:start + step], np.diff(sub.indptr))
        keep = rows >= 0
        key = rows[keep] * m + sub.indices[keep]
        data = sub.data[keep]
        seen += np.bincount(key, minlength=k * m).reshape(k, m)
        agree += np.bincount(key[data == AGREE], minlength=k * m).reshape(k, m)
        disagree += np.bincount(key[data == DISAGREE], minlength=k * m).reshape(k, m)
    return agree, disagree, seen


def _z_two(p1: np.ndarray, n1: np.ndarray, p2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """z of a two-proportion test (pooled), p1 > p2 positive."""
    pooled = (p1 * n1 + p2 * n2) / np.maximum(n1 + n2, 1)
    se = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / np.maximum(n1, 1) + 1 / np.maximum(n2, 1)), 1e-12))
    return (p1 - p2) / se


def _z_half(p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """z of a one-proportion test against 1/2."""
    return (p - 0.5) / np.sqrt(0.25 / np.maximum(n, 1))


def _strength(r: RepresentativeStatement) -> float:
    return r.ratio * r.group_rate


def representative_statements(agree: np.ndarray, disagree: np.ndarray, seen: np.ndarray, n_top: int = 5,
                              z_min: float = Z_90) -> dict[int, list[RepresentativeStatement]]:
    """Return, per group, the statements where it differs most from the rest (Pol.is repness)."""
    k = agree.shape[0]
    out: dict[int, list[RepresentativeStatement]] = {}
    for g in range(k):
        rest = np.arange(k) != g
        n_g, n_r = seen[g], seen[rest].sum(axis=0)
        candidates: list[RepresentativeStatement] = []
        for direction, counts in (("agree", agree), ("disagree", disagree)):
            c_g, c_r = counts[g], counts[rest].sum(axis=0)
            p_g = (1 + c_g) / (2 + n_g)  # add-one smoothing, as Pol.is
            p_r = (1 + c_r) / (2 + n_r)
            ratio = p_g / p_r
            z_diff = _z_two(p_g, n_g, p_r, n_r)
            z_lean = _z_half(p_g, n_g)
            ok = np.flatnonzero((z_diff >= z_min) & (z_lean >= z_min))
            candidates.extend(
                RepresentativeStatement(int(j), direction, float(p_g[j]), float(p_r[j]), float(ratio[j]),
                                        float(z_diff[j]), int(n_g[j]))
                for j in ok
            )
        # Each statement once, in its stronger direction; then the strongest first.
        best: dict[int, RepresentativeStatement] = {}
        for c in candidates:
            if c.statement not in best or _strength(c) > _strength(best[c.statement]):
                best[c.statement] = c
        ranked = sorted(best.values(), key=lambda c: (-_strength(c), c.statement))
        out[g] = ranked[:n_top]
    return out


def consensus_statements(counts: np.ndarray, seen: np.ndarray, n_top: int = 10, direction: str = "agree",
                         min_rate: float = 0.6, z_min: float = Z_95) -> list[ConsensusStatement]:
    """Return statements that every group agrees with (or, given disagree counts, rejects)."""
    rates = (1 + counts) / (2 + seen)
    z = _z_half(rates, seen)
    ok = np.flatnonzero((rates.min(axis=0) >= min_rate) & (z.min(axis=0) >= z_min))
    score = np.prod(rates[:, ok], axis=0)
    order = ok[np.lexsort((ok, -score))]
    return [ConsensusStatement(int(j), direction, [float(r) for r in rates[:, j]],
                               float(np.prod(rates[:, j])), float(z[:, j].min())) for j in order[:n_top]]


@dataclass
class SimulatedVotes:
    """A generated vote matrix with its planted truth, for demos, tests and benchmarks."""

    votes: VoteMatrix
    groups: np.ndarray  # planted group of each participant
    consensus: np.ndarray  # statements every group agrees with
    agree_prob: np.ndarray  # groups × statements


def oracle_labels(sim: SimulatedVotes, pass_rate: float = 0.15) -> np.ndarray:
    """Label each participant by the planted model itself (the Bayes-optimal assignment), as a ceiling."""
    mat = sim.votes.matrix
    p = sim.agree_prob.astype(np.float64)
    table = np.log(np.stack([np.full_like(p, pass_rate), (1 - pass_rate) * p, (1 - pass_rate) * (1 - p)]))
    shares = np.bincount(sim.groups, minlength=p.shape[0]) / len(sim.groups)
    out = np.empty(mat.shape[0], dtype=np.int64)
    step = 200_000
    for start in range(0, mat.shape[0], step):
        sub = mat[start:start + step]
        code = np.where(sub.data == AGREE, 1, np.where(sub.data == DISAGREE, 2, 0))
        loglik = np.zeros((sub.shape[0], p.shape[0]))
        _add_rows(loglik, sub.indptr, table[code, :, sub.indices])
        out[start:start + step] = np.argmax(loglik + np.log(shares + 1e-12), axis=1)
    return out


def simulate_votes(n_participants: int, n_statements: int, group_shares=(0.4, 0.3, 0.2, 0.1),
                   votes_per_participant: tuple[int, int] = (20, 40), consensus_share: float = 0.03,
                   pass_rate: float = 0.15, stances=((0.9, 0.4), (0.5, 0.2), (0.1, 0.4)),
                   consensus_agree: float = 0.95, seed: int = 0, chunk: int = 400_000) -> SimulatedVotes:
    """Generate votes with planted opinion groups, vectorised and straight into CSR.

    Each group takes, on each divisive statement, a stance drawn from ``stances`` (pairs of agree
    probability and how often the stance occurs: by default agree-leaning 90 % / undecided 50 % /
    disagree-leaning 10 %, in proportions 0.4 / 0.2 / 0.4); on the planted consensus statements every
    group agrees with probability ``consensus_agree``. Each participant sees a distinct set of
    statements (an arithmetic progression modulo the number of statements with a step prime to it,
    so no duplicates and no sorting), votes pass with probability ``pass_rate``, else agrees with
    the group's probability.
    """
    rng = np.random.default_rng(seed)
    shares = np.asarray(group_shares, dtype=np.float64)
    shares = shares / shares.sum()
    k, m, n = len(shares), n_statements, n_participants
    groups = rng.choice(k, size=n, p=shares).astype(np.int64)
    levels = np.array([a for a, _ in stances], dtype=np.float32)
    weights = np.array([w for _, w in stances], dtype=np.float64)
    agree_prob = rng.choice(levels, size=(k, m), p=weights / weights.sum())
    consensus = np.sort(rng.choice(m, max(1, round(consensus_share * m)), replace=False))
    agree_prob[:, consensus] = consensus_agree
    steps = np.array([s for s in range(1, m) if math.gcd(s, m) == 1] or [1], dtype=np.int64)
    lo, hi = votes_per_participant
    n_votes = rng.integers(lo, min(hi, m) + 1, size=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_votes, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    data = np.empty(indptr[-1], dtype=np.int8)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        a, b = indptr[start], indptr[stop]
        counts = n_votes[start:stop]
        row = np.repeat(np.arange(start, stop), counts)
        t = np.arange(b - a) - (indptr[row] - a)
        first = rng.integers(0, m, size=stop - start)
        step = steps[rng.integers(0, len(steps), size=stop - start)]
        local = row - start
        statement = (first[local] + step[local] * t) % m
        p_agree = agree_prob[groups[row], statement]
        u = rng.random(b - a, dtype=np.float32)
        agrees = u < pass_rate + (1 - pass_rate) * p_agree
        vote = np.where(u < pass_rate, PASS, np.where(agrees, AGREE, DISAGREE))
        indices[a:b] = statement
        data[a:b] = vote
    matrix = sp.csr_matrix((data, indices, indptr), shape=(n, m))
    return SimulatedVotes(VoteMatrix(matrix), groups, consensus, agree_prob)
