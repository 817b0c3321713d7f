"""The per-process hub under viewers that come and go at the same moment, on a real Redis channel layer
(whose calls really wait on the network, as in production)."""

import asyncio

import pytest
from channels.layers import channel_layers, get_channel_layer

from diemcau.core.hub import Hub, notice
from tests.servers import redis_server


class Viewer:
    def __init__(self):
        self.payloads = []
        self.got = asyncio.Event()

    async def hub_push(self, payload):
        self.payloads.append(payload)
        self.got.set()


@pytest.fixture
def redis_layer(settings):
    with redis_server() as url:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                               "CONFIG": {"hosts": [url]}}}
        channel_layers.backends.clear()
        yield url
        channel_layers.backends.clear()


def _hub_tasks() -> list[asyncio.Task]:
    """The hub's listeners and tickers still running and not asked to stop (a cancelled listener may
    finish its pending Redis read first)."""
    return [t for t in asyncio.all_tasks() if not t.done() and not t.cancelling() and "Hub._" in repr(t.get_coro())]


async def _figures(key, variants):
    return {v: {"key": key, "variant": v} for v in variants}


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_viewers_arriving_and_leaving_together_share_one_channel_and_leave_nothing_running(redis_layer):
    hub = Hub(_figures, tick=lambda: 0.05)
    first = [Viewer() for _ in range(20)]
    await asyncio.gather(*(hub.subscribe(v, "bavi", "", "board.bavi") for v in first))
    assert len(_hub_tasks()) == 2, "one listener and one ticker, however many viewers arrived at once"

    # The last viewers leave while new ones arrive: the newcomers must still hear notices.
    second = [Viewer() for _ in range(5)]
    await asyncio.gather(*(hub.unsubscribe(v, "bavi", "") for v in first),
                         *(hub.subscribe(v, "bavi", "", "board.bavi") for v in second))
    for v in second:
        v.got.clear()
    group, message = notice("board.bavi")
    await get_channel_layer().group_send(group, message)
    await asyncio.wait_for(asyncio.gather(*(v.got.wait() for v in second)), 10)
    assert len(_hub_tasks()) == 2

    started = [t for t in asyncio.all_tasks() if "Hub._" in repr(t.get_coro())]
    await asyncio.gather(*(hub.unsubscribe(v, "bavi", "") for v in second))
    assert _hub_tasks() == [], "the last viewer gone, the hub stops everything it started"
    # Let the cancelled listener finish its pending read and close the layer's connections while
    # Redis still runs: the test's event loop ends with nothing waiting on a server that is gone.
    await asyncio.wait(started, timeout=3)
    await get_channel_layer().flush()
    await get_channel_layer().close_pools()


class SlowViewer(Viewer):
    """A viewer whose socket does not drain (a stalled tab, a phone on a bad line) until released."""

    def __init__(self):
        super().__init__()
        self.release = asyncio.Event()

    async def hub_push(self, payload):
        await self.release.wait()
        await super().hub_push(payload)


async def _until(condition, seconds=10):
    async def wait():
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), seconds)


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_slow_viewer_holds_back_neither_the_ticks_nor_the_other_viewers():
    from diemcau.core.hub_deltas import DeltaHub, Frame

    state = {"n": 0}

    async def compute(key, variants):
        return Frame(rows={"b-n": {"n": state["n"]}}, figures={"n": state["n"]})

    async def render(key, frame, wanted):
        return {v: {i: str(frame.rows[i]["n"]) for i in ids} for v, ids in wanted.items()}

    async def compose(key, variant, frame, rendered):
        return {"rows": dict(rendered)}

    hub = DeltaHub(compute, render, compose, kind="count", tick=lambda: 0.02)
    fast, slow = Viewer(), SlowViewer()
    await hub.subscribe(fast, "k", "", "count.k")
    await hub.subscribe(slow, "k", "", "count.k")
    await _until(lambda: fast.payloads)  # its snapshot is read; the slow viewer's is still in flight
    for n in range(1, 6):
        state["n"] = n
        hub.mark({"group": "count.k"})
        await _until(lambda n=n: fast.payloads and fast.payloads[-1]["figures"]["n"] == n)
    # The fast viewer got its snapshot and every delta, each on the version it held.
    assert [p["figures"]["n"] for p in fast.payloads] == [0, 1, 2, 3, 4, 5]
    assert all(p["base"] == q["version"] for q, p in zip(fast.payloads, fast.payloads[1:], strict=False))
    assert slow.payloads == [] and hub.outbox.skipped >= 4  # still on its first message, the deltas skipped
    slow.release.set()
    await _until(lambda: len(slow.payloads) == 2)
    await hub.outbox.idle()
    # Once it reads again: its first message, then one snapshot of the version current now.
    last = slow.payloads[-1]
    assert "snapshot" in last.data and last["figures"]["n"] == 5 and last["version"] == fast.payloads[-1]["version"]
    for v in (fast, slow):
        await hub.unsubscribe(v, "k", "")


@pytest.mark.django_db
def test_notices_published_soon_go_from_the_publishers_thread_merged_and_only_after_commit(
        redis_layer, django_capture_on_commit_callbacks):
    """``publish_soon_on_commit``: nothing leaves before the commit; the committing thread hands the
    notices over and goes on; what was queued together arrives merged (never lost, never doubled)."""
    from asgiref.sync import async_to_sync

    from diemcau.core import broadcast

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("soon-test", channel)

    def merge(a, b):
        return {**a, "n": a["n"] + b["n"]}

    with django_capture_on_commit_callbacks(execute=False) as pending:
        for n in range(5):
            broadcast.publish_soon_on_commit(("soon-test", {"type": "t", "n": [n]}), merge=merge)
    assert len(pending) == 5 and broadcast._publisher.queue.empty()  # nothing queued before the commit

    received = []

    async def commit_then_drain():  # one event loop: the layer's receive buffer belongs to it
        with pytest.raises(TimeoutError):  # nothing sent before the commit
            await asyncio.wait_for(layer.receive(channel), 0.5)

        def commit():  # a thread without an event loop, as a request's worker commits
            for callback in pending:
                callback()
            assert broadcast._publisher.idle(10)

        await asyncio.to_thread(commit)
        while sorted(received) != list(range(5)):
            received.extend((await asyncio.wait_for(layer.receive(channel), 10))["n"])

    async_to_sync(commit_then_drain)()
    assert sorted(received) == [0, 1, 2, 3, 4]  # each once, in one to five messages
