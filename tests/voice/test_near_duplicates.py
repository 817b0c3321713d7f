"""Near duplicates: the live index, exact similarity products and the batch deduplicator."""

import numpy as np
import pytest

from diemcau.voice import near_duplicates, textsim
from diemcau.voice.near_duplicates import SimilarityIndex, find_duplicates
from diemcau.voice.textsim import Featurizer, load_labelled_items


@pytest.fixture(scope="module")
def items():
    return load_labelled_items()


@pytest.fixture(scope="module")
def featurizer():
    return textsim.default_featurizer()


def test_index_finds_the_source_of_every_variant(items, featurizer):
    handwritten = [r for r in items if r["variant"] in ("original", "reworded")]
    index = SimilarityIndex(featurizer)
    index.add_many([r["id"] for r in handwritten], [r["text"] for r in handwritten])
    variants = [r for r in items if r["source"]]
    hits = [index.similar(r["text"], k=1) for r in variants]
    top1 = np.mean([bool(h) and h[0].key == r["source"] for h, r in zip(hits, variants, strict=True)])
    print(f"\nindex: top-1 source of {len(variants)} variants (no diacritics / typos / order): {top1:.3f}")
    assert top1 >= 0.97


def test_index_add_remove_exclude(featurizer):
    index = SimilarityIndex(featurizer)
    assert index.similar("lương") == []
    index.add("a", "Đề nghị tăng lương cho giáo viên mầm non")
    index.add("b", "Giảm hồ sơ sổ sách cho giáo viên")
    assert [m.key for m in index.similar("tang luong giao vien mam non")][:1] == ["a"]
    assert index.similar("tang luong giao vien mam non", exclude="a")[:1] != ["a"]
    index.remove("a")
    assert all(m.key != "a" for m in index.similar("tang luong giao vien mam non"))
    index.add("b", "Tăng lương giáo viên mầm non")  # a new text for an existing key
    assert index.similar("tang luong giao vien mam non")[0].key == "b"
    assert len(index) == 1
    assert index.similar("   ") == []


def test_index_scores_are_the_same_before_and_after_merging(items, featurizer):
    """Recent items (scored by lookup) and merged ones (scored by column postings) score alike."""
    texts = [r["text"] for r in items[:60]]
    unmerged, merged = SimilarityIndex(featurizer, merge_at=1000), SimilarityIndex(featurizer, merge_at=10)
    for i, text in enumerate(texts):
        unmerged.add(i, text)
        merged.add(i, text)
    assert merged._bulk.shape[0] >= 50 and unmerged._bulk.shape[0] == 0
    for query in ["tang luong giao vien", texts[7], texts[33][:30]]:
        a, b = unmerged.similar(query, k=10, min_score=0.1), merged.similar(query, k=10, min_score=0.1)
        assert [m.key for m in a] == [m.key for m in b]
        assert np.allclose([m.score for m in a], [m.score for m in b], atol=1e-6)


def test_similarities_are_exact(items):
    _feat, x = Featurizer.fit_transform([r["text"] for r in items[:200]])
    fast = near_duplicates._similarities(x[:120], x[60:])
    assert np.allclose(fast, (x[:120] @ x[60:].T).toarray(), atol=1e-5)


def test_deduplicator_on_the_labelled_set(items):
    texts = [r["text"] for r in items]
    groups = np.array([r["group"] for r in items])
    roots = np.array([r["source"] or r["id"] for r in items])
    clusters = find_duplicates(texts, batch_size=128)  # small batches: several rounds of exemplars
    iu = np.triu_indices(len(texts), 1)
    same = groups[iu[0]] == groups[iu[1]]
    surface = same & (roots[iu[0]] == roots[iu[1]])
    predicted = clusters.labels[iu[0]] == clusters.labels[iu[1]]
    precision = (predicted & same).sum() / predicted.sum()
    recall = (predicted & same).sum() / same.sum()
    surface_recall = (predicted & surface).sum() / surface.sum()
    print(f"\ndedupe on {len(texts)} items: precision {precision:.3f}, recall {recall:.3f}, "
          f"recall of diacritic/typo/order variants {surface_recall:.3f}")
    assert precision >= 0.85  # the featurizer fitted on every item, held-out ones included
    assert surface_recall >= 0.95
    assert recall >= 0.55
    # A leader (the first item of its cluster) scores 1; the others their closest match's score.
    assert np.all(clusters.scores[clusters.leaders] == 1.0)
    assert all(len(g) >= 2 for g in clusters.groups())


def test_deduplicator_is_deterministic(items):
    texts = [r["text"] for r in items[:150]]
    a = find_duplicates(texts, batch_size=64)
    b = find_duplicates(texts, batch_size=64)
    assert np.array_equal(a.labels, b.labels)
