"""Issue 18: a hall's own room system (baresip in a namespace of its own, G.722 only) joins over SIP.

Real parts: Kamailio and rtpengine from Debian (the gateway starts its own), Janus root, the live
runtime (synthetic host on air: a test pattern and its tone), baresip in ``sip-hall``
(``deploy/sip/hall.py``). Root only (network namespaces); serial (it owns ports 5060/5061 on
10.233.0.1 and the namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from diemcau.live import floor, layout, sip
from diemcau.live.janus_node import JanusNode
from diemcau.live.runtime import LiveRuntime, NodeSpec
from diemcau.live.sip_gateway import SipGateway, hall_room_id
from diemcau.live.sip_ua import PICTURE_FAST_UPDATE
from diemcau.orgs.scoping import SYSTEM

from .conftest import live_base_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "sip"))
import hall as hall_ns

PASSWORD = "mat-khau-phong-hop-1"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("kamailio") or not shutil.which("baresip")
                                or not shutil.which("rtpengine"),
                                reason="needs root and Debian's kamailio, rtpengine-daemon, baresip")


def _wait(check, timeout, what, state=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} {state()}")


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
    from diemcau.live.janus_client import JanusClient
    from diemcau.live.janus_plugins import VideoRoom
    from diemcau.live.nodes import run_janus

    async def go():
        async with JanusClient(ctx["root"].http_url, api_secret=ctx["root"].api_secret) as client:
            vr = VideoRoom(client, ctx["root"].admin_key)
            try:
                return await vr.list_participants(room)
            finally:
                await vr.close()
    return run_janus(go)


def _tone_share(path: Path, hz: float, seconds: tuple[float, float] = (1.0, 9.0)) -> float:
    """The share of a recording's energy within ±30 Hz of ``hz`` over ``seconds`` (a tone that is there:
    well above 0). A codec killed mid-call leaves its WAV's sizes at 0: the samples run to the end."""
    data = path.read_bytes()
    with wave.open(str(path)) if data[40:44] != b"\0\0\0\0" else contextlib.nullcontext() as w:
        rate, channels = (w.getframerate(), w.getnchannels()) if w else (
            int.from_bytes(data[24:28], "little"), int.from_bytes(data[22:24], "little"))
    samples = np.frombuffer(data[44:len(data) - (len(data) - 44) % 2], dtype="<i2").astype(float)
    if channels > 1:
        samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
    samples = samples[int(seconds[0] * rate):int(seconds[1] * rate)]
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[(freqs > hz - 30) & (freqs < hz + 30)].sum() / max(spectrum.sum(), 1e-9))


# A headless Chromium subscribes as a viewer would: to the hall's publisher in the halls' room (the
# director's wall) or to the programme mountpoint (a kiosk); it answers once frames are decoded.
WATCH_JS = (Path(__file__).resolve().parents[2] / "deploy" / "cluster" / "watch_page.js").read_text()


