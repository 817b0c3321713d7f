"""Opposite opinions are never merged; numbers, synonyms and set phrases are normalised."""

import numpy as np
import pytest

from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import evaluation, lexicon, moderation, opinions, similar, textsim
from diemcau.voice.models import ModerationAction
from diemcau.voice.near_duplicates import DEFAULT_THRESHOLD, SimilarityIndex, duplicate_clusters, opposite_texts

from .conftest import clustered

# (a, b): the same words, opposite meaning. The first three are the issue's own examples.
OPPOSITE = [
    ("Thầy dạy đúng giờ", "Thầy dạy không đúng giờ"),
    ("Học sinh được dùng điện thoại trong giờ học", "Học sinh không được dùng điện thoại trong giờ học"),
    ("Cho phép học sinh dùng điện thoại trong giờ học", "Cấm học sinh dùng điện thoại trong giờ học"),
    ("Đề nghị tăng phụ cấp ưu đãi cho giáo viên mầm non", "Đề nghị giảm phụ cấp ưu đãi cho giáo viên mầm non"),
    ("Tôi ủng hộ thi tốt nghiệp THPT hai lần", "Tôi không đồng ý thi tốt nghiệp THPT hai lần"),
    ("thiet bi day hoc da duoc cap du, giao vien khong phai tu lam do dung",
     "Thiết bị dạy học chưa được cấp đủ, giáo viên phải tự làm đồ dùng"),
    # A quantity negator ("ít có", "hiếm khi") says lack, as "không có" does.
    ("Giáo viên trường tư thục ít có cơ hội được tham gia tập huấn chuyên môn",
     "Giáo viên trường tư thục vẫn được tham gia tập huấn chuyên môn đầy đủ"),
    ("Giáo viên vùng cao hiếm khi được đi tập huấn", "Giáo viên vùng cao được đi tập huấn thường xuyên"),
]
SAME = [
    ("Có nên tăng lương cho giáo viên không?", "Đề nghị tăng lương cho giáo viên"),  # a question, not "không"
    ("Trường thiếu phòng học", "Trường không đủ phòng học"),
    ("Tôi không đồng ý bỏ kỳ thi", "Tôi phản đối bỏ kỳ thi"),
    ("Không chỉ lương mà cả phụ cấp đều thấp", "Lương và phụ cấp đều thấp"),
    # Cannot ("không ... nổi", "không thể", "không ... được") is a complaint of lack, as "không đủ" is.
    ("Lương giáo viên trẻ thấp quá, không sống nổi", "Lương giáo viên trẻ thấp quá, không đủ sống"),
    ("Sách có bài tập viết vào sách nên năm sau không dùng lại được", "Sách giáo khoa nên được dùng lại nhiều năm"),
    # "cấm X" is "không được X"; a rhetorical "sao … được?" says cannot.
    ("Học sinh không được dùng điện thoại trong giờ học", "Cấm học sinh dùng điện thoại trong giờ học"),
    ("Giáo viên đơn môn không thể dạy hết môn tích hợp", "Một giáo viên sao dạy được cả Lý, Hóa, Sinh?"),
]


@pytest.mark.parametrize(("a", "b"), OPPOSITE)
def test_opposite_opinions_are_never_merged(a, b):
    assert opposite_texts(a, b)
    # Twice each, so that each has a duplicate: the copies merge, the opposites never.
    labels = duplicate_clusters([a, b, a + ".", b + "."]).labels
    assert labels[0] == labels[2] and labels[1] == labels[3]
    assert labels[0] != labels[1]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_polarity_is_not_taken_for_opposite(a, b):
    assert not opposite_texts(a, b)


def test_typing_index_does_not_offer_the_opposite_opinion():
    index = SimilarityIndex(textsim.default_featurizer())
    index.add(1, "Học sinh được dùng điện thoại trong giờ học")
    assert index.similar("Học sinh không được dùng điện thoại trong giờ học") == []
    assert [m.key for m in index.similar("Học sinh không được dùng điện thoại trong giờ học",
                                         same_polarity=False)] == [1]


def test_yes_no_questions_are_told_from_statements():
    asks = [lexicon.normalise(t).yes_no for t in (
        "Có nên bỏ kỳ thi tốt nghiệp THPT không?", "Bộ đã có hướng dẫn chưa? Mong Bộ trả lời sớm.",
        "Giáo viên hợp đồng có được hưởng phụ cấp không ?", "Một giáo viên sao dạy được cả Lý, Hóa, Sinh?",
        "Đề nghị bỏ kỳ thi tốt nghiệp THPT", "Không nên bỏ kỳ thi, giáo viên không đồng ý.")]
    assert asks == [True, True, True, False, False, False]


def test_numbers_and_synonyms_are_normalised():
    a = lexicon.normalise("Lớp ở đô thị có năm mươi em")
    b = lexicon.normalise("Lop o thanh pho co 50 hoc sinh")
    assert a.syllables == b.syllables == ["lop", "o", "thanh", "pho", "co", "50", "hoc", "sinh"]
    assert lexicon.normalise("hai trăm linh năm").syllables == ["205"]
    assert lexicon.normalise("Năm học mới").syllables == ["nam", "hoc", "moi"]  # a year, not five
    assert textsim.similarity("Mỗi lớp ở thành phố có tới 50 học sinh, quá tải",
                              "Lớp học ở đô thị đông tới năm mươi em, quá tải") >= DEFAULT_THRESHOLD


