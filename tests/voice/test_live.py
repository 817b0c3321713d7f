"""The live question: put on screen by the director, answered, the fragment kiosks show; per-point limits."""

import pytest

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.events import access
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import bridge_points, halls
from diemcau.voice import moderation, notices, on_air, opinions
from diemcau.voice.models import ModerationAction, Opinion
from tests.listening import GroupListener

pytestmark = pytest.mark.smoke


@pytest.fixture
def director(make_user):
    return make_user("dieuphoi", Role.DIRECTOR)


@pytest.fixture
def heard(conference):
    """``heard()``: the conferences whose on-air pages were told so far (on commit) that the item on air changed."""
    listener, got = GroupListener(notices.on_air_group(conference.pk)), []

    def so_far():
        got.extend(int(m["group"].rsplit(".", 1)[1]) for m in listener.messages())
        return got
    yield so_far
    listener.close()


def test_director_puts_one_item_on_screen_at_a_time(conference, approved, director, heard,
                                                    django_capture_on_commit_callbacks):
    a = approved("Khi nào tăng lương cơ sở cho giáo viên mầm non?")
    b = approved("Đề nghị giảm hồ sơ sổ sách cho giáo viên tiểu học")
    with django_capture_on_commit_callbacks(execute=True):
        on_air.put_on_air(director, a)
    assert on_air.on_air(conference) == a and heard() == [conference.pk]
    with django_capture_on_commit_callbacks(execute=True):
        on_air.put_on_air(director, b, previous="return")
    a.refresh_from_db()
    assert a.status == "approved" and on_air.on_air(conference) == b and heard() == [conference.pk] * 2
    on_air.put_on_air(director, a)  # b becomes answered (the default)
    b.refresh_from_db()
    assert b.status == "answered" and b.answered_at is not None
    assert Opinion.objects.filter(conference=conference, status="on_air").count() == 1
    assert list(ModerationAction.objects.filter(opinion=a).values_list("action", flat=True)) == \
        ["approve", "on_air", "off_air", "on_air"]
    assert AuditEntry.objects.filter(action="voice.opinion.on_air").count() == 3


def test_answer_keeps_text_and_recording_time(conference, approved, director):
    a = approved("Chế độ phụ cấp thâm niên có được khôi phục không?")
    on_air.put_on_air(director, a)
    a = on_air.answer(director, a, "Bộ đang trình Chính phủ.", "1:05:30")
    assert (a.status, a.answer, a.answer_time) == ("answered", "Bộ đang trình Chính phủ.", "01:05:30")
    assert on_air.on_air(conference) is None
    a = on_air.answer(director, a, "Bộ đã trình Chính phủ.", "")  # corrected later
    assert a.answer == "Bộ đã trình Chính phủ." and a.answer_time == ""
    with pytest.raises(DomainError) as e:
        on_air.answer(director, a, "", "90 phút")
    assert e.value.code == "bad_answer_time"


def test_only_approved_items_go_on_screen(conference, teacher, approved, director):
    pending = opinions.submit(teacher(), conference, "Câu hỏi chưa duyệt về lương")
    with pytest.raises(DomainError) as e:
        on_air.put_on_air(director, pending)
    assert e.value.code == "not_approved"
    rejected = moderation.reject(SYSTEM, opinions.submit(teacher(), conference, "Nội dung khác"), "Không phù hợp")
    with pytest.raises(DomainError):
        on_air.put_on_air(director, rejected)
    with pytest.raises(DomainError) as e:
        on_air.take_off_air(director, approved("Đã duyệt nhưng chưa lên sóng"))
    assert e.value.code == "not_on_air"


def test_director_outside_the_conference_scope_is_refused(conference, approved, make_user, moderator, tree, teacher):
    item = approved("Khi nào có sách giáo khoa mới?")
    hanoi_director = make_user("dp_hanoi", Role.DIRECTOR, tree["hanoi"])  # the conference is the ministry's
    for user in (hanoi_director, moderator("bavi"), teacher().user):
        assert not access.can_direct(user, conference)
        with pytest.raises(ScopeError):
            on_air.put_on_air(user, item)
    assert on_air.on_air(conference) is None
    # A director of the host unit's subtree, and a national organiser, may.
    assert access.can_direct(make_user("dp_bo", Role.DIRECTOR, tree["ministry"]), conference)
    assert access.can_direct(make_user("bo2", Role.NATIONAL_ORGANISER), conference)


