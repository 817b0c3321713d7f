"""Benchmark: the ministry's attendance board with many viewers during a check-in burst, as deltas.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/boards.py  (``make bench-boards``).

A fresh PostgreSQL database beside ``DATABASE_URL`` gets the demo world and a conference with points
over it (bench/viewers.py's ``board_world``, bench/checkin.py's points); a private redis-server is the
channel layer; one uvicorn process serves ``diemcau.asgi:application``. For each N in ``--viewers``
(the first, 1 viewer, is the baseline), N websocket clients (one other process, asyncio) open the
ministry's board as the page does (the national organiser's cookie, HTML rows in Vietnamese), apply
every message (a delta only on the version it holds, else they ask for a snapshot) and note when the
present figure grows; this process makes ``--rate`` check-ins per second for ``--seconds`` through the
product's check-in service (it publishes the dirty notices through Redis) and notes each one's commit.

Figures: ``board_lag_p99_s`` (and p50, max) = for every viewer and check-in, the time from the
check-in's commit to the first message showing a present figure that counts it, at N viewers;
``board_lag_baseline_p99_s`` with one viewer; ``snapshot_bytes`` against ``delta_bytes`` (mean) per
message; the server's CPU seconds over the burst; deltas missed or applied out of turn (``resyncs``).
:func:`run` returns the figures (bench/checkin.py may include them); the last line of stdout is one
JSON object with the load average at start and end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkin import _drop_pg, _free_port, _percentile
from viewers import (
    DEFAULT_PG,
    board_environment,
    board_world,
    loadavg,
    log,
    stop,
    tree_cpu,
    wait_port,
)

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pg-url", default=os.environ.get("DATABASE_URL") or DEFAULT_PG,
                   help="the PostgreSQL server (the benchmark creates <name>_bench_viewers beside it)")
    p.add_argument("--viewers", default="1,1000", help="viewers per turn (the first: the baseline)")
    p.add_argument("--rate", type=float, default=40.0, help="check-ins per second during a turn")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each burst")
    p.add_argument("--ws-clients", type=int, help=argparse.SUPPRESS)  # the websocket clients' process
    p.add_argument("--ws-url", help=argparse.SUPPRESS)
    p.add_argument("--ws-cookie", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _raise_file_limit():
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the viewers (a child process) ----------------------------------------------------------------
class Viewer:
    """What one board page holds: its version and present figure; when that figure grew."""

    def __init__(self):
        self.version, self.present, self.seen = None, None, []
        self.snapshots = self.deltas = self.resyncs = self.snapshot_bytes = self.delta_bytes = 0

    def apply(self, text: str, at: float) -> bool:
        """Apply a message as board.js does; False when it must ask for a snapshot."""
        message = json.loads(text)
        if "snapshot" in message:
            self.snapshots += 1
            self.snapshot_bytes += len(text)
        elif self.version is not None and message["base"] == self.version:
            self.deltas += 1
            self.delta_bytes += len(text)
        else:
            self.resyncs += 1
            self.version = None
            return False
        self.version = message["version"]
        present = message["figures"]["present"]
        if present != self.present:
            self.present = present
            self.seen.append((at, present))
        return True

    def reset(self):
        self.seen = [(time.time(), self.present)]
        self.snapshots = self.deltas = self.resyncs = self.snapshot_bytes = self.delta_bytes = 0


async def ws_clients(n: int, url: str, cookie: str):
    """N viewers: print "ready" once each holds a snapshot; on "go" start noting; on "stop" print one JSON
    line per viewer ({seen, snapshots, deltas, resyncs, bytes}) and close."""
    from websockets.asyncio.client import connect

    _raise_file_limit()
    origin = "http://" + urlsplit(url).netloc
    viewers = [Viewer() for _ in range(n)]
    ready, conns, closed, holding, failed = asyncio.Event(), [], [0], set(), [0]

    gate = asyncio.Semaphore(20)  # handshakes in flight: as fast as the server lets people in

    async def view(v: Viewer):
        await gate.acquire()
        for attempt in range(10):  # as the page does: a refused handshake is tried again after a while
            try:
                ws = await connect(url, additional_headers={"Cookie": f"sessionid={cookie}", "Origin": origin,
                                                            "Accept-Language": "vi"}, open_timeout=120,
                                   max_queue=None, max_size=None)
                break
            except Exception as error:
                failed[0] += 1
                if attempt == 9:
                    gate.release()
                    raise
                if failed[0] <= 3:
                    print(f"  a viewer could not connect (tried again): {error!r}", file=sys.stderr, flush=True)
                await asyncio.sleep(1 + attempt)
        conns.append(ws)
        async for text in ws:
            if not v.apply(text, time.time()):
                await ws.send(json.dumps({"type": "snapshot"}))
            if v.version is not None and id(v) not in holding:
                holding.add(id(v))
                gate.release()
                if len(holding) == n:
                    ready.set()
        closed[0] += 1
        if closed[0] <= 3:
            print(f"  a viewer was closed: {ws.close_code} {ws.close_reason}", file=sys.stderr, flush=True)

    tasks = [asyncio.create_task(view(v)) for v in viewers]
    try:
        await asyncio.wait_for(ready.wait(), 900)
    except TimeoutError:
        raise SystemExit(f"{len(holding)} of {n} viewers hold a snapshot after 900 s") from None
    print(f"  {n} viewers hold a snapshot ({failed[0]} handshakes tried again)", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    for expected in ("go", "stop"):
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() != expected:
            raise SystemExit(f"expected {expected!r}, got {line!r}")
        if expected == "go":
            for v in viewers:
                v.reset()
    for v in viewers:
        print(json.dumps({"seen": v.seen, "snapshots": v.snapshots, "deltas": v.deltas, "resyncs": v.resyncs,
                          "snapshot_bytes": v.snapshot_bytes, "delta_bytes": v.delta_bytes}), flush=True)
    print(json.dumps({"closed": closed[0]}), flush=True)
    for task in tasks:
        task.cancel()
    for ws in conns:
        await ws.close()


# --- the burst ---------------------------------------------------------------------------------------
def burst(queue: list, rate: float, seconds: float) -> list[float]:
    """``rate`` check-ins per second for ``seconds`` through the check-in service; each one's commit time."""
    from django.db import connection

    from diemcau.attendance.checkin import CheckInItem, check_in_one
    from diemcau.attendance.models import CheckIn
    from diemcau.orgs.scoping import SYSTEM

    total, committed = int(rate * seconds), []
    started = time.monotonic()
    for i in range(total):
        person_id, point_id, session_id = queue.pop()
        time.sleep(max(0.0, started + i / rate - time.monotonic()))
        check_in_one(SYSTEM, CheckInItem(client_id=uuid.uuid4(), session_id=session_id, point_id=point_id,
                                         method=CheckIn.Method.ROLL_CALL, person_id=person_id))
        committed.append(time.time())  # returned: committed, and its notice is on its way
    connection.close()
    return committed


