"""The voice pages: the phone-sized form, similar items while typing, the moderator's queue."""

import pytest

from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions
from diemcau.voice.models import ModerationAction, Opinion

from .conftest import clustered

pytestmark = pytest.mark.smoke

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def me(client, teacher):
    person = teacher()
    client.force_login(person.user)
    return person


def test_send_page_submits_and_lists_mine(client, me, conference):
    url = f"/voice/{conference.pk}/"
    html = client.get(url).content.decode()
    assert 'name="text"' in html and f'hx-get="/voice/{conference.pk}/similar/"' in html
    r = client.post(url, {"text": "Khi nào tăng lương cơ sở?", "kind": "question"})
    assert r.status_code == 302
    html = client.get(url).content.decode()
    assert "Khi nào tăng lương cơ sở?" in html
    assert Opinion.objects.get().author == me


def test_script_is_escaped_on_every_page(client, me, conference, moderator, approved):
    evil = "<script>alert('x')</script> hồ sơ sổ sách quá nhiều"
    client.post(f"/voice/{conference.pk}/", {"text": evil, "kind": "opinion"})
    for html in [client.get(f"/voice/{conference.pk}/").content.decode()]:
        assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    op = Opinion.objects.get()
    moderation.approve(SYSTEM, op)
    html = client.get(f"/voice/{conference.pk}/similar/", {"text": "ho so so sach qua nhieu"}, **HX).content.decode()
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    client.force_login(moderator("bavi"))
    moderation.forward(SYSTEM, op)
    for url in (f"/voice/{conference.pk}/moderate/", f"/voice/{conference.pk}/ranked/"):
        html = client.get(url).content.decode()
        assert "&lt;script&gt;" in html and "<script>alert" not in html, url


@pytest.mark.parametrize("text,code", [("", "empty"), ("x" * 1001, "too_long")])
def test_bad_text_shows_the_error(client, me, conference, text, code):
    r = client.post(f"/voice/{conference.pk}/", {"text": text})
    assert r.status_code == 400 and f'data-code="{code}"' in r.content.decode()


def test_flooding_shows_a_clear_message(client, me, conference):
    for i in range(opinions.RATE_PER_PERSON):
        client.post(f"/voice/{conference.pk}/", {"text": f"Câu {i}"})
    r = client.post(f"/voice/{conference.pk}/", {"text": "Câu nữa"})
    assert r.status_code == 400 and 'data-code="rate_limited_person"' in r.content.decode()


def test_similar_items_appear_and_can_be_upvoted_once(client, me, conference, approved):
    op = approved("Đề nghị tăng phụ cấp thâm niên cho giáo viên mầm non")
    html = client.get(f"/voice/{conference.pk}/similar/", {"text": "tang phu cap tham nien giao vien mam non"},
                      **HX).content.decode()
    assert "Đề nghị tăng phụ cấp thâm niên" in html and f"/voice/opinions/{op.pk}/vote/" in html
    for _ in range(2):
        html = client.post(f"/voice/opinions/{op.pk}/vote/", {"kind": "upvote"}, **HX).content.decode()
        assert "▲ 1" in html
    op.refresh_from_db()
    assert op.upvotes == 1


def test_vote_outside_scope_is_not_found(client, me, approved):
    op = approved("Ở TP Hồ Chí Minh", unit_key="school_d")
    assert client.post(f"/voice/opinions/{op.pk}/vote/", {"kind": "upvote"}).status_code == 404


def test_anonymous_items_hide_the_unit(client, me, conference, teacher):
    op = opinions.submit(teacher(), conference, "Một ý kiến ẩn danh về tiền lương", anonymous=True)
    moderation.approve(SYSTEM, op)
    html = client.get(f"/voice/{conference.pk}/similar/", {"text": "y kien an danh ve tien luong"},
                      **HX).content.decode()
    assert "ẩn danh về tiền lương" in html and "Tây Đằng" not in html


