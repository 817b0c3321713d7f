"""The voice services: submit, similar, vote, moderation up the tree, ranking; scope on every action."""

import pytest

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import access, moderation, opinions, similar, topic_list
from diemcau.voice.models import ModerationAction, Opinion, Vote

from .conftest import clustered

pytestmark = pytest.mark.smoke


def codes(excinfo):
    return excinfo.value.code


# --- submit -------------------------------------------------------------------------------------

def test_submit_stores_nfc_text_at_the_authors_unit_with_a_suggested_topic(conference, teacher, tree):
    person = teacher()
    decomposed = "Lu\u031bo\u031bng gia\u0301o vie\u0302n qua\u0301 tha\u0302\u0301p, phu\u0323 ca\u0302\u0301p ít"
    op = opinions.submit(person, conference, "  " + decomposed + "  ", kind="opinion")
    assert op.text == "Lương giáo viên quá thấp, phụ cấp ít"
    assert op.status == "pending" and op.at_unit == tree["school_a"] and op.author_unit == tree["school_a"]
    assert op.suggested_topic.key == "luong_phu_cap"
    assert conference.voice_topics.count() == 12  # seeded from DEFAULT_TOPICS
    assert AuditEntry.objects.filter(action="voice.opinion.submit", object_id=str(op.pk)).exists()


@pytest.mark.parametrize("text,code", [("", "empty"), ("   \n ", "empty"), ("a" * 1001, "too_long")])
def test_submit_refuses_bad_text(conference, teacher, text, code):
    with pytest.raises(DomainError) as e:
        opinions.submit(teacher(), conference, text)
    assert codes(e) == code
    assert not Opinion.objects.exists()


def test_markup_is_stored_as_text(conference, teacher):
    op = opinions.submit(teacher(), conference, "<script>alert(1)</script> sổ sách nhiều quá")
    assert op.text.startswith("<script>")


def test_flooding_is_refused_with_a_clear_message(conference, teacher):
    person = teacher()
    for i in range(opinions.RATE_PER_PERSON):
        opinions.submit(person, conference, f"Câu hỏi số {i} về hồ sơ sổ sách")
    with pytest.raises(DomainError) as e:
        opinions.submit(person, conference, "Thêm một câu nữa")
    assert codes(e) == "rate_limited_person" and "10" in e.value.message
    opinions.submit(teacher(), conference, "Một đồng nghiệp khác vẫn gửi được")


def test_unit_flooding_is_refused(conference, teacher, monkeypatch):
    monkeypatch.setattr(opinions, "RATE_PER_UNIT", 3)
    for _ in range(3):
        opinions.submit(teacher(), conference, "Thiếu phòng học ở điểm trường lẻ")
    with pytest.raises(DomainError) as e:
        opinions.submit(teacher(), conference, "Thiếu phòng học")
    assert codes(e) == "rate_limited_unit"
    opinions.submit(teacher("school_b"), conference, "Another school is not limited")


def test_submit_requires_a_person(conference):
    with pytest.raises(DomainError) as e:
        opinions.submit(None, conference, "xin chào")
    assert codes(e) == "not_a_participant"


# --- similar ------------------------------------------------------------------------------------

def test_similar_finds_items_without_diacritics_in_scope_only(conference, approved, teacher, tree, moderator):
    salary = approved("Đề nghị tăng phụ cấp ưu đãi cho giáo viên mầm non")
    approved("Đề nghị tăng phụ cấp ưu đãi cho giáo viên mầm non", unit_key="school_d")  # HCM: out of scope
    approved("Sân chơi của trường bị xuống cấp")
    opinions.submit(teacher(), conference, "de nghi tang phu cap uu dai giao vien mam non")  # pending: not shown
    me = teacher()
    found = similar.similar(conference, "de nghi tang phu cap uu dai cho giao vien mam non", me.user)
    assert [o.pk for o in found] == [salary.pk]
    assert found[0].score > 0.5


