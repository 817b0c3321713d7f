"""The board's websocket: scope refused, an update after a check-in, bursts coalesced; Redis too."""

import time
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from diemcau.attendance import checkin, consumers
from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from tests.servers import redis_server

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]


@pytest.fixture(autouse=True)
def _urls_loaded():
    """Load the URL conf (and the apps it imports) before the clock starts: the board renders links."""
    from django.urls import reverse

    reverse("home")


def app():
    from diemcau.routing import websocket_urlpatterns

    return URLRouter(websocket_urlpatterns)


def communicator(world, unit, user, query=""):
    comm = WebsocketCommunicator(app(), f"/ws/attendance/sessions/{world['session'].pk}/units/{unit.pk}/board/"
                                 + query)
    comm.scope["user"] = user
    return comm


@database_sync_to_async
def check_in(world, key, point=None):
    """A check-in in its own transaction, as a request would make it (the signal fires on commit)."""
    return checkin.check_in(SYSTEM, session=world["session"], point=point or world["bavi_point"],
                            person=world["people"][key], method=CheckIn.Method.ROLL_CALL, client_id=uuid.uuid4())


async def drain(comm, seconds):
    """Every message that arrives within ``seconds`` (a timed-out receive would cancel the consumer)."""
    messages, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not await comm.receive_nothing(timeout=0.1, interval=0.02):
            messages.append(await comm.receive_json_from())
    return messages


async def test_anonymous_and_another_district_are_refused(world, make_user):
    t = world["t"]
    comm = communicator(world, t["bavi"], AnonymousUser())
    connected, code = await comm.connect()
    assert not connected and code == 4401
    socson = await database_sync_to_async(make_user)("socson", Role.UNIT_ORGANISER, t["socson"])
    comm = communicator(world, t["bavi"], socson)
    connected, code = await comm.connect()
    assert not connected and code == 4403
    comm = communicator(world, t["hanoi"], socson)  # above their own unit
    connected, code = await comm.connect()
    assert not connected and code == 4403
    comm = communicator(world, t["socson"], socson)  # their own unit: accepted
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=10))["figures"]["unit"] == t["socson"].pk
    await comm.disconnect(timeout=10)


async def test_a_check_in_reaches_the_board_within_two_seconds(world, organiser_bavi):
    comm = communicator(world, world["t"]["bavi"], organiser_bavi)
    connected, _ = await comm.connect()
    assert connected
    first = await comm.receive_json_from(timeout=10)
    assert first["figures"]["present"] == 0 and first["figures"]["expected"] == 86
    assert 'data-figure="present">0<' in first["snapshot"]["html"]
    started = time.monotonic()
    await check_in(world, "a_t1")
    update = await comm.receive_json_from(timeout=2)
    assert time.monotonic() - started < 2
    assert update["figures"]["present"] == 1 and update["base"] == first["version"]
    assert update["rows_changed"]["b-totals"]["present"] == "1"  # the totals' figures, not their HTML
    # A check-in under another district is not Ba Vì's business: no message.
    await check_in(world, "c_t1", point=world["hanoi_point"])
    assert await comm.receive_nothing(timeout=1.5)
    await comm.disconnect(timeout=10)


async def test_a_burst_is_coalesced_into_few_messages_for_every_viewer(world, organiser_bavi, national, settings):
    settings.ATTENDANCE_BOARD_TICK = 0.5
    t = world["t"]
    viewers = [communicator(world, t["bavi"], organiser_bavi) for _ in range(3)]
    viewers.append(communicator(world, t["bavi"], organiser_bavi, "?html=0"))
    viewers.append(communicator(world, t["ministry"], national))
    for comm in viewers:
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
    hub = consumers.hub()
    before = hub.computations
    keys = ["a_principal", "a_t1", "a_t2", "a_t3", "a_staff", "b_principal", "b_t1", "thpt_t1"]
    started = time.monotonic()
    for _ in range(2):  # 16 check-ins (the second round: flagged duplicates, still notices)
        for key in keys:
            await check_in(world, key)
    burst = time.monotonic() - started
    received = [await drain(comm, 2.0) for comm in viewers]
    for messages in received:
        assert messages and messages[-1]["figures"]["present"] == 8
        # At most one message per tick of the burst, plus the first one: far fewer than 16.
        assert len(messages) <= burst / 0.5 + 2 and len(messages) < 16
    # The last message may be a snapshot (the last incomplete delegation completed: a section went).
    data, html = (m.get("rows_changed") or m["snapshot"].get("rows") or m["snapshot"]["html"]
                  for m in (received[3][-1], received[0][-1]))
    assert data["b-totals"]["present"] == 8  # ?html=0: the rows' data, not their HTML
    totals = html if isinstance(html, str) else html["b-totals"]  # its HTML, or its figures (patched)
    assert 'data-figure="present">8<' in totals if isinstance(totals, str) else totals["present"] == "8"
    # One roll-up per dirty unit per tick, shared by the viewers of that unit (two units here).
    assert hub.computations - before <= 2 * (burst / 0.5 + 2)
    for comm in viewers:
        await comm.disconnect(timeout=10)
    assert not hub.viewers and hub.channel is None


