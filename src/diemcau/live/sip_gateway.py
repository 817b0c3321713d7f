"""The SIP gateway beside the root node: Kamailio and rtpengine (Debian's), driven by diemcau.

    hall (SIP UDP/TCP/TLS, SRTP or RTP, G.722/G.711/Opus, H.264)
      │ SIP                          │ RTP
    Kamailio (digest per hall)     rtpengine  interface "hall" (the gateway's address) ↔ "loop" (127.0.0.1):
      │ INVITE + X-Diemcau-Hall      │          SRTP → RTP, latching behind NAT, G.722/G.711 ↔ Opus
    SipGateway's UAS (loopback) ── CallRelay (``sip_relay.py``: SSRC/PT rewritten, RTCP both ways)
                                     │
    Janus root: the hall is a remote publisher (``add_remote_publisher``) in the halls' room (the
    director's wall), and in the programme room as its floor grant's publisher id while it has the
    floor; the programme reaches the call through the runtime's forwarders (``extra_targets``).

Halls marked "dial out" are called by diemcau (``sip_dialling.py``).

The gateway runs in the live runtime's event loop (``run_live --sip``, or a test): it reads the
runtime's root, room secret, programme slots and keyframe helper; it never changes what the runtime
decides. Ports for relays and remote publishers come from its own pool and are never reused while
it runs (Janus 1.1.2 keeps a removed remote publisher's sockets bound); at start it stops forwarders
into the pool's range left by an earlier gateway (``listforwarders``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connections

from diemcau.core.acting import system_scope

from . import layout as live_layout
from . import sip_thumbs
from .janus_client import JanusError, JanusUnreachable
from .janus_plugins import VideoRoom
from .sip_dialling import DIAL_BACKOFF, DIAL_LOOK_EVERY, DialOut
from .sip_ng import NgClient, NgError
from .sip_processes import SipProcesses
from .sip_relay import CallRelay
from .sip_ua import HALL_HEADER, SipServer, answer_sdp, parse_sdp, tag_of

log = logging.getLogger("diemcau.live.sip")

TEMPLATES = Path(__file__).resolve().parents[3] / "deploy" / "sip"
HALL_ROOM_BASE = 1_000_000_000  # the halls' room of conference N is N + this (the director's wall)
DEAD_AFTER = 8.0                # seconds without a packet from the hall: the call is over
TICK = 0.5
REPORT_EVERY = 5.0              # seconds between two A/V reports of a call (as a kiosk's)
CHECK_EVERY = 2.0               # seconds between two looks that the call's programme publisher is still there
INFO_EVERY = 2.0                # at most one SIP INFO picture update per call in this many seconds


def hall_room_id(conference_id: int) -> int:
    return HALL_ROOM_BASE + conference_id


def _udp_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class PortPool:
    """Even-aligned UDP ports on the loopback from ``[first, last)``, each handed out once per run."""

    def __init__(self, first: int, last: int) -> None:
        self.first, self.last = first, last
        self._next = first

    def take(self, count: int) -> list[int]:
        """``count`` free pairs' even ports (the odd one above each is its RTCP), never given before."""
        found: list[int] = []
        tried = 0
        while len(found) < count:
            if self._next + 1 >= self.last:
                self._next = self.first  # wrapped: only a port still free is used again
            port = self._next
            self._next += 2
            tried += 1
            if tried > (self.last - self.first):
                raise RuntimeError("the SIP port pool is exhausted")
            if _udp_free("127.0.0.1", port) and _udp_free("127.0.0.1", port + 1):
                found.append(port)
        return found

    def __contains__(self, port: int) -> bool:
        return self.first <= port < self.last