def test_similar_index_is_rebuilt_when_items_change(conference, approved, teacher):
    me = teacher()
    assert similar.similar(conference, "thiếu nhà vệ sinh cho học sinh", me.user) == []
    op = approved("Trường thiếu nhà vệ sinh cho học sinh")
    assert [o.pk for o in similar.similar(conference, "thieu nha ve sinh hoc sinh", me.user)] == [op.pk]
    moderation.reject(SYSTEM, op, "Trùng lặp")
    assert similar.similar(conference, "thieu nha ve sinh hoc sinh", me.user) == []


# --- votes --------------------------------------------------------------------------------------

def test_voting_twice_is_a_no_op(conference, approved, teacher):
    op = approved("Giảm bớt hồ sơ sổ sách cho giáo viên", kind="opinion")
    me = teacher()
    v1, new1 = opinions.vote(me, op, "upvote")
    v2, new2 = opinions.vote(me, op, "upvote")
    assert new1 and not new2 and v1.pk == v2.pk
    opinions.vote(me, op, "agree")
    _, new = opinions.vote(me, op, "disagree")  # same family as agree: no-op
    op.refresh_from_db()
    assert not new and (op.upvotes, op.agree, op.disagree) == (1, 1, 0)
    assert Vote.objects.filter(opinion=op).count() == 2


def test_questions_take_upvotes_only_and_pending_items_no_votes(conference, approved, teacher):
    q = approved("Khi nào tăng lương?")
    with pytest.raises(DomainError) as e:
        opinions.vote(teacher(), q, "agree")
    assert codes(e) == "not_a_statement"
    pending = opinions.submit(teacher(), conference, "Chưa duyệt")
    with pytest.raises(DomainError) as e:
        opinions.vote(teacher(), pending, "upvote")
    assert codes(e) == "not_open"


def test_vote_outside_scope_is_refused(conference, approved, teacher):
    op = approved("Ý kiến ở TP Hồ Chí Minh", unit_key="school_d")
    with pytest.raises(ScopeError):
        opinions.vote(teacher("school_a"), op, "upvote")


# --- moderation ---------------------------------------------------------------------------------

@pytest.fixture
def pending(conference, teacher):
    return opinions.submit(teacher("school_a"), conference, "Giáo viên phải làm quá nhiều báo cáo", kind="opinion")


@pytest.mark.parametrize("action", ["approve", "reject", "edit", "tag", "forward", "merge"])
def test_moderator_outside_scope_is_refused(conference, pending, approved, moderator, action):
    outsider = moderator("socson")
    target = approved("Báo cáo quá nhiều")
    moderation.approve(SYSTEM, pending) if action in ("forward", "merge") else None
    args = {"approve": (), "reject": ("lý do",), "edit": ("sửa",), "tag": (conference.voice_topics.first(),),
            "forward": (), "merge": (target,)}[action]
    with pytest.raises(ScopeError):
        getattr(moderation, action)(outsider, pending, *args)
    assert not ModerationAction.objects.filter(opinion=pending, action=action).exists()


def test_a_participant_cannot_moderate_their_own_unit(pending, teacher):
    with pytest.raises(ScopeError):
        moderation.approve(teacher().user, pending)


def test_approve_reject_edit_tag_are_logged(conference, pending, moderator, tree):
    mod = moderator("bavi")
    moderation.approve(mod, pending)
    moderation.edit(mod, pending, "Giáo viên phải làm quá nhiều báo cáo.")
    topic = conference.voice_topics.get(key="ho_so_cong_viec")
    moderation.tag(mod, pending, topic)
    moderation.reject(mod, pending, "Đã có ý kiến tương tự")
    pending.refresh_from_db()
    assert pending.status == "rejected" and pending.reject_reason == "Đã có ý kiến tương tự"
    assert pending.text.endswith(".") and pending.topic == topic
    log = list(ModerationAction.objects.filter(opinion=pending).values_list("action", flat=True))
    assert log == ["approve", "edit", "tag", "reject"]
    edit = ModerationAction.objects.get(opinion=pending, action="edit")
    assert edit.before == {"text": "Giáo viên phải làm quá nhiều báo cáo"} and edit.actor == mod
    assert AuditEntry.objects.filter(action__startswith="voice.opinion.", actor=mod).count() == 4


