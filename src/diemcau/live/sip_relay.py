"""One call's RTP relay between rtpengine (diemcau's side of the call) and Janus.

Why it exists (issue 18's findings): Janus takes all of a remote publisher's streams on ONE UDP port
and tells them apart by SSRC (``1000 + 10 × mindex``: audio 1000, video 1010), while a SIP endpoint
sends random SSRCs on two ports. So, per call, on the loopback:

    rtpengine ──audio──▶ A   ─ SSRC 1000, PT 111 ─▶ Janus remote publisher(s) (one port each)
    rtpengine ──video──▶ V   ─ SSRC 1010, PT 107 ─▶ Janus remote publisher(s)
    Janus forwarder ─▶ PA ─ PT of the call's Opus  ─▶ (from A) rtpengine ─ G.722/Opus ─▶ hall
    Janus forwarder ─▶ PV ─ PT of the call's H.264 ─▶ (from V) rtpengine ───────────────▶ hall
    V+1 (RTCP): a PLI/FIR from the hall (about the programme) calls ``on_keyframe``; a PLI from Janus
    (it wants the hall's keyframe: a new subscriber, the floor) goes to rtpengine with the hall's
    video SSRC (or, for a hall that wants it, ``ask_hall`` sends a SIP INFO picture update). An RTCP
    receiver report is sent from V+1 to each remote publisher's ``rtcp_port`` every 2 s so Janus latches
    on it (Janus sends its PLIs to the address that last wrote to that port).
    The codec's own RTCP: every 2 s a sender report about the programme's video goes from V+1 to the
    hall; the hall's receiver reports about it (loss fraction, jitter, and the round trip from the
    report's LSR/DLSR) become :class:`Reception`, the call's figures on the site board.

Sending and receiving on the same sockets keeps rtpengine's latching symmetric.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

AUDIO_SSRC, VIDEO_SSRC = 1000, 1010  # Janus: REMOTE_PUBLISHER_BASE_SSRC + mindex × REMOTE_PUBLISHER_SSRC_STEP
JANUS_OPUS_PT, JANUS_H264_PT = 111, 107
RTCP_PSFB = 206  # payload-specific feedback: PLI (fmt 1), FIR (fmt 4)
LATCH_EVERY = 2.0


def rewrite(packet: bytes, pt: int | None = None, ssrc: int | None = None) -> bytes:
    """An RTP packet with its payload type (marker kept) and/or SSRC replaced."""
    if len(packet) < 12:
        return packet
    head = bytearray(packet[:12])
    if pt is not None:
        head[1] = (head[1] & 0x80) | (pt & 0x7F)
    if ssrc is not None:
        head[8:12] = struct.pack("!I", ssrc)
    return bytes(head) + packet[12:]


def is_rtcp(packet: bytes) -> bool:
    return len(packet) >= 8 and 192 <= packet[1] <= 223


def keyframe_requests(packet: bytes) -> list[int]:
    """Media SSRCs of the PLIs and FIRs in a compound RTCP packet."""
    found, i = [], 0
    while i + 12 <= len(packet):
        fmt, pt = packet[i] & 0x1F, packet[i + 1]
        length = (struct.unpack("!H", packet[i + 2:i + 4])[0] + 1) * 4
        if pt == RTCP_PSFB and fmt in (1, 4):
            found.append(struct.unpack("!I", packet[i + 8:i + 12])[0])
        i += length
    return found


def pli(sender: int, media: int) -> bytes:
    return struct.pack("!BBHII", 0x81, RTCP_PSFB, 2, sender, media)


def receiver_report(sender: int) -> bytes:
    return struct.pack("!BBHI", 0x80, 201, 1, sender)


NTP_EPOCH = 2_208_988_800  # seconds from 1900 to 1970


def ntp_now() -> tuple[int, int]:
    now = time.time() + NTP_EPOCH
    return int(now) & 0xFFFFFFFF, int((now % 1) * 2**32) & 0xFFFFFFFF


def sender_report(ssrc: int, rtp_ts: int, packets: int, octets: int) -> bytes:
    """An RTCP SR without report blocks (``ssrc`` the stream's, the NTP time now)."""
    sec, frac = ntp_now()
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, sec, frac, rtp_ts & 0xFFFFFFFF,
                       packets & 0xFFFFFFFF, octets & 0xFFFFFFFF)