def test_an_item_on_screen_cannot_be_merged_away(conference, approved, director):
    a, b = approved("Lương giáo viên thấp"), approved("Lương giáo viên quá thấp")
    on_air.put_on_air(director, a)
    with pytest.raises(DomainError) as e:
        moderation.merge(SYSTEM, a, b)
    assert e.value.code == "on_air"
    moderation.merge(SYSTEM, b, a)  # into it is fine: its counts grow on screen
    a.refresh_from_db()
    assert a.raised_by_people == 2


# --- the fragment ---------------------------------------------------------------------------

def test_on_air_fragment_shows_the_item_escaped_and_hides_anonymous_units(client, conference, teacher, director,
                                                                          make_user, tree):
    url = f"/voice/{conference.pk}/on-air/"
    operator = make_user("kythuat", Role.POINT_OPERATOR, tree["bavi"])
    client.force_login(operator)
    html = client.get(url).content.decode()
    assert 'id="voice-on-air"' in html and 'data-opinion=""' in html
    op = moderation.approve(SYSTEM, opinions.submit(teacher(), conference, "<b>Lương</b> khi nào tăng?",
                                                  anonymous=True))
    on_air.put_on_air(director, op)
    html = client.get(url).content.decode()
    assert "&lt;b&gt;Lương&lt;/b&gt; khi nào tăng?" in html and "<b>Lương" not in html
    assert tree["school_a"].name not in html and ("Ẩn danh" in html or "Anonymous" in html)
    assert f'data-opinion="{op.pk}"' in html


def test_on_air_fragment_needs_access_to_the_conference(client, conference, make_user, tree, person_factory):
    assert client.get(f"/voice/{conference.pk}/on-air/").status_code == 302  # signed out: to the login page
    # A user whose tree does not reach the conference's host sees nothing of it.
    from diemcau.events.models import Conference

    other = Conference.objects.create(title="Hội nghị của Sở TP HCM", date=conference.date, host_unit=tree["hcm"])
    client.force_login(make_user("gv_hanoi", Role.PARTICIPANT, tree["school_a"]))
    assert client.get(f"/voice/{other.pk}/on-air/").status_code == 404
    assert client.get(f"/voice/{conference.pk}/on-air/").status_code == 200


def test_director_page_and_actions_are_scoped(client, conference, approved, director, make_user, tree):
    item = approved("Đề nghị tăng phụ cấp ưu đãi")
    client.force_login(make_user("dp_hcm", Role.DIRECTOR, tree["hcm"]))
    assert client.get(f"/voice/{conference.pk}/director/").status_code == 404
    assert client.post(f"/voice/opinions/{item.pk}/live/on_air/").status_code == 404
    client.force_login(director)
    html = client.get(f"/voice/{conference.pk}/director/").content.decode()
    assert "Đề nghị tăng phụ cấp ưu đãi" in html
    assert client.post(f"/voice/opinions/{item.pk}/live/on_air/", {"previous": "answered"}).status_code == 302
    assert on_air.on_air(conference) == item
    client.post(f"/voice/opinions/{item.pk}/live/answer/", {"answer": "Đã trả lời", "answer_time": "00:10:00"})
    item.refresh_from_db()
    assert item.status == "answered" and item.answer_time == "00:10:00"


# --- per-point rate limit -------------------------------------------------------------------

@pytest.fixture
def point(conference, tree):
    host = halls.create_hall(SYSTEM, tree["ministry"], name="Hội trường Bộ", capacity=300)
    bridge_points.create_point(SYSTEM, conference, host, name="Điểm cầu chính", is_host=True)
    hall = halls.create_hall(SYSTEM, tree["bavi"], name="Hội trường Phòng GD&ĐT Ba Vì", capacity=200)
    return bridge_points.create_point(SYSTEM, conference, hall, name="Điểm cầu Ba Vì")