def test_reject_needs_a_reason_and_approve_needs_pending(pending, moderator):
    mod = moderator("school_a")
    with pytest.raises(DomainError) as e:
        moderation.reject(mod, pending, "  ")
    assert codes(e) == "reason_required"
    moderation.approve(mod, pending)
    with pytest.raises(DomainError) as e:
        moderation.approve(mod, pending)
    assert codes(e) == "not_pending"


def test_edit_refuses_empty_text(pending, moderator):
    with pytest.raises(DomainError) as e:
        moderation.edit(moderator("bavi"), pending, "")
    assert codes(e) == "empty"


def test_forward_moves_up_one_level_and_out_of_the_lower_scope(conference, pending, moderator, tree):
    school_mod, district_mod = moderator("school_a"), moderator("bavi")
    with pytest.raises(DomainError) as e:
        moderation.forward(school_mod, pending)
    assert codes(e) == "not_approved"
    moderation.approve(school_mod, pending)
    moderation.forward(school_mod, pending)
    pending.refresh_from_db()
    assert pending.at_unit == tree["bavi"]
    with pytest.raises(ScopeError):  # it has left the school's level
        moderation.forward(school_mod, pending)
    moderation.forward(district_mod, pending)
    pending.refresh_from_db()
    assert pending.at_unit == tree["hanoi"]
    moderation.forward(SYSTEM, pending)
    with pytest.raises(DomainError) as e:
        moderation.forward(SYSTEM, pending)
    assert codes(e) == "at_top"


def test_merge_carries_votes_and_authors_over(conference, approved, teacher, moderator, tree):
    mod = moderator("bavi")
    a = approved("Đề nghị giảm hồ sơ sổ sách", kind="opinion")
    b = approved("Giảm bớt sổ sách giấy tờ cho giáo viên", unit_key="school_b", kind="opinion")
    b = moderation.forward(mod, b)  # now at Ba Vì: school A's teachers see it
    both, only_a = teacher(), teacher()
    for p in (both, only_a):
        opinions.vote(p, a, "upvote")
    opinions.vote(both, b, "upvote")
    opinions.vote(only_a, a, "agree")
    target = moderation.merge(mod, a, b)
    a.refresh_from_db()
    assert a.status == "merged" and a.merged_into == b and a.text == "Đề nghị giảm hồ sơ sổ sách"
    assert (target.upvotes, target.agree, target.raised_by_people, target.raised_by_units) == (2, 1, 2, 2)
    assert ModerationAction.objects.get(opinion=a, action="merge").after["merged_into"] == b.pk


def test_merge_into_itself_or_in_a_cycle_is_refused(conference, approved, moderator):
    mod = moderator("bavi")
    a, b, c = approved("Một"), approved("Hai"), approved("Ba")
    with pytest.raises(DomainError) as e:
        moderation.merge(mod, a, a)
    assert codes(e) == "merge_self"
    moderation.merge(mod, a, b)
    with pytest.raises(DomainError) as e:
        moderation.merge(mod, b, a)
    assert codes(e) == "merge_cycle"
    moderation.merge(mod, b, c)
    a.refresh_from_db()
    assert a.merged_into == c  # flattened: no chains, so no cycles
    c.refresh_from_db()
    assert c.raised_by_people == 3
    with pytest.raises(DomainError) as e:
        moderation.merge(mod, c, a)
    assert codes(e) == "merge_cycle"


def test_forward_carries_merged_items(conference, approved, moderator, tree):
    mod = moderator("bavi")
    a, b = approved("Một"), approved("Hai", unit_key="school_b")
    moderation.merge(mod, a, b)
    moderation.forward(mod, moderation.forward(mod, b))
    a.refresh_from_db()
    assert a.at_unit == tree["hanoi"]


# --- queues -------------------------------------------------------------------------------------

