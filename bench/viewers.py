"""Benchmark: what one more viewer costs, for the attendance board (websocket) and the programme's HLS.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/viewers.py [--only board|hls]
(``make bench-viewers``). Two parts, each against a baseline measured in the same run:

1. **Board viewers.** A fresh PostgreSQL database beside ``DATABASE_URL`` (``<name>_bench_viewers``)
   gets the demo world (``load_demo --size demo``) and bench/checkin.py's conference with a few
   points over it; a private redis-server is the channel layer; one uvicorn process serves
   ``diemcau.asgi:application`` as the Makefile's ``serve`` does. For each N in ``--viewers``
   (0 = baseline), N websocket clients (another process, asyncio) connect to the ministry's board
   as the board page does (the organiser's cookie; a snapshot, then deltas) and read every message,
   while this process makes the same fixed stream of check-ins (``--rate`` per second for ``--seconds``) through
   the product's check-in service, which publishes the board's dirty notices through Redis. The
   server process's CPU seconds (``/proc``) over the stream, minus the baseline's, divided by the
   viewers and the board updates each received, is the cost of a viewer per update.
2. **HLS viewers.** ffmpeg makes a few 2-second segments of a ~800 kbit/s test programme; Debian's
   nginx serves them through deploy/nginx/hls-secure-link.conf (the signed-link location, as
   deployed) on a free loopback port; for each N in ``--hls-viewers`` (0 = idle nginx), N threads
   (httpx keep-alive, one client each) fetch the playlist and the next segment every 2 s as a player
   does, for ``--seconds``. nginx's CPU seconds (master and worker, ``/proc``) minus the idle
   baseline, per viewer per minute, and the bytes each viewer pulled per second.

The last line of stdout is one JSON object; the load average at start and end is in it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkin import _cpu_s, _drop_pg, _free_port, _tree, arrivals, make_points

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://diemcau:diemcau@127.0.0.1:5432/diemcau"
SEGMENT_S = 2


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["board", "hls"], help="run one part only")
    p.add_argument("--pg-url", default=os.environ.get("DATABASE_URL") or DEFAULT_PG,
                   help="the PostgreSQL server (the benchmark creates <name>_bench_viewers beside it)")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each measured turn")
    p.add_argument("--rate", type=float, default=20.0, help="check-ins per second during a board turn")
    p.add_argument("--viewers", default="0,50,200", help="board viewers per turn (0: the baseline)")
    p.add_argument("--hls-viewers", default="0,100,400", help="HLS viewers per turn (0: nginx idle)")
    p.add_argument("--ws-clients", type=int, help=argparse.SUPPRESS)  # the websocket clients' process
    p.add_argument("--ws-url", help=argparse.SUPPRESS)
    p.add_argument("--ws-cookie", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.viewers = [int(n) for n in args.viewers.split(",")]
    args.hls_viewers = [int(n) for n in args.hls_viewers.split(",")]
    return args


def log(message: str):
    print(f"  {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def tree_cpu(pid: int) -> float:
    return sum(_cpu_s(p) for p in _tree(pid))


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on port {port}") from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen | None):
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the websocket clients (a child process) ----------------------------------------------------
async def ws_clients(n: int, url: str, cookie: str):
    """N board viewers: connect, print "ready" once each has its first message; on "go" count from
    zero; on "stop" print {"messages": [...per viewer], "bytes": total, "closed": closed early} and close."""
    from websockets.asyncio.client import connect

    origin = "http://" + urlsplit(url).netloc
    counts, sizes, first = [0] * n, [0], asyncio.Event()
    got_first, closed = [0], [0]
    conns = []

    async def viewer(i: int):
        ws = await connect(url, additional_headers={"Cookie": f"sessionid={cookie}", "Origin": origin},
                           open_timeout=60, max_queue=None)
        conns.append(ws)
        await ws.recv()
        got_first[0] += 1
        if got_first[0] == n:
            first.set()
        async for message in ws:
            counts[i] += 1
            sizes[0] += len(message)
        closed[0] += 1  # the server closed it before "stop"

    tasks = []
    for i in range(n):  # connect a few at a time: a login storm is not what is measured
        tasks.append(asyncio.create_task(viewer(i)))
        if i % 20 == 19:
            await asyncio.sleep(0.2)
    await asyncio.wait_for(first.wait(), 120)
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    for expected in ("go", "stop"):
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() != expected:
            raise SystemExit(f"expected {expected!r}, got {line!r}")
        if expected == "go":
            counts[:] = [0] * n
            sizes[0] = 0
    print(json.dumps({"messages": counts, "bytes": sizes[0], "closed": closed[0]}), flush=True)
    for task in tasks:
        task.cancel()
    for ws in conns:
        await ws.close()


# --- part 1: the board ------------------------------------------------------------------------
def pg_database(base_url: str) -> tuple[str, str]:
    import psycopg

    parts = urlsplit(base_url)
    name = f"{parts.path.lstrip('/') or 'diemcau'}_bench_viewers"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path=f"/{name}").geturl(), name


def redis_server(folder: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port",
                             str(port), "--save", "", "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc, "redis-server", 20)
    return proc, f"redis://127.0.0.1:{port}/0"


def board_world() -> dict:
    """The demo world, a conference with points over it (bench/checkin.py's), the organiser's cookie."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from diemcau.orgs import admin_data
    from diemcau.orgs.models import Unit

    call_command("migrate", verbosity=0)
    call_command("load_demo", size="demo", verbosity=0)
    conference = make_points(0.001)
    session = conference.sessions.get()
    ministry = Unit.objects.get(code=admin_data.MINISTRY_CODE)
    client = Client()
    client.force_login(get_user_model().objects.get(username="bo"))
    world = {"session_id": session.pk, "ministry_id": ministry.pk, "cookie": client.cookies["sessionid"].value,
             "points": conference.points.count()}
    world["queue"] = arrivals(world, 10**6, 2023)
    return world


def check_in_stream(queue: list, rate: float, seconds: float) -> int:
    """``rate`` check-ins per second for ``seconds`` through the check-in service; returns how many."""
    from django.db import connection

    from diemcau.attendance.checkin import CheckInItem, check_in_one
    from diemcau.attendance.models import CheckIn
    from diemcau.orgs.scoping import SYSTEM

    total = int(rate * seconds)
    started = time.monotonic()
    for i in range(total):
        person_id, point_id, session_id = queue.pop()
        time.sleep(max(0.0, started + i / rate - time.monotonic()))
        check_in_one(SYSTEM, CheckInItem(client_id=uuid.uuid4(), session_id=session_id, point_id=point_id,
                                         method=CheckIn.Method.ROLL_CALL, person_id=person_id))
    connection.close()
    return total


def board_turn(args, world: dict, port: int, server: subprocess.Popen, n: int) -> dict:
    clients = None
    if n:
        url = (f"ws://127.0.0.1:{port}/ws/attendance/sessions/{world['session_id']}/units/"
               f"{world['ministry_id']}/board/")
        clients = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--ws-clients", str(n),
                                    "--ws-url", url, "--ws-cookie", world["cookie"]],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if clients.stdout.readline().strip() != "ready":
            raise RuntimeError("the websocket clients did not connect")
        clients.stdin.write("go\n")
        clients.stdin.flush()
    time.sleep(1.5)  # the first messages are out
    cpu0, t0 = tree_cpu(server.pid), time.monotonic()
    made = check_in_stream(world["queue"], args.rate, args.seconds)
    time.sleep(2)  # the last tick's messages
    cpu1, t1 = tree_cpu(server.pid), time.monotonic()
    turn = {"viewers": n, "checkins": made, "wall_s": round(t1 - t0, 1), "server_cpu_s": round(cpu1 - cpu0, 2)}
    if clients:
        clients.stdin.write("stop\n")
        clients.stdin.flush()
        got = json.loads(clients.stdout.readline())
        clients.wait(30)
        turn.update({"updates_per_viewer": round(sum(got["messages"]) / n, 1), "updates_min": min(got["messages"]),
                     "closed_early": got["closed"],
                     "bytes_per_update": round(got["bytes"] / max(1, sum(got["messages"])))})
    log(f"board, {n} viewers: {made} check-ins in {turn['wall_s']} s, server CPU {turn['server_cpu_s']} s"
        + (f", {turn['updates_per_viewer']} updates per viewer" if n else ""))
    return turn