def test_moderator_queue_actions(client, conference, teacher, moderator, tree):
    a = opinions.submit(teacher(), conference, "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học")
    b = opinions.submit(teacher("school_b"), conference, "de nghi giam bot ho so so sach cho giao vien tieu hoc")
    clustered(conference)
    client.force_login(moderator("bavi"))
    html = client.get(f"/voice/{conference.pk}/moderate/").content.decode()
    assert 'class="peers"' in html and html.count('id="item-') == 2  # each beside its likely duplicate
    for op in (a, b):
        r = client.post(f"/voice/opinions/{op.pk}/approve/", **HX)
        assert "Forward up" in r.content.decode() or "Chuyển lên" in r.content.decode()
    r = client.post(f"/voice/opinions/{a.pk}/merge/", {"target": a.pk}, **HX)
    assert 'data-code="merge_self"' in r.content.decode()
    client.post(f"/voice/opinions/{a.pk}/merge/", {"target": b.pk}, **HX)
    client.post(f"/voice/opinions/{b.pk}/reject/", {"reason": ""}, **HX)
    client.post(f"/voice/opinions/{b.pk}/forward/", **HX)
    b.refresh_from_db()
    assert b.at_unit == tree["bavi"] and b.raised_by_units == 2 and b.status == "approved"
    assert list(ModerationAction.objects.order_by("pk").values_list("action", flat=True)) == [
        "approve", "approve", "merge", "forward"]


def test_moderator_outside_scope_gets_404(client, conference, teacher, moderator):
    op = opinions.submit(teacher(), conference, "Ở Ba Vì")
    client.force_login(moderator("socson"))
    for action in ("approve", "reject", "edit", "tag", "forward", "merge"):
        assert client.post(f"/voice/opinions/{op.pk}/{action}/", {"reason": "x", "text": "y"}).status_code == 404
    assert "Ở Ba Vì" not in client.get(f"/voice/{conference.pk}/moderate/").content.decode()


def test_participants_have_no_queue(client, me, conference):
    assert client.get(f"/voice/{conference.pk}/moderate/").status_code == 404


def test_duplicates_merge_button_and_school_items_in_the_moderators_list(client, conference, teacher, moderator):
    mod = moderator("bavi")
    a = opinions.submit(teacher(), conference, "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học")
    b = opinions.submit(teacher("school_b"), conference, "de nghi giam bot ho so so sach cho giao vien tieu hoc")
    moderation.approve(mod, b)
    clustered(conference)
    client.force_login(mod)
    html = client.get(f"/voice/{conference.pk}/moderate/").content.decode()
    assert f'name="target" value="{b.pk}"' in html  # the duplicate's merge button points at the approved one
    assert f'id="item-{b.pk}"' in html  # approved at the school, listed for forwarding
    r = client.post(f"/voice/opinions/{a.pk}/merge/", {"target": b.pk})  # a pending duplicate merges directly
    assert r.status_code == 302
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.merged_into_id == b.pk and a.status == "merged" and b.raised_by_units == 2


def test_the_author_sees_the_rejection_reason(client, me, conference, moderator):
    op = opinions.submit(me, conference, "Một câu hỏi lạc đề")
    moderation.reject(moderator("bavi"), op, "Không thuộc nội dung hội nghị")
    html = client.get(f"/voice/{conference.pk}/").content.decode()
    assert "Không thuộc nội dung hội nghị" in html


def test_anonymous_authors_stay_hidden_from_moderators(client, conference, teacher, moderator):
    opinions.submit(teacher(name="Trần Văn Bình"), conference, "Ý kiến ẩn danh", anonymous=True)
    client.force_login(moderator("bavi"))
    html = client.get(f"/voice/{conference.pk}/moderate/").content.decode()
    assert "Ý kiến ẩn danh" in html and "Trần Văn Bình" not in html and "Tây Đằng" not in html
