#!/usr/bin/env python3
"""Harness add-ons for issue 13's reach: a hall that reaches the media only through TURN, and an HLS
cache host serving many players. Run as root from the repository root:

    PYTHONPATH=src python deploy/cluster/media_reach.py turn     # prints {"turn_only_client_decoding": ...}
    PYTHONPATH=src python deploy/cluster/media_reach.py hls      # prints the cache's origin/client hits
    python deploy/cluster/media_reach.py down                    # removes what a cut-short run left

It builds a network of its own beside the harness's (its own prefix ``mr-``, bridges ``mrbr0`` and
``mrbr1`` and subnets, so it runs while another harness is up) with the harness's functions:

    private 10.231.0.0/24 (bridge mrbr0, this machine .1: the control plane)
        media-root  .21  the HLS origin: nginx (:8080) serving the packager's folder behind the signed
                         links (``deploy/nginx/hls-secure-link.conf``)
        media-edge  .22  Janus (a Streaming mountpoint of the programme, a test-pattern feed)
        turn        .30  coturn's relay leg
        hls-cache   .40  nginx caching the origin (``deploy/nginx/hls-cache.conf.template``)
    public  10.232.0.0/24 (bridge mrbr1, no address of this machine: nothing routes between the two)
        turn        .30  coturn (3478 UDP and TCP, TLS on 443) and nginx carrying the Janus WebSocket
                         to the edge (the signalling a front proxy carries)
        hls-cache   .40  the cache's public leg, where players fetch
        clients     .100 Chromium (through a wrapper that runs it in the namespace) and the players

The clients host has a route to the public subnet only: the edge's media addresses are unreachable
from it (no route; the TURN host does not forward packets), so a picture there came through coturn.
Standard library plus diemcau's Janus helpers (no Django).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

import harness  # noqa: E402
from harness import render_template, run, tcp_open, wait_for  # noqa: E402

PREFIX = "mr-"
PRIVATE, PUBLIC = "10.231.0", "10.232.0"
BRIDGES = {"private": "mrbr0", "public": "mrbr1"}
# host -> {network: last octet}
HOSTS = {"media-root": {"private": 21}, "media-edge": {"private": 22}, "turn": {"private": 30, "public": 30},
         "hls-cache": {"private": 40, "public": 40}, "clients": {"public": 100}}
EDGE_BASE = 21000        # the edge Janus's port block (docs/live-media.md, "A node")
SIGNAL_PORT = 8188       # the WebSocket signalling on the TURN host's public leg
TURN_TLS_PORT = 443
ORIGIN_PORT = 8080       # the edge's HLS origin (nginx, plain files)
CHROMIUM = os.environ.get("DIEMCAU_CHROMIUM", "/usr/bin/chromium")


def ns(host: str) -> str:
    return f"{PREFIX}{host}"


def addr(host: str, net: str = "private") -> str:
    return f"{PRIVATE if net == 'private' else PUBLIC}.{HOSTS[host][net]}"


# --- the network ------------------------------------------------------------------------------
def network_up() -> None:
    network_down()
    for net, bridge in BRIDGES.items():
        run("ip", "link", "add", bridge, "type", "bridge")
        if net == "private":
            run("ip", "addr", "add", f"{PRIVATE}.1/24", "dev", bridge)
        run("ip", "link", "set", bridge, "up")
    for number, (host, legs) in enumerate(HOSTS.items()):
        run("ip", "netns", "add", ns(host))
        run("ip", "-n", ns(host), "link", "set", "lo", "up")
        for i, (net, octet) in enumerate(legs.items()):
            veth = f"mrv{number}{net[:3]}"
            run("ip", "link", "add", veth, "type", "veth", "peer", "name", f"eth{i}", "netns", ns(host))
            run("ip", "link", "set", veth, "master", BRIDGES[net])
            run("ip", "link", "set", veth, "up")
            run("ip", "-n", ns(host), "addr", "add", f"{PRIVATE if net == 'private' else PUBLIC}.{octet}/24",
                "dev", f"eth{i}")
            run("ip", "-n", ns(host), "link", "set", f"eth{i}", "up")


def network_down() -> None:
    for host in HOSTS:
        if Path(f"/run/netns/{ns(host)}").exists():
            for pid in run("ip", "netns", "pids", ns(host), check=False, quiet=True).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            run("ip", "netns", "del", ns(host), check=False, quiet=True)
    for bridge in BRIDGES.values():
        if Path(f"/sys/class/net/{bridge}").exists():
            run("ip", "link", "del", bridge, check=False, quiet=True)


def spawn(host: str, var: Path, name: str, argv: list[str]) -> subprocess.Popen:
    """``argv`` in ``host``'s namespace; its output in ``var/<host>-<name>.log``."""
    with open(var / f"{host}-{name}.log", "ab") as out:
        return subprocess.Popen(["ip", "netns", "exec", ns(host), *argv], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def in_ns_wrapper(var: Path, host: str, binary: str) -> Path:
    """An executable that runs ``binary`` in ``host``'s namespace (for tools that take a binary path)."""
    path = var / f"{Path(binary).name}-in-{host}"
    path.write_text(f'#!/bin/sh\nexec ip netns exec {ns(host)} {binary} "$@"\n')
    path.chmod(0o755)
    return path


# --- the media edge ----------------------------------------------------------------------------
def start_edge(var: Path) -> dict:
    """Janus on the edge (API on its private address), the programme mountpoint fed by a test pattern."""
    from diemcau.live.janus_client import JanusClient
    from diemcau.live.janus_node import JanusNode
    from diemcau.live.janus_plugins import Streaming

    node = JanusNode("mr-edge", EDGE_BASE, folder=var / "janus-edge", bind_ip=addr("media-edge"),
                     janus_binary=str(in_ns_wrapper(var, "media-edge", "/usr/bin/janus")), die_with_parent=False)
    node.start()
    mount_secret = secrets.token_urlsafe(12)

    async def mountpoint():
        async with JanusClient(node.http_url, api_secret=node.api_secret) as client:
            streaming = Streaming(client, node.admin_key)
            made = await streaming.create_rtp(1, video_port=0, audio_port=0, secret=mount_secret,
                                              description="programme", iface="127.0.0.1")
            await streaming.close()
            return made

    made = asyncio.run(mountpoint())
    ports = {p["mid"]: p["port"] for p in made["ports"]}
    video, audio = ports["v"], ports["a"]
    feed = spawn("media-edge", var, "feed", feed_argv(video, audio))
    token = secrets.token_urlsafe(24)
    admin_in_edge(node, {"janus": "add_token", "token": token, "plugins": ["janus.plugin.streaming"]})
    return {"node": node, "feed": feed, "token": token, "ports": (video, audio)}


def feed_argv(video_port: int, audio_port: int, *, size: str = "640x360", rate: int = 15) -> list[str]:
    """ffmpeg: a test pattern and a tone as the programme's RTP (H.264 pt 96, Opus pt 111)."""
    return ["ffmpeg", "-nostdin", "-loglevel", "warning", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}", "-f", "lavfi", "-i", "sine=f=440:r=48000",
            "-map", "0:v", "-c:v", "libx264", "-profile:v", "baseline", "-preset", "ultrafast",
            "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-x264-params", f"keyint={rate}:repeat-headers=1",
            "-b:v", "600k", "-payload_type", "96", "-f", "rtp", f"rtp://127.0.0.1:{video_port}",
            "-map", "1:a", "-c:a", "libopus", "-b:a", "32k", "-ar", "48000", "-ac", "2", "-payload_type", "111",
            "-f", "rtp", f"rtp://127.0.0.1:{audio_port}"]