def test_each_level_sees_what_came_up_to_it_ranked(conference, approved, teacher, moderator, national, tree):
    district = moderator("bavi")
    low, high = approved("Ít phiếu"), approved("Nhiều phiếu", unit_key="school_b")
    for _ in range(3):
        opinions.vote(teacher("school_b"), high, "upvote")
    for op in (low, high):
        moderation.forward(district, moderation.forward(district, op))
    hanoi_mod = moderator("hanoi")
    assert list(moderation.ranked(hanoi_mod, conference)) == [high, low]
    assert list(moderation.ranked(district, conference)) == []
    assert list(moderation.ranked(district, conference, include_below=True)) == []
    moderation.forward(hanoi_mod, high)
    assert list(moderation.national(national, conference)) == [high]
    with pytest.raises(ScopeError):
        moderation.ranked(district, conference, unit=tree["hanoi"])


def test_moderation_queue_is_scoped(conference, pending, teacher, moderator):
    other = opinions.submit(teacher("school_c"), conference, "Ở Sóc Sơn")
    assert list(moderation.moderation_queue(moderator("bavi"), conference)) == [pending]
    assert list(moderation.moderation_queue(moderator("socson"), conference)) == [other]
    assert list(moderation.moderation_queue(teacher().user, conference)) == []


def test_suggested_duplicates_cluster_near_identical_items(conference, teacher, moderator):
    mod = moderator("bavi")
    a = opinions.submit(teacher(), conference, "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học")
    b = opinions.submit(teacher("school_b"), conference, "de nghi giam bot ho so so sach cho giao vien tieu hoc")
    opinions.submit(teacher(), conference, "Trường cần thêm máy chiếu")
    clustered(conference)  # a moderator looked: the background job clustered the conference
    groups = similar.suggested_duplicates(mod, conference)
    assert [sorted(o.pk for o in g) for g in groups] == [sorted([a.pk, b.pk])]


def test_topic_suggestion_learns_from_moderators(conference, approved, moderator):
    mod = moderator("bavi")
    a = approved("Phần mềm quản lý trường học hay bị lỗi")
    topic = conference.voice_topics.get(key="chuyen_doi_so")
    moderation.tag(mod, a, topic)
    b = approved("Tập huấn kỹ năng cho giáo viên")
    moderation.tag(mod, b, conference.voice_topics.get(key="boi_duong"))
    assert topic_list.suggest_topic(conference, "phan mem hay bi loi").key == "chuyen_doi_so"


def test_teachers_see_their_units_items_and_those_forwarded_above_them(conference, approved, teacher, moderator):
    own = approved("Ở trường mình")
    sister = approved("Ở trường bạn", unit_key="school_b")
    far = approved("Ở Sóc Sơn", unit_key="school_c")
    me = teacher().user
    assert set(access.visible_opinions(me, conference)) == {own}
    moderation.forward(moderator("bavi"), sister)
    assert set(access.visible_opinions(me, conference)) == {own, sister}
    assert far not in access.visible_opinions(me, conference)


def test_changes_are_published_on_commit(conference, teacher, moderator, django_capture_on_commit_callbacks):
    from diemcau.voice.notices import opinions_group
    from tests.listening import GroupListener

    listener = GroupListener(opinions_group(conference.pk))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            op = opinions.submit(teacher(), conference, "Một câu hỏi")
            op = moderation.approve(moderator("bavi"), op)
            opinions.vote(teacher(), op, "upvote")
        heard = listener.messages()
        assert [(m["type"], m["action"]) for m in heard] == [
            ("hub.dirty", "submit"), ("hub.dirty", "approve"), ("hub.dirty", "vote")]
    finally:
        listener.close()


def test_suggested_duplicates_put_the_approved_item_first(conference, teacher, moderator):
    mod = moderator("bavi")
    a = opinions.submit(teacher(), conference, "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học")
    b = opinions.submit(teacher("school_b"), conference, "de nghi giam bot ho so so sach cho giao vien tieu hoc")
    moderation.approve(mod, b)
    clustered(conference)
    assert [o.pk for o in similar.suggested_duplicates(mod, conference)[0]] == [b.pk, a.pk]
