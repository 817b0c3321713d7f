"""Watching alone: the watch page gives a viewer token (a real Janus node) and checks an invited
person in by video, once; a person with no assignment watches without a check-in."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from diemcau.attendance.models import CheckIn
from diemcau.events import services as events
from diemcau.live.janus_node import JanusNode
from diemcau.live.models import LiveNode, LiveToken
from diemcau.orgs.models import EducationLevel
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment, bridge_points, halls
from diemcau.site.watching import check_in_by_video
from tests.live.conftest import live_base_port


@pytest.fixture
def world(db, tree, person_factory):
    """A conference at the ministry, a morning session running now for primary schools, Tây Đằng A
    assigned to its own point, and a teacher there with an account."""
    conference = events.create_conference(SYSTEM, title="Hội nghị trực tuyến", date=datetime.date(2023, 8, 15),
                                          host_unit=tree["ministry"], place="Hà Nội")
    start = timezone.make_aware(datetime.datetime(2023, 8, 15, 8, 0))
    session = events.create_session(SYSTEM, conference, title="Phiên sáng", starts_at=start,
                                    ends_at=start + datetime.timedelta(hours=3),
                                    audience_levels=EducationLevel.PRIMARY | EducationLevel.PRESCHOOL)
    # Check-ins are taken only inside the session's window: the conference's day is held now.
    now = timezone.now()
    type(session).objects.filter(pk=session.pk).update(starts_at=now - datetime.timedelta(hours=1),
                                                       ends_at=now + datetime.timedelta(hours=2))
    session.refresh_from_db()
    studio = halls.create_hall(SYSTEM, tree["ministry"], name="Hội trường Bộ", capacity=200)
    host = bridge_points.create_point(SYSTEM, conference, studio, name="Điểm cầu chính", is_host=True)
    hall = halls.create_hall(SYSTEM, tree["school_a"], name="Hội trường Tây Đằng A", capacity=200)
    point = bridge_points.create_point(SYSTEM, conference, hall, name="Điểm cầu Tây Đằng A", relay_parent=host)
    bridge_points.update_point(SYSTEM, point, sessions=[session])
    assignment.assign(SYSTEM, session, tree["school_a"], point)
    users = get_user_model().objects
    teacher = users.create_user("giaovien", password="Mat-khau-2023")
    person = person_factory(tree["school_a"], name="Lê Thị Mai")
    type(person).objects.filter(pk=person.pk).update(user=teacher)
    unassigned = users.create_user("giaovien_vanhoa", password="Mat-khau-2023")  # invited, no point yet
    other = person_factory(tree["school_b"], name="Phạm Văn Hùng")
    type(other).objects.filter(pk=other.pk).update(user=unassigned)
    return {"conference": conference, "session": session, "person": person, "teacher": teacher,
            "unassigned": unassigned, "no_person": users.create_user("khach", password="Mat-khau-2023")}


def test_an_invited_person_is_checked_in_by_video_once(world):
    result = check_in_by_video(world["teacher"], world["conference"])
    assert result is not None and result.checkin.method == "video"
    again = check_in_by_video(world["teacher"], world["conference"])
    assert again.checkin.pk == result.checkin.pk
    assert CheckIn.objects.filter(person=world["person"], session=world["session"]).count() == 1


@pytest.mark.parametrize("who", ["unassigned", "no_person"])
def test_no_check_in_without_a_person_and_an_assignment(world, who):
    assert check_in_by_video(world[who], world["conference"]) is None
    assert not CheckIn.objects.filter(session=world["session"]).exists()


@pytest.fixture
def root_node(db, tmp_path):
    """A real root Janus registered the way the runtime registers it."""
    node = JanusNode("root", live_base_port(), folder=tmp_path / "root")
    node.start()
    row = LiveNode.objects.create(name="root", role=LiveNode.Role.ROOT, base_port=node.ports.http,
                                  ws_url=node.ws_url, http_url=node.http_url, admin_url=node.admin_url,
                                  api_secret=node.api_secret, admin_secret=node.admin_secret,
                                  admin_key=node.admin_key, state=LiveNode.State.UP)
    yield row
    node.stop()


def test_the_watch_page_gives_a_token_and_records_attendance(world, root_node, client):
    client.force_login(world["teacher"])
    url = f"/live/conference/{world['conference'].pk}/watch/"
    html = client.get(url).content.decode()
    assert "Đã ghi nhận bạn tham dự qua video." in html
    assert LiveToken.objects.filter(user=world["teacher"], purpose=LiveToken.Purpose.VIEWER).count() == 1
    assert client.get(url).status_code == 200  # watching again: still one check-in
    assert CheckIn.objects.filter(person=world["person"], session=world["session"], method="video").count() == 1


def test_the_watch_page_without_a_media_server_says_so(world, client):
    client.force_login(world["teacher"])
    html = client.get(f"/live/conference/{world['conference'].pk}/watch/").content.decode()
    assert "errorbox" in html
    assert not CheckIn.objects.filter(session=world["session"]).exists()  # no token, no check-in


def test_a_conference_one_cannot_see_is_not_found(world, client, tree):
    elsewhere = events.create_conference(SYSTEM, title="Hội nghị Sóc Sơn", date=datetime.date(2023, 8, 16),
                                         host_unit=tree["socson"], place="Sóc Sơn")
    client.force_login(world["teacher"])
    assert client.get(f"/live/conference/{elsewhere.pk}/watch/").status_code == 404