@contextlib.contextmanager
def _viewer(root, monkeypatch):
    """A headless Chromium; ``watch(plugin, body)`` opens a page that subscribes and reports decoding."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs a loop in this thread; the test's ORM calls are still synchronous
    # (as in tests/e2e/conftest.py).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    static = Path(__file__).resolve().parents[2] / "src" / "diemcau" / "live" / "static" / "live"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--disable-gpu",
                                           "--autoplay-policy=no-user-gesture-required",
                                           "--disable-features=WebRtcHideLocalIpsWithMdns"])

        def watch(plugin: str, body: dict, width: int = 640) -> dict:
            page = browser.new_page()
            try:
                page.set_content("<html><body></body></html>")
                page.add_script_tag(path=str(static / "adapter.js"))
                page.add_script_tag(path=str(static / "janus.js"))
                return page.evaluate(WATCH_JS, {"server": root.ws_url, "apisecret": root.api_secret, "plugin": plugin,
                                                 "body": body, "wantWidth": width, "timeoutMs": 20000})
            finally:
                page.close()
        try:
            yield watch
        finally:
            browser.close()


def _dial(ctx, name: str, *, password: str | None = PASSWORD, tls: bool = True, seconds: int = 90,
          transport: str = "udp"):
    folder = ctx["tmp"] / name
    uri = hall_ns.baresip_config(folder, username="hanoi-polycom", password=password,
                                 transport="tls" if tls else transport, port=5061 if tls else 5060, srtp=tls)
    return folder, hall_ns.start_baresip(folder, uri, seconds=seconds)


def _joins_and_is_seen(ctx, watch):
    gw, world = ctx["gw"], ctx["world"]
    call = _wait(lambda: next(iter(gw.calls.values()), None), 20, "the hall's call answered")
    assert call.point_id == world["hanoi"].pk
    _wait(lambda: call.relay.stats.hall_video > 50 and call.relay.stats.hall_audio > 50, 20,
          "the hall's audio and video at the relay")
    _wait(lambda: call.relay.stats.programme_audio > 100 and call.relay.stats.programme_video > 50, 20,
          "the programme reaching the call")
    from diemcau.live.models import PointLiveState

    _wait(lambda: PointLiveState.objects.filter(point=world["hanoi"], connections=1, last_report__fps__gt=0,
                                                last_report__bitrate_out_kbps__gt=0).exists(), 15,
          "the hall on the site board with its figures")
    wall = _participants(ctx, hall_room_id(world["conference"].pk))
    assert [p for p in wall if p.get("publisher") and p["id"] == call.wall_id], wall
    seen = watch("janus.plugin.videoroom", {"request": "join", "ptype": "subscriber",
                                            "room": hall_room_id(world["conference"].pk),
                                            "streams": [{"feed": call.wall_id}]})
    assert seen["decoding"] and seen["width"] == 640, seen
    return call


def _takes_the_floor(ctx, watch, call) -> int:
    from diemcau.live.models import FloorRequest

    world = ctx["world"]
    request = floor.request_floor(world["ops"]["hanoi"], world["hanoi"], "Giám đốc Sở Hà Nội")
    floor.grant_floor(world["director"], request)
    grant = FloorRequest.objects.get(pk=request.pk).publisher_id
    _wait(lambda: call.on_air_id == grant and ctx["runtime"].slots["main"].source == ("pub", grant), 15,
          "the hall on the programme", lambda: (grant, call.on_air_id, ctx["runtime"].slots["main"].source))
    kiosk = watch("janus.plugin.streaming", {"request": "watch", "id": layout.MAIN_MOUNTPOINT})
    # the hall's 640×360, not the 320×180 feed
    assert kiosk["decoding"] and kiosk["width"] == 640, (kiosk, call.relay.stats)
    return grant


@pytest.mark.django_db(transaction=True)
def test_a_room_system_joins_is_seen_takes_the_floor_and_redials(gateway, monkeypatch):
    """TLS + SRTP, G.722 only: the programme's tone reaches the hall; the hall's picture reaches a viewer;
    the floor puts it on the programme a kiosk decodes; killed, it redials and is back on the floor."""
    from diemcau.core.models import AuditEntry

    ctx, gw = gateway, gateway["gw"]
    _room_system(ctx["world"])
    _wait(lambda: "hanoi-polycom" in gw._pushed, 10, "credentials pushed to Kamailio")
    gw.dead_after = 4.0
    folder, bs = _dial(ctx, "hall")
    try:
        with _viewer(ctx["root"], monkeypatch) as watch:
            call = _joins_and_is_seen(ctx, watch)
            grant = _takes_the_floor(ctx, watch, call)
            bs.kill()  # the hall's codec dies: no BYE
            bs.wait(10)
            _wait(lambda: not gw.calls, 15, "the dead call ended")
            folder2, bs = _dial(ctx, "hall-again")
            again = _wait(lambda: next(iter(gw.calls.values()), None), 20, "the redialled call answered")
            _wait(lambda: again.on_air_id == grant and again.relay.stats.hall_video > 50, 15,
                  "the redialled hall on air")
            kiosk = watch("janus.plugin.streaming", {"request": "watch", "id": layout.MAIN_MOUNTPOINT})
            assert kiosk["decoding"] and kiosk["width"] == 640, kiosk
    finally:
        bs.terminate()
        bs.wait(10)
    # Before the floor the programme was the studio (440 Hz); on the floor the redialled hall hears itself.
    first = sorted((folder / "rec").glob("*dec*.wav"))
    assert first, (folder / "baresip.log").read_text()[-2000:]
    assert _tone_share(first[-1], 440) > 0.2  # the studio's tone, through Opus → G.722 → SRTP
    again = sorted((folder2 / "rec").glob("*dec*.wav"))
    assert again and _tone_share(again[-1], 700, (1.0, 3.0)) > 0.2
    actions = set(AuditEntry.objects.filter(action__startswith="live.sip_").values_list("action", flat=True))
    assert {"live.sip_started", "live.sip_on_air", "live.sip_ended"} <= actions


@pytest.mark.django_db(transaction=True)
def test_a_call_without_credentials_is_refused(gateway):
    ctx, gw = gateway, gateway["gw"]
    _room_system(ctx["world"])
    _wait(lambda: "hanoi-polycom" in gw._pushed, 10, "credentials pushed to Kamailio")
    for name, password, transport in (("nopass", None, "udp"), ("wrong", "not-the-password-1", "tcp")):
        folder, bs = _dial(ctx, name, password=password, tls=False, seconds=30, transport=transport)
        try:
            log = _wait(lambda f=folder: "session closed" in (t := (f / "baresip.log").read_text()) and t, 20,
                        "the call refused")
        finally:
            bs.terminate()
            bs.wait(10)
        assert "Call established" not in log and "session closed: 407" in log, log[-1500:]
    assert not gw.calls


# --- diemcau dials the hall (issue 18: dial out, TCP, G.711, INFO picture updates, the codec's RTCP) ---
def _callee(ctx, name: str, *, codec: str, transport: str, register: bool) -> tuple[Path, subprocess.Popen]:
    """baresip as a hall diemcau calls: G.711 only (``codec`` PCMU or PCMA, an 8 kHz tone), answering at
    once, registering over ``transport`` or just listening at its address."""
    folder = ctx["tmp"] / name
    hall_ns.baresip_config(folder, username="hanoi-polycom", password=PASSWORD, transport=transport)
    tone = folder / "tone-8k.wav"
    hall_ns.write_tone(tone, 700.0, seconds=60, rate=8000)
    config = (folder / "config").read_text().replace("module g722.so", "module g711.so")
    config = "\n".join(f"audio_source aufile,{tone}" if line.startswith("audio_source") else line
                       for line in config.splitlines()) + "\n"
    params = f";auth_pass={PASSWORD};answermode=auto;audio_codecs={codec}"
    params += ";regint=60" if register else ";regint=0"
    if transport == "tls":  # the hall answers TLS (its own certificate) and SRTP only
        pem = folder / "hall.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        f"/CN={hall_ns.HALL}", "-keyout", str(pem), "-out", str(folder / "hall.crt")],
                       check=True, capture_output=True)
        pem.write_text(pem.read_text() + (folder / "hall.crt").read_text())
        config += f"sip_certificate {pem}\n"
        params += ";mediaenc=srtp-mand"
    (folder / "config").write_text(config)
    port = 5061 if transport == "tls" else 5060
    (folder / "accounts").write_text(f"<sip:hanoi-polycom@{hall_ns.GATEWAY}:{port};transport={transport}>{params}\n")
    out = open(folder / "baresip.log", "ab")
    return folder, subprocess.Popen(["ip", "netns", "exec", hall_ns.NS, "baresip", "-f", str(folder), "-t", "60"],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)


def _info_from_hall(ctx, call) -> str:
    """The hall's SIP INFO picture_fast_update along its dialog (TCP to Kamailio, as the hall would send it);
    returns Kamailio's answer's first line."""
    dialog = ctx["gw"].uas.dialogs[call.call_id]
    body = PICTURE_FAST_UPDATE
    with socket.create_connection((hall_ns.GATEWAY, 5060), timeout=5) as conn:
        here = conn.getsockname()
        lines = [f"INFO {ctx['gw'].uas.contact.strip('<>')} SIP/2.0",
                 f"Via: SIP/2.0/TCP {here[0]}:{here[1]};branch=z9hG4bK{os.urandom(6).hex()};rport",
                 *(f"Route: {r}" for r in reversed(dialog.routes)), "Max-Forwards: 70",
                 f"From: {dialog.remote}", f"To: {dialog.local}", f"Call-ID: {call.call_id}", "CSeq: 7 INFO",
                 "Content-Type: application/media_control+xml", f"Content-Length: {len(body)}", "", body]
        conn.sendall("\r\n".join(lines).encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace").split("\r\n", 1)[0]


@pytest.mark.django_db(transaction=True)
def test_diemcau_dials_the_hall_redials_it_and_hangs_up_at_the_end(gateway):
    """A registered hall over TCP offering PCMU only is called when the session starts; its codec's RTCP
    is the point's loss/jitter/round trip on the board; keyframes go both ways as SIP INFO; killed, it is
    called again (now at a fixed address, TLS with SRTP, PCMA); at the session's end diemcau hangs up."""
    import datetime

    from django.utils import timezone

    from diemcau.core.models import AuditEntry
    from diemcau.events.models import Session
    from diemcau.live.models import PointLiveState

    ctx, gw, world = gateway, gateway["gw"], gateway["world"]
    gw.dead_after, gw.dial_backoff = 3.0, (0.5, 4.0)
    now = timezone.now()
    session = Session.objects.create(conference=world["conference"], title="Phiên khai mạc",
                                     starts_at=now - datetime.timedelta(minutes=1),
                                     ends_at=now + datetime.timedelta(hours=1))
    sip.configure_room_system(SYSTEM, world["hanoi"], username="hanoi-polycom", password=PASSWORD,
                              dial_out=True, picture_update_info=True)
    _wait(lambda: "hanoi-polycom" in gw._pushed, 10, "credentials pushed to Kamailio")
    folder, bs = _callee(ctx, "registered", codec="PCMU", transport="tcp", register=True)
    try:
        call = _wait(lambda: next((c for c in gw.calls.values() if c.dialled), None), 25, "the hall called",
                     lambda: (folder / "baresip.log").read_text()[-800:])
        _wait(lambda: call.relay.stats.hall_audio > 50 and call.relay.stats.programme_audio > 100
              and call.relay.stats.programme_video > 50, 15, "media both ways", lambda: call.relay.stats)
        # A keyframe Janus wants of the hall goes as SIP INFO, and the hall answers it.
        _wait(lambda: 200 in gw.uas.dialogs[call.call_id].answered.get("INFO", []), 15, "an INFO answered")
        # The hall's INFO asks a keyframe of the programme.
        assert _info_from_hall(ctx, call) == "SIP/2.0 200 OK"
        _wait(lambda: call.picture_updates >= 1, 5, "the hall's picture update at the gateway")
        # The codec's RTCP about the programme: the point's loss, jitter and round trip.
        report = _wait(lambda: PointLiveState.objects.filter(
            point=world["hanoi"], last_report__jitter_ms__isnull=False,
            last_report__rtt_ms__isnull=False).values("last_report__loss_pct", "last_report__jitter_ms",
                                                      "last_report__rtt_ms").first(), 25, "RTCP figures",
            lambda: call.relay.reception)
        assert 0 <= report["last_report__loss_pct"] < 50 and 0 <= report["last_report__rtt_ms"] < 2000, report
        bs.kill()  # the hall's codec dies: no BYE
        bs.wait(10)
        sip.configure_room_system(SYSTEM, world["hanoi"], username="hanoi-polycom", address=f"sips:{hall_ns.HALL}:5061")
        _wait(lambda: call.call_id not in gw.calls, 15, "the dead call ended")
        folder2, bs = _callee(ctx, "fixed", codec="PCMA", transport="tls", register=False)
        again = _wait(lambda: next((c for c in gw.calls.values() if c.dialled), None), 25, "the hall called again",
                      lambda: (folder2 / "baresip.log").read_text()[-800:])
        _wait(lambda: again.relay.stats.hall_audio > 50 and again.relay.stats.programme_audio > 50, 15,
              "media both ways again", lambda: again.relay.stats)
        Session.objects.filter(pk=session.pk).update(ends_at=timezone.now() - datetime.timedelta(seconds=1))
        _wait(lambda: not gw.calls, 10, "diemcau hung up at the session's end")
        _wait(lambda: "session closed" in (folder2 / "baresip.log").read_text(), 10, "the hall saw the BYE")
        _wait(lambda: AuditEntry.objects.filter(action="live.sip_ended", after__why="the session ended").exists(),
              10, "the end audited")
        assert not gw._dialling and not gw._to_dial
    finally:
        bs.terminate()
        bs.wait(10)
    recorded = sorted((folder / "rec").glob("*dec*.wav"))
    assert recorded and _tone_share(recorded[-1], 440, (1.0, 4.0)) > 0.2  # the studio through Opus → PCMU
    entries = list(AuditEntry.objects.filter(action__startswith="live.sip_").values_list("action", "after"))
    assert sum(1 for a, d in entries if a == "live.sip_started" and d.get("dialled")) == 2, entries