@dataclass
class Call:
    """One hall's call: its dialog, point, rtpengine tags, relay and remote publishers."""

    call_id: str
    from_tag: str
    to_tag: str
    username: str
    point_id: int
    relay: CallRelay
    started: float
    programme_inlet: tuple[str, int, int]  # (host, video port, audio port) the runtime forwards to
    streams: list[dict] = field(default_factory=list)
    wall_id: int = 0                       # its remote publisher id in the halls' room
    on_air_id: int | None = None           # its grant's publisher id in the programme room, if any
    keyframe_at: float = 0.0
    checked_at: float = 0.0
    reported: tuple = (0.0, 0, 0, 0)       # (loop time, hall bytes, programme bytes, programme frames)
    forwarded: bool = False                # the runtime forwards it on the programme (at the last look)
    dialled: bool = False                  # diemcau called the hall (not the other way round)
    info: bool = False                     # the hall wants keyframe requests as SIP INFO
    info_at: float = -INFO_EVERY
    picture_updates: int = 0               # SIP INFO picture updates received from the hall


class SipGateway(DialOut):
    """Kamailio + rtpengine + the call controller, beside a :class:`LiveRuntime`.

    :param runtime: the live runtime (its root node and programme).
    :param address: the gateway's address halls reach (Kamailio and rtpengine's hall side).
    :param folder: where the rendered configurations, certificate and logs go.
    :param pool: the port range of relays and remote publishers (loopback).
    """

    def __init__(self, runtime, *, address: str, folder: Path, sip_port: int = 5060, tls_port: int = 5061,
                 uas_port: int = 5090, loop_port: int = 5091, ng_port: int = 2223,
                 media_ports: tuple[int, int] = (36000, 36999), pool: tuple[int, int] = (37000, 37999)) -> None:
        self.runtime = runtime
        self.address = address
        self.folder = Path(folder)
        self.sip_port, self.tls_port, self.uas_port, self.loop_port = sip_port, tls_port, uas_port, loop_port
        self.ng_port, self.media_ports = ng_port, media_ports
        self.pool = PortPool(*pool)
        self.realm = settings.LIVE_SIP_REALM
        self.calls: dict[str, Call] = {}
        self.refused: list[tuple[str, int]] = []  # (username or "", SIP code) of refused INVITEs
        self.processes: dict[str, subprocess.Popen] = {}
        self.supervisor = SipProcesses(self.folder)
        self.ng = NgClient("127.0.0.1", ng_port)
        self.uas: SipServer | None = None
        self.room_secret = secrets.token_urlsafe(16)
        self._room_epoch: int | None = None  # the root's epoch the halls' room was made in
        self._pushed: dict[str, str] = {}
        self._stop = asyncio.Event()
        self._db = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sip-db")
        self.ready = False
        self.dead_after = DEAD_AFTER
        self.dial_backoff = DIAL_BACKOFF
        self._dialling: dict[int, asyncio.Task] = {}       # point id -> its dial in flight
        self._redial_at: dict[int, tuple[float, float]] = {}  # point id -> (not before, next delay)
        self._dial_look_at = -DIAL_LOOK_EVERY
        self._to_dial: dict[int, dict] = {}                # point id -> what halls_to_dial said

    # --- processes --------------------------------------------------------------------------------
    def _render(self, name: str, values: dict) -> Path:
        text = (TEMPLATES / f"{name}.tmpl").read_text()
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", str(value))
        path = self.folder / name
        path.write_text(text)
        path.chmod(0o600)
        return path

    def _certificate(self) -> tuple[Path, Path]:
        key, cert = self.folder / "tls.key", self.folder / "tls.crt"
        if not cert.exists():
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                            "-subj", f"/CN={self.address}", "-keyout", str(key), "-out", str(cert)],
                           check=True, capture_output=True)
            key.chmod(0o600)
        return key, cert

    def start_processes(self) -> None:
        """Render the configurations and start Kamailio and rtpengine (foreground, logs in the folder)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        self.supervisor.reclaim()  # what a crashed run left (live/sip_processes.py), its control socket too
        (self.folder / "kamailio.ctl").unlink(missing_ok=True)
        key, cert = self._certificate()
        tls = self._render("tls.cfg", {"KEY": key, "CERT": cert})
        self.ctl = self.folder / "kamailio.ctl"
        cfg = self._render("kamailio.cfg", {
            "DEBUG": 2, "ADDRESS": self.address, "SIP_PORT": self.sip_port, "TLS_PORT": self.tls_port,
            "LOOP_PORT": self.loop_port, "UAS_PORT": self.uas_port, "CTL_SOCKET": self.ctl, "TLS_CFG": tls,
            "REALM": self.realm, "NONCE_SECRET": secrets.token_hex(16)})
        run_dir = self.folder / "run"
        run_dir.mkdir(exist_ok=True)
        self._spawn("kamailio", ["kamailio", "-f", str(cfg), "-DD", "-E", "-Y", str(run_dir),
                                 "-P", str(run_dir / "kamailio.pid")])
        self._spawn("rtpengine", [
            "rtpengine", "--config-file=none", "--foreground", "--log-stderr", "--table=-1",
            f"--interface=hall/{self.address}", "--interface=loop/127.0.0.1",
            f"--listen-ng=127.0.0.1:{self.ng_port}", f"--port-min={self.media_ports[0]}",
            f"--port-max={self.media_ports[1]}", "--timeout=30", "--log-level=5",
            f"--pidfile={run_dir / 'rtpengine.pid'}"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not self.ctl.exists():
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {(self.folder / f'{name}.log').read_text()[-2000:]}")
            time.sleep(0.1)

    def _spawn(self, name: str, argv: list[str]) -> None:
        if shutil.which(argv[0]) is None:
            raise RuntimeError(f"{argv[0]} is not installed (Debian: kamailio, rtpengine-daemon)")
        self.processes[name] = self.supervisor.start(name, argv, self.folder / f"{name}.log")

    def stop_processes(self) -> None:
        self.supervisor.stop()
        self.processes.clear()

    def _kamcmd(self, *args: str) -> None:
        subprocess.run(["kamcmd", "-s", f"unix:{self.ctl}", *args], check=True, capture_output=True, timeout=5)

    # --- life ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Start Kamailio, rtpengine and the UAS, then follow calls until :meth:`stop` (or the runtime's)."""
        await asyncio.to_thread(self.start_processes)
        loop = asyncio.get_running_loop()
        _, self.uas = await loop.create_datagram_endpoint(
            lambda: SipServer(self, ("127.0.0.1", self.uas_port), ("127.0.0.1", self.loop_port)),
            local_addr=("127.0.0.1", self.uas_port))
        try:
            await self.ng.command("ping")
            while not self._stop.is_set() and not self.runtime._stop.is_set():
                try:
                    await self.step()
                except (JanusError, JanusUnreachable, NgError, OSError, TimeoutError,
                        subprocess.SubprocessError) as exc:
                    log.warning("SIP gateway step failed: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), TICK)
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        for task in list(self._dialling.values()):
            task.cancel()
        for call in list(self.calls.values()):
            await self.end_call(call, "gateway stopped", bye=True)
        if self.uas is not None and self.uas.transport is not None:
            self.uas.transport.close()
        self.ng.close()
        await asyncio.to_thread(self.stop_processes)
        await asyncio.get_running_loop().run_in_executor(self._db, connections.close_all)
        self._db.shutdown(wait=True)

    async def _orm(self, fn, *args, **kwargs):
        def call():
            close_old_connections()
            with system_scope("SIP gateway: room systems' calls"):
                return fn(*args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._db, call)

    async def step(self) -> None:
        """Credentials to Kamailio, the halls' room on the root, each call's grant and liveness."""
        from . import sip

        wanted = await self._orm(sip.credentials)
        if wanted != self._pushed or not self.ready:
            await asyncio.to_thread(self._push_credentials, wanted)
        root = self.runtime.root
        if not (root.up and root.provisioned):
            return
        if self._room_epoch != root.epoch:
            await self._make_hall_room()
        now = asyncio.get_running_loop().time()
        await self._dial_halls(now)
        for call in list(self.calls.values()):
            quiet = now - max(call.relay.stats.last_hall_packet, call.started)
            allowed = await self._orm(sip.hall_for_call, call.username)
            if allowed is None or allowed.point_id != call.point_id:
                await self.end_call(call, "room system disabled", bye=True)
            elif quiet > self.dead_after:
                await self.end_call(call, f"no media for {quiet:.0f} s", bye=True)
            else:
                await self._follow_grant(call, await self._orm(sip.floor_grant, call.point_id))
                self._keyframe_when_on_air(call)
                await self._report(call, now)

    def _push_credentials(self, wanted: dict[str, str]) -> None:
        for user in set(self._pushed) - set(wanted):
            with contextlib.suppress(subprocess.CalledProcessError):
                self._kamcmd("htable.delete", "halls", user)
        for user, ha1 in wanted.items():
            if self._pushed.get(user) != ha1:
                self._kamcmd("htable.sets", "halls", user, ha1)
        self._pushed = dict(wanted)
        self.ready = True

    async def _make_hall_room(self) -> None:
        """The halls' room on the root (made again after the root was provisioned anew), and every call's
        wall publisher in it; forwarders into the pool left by an earlier gateway are stopped."""
        room = self._room()
        hall_room = hall_room_id(self.runtime.conference_id)
        with contextlib.suppress(JanusError):
            await room.destroy(hall_room, secret=self.room_secret)
        await room.create(hall_room, secret=self.room_secret, description="diemcau halls", publishers=64,
                          videocodec="h264", audiocodec="opus", h264_profile="42e01f", fir_freq=2)
        await self._reconcile_forwarders()
        self._room_epoch = self.runtime.root.epoch
        for call in self.calls.values():
            call.relay.publishers.pop("wall", None)
            call.relay.publishers.pop("programme", None)
            call.on_air_id = None
            await self._add_publisher(call, "wall", hall_room, self.room_secret, call.wall_id)

    async def _reconcile_forwarders(self) -> None:
        programme_room = live_layout.room_id(self.runtime.conference_id)
        room = self._room()
        try:
            listed = await room.list_forwarders(programme_room, secret=self.runtime.room_secret)
        except (JanusError, JanusUnreachable) as exc:
            log.warning("cannot list forwarders: %s", exc)
            return
        inlets = {port for call in self.calls.values() for port in call.programme_inlet[1:]}
        for pub in listed:
            for fwd in pub.get("forwarders", []):
                port = int(fwd.get("port") or 0)
                if port in self.pool and port not in inlets:
                    with contextlib.suppress(JanusError, JanusUnreachable):
                        await room.stop_rtp_forward(programme_room, int(pub["publisher_id"]), int(fwd["stream_id"]),
                                                    secret=self.runtime.room_secret)
                    log.info("stopped a stale forwarder to port %s", port)

    def _room(self) -> VideoRoom:
        if getattr(self, "_videoroom", None) is None or self._videoroom.channel.client is not self.runtime.root.client:
            self._videoroom = VideoRoom(self.runtime.root.client, self.runtime.root.janus.admin_key)
        return self._videoroom

    async def _add_publisher(self, call: Call, name: str, room_id: int, secret: str, pub_id: int) -> None:
        """A remote publisher for the call in ``room_id`` on fresh ports; the relay feeds it."""
        port, rtcp = self.pool.take(2)
        data, _ = await self._room().channel.request({
            "request": "add_remote_publisher", "room": room_id, "secret": secret, "id": pub_id,
            "display": f"sip:{call.username}", "iface": "127.0.0.1", "port": port, "rtcp_port": rtcp,
            "streams": call.streams})
        call.relay.publishers[name] = ("127.0.0.1", int(data.get("port") or port), int(data.get("rtcp_port") or rtcp))

    async def _remove_publisher(self, call: Call, name: str, room_id: int, secret: str, pub_id: int) -> None:
        call.relay.publishers.pop(name, None)
        with contextlib.suppress(JanusError, JanusUnreachable):
            await self._room().channel.request({"request": "remove_remote_publisher", "room": room_id,
                                                "secret": secret, "id": pub_id})

    async def _kicked(self, call: Call) -> bool:
        """Whether the call's publisher left the programme room (kicked, or the room made anew); looked at
        every ``CHECK_EVERY`` seconds."""
        now = asyncio.get_running_loop().time()
        if now - call.checked_at < CHECK_EVERY:
            return False
        call.checked_at = now
        try:
            present = await self._room().list_participants(live_layout.room_id(self.runtime.conference_id))
        except (JanusError, JanusUnreachable):
            return False
        return not any(int(p["id"]) == call.on_air_id for p in present)

    async def _follow_grant(self, call: Call, grant: int | None) -> None:
        """Put the call in the programme room as its grant's publisher id, or take it out."""
        from . import sip

        if grant == call.on_air_id:
            if grant is not None and await self._kicked(call):
                call.relay.publishers.pop("programme", None)
                call.on_air_id = None  # added again below, on fresh ports
            else:
                return
        programme_room = live_layout.room_id(self.runtime.conference_id)
        if call.on_air_id is not None:
            await self._remove_publisher(call, "programme", programme_room, self.runtime.room_secret, call.on_air_id)
            await self._orm(sip.log_call, call.point_id, "off_air", call_id=call.call_id)
            call.on_air_id = None
        if grant is not None:
            if grant not in (self.runtime._granted or set()):
                return  # the runtime's guard does not know the grant yet: it would kick the publisher
            try:
                await self._add_publisher(call, "programme", programme_room, self.runtime.room_secret, grant)
            except (JanusError, JanusUnreachable) as exc:
                log.warning("cannot put %s on the floor: %s", call.username, exc)
                return
            call.on_air_id = grant
            call.relay.ask_hall_for_keyframe()
            await self._orm(sip.log_call, call.point_id, "on_air", call_id=call.call_id, publisher_id=grant)

    async def _report(self, call: Call, now: float) -> None:
        """Every ``REPORT_EVERY`` s, the call's figures to the site board, as a kiosk reports its own."""
        from . import sip

        at, hall_bytes, prog_bytes, frames = call.reported
        if now - at < REPORT_EVERY:
            return
        st = call.relay.stats
        call.reported = (now, st.hall_bytes, st.programme_bytes, st.programme_frames)
        if at == 0.0:
            return
        span = now - at
        figures = {"bitrate_in_kbps": round((st.programme_bytes - prog_bytes) * 8 / span / 1000, 1),
                   "bitrate_out_kbps": round((st.hall_bytes - hall_bytes) * 8 / span / 1000, 1),
                   "fps": min(240.0, round((st.programme_frames - frames) / span, 1)),
                   "frames_decoded": st.programme_frames,
                   "phase": "publishing" if call.forwarded else "receiving"}
        got = call.relay.reception
        if got.reports:  # the codec's own RTCP about the programme it receives
            figures.update(loss_pct=round(got.loss_fraction * 100, 1), jitter_ms=round(got.jitter_ms, 1))
            if got.rtt_ms is not None:
                figures["rtt_ms"] = got.rtt_ms
        await self._orm(sip.hall_report, call.point_id, figures)

    def _keyframe_when_on_air(self, call: Call) -> None:
        """The runtime just put the call's grant on the programme: ask the hall for a keyframe (the
        runtime's own request goes to a WebRTC publisher's handle, which a remote publisher has not)."""
        source = self.runtime.slots["main"].source
        forwarded = call.on_air_id is not None and source == ("pub", call.on_air_id) \
            and bool(self.runtime.slots["main"].forwarders)
        if forwarded and not call.forwarded:
            call.relay.ask_hall_for_keyframe()
        call.forwarded = forwarded

    # --- calls --------------------------------------------------------------------------------------
    async def on_invite(self, msg, to_tag: str) -> tuple[int, str, str]:
        """A hall's INVITE (authenticated by Kamailio): 200 with rtpengine's SDP, or why not."""
        from . import sip

        username = msg.get(HALL_HEADER) or ""
        system = await self._orm(sip.hall_for_call, username) if username else None
        if system is None:
            self.refused.append((username, 403))
            return 403, "Forbidden", ""
        root = self.runtime.root
        if not (root.up and root.provisioned and self._room_epoch == root.epoch):
            return 503, "Service Unavailable", ""
        for old in [c for c in self.calls.values() if c.point_id == system.point_id]:
            await self.end_call(old, "replaced by a new call", bye=True)
        call_id, from_tag = msg.get("Call-ID") or "", tag_of(msg.get("From") or "")
        try:
            offer = await self.ng.command("offer", call_id=call_id, from_tag=from_tag, sdp=msg.body,
                                          direction=["hall", "loop"], replace=["origin", "session-connection"],
                                          ICE="remove", transport_protocol="RTP/AVP", rtcp_mux=["demux"],
                                          codec={"transcode": ["opus/48000/2"]})
        except NgError as exc:
            log.warning("rtpengine refused the offer of %s: %s", username, exc)
            return 488, "Not Acceptable Here", ""
        _, media = parse_sdp(offer["sdp"])
        a_port, v_port, pa, pv = self.pool.take(4)
        chosen, streams, engine = {}, [], {}
        for index, m in enumerate(media):
            if m.kind == "audio" and "audio" not in engine and (pt := m.pt_for("opus")) is not None:
                chosen[index] = (a_port, pt, m.rtpmap[pt], m.fmtp.get(pt, ""))
                engine["audio"] = ((m.address, m.port), pt)
                streams.append({"type": "audio", "mindex": 0, "mid": "0", "codec": "opus"})
            elif m.kind == "video" and "video" not in engine:
                pt = m.pt_for("H264", "packetization-mode=1")
                if pt is None:
                    continue  # a mode-0 H.264 (or no H.264) is refused: answering mode 1 on it stops the video
                chosen[index] = (v_port, pt, m.rtpmap[pt], m.fmtp[pt])
                engine["video"] = ((m.address, m.port), pt)
                # (Janus 1.1.2 takes the room's h264_profile: its parser wants a boolean for the stream's)
                streams.append({"type": "video", "mindex": 1, "mid": "1", "codec": "h264"})
        if not chosen:
            with contextlib.suppress(NgError):
                await self.ng.command("delete", call_id=call_id, from_tag=from_tag)
            return 488, "Not Acceptable Here", ""
        ours = answer_sdp("127.0.0.1", media, chosen, session_id=int(time.time()))
        try:
            answer = await self.ng.command("answer", call_id=call_id, from_tag=from_tag, to_tag=to_tag, sdp=ours,
                                           replace=["origin", "session-connection"], ICE="remove")
        except NgError as exc:
            log.warning("rtpengine refused diemcau's answer for %s: %s", username, exc)
            return 488, "Not Acceptable Here", ""
        await self._open_call(call_id, from_tag, to_tag, system, (a_port, v_port, pa, pv), engine, streams)
        return 200, "OK", answer["sdp"]

    async def _open_call(self, call_id: str, from_tag: str, to_tag: str, system, ports: tuple[int, int, int, int],
                         engine: dict, streams: list[dict], *, dialled: bool = False) -> Call:
        """The call's relay, its wall publisher, the programme forwarded to it; the board and the audit told."""
        from . import sip

        _a, _v, pa, pv = ports
        relay = CallRelay("127.0.0.1", ports,
                          engine["audio"][0] if "audio" in engine else None,
                          engine["video"][0] if "video" in engine else None,
                          engine.get("audio", (None, 111))[1], engine.get("video", (None, 96))[1])
        call = Call(call_id, from_tag, to_tag, system.sip_username, system.point_id, relay,
                    asyncio.get_running_loop().time(), ("127.0.0.1", pv, pa), streams=streams,
                    wall_id=live_layout.new_publisher_id(), dialled=dialled, info=system.picture_update_info)
        relay.on_keyframe = lambda: self._programme_keyframe(call)
        if call.info:
            relay.ask_hall = lambda: self._info_to_hall(call)
        await relay.start()
        self.calls[call_id] = call
        await self._add_publisher(call, "wall", hall_room_id(self.runtime.conference_id), self.room_secret,
                                  call.wall_id)
        await sip_thumbs.attach(self, call)  # its picture on the director's wall
        self._set_inlets()
        await self._orm(sip.hall_connected, system.point_id)
        await self._orm(sip.log_call, system.point_id, "started", call_id=call_id, username=system.sip_username,
                        audio="audio" in engine, video="video" in engine, dialled=dialled)
        return call

    def _info_to_hall(self, call: Call) -> None:
        """A keyframe of the hall asked as a SIP INFO picture_fast_update (one per ``INFO_EVERY`` s)."""
        now = asyncio.get_running_loop().time()
        if self.uas is not None and now - call.info_at >= INFO_EVERY:
            call.info_at = now
            self.uas.picture_update(call.call_id)

    async def on_bye(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            await self.end_call(call, "the hall hung up", bye=False)

    async def on_picture_update(self, call_id: str) -> None:
        """A SIP INFO picture_fast_update (Polycom, Cisco) asks a keyframe of the programme."""
        call = self.calls.get(call_id)
        if call is not None:
            call.picture_updates += 1
            self._programme_keyframe(call)

    async def end_call(self, call: Call, why: str, *, bye: bool) -> None:
        from . import sip

        if self.calls.pop(call.call_id, None) is None:
            return
        if call.dialled and why != "the session ended":
            self._dropped(call)
        if bye and self.uas is not None:
            self.uas.bye(call.call_id)
        elif self.uas is not None:
            self.uas.dialogs.pop(call.call_id, None)
        call.relay.stop()
        sip_thumbs.detach(call)
        self._set_inlets()
        with contextlib.suppress(JanusError, JanusUnreachable, TimeoutError, OSError):
            await self._remove_publisher(call, "wall", hall_room_id(self.runtime.conference_id), self.room_secret,
                                         call.wall_id)
            if call.on_air_id is not None:
                await self._remove_publisher(call, "programme", live_layout.room_id(self.runtime.conference_id),
                                             self.runtime.room_secret, call.on_air_id)
        with contextlib.suppress(NgError):
            await self.ng.command("delete", call_id=call.call_id, from_tag=call.from_tag)
        await self._orm(sip.hall_disconnected, call.point_id)
        await self._orm(sip.log_call, call.point_id, "ended", call_id=call.call_id, why=why,
                        hall_packets=call.relay.stats.hall_audio + call.relay.stats.hall_video,
                        programme_packets=call.relay.stats.programme_audio + call.relay.stats.programme_video)

    def _set_inlets(self) -> None:
        """The runtime forwards the main programme to every call's inlet too (forwarders made again)."""
        inlets = [c.programme_inlet for c in self.calls.values()]
        extra = self.runtime.extra_targets["main"]
        extra[:] = [t for t in extra if t[1] not in self.pool] + inlets
        self.runtime.slots["main"].targets = ()  # differs from the nodes up: the runtime re-points the slot

    def _programme_keyframe(self, call: Call) -> None:
        """The hall asked for a keyframe of the programme: ask the source on air (once a second at most)."""
        now = asyncio.get_running_loop().time()
        source = self.runtime.slots["main"].source
        if now - call.keyframe_at < 1.0 or not source or source[0] != "pub" or self.runtime.keyframes is None:
            return
        call.keyframe_at = now
        task = asyncio.create_task(self.runtime.keyframes.ask(live_layout.room_id(self.runtime.conference_id),
                                                              source[1]))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)



