"""Similarity features: the labelled set they are fitted on; duplicates score above the threshold."""

import numpy as np
import pytest

from diemcau.core.vntext import nfc
from diemcau.voice import textsim
from diemcau.voice.near_duplicates import DEFAULT_RULE, DEFAULT_THRESHOLD
from diemcau.voice.textsim import load_labelled_items, similarity


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
    assert sum(2 <= s <= 6 for s in sizes) >= 80 and max(sizes) <= 6
    assert {r["variant"] for r in items} >= {"original", "reworded", "no_diacritics", "typo", "word_order"}
    assert all(r["text"] == nfc(r["text"]) for r in items)
    for r in items:  # every generated variant names the handwritten item it was made from
        if r["variant"] not in ("original", "reworded", "negated"):
            assert r["source"] and next(s for s in items if s["id"] == r["source"])["group"] == r["group"]
        if r.get("negates"):  # an opposite opinion is never in the group of the item it negates
            assert next(s for s in items if s["id"] == r["negates"])["group"] != r["group"]


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
    """Below the merge rule's threshold for their length (short texts need a higher score)."""
    _rows, meta = featurizer.transform_meta([a, b])
    threshold = float(DEFAULT_RULE.thresholds(int(meta.n_words[0]), meta.n_words[1:2])[0])
    assert similarity(a, b, featurizer) < threshold


def test_a_recurring_text_is_analysed_once_and_gets_the_same_row_and_meta(featurizer):
    """Texts sent again are analysed once (the 100k benchmark's speed); nothing else changes."""
    texts = ["Thầy dạy không đúng giờ.", "Đề nghị tăng lương cho giáo viên mầm non", "Thầy dạy không đúng giờ."]
    rows, meta = featurizer.transform_meta(texts)
    alone = [featurizer.transform_meta([t]) for t in texts]
    for i, (row, one) in enumerate(alone):
        assert (rows[i] != row).nnz == 0
        assert meta.signature(i) == one.signature(0) and meta.words[i] == one.words[0]
    assert meta.opposes(0, 1) is False and meta.signature(0) == meta.signature(2)
    table = DEFAULT_RULE.threshold_table(20)
    assert [round(float(table[k]), 6) for k in range(21)] == [
        round(float(DEFAULT_RULE.thresholds(20, np.array([k]))[0]), 6) for k in range(21)]
