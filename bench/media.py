"""Benchmark of the media plane: programme latency, switch time, Janus cost per subscriber, HLS delay.

Run from the repository root:  make bench-media   (PYTHONPATH=src .venv/bin/python bench/media.py)
Needs Debian's janus, ffmpeg and chromium, and Playwright. Whole run: about 2 minutes.

Two real Janus nodes (a root and an edge, base ports in 26000-29999) and one headless Chromium.

1. Programme latency. One page holds every sender and receiver, so one clock (performance.now()):
   a sender canvas draws its clock (ms, 24 bits) with its id and a check nibble as 32 black/white
   blocks, 30 times a second; canvas.captureStream() is published to a VideoRoom on the root
   (H.264, the room's codec); the root rtp_forwards it to a Streaming mountpoint on the root and to
   one on the edge. A "root kiosk" and an "edge kiosk" (janus.js Streaming watch) read every decoded
   frame back (requestVideoFrameCallback, drawImage into a 64x36 canvas, getImageData) and compute
   now - clock. Baseline in the same page and run: the same kind of canvas sent straight from one
   RTCPeerConnection to another (no Janus), H.264 preferred.
2. Switch time of the forwarders alone (`switch_forward_ms`; the product's path is 5). Two publishers A
   and B; the forwarders to both mountpoints are re-pointed
   (stop_rtp_forward + rtp_forward, both mountpoints at once) alternately A→B and B→A; for each
   switch and each kiosk, the time from the switch request (Python's wall clock, the same system
   clock as the page's performance.timeOrigin + now) to the first frame carrying the new sender's id.
   Janus 1.1.2 sends the publisher no keyframe request when a forwarder is added (checked at debug
   level 5: no PLI), and the VideoRoom's fir_freq is off here, so once the forwarders point at the new
   source diemcau asks it for a keyframe (VideoRoom configure keyframe: true, sent with the api_secret
   to the publisher's handle, whose ids the page reports): both steps count in the switch time.
3. Janus CPU and memory per subscriber, on the edge (an edge only serves Streaming viewers): the
   synthetic feed (640x360, 25 fps, 800 kbit/s H.264 + Opus) into an edge mountpoint, then 1, 10 and
   50 subscribers (PeerConnections in one Chromium page, watching through janus.js; their video
   tracks are received, not displayed). The pages speak to Janus over WebSockets: with 50 handles,
   HTTP long polls and requests queued behind Chromium's six connections per host and let the
   page's session expire on the loaded machine. CPU from /proc/<pid>/stat (utime + stime over a 5 s window),
   memory from VmRSS in /proc/<pid>/status. Baselines: the idle node, and the node with the feed and
   no viewer. Per subscriber = (figure at 50 - figure with the feed and no viewer) / the viewers Janus
   reports for the mountpoint (`info`), which can be fewer than 50 when PeerConnections fail to set up
   on the loaded machine. The headline per-subscriber figures come from the highest level at which the
   page saw every one of those viewers receive at least 80 % of the feed's bitrate (a browser that
   cannot keep up may make Janus's work look cheaper); the figures at 50 are printed beside them.
   Capacity: subs_per_node = floor(70 % of one core / cpu per subscriber);
   nodes_for_10000 = ceil(10,000 / subs_per_node) (one subscription per point).
4. HLS behind live. The synthetic feed sends to the HLS packager and to a probe socket here; the
   probe ties the feed's RTP timestamps to the wall clock (the frame at pts p left ffmpeg at
   origin + p, origin = min over packets of arrival - pts). The packager starts first, so segment k
   holds the feed's pts [sum of EXTINF before k, sum up to k]. For each segment, its delay is the
   wall time it appears in the playlist (polled every 20 ms) minus the source time of its last
   frame. A player holding back three target durations (the HLS spec's rule, hls.js's default)
   is behind live by delay + 3 x target duration: that is `hls_behind_s`; the least any segment
   player can be behind is delay + one segment duration (printed beside it).

5. The product's switch (`switch_ms`, `switch_p95_ms`): ``bench/media_switch.py`` runs the end-to-end
   scenario tests/e2e/test_live_switch.py with 8 switches: the director clicks host/point on the
   console; the time to the first decoded frame of the new source at the slower of two kiosks on two
   edges (median, p95), and `switch_runtime_ms` (click → the runtime has re-pointed and asked the
   keyframe); `switch_phases_ms`: the median of each phase (click → written → the runtime saw it →
   began stopping the old forwarders → stopped (all at once) → new ones made (one request) → keyframe
   asked → the slower kiosk's frame); `switch_repoint_cpu_ms`: the runtime thread's CPU from the first
   stop to the keyframe asked (meaningful on a loaded machine). Needs PostgreSQL at DATABASE_URL.

6. ``edge_remote_p95_ms`` (and p50, fps, its baseline): ``bench/media_remote.py`` measures 1.'s latency
   with the root, the edge and Chromium each in a network namespace of their own (root only; None
   with the reason elsewhere): a kiosk on one host watching through an edge on another.

7. ``sip_floor_first_frame_ms``, ``sip_programme_delay_ms``, ``sip_gateway_cpu_ms_per_call_s`` (and their
   baselines): ``bench/media_sip.py``, a room system (baresip in a namespace) calling the SIP gateway
   (root only; None with the reason elsewhere).

The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import socket
import statistics
import struct
import sys
import threading
import time
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR / "src"))

from diemcau.live.janus_client import JanusAdmin, JanusClient  # noqa: E402
from diemcau.live.janus_node import JanusNode  # noqa: E402
from diemcau.live.janus_plugins import Streaming, VideoRoom  # noqa: E402
from diemcau.live.media import HlsPackager, SyntheticFeed  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import media_switch  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# As tests/e2e/conftest.py.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]  # fmt: skip
STATIC = ROOT_DIR / "src" / "diemcau" / "live" / "static" / "live"
PAGE_JS = Path(__file__).with_name("media_page.js")
VAR = Path(os.environ.get("DIEMCAU_VAR", ROOT_DIR / "var")) / "bench-media"
TOKEN = "bench-media-token"
ROOM = 1
SENDER_A, SENDER_B, SENDER_BASELINE = 1, 2, 3
LATENCY_SECONDS = 8.0
SWITCHES = 6
SWITCH_WAIT = 1.2
PRODUCT_SWITCHES = 8
CPU_WINDOW = 4.0
CPU_LEVELS = (1, 10, 50)
HLS_SECONDS = 11.0
CPU_BUDGET_PCT = 70.0
FEED_KBIT = 800 + 48  # the synthetic feed: H.264 800 kbit/s + Opus 48 kbit/s
POINTS = 10_000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*args: object) -> None:
    print(*args, flush=True)


class Loop:
    """An asyncio loop in a thread, for the Janus client while Playwright's sync API owns this one."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def free_udp_pair() -> tuple[int, int]:
    """Two even UDP ports (RTCP neighbours free too) in 30000-30999."""
    for _ in range(200):
        video = random.randrange(30000, 30996, 4)
        ok = True
        for port in (video, video + 1, video + 2, video + 3):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok:
            return video, video + 2
    raise RuntimeError("no free UDP ports in 30000-30999")


