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
import base64
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
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
    p.add_argument("--rate", type=float, default=40.0, help="check-ins per second during a turn (singles)")
    p.add_argument("--batch", type=int, default=0,
                   help="instead of --rate singles: batches of this size (a kiosk's queue, one point each), "
                        "as fast as --writers threads can send them: the highest rate this machine sustains")
    p.add_argument("--writers", type=int, default=2, help="threads sending batches (with --batch)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each burst")
    p.add_argument("--no-deflate", action="store_true",
                   help="serve without permessage-deflate (uvicorn --ws-per-message-deflate false)")
    p.add_argument("--ws-clients", type=int, help=argparse.SUPPRESS)  # the websocket clients' process
    p.add_argument("--ws-url", help=argparse.SUPPRESS)
    p.add_argument("--ws-cookie", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _raise_file_limit():
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the viewers (a child process) ----------------------------------------------------------------
class Viewer(asyncio.Protocol):
    """One board page's socket, as cheap as a client can be: a minimal RFC 6455 client (permessage-deflate
    as a browser offers it, zlib in C), which reads only a message's version, base and figures.

    It holds a version and a present figure; it notes when that figure grew (and the figures'
    ``computed_at``: how much of the lag was the server's computation, how much the delivery).
    """

    def __init__(self, request: bytes, on_ready):
        self.request, self.on_ready = request, on_ready
        self.transport, self.buffer, self.handshaken, self.inflate, self.fresh_context = None, b"", False, None, False
        self.parts, self.compressed, self.closed = [], False, asyncio.get_running_loop().create_future()
        self.version, self.present, self.seen = None, None, []
        self.snapshots = self.deltas = self.resyncs = self.snapshot_bytes = self.delta_bytes = 0

    # transport
    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc):
        if not self.closed.done():
            self.closed.set_result(exc)

    def data_received(self, data: bytes):
        at = time.time()
        self.buffer += data
        if not self.handshaken:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self.transport.close()
                return
            extensions = [line for line in head.lower().split(b"\r\n") if line.startswith(b"sec-websocket-extensions")]
            if extensions and b"permessage-deflate" in extensions[0]:
                self.fresh_context = b"server_no_context_takeover" in extensions[0]
                self.inflate = zlib.decompressobj(-15)
            self.handshaken, self.buffer = True, rest
        self._frames(at)

    def _frames(self, at: float):
        buf = self.buffer
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1] & 0x7F
            offset = 2
            if b1 == 126:
                if len(buf) < 4:
                    break
                b1, offset = int.from_bytes(buf[2:4], "big"), 4
            elif b1 == 127:
                if len(buf) < 10:
                    break
                b1, offset = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < offset + b1:
                break
            payload, buf = buf[offset:offset + b1], buf[offset + b1:]
            self._frame(b0, payload, at)
        self.buffer = buf

    def _frame(self, b0: int, payload: bytes, at: float):
        opcode = b0 & 0x0F
        if opcode == 0x9:  # ping: pong (a zero mask key: masked as the protocol asks, unchanged)
            self._send(0xA, payload)
        elif opcode == 0x8:
            self.transport.close()
        elif opcode in (0x0, 0x1):
            if opcode == 0x1:
                self.compressed = bool(b0 & 0x40)
            self.parts.append(payload)
            if b0 & 0x80:
                data, self.parts = b"".join(self.parts), []
                if self.compressed:
                    if self.fresh_context:
                        self.inflate = zlib.decompressobj(-15)
                    data = self.inflate.decompress(data + b"\x00\x00\xff\xff")
                if not self.apply(data, at):
                    self._send(0x1, b'{"type":"snapshot"}')
                self.on_ready(self)

    def _send(self, opcode: int, payload: bytes):
        n = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0xFE]) + n.to_bytes(2, "big"))
        self.transport.write(head + b"\x00\x00\x00\x00" + payload)

    # the board
    def apply(self, data: bytes, at: float) -> bool:
        """Apply a message as board.js does; False when it must ask for a snapshot."""
        cut = data.rfind(b',"figures":')
        head, figures = VERSION.match(data[:120]), json.loads(data[cut + 11:-1])
        version, base = int(head["version"]), head["base"]
        if base is None:
            self.snapshots += 1
            self.snapshot_bytes += len(data)
        elif self.version is not None and int(base) == self.version:
            self.deltas += 1
            self.delta_bytes += len(data)
        else:
            self.resyncs += 1
            self.version = None
            return False
        self.version = version
        if figures["present"] != self.present:
            self.present = figures["present"]
            self.seen.append((at, self.present, figures["computed_at"]))
        return True

    def reset(self):
        self.seen = [(time.time(), self.present, None)]
        self.snapshots = self.deltas = self.resyncs = self.snapshot_bytes = self.delta_bytes = 0


