"""Kiosks in the harness's ``clients`` namespace: the product's kiosk page, signed in as point operators,
in one headless Chromium (one browser context per kiosk), watching the programme through the edges.

Used by bench/cluster_media.py and tests/cluster/test_media_cluster.py (run as root, with the harness
up and its media plane started: ``Cluster.start_media``):

    kiosks = Kiosks(cluster, operators)      # operators: [{point_id, cookie}] (deploy/cluster/world.py)
    kiosks.open(6)                            # one by one, each decoding before the next opens
    kiosks.sample()                           # [{point, frames, edge, ice}] from each page's getStats
    kiosks.decoding()                         # how many decode (frames went up within a second)
    kiosks.recovered_after(t0, dead_edge)     # seconds until every kiosk decodes again after a fault
    kiosks.ask_floor(0); kiosks.watch_shapes(); kiosks.shape_seen(t_ms, "narrow")   # the director's switch
    kiosks.force_mode(1, "audio"); kiosks.hears(1)                                # a kiosk forced to audio only
    kiosks.close()

A kiosk's edge is read from the page's PeerConnection (the remote address of the nominated candidate
pair), so "which edge" is what the browser really receives from, not what the server thinks.
Chromium runs in the namespace through a wrapper (``ip netns exec``); Playwright drives it over a pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import time
from pathlib import Path

import harness

CHROMIUM = os.environ.get("DIEMCAU_CHROMIUM", "/usr/bin/chromium")
SESSION_COOKIE = "sessionid"

# What one kiosk page says: video frames decoded by its programme PeerConnection, the edge it
# receives from (remote address of the nominated pair), the ICE state.
LOOK_JS = """
async () => {
  const look = async () => {
    const s = window.kioskState, h = s && s.handles && s.handles.main;
    const pc = h && h.webrtcStuff && h.webrtcStuff.pc;
    if (!pc) return { frames: 0, edge: null, ice: "none", pc: null };
    if (!pc.diemcauId) pc.diemcauId = Math.random().toString(36).slice(2);
    const report = await pc.getStats(); let frames = 0, pair = null; const remote = {};
    report.forEach((x) => {
      if (x.type === "inbound-rtp" && x.kind === "video") frames += x.framesDecoded || 0;
      if (x.type === "candidate-pair" && x.nominated && x.state === "succeeded") pair = x;
      if (x.type === "remote-candidate") remote[x.id] = x;
    });
    const rc = pair ? remote[pair.remoteCandidateId] : null;
    return { frames, edge: rc ? (rc.address || rc.ip || null) : null, ice: pc.iceConnectionState, pc: pc.diemcauId };
  };
  // getStats() of a PeerConnection being torn down may never settle: a look gives up after 5 s.
  const late = new Promise((ok) => setTimeout(() => ok({ frames: 0, edge: null, ice: "no stats", pc: null }), 5000));
  return await Promise.race([look(), late]);
}
"""


# Notes, in every kiosk page, the time (ms since the epoch) of each decoded frame of the programme whose
# shape differs from the frame before: the host's test pattern is 16:9 ("wide"), a kiosk's fake camera
# 4:3 ("narrow"); a switch's time at a kiosk is its first frame of the new source's shape.
WATCH_SHAPES_JS = """() => {
  if (window.shapeWatch) return; window.shapeWatch = true; window.shapeChanges = []; let last = "";
  const v = document.getElementById("main");
  const step = (now, meta) => {
    const shape = meta.width / meta.height > 1.5 ? "wide" : "narrow";
    if (shape !== last) { last = shape; window.shapeChanges.push([performance.timeOrigin + now, shape]); }
    v.requestVideoFrameCallback(step);
  };
  v.requestVideoFrameCallback(step);
}"""

# What an audio-only kiosk hears: samples received by its programme PeerConnection's audio, whether
# its <audio> element plays, the reception mode, and the loudness of what arrives (RMS of the track
# through a Web Audio analyser: the test pattern's tone is not silence; getStats' audioLevel stays 0
# in headless Chromium without an audio device).
HEAR_JS = """
async () => {
  const s = window.kioskState, h = s && s.handles && s.handles.main;
  const pc = h && h.webrtcStuff && h.webrtcStuff.pc, el = document.getElementById("audio-only");
  const out = { samples: 0, rms: 0, mode: window.kioskReach && window.kioskReach.mode,
                playing: !!(el && el.srcObject && !el.paused) };
  if (!pc) return out;
  (await pc.getStats()).forEach((x) => {
    if (x.type === "inbound-rtp" && x.kind === "audio") out.samples += x.totalSamplesReceived || 0;
  });
  const stream = el && el.srcObject;
  if (stream && stream.getAudioTracks().length) {
    if (!window.hearing || window.hearing.stream !== stream) {
      const ctx = new AudioContext(), analyser = ctx.createAnalyser();
      ctx.createMediaStreamSource(stream).connect(analyser);
      window.hearing = { stream, ctx, analyser };
    }
    await window.hearing.ctx.resume();
    await new Promise((ok) => setTimeout(ok, 200));
    const data = new Float32Array(window.hearing.analyser.fftSize);
    window.hearing.analyser.getFloatTimeDomainData(data);
    out.rms = Math.sqrt(data.reduce((a, x) => a + x * x, 0) / data.length);
  }
  return out;
}
"""


def _wrapper(folder: Path) -> Path:
    """An executable that runs Chromium in the clients namespace (Playwright takes a binary path)."""
    path = folder / "chromium-in-clients"
    path.write_text(f'#!/bin/sh\nexec ip netns exec {harness.namespace("clients")} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return path


def _progress(before: dict, after: dict) -> bool:
    """New frames decoded between two looks at one kiosk, on the same PeerConnection."""
    return bool(after["pc"]) and after["pc"] == before["pc"] and after["frames"] > before["frames"]


class Kiosks:
    """Kiosk pages of ``operators`` (dicts with ``point_id`` and ``cookie``) in the clients namespace."""

    def __init__(self, cluster: harness.Cluster, operators: list[dict]) -> None:
        self.cluster = cluster
        self.operators = list(operators)
        self.pages: list = []
        self.points: list[int] = []
        self._pw = self._browser = None
        self.studio = None  # the host studio's page (open_studio): the programme's host, publishing
        self._studio_browser = None

    def _launch(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        # A fake camera and microphone: a kiosk given the floor publishes them (the director's switch).
        # The harness serves plain http (production: https), where a page may not open a camera unless
        # its origin is treated as secure.
        args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                f"--unsafely-treat-insecure-origin-as-secure=http://{harness.address('proxy')}",
                "--disable-features=WebRtcHideLocalIpsWithMdns", "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]
        self._browser = self._pw.chromium.launch(executable_path=str(_wrapper(self.cluster.dir("clients"))),
                                                 headless=True, args=args)

    def open(self, n: int, per_kiosk_timeout: float = 90.0, strict: bool = True) -> None:
        """Open ``n`` kiosk pages one by one; each decodes, and its edge has counted its session (the
        agents' heartbeats carry the load), before the next opens, so new joins spread over the edges.
        ``strict=False`` (the benchmark): a kiosk that does not decode in time stays open and is
        counted by :meth:`decoding`, instead of raising."""
        if self._browser is None:
            self._launch()
        if n > len(self.operators):
            raise ValueError(f"{n} kiosks asked for, {len(self.operators)} operators in the world")
        proxy = harness.address("proxy")
        for op in self.operators[len(self.pages): n]:
            load_before = self.edge_load()
            context = self._browser.new_context(viewport={"width": 640, "height": 400})
            context.add_cookies([{"name": SESSION_COOKIE, "value": op["cookie"], "domain": proxy, "path": "/"}])
            context.set_default_timeout(60_000)  # a loaded machine: evaluate() and pages may be slow
            page = context.new_page()
            page.goto(f"{self.cluster.url}live/points/{op['point_id']}/kiosk/", wait_until="domcontentloaded",
                      timeout=120_000)
            self.pages.append(page)
            self.points.append(op["point_id"])
            try:
                harness.wait_for(f"kiosk of point {op['point_id']} decoding", lambda p=page: self._decodes(p),
                                 per_kiosk_timeout)
                harness.wait_for("the edges' load counting the new kiosk",
                                 lambda b=load_before: self.edge_load() > b, 15)
            except RuntimeError:
                if strict:
                    raise

    def open_page(self, path: str, cookie: str):
        """Another page of the product in the clients namespace's Chromium (e.g. the director's console)."""
        if self._browser is None:
            self._launch()
        context = self._browser.new_context(viewport={"width": 1280, "height": 860})
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "domain": harness.address("proxy"),
                              "path": "/"}])
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.goto(f"{self.cluster.url}{path}", wait_until="domcontentloaded", timeout=120_000)
        return page

    def edge_load(self) -> int:
        """Sessions open on the agents' edges, as their last heartbeats said."""
        out = self.cluster.psql(None, "SELECT coalesce(sum(load), 0) FROM live_livenode WHERE agent")
        return int(out.strip() or 0)

    @staticmethod
    def _look(page) -> dict:
        try:
            return page.evaluate(LOOK_JS)
        except Exception as exc:  # a page navigating or crashed: not decoding
            return {"frames": 0, "edge": None, "ice": f"error: {str(exc)[:60]}", "pc": None}

    def _decodes(self, page, within: float = 1.0) -> bool:
        first = self._look(page)
        time.sleep(within)
        return _progress(first, self._look(page))

    def sample(self) -> list[dict]:
        return [{"point": point, **self._look(page)} for point, page in zip(self.points, self.pages, strict=True)]

    def decoding(self, within: float = 1.5, tries: int = 3) -> int:
        """How many kiosks decode: frames decoded went up within ``within`` seconds (the best of
        ``tries`` looks, so a kiosk between two keyframes or renegotiating is not counted out)."""
        best = 0
        for _ in range(tries):
            before = self.sample()
            time.sleep(within)
            after = self.sample()
            best = max(best, sum(1 for b, a in zip(before, after, strict=True) if _progress(b, a)))
            if best == len(self.pages):
                break
        return best

    def on_edge(self, address: str, looks: int = 3) -> list[int]:
        """Indices of the kiosks receiving from ``address`` (over a few looks: a page whose stats did
        not name its candidate pair at one look is named at the next)."""
        found: set[int] = set()
        for _ in range(looks):
            found |= {i for i, look in enumerate(self.sample()) if look["edge"] == address}
        return sorted(found)

    def by_edge(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for look in self.sample():
            counts[str(look["edge"])] = counts.get(str(look["edge"]), 0) + 1
        return counts

    def recovered_after(self, t0: float, dead_address: str | None = None, only: list[int] | None = None,
                        timeout: float = 30.0, every: float = 0.25) -> dict:
        """Seconds from ``t0`` (time.monotonic() of the fault) until each kiosk decodes again.

        A kiosk (of ``only``, indices; default all) has recovered when, after a look at which its picture
        had stopped (no new frame on the same PeerConnection, or a new PeerConnection), its frames go up
        again on one PeerConnection, from an edge other than ``dead_address``. Returns
        ``{"recovered_s": the slowest or None, "each_s": [...], "stalled": n}``.
        """
        watched = list(range(len(self.pages))) if only is None else list(only)
        last = {i: self._look(self.pages[i]) for i in watched}
        stalled = dict.fromkeys(watched, False)
        done: dict[int, float | None] = dict.fromkeys(watched)
        deadline = t0 + timeout
        while time.monotonic() < deadline and any(d is None for d in done.values()):
            time.sleep(every)
            now = time.monotonic()
            for i in watched:
                if done[i] is not None:
                    continue
                look = self._look(self.pages[i])
                moved_on = dead_address is None or (look["edge"] and look["edge"] != dead_address)
                if _progress(last[i], look):
                    if stalled[i] and moved_on:
                        done[i] = now - t0
                else:
                    stalled[i] = True
                last[i] = look
        each = [round(d, 2) if d is not None else None for d in done.values()]
        ok = bool(each) and all(d is not None for d in each)
        return {"recovered_s": max(each) if ok else None, "each_s": each, "stalled": sum(stalled.values())}

    # -- the director's switch and the audio-only mode (issue 13's "Done when")
    def ask_floor(self, index: int, who: str = "Nguyễn Văn An, hiệu trưởng") -> int:
        """Kiosk ``index`` asks for the floor (its operator types who speaks and clicks); its point id,
        once the request is in the database."""
        page, point = self.pages[index], self.points[index]
        page.fill("#floor-who", who)
        page.click("#floor-ask")
        harness.wait_for(f"the floor request of point {point}", lambda: self.cluster.psql(None, (
            f"SELECT count(*) FROM live_floorrequest WHERE point_id = {point} AND state = 'requested'"))
            .strip() == "1", 60)
        return point

    def watch_shapes(self) -> None:
        """Start noting the shape of every decoded programme frame in every kiosk (:data:`WATCH_SHAPES_JS`)."""
        for page in self.pages:
            page.evaluate(WATCH_SHAPES_JS)

    def shape_seen(self, since_ms: float, shape: str, only: list[int] | None = None,
                   timeout: float = 20.0) -> list[float | None]:
        """Milliseconds from ``since_ms`` (epoch) to each kiosk's first frame of ``shape`` after it (None:
        not within ``timeout`` seconds)."""
        watched = list(range(len(self.pages))) if only is None else list(only)
        found: dict[int, float | None] = dict.fromkeys(watched)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and None in found.values():
            for i in [i for i, t in found.items() if t is None]:
                with contextlib.suppress(Exception):  # a page busy a moment: looked at again
                    changes = self.pages[i].evaluate("() => window.shapeChanges || []")
                    found[i] = next((t - since_ms for t, s in changes if t >= since_ms and s == shape), None)
            time.sleep(0.1)
        return [round(t, 1) if t is not None else None for t in found.values()]

    def force_mode(self, index: int, mode: str) -> None:
        """The operator of kiosk ``index`` forces a reception mode (the page's select: the product's API)."""
        self.pages[index].select_option("#reception", mode)

    def hears(self, index: int, within: float = 1.5) -> dict:
        """Whether kiosk ``index`` plays sound: audio-only mode, its <audio> playing, samples received
        growing over ``within`` seconds, and what arrives louder than silence (the test pattern's tone)."""
        page = self.pages[index]
        before = page.evaluate(HEAR_JS)
        time.sleep(within)
        after = page.evaluate(HEAR_JS)
        grew = after["samples"] > before["samples"]
        return {**after, "samples_grew": grew,
                "playing_sound": bool(after["mode"] == "audio" and after["playing"] and grew and after["rms"] > 0.001)}

    def close(self) -> None:
        for browser in (self._studio_browser, self._browser):
            with contextlib.suppress(Exception):  # a browser already gone
                if browser is not None:
                    browser.close()
        self._studio_browser = self.studio = None
        with contextlib.suppress(Exception):
            if self._pw is not None:
                self._pw.stop()
        self._browser = self._pw = None
        self.pages, self.points = [], []


# Clicks a button of the director's console; the click's time (ms since the epoch, the kiosks' clock).
CLICK_JS = """(sel) => { const t = performance.timeOrigin + performance.now();
                         document.querySelector(sel).click(); return t; }"""


# Whether a kiosk shows the studio's camera: 16:9 (the studio's test card, :func:`studio_media`) and not
# the runtime's synthetic host (640×360); a point's camera is 4:3.
STUDIO_SHOWN_JS = """() => { const v = document.getElementById("main");
  return v.videoWidth > 0 && v.videoWidth !== 640 && v.videoWidth / v.videoHeight > 1.5; }"""
STUDIO_SIZE = (320, 180)


def studio_media(folder: Path) -> tuple[Path, Path]:
    """The studio's camera and microphone: a 16:9 test card (Y4M, 320×180, 15 fps, 4 s, looped by
    Chromium) and a steady 440 Hz tone (WAV). Chromium's own fake camera gives 4:3 whatever the page
    asks for, the same shape as a point's camera, so a switch between them could not be seen."""
    video, audio = folder / "studio.y4m", folder / "studio.wav"
    size = f"{STUDIO_SIZE[0]}x{STUDIO_SIZE[1]}"
    if not video.exists():
        harness.run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate=15", "-t", "4", "-pix_fmt", "yuv420p", str(video))
    if not audio.exists():
        harness.run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:r=48000",
                    "-t", "4", "-ac", "1", str(audio))
    return video, audio


