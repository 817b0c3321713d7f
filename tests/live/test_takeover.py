"""A takeover keeps what is right: the runtime that takes over adopts the nodes' room and mountpoints.

Real Janus (a root and an edge), two runtimes one after the other on the same nodes (the second
as a standby would after the lease passed). A viewer watching the edge's programme mountpoint stays
on it across the takeover: the mountpoint was adopted, not destroyed and made again (that would hang
up every kiosk). The browser scenario (forwarders' stream ids unchanged with a point on air, kiosks
decoding on) is in tests/e2e/test_live_switch.py.
"""

import asyncio
import threading

import pytest

from diemcau.live import layout
from diemcau.live.janus_client import STREAMING, JanusClient
from diemcau.live.janus_node import JanusNode
from diemcau.live.runtime import LiveRuntime, NodeSpec
from tests.waiting import wait_for

from .conftest import live_base_port

pytestmark = pytest.mark.django_db(transaction=True)


class _Running:
    """A runtime on the given nodes in a thread of its own."""

    def __init__(self, conference_id, specs, nodes):
        self.runtime = LiveRuntime(conference_id, specs, nodes=nodes, synthetic_host=True, feed_size=(320, 180))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=lambda: self.loop.run_until_complete(self.runtime.run()), daemon=True)
        self.thread.start()
        wait_for(lambda: all(n.up and n.provisioned for n in self.runtime.nodes)
                 and self.runtime.slots["main"].source == ("feed",), 60, "the nodes provisioned, the host on air")

    def call(self, coro_fn):
        return asyncio.run_coroutine_threadsafe(coro_fn(self.runtime), self.loop).result(15)

    def stop(self):
        self.loop.call_soon_threadsafe(self.runtime.stop)
        self.thread.join(20)


async def _viewers(runtime) -> int:
    edge = next(n for n in runtime.nodes if n.spec.name == "edge")
    info = await edge.streaming.info(layout.MAIN_MOUNTPOINT, secret=runtime.mount_secret)
    return int(info.get("viewers") or 0)


@pytest.mark.timeout(240)
def test_a_runtime_taking_over_keeps_the_mountpoints_viewers_are_watching(live_world, tmp_path):
    ports = [live_base_port()]
    ports.append(live_base_port(set(ports)))
    specs = [NodeSpec("root", ports[0], role="root"), NodeSpec("edge", ports[1], point_id=live_world["bavi"].pk)]
    # Sessions live 10 min: the test's viewer sends no keepalives.
    nodes = {s.name: JanusNode(s.name, s.base_port, folder=tmp_path / s.name, session_timeout=600) for s in specs}
    for node in nodes.values():
        node.start()
    first = second = None
    viewer_loop = asyncio.new_event_loop()
    client = JanusClient(nodes["edge"].http_url, api_secret=nodes["edge"].api_secret)
    try:
        first = _Running(live_world["conference"].pk, specs, nodes)
        # A viewer (as a kiosk's Streaming handle) on the edge's programme mountpoint.

        async def watch():
            session = await client.create_session()
            handle = await session.attach(STREAMING)
            await handle.message({"request": "watch", "id": layout.MAIN_MOUNTPOINT})
            return session

        viewer_loop.run_until_complete(watch())
        wait_for(lambda: first.call(_viewers) == 1, 20, "the viewer counted on the edge's mountpoint")
        first.stop()

        second = _Running(live_world["conference"].pk, specs, nodes)
        assert second.call(_viewers) == 1, "the mountpoint was made again: its viewer was hung up"
        assert all(n.epoch == 1 for n in second.runtime.nodes)
        assert second.runtime.room_secret == first.runtime.room_secret  # the same secrets: it can manage them
    finally:
        for running in (second, first):
            if running is not None and running.thread.is_alive():
                running.stop()
        viewer_loop.run_until_complete(client.aclose())
        viewer_loop.close()
        for node in nodes.values():
            node.stop()
