"""The live site board (status wall) on the hub: N viewers cost one snapshot per tick, scoped per user."""

import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from diemcau.live import consumers, health
from diemcau.live.models import LiveNode
from diemcau.orgs.models import Role

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]


@pytest.fixture(autouse=True)
def _fast_ticks(monkeypatch):
    monkeypatch.setattr(consumers, "SITE_BOARD_TICK", 0.3)
    monkeypatch.setattr(consumers, "SITE_BOARD_REFRESH", 60.0)  # only notices, for counting


def communicator(conference, user, query=""):
    from diemcau.routing import websocket_urlpatterns

    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/live/board/{conference.pk}/{query}")
    comm.scope["user"] = user
    return comm


async def drain(comm, seconds):
    messages, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not await comm.receive_nothing(timeout=0.1, interval=0.02):
            messages.append(await comm.receive_output())
    return messages


async def test_many_viewers_cost_one_snapshot_per_tick(live_world):
    w = live_world
    await database_sync_to_async(LiveNode.objects.create)(name="root", role="root", base_port=21000, state="up")
    viewers = [communicator(w["conference"], w["director"]) for _ in range(6)]
    viewers += [communicator(w["conference"], w["director"], "?htmx=1") for _ in range(2)]
    for comm in viewers:
        assert (await comm.connect())[0]
        await comm.receive_output(timeout=10)
    hub = consumers.site_board_hub()
    before = hub.computations
    started = time.monotonic()
    for key in ("hanoi", "bavi", "school", "socson", "host"):  # five kiosks come up: five notices
        await database_sync_to_async(health.kiosk_connected)(w["ops"][key], w[key])
    burst = time.monotonic() - started
    received = [await drain(comm, 1.5) for comm in viewers]
    for messages in received:
        assert messages, "every viewer hears the change"
    last_json = json.loads(received[0][-1]["text"])
    assert {p["id"]: p["state"] for p in last_json["points"]}[w["hanoi"].pk] == "connected"
    last_html = received[-1][-1]["text"]
    assert f'data-point="{w["hanoi"].pk}" data-state="connected"' in last_html
    assert '<tbody id="board-rows">' in last_html
    # One snapshot per tick for the one key (conference, director), shared by the 8 viewers: at most one
    # per notice (5) and per tick, never one per viewer (the old board: 8 x 5 at least).
    assert 1 <= hub.computations - before <= min(burst / 0.3 + 2, 5)
    for comm in viewers:
        await comm.disconnect(timeout=10)
    assert not hub.viewers and hub.channel is None


async def test_each_user_sees_their_scope_and_strangers_are_refused(live_world, make_user):
    w = live_world
    comm = communicator(w["conference"], AnonymousUser())
    connected, code = await comm.connect()
    assert not connected and code == 4403
    bavi_org = await database_sync_to_async(make_user)("tc_bavi", Role.UNIT_ORGANISER, w["tree"]["bavi"])
    mine, theirs = communicator(w["conference"], bavi_org), communicator(w["conference"], w["director"])
    assert (await mine.connect())[0] and (await theirs.connect())[0]
    ids = {p["id"] for p in json.loads((await mine.receive_output(timeout=10))["text"])["points"]}
    assert ids == {w["bavi"].pk, w["school"].pk}
    all_ids = {p["id"] for p in json.loads((await theirs.receive_output(timeout=10))["text"])["points"]}
    assert all_ids == {w[k].pk for k in ("host", "hanoi", "bavi", "school", "socson")}
    assert len(consumers.site_board_hub().keys) == 2  # one key per user: scopes never mix
    await mine.disconnect(timeout=10)
    await theirs.disconnect(timeout=10)


async def test_a_watched_board_refreshes_by_itself(live_world, monkeypatch):
    """Figures age without any notice (a point with no report turns "lost"): at least one snapshot every refresh."""
    monkeypatch.setattr(consumers, "SITE_BOARD_REFRESH", 0.5)
    comm = communicator(live_world["conference"], live_world["director"])
    assert (await comm.connect())[0]
    await comm.receive_output(timeout=10)
    messages = await drain(comm, 1.8)
    assert 2 <= len(messages) <= 5
    await comm.disconnect(timeout=10)