def open_studio(k: Kiosks, conference: int, director_cookie: str, timeout: float = 90.0) -> float:
    """The host studio's page publishing (a Chromium of its own in the clients namespace, its camera a
    16:9 test card): the programme's host is then a WebRTC publisher that keeps running, switched by
    re-pointing forwarders and asked for a keyframe, as a real studio, instead of the runtime's
    synthetic test pattern (an ffmpeg started at each switch back to the host). Stays open until
    :meth:`Kiosks.close`. Returns the seconds until every kiosk shows the studio."""
    if k.studio is not None:
        return 0.0
    if k._browser is None:
        k._launch()
    video, audio = studio_media(k.cluster.dir("clients"))
    args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={video}",
            f"--use-file-for-fake-audio-capture={audio}",
            f"--unsafely-treat-insecure-origin-as-secure=http://{harness.address('proxy')}",
            "--disable-features=WebRtcHideLocalIpsWithMdns", "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]
    k._studio_browser = k._pw.chromium.launch(executable_path=str(_wrapper(k.cluster.dir("clients"))),
                                               headless=True, args=args)
    context = k._studio_browser.new_context(viewport={"width": 640, "height": 400})
    context.add_cookies([{"name": SESSION_COOKIE, "value": director_cookie, "domain": harness.address("proxy"),
                          "path": "/"}])
    context.set_default_timeout(60_000)
    studio = context.new_page()
    studio.goto(f"{k.cluster.url}live/conference/{conference}/studio/", wait_until="domcontentloaded",
                timeout=120_000)
    t0 = time.monotonic()
    studio.click("#go-camera")
    k.studio = studio
    try:
        harness.wait_for("every kiosk showing the studio's camera", lambda: all(_shown(p) for p in k.pages), timeout)
    except RuntimeError as exc:
        sizes = [p.evaluate("() => [document.getElementById('main').videoWidth, document.getElementById('main')"
                            ".videoHeight, window.kioskReach && window.kioskReach.mode]") for p in k.pages]
        raise RuntimeError(f"{exc}: kiosks show {sizes}") from None
    return round(time.monotonic() - t0, 2)