def lags(viewer: dict, committed: list[float]) -> tuple[list[float], int]:
    """Per check-in, when this viewer first saw a present figure that counts it; and how many it never saw."""
    seen = viewer["seen"]
    start = seen[0][1]
    out, k = [], 0
    for i, at in enumerate(committed, start=1):
        while k < len(seen) and seen[k][1] < start + i:
            k += 1
        if k == len(seen):
            return out, len(committed) - i + 1
        out.append(max(0.0, seen[k][0] - at))
    return out, 0


def turn(args, world: dict, port: int, server: subprocess.Popen, n: int) -> dict:
    url = f"ws://127.0.0.1:{port}/ws/attendance/sessions/{world['session_id']}/units/{world['ministry_id']}/board/"
    connecting = time.monotonic()
    clients = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--ws-clients", str(n),
                                "--ws-url", url, "--ws-cookie", world["cookie"]],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if clients.stdout.readline().strip() != "ready":
            raise RuntimeError("the websocket clients did not connect")
        connect_s = time.monotonic() - connecting
        clients.stdin.write("go\n")
        clients.stdin.flush()
        time.sleep(1.0)
        cpu0 = tree_cpu(server.pid)
        committed = burst(world["queue"], args.rate, args.seconds)
        time.sleep(3)  # the last ticks' messages
        cpu = tree_cpu(server.pid) - cpu0
        clients.stdin.write("stop\n")
        clients.stdin.flush()
        viewers = [json.loads(clients.stdout.readline()) for _ in range(n)]
        closed = json.loads(clients.stdout.readline())["closed"]
        clients.wait(60)
    finally:
        stop(clients)
    all_lags, unseen = [], 0
    for v in viewers:
        got, missing = lags(v, committed)
        all_lags += got
        unseen += missing
    deltas = sum(v["deltas"] for v in viewers)
    snapshots = sum(v["snapshots"] for v in viewers)
    figures = {"viewers": n, "checkins": len(committed), "connect_s": round(connect_s, 1),
               "lag_p50_s": round(_percentile(all_lags, 0.5), 3), "lag_p99_s": round(_percentile(all_lags, 0.99), 3),
               "lag_max_s": round(max(all_lags, default=float("nan")), 3), "unseen": unseen,
               "deltas_per_viewer": round(deltas / n, 1), "snapshots": snapshots,
               "resyncs": sum(v["resyncs"] for v in viewers), "closed_early": closed,
               "delta_bytes": round(sum(v["delta_bytes"] for v in viewers) / max(1, deltas)),
               "server_cpu_s": round(cpu, 2)}
    log(f"{n} viewers: {len(committed)} check-ins, lag p50 {figures['lag_p50_s']} s, p99 {figures['lag_p99_s']} s, "
        f"{figures['deltas_per_viewer']} deltas per viewer of {figures['delta_bytes']} bytes, "
        f"server CPU {figures['server_cpu_s']} s")
    return figures


