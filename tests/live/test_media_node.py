"""A media node on a host of its own: its agent runs Janus, registers it with the control plane over the
authenticated API and sends heartbeats; the runtime adopts it, provisions it over the network and
forwards the programme to its private address; kiosks are given its public URL, and another node
while it is down.

Here the "private address" is 127.0.0.1 (the cluster harness puts agents on hosts of their own).
"""

import asyncio
import threading

import httpx
import pytest

from diemcau.live import layout, tokens
from diemcau.live.janus_node import JanusNode
from diemcau.live.models import LiveNode
from diemcau.live.node_agent import AgentConfig, NodeAgent
from diemcau.live.runtime import LiveRuntime, NodeSpec
from tests.waiting import wait_for

from .conftest import live_base_port

pytestmark = pytest.mark.django_db(transaction=True)
KEY = "cle-des-noeuds-media-0123456789"
PUBLIC = "wss://edge-north.example.vn/janus"


def test_an_agent_registers_its_node_and_the_runtime_adopts_and_feeds_it(live_server, live_world, settings,
                                                                        tmp_path):
    settings.LIVE_MEDIA_NODE_KEY = KEY
    w = live_world
    root_port = live_base_port()
    edge_port = live_base_port({root_port})
    register = f"{live_server.url}/api/live/nodes/register"
    # Without the key (or with a wrong one) nothing registers.
    assert httpx.post(register, json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(register, json={}).status_code == 401

    agent = NodeAgent(AgentConfig(name="edge-north", base_port=edge_port, private_address="127.0.0.1",
                                  control_url=live_server.url, key=KEY, public_url=PUBLIC, capacity=120,
                                  region="north"), folder=tmp_path / "edge-north")
    agent_thread = threading.Thread(target=agent.run, daemon=True)
    agent_thread.start()
    root = JanusNode("root", root_port, folder=tmp_path / "root")
    root.start()
    runtime = LiveRuntime(w["conference"].pk, [NodeSpec("root", root_port, role="root")], nodes={"root": root},
                          synthetic_host=True, feed_size=(320, 180))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(runtime.run()), daemon=True)
    thread.start()
    try:
        wait_for(lambda: LiveNode.objects.filter(name="edge-north", agent=True).exists(), 15, "the agent registered")
        row = LiveNode.objects.get(name="edge-north")
        assert (row.private_address, row.ws_url, row.capacity, row.region) == ("127.0.0.1", PUBLIC, 120, "north")
        assert row.admin_url.startswith("http://127.0.0.1:") and row.admin_secret == agent.janus.admin_secret
        wait_for(lambda: LiveNode.objects.filter(name="edge-north", state=LiveNode.State.UP).exists(), 20,
                 "the runtime adopted and provisioned the edge")
        edge = next(n for n in runtime.nodes if n.spec.name == "edge-north")
        assert not edge.owned and edge.address == "127.0.0.1"

        async def ages():
            info = await edge.streaming.info(layout.MAIN_MOUNTPOINT, secret=runtime.mount_secret)
            return {m["mid"]: m.get("age_ms") for m in info["media"]}

        def fed():
            got = asyncio.run_coroutine_threadsafe(ages(), loop).result(5)
            return all(age is not None and age < 1000 for age in got.values())
        wait_for(fed, 20, "the programme arriving at the remote edge")

        # A kiosk with no edge on its relay line is sent to the agent's edge, at its public URL.
        config = tokens.issue_token(w["ops"]["school"], w["conference"], "kiosk", w["school"]).as_config()
        assert (config["watch_node"], config["watch_url"]) == ("edge-north", PUBLIC)
        before = LiveNode.objects.get(name="edge-north").heartbeat_at
        wait_for(lambda: LiveNode.objects.get(name="edge-north").heartbeat_at > before, 10, "a heartbeat")

        # Its Janus dies: the node is down, a new kiosk is sent to the root meanwhile.
        agent.stop()
        agent_thread.join(20)
        wait_for(lambda: LiveNode.objects.filter(name="edge-north", state=LiveNode.State.DOWN).exists(), 15,
                 "the edge marked down")
        config = tokens.issue_token(w["ops"]["school"], w["conference"], "kiosk", w["school"]).as_config()
        assert config["watch_node"] == "root"
    finally:
        agent.stop()
        loop.call_soon_threadsafe(runtime.stop)
        thread.join(15)
        root.stop()