def board_environment(pg_url: str, tmp: Path):
    """A database and a private Redis of the benchmark's own, named in this process's environment
    (which the server it starts inherits), and Django set up on them: ``(url, name, redis)``."""
    url, name = pg_database(pg_url)
    redis, redis_url = redis_server(tmp)
    os.environ.update({"DATABASE_URL": url, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "diemcau.settings",
                       "DIEMCAU_VAR": str(tmp), "DIEMCAU_FAST_HASHER": "1", "DIEMCAU_LOG_LEVEL": "WARNING",
                       "CELERY_TASK_ALWAYS_EAGER": "1"})
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # shared with the server
    os.environ.pop("DIEMCAU_SQLITE", None)
    import django

    django.setup()
    return url, name, redis


def board_part(args, tmp: Path) -> dict:
    _url, name, redis = board_environment(args.pg_url, tmp)
    from django.db import connections

    server = None
    server_log = open(tmp / "server.log", "wb")  # closed in the finally below
    try:
        started = time.monotonic()
        world = board_world()
        world["queue"] = [(pk, pt, world["session_id"]) for pk, pt in reversed(world["queue"])]
        log(f"world ready in {time.monotonic() - started:.0f} s: {world['points']} points, "
            f"{len(world['queue'])} people to check in")
        connections.close_all()
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "diemcau.asgi:application", "--host", "127.0.0.1",
                                   "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--ws",
                                   "websockets", "--lifespan", "off", "--no-access-log", "--no-proxy-headers",
                                   "--log-level", "warning"], cwd=ROOT, env=dict(os.environ),
                                  stdout=server_log, stderr=subprocess.STDOUT)
        wait_port(port, server, "uvicorn")
        needed = int(args.rate * args.seconds) * len(args.viewers)
        if len(world["queue"]) < needed:
            raise SystemExit(f"the demo world has {len(world['queue'])} people to check in, {needed} needed")
        turns = [board_turn(args, world, port, server, n) for n in args.viewers]
        time.sleep(1)
        errors = (tmp / "server.log").read_text(errors="replace").count("Exception in ASGI application")
    finally:
        stop(server)
        server_log.close()
        kept = ROOT / "var" / "bench-viewers"
        kept.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "server.log", kept / "server.log")
        connections.close_all()
        stop(redis)
        _drop_pg(args.pg_url, name)
    log(f"server log (var/bench-viewers/server.log): {errors} exceptions while serving")
    return {**board_figures(args, turns), "board_server_exceptions": errors}