def admin_in_edge(node, body: dict) -> dict:
    """One Admin API request from inside the edge's namespace (the Admin API is on its loopback)."""
    body = {**body, "transaction": secrets.token_hex(6), "admin_secret": node.admin_secret}
    code = ("import json,sys,urllib.request;r=urllib.request.urlopen(urllib.request.Request(sys.argv[1],"
            "data=sys.argv[2].encode(),headers={'Content-Type':'application/json'}),timeout=5);print(r.read().decode())")
    out = run("ip", "netns", "exec", ns("media-edge"), sys.executable, "-c", code,
              f"http://127.0.0.1:{node.ports.admin}/admin", json.dumps(body)).stdout
    reply = json.loads(out)
    if reply.get("janus") != "success":
        raise RuntimeError(f"admin {body['janus']}: {reply}")
    return reply


# --- TURN -------------------------------------------------------------------------------------
def make_certificate(var: Path, name: str, ip: str) -> tuple[Path, Path]:
    crt, key = var / f"{name}.crt", var / f"{name}.key"
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ip}",
        "-addext", f"subjectAltName=IP:{ip}", "-keyout", str(key), "-out", str(crt))
    key.chmod(0o600)
    return crt, key


def start_turn(var: Path, secret: str) -> subprocess.Popen:
    """coturn on the TURN host: listens on its public leg, relays from its private leg to the edges."""
    crt, key = make_certificate(var, "turn", addr("turn", "public"))
    conf = render_template((ROOT / "deploy" / "coturn" / "turnserver.conf.template").read_text(), {
        "LISTEN_IP": addr("turn", "public"), "RELAY_IP": addr("turn"), "TLS_PORT": str(TURN_TLS_PORT),
        "TLS_CERTIFICATE": str(crt), "TLS_CERTIFICATE_KEY": str(key), "RELAY_MIN_PORT": "49160",
        "RELAY_MAX_PORT": "49660", "SECRET": secret, "REALM": "diemcau.harness",
        "MEDIA_PEERS": f"{PRIVATE}.20-{PRIVATE}.29", "TOTAL_QUOTA": "1000", "PIDFILE": str(var / "turnserver.pid"),
    })
    path = var / "turnserver.conf"
    path.write_text(conf)
    path.chmod(0o600)
    proc = spawn("turn", var, "coturn", ["turnserver", "-c", str(path)])
    wait_for("coturn", lambda: tcp_open(addr("turn", "public"), 3478) or _in_ns_open("turn", "public", 3478),
             20, proc, var / "turn-coturn.log")
    return proc


