"""Live polls: asked by the director, answered by simulated participants and by a kiosk, totals by
province and level kept by the votes' own transactions, idempotent retries, the results pushed once."""

import datetime
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.events.models import Conference
from diemcau.live import poll_consumers, polls
from diemcau.live.models import Poll, PollCount, PollVote
from diemcau.orgs.models import EducationLevel, Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import bridge_points, halls


@pytest.fixture
def conference(tree):
    return Conference.objects.create(title="Hội nghị toàn ngành", date=datetime.date(2026, 8, 15),
                                     host_unit=tree["ministry"])


@pytest.fixture
def director(make_user):
    return make_user("dieuphoi", Role.DIRECTOR)


@pytest.fixture
def participants(make_user, person_factory, tree):
    """people(unit_key, n): n teachers of that school with accounts."""
    count = iter(range(1, 10_000))

    def make(unit_key, n):
        out = []
        for _ in range(n):
            i = next(count)
            out.append(person_factory(tree[unit_key], name=f"Giáo viên {i}", user=make_user(f"gv{i}")).user)
        return out

    return make


@pytest.mark.smoke
def test_a_poll_answered_by_simulated_participants_has_the_right_totals_by_province(
        conference, director, participants, tree):
    poll = polls.ask(director, conference, "Thầy cô đã nhận đủ sách giáo khoa lớp 1 chưa?",
                     choices=["Đủ", "Thiếu một phần", "Chưa nhận"])
    hanoi_primary, hanoi_pre = participants("school_a", 5), participants("school_b", 3)
    hanoi_lower, hcm_upper = participants("school_c", 2), participants("school_d", 4)
    answers = [(hanoi_primary, [0, 0, 0, 1, 2]), (hanoi_pre, [1, 1, 2]), (hanoi_lower, [0, 2]),
               (hcm_upper, [0, 0, 0, 0])]
    for users, choices in answers:
        for user, choice in zip(users, choices, strict=True):
            _vote, new = polls.vote(user, poll, choice, uuid.uuid4())
            assert new
    r = polls.results(poll)
    assert r["total"] == 14
    assert [b["votes"] for b in r["bars"]] == [8, 3, 3]
    by_province = {row["label"]: [b["votes"] for b in row["bars"]] for row in r["provinces"]}
    assert by_province == {"Sở GD&ĐT Hà Nội": [4, 3, 3], "Sở GD&ĐT TP Hồ Chí Minh": [4, 0, 0]}
    by_level = {row["label"]: [b["votes"] for b in row["bars"]] for row in r["levels"]}
    name = {key: str(label) for _bit, key, label in EducationLevel.CHOICES}
    assert by_level[name["primary"]] == [3, 1, 1] and by_level[name["preschool"]] == [0, 2, 1]
    assert by_level[name["upper_secondary"]] == [4, 0, 0] and by_level[name["lower_secondary"]] == [1, 0, 1]
    # The counters are kept per (option, province, levels): a handful of rows, never a count of votes.
    assert PollCount.objects.filter(poll=poll).count() == 8
    assert sum(PollCount.objects.filter(poll=poll).values_list("votes", flat=True)) == PollVote.objects.count()
    assert AuditEntry.objects.filter(action="live.poll_asked").count() == 1


def test_votes_are_idempotent_by_client_id_and_one_per_person(conference, director, participants):
    poll = polls.ask(director, conference, "Mức độ hài lòng với phiên sáng?", kind=Poll.Kind.SCALE)
    assert poll.choices == ["1", "2", "3", "4", "5"]
    (user,) = participants("school_a", 1)
    client_id = uuid.uuid4()
    first, new = polls.vote(user, poll, 4, client_id)
    again, new_again = polls.vote(user, poll, 4, client_id)  # the phone retried after a lost reply
    assert new and not new_again and again.pk == first.pk
    with pytest.raises(DomainError) as refused:
        polls.vote(user, poll, 1, uuid.uuid4())
    assert refused.value.code == "already_voted"
    r = polls.results(poll)
    assert r["total"] == 1 and r["mean"] == 5.0
    polls.close(director, poll)
    (late,) = participants("school_b", 1)
    with pytest.raises(DomainError) as closed:
        polls.vote(late, poll, 2, uuid.uuid4())
    assert closed.value.code == "poll_closed"


