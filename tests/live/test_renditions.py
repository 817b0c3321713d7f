"""The programme's low (360p ≈ 300 kbit/s) and audio-only (Opus 32 kbit/s) renditions: encoded once at the
root by ffmpeg from the programme's RTP, delivered to every node's rendition mountpoints."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from diemcau.live import renditions
from diemcau.live.janus_client import JanusClient
from diemcau.live.janus_node import JanusNode
from diemcau.live.janus_plugins import Streaming
from diemcau.live.media import SyntheticFeed
from diemcau.live.models import LiveNode
from diemcau.live.runtime import LiveRuntime, NodeSpec
from tests.waiting import wait_for

from .conftest import _udp_free, live_base_port

pytestmark = pytest.mark.django_db


def _udp_block(n: int) -> int:
    """A first port with ``n`` free even/odd UDP ports after it."""
    port = 31000
    while not all(_udp_free(port + i) for i in range(n)):
        port += 20
    return port


def test_the_encoder_delivers_about_300_and_32_kbits(tmp_path):
    """Programme in (the synthetic host at 800 kbit/s), renditions out: the delivered bitrate of each."""
    base = _udp_block(12)
    encoder = renditions.RenditionEncoder(base, base + 2, [("127.0.0.1", base + 4, base + 6, base + 8)],
                                          work_dir=tmp_path)
    feed = SyntheticFeed([("127.0.0.1", base, base + 2)], size="960x540", fps=25,
                         log_path=tmp_path / "feed.log")
    encoder.start()
    feed.start()
    try:
        ports = {"low_video": base + 4, "low_audio": base + 6, "audio": base + 8}
        # The encoder probes its input, then settles its rate: measure once it has sent for a while
        # (a loaded machine starts ffmpeg late, and its first second is a catch-up burst).
        deadline = time.monotonic() + 20
        while renditions.measure_rtp(ports, 1.0)["low_video"] == 0 and time.monotonic() < deadline:
            pass
        renditions.measure_rtp(ports, 1.5)
        kbits = renditions.measure_rtp(ports, 3.0)
    finally:
        feed.stop()
        encoder.stop()
    print("delivered kbit/s", kbits)
    assert 150 <= kbits["low_video"] <= 400, kbits  # ≈ 300 kbit/s, RTP headers included
    assert 20 <= kbits["audio"] <= 50, kbits
    assert abs(kbits["low_audio"] - kbits["audio"]) < 8, kbits  # the same Opus, encoded once


@pytest.mark.django_db(transaction=True)  # the runtime writes from its own thread: its rows must not outlive the test
def test_the_runtime_feeds_the_rendition_mountpoints(live_world, tmp_path, settings):
    settings.LIVE_RENDITIONS = True
    port = live_base_port()
    root = JanusNode("root", port, folder=tmp_path / "root")
    root.start()
    runtime = LiveRuntime(live_world["conference"].pk, [NodeSpec("root", port, role="root")],
                          nodes={"root": root}, synthetic_host=True, feed_size=(320, 180))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(runtime.run()), daemon=True)
    thread.start()

    async def ages(mp):
        async with JanusClient(root.http_url, api_secret=root.api_secret) as client:
            streaming = Streaming(client, root.admin_key)
            try:
                info = await streaming.info(mp, secret=runtime.mount_secret)
            finally:
                await streaming.close()
        return {m["type"]: m.get("age_ms") for m in info.get("media", [])}

    def fresh(mp, kinds):
        try:
            seen = asyncio.run(ages(mp))
        except Exception:  # not made yet
            return False
        return all(seen.get(k) is not None and seen[k] < 500 for k in kinds)

    try:
        wait_for(lambda: LiveNode.objects.filter(name="root", state=LiveNode.State.UP).exists(), 20, "root up")
        wait_for(lambda: fresh(renditions.LOW_MOUNTPOINT, ("video", "audio")), 20, "low rendition receiving")
        wait_for(lambda: fresh(renditions.AUDIO_MOUNTPOINT, ("audio",)), 5, "audio-only rendition receiving")
        assert set(asyncio.run(ages(renditions.AUDIO_MOUNTPOINT))) == {"audio"}
        # The encoder's first packets can reach the mountpoints before its start() returns (it waits
        # 0.15 s for a quick refusal): it is on the runtime at most that much later.
        wait_for(lambda: runtime._renditions.encoder is not None, 2, "the encoder kept on the runtime")
        encoder = runtime._renditions.encoder
        assert encoder.running
    finally:
        loop.call_soon_threadsafe(runtime.stop)
        thread.join(15)
        root.stop()
    assert encoder.running is False  # stopped with the runtime