def start_nodes() -> tuple[JanusNode, JanusNode]:
    nodes = []
    for base in random.sample(range(26000, 30000, 1000), 4):
        # No session expiry: on this shared 2-core machine a page holding 50 PeerConnections can be
        # starved for over a minute, and its janus.js keepalives with it; the sessions would expire.
        name = f"bench-{'root' if not nodes else 'edge'}"
        node = JanusNode(name, base, folder=VAR / f"janus-{base}", session_timeout=0)
        try:
            node.start()
        except Exception as error:
            log(f"  port block {base} not usable ({str(error).splitlines()[0]}); next")
            continue
        nodes.append(node)
        if len(nodes) == 2:
            return nodes[0], nodes[1]
    raise RuntimeError("could not start two Janus nodes in 26000-29999")


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def proc_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure_cpu(pid: int, seconds: float = CPU_WINDOW) -> tuple[float, float]:
    """Percent of one core used by the process over ``seconds``, and its RSS (MiB) at the end."""
    cpu0, t0 = proc_cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = proc_cpu_seconds(pid), time.monotonic()
    return 100.0 * (cpu1 - cpu0) / (t1 - t0), proc_rss_mib(pid)


def new_page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.set_content("<html><body style='margin:0;background:#222'></body></html>")
    page.add_script_tag(path=str(STATIC / "adapter.js"))
    page.add_script_tag(path=str(STATIC / "janus.js"))
    page.add_script_tag(path=str(PAGE_JS))
    return context, page


