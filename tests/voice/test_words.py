"""Words from typed text: folding into syllables, syllable shapes, typo correction, segmentation."""

import re

import pytest

from diemcau.core.vntext import fold, nfc
from diemcau.voice.textsim import load_labelled_items
from diemcau.voice.words import Segmenter, Speller, is_syllable, match_key, syllables


@pytest.fixture(scope="module")
def items():
    return load_labelled_items()


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
