"""The SIP room system's figures (issue 18), for bench/media.py or alone (`make bench-media-sip`).

Real parts, as tests/live/test_sip.py: a Janus root, the live runtime (synthetic studio 320×180 on
air: a test pattern and its tone), the SIP gateway (Kamailio, rtpengine, the relay), baresip as the
hall's codec in the namespace ``sip-hall`` (deploy/sip/hall.py; G.722 only, H.264 640×360), a
headless Chromium kiosk on the programme mountpoint. Root only (namespaces); elsewhere every figure
is None with the reason. The scenario runs under pytest (the tests' database and fixtures, through
bench/conftest.py) and holds ``/tmp/sip-hall.lock`` while it runs.

1. ``sip_floor_first_frame_ms``: the hall's call (TLS + SRTP) is up; the director grants the Hà Nội
   point the floor (``floor.grant_floor``: the wall clock just before) → the first frame of the hall's
   640-wide picture decoded by the kiosk (``requestVideoFrameCallback``, performance.timeOrigin +
   now: the same system clock). Median of ``CYCLES`` grants (each revoked again). Baseline in the same
   run: the revoke → the first frame of the studio back (the runtime's switch to a source that is
   not a SIP call).
2. ``sip_programme_delay_ms``: the programme → the hall. A second call (plain RTP: SRTP cannot be
   read on the wire) gets, instead of the runtime's forwarders, a marker stream from here into the
   relay's programme audio inlet (where Janus's forwarder writes): Opus, silence with a 1 kHz burst
   starting exactly at packet 25 + 50k. A sniffer in the hall's namespace (AF_PACKET on its eth0)
   stamps every G.722 packet the hall receives; their payloads are decoded (ffmpeg) and each burst's
   onset found; the delay = arrival of the packet carrying the onset − the sending of the Opus
   packet carrying it: the relay, rtpengine's Opus → G.722 transcoding and the network, without
   Janus (a forwarder copies packets) and without the codec's own jitter buffer. Median of the
   bursts. Baseline: the same marker packets sent from here straight to the hall's address and
   stamped by the same sniffer (the measurement's own floor).
3. ``sip_gateway_cpu_ms_per_call_s``: CPU time (utime + stime from /proc) of Kamailio's process group,
   rtpengine, the call's thumbnail ffmpeg and this process (the runtime, the gateway's controller and
   the relay run in it) over
   ``CPU_WINDOW`` seconds, ``CPU_WINDOWS`` times with no call and then with one TLS + SRTP call
   (G.722 ↔ Opus both ways, H.264 both ways): (median with the call − median without) per second of
   call, in ms of CPU. The root Janus's share is printed beside it (``sip_janus_cpu_ms_per_call_s``),
   not counted. CPU time, not wall time: it stays meaningful on a loaded machine.

Alone:  PYTHONPATH=src .venv/bin/python bench/media_sip.py   (last line: JSON)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgres://diemcau:diemcau@127.0.0.1:5432/diemcau"
LOCK = "/tmp/sip-hall.lock"  # noqa: S108 - tests/live/test_sip*.py and this benchmark share the namespace sip-hall
CYCLES = 5
CPU_WINDOW = 5.0
CPU_WINDOWS = 3
BURSTS = 8
PASSWORD = "mat-khau-phong-hop-1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
FIGURES = ("sip_floor_first_frame_ms", "sip_programme_delay_ms", "sip_gateway_cpu_ms_per_call_s")


def run() -> dict:
    """The figures (bench/media.py calls this): the scenario under pytest, holding the hall's lock."""
    missing = [name for name in ("kamailio", "rtpengine", "baresip") if not shutil.which(name)]
    if os.geteuid() != 0 or missing:
        why = f"needs root and {', '.join(missing) or 'network namespaces'}"
        return {**dict.fromkeys(FIGURES), "sip_error": why}
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as folder, open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = Path(folder) / "sip.json"
        env = {**os.environ, "DIEMCAU_BENCH_SIP_OUT": str(out),
               "PYTHONPATH": str(ROOT_DIR / "src") + os.pathsep + str(ROOT_DIR)}
        env.setdefault("DATABASE_URL", DEFAULT_PG)
        done = subprocess.run([sys.executable, "-m", "pytest", str(Path(__file__)), "-q", "-s", "-p", "no:randomly",
                               "-p", "no:cacheprovider",
                               "--timeout=600"], cwd=ROOT_DIR, env=env, capture_output=True, text=True, timeout=700)
        log = ROOT_DIR / "var" / "bench-media-sip.log"  # the whole pytest output, for a failed run
        log.parent.mkdir(exist_ok=True)
        log.write_text(done.stdout + done.stderr, encoding="utf-8")
        if not out.exists():
            return {**dict.fromkeys(FIGURES), "sip_error": f"the scenario failed (exit {done.returncode}); see {log}"}
        return json.loads(out.read_text())