def latency_figures(frames: list[list[float]], sender: int) -> dict:
    lats = [f[2] for f in frames if f[1] == sender]
    if len(lats) < 10:
        return {"frames": len(lats), "p50": None, "p95": None, "fps": 0.0}
    span = (frames[-1][0] - frames[0][0]) / 1000 or 1
    return {"frames": len(lats), "p50": pct(lats, 0.5), "p95": pct(lats, 0.95), "fps": len(lats) / span}


# -- the programme on the root and the edge -----------------------------------------------------------


class Programme:
    """The root's room, the programme mountpoints on root and edge, and the forwarders into them."""

    def __init__(self, loop: Loop, root: JanusNode, edge: JanusNode) -> None:
        self.loop = loop
        self.root_client = JanusClient.for_node(root)
        self.edge_client = JanusClient.for_node(edge)
        self.rooms = VideoRoom(self.root_client, root.admin_key)
        self.root_mounts = Streaming(self.root_client, root.admin_key)
        self.edge_mounts = Streaming(self.edge_client, edge.admin_key)
        self.forwarders: dict[str, tuple[int, int]] = {}  # destination -> (publisher, stream_id)
        self.ports: dict[str, int] = {}

    async def setup(self, root: JanusNode, edge: JanusNode) -> None:
        for node in (root, edge):
            async with JanusAdmin.for_node(node) as admin:
                await admin.add_token(TOKEN)
        await self.rooms.create(
            ROOM, secret="bench", publishers=6, videocodec="h264", h264_profile="42e01f", bitrate=1_000_000,
            fir_freq=0,
        )  # fmt: skip
        for name, mounts in (("root", self.root_mounts), ("edge", self.edge_mounts)):
            stream = await mounts.create_rtp(1, video_port=0, audio_port=0, secret="bench")
            self.ports[name] = next(p["port"] for p in stream["ports"] if p["mid"] == "v")

    async def forward(self, publisher: int, mid: str, destination: str) -> None:
        made = await self.rooms.rtp_forward(
            ROOM, publisher, host="127.0.0.1", secret="bench",
            streams=[{"mid": mid, "port": self.ports[destination], "pt": 96}],
        )  # fmt: skip
        self.forwarders[destination] = (publisher, int(made[0]["stream_id"]))

    async def repoint(self, publisher: int, mid: str, destination: str) -> None:
        old = self.forwarders.get(destination)
        if old:
            await self.rooms.stop_rtp_forward(ROOM, old[0], old[1], secret="bench")
        await self.forward(publisher, mid, destination)

    async def switch(self, publisher: dict) -> float:
        """Re-point both forwarders to ``publisher``, then ask it for a keyframe; return when that was sent."""
        pid, mid = publisher["publisherId"], publisher["mid"]
        await asyncio.gather(*(self.repoint(pid, mid, d) for d in ("root", "edge")))
        await self.keyframe(publisher)
        return time.time() * 1000

    async def keyframe(self, publisher: dict) -> None:
        # Janus 1.1.2 sends no PLI when a forwarder is added, so the new source is asked for a keyframe
        # through its own VideoRoom handle (configure keyframe: true; diemcau's api_secret may address
        # any handle); otherwise the kiosks would wait for the source's next keyframe.
        await self.root_client.request(
            f"/{publisher['session']}/{publisher['handle']}",
            {"janus": "message", "body": {"request": "configure", "keyframe": True}},
        )

    async def close(self) -> None:
        for closable in (self.rooms, self.root_mounts, self.edge_mounts, self.root_client, self.edge_client):
            await closable.aclose() if hasattr(closable, "aclose") else await closable.close()


