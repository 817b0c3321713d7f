"""A room system's thumbnail on the director's wall, as a kiosk posts its own (``live/thumbs.py``).

A hall's codec has no page to draw its camera, so the gateway makes the picture: the call's relay
sends a copy of the hall's RTP to a socket here (one more target beside Janus's remote publishers);
its H.264 packets go on to an ffmpeg that decodes keyframes only (``-skip_frame nokey``: a few ms of
CPU each) and writes them as 192×108 JPEGs to its stdout; one every ``EVERY`` seconds is kept as
the point's thumbnail. A keyframe is asked of the hall (an RTCP PLI through the relay) every
``EVERY`` seconds, so the picture is never older than a kiosk's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from . import thumbs

log = logging.getLogger("diemcau.live.sip")

EVERY = 10.0          # seconds between two thumbnails (a kiosk posts every ~10 s)
H264_PT = 107         # the relay's H.264 payload type towards Janus (sip_relay.JANUS_H264_PT)
JPEG_END = b"\xff\xd9"


def _sdp(port: int, pt: int) -> str:
    return ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=hall thumbnail\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=video {port} RTP/AVP {pt}\r\na=rtpmap:{pt} H264/90000\r\na=fmtp:{pt} packetization-mode=1\r\n")


class _Tap(asyncio.DatagramProtocol):
    """Receives the relay's copy; passes the H.264 packets on to ffmpeg's port."""

    def __init__(self, ffmpeg_port: int, pt: int) -> None:
        self.target, self.pt = ("127.0.0.1", ffmpeg_port), pt
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        if len(data) > 12 and data[1] & 0x7F == self.pt and self.transport is not None:
            self.transport.sendto(data, self.target)


class HallThumbnail:
    """The thumbnails of one call's hall (point ``point_id``); :meth:`start` returns the address the
    relay copies the hall's RTP to."""

    def __init__(self, point_id: int, ports: tuple[int, int], folder: Path,
                 ask_keyframe: Callable[[], None], keep: Callable[[int, bytes], None] | None = None,
                 pt: int = H264_PT) -> None:
        self.point_id, self.pt = point_id, pt
        self.tap_port, self.ffmpeg_port = ports
        self.folder = Path(folder)
        self.ask_keyframe = ask_keyframe
        self.keep = keep or thumbs.keep
        self.kept = 0
        self._tap = None
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> tuple[str, int, int]:
        loop = asyncio.get_running_loop()
        self.folder.mkdir(parents=True, exist_ok=True)
        sdp = self.folder / f"thumb-{self.point_id}.sdp"
        sdp.write_text(_sdp(self.ffmpeg_port, self.pt))
        self._proc = await asyncio.create_subprocess_exec(
            shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-protocol_whitelist", "file,udp,rtp", "-skip_frame", "nokey", "-i", str(sdp),
            "-vf", "scale=192:108", "-fps_mode", "passthrough", "-c:v", "mjpeg", "-q:v", "6",
            "-f", "image2pipe", "pipe:1",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True)
        self._tap, _ = await loop.create_datagram_endpoint(lambda: _Tap(self.ffmpeg_port, self.pt),
                                                           local_addr=("127.0.0.1", self.tap_port))
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._ask())]
        return ("127.0.0.1", self.tap_port, self.tap_port + 1)

    async def _ask(self) -> None:
        while True:
            self.ask_keyframe()
            await asyncio.sleep(EVERY)

    async def _read(self) -> None:
        """Split ffmpeg's stream of JPEGs; keep one every ``EVERY`` seconds (the first at once)."""
        buffer, last = b"", -EVERY
        loop = asyncio.get_running_loop()
        while chunk := await self._proc.stdout.read(65536):
            buffer += chunk
            while (end := buffer.find(JPEG_END)) >= 0:
                picture, buffer = buffer[:end + 2], buffer[end + 2:]
                if loop.time() - last >= EVERY - 1.0 and picture.startswith(thumbs.JPEG_MAGIC):
                    last = loop.time()
                    await asyncio.to_thread(self.keep, self.point_id, picture)
                    self.kept += 1

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tap is not None:
            self._tap.close()
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    async def close(self) -> None:
        """:meth:`stop`, and wait for ffmpeg to be gone."""
        self.stop()
        if self._proc is not None:
            await self._proc.wait()


async def attach(gateway, call) -> None:
    """Start the thumbnails of a call just answered (``SipGateway.on_invite``); a failure only logs."""
    thumb = HallThumbnail(call.point_id, tuple(gateway.pool.take(2)), gateway.folder, call.relay.ask_hall_for_keyframe)
    try:
        call.relay.publishers["thumb"] = await thumb.start()
    except OSError as exc:
        log.warning("no thumbnails of %s: %s", call.username, exc)
        thumb.stop()
        return
    call.thumbnail = thumb


def detach(call) -> None:
    """Stop them (``SipGateway.end_call``)."""
    thumb = getattr(call, "thumbnail", None)
    if thumb is not None:
        thumb.stop()
