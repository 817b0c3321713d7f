"""Low-bandwidth renditions of the programme for mountain and island schools, produced once at the root.

One ffmpeg at the root reads the programme's RTP (as the HLS packager does) and encodes it once more:

=========  =============  ======================================================  ============
rendition  mountpoint id  what                                                    about
=========  =============  ======================================================  ============
``low``    3 (lane 0)     H.264 Constrained Baseline 640×360, 15 fps + the Opus    330 kbit/s
                          audio below
``audio``  4 (lane 0)     Opus 32 kbit/s mono, no picture                          32 kbit/s
=========  =============  ======================================================  ============

The audio is encoded once and sent to both mountpoints. The encoder's RTP goes to the rendition
mountpoints of every node that is up (root and edges, the ports of the conference's lane in each
node's block: ``layout.port_offsets``; ids ``layout.mountpoint``), the way the programme's forwarders
reach the main one; a kiosk watches the one its link can carry (``kiosk.js``: WebRTC main → low →
HLS → audio-only).

The runtime calls :func:`programme_targets` (its one hook, in ``LiveRuntime._targets``) whenever it
re-points the programme (a new source, a node up or down): the encoder is started or restarted for
the new RTP stream and destinations, the mountpoints are made on nodes provisioned since the last
call, and the encoder's input ports are returned as one more target of the main forwarders. Off
unless ``DIEMCAU_LIVE_RENDITIONS=1`` (an encoder costs about a fifth of a core).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from . import layout
from .janus_plugins import H264_PT, OPUS_PT
from .media import FFMPEG_BINARY, MediaError, _FfmpegChild, default_var_dir, programme_sdp

log = logging.getLogger("diemcau.live.renditions")

LOW_MOUNTPOINT = layout.MOUNTPOINTS["low"]      # lane 0's (a conference's lane: layout.mountpoint)
AUDIO_MOUNTPOINT = layout.MOUNTPOINTS["audio"]
MOUNTPOINTS = {"low": LOW_MOUNTPOINT, "audio": AUDIO_MOUNTPOINT}


def mountpoints(lane: int = 0) -> dict[str, int]:
    """The rendition mountpoints' ids of the conference in ``lane``."""
    return {name: layout.mountpoint(name, lane) for name in MOUNTPOINTS}


LOW_VIDEO_BITRATE = "300k"
AUDIO_BITRATE = "32k"


def enabled() -> bool:
    """Whether the runtime makes the renditions (``DIEMCAU_LIVE_RENDITIONS``)."""
    return bool(settings.LIVE_RENDITIONS)