def run_programme(loop: Loop, browser, root: JanusNode, edge: JanusNode) -> dict:
    programme = Programme(loop, root, edge)
    loop.run(programme.setup(root, edge))
    context, page = new_page(browser)
    try:
        for sender, label in ((SENDER_A, "A"), (SENDER_B, "B"), (SENDER_BASELINE, "baseline")):
            page.evaluate("([id, label]) => { MB.sender(id, label); }", [sender, label])
        pub = {}
        for sender in (SENDER_A, SENDER_B):
            pub[sender] = page.evaluate(
                "([s, t, r, id]) => MB.publish(s, t, r, id)", [root.http_url, TOKEN, ROOM, sender]
            )
        log(f"  publishers: {pub}")
        for destination in ("root", "edge"):
            loop.run(programme.forward(pub[SENDER_A]["publisherId"], pub[SENDER_A]["mid"], destination))
        page.evaluate("([s, t]) => MB.watch(s, t, 1, 'root')", [root.ws_url, TOKEN])
        page.evaluate("([s, t]) => MB.watch(s, t, 1, 'edge')", [edge.ws_url, TOKEN])
        baseline_codec = page.evaluate("id => MB.loopback(id, 'baseline')", SENDER_BASELINE)
        # The kiosks' PeerConnections come up a moment after their tracks are announced: ask the source
        # for a keyframe until both show a frame (a viewer that misses it waits for the next one).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            loop.run(programme.keyframe(pub[SENDER_A]))
            time.sleep(0.5)
            if all(page.evaluate("n => MB.frames(n, 0).frames.length", n) for n in ("root", "edge")):
                break
        time.sleep(2.0)  # warm-up: bitrate ramps up, jitter buffers settle
        since = time.time() * 1000
        time.sleep(LATENCY_SECONDS)
        result: dict = {"publisher_codec": pub[SENDER_A]["codec"], "baseline_codec": baseline_codec}
        for name, sender in (("root", SENDER_A), ("edge", SENDER_A), ("baseline", SENDER_BASELINE)):
            got = page.evaluate("([n, s]) => MB.frames(n, s)", [name, since])
            result[name] = latency_figures(got["frames"], sender) | {"unreadable": got["bad"]}
        # How far Python's wall clock and the page's timeOrigin + now() differ (same system clock).
        before = time.time() * 1000
        page_now = page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        result["clock_skew_ms"] = page_now - (before + after) / 2
        result["clock_uncertainty_ms"] = (after - before) / 2

        # -- switches --
        switches = []
        current = SENDER_A
        for _ in range(SWITCHES):
            target = SENDER_B if current == SENDER_A else SENDER_A
            t_request = time.time() * 1000
            t_keyframe = loop.run(programme.switch(pub[target]))
            time.sleep(SWITCH_WAIT)
            row = {"to": "B" if target == SENDER_B else "A", "api_ms": t_keyframe - t_request}
            for name in ("root", "edge"):
                got = page.evaluate("([n, s]) => MB.frames(n, s)", [name, t_request])["frames"]
                first = next((f for f in got if f[1] == target), None)
                row[name] = (first[0] - t_request) if first else None
                stale = [f for f in got if f[1] != target and first and f[0] > first[0]]
                row[f"{name}_old_after_new"] = len(stale)
            switches.append(row)
            log(
                f"  switch → {row['to']}: forwarders re-pointed and keyframe asked in {row['api_ms']:.0f} ms, "
                f"first frame at root {row['root']}, edge {row['edge']}"
            )
            current = target
        result["switches"] = switches
        return result
    finally:
        context.close()
        loop.run(programme.close())


# -- Janus cost per subscriber ------------------------------------------------------------------------