VERSION = re.compile(rb'\{"type":"\w+","version":(?P<version>\d+)(?:,"base":(?P<base>\d+))?')


def handshake(url: str, cookie: str) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
               f"Origin: http://{parts.netloc}\r\nCookie: sessionid={cookie}\r\nAccept-Language: vi\r\n\r\n")
    return parts.hostname, parts.port, request.encode()


async def ws_clients(n: int, url: str, cookie: str):
    """N viewers: print "ready" once each holds a snapshot; on "go" start noting; on "stop" print one JSON
    line per viewer ({seen, snapshots, deltas, resyncs, bytes}), then the process's CPU seconds, and close."""
    _raise_file_limit()
    loop = asyncio.get_running_loop()
    host, port, request = handshake(url, cookie)
    ready, holding, failed, viewers = asyncio.Event(), set(), [0], []
    gate = asyncio.Semaphore(20)  # handshakes in flight: as fast as the server lets people in

    def on_ready(v):
        if v.version is not None and id(v) not in holding:
            holding.add(id(v))
            gate.release()
            if len(holding) == n:
                ready.set()

    async def view():
        await gate.acquire()
        for attempt in range(10):  # as the page does: a refused handshake is tried again after a while
            try:
                _transport, v = await loop.create_connection(lambda: Viewer(request, on_ready), host, port)
                viewers.append(v)
                return
            except OSError as error:
                failed[0] += 1
                if failed[0] <= 3:
                    print(f"  a viewer could not connect (tried again): {error!r}", file=sys.stderr, flush=True)
                await asyncio.sleep(1 + attempt)
        gate.release()

    tasks = [asyncio.create_task(view()) for _ in range(n)]
    try:
        await asyncio.wait_for(ready.wait(), 900)
    except TimeoutError:
        raise SystemExit(f"{len(holding)} of {n} viewers hold a snapshot after 900 s") from None
    print(f"  {n} viewers hold a snapshot ({failed[0]} connections tried again)", file=sys.stderr, flush=True)
    print("ready", flush=True)
    cpu0 = time.process_time()
    for expected in ("go", "stop"):
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() != expected:
            raise SystemExit(f"expected {expected!r}, got {line!r}")
        if expected == "go":
            cpu0 = time.process_time()
            for v in viewers:
                v.reset()
    cpu = time.process_time() - cpu0
    for v in viewers:
        print(json.dumps({"seen": v.seen, "snapshots": v.snapshots, "deltas": v.deltas, "resyncs": v.resyncs,
                          "snapshot_bytes": v.snapshot_bytes, "delta_bytes": v.delta_bytes}), flush=True)
    print(json.dumps({"closed": sum(v.closed.done() for v in viewers), "cpu_s": round(cpu, 2)}), flush=True)
    for task in tasks:
        task.cancel()
    for v in viewers:
        v.transport.close()


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


