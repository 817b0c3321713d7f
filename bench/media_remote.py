"""`edge_remote_p95_ms` for bench/media.py: the programme's latency at a kiosk on one host through an
edge Janus on another, the root on a third (issue 13). Run as root (network namespaces); elsewhere the
figure is None with the reason.

Alone:  PYTHONPATH=src .venv/bin/python bench/media_remote.py   (last line: JSON)

Three namespaces on a bridge of their own (``mxbr0``, 10.214.0.0/24, prefix ``mx-``, so it runs beside
a cluster harness): ``root`` (.21) and ``edge`` (.22) each run a Janus bound to their address (the
Admin API too, open to this machine's bridge address, from which the benchmark drives them);
``clients`` (.100) runs Chromium. bench/media.py's page (media_page.js) and method: a canvas sender
draws its clock into the frame and publishes it to the root's VideoRoom (H.264); the root
``rtp_forward``s it to the edge host's address; the kiosk in the clients namespace watches the edge's
mountpoint and reads every decoded frame back (one page, one clock). Baseline in the same page: a
canvas sent straight from one RTCPeerConnection to another (no Janus, no network hop).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT_DIR = HERE.parent
sys.path.insert(0, str(ROOT_DIR / "deploy" / "cluster"))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

import media  # noqa: E402  (bench/media.py: the page, the Programme, the figures)

PREFIX, BRIDGE, SUBNET = "mx-", "mxbr0", "10.214.0"
HOSTS = {"root": 21, "edge": 22, "clients": 100}
BASES = {"root": 26000, "edge": 27000}


def addr(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


def network_up() -> None:
    network_down()
    harness.run("ip", "link", "add", BRIDGE, "type", "bridge")
    harness.run("ip", "addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
    harness.run("ip", "link", "set", BRIDGE, "up")
    for host in HOSTS:
        ns, veth = f"{PREFIX}{host}", f"mxv-{host}"
        harness.run("ip", "netns", "add", ns)
        harness.run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        harness.run("ip", "link", "set", veth, "master", BRIDGE)
        harness.run("ip", "link", "set", veth, "up")
        harness.run("ip", "-n", ns, "addr", "add", f"{addr(host)}/24", "dev", "eth0")
        harness.run("ip", "-n", ns, "link", "set", "eth0", "up")
        harness.run("ip", "-n", ns, "link", "set", "lo", "up")
    # Chromium gathers host candidates only on an interface with a default route: without one, the
    # baseline's two PeerConnections in the page have no candidate to meet on.
    harness.run("ip", "-n", f"{PREFIX}clients", "route", "add", "default", "via", f"{SUBNET}.1")


def network_down() -> None:
    for host in HOSTS:
        ns = f"{PREFIX}{host}"
        if Path(f"/run/netns/{ns}").exists():
            for pid in harness.run("ip", "netns", "pids", ns, check=False, quiet=True).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            harness.run("ip", "netns", "del", ns, check=False, quiet=True)
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        harness.run("ip", "link", "del", BRIDGE, check=False, quiet=True)


def in_ns(host: str, binary: str) -> Path:
    """An executable running ``binary`` in ``host``'s namespace (JanusNode and Playwright take a path)."""
    media.VAR.mkdir(parents=True, exist_ok=True)
    path = media.VAR / f"{Path(binary).name}-in-{PREFIX}{host}"
    path.write_text(f'#!/bin/sh\nexec ip netns exec {PREFIX}{host} {binary} "$@"\n')
    path.chmod(0o755)
    return path


def janus_on(host: str) -> media.JanusNode:
    a = addr(host)
    return media.JanusNode(f"remote-{host}", BASES[host], folder=media.VAR / f"janus-remote-{host}", bind_ip=a,
                           admin_bind_ip=a, admin_acl=f"{a},{SUBNET}.1", session_timeout=0, die_with_parent=False,
                           janus_binary=str(in_ns(host, "/usr/bin/janus")))


