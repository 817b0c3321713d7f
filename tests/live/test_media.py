"""The synthetic host feed and the HLS packager, against a real Janus and Debian's ffmpeg/ffprobe."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from diemcau.live.janus_client import JanusClient
from diemcau.live.janus_node import JANUS_BINARY, JanusNode
from diemcau.live.janus_plugins import Streaming
from diemcau.live.media import FFMPEG_BINARY, HlsPackager, MediaError, SyntheticFeed, programme_sdp
from tests.environment import missing

pytestmark = pytest.mark.skipif(not Path(FFMPEG_BINARY).exists(), reason="ffmpeg is missing")


def _udp_pair_free(port: int) -> bool:
    for candidate in (port, port + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                return False
    return True


def free_rtp_ports() -> tuple[int, int]:
    """Two even UDP ports (each with its RTCP neighbour free) in 30000-30999, this suite's own range."""
    for _ in range(200):
        video = random.randrange(30000, 30996, 4)
        if _udp_pair_free(video) and _udp_pair_free(video + 2):
            return video, video + 2
    raise RuntimeError("no free UDP ports between 30000 and 30999")


@pytest.fixture
def media_node(tmp_path: Path) -> Iterator[JanusNode]:
    """A Janus node with its port block in 26000-29999 (other suites use other blocks)."""
    if not Path(JANUS_BINARY).exists():
        missing(f"{JANUS_BINARY} is missing (install Debian's janus package)")
    for base in random.sample(range(26000, 30000, 1000), 4):
        node = JanusNode("media", base, folder=tmp_path / "janus")
        try:
            node.start()
        except Exception:  # the block is taken by another run: try the next one
            node.kill()
            continue
        try:
            yield node
        finally:
            node.stop()
        return
    missing("no free Janus port block between 26000 and 29999")


def _ffprobe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,profile:format=duration",
         "-of", "json", str(path)],
        capture_output=True, text=True, timeout=20, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_synthetic_feed_reaches_a_janus_mountpoint_and_stops_completely(media_node: JanusNode, tmp_path: Path) -> None:
    async def media_ages(mountpoints: Streaming) -> dict[str, int]:
        info = await mountpoints.info(7, secret="mp")
        return {m["mid"]: m["age_ms"] for m in info["media"]}

    async def scenario() -> None:
        async with JanusClient.for_node(media_node) as client:
            mountpoints = Streaming(client, media_node.admin_key)
            stream = await mountpoints.create_rtp(7, video_port=0, audio_port=0, secret="mp")
            ports = {p["mid"]: p["port"] for p in stream["ports"]}
            await asyncio.sleep(0.6)
            assert min((await media_ages(mountpoints)).values()) >= 500  # nothing received yet

            feed = SyntheticFeed([("127.0.0.1", ports["v"], ports["a"])], log_path=tmp_path / "feed.log")
            feed.start()
            pid = feed.pid
            try:
                assert feed.running and os.getpgid(pid) == pid  # a process group of its own
                deadline = time.monotonic() + 8
                while max((await media_ages(mountpoints)).values()) > 200:
                    assert feed.running, feed.log_tail()
                    assert time.monotonic() < deadline, f"mountpoint got no RTP: {await media_ages(mountpoints)}"
                    await asyncio.sleep(0.1)
                for _ in range(5):  # both streams stay fresh while the feed runs
                    await asyncio.sleep(0.2)
                    assert max((await media_ages(mountpoints)).values()) < 300
                info = await mountpoints.info(7, secret="mp")
                video = next(m for m in info["media"] if m["mid"] == "v")
                assert video["codec"] == "h264" and video["pt"] == 96
            finally:
                feed.stop()
            assert not feed.running
            assert not Path(f"/proc/{pid}").exists()  # reaped, not a zombie or a straggler
            with pytest.raises(ProcessLookupError):
                os.killpg(pid, 0)  # nothing left in its process group
            await asyncio.sleep(0.8)
            assert min((await media_ages(mountpoints)).values()) >= 600  # Janus sees the source stop
            await mountpoints.close()

    asyncio.run(scenario())