class RenditionEncoder(_FfmpegChild):
    """ffmpeg reading the programme's RTP and sending the low and audio-only renditions as RTP.

    :param video_port, audio_port: where the programme's RTP arrives (2 apart at least; +1 is RTCP).
    :param destinations: ``(host, low_video_port, low_audio_port, audio_only_port)`` per node.
    """

    def __init__(self, video_port: int, audio_port: int, destinations: list[tuple[str, int, int, int]], *,
                 host: str = "127.0.0.1", work_dir: Path | str | None = None,
                 video_bitrate: str = LOW_VIDEO_BITRATE, audio_bitrate: str = AUDIO_BITRATE) -> None:
        if abs(video_port - audio_port) < 2:
            raise MediaError("video and audio ports must be at least 2 apart (RTCP uses port + 1)")
        self.video_port, self.audio_port, self.host = int(video_port), int(audio_port), host
        self.destinations = list(destinations)
        self.work_dir = Path(work_dir) if work_dir is not None else default_var_dir() / "media"
        self.video_bitrate, self.audio_bitrate = video_bitrate, audio_bitrate
        super().__init__(self.work_dir / "renditions.log")

    @property
    def sdp_path(self) -> Path:
        return self.work_dir / "renditions.sdp"

    def command(self) -> list[str]:
        """The ffmpeg command line: decode once, 360p H.264 and Opus 32k once, copied to every node."""
        outputs = []
        for host, low_v, low_a, audio_a in self.destinations:
            outputs += [
                f"[select=v:f=rtp:payload_type={H264_PT}:onfail=ignore]rtp://{host}:{low_v}?pkt_size=1200",
                f"[select=a:f=rtp:payload_type={OPUS_PT}:onfail=ignore]rtp://{host}:{low_a}",
                f"[select=a:f=rtp:payload_type={OPUS_PT}:onfail=ignore]rtp://{host}:{audio_a}",
            ]
        # No node up: encode into nothing rather than not at all (ready at once).
        sink = ["-f", "tee", "|".join(outputs)] if outputs else ["-f", "null", "-"]
        return [
            FFMPEG_BINARY, "-hide_banner", "-loglevel", "warning", "-nostdin",
            "-protocol_whitelist", "file,udp,rtp",
            "-fflags", "+genpts+nobuffer", "-analyzeduration", "1000000", "-probesize", "500000",
            "-reorder_queue_size", "64",
            "-i", str(self.sdp_path),
            "-map", "0:v:0", "-map", "0:a:0?",
            "-vf", "scale=-2:360,fps=15",
            # Constrained Baseline like the programme (the mountpoints' 42e01f fmtp), a keyframe every
            # second so a kiosk that falls back shows a picture at once, the rate capped for thin links.
            "-c:v", "libx264", "-profile:v", "baseline", "-level:v", "3.0", "-preset", "veryfast",
            "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-threads", "1",
            "-g", "15", "-keyint_min", "15", "-sc_threshold", "0",
            # A half-second buffer: the rate holds over any second, not only on average.
            "-b:v", self.video_bitrate, "-maxrate", self.video_bitrate, "-bufsize", _half(self.video_bitrate),
            "-x264-params", "repeat-headers=1",
            # Constant bitrate: a thin link needs to know what the sound costs (VBR went to ~45 kbit/s).
            "-c:a", "libopus", "-b:a", self.audio_bitrate, "-vbr", "off", "-ac", "1", "-ar", "48000",
            "-application", "voip",
            *sink,
        ]  # fmt: skip

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        sdp = programme_sdp(self.video_port, self.audio_port, host=self.host, name="renditions")
        self.sdp_path.write_bytes(sdp.encode())
        self._spawn(self.command(), "rendition encoder")

    def _describe(self) -> str:
        return f"rtp:{self.video_port}/{self.audio_port} → {len(self.destinations)} nodes"