def burst_batches(queue: list, batch: int, seconds: float, writers: int, cap: int) -> list[float]:
    """Batches of ``batch`` check-ins of one point each (kiosks syncing their queues) through the check-in
    service, from ``writers`` threads as fast as they go, for ``seconds`` (at most ``cap`` people of the
    queue); each check-in's commit time, in order."""
    import threading

    from django.db import connection

    from diemcau.attendance.checkin import CheckInItem, check_in_batch
    from diemcau.attendance.models import CheckIn
    from diemcau.core.acting import system_scope
    from diemcau.orgs.scoping import SYSTEM

    by_point: dict[int, list] = {}
    while queue and cap > 0:
        cap -= 1
        person_id, point_id, session_id = queue.pop()
        by_point.setdefault(point_id, []).append((person_id, point_id, session_id))
    batches = [q[i:i + batch] for q in by_point.values() for i in range(0, len(q), batch)]
    batches.reverse()  # popped from the end: the first points' first
    lock, committed = threading.Lock(), []
    stop_at = time.monotonic() + seconds

    def write():
        with system_scope("benchmark: kiosks syncing their queues"):
            while time.monotonic() < stop_at:
                with lock:
                    if not batches:
                        return
                    rows = batches.pop()
                check_in_batch(SYSTEM, [CheckInItem(client_id=uuid.uuid4(), session_id=sid, point_id=pt,
                                                    method=CheckIn.Method.ROLL_CALL, person_id=pk)
                                        for pk, pt, sid in rows])
                at = time.time()  # returned: committed, and the notice is on its way
                with lock:
                    committed.extend([at] * len(rows))
        connection.close()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # What is left goes back to the queue for the next turn.
    queue.extend(row for rows in reversed(batches) for row in reversed(rows))
    return sorted(committed)


def lags(viewer: dict, committed: list[float]) -> tuple[list[tuple[float, float]], int]:
    """Per check-in, when this viewer first saw a present figure that counts it, as (lag, of which the
    server's computation: commit → the figures' ``computed_at``); and how many it never saw."""
    seen = viewer["seen"]
    start = seen[0][1]
    out, k = [], 0
    for i, at in enumerate(committed, start=1):
        while k < len(seen) and seen[k][1] < start + i:
            k += 1
        if k == len(seen):
            return out, len(committed) - i + 1
        out.append((max(0.0, seen[k][0] - at), max(0.0, seen[k][2] - at)))
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
        burst_started = time.monotonic()
        committed = (burst_batches(world["queue"], args.batch, args.seconds, args.writers, args.cap) if args.batch
                     else burst(world["queue"], args.rate, args.seconds))
        rate = len(committed) / max(1e-9, time.monotonic() - burst_started)
        time.sleep(3)  # the last ticks' messages
        cpu = tree_cpu(server.pid) - cpu0
        clients.stdin.write("stop\n")
        clients.stdin.flush()
        viewers = [json.loads(clients.stdout.readline()) for _ in range(n)]
        tail = json.loads(clients.stdout.readline())
        clients.wait(60)
    finally:
        stop(clients)
    pairs, unseen = [], 0
    for v in viewers:
        got, missing = lags(v, committed)
        pairs += got
        unseen += missing
    all_lags = [lag for lag, _ in pairs]
    computing = [c for _, c in pairs]
    deltas = sum(v["deltas"] for v in viewers)
    snapshots = sum(v["snapshots"] for v in viewers)
    figures = {"viewers": n, "checkins": len(committed), "checkins_per_s": round(rate, 1),
               "connect_s": round(connect_s, 1),
               "lag_p50_s": round(_percentile(all_lags, 0.5), 3), "lag_p99_s": round(_percentile(all_lags, 0.99), 3),
               "lag_max_s": round(max(all_lags, default=float("nan")), 3), "unseen": unseen,
               "compute_lag_p99_s": round(_percentile(computing, 0.99), 3),
               "delivery_lag_p99_s": round(_percentile([a - c for a, c in pairs], 0.99), 3),
               "deltas_per_viewer": round(deltas / n, 1), "snapshots": snapshots,
               "resyncs": sum(v["resyncs"] for v in viewers), "closed_early": tail["closed"],
               "clients_cpu_s": tail["cpu_s"],
               "delta_bytes": round(sum(v["delta_bytes"] for v in viewers) / max(1, deltas)),
               "server_cpu_s": round(cpu, 2)}
    log(f"{n} viewers: {len(committed)} check-ins ({rate:,.0f}/s), lag p50 {figures['lag_p50_s']} s, "
        f"p99 {figures['lag_p99_s']} s, "
        f"{figures['deltas_per_viewer']} deltas per viewer of {figures['delta_bytes']} bytes, "
        f"server CPU {figures['server_cpu_s']} s, the viewers' process {figures['clients_cpu_s']} s; of the p99, "
        f"the computation {figures['compute_lag_p99_s']} s, the delivery {figures['delivery_lag_p99_s']} s")
    return figures