def _in_ns_open(host: str, net: str, port: int) -> bool:
    code = f"import socket;socket.create_connection(('{addr(host, net)}',{port}),timeout=1)"
    return run("ip", "netns", "exec", ns(host), sys.executable, "-c", code, check=False, quiet=True).returncode == 0


def start_signalling(var: Path) -> subprocess.Popen:
    """nginx on the TURN host's public leg carrying the Janus WebSocket to the edge (as a front proxy does)."""
    conf = var / "signal-nginx.conf"
    conf.write_text(
        "user root;\nworker_processes 1;\ndaemon off;\n"
        f"pid {var / 'signal-nginx.pid'};\nerror_log {var / 'signal-error.log'} warn;\n"
        "events { worker_connections 256; }\nhttp {\n"
        f"  access_log off;\n  client_body_temp_path {var / 'sig-tmp'};\n  proxy_temp_path {var / 'sig-tmp'};\n"
        f"  server {{\n    listen {addr('turn', 'public')}:{SIGNAL_PORT};\n"
        "    location / {\n"
        f"      proxy_pass http://{addr('media-edge')}:{EDGE_BASE + 1};\n"
        "      proxy_http_version 1.1;\n      proxy_set_header Upgrade $http_upgrade;\n"
        "      proxy_set_header Connection \"upgrade\";\n      proxy_read_timeout 3600s;\n    }\n  }\n}\n")
    proc = spawn("turn", var, "signal-nginx", ["nginx", "-c", str(conf)])
    wait_for("signalling nginx", lambda: _in_ns_open("turn", "public", SIGNAL_PORT), 20, proc,
             var / "turn-signal-nginx.log")
    return proc


# The page in the clients namespace: janus.js watches mountpoint 1 through the signalling proxy with
# iceTransportPolicy "relay", and reports what getStats says once frames are decoded.
WATCH_JS = (Path(__file__).resolve().parent / "watch_page.js").read_text()