def _half(rate: str) -> str:
    """``"300k"`` -> ``"150k"``."""
    return f"{int(rate.rstrip('k')) // 2}k" if rate.endswith("k") else str(int(rate) // 2)


def node_ports(base_port: int, lane: int = 0) -> tuple[int, int, int]:
    """A node's rendition ports in ``lane``: low video, low audio, audio-only."""
    low_v, low_a = layout.port_offsets("low", lane)
    return base_port + low_v, base_port + low_a, base_port + layout.port_offsets("audio", lane)[1]


def node_rtp_host(node) -> str:
    """Where a node takes RTP: the runtime's address for it (a media host's private address, from its
    agent's registration; this machine for the nodes the runtime starts itself)."""
    return getattr(node, "address", None) or "127.0.0.1"


async def create_mountpoints(streaming, base_port: int, secret: str, iface: str = "127.0.0.1",
                            lane: int = 0) -> None:
    """The low and audio-only mountpoints on one node (made again if present: a node's ports are fixed)."""
    low_v, low_a, audio_a = node_ports(base_port, lane)
    low_mp, audio_mp = mountpoints(lane)["low"], mountpoints(lane)["audio"]
    for mp in (low_mp, audio_mp):
        with contextlib.suppress(Exception):
            await streaming.destroy(mp, secret=secret)
    await streaming.create_rtp(low_mp, video_port=low_v, audio_port=low_a, secret=secret,
                               description="programme low (360p)", iface=iface)
    body: dict[str, Any] = {
        "request": "create", "type": "rtp", "id": audio_mp, "description": "programme audio only",
        "secret": secret, "is_private": True, "permanent": False,
        "media": [{"type": "audio", "mid": "a", "port": audio_a, "pt": OPUS_PT, "codec": "opus",
                   "iface": iface}],
    }
    if streaming.admin_key:
        body["admin_key"] = streaming.admin_key
    await streaming.channel.request(body)


class _Renditions:
    """What the hook keeps on a runtime: the encoder, its thread, the nodes' mountpoints made."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        # ffmpeg dies with the thread that started it (PR_SET_PDEATHSIG): one thread for its whole life.
        self.thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-renditions")
        self.encoder: RenditionEncoder | None = None
        self.made: dict[str, int] = {}  # node name -> epoch whose mountpoints exist
        loop = asyncio.get_running_loop()
        self.tasks = {loop.create_task(self._stop_with(runtime))}

    async def _stop_with(self, runtime) -> None:
        await runtime._stop.wait()
        # The runtime is closing: let a restart in flight finish, then stop ffmpeg (a fraction of a second).
        self.thread.shutdown(wait=True)
        self._stop_encoder()

    def _stop_encoder(self) -> None:
        if self.encoder is not None:
            self.encoder.stop()
            self.encoder = None

    def _restart(self, destinations: list[tuple[str, int, int, int]]) -> None:
        self._stop_encoder()
        v, a = self.runtime.root.port("input")
        encoder = RenditionEncoder(v, a, destinations)
        try:
            encoder.start()
        except MediaError as exc:
            log.warning("rendition encoder did not start: %s", exc)
            return
        self.encoder = encoder

    async def _make_mountpoints(self, node) -> None:
        try:
            await create_mountpoints(node.streaming, node.spec.base_port, self.runtime.mount_secret,
                                     node_rtp_host(node), lane=node.lane)
            self.made[node.spec.name] = node.epoch
        except Exception as exc:  # a node that fails now is tried at the next re-point
            log.warning("rendition mountpoints on %s: %s", node.spec.name, exc)

    def follow(self) -> tuple[str, int, int]:
        """Re-point: mountpoints on newly provisioned nodes, a new encoder; its input as a target."""
        loop = asyncio.get_running_loop()
        up = [n for n in self.runtime.nodes if n.up]
        for node in up:
            if self.made.get(node.spec.name) != node.epoch:
                task = loop.create_task(self._make_mountpoints(node))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        destinations = [(node_rtp_host(n), *node_ports(n.spec.base_port, n.lane)) for n in up]
        loop.run_in_executor(self.thread, self._restart, destinations)
        # The encoder runs beside the runtime: the root's forwarders send to it on this machine.
        return ("127.0.0.1", *self.runtime.root.port("input"))


def programme_targets(runtime, slot_name: str) -> list[tuple[str, int, int]]:
    """The runtime's hook, called when it re-points ``slot_name``: for the main programme, the rendition
    encoder's input (restarted for the new source or nodes); nothing when renditions are off."""
    if slot_name != "main" or not enabled():
        return []
    manager = getattr(runtime, "_renditions", None)
    if manager is None:
        manager = runtime._renditions = _Renditions(runtime)
    return [manager.follow()]


# --- measuring what is delivered ---------------------------------------------------------------
def measure_rtp(ports: dict[str, int], seconds: float, host: str = "127.0.0.1") -> dict[str, float]:
    """Kilobits per second of RTP (headers included) arriving on each of ``ports`` over ``seconds``."""
    socks = {}
    for name, port in ports.items():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, port))
        s.setblocking(False)
        socks[name] = s
    counts = dict.fromkeys(ports, 0)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for name, s in socks.items():
                while True:
                    try:
                        counts[name] += len(s.recv(65536))
                    except BlockingIOError:
                        break
            time.sleep(0.005)
    finally:
        for s in socks.values():
            s.close()
    return {name: round(n * 8 / 1000 / seconds, 1) for name, n in counts.items()}