def snapshot_size(world: dict, port: int) -> int:
    """The bytes of the board's snapshot (what every update weighed when the board was pushed whole)."""
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{port}/ws/attendance/sessions/{world['session_id']}/units/{world['ministry_id']}/board/"
    with connect(url, additional_headers={"Cookie": f"sessionid={world['cookie']}", "Accept-Language": "vi",
                                          "Origin": f"http://127.0.0.1:{port}"}, max_size=None) as ws:
        return len(ws.recv(timeout=60))


def start_server(port: int, log_file, deflate: bool = True) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "diemcau.asgi:application", "--host", "127.0.0.1",
                               "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--ws", "websockets",
                               "--lifespan", "off", "--no-access-log", "--no-proxy-headers", "--log-level", "warning",
                               "--ws-per-message-deflate", "true" if deflate else "false"],
                              cwd=ROOT, env=dict(os.environ), stdout=log_file, stderr=subprocess.STDOUT)
    wait_port(port, server, "uvicorn", timeout=420)  # a loaded machine imports Django slowly
    return server


def run(pg_url: str = DEFAULT_PG, viewers: tuple[int, ...] = (1, 1000), rate: float = 40.0,
        seconds: float = 10.0, deflate: bool = True, batch: int = 0, writers: int = 2) -> dict:
    """The board's figures at each number of viewers (the first: the baseline), in a world of its own."""
    args = argparse.Namespace(rate=rate, seconds=seconds, batch=batch, writers=writers)
    _raise_file_limit()
    tmp = Path(tempfile.mkdtemp(prefix="diemcau-bench-boards-"))
    _url, name, redis = board_environment(pg_url, tmp)
    from django.conf import settings
    from django.db import connections

    server, server_log = None, open(tmp / "server.log", "wb")  # closed in the finally below
    try:
        world = board_world()
        world["queue"] = [(pk, pt, world["session_id"]) for pk, pt in reversed(world["queue"])]
        if not batch and len(world["queue"]) < int(rate * seconds) * len(viewers):
            raise SystemExit(f"the demo world has {len(world['queue'])} people to check in")
        connections.close_all()
        port = _free_port()
        server = start_server(port, server_log, deflate)
        snapshot_bytes = snapshot_size(world, port)
        args.cap = len(world["queue"]) // len(viewers)  # each turn its share of the people (batches)
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
            "board_checkins_per_s": top["checkins_per_s"], "board_batch": batch,
            "board_queue_left": len(world["queue"]), "board_tick_s": float(settings.ATTENDANCE_BOARD_TICK),
            "board_deflate": deflate,
            "board_server_errors": errors, "board_turns": turns}


def main():
    args = parse_args()
    if args.ws_clients:
        asyncio.run(ws_clients(args.ws_clients, args.ws_url, args.ws_cookie))
        return
    figures = {"load_start": loadavg(), "cores": os.cpu_count()}
    started = time.monotonic()
    figures.update(run(args.pg_url, tuple(int(n) for n in args.viewers.split(",")), args.rate, args.seconds,
                       not args.no_deflate, args.batch, args.writers))
    figures.update({"load_end": loadavg(), "total_s": round(time.monotonic() - started, 1)})
    log(f"lag p99 at {figures['board_viewers']} viewers: {figures['board_lag_p99_s']} s (target ≤ 1.0; "
        f"{figures['board_lag_baseline_viewers']} viewer: {figures['board_lag_baseline_p99_s']} s) with "
        f"{figures['board_checkins_per_s']:,.0f} check-ins/s; "
        f"bytes per update: snapshot {figures['board_snapshot_bytes']}, delta {figures['board_delta_bytes']}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    from diemcau.core.acting import system_scope

    # Benchmarks drive the services as support staff would: as the system (docs/ARCHITECTURE.md).
    with system_scope("benchmark: the board's world and its check-ins"):
        main()
