"""Duplicate matching: folding, typo correction, segmentation, the live index and the batch deduplicator."""

import re

import numpy as np
import pytest

from diemcau.core.vntext import fold, nfc
from diemcau.voice import textsim
from diemcau.voice.textsim import (
    DEFAULT_THRESHOLD,
    Featurizer,
    Segmenter,
    SimilarityIndex,
    Speller,
    find_duplicates,
    is_syllable,
    load_labelled_items,
    match_key,
    similarity,
    syllables,
)


@pytest.fixture(scope="module")
def items():
    return load_labelled_items()


@pytest.fixture(scope="module")
def featurizer():
    return textsim.default_featurizer()


def test_labelled_set_is_what_the_brief_asks(items):
    topics = {r["topic"] for r in items}
    groups = {}
    for r in items:
        groups.setdefault(r["group"], []).append(r)
    sizes = [len(g) for g in groups.values()]
    assert len(items) >= 400
    assert len(topics) >= 10
    assert sum(s == 1 for s in sizes) >= 40  # many singletons
    assert sum(2 <= s <= 5 for s in sizes) >= 80 and max(sizes) <= 5
    assert {r["variant"] for r in items} >= {"original", "reworded", "no_diacritics", "typo", "word_order"}
    assert all(r["text"] == nfc(r["text"]) for r in items)
    for r in items:  # every generated variant names the handwritten item it was made from
        if r["variant"] not in ("original", "reworded"):
            assert r["source"] and next(s for s in items if s["id"] == r["source"])["group"] == r["group"]


def test_syllables_agree_with_vntext_fold(items):
    for r in items:
        assert syllables(r["text"]) == re.findall(r"[^\W_]+", fold(nfc(r["text"])))
    assert match_key("  Lương  GIÁO viên ") == "luong giao vien"
    assert syllables("Đề nghị: tăng lương!") == ["de", "nghi", "tang", "luong"]


def test_syllable_shapes():
    for word in ["giao", "nghieng", "quyen", "khuyu", "gi", "truong", "nguoi", "uyen"]:
        assert is_syllable(word), word
    for word in ["cnag", "phpa", "sch", "llap", "giaoo", "tueyn"]:
        assert not is_syllable(word), word


def test_speller_fixes_one_typo_towards_frequent_syllables():
    speller = Speller.from_syllables([["cang", "thang", "phap", "sach", "lap", "tuyen"]] * 3)
    assert speller.correct("cnag") == "cang"  # swapped
    assert speller.correct("phpa") == "phap"
    assert speller.correct("sch") == "sach"  # dropped
    assert speller.correct("llap") == "lap"  # doubled
    assert speller.correct("tueyn") == "tuyen"
    assert speller.correct("khiem") == "khiem"  # rare but a real syllable: left alone


def test_segmenter_gives_both_spellings_the_same_words():
    seg = Segmenter.learn(["Giáo viên mầm non thiếu phụ cấp ưu đãi, hồ sơ sổ sách quá nhiều."])
    with_marks = seg.segment(syllables("Giáo viên mầm non phải làm hồ sơ sổ sách"))
    without = seg.segment(syllables("giao vien mam non phai lam ho so so sach"))
    assert with_marks == without
    assert {"giao_vien", "mam_non", "ho_so", "so_sach"} <= set(with_marks)


DUPLICATES = [
    # diacritics only
    ("Giáo viên phải làm quá nhiều hồ sơ sổ sách, đề nghị Bộ cắt giảm.",
     "giao vien phai lam qua nhieu ho so so sach, de nghi bo cat giam"),
    ("Lương giáo viên mầm non mới ra trường quá thấp, không đủ sống.",
     "Luong giao vien mam non moi ra truong qua thap, khong du song."),
    # typos
    ("Đề nghị tăng phụ cấp thâm niên cho nhân viên trường học.",
     "Đề nghị tănng phụ cpấ thâm niên cho nhân viên trườg học."),
    ("Học sinh đánh nhau rồi quay clip đưa lên mạng xã hội.",
     "hoc sinh dnah nhau roi quya clip dua len mang xa hoi"),
    # word order
    ("Trường thiếu giáo viên nhưng huyện không có chỉ tiêu biên chế.",
     "Huyện không có chỉ tiêu biên chế, trường thì thiếu giáo viên."),
    ("Sách giáo khoa mới đắt quá, phụ huynh vùng khó khăn không mua nổi.",
     "Phụ huynh vùng khó khăn không mua nổi sách giáo khoa mới vì đắt quá."),
    # all at once
    ("Đề nghị bỏ thi thăng hạng chức danh nghề nghiệp cho giáo viên.",
     "cho giao vien de nghi bo thi thang hnag chuc danh nghe ngheip"),
]

DIFFERENT = [
    ("Đề nghị tăng phụ cấp cho giáo viên vùng đặc biệt khó khăn.",
     "Đề nghị giảm hồ sơ sổ sách cho giáo viên."),
    ("Lương giáo viên mầm non quá thấp.", "Tuổi nghỉ hưu của giáo viên mầm non quá cao."),
    ("Sách giáo khoa mới đắt quá.", "Thiết bị dạy học cho chương trình mới chưa được cấp đủ."),
    ("Học sinh dùng điện thoại trong giờ học.", "Giáo viên bị phụ huynh xúc phạm, hành hung."),
    ("Thi tốt nghiệp THPT nên công bố phương án sớm.", "Thi vào lớp 10 ở Hà Nội quá căng thẳng."),
]


@pytest.mark.parametrize(("a", "b"), DUPLICATES)
def test_duplicates_score_above_the_threshold(featurizer, a, b):
    assert similarity(a, b, featurizer) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_concerns_score_below_the_threshold(featurizer, a, b):
    assert similarity(a, b, featurizer) < DEFAULT_THRESHOLD


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
    fast = textsim._similarities(x[:120], x[60:])
    assert np.allclose(fast, (x[:120] @ x[60:].T).toarray(), atol=1e-5)


def test_deduplicator_on_the_labelled_set(items):
    texts = [r["text"] for r in items]
    groups = np.array([r["group"] for r in items])
    roots = np.array([r["source"] or r["id"] for r in items])
    clusters = find_duplicates(texts, batch_size=128)  # small batches: several leader rounds
    iu = np.triu_indices(len(texts), 1)
    same = groups[iu[0]] == groups[iu[1]]
    surface = same & (roots[iu[0]] == roots[iu[1]])
    predicted = clusters.labels[iu[0]] == clusters.labels[iu[1]]
    precision = (predicted & same).sum() / predicted.sum()
    recall = (predicted & same).sum() / same.sum()
    surface_recall = (predicted & surface).sum() / surface.sum()
    print(f"\ndedupe on {len(texts)} items: precision {precision:.3f}, recall {recall:.3f}, "
          f"recall of diacritic/typo/order variants {surface_recall:.3f}")
    assert precision >= 0.9
    assert surface_recall >= 0.95  # leader clustering: a variant can miss a leader its source matched
    assert recall >= 0.6
    # Every item's score is its similarity to its leader.
    assert np.all(clusters.scores[clusters.leaders] == 1.0)
    assert all(len(g) >= 2 for g in clusters.groups())


def test_deduplicator_is_deterministic(items):
    texts = [r["text"] for r in items[:150]]
    a = find_duplicates(texts, batch_size=64)
    b = find_duplicates(texts, batch_size=64)
    assert np.array_equal(a.labels, b.labels)
