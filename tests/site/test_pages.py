"""The site's composed pages through the real URLs: the home page and the conference and session
pages (forms parse, services decide: a conference is made, a session added, an agenda item added and
removed, the invited list shown and exported). URLs and names are those before the move."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from diemcau.core.models import AuditEntry
from diemcau.events import services as events
from diemcau.events.models import AgendaItem, Conference, Session
from diemcau.orgs.models import EducationLevel, Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment, bridge_points, halls

pytestmark = pytest.mark.smoke


@pytest.fixture
def bavi_client(client, organiser_bavi):
    client.force_login(organiser_bavi)
    return client


def test_url_names_are_kept():
    assert reverse("home") == "/"
    assert reverse("audit-log") == "/audit/"
    assert reverse("password-change") == "/accounts/password/"
    assert reverse("events:list") == "/events/"
    assert reverse("events:session", args=[7]) == "/events/sessions/7/"
    assert reverse("live-watch", args=[3]) == "/live/conference/3/watch/"


def test_the_organisers_home_shows_their_units_and_conferences(bavi_client, tree, person_factory):
    person_factory(tree["school_a"], name="Nguyễn Thị Lan")
    conference = Conference.objects.create(title="Hội nghị tổng kết năm học", date="2023-08-15",
                                           host_unit=tree["bavi"], place="Ba Vì")
    html = bavi_client.get("/").content.decode()
    assert "Phòng GD&amp;ĐT huyện Ba Vì" in html
    assert "Hội nghị tổng kết năm học" in html and f"/events/{conference.pk}/" in html
    assert "Sở GD&amp;ĐT TP Hồ Chí Minh" not in html  # outside the organiser's subtree


def test_an_account_without_a_role_is_told_so(client, make_user):
    client.force_login(make_user("moi"))
    html = client.get("/").content.decode()
    assert "chưa được phân quyền" in html


def test_a_conference_is_made_and_given_a_session_and_an_agenda(bavi_client, tree, organiser_bavi):
    # The host's list was a sliced queryset, which a choice field cannot look a value up in: every
    # choice was "not one of the available choices" and no conference could be made on this page.
    response = bavi_client.post("/events/new/", {"title": "Hội nghị triển khai nhiệm vụ năm học",
                                                 "date": "15/08/2023", "host_unit": tree["bavi"].pk,
                                                 "place": "Ba Vì"})
    conference = Conference.objects.get(title="Hội nghị triển khai nhiệm vụ năm học")
    assert response.status_code == 302 and response["Location"] == f"/events/{conference.pk}/"
    assert AuditEntry.objects.filter(actor=organiser_bavi, action="conference.created").exists()
    assert bavi_client.get(f"/events/{conference.pk}/").status_code == 200
    assert "Hội nghị triển khai" in bavi_client.get("/events/").content.decode()

    response = bavi_client.post(f"/events/{conference.pk}/sessions/new/", {
        "title": "Phiên sáng", "starts": "08:00", "ends": "11:30", "levels": [str(EducationLevel.PRIMARY)],
        "units": ""})
    session = Session.objects.get(conference=conference)
    assert response["Location"] == f"/events/sessions/{session.pk}/"
    html = bavi_client.get(f"/events/sessions/{session.pk}/").content.decode()
    assert "Trường Tiểu học Tây Đằng A" in html and "Trường Mầm non Vân Hòa" not in html

    bavi_client.post(f"/events/sessions/{session.pk}/agenda/", {"starts": "08:00", "ends": "08:15",
                                                                "title": "Khai mạc", "speaker": ""})
    item = AgendaItem.objects.get(session=session)
    assert "Khai mạc" in bavi_client.get(f"/events/sessions/{session.pk}/").content.decode()
    bavi_client.post(f"/events/agenda/{item.pk}/delete/")
    assert not AgendaItem.objects.filter(session=session).exists()


def test_the_invited_list_exports_with_points(bavi_client, tree):
    conference = Conference.objects.create(title="Hội nghị", date="2023-08-15", host_unit=tree["bavi"], place="Ba Vì")



    start = timezone.make_aware(datetime.datetime(2023, 8, 15, 8, 0))
    session = events.create_session(SYSTEM, conference, title="Phiên sáng", starts_at=start,
                                    ends_at=start + datetime.timedelta(hours=3), audience_levels=EducationLevel.PRIMARY)
    studio = halls.create_hall(SYSTEM, tree["bavi"], name="Hội trường Phòng", capacity=100)
    host = bridge_points.create_point(SYSTEM, conference, studio, name="Điểm cầu chính", is_host=True)
    hall = halls.create_hall(SYSTEM, tree["school_a"], name="Hội trường", capacity=100)
    point = bridge_points.create_point(SYSTEM, conference, hall, name="Điểm cầu Tây Đằng A", relay_parent=host)
    bridge_points.update_point(SYSTEM, point, sessions=[session])
    assignment.assign(SYSTEM, session, tree["school_a"], point)
    response = bavi_client.get(f"/events/sessions/{session.pk}/export/")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    assert any("Trường Tiểu học Tây Đằng A" in row and "Điểm cầu Tây Đằng A" in row for row in rows)


def test_a_participant_has_no_conference_list_and_a_hidden_conference_is_not_found(client, tree, make_user):
    hidden = Conference.objects.create(title="Hội nghị Sóc Sơn", date="2023-08-15", host_unit=tree["socson"],
                                       place="Sóc Sơn")
    client.force_login(make_user("bavi2", Role.UNIT_ORGANISER, tree["bavi"]))
    assert client.get(f"/events/{hidden.pk}/").status_code == 404
    client.force_login(make_user("gv", Role.PARTICIPANT, tree["school_a"]))
    assert client.get("/events/new/").status_code == 403