def test_feed_through_the_hls_packager_gives_a_playlist_whose_segments_play(tmp_path: Path) -> None:
    video_port, audio_port = free_rtp_ports()
    hls = HlsPackager("programme", video_port, audio_port, tmp_path / "hls", work_dir=tmp_path)
    feed = SyntheticFeed([("127.0.0.1", video_port, audio_port)], log_path=tmp_path / "feed.log")
    hls.start()
    feed.start()
    try:
        playlist = hls.wait_for_playlist(timeout=20, segments=3)
        text = playlist.read_text()
        assert text.startswith("#EXTM3U") and "#EXT-X-PROGRAM-DATE-TIME:" in text
        assert "#EXT-X-ENDLIST" not in text  # live
        durations = [float(line.split(":")[1].rstrip(",")) for line in text.splitlines() if line.startswith("#EXTINF")]
        assert all(0.5 <= d <= 2.5 for d in durations), durations
        listed = [line for line in text.splitlines() if line.endswith(".ts")]
        segment = playlist.parent / listed[-1]
        probe = _ffprobe(segment)
        kinds = {s["codec_type"]: s for s in probe["streams"]}
        assert kinds["video"]["codec_name"] == "h264"
        assert kinds["video"]["profile"] == "Constrained Baseline"  # copied from the feed, not re-encoded
        assert kinds["audio"]["codec_name"] == "aac"
        assert float(probe["format"]["duration"]) > 0
        # The segment decodes: ffmpeg reads every frame of it without an error.
        decoded = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(segment), "-f", "null", "-"],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        assert decoded.returncode == 0 and not decoded.stderr.strip(), decoded.stderr

        # Old segments are deleted: after more than list_size + threshold segments, the first is gone.
        deadline = time.monotonic() + 20
        while (playlist.parent / "seg_00000.ts").exists():
            assert time.monotonic() < deadline, sorted(p.name for p in hls.segments())
            time.sleep(0.2)
        assert len(hls.segments()) <= hls.list_size + 3
    finally:
        feed.stop()
        hls.stop()
    assert not feed.running and not hls.running


def _extinfs(text: str) -> list[float]:
    return [float(line.split(":")[1].rstrip(",")) for line in text.splitlines() if line.startswith("#EXTINF")]


def test_a_new_source_continues_the_playlist_after_a_discontinuity(tmp_path: Path) -> None:
    video_port, audio_port = free_rtp_ports()
    hls = HlsPackager("programme", video_port, audio_port, tmp_path / "hls", work_dir=tmp_path)
    first = SyntheticFeed([("127.0.0.1", video_port, audio_port)], label="A", log_path=tmp_path / "a.log")
    second = SyntheticFeed([("127.0.0.1", video_port, audio_port)], label="B", log_path=tmp_path / "b.log")
    hls.start()
    first.start()
    try:
        hls.wait_for_playlist(timeout=20, segments=2)
        first.stop()
        # The director switches: another source, with its own SSRC, sequence numbers and timestamps.
        hls.new_source()
        second.start()
        deadline = time.monotonic() + 25
        while True:
            text = hls.playlist_path.read_text()
            after = text.partition("#EXT-X-DISCONTINUITY")[2]
            if after.count("#EXTINF") >= 2:
                break
            assert hls.running, hls.log_tail()
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        numbers = [int(line[4:9]) for line in text.splitlines() if line.startswith("seg_")]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # numbering goes on
        assert all(d <= 2.5 for d in _extinfs(text)), text  # no segment spanning the two timelines
        target = int(next(line for line in text.splitlines() if line.startswith("#EXT-X-TARGETDURATION:"))[22:])
        assert target <= 2, text
        newest = hls.playlist_path.parent / [line for line in text.splitlines() if line.startswith("seg_")][-1]
        decoded = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(newest), "-f", "null", "-"], capture_output=True, text=True, timeout=20
        )
        assert decoded.returncode == 0, decoded.stderr
    finally:
        second.stop()
        first.stop()
        hls.stop()


def test_packager_starts_clean_and_writes_the_programme_sdp(tmp_path: Path) -> None:
    out = tmp_path / "hls"
    out.mkdir()
    (out / "seg_00042.ts").write_bytes(b"old")
    (out / "index.m3u8").write_text("#EXTM3U\nseg_00042.ts\n")
    video_port, audio_port = free_rtp_ports()
    hls = HlsPackager("programme", video_port, audio_port, out, work_dir=tmp_path)
    hls.start()
    try:
        assert hls.running
        assert not (out / "seg_00042.ts").exists() and hls.playlist is None  # nothing from an earlier run
        sdp = hls.sdp_path.read_bytes().decode()
        assert sdp == programme_sdp(video_port, audio_port, name="programme")
        assert f"m=video {video_port} RTP/AVP 96" in sdp and "profile-level-id=42e01f" in sdp
        assert f"m=audio {audio_port} RTP/AVP 111" in sdp and "opus/48000/2" in sdp
    finally:
        hls.stop()
    assert not hls.running


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(MediaError):
        SyntheticFeed([])
    with pytest.raises(MediaError):
        SyntheticFeed([("127.0.0.1", 5000, 5000)])
    with pytest.raises(MediaError):
        SyntheticFeed([("127.0.0.1|rtp://evil", 5000, 5002)])
    with pytest.raises(MediaError):
        SyntheticFeed([("127.0.0.1", 5000, 5002)], size="big")
    with pytest.raises(MediaError):
        HlsPackager("../etc", 5000, 5002)
    with pytest.raises(MediaError):
        HlsPackager("programme", 5000, 5001)