def snapshot_size(world: dict, port: int) -> int:
    """The bytes of the board's snapshot (what every update weighed when the board was pushed whole)."""
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{port}/ws/attendance/sessions/{world['session_id']}/units/{world['ministry_id']}/board/"
    with connect(url, additional_headers={"Cookie": f"sessionid={world['cookie']}", "Accept-Language": "vi",
                                          "Origin": f"http://127.0.0.1:{port}"}, max_size=None) as ws:
        return len(ws.recv(timeout=60))


def start_server(port: int, log_file) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "diemcau.asgi:application", "--host", "127.0.0.1",
                               "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--ws", "websockets",
                               "--lifespan", "off", "--no-access-log", "--no-proxy-headers", "--log-level", "warning"],
                              cwd=ROOT, env=dict(os.environ), stdout=log_file, stderr=subprocess.STDOUT)
    wait_port(port, server, "uvicorn")
    return server


def run(pg_url: str = DEFAULT_PG, viewers: tuple[int, ...] = (1, 1000), rate: float = 40.0,
        seconds: float = 10.0) -> dict:
    """The board's figures at each number of viewers (the first: the baseline), in a world of its own."""
    args = argparse.Namespace(rate=rate, seconds=seconds)
    _raise_file_limit()
    tmp = Path(tempfile.mkdtemp(prefix="diemcau-bench-boards-"))
    _url, name, redis = board_environment(pg_url, tmp)
    from django.conf import settings
    from django.db import connections

    server, server_log = None, open(tmp / "server.log", "wb")  # closed in the finally below
    try:
        world = board_world()
        world["queue"] = [(pk, pt, world["session_id"]) for pk, pt in reversed(world["queue"])]
        if len(world["queue"]) < int(rate * seconds) * len(viewers):
            raise SystemExit(f"the demo world has {len(world['queue'])} people to check in")
        connections.close_all()
        port = _free_port()
        server = start_server(port, server_log)
        snapshot_bytes = snapshot_size(world, port)
        turns = [turn(args, world, port, server, n) for n in viewers]
        errors = (tmp / "server.log").read_text(errors="replace").count("Traceback")
    finally:
        stop(server)
        server_log.close()
        connections.close_all()
        stop(redis)
        _drop_pg(pg_url, name)
        kept = ROOT / "var" / "bench-boards"
        kept.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "server.log", kept / "server.log")
        shutil.rmtree(tmp, ignore_errors=True)
    base, top = turns[0], turns[-1]
    return {"board_viewers": top["viewers"], "board_lag_p99_s": top["lag_p99_s"], "board_lag_p50_s": top["lag_p50_s"],
            "board_lag_max_s": top["lag_max_s"], "board_lag_baseline_p99_s": base["lag_p99_s"],
            "board_lag_baseline_viewers": base["viewers"], "board_unseen": top["unseen"],
            "board_resyncs": top["resyncs"], "board_snapshot_bytes": snapshot_bytes,
            "board_delta_bytes": top["delta_bytes"],
            "board_delta_share": round(top["delta_bytes"] / snapshot_bytes, 3),
            "board_server_cpu_s": top["server_cpu_s"], "board_baseline_server_cpu_s": base["server_cpu_s"],
            "board_checkins_per_s": rate, "board_tick_s": float(settings.ATTENDANCE_BOARD_TICK),
            "board_server_errors": errors, "board_turns": turns}


def main():
    args = parse_args()
    if args.ws_clients:
        asyncio.run(ws_clients(args.ws_clients, args.ws_url, args.ws_cookie))
        return
    figures = {"load_start": loadavg(), "cores": os.cpu_count()}
    started = time.monotonic()
    figures.update(run(args.pg_url, tuple(int(n) for n in args.viewers.split(",")), args.rate, args.seconds))
    figures.update({"load_end": loadavg(), "total_s": round(time.monotonic() - started, 1)})
    log(f"lag p99 at {figures['board_viewers']} viewers: {figures['board_lag_p99_s']} s (target ≤ 1.0; "
        f"{figures['board_lag_baseline_viewers']} viewer: {figures['board_lag_baseline_p99_s']} s); "
        f"bytes per update: snapshot {figures['board_snapshot_bytes']}, delta {figures['board_delta_bytes']}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    from diemcau.core.acting import system_scope

    # Benchmarks drive the services as support staff would: as the system (docs/ARCHITECTURE.md).
    with system_scope("benchmark: the board's world and its check-ins"):
        main()