@dataclass
class Reception:
    """What the hall's receiver reports say about the programme it receives (its codec's RTCP)."""

    loss_fraction: float = 0.0     # of packets lost since its last report (0–1)
    lost: int = 0                  # cumulative
    jitter_ms: float = 0.0
    rtt_ms: float | None = None
    reports: int = 0


def report_blocks(packet: bytes) -> list[tuple[int, float, int, int, int, int]]:
    """(media SSRC, loss fraction, cumulative lost, jitter, LSR, DLSR) of each report block of the SRs
    and RRs in a compound RTCP packet."""
    found, i = [], 0
    while i + 8 <= len(packet):
        count, pt = packet[i] & 0x1F, packet[i + 1]
        length = (struct.unpack("!H", packet[i + 2:i + 4])[0] + 1) * 4
        first = i + (28 if pt == 200 else 8) if pt in (200, 201) else None
        for n in range(count if first is not None else 0):
            b = first + 24 * n
            if b + 24 > i + length or b + 24 > len(packet):
                break
            ssrc, lost_word, _seq, jitter, lsr, dlsr = struct.unpack("!IIIIII", packet[b:b + 24])
            lost = lost_word & 0xFFFFFF
            found.append((ssrc, (lost_word >> 24) / 256, lost - (1 << 24) if lost & 0x800000 else lost,
                          jitter, lsr, dlsr))
        i += length
    return found


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Callable[[bytes, tuple], None]) -> None:
        self.on_packet = on_packet
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.on_packet(data, addr)

    def send(self, data: bytes, addr) -> None:
        if self.transport is not None and addr is not None:
            self.transport.sendto(data, addr)


@dataclass
class RelayStats:
    """Packets through the relay, per direction (the board's figures and the tests read these)."""

    hall_audio: int = 0
    hall_video: int = 0
    programme_audio: int = 0
    programme_video: int = 0
    hall_bytes: int = 0
    programme_bytes: int = 0
    programme_frames: int = 0  # video frames sent to the hall (RTP marker bits)
    keyframes_asked_by_hall: int = 0
    keyframes_asked_of_hall: int = 0
    last_hall_packet: float = 0.0
    programme_video_ssrc: int = 0
    programme_video_ts: int = 0
    programme_video_octets: int = 0


