"""Issue 18: a hall's own room system (baresip in a namespace of its own, G.722 only) joins over SIP.

Real parts: Kamailio and rtpengine from Debian (the gateway starts its own), Janus root, the live
runtime (synthetic host on air: a test pattern and its tone), baresip in ``sip-hall``
(``deploy/sip/hall.py``). Root only (network namespaces); serial (it owns ports 5060/5061 on
10.233.0.1 and the namespace).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from diemcau.live import sip
from diemcau.live.janus_node import JanusNode
from diemcau.live.runtime import LiveRuntime, NodeSpec
from diemcau.live.sip_gateway import SipGateway, hall_room_id
from diemcau.orgs.scoping import SYSTEM

from .conftest import live_base_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "sip"))
import hall as hall_ns

PASSWORD = "mat-khau-phong-hop-1"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("kamailio") or not shutil.which("baresip")
                                or not shutil.which("rtpengine"),
                                reason="needs root and Debian's kamailio, rtpengine-daemon, baresip")


def _wait(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def gateway(live_world, tmp_path):
    """Root Janus, the runtime (synthetic host on air) and the SIP gateway in one loop; the hall's namespace."""
    hall_ns.network_up()
    port = live_base_port()
    root = JanusNode("root", port, folder=tmp_path / "root")
    root.start()
    runtime = LiveRuntime(live_world["conference"].pk, [NodeSpec("root", port, role="root")],
                          nodes={"root": root}, synthetic_host=True, feed_size=(320, 180))
    gw = SipGateway(runtime, address=hall_ns.GATEWAY, folder=tmp_path / "sip")
    loop = asyncio.new_event_loop()

    async def both():
        await asyncio.gather(runtime.run(), gw.run(), return_exceptions=True)

    thread = threading.Thread(target=lambda: loop.run_until_complete(both()), daemon=True)
    thread.start()
    try:
        _wait(lambda: runtime.root.up and gw.ready and gw._room_epoch == runtime.root.epoch, 30,
              "root provisioned and the gateway ready")
        yield {"gw": gw, "runtime": runtime, "root": root, "world": live_world, "loop": loop, "tmp": tmp_path}
    finally:
        loop.call_soon_threadsafe(runtime.stop)
        loop.call_soon_threadsafe(gw.stop)
        thread.join(30)
        root.stop()
        hall_ns.network_down()


def _room_system(world):
    return sip.configure_room_system(SYSTEM, world["hanoi"], username="hanoi-polycom", password=PASSWORD,
                                     address="10.233.0.50")


def _participants(ctx, room):
    async def go():
        from diemcau.live.janus_client import JanusClient
        from diemcau.live.janus_plugins import VideoRoom
        async with JanusClient(ctx["root"].http_url, api_secret=ctx["root"].api_secret) as client:
            vr = VideoRoom(client, ctx["root"].admin_key)
            try:
                return await vr.list_participants(room)
            finally:
                await vr.close()
    return asyncio.run(go())


def _tone_share(path: Path, hz: float) -> float:
    """The share of the recording's energy within ±30 Hz of ``hz`` (a tone that is there: well above 0)."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(float)
        if w.getnchannels() > 1:
            samples = samples.reshape(-1, w.getnchannels()).mean(axis=1)
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[(freqs > hz - 30) & (freqs < hz + 30)].sum() / max(spectrum.sum(), 1e-9))


@pytest.mark.django_db(transaction=True)
def test_a_room_system_joins_receives_the_programme_and_is_seen(gateway):
    ctx = gateway
    gw = ctx["gw"]
    _room_system(ctx["world"])
    _wait(lambda: "hanoi-polycom" in gw._pushed, 10, "credentials pushed to Kamailio")
    folder = ctx["tmp"] / "hall"
    uri = hall_ns.baresip_config(folder, username="hanoi-polycom", password=PASSWORD)
    bs = hall_ns.start_baresip(folder, uri, seconds=60)
    try:
        call = _wait(lambda: next(iter(gw.calls.values()), None), 20, "the hall's call answered")
        assert call.point_id == ctx["world"]["hanoi"].pk
        _wait(lambda: call.relay.stats.hall_video > 50 and call.relay.stats.hall_audio > 50, 20,
              "the hall's audio and video at the relay")
        _wait(lambda: call.relay.stats.programme_audio > 100 and call.relay.stats.programme_video > 50, 20,
              "the programme reaching the call")
        wall = _participants(ctx, hall_room_id(ctx["world"]["conference"].pk))
        assert [p for p in wall if p.get("publisher") and p["id"] == call.wall_id], wall
        time.sleep(4)
    finally:
        bs.terminate()
        bs.wait(10)
    recordings = sorted((folder / "rec").glob("*dec*.wav"))
    print((folder / "baresip.log").read_text()[-3000:])
    assert recordings, list((folder / "rec").iterdir())
    assert _tone_share(recordings[-1], 440) > 0.2