class RemoteProgramme(media.Programme):
    """bench/media.py's Programme with the edge on another host: its mountpoint bound to the edge's
    address, the root's forwarder sent there."""

    async def setup(self, root, edge) -> None:
        for node in (root, edge):
            async with media.JanusAdmin.for_node(node) as admin:
                await admin.add_token(media.TOKEN)
        await self.rooms.create(media.ROOM, secret="bench", publishers=6, videocodec="h264",
                                h264_profile="42e01f", bitrate=1_000_000, fir_freq=0)
        stream = await self.edge_mounts.create_rtp(1, video_port=0, audio_port=0, secret="bench", iface=edge.bind_ip)
        self.ports["edge"] = next(p["port"] for p in stream["ports"] if p["mid"] == "v")
        self.edge_address = edge.bind_ip

    async def forward(self, publisher: int, mid: str, destination: str) -> None:
        made = await self.rooms.rtp_forward(media.ROOM, publisher, host=self.edge_address, secret="bench",
                                            streams=[{"mid": mid, "port": self.ports[destination], "pt": 96}])
        self.forwarders[destination] = (publisher, int(made[0]["stream_id"]))


def _measure(loop, browser, root, edge) -> dict:
    programme = RemoteProgramme(loop, root, edge)
    loop.run(programme.setup(root, edge))
    context, page = media.new_page(browser)
    try:
        for sender, label in ((media.SENDER_A, "A"), (media.SENDER_BASELINE, "baseline")):
            page.evaluate("([id, label]) => { MB.sender(id, label); }", [sender, label])
        pub = page.evaluate("([s, t, r, id]) => MB.publish(s, t, r, id)",
                            [root.http_url, media.TOKEN, media.ROOM, media.SENDER_A])
        loop.run(programme.forward(pub["publisherId"], pub["mid"], "edge"))
        page.evaluate("([s, t]) => MB.watch(s, t, 1, 'edge')", [edge.ws_url, media.TOKEN])
        baseline_codec = page.evaluate("id => MB.loopback(id, 'baseline')", media.SENDER_BASELINE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            loop.run(programme.keyframe(pub))
            time.sleep(0.5)
            if page.evaluate("n => MB.frames(n, 0).frames.length", "edge"):
                break
        time.sleep(2.0)  # warm-up, as bench/media.py
        since = time.time() * 1000
        time.sleep(media.LATENCY_SECONDS)
        out = {"baseline_codec": baseline_codec}
        for name, sender in (("edge", media.SENDER_A), ("baseline", media.SENDER_BASELINE)):
            got = page.evaluate("([n, s]) => MB.frames(n, s)", [name, since])
            out[name] = media.latency_figures(got["frames"], sender) | {"unreadable": got["bad"]}
        return out
    finally:
        context.close()
        loop.run(programme.close())


def run() -> dict:
    """{"edge_remote_p50_ms", "edge_remote_p95_ms", "edge_remote_fps", "edge_remote_baseline_p95_ms"}."""
    reason = harness.available()
    if reason:
        return {"edge_remote_p95_ms": None, "edge_remote_skipped": reason}
    from playwright.sync_api import sync_playwright

    loop = media.Loop()
    nodes = []
    try:
        network_up()
        for host in ("root", "edge"):
            nodes.append(janus_on(host))
            nodes[-1].start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(in_ns("clients", media.CHROMIUM)),
                                                 headless=True, args=media.CHROMIUM_ARGS)
            try:
                got = _measure(loop, browser, *nodes)
            finally:
                browser.close()
    finally:
        for node in nodes:
            node.stop()
        network_down()

    def r(x):
        return None if x is None else round(x, 1)
    edge, base = got["edge"], got["baseline"]
    return {"edge_remote_p50_ms": r(edge["p50"]), "edge_remote_p95_ms": r(edge["p95"]),
            "edge_remote_fps": r(edge["fps"]),
            "edge_remote_frames": edge["frames"], "edge_remote_unreadable": edge["unreadable"],
            "edge_remote_baseline_p50_ms": r(base["p50"]), "edge_remote_baseline_p95_ms": r(base["p95"]),
            "edge_remote_baseline_frames": base["frames"], "edge_remote_baseline_codec": got["baseline_codec"]}


if __name__ == "__main__":
    load_start = os.getloadavg()
    figures = run()
    figures["load_avg"] = [round(x, 2) for x in load_start + os.getloadavg()]
    print(json.dumps(figures))
