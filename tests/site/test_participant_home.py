"""The participant's home: a teacher sees their day (session, point, directions, badge, delegation,
questions to vote on); organisers keep theirs; the badge is one's own only."""

import pytest

from diemcau.orgs.models import Role
from diemcau.site import participant

from .participant_world import ADDRESS, QUESTION, teacher_morning


@pytest.fixture
def morning(db, tree, person_factory):
    return teacher_morning(tree, person_factory)


def test_a_teacher_sees_their_day_not_the_organisers_home(morning, client):
    client.force_login(morning["teacher"])
    html = client.get("/").content.decode()
    assert "Phiên sáng" in html and "Điểm cầu Tây Đằng A" in html and ADDRESS in html
    assert 'href="geo:0,0?q=Th%C3%B4n%20T%C3%A2y%20%C4%90%E1%BA%B1ng' in html  # the phone's maps app
    assert f"/me/sessions/{morning['session'].pk}/badge/" in html
    assert f"/live/conference/{morning['conference'].pk}/watch/" in html
    assert QUESTION in html and f"vote-{morning['item'].pk}" in html
    assert "Trần Văn Bình" in html  # the delegation
    assert "slot" not in html  # the panels' slots render nothing until filled
    assert "Số chỗ" not in html and "Tổng quan" not in html.split("<main", 1)[1]


def test_organisers_keep_their_home(morning, client, make_user, tree):
    organiser = make_user("bavi", Role.UNIT_ORGANISER, tree["bavi"])
    assert not participant.is_participant(organiser)
    client.force_login(organiser)
    assert "Phiên sáng" not in client.get("/").content.decode()


def test_the_badge_is_ones_own(morning, client, person_factory, tree, django_user_model):
    client.force_login(morning["teacher"])
    url = f"/me/sessions/{morning['session'].pk}/badge/"
    html = client.get(url).content.decode()
    assert "<svg" in html and "Lê Thị Mai" in html and "Trần Văn Bình" not in html
    stranger = django_user_model.objects.create_user("khach", password="x")  # no person: no badge
    client.force_login(stranger)
    assert client.get(url).status_code == 404