def run_cpu(loop: Loop, browser, edge: JanusNode) -> dict:
    pid = edge.pid
    idle_cpu, idle_rss = measure_cpu(pid, 3.0)

    mounts = Streaming(JanusClient.for_node(edge), edge.admin_key)

    async def make_mount() -> dict:
        stream = await mounts.create_rtp(2, video_port=0, audio_port=0, secret="bench")
        return {p["mid"]: p["port"] for p in stream["ports"]}

    async def viewers() -> int:
        return int((await mounts.info(2, secret="bench")).get("viewers", 0))

    ports = loop.run(make_mount())
    feed = SyntheticFeed(
        [("127.0.0.1", ports["v"], ports["a"])], label="bench-media CPU", log_path=VAR / "feed-cpu.log"
    )
    feed.start()
    context, page = new_page(browser)
    levels = {}
    try:
        time.sleep(2.0)
        fed_cpu, fed_rss = measure_cpu(pid)
        have = 0
        for level in CPU_LEVELS:
            while have < level:
                batch = min(10, level - have)
                page.evaluate("([s, t, n]) => MB.addSubscribers(s, t, 2, n, 15)", [edge.ws_url, TOKEN, batch])
                have += batch
            deadline = time.monotonic() + 10
            while True:
                stats = page.evaluate("MB.subscriberStats()")
                if stats["live"] >= level or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            time.sleep(2.0)
            before = page.evaluate("MB.subscriberStats()")
            cpu, rss = measure_cpu(pid)
            after = page.evaluate("MB.subscriberStats()")
            janus_viewers = loop.run(viewers())
            seconds = max(0.001, (after["at"] - before["at"]) / 1000)
            levels[level] = {
                "cpu_pct": cpu,
                "rss_mib": rss,
                "live": after["live"],
                "janus_viewers": janus_viewers,
                "kbit_per_sub": 8 * (after["bytes"] - before["bytes"]) / 1000 / seconds / max(1, after["live"]),
                "fps_per_sub": (after["frames"] - before["frames"]) / seconds / max(1, after["live"]),
            }
            log(f"  {level:>3} subscribers: Janus {cpu:.1f} % of a core, RSS {rss:.1f} MiB, {levels[level]}")
        page.evaluate("MB.dropSubscribers()")
    finally:
        context.close()
        feed.stop()
    return {"idle_cpu_pct": idle_cpu, "idle_rss_mib": idle_rss, "fed_cpu_pct": fed_cpu, "fed_rss_mib": fed_rss,
            "levels": levels}  # fmt: skip


# -- HLS ----------------------------------------------------------------------------------------------


