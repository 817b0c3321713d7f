"""The voice API: submit, similar, vote and moderation, scoped (404 outside), with stable codes."""

import pytest

from diemcau.voice import opinions
from diemcau.voice.models import Opinion

pytestmark = pytest.mark.smoke

J = "application/json"


def post(client, url, data=None):
    return client.post(url, data or {}, content_type=J)


@pytest.fixture
def me(client, teacher):
    person = teacher()
    client.force_login(person.user)
    return person


def test_needs_a_login(client, conference):
    assert client.get(f"/api/voice/conferences/{conference.pk}/topics/").status_code == 401


def test_submit_and_see_it_in_mine(client, me, conference):
    topics = client.get(f"/api/voice/conferences/{conference.pk}/topics/").json()
    assert len(topics) == 12
    r = post(client, f"/api/voice/conferences/{conference.pk}/opinions/",
             {"text": "Luong giao vien qua thap", "kind": "opinion", "anonymous": True, "topic_id": topics[0]["id"]})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "pending" and body["unit"] is None and body["suggested_topic"]["key"] == "luong_phu_cap"
    mine = client.get(f"/api/voice/conferences/{conference.pk}/mine/").json()
    assert [m["id"] for m in mine] == [body["id"]]


@pytest.mark.parametrize("text,code", [("", "empty"), ("x" * 1001, "too_long")])
def test_submit_bad_text(client, me, conference, text, code):
    r = post(client, f"/api/voice/conferences/{conference.pk}/opinions/", {"text": text})
    assert r.status_code == 400 and r.json()["code"] == code


def test_flooding_gets_a_stable_code(client, me, conference):
    url = f"/api/voice/conferences/{conference.pk}/opinions/"
    for i in range(opinions.RATE_PER_PERSON):
        assert post(client, url, {"text": f"Câu {i}"}).status_code == 201
    r = post(client, url, {"text": "Câu nữa"})
    assert r.status_code == 400 and r.json()["code"] == "rate_limited_person"


def test_similar_and_vote_twice(client, me, conference, approved):
    op = approved("Đề nghị tăng phụ cấp thâm niên cho giáo viên mầm non")
    found = client.get(f"/api/voice/conferences/{conference.pk}/similar/",
                       {"q": "de nghi tang phu cap tham nien giao vien mam non"}).json()
    assert [f["id"] for f in found] == [op.pk] and found[0]["unit"] == "Trường Tiểu học Tây Đằng A"
    first = post(client, f"/api/voice/opinions/{op.pk}/vote/", {"kind": "upvote"}).json()
    second = post(client, f"/api/voice/opinions/{op.pk}/vote/", {"kind": "upvote"}).json()
    assert first["created"] and not second["created"] and second["opinion"]["upvotes"] == 1


def test_vote_outside_scope_is_not_found(client, me, conference, approved):
    op = approved("Ở TP Hồ Chí Minh", unit_key="school_d")
    r = post(client, f"/api/voice/opinions/{op.pk}/vote/", {"kind": "upvote"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_moderation_flow(client, conference, teacher, moderator, tree):
    a = opinions.submit(teacher(), conference, "Giảm hồ sơ sổ sách")
    b = opinions.submit(teacher("school_b"), conference, "Giam ho so so sach")
    client.force_login(moderator("bavi"))
    queue = client.get(f"/api/voice/conferences/{conference.pk}/queue/").json()
    assert {q["id"] for q in queue} == {a.pk, b.pk}
    for op in (a, b):
        assert post(client, f"/api/voice/opinions/{op.pk}/approve/").status_code == 200
    r = post(client, f"/api/voice/opinions/{b.pk}/edit/", {"text": "Giảm hồ sơ, sổ sách"})
    assert r.json()["text"] == "Giảm hồ sơ, sổ sách"
    topic = conference.voice_topics.get(key="ho_so_cong_viec")
    assert post(client, f"/api/voice/opinions/{b.pk}/tag/", {"topic_id": topic.pk}).json()["topic"]["id"] == topic.pk
    r = post(client, f"/api/voice/opinions/{a.pk}/merge/", {"target_id": a.pk})
    assert r.status_code == 400 and r.json()["code"] == "merge_self"
    r = post(client, f"/api/voice/opinions/{a.pk}/merge/", {"target_id": b.pk})
    assert r.status_code == 200 and r.json()["raised_by_units"] == 2
    r = post(client, f"/api/voice/opinions/{b.pk}/merge/", {"target_id": a.pk})
    assert r.status_code == 400 and r.json()["code"] in ("merge_cycle", "already_merged")
    assert post(client, f"/api/voice/opinions/{b.pk}/forward/").json()["at_unit_id"] == tree["bavi"].pk
    ranked = client.get(f"/api/voice/conferences/{conference.pk}/opinions/").json()
    assert [o["id"] for o in ranked] == [b.pk]
    r = post(client, f"/api/voice/opinions/{b.pk}/reject/", {"reason": ""})
    assert r.json()["code"] == "reason_required"


def test_moderation_outside_scope_is_not_found(client, conference, teacher, moderator):
    op = opinions.submit(teacher(), conference, "Ở Ba Vì")
    client.force_login(moderator("socson"))
    for action, body in [("approve", {}), ("reject", {"reason": "x"}), ("edit", {"text": "y"}),
                         ("tag", {"topic_id": None}), ("forward", {}), ("merge", {"target_id": op.pk})]:
        r = post(client, f"/api/voice/opinions/{op.pk}/{action}/", body)
        assert r.status_code == 404, action
    assert client.get(f"/api/voice/conferences/{conference.pk}/queue/").json() == []
    assert Opinion.objects.get(pk=op.pk).status == "pending"


def test_participant_cannot_moderate(client, me, conference, teacher):
    op = opinions.submit(teacher(), conference, "Một ý kiến")
    assert post(client, f"/api/voice/opinions/{op.pk}/approve/").status_code == 404


def test_anonymous_items_hide_unit_and_school_level(client, me, conference):
    r = post(client, f"/api/voice/conferences/{conference.pk}/opinions/", {"text": "Ẩn danh", "anonymous": True})
    body = r.json()
    assert body["unit"] is None and body["at_unit_id"] is None