# --- the scenario (pytest) --------------------------------------------------------------------------

KIOSK_JS = """async (o) => {
  await new Promise((ok) => Janus.init({ debug: false, callback: ok }));
  window.changes = []; window.frames = 0;
  return await new Promise((resolve) => {
    const video = document.createElement("video"); video.muted = true; document.body.appendChild(video);
    const stream = new MediaStream(); let handle = null; let width = 0;
    const fail = (e) => resolve({ ok: false, why: String(e) });
    const janus = new Janus({ server: o.server, apisecret: o.apisecret, error: fail,
      success: () => janus.attach({ plugin: "janus.plugin.streaming", error: fail,
        success: (h) => { handle = h; h.send({ message: { request: "watch", id: o.id } }); },
        onmessage: (msg, jsep) => {
          if (msg.error) return fail(msg.error);
          if (jsep) handle.createAnswer({ jsep, tracks: [{ type: "data" }], error: fail,
            success: (answer) => handle.send({ message: { request: "start" }, jsep: answer }) });
        },
        onremotetrack: (track, mid, on) => {
          if (on) { stream.addTrack(track); video.srcObject = stream; video.play().catch(() => {}); }
        } }) });
    const onFrame = (now, meta) => {
      window.frames++;
      if (meta.width !== width) {
        width = meta.width; window.changes.push({ t: performance.timeOrigin + performance.now(), w: width });
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    const ready = setInterval(() => { if (window.frames > 10) { clearInterval(ready); resolve({ ok: true }); } }, 100);
    setTimeout(() => fail("no frames"), o.timeoutMs);
  });
}"""

SNIFFER = r"""
import socket, struct, sys, time
sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
sock.bind(("eth0", 0))
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.settimeout(0.2)
hall, pts = socket.inet_aton(sys.argv[1]), {int(p) for p in sys.argv[2].split(",")}
end = time.time() + float(sys.argv[3])
out = open(sys.argv[4], "w")
print("ready", flush=True)
while time.time() < end:
    try:
        data = sock.recv(4096)
    except socket.timeout:
        continue
    at = time.time()
    if data[9] != 17 or data[16:20] != hall:
        continue
    udp = data[(data[0] & 15) * 4 + 8:]
    if len(udp) > 12 and udp[0] >> 6 == 2 and (udp[1] & 0x7F) in pts:
        out.write(f"{at:.6f} {udp[1] & 0x7F} {struct.unpack('!H', udp[2:4])[0]} {udp[12:].hex()}\n")
out.close()
"""


def _wait(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _cpu_ticks(pids) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total


def _cpu_windows(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds per second of each group of pids over ``CPU_WINDOWS`` windows (median)."""
    per = {name: [] for name in groups}
    for _ in range(CPU_WINDOWS):
        before = {name: _cpu_ticks(pids) for name, pids in groups.items()}
        time.sleep(CPU_WINDOW)
        for name, pids in groups.items():
            per[name].append((_cpu_ticks(pids) - before[name]) / CLK_TCK / CPU_WINDOW)
    return {name: statistics.median(values) for name, values in per.items()}


def _marker_packets(folder: Path) -> tuple[list[bytes], list[int]]:
    """Opus RTP packets (20 ms) of silence with a 1 kHz burst whose decoded onset starts packet 25 + 50k;
    returns the packets and the onset packets' indices."""
    onsets = [25 + 50 * k for k in range(BURSTS)]
    preskip = 312  # libopus's encoder delay at 48 kHz: the decoded stream starts that much later
    starts = [(n * 960 - preskip) / 48000 for n in onsets]
    expr = "+".join(f"between(t,{s:.6f},{s + 0.2:.6f})" for s in starts)
    seconds = onsets[-1] * 0.02 + 1.0
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(2.0)
    port = receiver.getsockname()[1]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"aevalsrc='0.5*sin(2*PI*1000*t)*({expr})':s=48000:d={seconds}", "-c:a", "libopus", "-b:a", "48k",
                    "-ac", "2", "-application", "lowdelay", "-frame_duration", "20", "-payload_type", "111",
                    "-f", "rtp", f"rtp://127.0.0.1:{port}?rtcpport={port}"], check=True, timeout=60,
                   stdout=subprocess.DEVNULL)
    packets = []
    with contextlib.suppress(TimeoutError):
        while True:
            packet = receiver.recv(2048)
            if packet[1] & 0x7F == 111:
                packets.append(packet)
    receiver.close()
    packets.sort(key=lambda p: struct.unpack("!H", p[2:4])[0])
    return packets, onsets