def watch_through_turn(var: Path, token: str, ice_servers: list[dict]) -> list[dict]:
    """Chromium in the clients namespace watches the programme once per ``ice_servers`` entry (relay only)."""
    from playwright.sync_api import sync_playwright

    static = ROOT / "src" / "diemcau" / "live" / "static" / "live"
    server = f"ws://{addr('turn', 'public')}:{SIGNAL_PORT}"
    results = []
    with sync_playwright() as pw:
        # The harness's TURN certificate is self-signed: Chromium checks a TURN server's certificate
        # (TLS on 443 failed without this flag); in production coturn has a real one.
        args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--ignore-certificate-errors",
                "--disable-features=WebRtcHideLocalIpsWithMdns"]
        browser = pw.chromium.launch(executable_path=str(in_ns_wrapper(var, "clients", CHROMIUM)), headless=True,
                                     args=args)
        try:
            for entry in ice_servers:
                page = browser.new_page()
                page.set_content("<html><body></body></html>")
                page.add_script_tag(path=str(static / "adapter.js"))
                page.add_script_tag(path=str(static / "janus.js"))
                result = page.evaluate(WATCH_JS, {"server": server, "token": token, "iceServers": [entry],
                                                   "iceTransportPolicy": "relay", "needPair": True})
                result["offered"] = entry["urls"]
                results.append(result)
                page.close()
        finally:
            browser.close()
    return results


def turn_only_client_decoding(var: Path | None = None) -> dict:
    """A hall that reaches only the TURN host decodes the programme with ``iceTransportPolicy: relay``.

    Builds the add-on's network, an edge Janus with the programme, coturn and the signalling proxy;
    Chromium in the clients namespace watches once through TURN over UDP, over TCP and over TLS on
    443, each with credentials from :func:`diemcau.live.turn.turn_credentials`. Takes everything
    down afterwards. Returns ``{"turn_only_client_decoding": bool, "edge_reachable_from_clients":
    bool, "by_transport": {...}}`` for bench-cluster's JSON.
    """
    from diemcau.live.turn import turn_credentials

    reason = harness.available()
    if reason:
        return {"turn_only_client_decoding": None, "skipped": reason}
    own = var is None
    var = Path(var or tempfile.mkdtemp(prefix="media-reach-")).resolve()
    var.mkdir(parents=True, exist_ok=True)
    (var / "sig-tmp").mkdir(exist_ok=True)
    edge = None
    try:
        network_up()
        edge = start_edge(var)
        secret = secrets.token_urlsafe(24)
        start_turn(var, secret)
        start_signalling(var)
        username, credential = turn_credentials(secret, int(time.time()) + 600, "point-harness")
        public = addr("turn", "public")
        offers = {"udp": f"turn:{public}:3478?transport=udp", "tcp": f"turn:{public}:3478?transport=tcp",
                  "tls": f"turns:{public}:{TURN_TLS_PORT}?transport=tcp"}
        entries = [{"urls": [url], "username": username, "credential": credential} for url in offers.values()]
        reachable = _in_ns_open_to("clients", addr("media-edge"), EDGE_BASE + 1)
        results = watch_through_turn(var, edge["token"], entries)
        by_transport = dict(zip(offers, results, strict=True))
        ok = all(r.get("decoding") and r.get("candidate_type") == "relay" for r in results)
        return {"turn_only_client_decoding": bool(ok and not reachable), "edge_reachable_from_clients": reachable,
                "by_transport": by_transport}
    finally:
        if edge is not None:
            edge["node"].kill()
        network_down()
        if own:
            subprocess.run(["rm", "-rf", str(var)], check=False)


def _in_ns_open_to(host: str, ip: str, port: int) -> bool:
    code = f"import socket;socket.create_connection(('{ip}',{port}),timeout=1)"
    return run("ip", "netns", "exec", ns(host), sys.executable, "-c", code, check=False, quiet=True).returncode == 0


# --- HLS at scale ------------------------------------------------------------------------------
def _nginx_main(var: Path, name: str, body: str) -> Path:
    conf = var / f"{name}.conf"
    tmp = var / f"{name}-tmp"
    tmp.mkdir(exist_ok=True)
    conf.write_text(
        "user root;\nworker_processes 1;\ndaemon off;\n"
        f"pid {var / (name + '.pid')};\nerror_log {var / (name + '-error.log')} warn;\n"
        "events { worker_connections 4096; }\nhttp {\n"
        "  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
        f"  client_body_temp_path {tmp};\n  proxy_temp_path {tmp};\n  fastcgi_temp_path {tmp};\n"
        f"  uwsgi_temp_path {tmp};\n  scgi_temp_path {tmp};\n  keepalive_requests 100000;\n"
        f"{body}\n}}\n")
    return conf


