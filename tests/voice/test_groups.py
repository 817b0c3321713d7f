"""Opinion groups: planted groups recovered (ARI), representative and consensus statements, progress."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from diemcau.voice.groups import (
    AGREE,
    DISAGREE,
    PASS,
    VoteMatrix,
    consensus_statements,
    find_opinion_groups,
    oracle_labels,
    representative_statements,
    simulate_votes,
)

ARI_FLOOR = 0.9


@pytest.fixture(scope="module")
def planted():
    return simulate_votes(30_000, 400, group_shares=(0.4, 0.3, 0.2, 0.1), seed=7)


@pytest.fixture(scope="module")
def found(planted):
    calls = []
    result = find_opinion_groups(planted.votes, k_range=(2, 6),
                                 progress=lambda d, t, m: calls.append((d, t, m)))
    return result, calls


def test_planted_groups_are_recovered(planted, found):
    result, _ = found
    ari = adjusted_rand_score(planted.groups, result.labels)
    ceiling = adjusted_rand_score(planted.groups, oracle_labels(planted))
    print(f"\nopinion groups: k={result.k}, ARI {ari:.3f} (Bayes-optimal with the true model {ceiling:.3f}), "
          f"silhouettes { {k: round(v, 3) for k, v in result.silhouettes.items()} }, "
          f"{result.components.shape[1]} components")
    assert result.k == 4
    assert ari >= ARI_FLOOR
    # Groups are numbered by size, like the planted shares.
    assert list(result.sizes) == sorted(result.sizes, reverse=True)


def test_consensus_statements_are_the_planted_ones(planted, found):
    result, _ = found
    found_ids = [c.statement for c in result.consensus]
    assert len(found_ids) == 10
    assert set(found_ids) <= set(planted.consensus.tolist())
    assert all(min(c.rates) >= 0.6 for c in result.consensus)
    # Nothing is rejected by every group: all statements have a group that leans agree or is undecided.
    everyone_rejects = np.flatnonzero(planted.agree_prob.max(axis=0) <= 0.1)
    assert {c.statement for c in result.consensus_against} <= set(everyone_rejects.tolist())


def test_representative_statements_follow_the_planted_stances(planted, found):
    result, _ = found
    for g, reps in result.representative.items():
        assert len(reps) == 5
        # The planted group that most of found group g comes from.
        truth = np.bincount(planted.groups[result.labels == g]).argmax()
        others = [h for h in range(planted.agree_prob.shape[0]) if h != truth]
        for r in reps:
            mine = planted.agree_prob[truth, r.statement]
            rest = planted.agree_prob[others, r.statement].mean()
            if r.direction == "agree":
                assert mine > rest and r.group_rate > r.rest_rate
            else:
                assert mine < rest
            assert r.z >= 1.28


def test_progress_is_monotonic_and_completes(found):
    _, calls = found
    done = [d for d, _, _ in calls]
    assert done == sorted(done)
    assert calls[-1][0] == calls[-1][1]
    assert all(isinstance(m, str) and m for _, _, m in calls)


def test_participants_with_few_votes_are_not_clustered():
    sim = simulate_votes(3_000, 120, votes_per_participant=(3, 30), seed=3)
    result = find_opinion_groups(sim.votes, k_range=(2, 5), min_votes=7)
    few = sim.votes.votes_per_participant() < 7
    assert few.any()
    assert np.all(result.labels[few] == -1) and np.all(result.labels[~few] >= 0)
    assert np.isnan(result.projection[few]).all()


def test_deterministic_given_a_seed():
    sim = simulate_votes(6_000, 150, seed=5)
    assert np.array_equal(sim.votes.matrix.indices, simulate_votes(6_000, 150, seed=5).votes.matrix.indices)
    a = find_opinion_groups(sim.votes, k_range=(3, 5), seed=1)
    b = find_opinion_groups(sim.votes, k_range=(3, 5), seed=1)
    assert np.array_equal(a.labels, b.labels)


def test_vote_matrix_from_triples_keeps_the_last_vote_and_passes():
    votes = VoteMatrix.from_triples(participant=[0, 0, 1, 0, 2], statement=[1, 2, 1, 1, 0],
                                    vote=[AGREE, PASS, DISAGREE, DISAGREE, PASS], n_statements=3)
    dense = votes.matrix.toarray()
    assert dense[0, 1] == DISAGREE  # changed their mind
    assert list(votes.votes_per_participant()) == [2, 1, 1]  # passes are votes
    assert votes.matrix[0, 2] == PASS and votes.matrix.nnz == 4
    with pytest.raises(ValueError):
        VoteMatrix.from_csr(sp.csr_matrix(np.array([[2, 0]])))


def test_repness_and_consensus_on_hand_counts():
    # Two groups of 100: statement 0 splits them, statement 1 both agree with, statement 2 neither.
    agree = np.array([[90, 85, 10], [10, 80, 12]])
    disagree = np.array([[5, 5, 80], [85, 10, 78]])
    seen = np.full((2, 3), 100)
    reps = representative_statements(agree, disagree, seen, n_top=3)
    assert reps[0][0].statement == 0 and reps[0][0].direction == "agree"
    assert reps[1][0].statement == 0 and reps[1][0].direction == "disagree"
    assert [c.statement for c in consensus_statements(agree, seen)] == [1]
    assert [c.statement for c in consensus_statements(disagree, seen, direction="disagree")] == [2]