class RtpProbe:
    """A UDP socket recording (arrival wall time, RTP timestamp) of the feed's video packets."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.packets: list[tuple[float, int]] = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped:
            try:
                data = self.sock.recv(2048)
            except TimeoutError:
                continue
            if len(data) >= 12:
                self.packets.append((time.time(), struct.unpack("!I", data[4:8])[0]))

    def origin(self) -> float:
        """Wall time at which the feed emitted its first frame (pts 0): min of arrival - pts."""
        first_ts = self.packets[0][1]
        return min(arrival - ((ts - first_ts) % 2**32) / 90000 for arrival, ts in self.packets)

    def close(self) -> None:
        self.stopped = True
        self.thread.join(1)
        self.sock.close()


def run_hls() -> dict:
    hls_v, hls_a = free_udp_pair()
    probe_v, probe_a = free_udp_pair()
    hls = HlsPackager("bench", hls_v, hls_a, VAR / "hls", work_dir=VAR)
    probe = RtpProbe(probe_v)
    feed = SyntheticFeed(
        [("127.0.0.1", hls_v, hls_a), ("127.0.0.1", probe_v, probe_a)], label="bench-media HLS",
        log_path=VAR / "feed-hls.log",
    )  # fmt: skip
    hls.start()
    time.sleep(0.3)
    feed.start()
    appeared: dict[int, float] = {}
    durations: dict[int, float] = {}
    target = 1.0
    try:
        deadline = time.monotonic() + HLS_SECONDS
        while time.monotonic() < deadline:
            now = time.time()
            try:
                text = hls.playlist_path.read_text()
            except FileNotFoundError:
                text = ""
            duration = None
            for line in text.splitlines():
                if line.startswith("#EXT-X-TARGETDURATION:"):
                    target = float(line.split(":")[1])
                elif line.startswith("#EXTINF:"):
                    duration = float(line.split(":")[1].rstrip(","))
                elif (m := re.fullmatch(r"seg_(\d+)\.ts", line)) and duration is not None:
                    k = int(m.group(1))
                    appeared.setdefault(k, now)
                    durations[k] = duration
            time.sleep(0.02)
    finally:
        feed.stop()
        hls.stop()
        probe.close()
    origin = probe.origin()
    delays = []
    end = 0.0
    for k in sorted(durations):
        end += durations[k]
        if k > 0:  # segment 0 also carries the packager's start-up (probing the streams)
            delays.append(appeared[k] - (origin + end))
    delay = statistics.median(delays)
    return {
        "segments": len(durations),
        "target_s": target,
        "mean_segment_s": statistics.mean(durations.values()),
        "first_segment_after_feed_s": appeared[min(appeared)] - feed.started_at,
        "delay_after_segment_end_s": {"p50": delay, "max": max(delays), "min": min(delays)},
        "behind_live_holdback3_s": delay + 3 * target,
        "behind_live_min_s": delay + statistics.mean(durations.values()),
        "probe_packets": len(probe.packets),
    }


def main() -> None:
    started = time.monotonic()
    load_start = os.getloadavg()
    log(f"bench-media: {time.strftime('%Y-%m-%d %H:%M:%S')} UTC, load average {load_start}, {os.cpu_count()} cores")
    VAR.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    loop = Loop()
    root, edge = start_nodes()
    log(f"  root {root.http_url} (pid {root.pid}), edge {edge.http_url} (pid {edge.pid})")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                log(f"1-2. programme latency and switches ({time.monotonic() - started:.0f} s)")
                prog = run_programme(loop, browser, root, edge)
                log(f"3. Janus CPU and memory per subscriber, edge ({time.monotonic() - started:.0f} s)")
                cpu = run_cpu(loop, browser, edge)
            finally:
                browser.close()
    finally:
        root.stop()
        edge.stop()
    log(f"4. HLS behind live ({time.monotonic() - started:.0f} s)")
    hls = run_hls()
    log(f"5. the product's switch: director's click → kiosks on two edges ({time.monotonic() - started:.0f} s)")
    product = media_switch.run(PRODUCT_SWITCHES)
    log(f"  {product}")
    log(f"6. latency at a kiosk on another host through an edge on a third ({time.monotonic() - started:.0f} s)")
    import media_remote  # bench/media_remote.py (it imports this module: not at the top)

    remote = media_remote.run()
    log(f"  {remote}")
    log(f"7. a SIP room system: floor, programme → hall, gateway CPU ({time.monotonic() - started:.0f} s)")
    import media_sip  # bench/media_sip.py (issue 18)

    sip = media_sip.run()
    log(f"  {sip}")
    load_end = os.getloadavg()

    root_lat, edge_lat, base_lat = prog["root"], prog["edge"], prog["baseline"]
    # A kiosk that showed no frame of the new source within SWITCH_WAIT counts as a missed switch.
    switch_worst = [max(s["root"], s["edge"]) for s in prog["switches"] if s["root"] and s["edge"]]
    switch_missed = sum(1 for s in prog["switches"] for k in ("root", "edge") if s[k] is None)
    switch_each = [s[k] for s in prog["switches"] for k in ("root", "edge") if s[k] is not None]
    top = max(CPU_LEVELS)
    at_top = cpu["levels"][top]

    def per_sub(level: int) -> tuple[float, float]:
        fig = cpu["levels"][level]
        viewers = max(1, fig["janus_viewers"])  # viewers Janus serves (its own count)
        return (
            max(0.0, (fig["cpu_pct"] - cpu["fed_cpu_pct"]) / viewers),
            max(0.0, (fig["rss_mib"] - cpu["fed_rss_mib"]) / viewers),
        )

    # The headline comes from the highest level at which every viewer Janus served was seen receiving
    # at least 80 % of the feed's bitrate in the page (so Janus's work was not shortened by a browser
    # that could not keep up); the figure at 50 is printed beside it.
    verified = [
        n
        for n, fig in cpu["levels"].items()
        if fig["live"] >= fig["janus_viewers"] and fig["kbit_per_sub"] >= 0.8 * FEED_KBIT
    ]
    basis = max(verified) if verified else top
    cpu_per_sub, mib_per_sub = per_sub(basis)
    cpu_per_sub_top, mib_per_sub_top = per_sub(top)
    subs_per_node = math.floor(CPU_BUDGET_PCT / cpu_per_sub) if cpu_per_sub else None
    nodes = math.ceil(POINTS / subs_per_node) if subs_per_node else None

    log("")
    log(f"programme latency (ms)      p50 / p95     frames  fps   unreadable   codec {prog['publisher_codec']}")
    for name, fig in (("root kiosk", root_lat), ("edge kiosk", edge_lat), ("baseline (no Janus)", base_lat)):
        log(f"  {name:<24} {fig['p50']} / {fig['p95']}   {fig['frames']:>5}  {fig['fps']:.1f}  {fig['unreadable']}")
    log(f"  page clock vs Python clock: {prog['clock_skew_ms']:+.1f} ms (± {prog['clock_uncertainty_ms']:.1f})")
    log(
        f"switch (ms, request → first frame of the new source): each kiosk p50 "
        f"{statistics.median(switch_each):.0f}, max {max(switch_each):.0f}; "
        f"slowest kiosk per switch p50 {statistics.median(switch_worst) if switch_worst else None}; "
        f"missed (no frame of the new source within {SWITCH_WAIT} s) {switch_missed}"
    )
    log(f"Janus (edge) CPU % of one core: idle {cpu['idle_cpu_pct']:.1f}, fed, no viewer {cpu['fed_cpu_pct']:.1f}, "
        + ", ".join(f"{n} subs {v['cpu_pct']:.1f}" for n, v in cpu["levels"].items()))  # fmt: skip
    log(f"Janus (edge) RSS MiB: idle {cpu['idle_rss_mib']:.1f}, fed {cpu['fed_rss_mib']:.1f}, "
        + ", ".join(f"{n} subs {v['rss_mib']:.1f}" for n, v in cpu["levels"].items()))  # fmt: skip
    log(
        f"per subscriber at {basis} (delivery verified: {verified}); at {top}: {cpu_per_sub_top:.3f} % CPU, "
        f"{mib_per_sub_top:.3f} MiB"
    )
    log(f"per subscriber: {cpu_per_sub:.3f} % CPU, {mib_per_sub:.3f} MiB → {subs_per_node} per node at "
        f"{CPU_BUDGET_PCT:.0f} % of a core → {nodes} nodes for {POINTS} points")  # fmt: skip
    log(f"HLS: {hls}")
    log(f"load average start {load_start}, end {load_end}; whole run {time.monotonic() - started:.0f} s")

    def r(x, n=1):
        return None if x is None else round(x, n)

    print(json.dumps({
        "root_p50_ms": r(root_lat["p50"]), "root_p95_ms": r(root_lat["p95"]),
        "edge_p50_ms": r(edge_lat["p50"]), "edge_p95_ms": r(edge_lat["p95"]),
        "baseline_p50_ms": r(base_lat["p50"]), "baseline_p95_ms": r(base_lat["p95"]),
        "root_fps": r(root_lat["fps"]), "edge_fps": r(edge_lat["fps"]), "baseline_fps": r(base_lat["fps"]),
        "switch_ms": product.get("switch_ms"), "switch_p95_ms": product.get("switch_p95_ms"),
        "switch_runtime_ms": product.get("switch_runtime_ms"), "product_switches": product.get("switches"),
        "switch_phases_ms": product.get("switch_phases_ms"), "switch_arrived_ms": product.get("switch_arrived_ms"),
        "switch_repoint_cpu_ms": product.get("switch_repoint_cpu_ms"),
        "switch_forward_ms": r(statistics.median(switch_worst)) if switch_worst else None,
        "switch_forward_max_ms": r(max(switch_worst)) if switch_worst else None, "switch_missed": switch_missed,
        "janus_cpu_pct_per_sub": r(cpu_per_sub, 3), "janus_mib_per_sub": r(mib_per_sub, 3),
        "per_sub_basis_subscribers": basis,
        "janus_cpu_pct_per_sub_at_50": r(cpu_per_sub_top, 3), "janus_mib_per_sub_at_50": r(mib_per_sub_top, 3),
        "janus_viewers_at_50": at_top["janus_viewers"], "kbit_per_sub_at_50": r(at_top["kbit_per_sub"]),
        "janus_idle_cpu_pct": r(cpu["idle_cpu_pct"], 2), "janus_fed_cpu_pct": r(cpu["fed_cpu_pct"], 2),
        "janus_cpu_pct_at": {str(n): r(v["cpu_pct"], 2) for n, v in cpu["levels"].items()},
        "subs_per_node": subs_per_node, "nodes_for_10000": nodes,
        "hls_behind_s": r(hls["behind_live_holdback3_s"], 2), "hls_behind_min_s": r(hls["behind_live_min_s"], 2),
        "hls_segment_delay_s": r(hls["delay_after_segment_end_s"]["p50"], 3),
        **remote, **sip,
        "load_avg": [round(x, 2) for x in load_start + load_end],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