def start_hls_origin(var: Path, secret: str, hls_dir: Path) -> subprocess.Popen:
    """nginx on the root serving the packager's folder behind the signed links (the product's origin conf)."""
    location = (ROOT / "deploy" / "nginx" / "hls-secure-link.conf").read_text()
    location = location.replace("@HLS_SECRET@", secret).replace("@HLS_ROOT@", str(hls_dir))
    body = (f"  log_format origin '$remote_addr \"$request\" $status';\n"
            f"  server {{\n    listen {addr('media-root')}:{ORIGIN_PORT};\n"
            f"    access_log {var / 'origin-access.log'} origin;\n{location}\n  }}")
    proc = spawn("media-root", var, "origin-nginx", ["nginx", "-c", str(_nginx_main(var, "origin-nginx", body))])
    wait_for("HLS origin", lambda: tcp_open(addr("media-root"), ORIGIN_PORT), 20, proc,
             var / "media-root-origin-nginx.log")
    return proc


def start_hls_cache(var: Path, secret: str) -> subprocess.Popen:
    """nginx on the cache host from deploy/nginx/hls-cache.conf.template, players on its public leg."""
    (var / "hls-cache").mkdir(exist_ok=True)
    site = render_template((ROOT / "deploy" / "nginx" / "hls-cache.conf.template").read_text(), {
        "CACHE_DIR": str(var / "hls-cache"), "ORIGIN": f"{addr('media-root')}:{ORIGIN_PORT}",
        "LISTEN": f"{addr('hls-cache', 'public')}:80", "HLS_SECRET": secret,
        "ACCESS_LOG": str(var / "cache-access.log")})
    proc = spawn("hls-cache", var, "nginx", ["nginx", "-c", str(_nginx_main(var, "cache-nginx", site))])
    wait_for("HLS cache", lambda: _in_ns_open("hls-cache", "public", 80), 20, proc, var / "hls-cache-nginx.log")
    return proc


def _signed_prefix(conference_id: int, expires: int, secret: str) -> str:
    """live/hls.py's signed folder, computed with the harness's secret (what ``hls_link`` hands out)."""
    os.environ["DIEMCAU_LIVE_HLS_SECRET"] = secret
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diemcau.settings")
    import django

    django.setup()
    from django.conf import settings

    from diemcau.live import hls

    settings.LIVE_HLS_SECRET = secret
    return hls.hls_path(conference_id, expires)