# --- the same over Redis (channels_redis), when redis-server is installed --------------------
@pytest.fixture
def redis_layer(settings):
    from channels.layers import channel_layers

    with redis_server() as url:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "diemcau.core.channel_layer.RedisChannelLayer",
                                               "CONFIG": {"hosts": [url]}}}
        channel_layers.backends.clear()
        yield url
        channel_layers.backends.clear()


async def test_the_board_works_over_redis(world, organiser_bavi, redis_layer):
    from channels.layers import get_channel_layer

    assert type(get_channel_layer()).__name__ == "RedisChannelLayer"
    comm = communicator(world, world["t"]["bavi"], organiser_bavi)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=10))["figures"]["present"] == 0
    started = time.monotonic()
    await check_in(world, "a_t1")
    update = await comm.receive_json_from(timeout=2)
    assert update["figures"]["present"] == 1 and time.monotonic() - started < 2
    await comm.disconnect(timeout=10)


async def test_a_reconnecting_viewer_gets_a_snapshot_then_deltas(world, organiser_bavi):
    """Deltas build on the version a viewer holds; a viewer back from a dropped connection, or one that
    missed a message and asks, starts again from a snapshot."""
    bavi = world["t"]["bavi"]
    comm = communicator(world, bavi, organiser_bavi)
    assert (await comm.connect())[0]
    first = await comm.receive_json_from(timeout=10)
    assert "snapshot" in first and 'id="b-totals"' in first["snapshot"]["html"]
    await check_in(world, "a_t1")
    delta = await comm.receive_json_from(timeout=5)
    assert delta["base"] == first["version"] and delta["version"] > first["version"]
    assert set(delta["rows_changed"]) >= {"b-totals"} and "b-children" not in delta["rows_changed"]
    assert len(delta["rows_changed"]) < len(first["snapshot"]["html"]) / 100  # a few rows, not the board
    # A row the viewer holds whose figures alone changed comes as those figures, formatted, not as HTML.
    point = delta["rows_changed"][f"b-point-{world['bavi_point'].pk}"]
    assert isinstance(point, dict) and point["present"] == "1" and set(point) == {"present", "expected", "pct", "bar"}
    assert 'data-f="present">1<' not in first["snapshot"]["html"]  # (the snapshot had 0 there)
    await comm.disconnect(timeout=10)

    await check_in(world, "a_t2")  # while the viewer is away
    again = communicator(world, bavi, organiser_bavi)
    assert (await again.connect())[0]
    snapshot = await again.receive_json_from(timeout=10)
    assert snapshot["figures"]["present"] == 2 and 'data-figure="present">2<' in snapshot["snapshot"]["html"]
    assert snapshot["version"] > delta["version"]
    await check_in(world, "a_t3")
    delta = await again.receive_json_from(timeout=5)
    assert delta["base"] == snapshot["version"] and delta["rows_changed"]["b-totals"]["present"] == "3"
    chart = delta["rows_changed"]["b-chart"]["chart"]  # the chart the viewer holds: its numbers, not its HTML
    assert sum(map(int, chart["counts"].split())) == 3 and chart["sum"].startswith("3 ")

    # A viewer that missed a message asks for the current version's snapshot.
    await again.send_json_to({"type": "snapshot"})
    resent = await again.receive_json_from(timeout=5)
    assert resent["version"] == delta["version"] and resent["figures"]["present"] == 3
    await again.disconnect(timeout=10)


async def test_every_acknowledged_check_in_shows_when_redis_connections_are_cut(world, organiser_bavi, redis_layer,
                                                                             settings):
    """Late, never lost: check-ins made while every Redis connection is cut again and again (the hub's
    reads, the notices' sends: some notices are lost on the way) all show on the board within a bound."""
    import redis
    from channels.layers import get_channel_layer

    settings.ATTENDANCE_BOARD_REFRESH = 2
    layer = get_channel_layer()
    pool = layer.connection(0).connection_pool
    # The blocking read ends well before redis-py stops waiting for its answer (they raced at 5 s and 5 s).
    assert layer.brpop_timeout + 2 <= pool.connection_class(**pool.connection_kwargs).socket_timeout
    comm = communicator(world, world["t"]["bavi"], organiser_bavi)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=10))["figures"]["present"] == 0
    admin = redis.Redis.from_url(redis_layer)
    keys = ["a_principal", "a_t1", "a_t2", "a_t3", "a_staff", "b_principal", "b_t1"]
    for n, key in enumerate(keys):
        await check_in(world, key)  # acknowledged: committed, its notice sent or lost
        if n % 2 == 0:
            admin.client_kill_filter(_type="normal", skipme=True)
    admin.close()
    present, deadline = 0, time.monotonic() + 30
    while present != len(keys) and time.monotonic() < deadline:
        if not await comm.receive_nothing(timeout=0.2, interval=0.05):
            present = (await comm.receive_json_from())["figures"]["present"]
    assert present == len(keys)
    await comm.disconnect(timeout=10)