def _send_paced(packets: list[bytes], target: tuple[str, int], pt: int | None = None) -> list[float]:
    """Send one packet every 20 ms (the wall clock just before each send); ``pt`` rewrites the payload type."""
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = []
    start = time.time() + 0.05
    for index, packet in enumerate(packets):
        delay = start + index * 0.02 - time.time()
        if delay > 0:
            time.sleep(delay)
        if pt is not None:
            packet = packet[:1] + bytes([(packet[1] & 0x80) | pt]) + packet[2:]
        sent.append(time.time())
        out.sendto(packet, target)
    out.close()
    return sent


@contextlib.contextmanager
def _sniffer(hall_ns, pts: str, seconds: float, path: Path):
    proc = subprocess.Popen(["ip", "netns", "exec", hall_ns.NS, sys.executable, "-c", SNIFFER, hall_ns.HALL, pts,
                             str(seconds), str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    try:
        yield
    finally:
        proc.wait(seconds + 10)


def _read_capture(path: Path) -> list[tuple[float, int, int, bytes]]:
    rows = []
    for line in path.read_text().splitlines():
        at, pt, seq, payload = line.split()
        rows.append((float(at), int(pt), int(seq), bytes.fromhex(payload)))
    return rows


def _g722_onsets(rows) -> list[float]:
    """Arrival times of the G.722 packets that carry each burst's onset (after ≥ 0.3 s of quiet)."""
    import numpy as np

    rows = sorted(rows, key=lambda r: r[2])  # by sequence (the 16-bit wrap does not happen in 20 s)
    first = rows[0][2]
    per_packet = 160  # bytes of G.722 per 20 ms
    stream = bytearray(per_packet * (rows[-1][2] - first + 1))
    arrival = {}
    for at, _pt, seq, payload in rows:
        offset = (seq - first) * per_packet
        stream[offset:offset + len(payload)] = payload
        arrival[seq - first] = at
    pcm = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "g722", "-i", "pipe:0",
                          "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1"], input=bytes(stream),
                         capture_output=True, check=True).stdout
    samples = np.abs(np.frombuffer(pcm, dtype="<i2").astype(float))
    loud = samples > 0.25 * samples.max()
    onsets, quiet_since = [], 0
    for index in np.flatnonzero(loud):
        if index - quiet_since >= 0.3 * 16000:
            packet = int(index) // 320
            if packet in arrival:
                onsets.append(arrival[packet])
        quiet_since = int(index)
    return onsets


def _programme_delay(ctx, call) -> dict:
    """2.: marker bursts into the relay's programme audio inlet, timed at the hall's interface."""
    hall_ns = _hall()

    runtime = ctx["runtime"]
    # The runtime stops forwarding the programme to the call: the marker stands in for Janus's forwarder.
    ctx["loop"].call_soon_threadsafe(_without_inlets, runtime, ctx["gw"])
    time.sleep(1.5)
    packets, onsets = _marker_packets(ctx["tmp"])
    seconds = len(packets) * 0.02 + 3
    capture = ctx["tmp"] / "hall.txt"
    with _sniffer(hall_ns, "9", seconds, capture):
        sent = _send_paced(packets, ("127.0.0.1", call.programme_inlet[2]))
    arrived = _g722_onsets(_read_capture(capture))
    delays = [(a - s) * 1000 for a, s in zip(arrived, [sent[n] for n in onsets], strict=False) if 0 < a - s < 2]
    # Baseline: the same packets straight to the hall's address (a port nobody listens on), same sniffer.
    base_capture = ctx["tmp"] / "baseline.txt"
    with _sniffer(hall_ns, "120", 2 * 0.02 * 60 + 2, base_capture):
        base_sent = _send_paced(packets[:60], (hall_ns.HALL, 40000), pt=120)
    got = {seq: at for at, _pt, seq, _p in _read_capture(base_capture)}
    first_seq = struct.unpack("!H", packets[0][2:4])[0]
    base = [(got[first_seq + i] - s) * 1000 for i, s in enumerate(base_sent) if first_seq + i in got]
    return {"delays": delays, "bursts_sent": len(onsets), "bursts_found": len(arrived), "baseline": base}


def _without_inlets(runtime, gw) -> None:
    extra = runtime.extra_targets["main"]
    extra[:] = [t for t in extra if t[1] not in gw.pool]
    runtime.slots["main"].targets = ()  # the runtime re-points the slot without the call's inlet