def test_flooding_from_one_points_kiosk_is_limited(conference, teacher, point, monkeypatch):
    monkeypatch.setattr(opinions, "RATE_PER_POINT", 3)
    people = [teacher("school_a"), teacher("school_b"), teacher("school_a")]
    for i, p in enumerate(people):
        assert opinions.submit(p, conference, f"Ý kiến số {i} về hồ sơ sổ sách", point=point).point == point
    with pytest.raises(DomainError) as e:
        opinions.submit(teacher("school_b"), conference, "Một ý kiến nữa", point=point)
    assert e.value.code == "rate_limited_point"
    assert "điểm cầu" in e.value.message.lower() or "bridge point" in e.value.message.lower()
    # Not from the kiosk: the person's own limit still applies, the point's does not.
    assert opinions.submit(teacher("school_b"), conference, "Gửi từ điện thoại").point is None


def test_person_and_unit_limits_still_hold_at_a_kiosk(conference, teacher, point, monkeypatch):
    person = teacher()
    for i in range(opinions.RATE_PER_PERSON):
        opinions.submit(person, conference, f"Ý kiến {i}", point=point)
    with pytest.raises(DomainError) as e:
        opinions.submit(person, conference, "Thêm một", point=point)
    assert e.value.code == "rate_limited_person"


def test_a_point_of_another_conference_is_refused(conference, teacher, tree):
    from diemcau.events.models import Conference

    other = Conference.objects.create(title="Khác", date=conference.date, host_unit=tree["ministry"])
    hall = halls.create_hall(SYSTEM, tree["bavi"], name="Hội trường", capacity=100)
    elsewhere = bridge_points.create_point(SYSTEM, other, hall, name="Điểm cầu", is_host=True)
    with pytest.raises(DomainError) as e:
        opinions.submit(teacher(), conference, "Ý kiến", point=elsewhere)
    assert e.value.code == "bad_point"


def test_kiosk_page_carries_the_point_only_for_its_operator(client, conference, teacher, point, make_user, tree):
    from diemcau.orgs.services import grant_role

    person = teacher()
    client.force_login(person.user)
    r = client.post(f"/voice/{conference.pk}/?point={point.pk}", {"text": "Ý kiến tại điểm cầu", "point": point.pk})
    assert r.status_code == 400 and 'data-code="bad_point"' in r.content.decode()
    grant_role(SYSTEM, person.user, Role.POINT_OPERATOR, tree["bavi"])
    from diemcau.orgs.models import RoleAssignment

    RoleAssignment.objects.filter(user=person.user, role=Role.POINT_OPERATOR).update(point_id=point.pk)
    r = client.post(f"/voice/{conference.pk}/?point={point.pk}", {"text": "Ý kiến tại điểm cầu", "point": point.pk})
    assert r.status_code == 302
    assert Opinion.objects.get().point == point


# --- the API ----------------------------------------------------------------------------------

def test_live_api_for_the_director_and_the_kiosks(client, conference, approved, director, make_user, tree):
    item = approved("Câu hỏi cho Bộ trưởng về phụ cấp")
    url = f"/api/voice/conferences/{conference.pk}/on-air/"
    client.force_login(make_user("kythuat", Role.POINT_OPERATOR, tree["bavi"]))
    assert client.get(url).json() == {"conference_id": conference.pk, "opinion": None}
    assert client.post(f"/api/voice/opinions/{item.pk}/on-air/", {}, content_type="application/json").status_code \
        == 404
    client.force_login(director)
    r = client.post(f"/api/voice/opinions/{item.pk}/on-air/", {"previous": "return"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "on_air"
    assert client.get(url).json()["opinion"]["id"] == item.pk
    r = client.post(f"/api/voice/opinions/{item.pk}/answer/", {"answer": "Đã trả lời", "answer_time": "7:00"},
                    content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "bad_answer_time"
    r = client.post(f"/api/voice/opinions/{item.pk}/answer/", {"answer": "Đã trả lời", "answer_time": "0:07:00"},
                    content_type="application/json")
    assert r.json()["status"] == "answered"
    assert client.get(url).json()["opinion"] is None