def board_figures(args, turns: list[dict]) -> dict:
    """Per turn, the CPU above the baseline per board update (ms); across the turns with viewers, a
    line through them: its slope is one more viewer's cost per update, its intercept the board's
    own (one roll-up and one render per tick, whoever watches)."""
    from django.conf import settings

    base = next(t for t in turns if t["viewers"] == 0)
    watched = sorted((t for t in turns if t["viewers"]), key=lambda t: t["viewers"])
    for t in watched:
        t["cpu_ms_per_update"] = round(1000 * (t["server_cpu_s"] - base["server_cpu_s"])
                                       / max(1e-9, t["updates_per_viewer"]), 2)
    lo, hi = watched[0], watched[-1]
    if hi["viewers"] > lo["viewers"]:
        slope = (hi["cpu_ms_per_update"] - lo["cpu_ms_per_update"]) / (hi["viewers"] - lo["viewers"])
    else:  # one turn with viewers: all of its cost is put on them
        slope = hi["cpu_ms_per_update"] / hi["viewers"]
    fixed = hi["cpu_ms_per_update"] - slope * hi["viewers"]
    updates_per_s = hi["updates_per_viewer"] / hi["wall_s"]
    return {"board_rate_checkins_per_s": args.rate, "board_seconds": args.seconds,
            "board_baseline_cpu_s": base["server_cpu_s"], "board_turns": turns,
            "board_viewer_cpu_ms_per_update": round(slope, 3),
            "board_viewer_cpu_pct_per_viewer": round(slope * updates_per_s / 10, 4),
            "board_fixed_cpu_ms_per_update": round(fixed, 1),
            "board_updates_per_s": round(updates_per_s, 2), "board_bytes_per_update": hi["bytes_per_update"],
            "board_tick_s": float(settings.ATTENDANCE_BOARD_TICK)}