def test_only_the_director_asks_and_kiosks_answer_for_their_own_point(conference, director, make_user, tree,
                                                                      participants, person_factory):
    (teacher,) = participants("school_a", 1)
    with pytest.raises(ScopeError):
        polls.ask(teacher, conference, "Câu hỏi?", choices=["Có", "Không"])
    with pytest.raises(DomainError):
        polls.ask(director, conference, "Câu hỏi?", choices=["Có"])
    host = halls.create_hall(SYSTEM, tree["ministry"], name="Hội trường Bộ", capacity=300)
    bridge_points.create_point(SYSTEM, conference, host, name="Điểm cầu chính", is_host=True)
    hall = halls.create_hall(SYSTEM, tree["bavi"], name="Hội trường Ba Vì", capacity=120)
    point = bridge_points.create_point(SYSTEM, conference, hall, name="Điểm cầu Ba Vì")
    other_hall = halls.create_hall(SYSTEM, tree["socson"], name="Hội trường Sóc Sơn", capacity=80)
    other = bridge_points.create_point(SYSTEM, conference, other_hall, name="Điểm cầu Sóc Sơn")
    operator = make_user("kythuat", Role.POINT_OPERATOR, tree["bavi"])
    RoleAssignment.objects.filter(user=operator, role=Role.POINT_OPERATOR).update(point_id=point.pk)
    poll = polls.ask(director, conference, "Điểm cầu nghe rõ không?", choices=["Rõ", "Chưa rõ"],
                     audience=Poll.Audience.POINTS)
    polls.vote(operator, poll, 0, uuid.uuid4(), point_id=point.pk)
    with pytest.raises(ScopeError):
        polls.vote(operator, poll, 1, uuid.uuid4(), point_id=other.pk)
    with pytest.raises(DomainError) as twice:
        polls.vote(operator, poll, 1, uuid.uuid4(), point_id=point.pk)
    assert twice.value.code == "already_voted"
    assert polls.results(poll)["provinces"][0]["label"] == "Sở GD&ĐT Hà Nội"
    assert polls.kiosk_context(conference.pk, point.pk)["mine"] == 0


def test_a_phone_answers_through_the_panel(client, conference, director, participants):
    poll = polls.ask(director, conference, "Thầy cô có dùng sổ điểm điện tử?", choices=["Có", "Không"])
    (user,) = participants("school_a", 1)
    client.force_login(user)
    page = client.get(f"/live/conference/{conference.pk}/watch/")
    assert 'id="poll-panel"' in page.text and "sổ điểm điện tử" in page.text
    client_id = str(uuid.uuid4())
    for _ in range(2):  # the second post is the phone's retry: the same answer, still one vote
        reply = client.post(f"/live/polls/{poll.pk}/vote/", {"choice": "0", "client_id": client_id},
                            headers={"HX-Request": "true"})
        assert reply.status_code == 200
    assert 'id="poll-panel"' in reply.text and "errorbox" not in reply.text
    assert PollVote.objects.filter(poll=poll).count() == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_thread_connections")
async def test_the_directors_results_are_pushed_once_per_tick_for_every_viewer(conference, director, participants,
                                                                              monkeypatch):
    from diemcau.routing import websocket_urlpatterns

    monkeypatch.setattr(poll_consumers, "TICK", 0.2)
    poll = await database_sync_to_async(polls.ask)(director, conference, "Có cần tập huấn thêm?",
                                                   choices=["Có", "Không"])
    voters = await database_sync_to_async(participants)("school_a", 6)

    def socket(user, view="director"):
        comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/live/polls/{conference.pk}/{view}/")
        comm.scope["user"] = user
        return comm

    refused = socket(voters[0])
    ok, code = await refused.connect()
    assert (ok, code) == (False, 4403)
    consoles = [socket(director) for _ in range(3)]
    for comm in consoles:
        assert (await comm.connect())[0]
        assert 'id="poll-results"' in (await comm.receive_output(timeout=10))["text"]
    hub = poll_consumers.hub()
    before = hub.computations
    for user in voters:
        await database_sync_to_async(polls.vote)(user, poll, 0, uuid.uuid4())
    for comm in consoles:
        text = ""
        while "6 answers" not in text and "6 câu trả lời" not in text:
            text = (await comm.receive_output(timeout=5))["text"]
    # Three consoles, six votes: at most a render per vote (fewer when votes share a tick), never one per viewer.
    assert hub.computations - before <= len(voters)
    for comm in consoles:
        await comm.disconnect(timeout=10)