@dataclass
class CallRelay:
    """The relay of one call: ``ports`` = (A, V, PA, PV) on ``host`` (A and V even, their RTCP on +1).

    :param engine_audio: rtpengine's address for diemcau's side of the call's audio (RTP), or None.
    :param engine_video: the same for video.
    :param audio_pt: the call's Opus payload type on diemcau's side; ``video_pt`` its H.264 one.
    :param on_keyframe: called when the hall asks for a keyframe of the programme.
    :param ask_hall: if set, how a keyframe is asked of the hall instead of an RTCP PLI (a SIP INFO).
    """

    host: str
    ports: tuple[int, int, int, int]
    engine_audio: tuple[str, int] | None
    engine_video: tuple[str, int] | None
    audio_pt: int
    video_pt: int
    on_keyframe: Callable[[], None] = lambda: None
    ask_hall: Callable[[], None] | None = None
    publishers: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # name -> (ip, port, rtcp port)
    stats: RelayStats = field(default_factory=RelayStats)
    reception: Reception = field(default_factory=Reception)

    def __post_init__(self) -> None:
        self._sockets: dict[str, _Socket] = {}
        self._hall_video_ssrc = 0
        self._latch: asyncio.Task | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        a, v, pa, pv = self.ports
        handlers = {"a": (a, self._from_engine_audio), "a_rtcp": (a + 1, lambda d, s: None),
                    "v": (v, self._from_engine_video), "v_rtcp": (v + 1, self._rtcp),
                    "pa": (pa, self._programme_audio), "pv": (pv, self._programme_video)}
        try:
            for name, (port, handler) in handlers.items():
                _, proto = await loop.create_datagram_endpoint(lambda h=handler: _Socket(h),
                                                               local_addr=(self.host, port))
                self._sockets[name] = proto
        except OSError:
            self.stop()
            raise
        self._latch = asyncio.create_task(self._latch_loop())

    def stop(self) -> None:
        if self._latch is not None:
            self._latch.cancel()
        for sock in self._sockets.values():
            if sock.transport is not None:
                sock.transport.close()
        self._sockets.clear()

    # hall -> Janus
    def _from_engine_audio(self, data: bytes, addr) -> None:
        if is_rtcp(data):
            return
        self.stats.hall_audio += 1
        self.stats.hall_bytes += len(data)
        self.stats.last_hall_packet = asyncio.get_running_loop().time()
        out = rewrite(data, JANUS_OPUS_PT, AUDIO_SSRC)
        for ip, port, _rtcp in list(self.publishers.values()):
            self._sockets["a"].send(out, (ip, port))

    def _from_engine_video(self, data: bytes, addr) -> None:
        if is_rtcp(data) or len(data) < 12:
            return
        self.stats.hall_video += 1
        self.stats.hall_bytes += len(data)
        self.stats.last_hall_packet = asyncio.get_running_loop().time()
        self._hall_video_ssrc = struct.unpack("!I", data[8:12])[0]
        out = rewrite(data, JANUS_H264_PT, VIDEO_SSRC)
        for ip, port, _rtcp in list(self.publishers.values()):
            self._sockets["v"].send(out, (ip, port))

    def _rtcp(self, data: bytes, addr) -> None:
        from_janus = any(addr == (ip, rtcp) for ip, _p, rtcp in self.publishers.values())
        if not from_janus:
            self._receiver_reports(data)
        asks = keyframe_requests(data)
        if not asks:
            return
        if from_janus:
            self.ask_hall_for_keyframe()
        else:
            self.stats.keyframes_asked_by_hall += 1
            self.on_keyframe()

    def _receiver_reports(self, data: bytes) -> None:
        """The hall's reports about the programme's video (the SSRC it receives from us)."""
        for ssrc, fraction, lost, jitter, lsr, dlsr in report_blocks(data):
            if ssrc != self.stats.programme_video_ssrc:
                continue
            got = self.reception
            got.loss_fraction, got.lost, got.jitter_ms = fraction, max(0, lost), jitter / 90.0  # 90 kHz clock
            if lsr:
                sec, frac = ntp_now()
                middle = ((sec & 0xFFFF) << 16) | (frac >> 16)
                spent = (middle - lsr - dlsr) & 0xFFFFFFFF
                # below the reports' resolution (same host), a "negative" wrap reads 0; over a minute: not ours
                spent = 0 if spent >= 0x80000000 else spent
                got.rtt_ms = round(spent / 65536 * 1000, 1) if spent < 60 * 65536 else None
            got.reports += 1

    def ask_hall_for_keyframe(self) -> None:
        """A keyframe of the hall (Janus wants one, or its point was just given the floor): a PLI, or the
        hall's own way (``ask_hall``)."""
        if self.ask_hall is not None:
            self.stats.keyframes_asked_of_hall += 1
            self.ask_hall()
        elif self._hall_video_ssrc and self.engine_video and "v_rtcp" in self._sockets:
            self.stats.keyframes_asked_of_hall += 1
            self._sockets["v_rtcp"].send(pli(VIDEO_SSRC, self._hall_video_ssrc),
                                         (self.engine_video[0], self.engine_video[1] + 1))

    async def _latch_loop(self) -> None:
        while True:
            for ip, _port, rtcp in list(self.publishers.values()):
                with contextlib.suppress(OSError):
                    self._sockets["v_rtcp"].send(receiver_report(VIDEO_SSRC + 1), (ip, rtcp))
            st = self.stats
            if self.engine_video and st.programme_video_ssrc:
                with contextlib.suppress(OSError):
                    self._sockets["v_rtcp"].send(
                        sender_report(st.programme_video_ssrc, st.programme_video_ts, st.programme_video,
                                      st.programme_video_octets), (self.engine_video[0], self.engine_video[1] + 1))
            await asyncio.sleep(LATCH_EVERY)

    # Janus (programme) -> hall
    def _programme_audio(self, data: bytes, addr) -> None:
        if self.engine_audio and not is_rtcp(data):
            self.stats.programme_audio += 1
            self.stats.programme_bytes += len(data)
            self._sockets["a"].send(rewrite(data, self.audio_pt), self.engine_audio)

    def _programme_video(self, data: bytes, addr) -> None:
        if self.engine_video and not is_rtcp(data) and len(data) >= 12:
            self.stats.programme_video += 1
            self.stats.programme_bytes += len(data)
            self.stats.programme_frames += bool(data[1] & 0x80)
            self.stats.programme_video_ts, self.stats.programme_video_ssrc = struct.unpack("!II", data[4:12])
            self.stats.programme_video_octets += len(data) - 12
            self._sockets["v"].send(rewrite(data, self.video_pt), self.engine_video)