# --- part 2: HLS --------------------------------------------------------------------------------
def make_hls(folder: Path, segments: int):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-f", "lavfi",
                    "-i", "sine=frequency=440", "-t", str(segments * SEGMENT_S), "-c:v", "libx264", "-preset",
                    "veryfast", "-b:v", "736k", "-minrate", "736k", "-maxrate", "736k", "-bufsize", "736k",
                    "-x264-params", "nal-hrd=cbr", "-g", "50",
                    "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", str(SEGMENT_S), "-hls_list_size", "0",
                    "-hls_segment_filename", str(folder / "seg_%05d.ts"), str(folder / "index.m3u8")], check=True)


def nginx_conf(tmp: Path, hls: Path, port: int, secret: str) -> Path:
    location = (ROOT / "deploy" / "nginx" / "hls-secure-link.conf").read_text()
    location = location.replace("@HLS_SECRET@", secret).replace("@HLS_ROOT@", str(hls))
    conf = tmp / "nginx.conf"
    conf.write_text(f"""daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    server {{
        listen 127.0.0.1:{port};
{location}
    }}
}}
""")
    return conf


def signed_prefix(secret: str, conference: int = 1) -> str:
    """live/hls.py's link form: nginx's secure_link md5, base64url without padding."""
    expires = int(time.time()) + 3600
    digest = hashlib.md5(f"{expires}/live/hls/{conference}/ {secret}".encode()).digest()  # noqa: S324 nginx's form
    sig = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return f"/live/hls/{conference}/{expires}/{sig}/"


def hls_viewer(base: str, segments: list[str], seconds: float, slot: float, gate: threading.Barrier, tally: list,
               lock: threading.Lock):
    """One player: its keep-alive client, then, from the common start plus its slot in the first
    segment, the playlist and the next segment every SEGMENT_S seconds."""
    import httpx

    got, requests, errors = 0, 0, 0
    with httpx.Client(base_url=base, timeout=10) as client:
        gate.wait()
        start = time.monotonic()
        i = 0
        while slot + i * SEGMENT_S < seconds:
            time.sleep(max(0.0, start + slot + i * SEGMENT_S - time.monotonic()))
            for path in ("index.m3u8", segments[i % len(segments)]):
                try:
                    r = client.get(path)
                    requests += 1
                    if r.status_code == 200:
                        got += len(r.content)
                    else:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
            i += 1
    with lock:
        tally[0] += got
        tally[1] += requests
        tally[2] += errors