def _shown(page) -> bool:
    try:
        return bool(page.evaluate(STUDIO_SHOWN_JS))
    except Exception:  # a page busy a moment: looked at again
        return False


def switch_and_back(cluster: harness.Cluster, k: Kiosks, conference: int, director_cookie: str,
                    publisher: int = 0, switches: int = 3, studio: bool = False, keep_main: bool = False) -> dict:
    """The director's switch through the product's console: kiosk ``publisher`` asks for the floor, the
    director (the console page, signed in with ``director_cookie``) gives it (its fake camera on air),
    then clicks host and point in turn, ``switches`` times (odd: the host on air at the end), and takes
    the floor back. Every kiosk is on WebRTC main first (the operator's forced mode: an automatic kiosk
    may have stepped down to the low rendition, re-encoded at the root). Each switch is timed from the
    click to the first frame of the new source's shape at the slower kiosk, every kiosk counted (they
    watch through both edges): ``cluster_switch_ms`` (median), ``cluster_switch_each_ms``,
    ``cluster_switch_missed`` (kiosks that did not show a switch within 20 s), ``cluster_floor_on_air_s``
    (the grant: the kiosk starts publishing, then the switch). The host is the runtime's synthetic test
    pattern, or with ``studio`` the studio page publishing (:func:`open_studio`; it stays open)."""
    shapes = {"host": "wide", "point": "narrow"}
    forced = [i for i in range(len(k.pages)) if k.pages[i].evaluate("() => window.kioskReach.forced") != "main"]
    for i in forced:
        k.force_mode(i, "main")
    harness.wait_for("every kiosk decoding WebRTC main", lambda: k.decoding() == len(k.pages), 90)
    by_edge = k.by_edge()
    studio_s = open_studio(k, conference, director_cookie) if studio else None
    k.watch_shapes()
    console = k.open_page(f"live/conference/{conference}/director/", director_cookie)
    point = k.ask_floor(publisher)
    queued = f"#queue li[data-point='{point}'] [data-act=grant]"
    console.wait_for_selector(queued, timeout=60_000)
    on_air = k.shape_seen(console.evaluate(CLICK_JS, queued), "narrow", timeout=60)
    out: dict = {"cluster_switch_kiosks_by_edge": by_edge, "cluster_switch_host": "studio" if studio else "feed",
                 "cluster_studio_on_air_s": studio_s,
                 "cluster_floor_on_air_s": round(max(on_air) / 1000, 2) if None not in on_air else None}
    each, missed, clicks = [], 0, []
    for i in range(switches):
        source = "host" if i % 2 == 0 else "point"
        time.sleep(0.8)  # the source settles, as a director's next click would wait
        clicked = console.evaluate(CLICK_JS, f"[data-source='{source}']")
        seen = k.shape_seen(clicked, shapes[source], timeout=20)
        missed += sum(1 for t in seen if t is None)
        clicks.append((source, clicked, max(seen) if None not in seen else None))
        if None not in seen:
            each.append(max(seen))
    taken = f"#queue li[data-point='{point}'] [data-act=revoke]"
    with contextlib.suppress(Exception):  # the floor back: the kiosk stops publishing
        console.click(taken, timeout=20_000)
    console.context.close()
    # The operators' choice back to automatic (the page stays on WebRTC main until it judges), unless
    # ``keep_main``: a loaded kiosk set back to automatic steps down to the low rendition (640x360, whatever
    # the source) and, forced to main again, did not come back to it within 90 s (kiosk.js).
    for i in [] if keep_main else forced:
        k.force_mode(i, "auto")
    out.update(cluster_switch_ms=round(statistics.median(each), 1) if each else None,
               cluster_switch_each_ms=each, cluster_switch_missed=missed,
               cluster_switch_phases=switch_phases(cluster, clicks))
    return out


