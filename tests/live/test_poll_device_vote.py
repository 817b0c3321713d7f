"""A kiosk answers a poll for its bridge point through the API with its device token (mã thiết bị).

``POST /api/live/polls/{id}/vote`` with ``Authorization: Bearer dc1_…``: only for its own point, only a
poll asked to the points, no session and no CSRF. A table of callers × polls.
"""

import datetime
import uuid

import pytest

from diemcau.events import services as events
from diemcau.live import polls
from diemcau.live.models import Poll, PollVote
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import bridge_points, devices

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(live_world, organiser_bavi):
    w = live_world
    _, w["secret"] = devices.issue(organiser_bavi, w["bavi"], "Màn hình điểm cầu Ba Vì")
    revoked, w["revoked"] = devices.issue(organiser_bavi, w["bavi"], "Màn hình cũ")
    devices.revoke(organiser_bavi, revoked)
    conference = w["conference"]
    w["points_poll"] = polls.ask(w["director"], conference, "Điểm cầu nghe rõ không?", choices=["Rõ", "Chưa rõ"],
                                 audience=Poll.Audience.POINTS)
    other = events.create_conference(SYSTEM, title="Hội nghị khác", date=datetime.date(2023, 8, 16),
                                     host_unit=w["tree"]["ministry"], place="Hà Nội")
    bridge_points.create_point(SYSTEM, other, w["host"].hall, name="Điểm cầu chính", is_host=True)
    bridge_points.create_point(SYSTEM, other, w["bavi"].hall, name="Điểm cầu Ba Vì (hội nghị khác)")
    w["other_poll"] = polls.ask(SYSTEM, other, "Nghe rõ không?", choices=["Rõ", "Chưa rõ"],
                                audience=Poll.Audience.POINTS)
    return w


def _vote(client, poll, bearer, **body):
    body = {"choice": 0, "client_id": str(uuid.uuid4()), **body}
    return client.post(f"/api/live/polls/{poll.pk}/vote", body, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {bearer}")


def test_a_kiosks_device_token_answers_for_its_own_point_only(client, world):
    w = world
    cases = [  # (who, poll, body, status, code)
        ("another point", "points_poll", {"point_id": w["hanoi"].pk}, 404, "not_found"),
        ("another conference", "other_poll", {}, 404, "not_found"),
        ("a revoked token", "points_poll", {"bearer": w["revoked"]}, 401, "device_token_refused"),
        ("an unknown token", "points_poll", {"bearer": "dc1_" + "x" * 43}, 401, "device_token_refused"),
        ("a bad choice", "points_poll", {"choice": 7}, 400, "bad_choice"),
        ("its own point", "points_poll", {}, 200, None),
        ("its own point again", "points_poll", {"point_id": w["bavi"].pk}, 400, "already_voted"),
    ]
    for who, poll_key, body, status, code in cases:
        bearer = body.pop("bearer", w["secret"])
        reply = _vote(client, w[poll_key], bearer, **body)
        assert reply.status_code == status, (who, reply.content)
        if code:
            assert reply.json()["code"] == code, who
        else:
            assert reply.json()["point_id"] == w["bavi"].pk and reply.json()["new"] is True, who
    # A retry of the same answer (its client id) is not a second vote.
    client_id = str(PollVote.objects.get(poll=w["points_poll"]).client_id)
    again = _vote(client, w["points_poll"], w["secret"], client_id=client_id)
    assert again.status_code == 200 and again.json()["new"] is False
    assert list(PollVote.objects.values_list("point_id", flat=True)) == [w["bavi"].pk]
    # A poll asked to every person is not the kiosk's to answer (nor its issuer's, through the token).
    people = polls.ask(w["director"], w["conference"], "Thầy cô nghe rõ?", choices=["Có", "Không"])
    assert _vote(client, people, w["secret"]).status_code == 404
    assert not PollVote.objects.filter(poll=people).exists()