def _floor_cycles(ctx, page, call) -> dict:
    """1.: grant → the hall's first frame at the kiosk; revoke → the studio's first frame (baseline)."""
    from diemcau.live import floor
    from diemcau.live.models import FloorRequest

    world, firsts, backs = ctx["world"], [], []

    def first_frame_after(at_ms: float, width: int, what: str) -> float:
        change = _wait(lambda: next((c for c in page.evaluate("window.changes")
                                     if c["t"] > at_ms and c["w"] == width), None), 20, what)
        return change["t"] - at_ms

    for index in range(CYCLES):
        request = floor.request_floor(world["ops"]["hanoi"], world["hanoi"], f"Giám đốc Sở Hà Nội ({index + 1})")
        at = time.time() * 1000
        floor.grant_floor(world["director"], request)
        firsts.append(first_frame_after(at, 640, "the hall's first frame at the kiosk"))
        time.sleep(2.0)
        at = time.time() * 1000
        floor.revoke_floor(world["director"], FloorRequest.objects.get(pk=request.pk))
        backs.append(first_frame_after(at, 320, "the studio's first frame back"))
        _wait(lambda: call.on_air_id is None, 15, "the call off the programme")
        time.sleep(1.0)
    return {"firsts": firsts, "backs": backs}


def _dial(ctx, name: str, *, tls: bool):
    hall_ns = _hall()

    folder = ctx["tmp"] / name
    uri = hall_ns.baresip_config(folder, username="hanoi-polycom", password=PASSWORD,
                                 transport="tls" if tls else "udp", port=5061 if tls else 5060, srtp=tls)
    return hall_ns.start_baresip(folder, uri, seconds=400)


def _steady_call(gw):
    call = _wait(lambda: next(iter(gw.calls.values()), None), 60, "the hall's call answered")
    _wait(lambda: call.relay.stats.hall_video > 50 and call.relay.stats.programme_audio > 100, 60,
          "media both ways")
    return call


def _hang_up(gw, baresip) -> None:
    baresip.terminate()
    baresip.wait(10)
    _wait(lambda: not gw.calls, 20, "the call ended")


def _cpu_groups(ctx) -> dict[str, list[int]]:
    from diemcau.live import sip_processes

    gw = ctx["gw"]
    pids = {name: sip_processes.members(proc.pid, name) for name, proc in gw.processes.items()}
    # the halls' thumbnails: one ffmpeg per call (``sip_thumbs.py``), a child of this process
    thumbs = [c.thumbnail._proc.pid for c in gw.calls.values() if getattr(c, "thumbnail", None) and c.thumbnail._proc]
    return {"gateway": pids["kamailio"] + pids["rtpengine"] + [os.getpid()] + thumbs, "kamailio": pids["kamailio"],
            "rtpengine": pids["rtpengine"], "process": [os.getpid()], "thumbnail": thumbs, "janus": [ctx["root"].pid]}


def _scenario(ctx, watch_page) -> dict:
    from diemcau.live import layout, sip
    from diemcau.orgs.scoping import SYSTEM

    gw, world = ctx["gw"], ctx["world"]
    sip.configure_room_system(SYSTEM, world["hanoi"], username="hanoi-polycom", password=PASSWORD,
                              address="10.233.0.50")
    _wait(lambda: "hanoi-polycom" in gw._pushed, 15, "credentials pushed to Kamailio")
    page = watch_page({"server": ctx["root"].ws_url, "apisecret": ctx["root"].api_secret,
                       "id": layout.MAIN_MOUNTPOINT, "timeoutMs": 30000})
    time.sleep(2.0)
    idle = _cpu_windows(_cpu_groups(ctx))
    baresip = _dial(ctx, "hall", tls=True)
    try:
        call = _steady_call(gw)
        time.sleep(2.0)
        busy = _cpu_windows(_cpu_groups(ctx))
        cycles = _floor_cycles(ctx, page, call)
    finally:
        _hang_up(gw, baresip)
    baresip = _dial(ctx, "hall-rtp", tls=False)
    try:  # a failure here keeps the figures above (a loaded machine can miss a bound)
        delay = _programme_delay(ctx, _steady_call(gw))
    except AssertionError as exc:
        delay = {"delays": [], "baseline": [], "error": str(exc)}
    finally:
        _hang_up(gw, baresip)
    figures = _figures(idle, busy, cycles, delay)
    if delay.get("error"):
        figures["sip_programme_delay_error"] = delay["error"]
    return figures