def test_set_phrases_stay_out_of_the_character_features():
    norm = lexicon.normalise("Cần tăng cường hướng dẫn cụ thể về hồ sơ")
    marked = [s for s, m in zip(norm.syllables, norm.in_set_phrase, strict=True) if m]
    assert marked == ["can", "tang", "huong", "dan", "cu", "the"]
    feat = textsim.default_featurizer()
    a, b = "Cần tăng cường hướng dẫn cụ thể về thi tốt nghiệp", "Cần tăng cường hướng dẫn cụ thể về bán trú"
    assert textsim.similarity(a, b, feat) < DEFAULT_THRESHOLD + 0.05
    labels = duplicate_clusters([a, b]).labels  # two concerns in one formula: never merged
    assert labels[0] != labels[1]


@pytest.mark.parametrize(("a", "b"), [
    # a typed "không" is still a negation; the complaint of lack and the request are one concern
    ("Phụ cấp không tương xứng với công việc", "Phu cap khng tuong xung voi cong viec"),
    ("Trường không có nước sạch, nhà vệ sinh xuống cấp", "Đề nghị đầu tư nước sạch và nhà vệ sinh cho trường"),
    ("Giáo viên không còn thời gian chuẩn bị bài", "Giáo viên không còn thời gian nghiên cứu bài dạy"),
])
def test_same_concern_in_other_words_is_not_opposite(a, b):
    assert not opposite_texts(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ("Đề nghị đầu tư nhà vệ sinh ở điểm trường lẻ", "Không nên đầu tư nhà vệ sinh ở điểm trường lẻ"),
    ("Đề nghị tăng phụ cấp ưu đãi", "Đề nghị không tăng phụ cấp ưu đãi mà tăng lương cơ sở"),
    ("Thiết bị đã được cấp đủ", "Thiết bị chưa được cấp đủ"),
])
def test_a_negated_request_opposes_the_request(a, b):
    assert opposite_texts(a, b)


def test_polarity_merges_are_counted_by_the_products_detector():
    texts = ["Thầy dạy đúng giờ", "Thầy dạy không đúng giờ", "Thầy dạy đúng giờ lắm"]
    _rows, meta = textsim.default_featurizer().transform_meta(texts)
    assert evaluation.polarity_merges(np.array([0, 0, 0]), meta) == 2  # what a careless merge would do
    assert evaluation.polarity_merges(np.array([0, 1, 0]), meta) == 0


def test_a_moderators_merge_of_opposite_opinions_is_refused_unless_a_reason_is_given(
        conference, approved, moderator, client):
    a = approved("Học sinh được dùng điện thoại trong giờ học", kind="opinion")
    b = approved("Học sinh không được dùng điện thoại trong giờ học", kind="opinion")
    mod = moderator("bavi")
    with pytest.raises(DomainError) as refused:
        moderation.merge(mod, b, a)
    assert refused.value.code == "merge_opposite" and "trái chiều" in refused.value.message
    b.refresh_from_db()
    assert b.status == "approved" and not ModerationAction.objects.filter(opinion=b, action="merge").exists()

    # On the moderation page: the refusal, then the override with its reason, shown on the item.
    client.force_login(mod)
    url, hx = f"/voice/opinions/{b.pk}/merge/", {"HTTP_HX_REQUEST": "true"}
    html = client.post(url, {"target": a.pk}, **hx).content.decode()
    assert 'data-code="merge_opposite"' in html and "override_reason" in html
    html = client.post(url, {"target": a.pk, "override_reason": "Cùng hỏi về quy định dùng điện thoại"},
                       **hx).content.decode()
    assert "data-opposite-merge" in html and "Cùng hỏi về quy định dùng điện thoại" in html
    entry = ModerationAction.objects.filter(opinion=b, action="merge").get()
    assert entry.after["opposite"] is True and entry.reason == "Cùng hỏi về quy định dùng điện thoại"
    logged = AuditEntry.objects.filter(action="voice.opinion.merge").get()
    assert logged.after["override_reason"] == "Cùng hỏi về quy định dùng điện thoại"


def test_moderator_sees_opposite_opinions_not_suggested(conference, teacher, moderator):
    mod = moderator("bavi")
    a = opinions.submit(teacher(), conference, "Đề nghị cho phép học sinh dùng điện thoại trong giờ học")
    b = opinions.submit(teacher("school_b"), conference, "Đề nghị cấm học sinh dùng điện thoại trong giờ học")
    clustered(conference)
    assert similar.suggested_duplicates(mod, conference) == []
    assert [(x.pk, y.pk) for x, y in similar.opposed_pairs(mod, conference)] == [(a.pk, b.pk)]


def test_incremental_index_equals_a_rebuild(conference, approved, teacher):
    me = teacher()
    first = approved("Trường thiếu nhà vệ sinh cho học sinh")
    similar.similar(conference, "nha ve sinh", me.user)  # the index is built here
    second = approved("Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên")
    third = approved("Phòng học ở điểm trường bị xuống cấp")
    moderation.edit(SYSTEM, first, "Trường thiếu nhà vệ sinh và nước sạch cho học sinh")
    moderation.reject(SYSTEM, third, "Trùng lặp")
    live = similar._index(conference)
    rebuilt = SimilarityIndex(textsim.default_featurizer())
    rebuilt.add_many([first.pk, second.pk], ["Trường thiếu nhà vệ sinh và nước sạch cho học sinh",
                                             "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên"])
    assert live.keys() == rebuilt.keys() == {first.pk, second.pk}
    for query in ("nha ve sinh nuoc sach", "giam ho so so sach", "phong hoc xuong cap"):
        assert ([(m.key, round(m.score, 5)) for m in live.similar(query, min_score=0.1)]
                == [(m.key, round(m.score, 5)) for m in rebuilt.similar(query, min_score=0.1)])