def run_players(url: str, players: int, seconds: float) -> dict:
    """``players`` live HLS players for ``seconds``: each refreshes the playlist every second and fetches
    every new segment (starting from the live edge), on its own keep-alive connection."""
    import threading
    import urllib.parse
    from http.client import HTTPConnection

    parts = urllib.parse.urlsplit(url)
    folder = parts.path.rsplit("/", 1)[0] + "/"
    totals = {"requests": 0, "segments": 0, "bytes": 0, "errors": 0, "statuses": {}}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def get(conn, path):
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        with lock:
            totals["requests"] += 1
            totals["bytes"] += len(body)
            totals["statuses"][str(response.status)] = totals["statuses"].get(str(response.status), 0) + 1
        return response.status, body

    def player():
        conn, seen = HTTPConnection(parts.hostname, parts.port or 80, timeout=10), set()
        first = True
        while time.monotonic() < deadline:
            try:
                _, body = get(conn, parts.path)
                names = [line for line in body.decode(errors="replace").splitlines() if line.endswith(".ts")]
                for name in names[-2:] if first else names:
                    if name not in seen:
                        seen.add(name)
                        if get(conn, folder + name)[0] == 200:
                            with lock:
                                totals["segments"] += 1
                first = False
            except OSError:
                with lock:
                    totals["errors"] += 1
                conn.close()
                conn = HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
            time.sleep(1.0)
        conn.close()

    threads = [threading.Thread(target=player) for _ in range(players)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return totals


def _cache_figures(var: Path) -> dict:
    lines = (var / "cache-access.log").read_text().splitlines() if (var / "cache-access.log").exists() else []
    by = {}
    for line in lines:
        status = line.split('" ', 1)[1].split()
        key = f"{status[0]} {status[1]}"
        by[key] = by.get(key, 0) + 1
    origin = (var / "origin-access.log").read_text().splitlines() if (var / "origin-access.log").exists() else []
    return {"client_hits": len(lines), "origin_hits": len(origin), "cache_by_status": by}


def hls_at_scale(var: Path | None = None, players: int = 200, seconds: float = 10.0, baseline: int = 0) -> dict:
    """The root's packager behind an nginx cache host; ``players`` players in the clients namespace.

    Returns the client hits at the cache against the origin hits, and what a wrong signature and an
    expired link got (answered at the cache, never at the origin). With ``baseline`` players (e.g. 1)
    a first round of that many runs before, in the same setup: its origin hits are the baseline.
    """
    from diemcau.live.media import HlsPackager, SyntheticFeed

    reason = harness.available()
    if reason:
        return {"skipped": reason}
    own = var is None
    var = Path(var or tempfile.mkdtemp(prefix="media-reach-hls-")).resolve()
    var.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(24)
    hls_dir = var / "hls"
    packager = feed = None
    try:
        network_up()
        packager = HlsPackager("programme", 33700, 33702, hls_dir, work_dir=var)
        packager.start()
        feed = SyntheticFeed([("127.0.0.1", 33700, 33702)], size="640x360", fps=15, log_path=var / "feed.log")
        feed.start()
        packager.wait_for_playlist(30, segments=2)
        start_hls_origin(var, secret, hls_dir)
        start_hls_cache(var, secret)
        prefix = _signed_prefix(1, int(time.time()) + 600, secret)
        base = f"http://{addr('hls-cache', 'public')}"
        out = {}
        if baseline:
            out["baseline"] = _round(var, f"{base}{prefix}index.m3u8", baseline, seconds)
        out.update(_round(var, f"{base}{prefix}index.m3u8", players, seconds))
        before = _cache_figures(var)["origin_hits"]
        out["forged_status"] = _status_in_clients(f"{base}{prefix[:-5]}AAAA/index.m3u8")
        expired = _signed_prefix(1, int(time.time()) - 10, secret)
        out["expired_status"] = _status_in_clients(f"{base}{expired}index.m3u8")
        out["origin_hits_from_refused"] = _cache_figures(var)["origin_hits"] - before
        return out
    finally:
        for child in (feed, packager):
            if child is not None:
                child.stop()
        network_down()
        if own:
            subprocess.run(["rm", "-rf", str(var)], check=False)


def _round(var: Path, url: str, players: int, seconds: float) -> dict:
    """One round of ``players`` players; the cache's and the origin's hits during it."""
    before = _cache_figures(var)
    out = run("ip", "netns", "exec", ns("clients"), sys.executable, str(Path(__file__).resolve()), "players",
              "--url", url, "--players", str(players), "--seconds", str(seconds)).stdout
    load = json.loads(out)
    after = _cache_figures(var)
    client, origin = after["client_hits"] - before["client_hits"], after["origin_hits"] - before["origin_hits"]
    by = {k: v - before["cache_by_status"].get(k, 0) for k, v in after["cache_by_status"].items()}
    return {"players": players, "seconds": seconds, **load, "client_hits": client, "origin_hits": origin,
            "cache_by_status": {k: v for k, v in by.items() if v},
            "client_to_origin": round(client / max(1, origin), 1)}


def _status_in_clients(url: str) -> int:
    code = ("import sys,urllib.request,urllib.error\ntry: print(urllib.request.urlopen(sys.argv[1],timeout=5).status)\n"
            "except urllib.error.HTTPError as e: print(e.code)")
    return int(run("ip", "netns", "exec", ns("clients"), sys.executable, "-c", code, url).stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["turn", "hls", "down", "players"])
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--url", default="")
    parser.add_argument("--baseline", type=int, default=0, help="hls: a first round of this many players")
    args = parser.parse_args(argv)
    if args.command == "down":
        network_down()
    elif args.command == "players":  # run by hls_at_scale inside the clients namespace
        print(json.dumps(run_players(args.url, args.players, args.seconds)))
    elif args.command == "hls":
        print(json.dumps(hls_at_scale(players=args.players, seconds=args.seconds, baseline=args.baseline)))
    else:
        print(json.dumps(turn_only_client_decoding()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