def _figures(idle, busy, cycles, delay) -> dict:
    def ms(name):
        return round((busy[name] - idle[name]) * 1000, 1)

    def med(values, n=0):
        return round(statistics.median(values), n) if values else None

    return {
        "sip_floor_first_frame_ms": med(cycles["firsts"]), "sip_floor_first_frame_max_ms": med([max(cycles["firsts"])]),
        "sip_floor_cycles": len(cycles["firsts"]), "sip_floor_baseline_studio_back_ms": med(cycles["backs"]),
        "sip_programme_delay_ms": med(delay["delays"], 1), "sip_programme_delay_bursts": len(delay["delays"]),
        "sip_programme_delay_max_ms": med([max(delay["delays"])], 1) if delay["delays"] else None,
        "sip_programme_delay_baseline_ms": med(delay["baseline"], 2),
        "sip_gateway_cpu_ms_per_call_s": ms("gateway"), "sip_kamailio_cpu_ms_per_call_s": ms("kamailio"),
        "sip_rtpengine_cpu_ms_per_call_s": ms("rtpengine"), "sip_controller_relay_cpu_ms_per_call_s": ms("process"),
        "sip_thumbnail_cpu_ms_per_call_s": ms("thumbnail"), "sip_janus_cpu_ms_per_call_s": ms("janus"),
        "sip_gateway_idle_cpu_ms_per_s": round(idle["gateway"] * 1000, 1),
    }


def _hall():
    """deploy/sip/hall.py (the hall's namespace and baresip)."""
    sys.path.insert(0, str(ROOT_DIR / "deploy" / "sip"))
    import hall

    return hall


@pytest.mark.django_db(transaction=True)
def test_sip_figures(live_world, tmp_path, monkeypatch):  # run by run() only (the file is not under tests/)
    if "DIEMCAU_BENCH_SIP_OUT" not in os.environ:
        pytest.skip("bench/media_sip.py's scenario: run by `make bench-media-sip`")
    figures = _with_gateway(live_world, tmp_path, monkeypatch)
    Path(os.environ["DIEMCAU_BENCH_SIP_OUT"]).write_text(json.dumps(figures))


def _with_gateway(world, tmp_path, monkeypatch) -> dict:
    hall_ns = _hall()
    from playwright.sync_api import sync_playwright
    from tests.live.conftest import live_base_port

    from diemcau.live.janus_node import JanusNode
    from diemcau.live.runtime import LiveRuntime, NodeSpec
    from diemcau.live.sip_gateway import SipGateway

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop in this thread
    hall_ns.network_up()
    port = live_base_port()
    root = JanusNode("root", port, folder=tmp_path / "root")
    root.start()
    runtime = LiveRuntime(world["conference"].pk, [NodeSpec("root", port, role="root")], nodes={"root": root},
                          synthetic_host=True, feed_size=(320, 180))
    gw = SipGateway(runtime, address=hall_ns.GATEWAY, folder=tmp_path / "sip")
    loop = asyncio.new_event_loop()

    async def both():
        await asyncio.gather(runtime.run(), gw.run(), return_exceptions=True)

    thread = threading.Thread(target=lambda: loop.run_until_complete(both()), daemon=True)
    thread.start()
    ctx = {"gw": gw, "runtime": runtime, "root": root, "world": world, "loop": loop, "tmp": tmp_path}
    static = ROOT_DIR / "src" / "diemcau" / "live" / "static" / "live"
    try:
        _wait(lambda: runtime.root.up and gw.ready and gw._room_epoch == runtime.root.epoch, 60, "the gateway ready")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu",
                                               "--autoplay-policy=no-user-gesture-required",
                                               "--disable-features=WebRtcHideLocalIpsWithMdns"])

            def watch_page(options):
                page = browser.new_page()
                page.set_content("<html><body></body></html>")
                page.add_script_tag(path=str(static / "adapter.js"))
                page.add_script_tag(path=str(static / "janus.js"))
                answer = page.evaluate(KIOSK_JS, options)
                assert answer["ok"], answer
                return page
            try:
                return _scenario(ctx, watch_page)
            finally:
                browser.close()
    finally:
        loop.call_soon_threadsafe(runtime.stop)
        loop.call_soon_threadsafe(gw.stop)
        thread.join(30)
        root.stop()
        hall_ns.network_down()


if __name__ == "__main__":
    started, load_start = time.monotonic(), os.getloadavg()
    print(f"bench-media-sip: {time.strftime('%Y-%m-%d %H:%M:%S')} UTC, load average {load_start}", flush=True)
    result = run()
    for key, value in result.items():
        print(f"  {key}: {value}")
    result["sip_load_avg"] = [round(x, 2) for x in load_start + os.getloadavg()]
    print(f"whole run {time.monotonic() - started:.0f} s")
    print(json.dumps(result))