def hls_turn(args, base: str, segments: list[str], pids: list[int], n: int) -> dict:
    tally, lock, gate = [0, 0, 0], threading.Lock(), threading.Barrier(n + 1)
    # Players join over the first segment, not all in the same millisecond.
    threads = [threading.Thread(target=hls_viewer, daemon=True,
                                args=(base, segments, args.seconds, SEGMENT_S * i / max(1, n), gate, tally, lock))
               for i in range(n)]
    for t in threads:
        t.start()
    gate.wait()  # every client made: their set-up is not what is measured
    cpu0, t0 = sum(tree_cpu(p) for p in pids), time.monotonic()
    if not n:
        time.sleep(args.seconds)
    for t in threads:
        t.join()
    cpu1, t1 = sum(tree_cpu(p) for p in pids), time.monotonic()
    expected = 2 * sum(math.ceil((args.seconds - SEGMENT_S * i / max(1, n)) / SEGMENT_S) for i in range(n))
    turn = {"viewers": n, "wall_s": round(t1 - t0, 1), "nginx_cpu_s": round(cpu1 - cpu0, 3), "bytes": tally[0],
            "requests": tally[1], "requests_expected": expected, "errors": tally[2]}
    log(f"hls, {n} viewers: nginx CPU {turn['nginx_cpu_s']} s in {turn['wall_s']} s, {tally[1]} requests "
        f"(of {expected}), {tally[0] / 1e6:.0f} MB, errors {tally[2]}")
    return turn


def hls_part(args, tmp: Path) -> dict:
    hls = tmp / "hls"
    hls.mkdir()
    tmp.chmod(0o755)  # nginx's workers run as www-data
    hls.chmod(0o755)
    make_hls(hls, 8)
    segments = sorted(p.name for p in hls.glob("seg_*.ts"))
    kbit = 8 * sum((hls / s).stat().st_size for s in segments) / (len(segments) * SEGMENT_S) / 1000
    secret = secrets.token_urlsafe(24)
    port = _free_port()
    conf = nginx_conf(tmp, hls, port, secret)
    nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-e",
                              str(tmp / "nginx-error.log")], stderr=subprocess.DEVNULL)
    try:
        wait_port(port, nginx, "nginx", 20)
        base = f"http://127.0.0.1:{port}{signed_prefix(secret)}"
        import httpx

        if httpx.get(base + "index.m3u8").status_code != 200 or httpx.get(
                base.replace("/live/hls/1/", "/live/hls/2/") + "index.m3u8").status_code != 403:
            raise RuntimeError("nginx does not serve the signed HLS link as deployed")
        pids = _tree(nginx.pid)
        turns = [hls_turn(args, base, segments, pids, n) for n in args.hls_viewers]
    finally:
        stop(nginx)
    base_turn = next(t for t in turns if t["viewers"] == 0)
    for t in turns:
        if t["viewers"]:
            extra = t["nginx_cpu_s"] - base_turn["nginx_cpu_s"] * t["wall_s"] / max(1e-9, base_turn["wall_s"])
            t["cpu_ms_per_viewer_minute"] = round(1000 * extra / t["viewers"] / (args.seconds / 60), 2)
            t["bytes_per_viewer_s"] = round(t["bytes"] / t["viewers"] / args.seconds)
    top = max((t for t in turns if t["viewers"]), key=lambda t: t["viewers"])
    return {"hls_programme_kbit_s": round(kbit), "hls_segments": len(segments), "hls_seconds": args.seconds,
            "hls_baseline_cpu_s": base_turn["nginx_cpu_s"], "hls_turns": turns,
            "hls_viewer_cpu_ms_per_minute": top["cpu_ms_per_viewer_minute"],
            "hls_viewer_bytes_per_s": top["bytes_per_viewer_s"]}


def main():
    args = parse_args()
    if args.ws_clients:
        asyncio.run(ws_clients(args.ws_clients, args.ws_url, args.ws_cookie))
        return
    figures = {"load_start": loadavg(), "cores": os.cpu_count()}
    tmp = Path(tempfile.mkdtemp(prefix="diemcau-bench-viewers-"))
    started = time.monotonic()
    try:
        if args.only in (None, "hls"):
            figures.update(hls_part(args, tmp))
        if args.only in (None, "board"):
            figures.update(board_part(args, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    figures.update({"load_end": loadavg(), "total_s": round(time.monotonic() - started, 1)})
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    from diemcau.core.acting import system_scope

    # Benchmarks drive the services as support staff would: as the system (docs/ARCHITECTURE.md).
    with system_scope("benchmark: the board's world and its check-ins"):
        main()