def test_dial_targets_backoff_and_receiver_reports(tmp_path):
    """What diemcau dials for an address, the redial backoff's steps, and a hall's RTCP report block read."""
    import struct

    from diemcau.live.models import RoomSystem
    from diemcau.live.sip_relay import report_blocks

    def target(address):
        return sip.dial_target(RoomSystem(sip_username="hanoi-polycom", realm="diemcau", address=address))

    assert target("") == ("sip:hanoi-polycom@diemcau", True)
    assert target("10.1.2.3:5060;transport=tcp") == ("sip:hanoi-polycom@10.1.2.3:5060;transport=tcp", False)
    assert target("sips:codec@hall.example.vn") == ("sip:codec@hall.example.vn;transport=tls", False)
    assert not sip.DIAL_ADDRESS_RE.match("10.1.2.3>;evil=1") and sip.DIAL_ADDRESS_RE.match("sip:a@10.1.2.3:5062")
    gw = SipGateway(None, address="127.0.0.1", folder=tmp_path)
    assert asyncio.run(_steps(gw)) == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    # an RR from SSRC 7 about SSRC 1234: 25 % lost (64/256), 3 in all, jitter 900 (10 ms at 90 kHz)
    rr = struct.pack("!BBHI", 0x81, 201, 7, 7) + struct.pack("!IIIIII", 1234, (64 << 24) | 3, 100, 900, 5, 6)
    assert report_blocks(rr) == [(1234, 0.25, 3, 900, 5, 6)]


async def _steps(gw):
    return [gw._backoff(1) for _ in range(8)]
