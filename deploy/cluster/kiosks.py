"""Kiosks in the harness's ``clients`` namespace: the product's kiosk page, signed in as point operators,
in one headless Chromium (one browser context per kiosk), watching the programme through the edges.

Used by bench/cluster_media.py and tests/cluster/test_media_cluster.py (run as root, with the harness
up and its media plane started: ``Cluster.start_media``):

    kiosks = Kiosks(cluster, operators)      # operators: [{point_id, cookie}] (deploy/cluster/world.py)
    kiosks.open(6)                            # one by one, each decoding before the next opens
    kiosks.sample()                           # [{point, frames, edge, ice}] from each page's getStats
    kiosks.decoding()                         # how many decode (frames went up within a second)
    kiosks.recovered_after(t0, dead_edge)     # seconds until every kiosk decodes again after a fault
    kiosks.close()

A kiosk's edge is read from the page's PeerConnection (the remote address of the nominated candidate
pair), so "which edge" is what the browser really receives from, not what the server thinks.
Chromium runs in the namespace through a wrapper (``ip netns exec``); Playwright drives it over a pipe.
"""

from __future__ import annotations

import contextlib
import os
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

    def _launch(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
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

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a browser already gone
            if self._browser is not None:
                self._browser.close()
        with contextlib.suppress(Exception):
            if self._pw is not None:
                self._pw.stop()
        self._browser = self._pw = None
        self.pages, self.points = [], []