def switch_phases(cluster: harness.Cluster, clicks: list[tuple[str, float, float | None]]) -> list[dict]:
    """Where each switch's time went, in ms from the director's click (the same machine's clock): the
    runtime saw the change (``seen``: the console's request, the write, PostgreSQL's NOTIFY), stopped the
    old forwarders (``stopped``), forwarded the new source (``forwarded``), was done (``done``: the
    keyframe asked for), and the first frame of the new source at the slower kiosk (``frame``). From
    the active runtime's log (``switch applied`` lines, live/runtime_day.py)."""
    host = cluster.runtime_host() or harness.RUNTIME_HOSTS[0]
    path = cluster.dir(host) / "runtime.log"
    applied = []
    for line in (path.read_text(errors="replace") if path.exists() else "").splitlines():
        if "switch applied " in line:
            with contextlib.suppress(ValueError):
                applied.append(json.loads(line.split("switch applied ", 1)[1]))
    out = []
    for source, clicked, frame in clicks:
        entry = next((e for e in applied if e.get("seen_at", 0) * 1000 >= clicked - 50), None)
        row = {"to": source, "frame": round(frame) if frame is not None else None}
        for phase in ("seen", "stopping", "stopped", "forwarded", "done"):
            at = entry.get(f"{phase}_at") if entry else None
            row[phase] = round(at * 1000 - clicked) if at else None
        out.append(row)
    return out


def audio_only(k: Kiosks, index: int = 1, timeout: float = 40.0, then: str = "auto") -> dict:
    """Kiosk ``index``'s operator forces audio only: it plays sound (``audio_only_playing``); then forced
    back to WebRTC main, decoding pictures again (``audio_only_back_to_main``), then automatic again."""
    k.force_mode(index, "audio")
    heard: dict = {}

    def hearing() -> bool:
        heard.update(k.hears(index))
        return heard["playing_sound"]
    with contextlib.suppress(RuntimeError):
        harness.wait_for("the audio-only kiosk playing sound", hearing, timeout)
    k.force_mode(index, "main")
    back = False
    with contextlib.suppress(RuntimeError):
        harness.wait_for("the kiosk decoding pictures again", lambda: k._decodes(k.pages[index]), timeout)
        back = True
    if then != "main":
        k.force_mode(index, then)  # automatic again, on WebRTC main
    return {"audio_only_playing": bool(heard.get("playing_sound")), "audio_only_heard": heard,
            "audio_only_back_to_main": back}
