"""The voice pages' websockets: scoped like the pages; a moderation queue, a ranked list and the
question on air update by themselves when an opinion is submitted, voted, approved, merged, forwarded."""

import datetime
import time

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils.html import escape

from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.voice import consumers, moderation, on_air, opinions

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]


@pytest.fixture(autouse=True)
def _fast_ticks(monkeypatch):
    monkeypatch.setattr(consumers, "TICK", 0.2)


def communicator(conference_id, page, user, query=""):
    from diemcau.routing import websocket_urlpatterns

    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/voice/{conference_id}/{page}/{query}")
    comm.scope["user"] = user
    return comm


async def connected(comm) -> str:
    ok, code = await comm.connect()
    assert ok, code
    return (await comm.receive_output(timeout=10))["text"]


async def until(comm, predicate, seconds=5.0) -> str:
    """The first pushed HTML that satisfies ``predicate`` within ``seconds``."""
    deadline, last = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        if not await comm.receive_nothing(timeout=0.1, interval=0.02):
            last = (await comm.receive_output())["text"]
            if predicate(last):
                return last
    raise AssertionError(f"no matching update arrived; the last one: {last}")


async def test_anonymous_strangers_and_non_moderators_are_refused(conference, teacher, moderator, tree):
    comm = communicator(conference.pk, "moderate", AnonymousUser())
    ok, code = await comm.connect()
    assert not ok and code == 4401
    gv = (await database_sync_to_async(teacher)()).user
    comm = communicator(conference.pk, "moderate", gv)  # a teacher takes part, but does not moderate
    ok, code = await comm.connect()
    assert not ok and code == 4403
    other = await database_sync_to_async(Conference.objects.create)(
        title="Hội nghị Sóc Sơn", date=datetime.date(2026, 11, 21), host_unit=tree["socson"])
    mod = await database_sync_to_async(moderator)("bavi")
    for page in ("moderate", "ranked", "on-air"):
        comm = communicator(other.pk, page, mod)  # Ba Vì's moderator does not take part in Sóc Sơn's
        ok, code = await comm.connect()
        assert not ok and code == 4403, page
    comm = communicator(conference.pk, "elsewhere", mod)
    ok, code = await comm.connect()
    assert not ok and code == 4403


async def test_the_moderation_queue_and_ranked_list_follow_every_change(conference, teacher, moderator, tree):
    mod = await database_sync_to_async(moderator)("bavi")
    queue = communicator(conference.pk, "moderate", mod)
    first = await connected(queue)
    assert 'id="queue"' in first and 'id="level"' in first and "item-" not in first
    ranked = communicator(conference.pk, "ranked", mod, "?below=1")
    assert '<tbody id="ranked-rows">' in await connected(ranked)

    person = await database_sync_to_async(teacher)()
    op = await database_sync_to_async(opinions.submit)(person, conference, "Đề nghị giảm bớt sổ sách cho giáo viên")
    html = await until(queue, lambda t: f'id="item-{op.pk}"' in t)
    assert f"/voice/opinions/{op.pk}/forward/" not in html  # pending: approve or reject first
    assert "sổ sách" in html and 'hx-post="/voice/opinions/' in html  # server-rendered rows with their actions

    op = await database_sync_to_async(moderation.approve)(mod, op)
    html = await until(ranked, lambda t: "sổ sách" in t)
    assert "<td>0</td>" in html  # no vote yet
    voter = await database_sync_to_async(teacher)()
    await database_sync_to_async(opinions.vote)(voter, op, "upvote")
    await until(ranked, lambda t: "sổ sách" in t and "<td>1</td>" in t)

    dup = await database_sync_to_async(opinions.submit)(voter, conference, "Giảm sổ sách giáo viên")
    await until(queue, lambda t: f'id="item-{dup.pk}"' in t)
    dup = await database_sync_to_async(moderation.approve)(mod, dup)
    await database_sync_to_async(moderation.merge)(mod, dup, op)
    html = await until(queue, lambda t: f'id="item-{dup.pk}"' not in t and f'id="item-{op.pk}"' in t)
    assert f"/voice/opinions/{op.pk}/forward/" in html  # approved here: it can go up
    await database_sync_to_async(moderation.forward)(mod, op)
    assert f"{escape(tree['bavi'].name)}\n" not in html
    # Forwarded up to Ba Vì's level: the row says where it stands now.
    await until(queue, lambda t: f"{escape(tree['bavi'].name)}\n" in t)
    for comm in (queue, ranked):
        await comm.disconnect(timeout=10)
    assert not consumers.hub().viewers


async def test_the_question_on_air_reaches_every_screen_with_one_render(conference, approved, make_user):
    director = await database_sync_to_async(make_user)("dieuphoi", Role.DIRECTOR)
    item = await database_sync_to_async(approved)("Khi nào tăng lương cơ sở cho giáo viên mầm non?")
    screens = [communicator(conference.pk, "on-air", director) for _ in range(4)]
    for comm in screens:
        assert 'id="voice-on-air"' in await connected(comm)
    hub = consumers.hub()
    before = hub.computations
    await database_sync_to_async(on_air.put_on_air)(director, item)
    for comm in screens:
        await until(comm, lambda t: "lương cơ sở" in t)
    assert hub.computations - before == 1  # one render for the four screens
    for comm in screens:
        await comm.disconnect(timeout=10)
