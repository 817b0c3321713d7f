"""Benchmark: the national morning on the cluster harness, then the faults in turn (issue 12).

Run as root from the repository root:  PYTHONPATH=src .venv/bin/python bench/cluster.py [--scale 0.05]
(``make bench-cluster``). It

1. brings up the harness (``deploy/cluster/harness.py``, its own folder ``var/cluster-bench``) with
   each namespace's processes pinned to cores by ``taskset``: app1 and app2 one core each (cores 0
   and 1), db, proxy and clients on the rest (on a 2-core machine they share both cores);
2. loads a scaled national scenario in app1's namespace (``deploy/cluster/world.py``: ``load_demo
   --size national --scale``, then the check-in benchmark's points, assignments and signed-in
   operators from ``bench/checkin.py``);
3. replays the national morning's arrival curve (Beta(2.5, 2) over 30 minutes: ramp up, peak,
   tail; compressed to ``--curve-seconds``) through nginx against both app hosts, then the same
   curve with app2 killed (one app host): ``checkins_per_s_2_apps`` and ``checkins_per_s_1_app``
   are the busiest 5-second window of each (the peak is set above what the stack takes, so the
   window measures capacity);
4. injects the faults in turn: app1 killed during a burst (``app_kill_lost``), Redis restarted
   with check-ins during the outage (the board's recovery, ``redis_restart_recovered_s``),
   PostgreSQL restarted (``pg_restart_lost``), the task worker killed mid-import
   (``deploy/cluster/imports.py``, as the test does: ``task_kill_completed_once``);
5. compares every acknowledged check-in with the stored rows;
6. the media phase on the same harness (bench/cluster_media.py, issue 13): agents on the edge hosts,
   the runtime and its standby, ``--media-kiosks`` kiosk pages in the clients namespace, an edge
   host and then the active runtime killed, a TURN-only client: ``kiosks``, ``kiosks_decoding``,
   ``edge_kill_recovered_s``, ``runtime_failover_s``, ``turn_only_client_decoding``; and prints one
   JSON line. ``--media-only`` runs this phase alone (a small world, no check-in curve or faults).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "deploy" / "cluster"))  # first: its load.py, not bench/load.py (a benchmark)

import harness  # noqa: E402
import imports  # noqa: E402

import cluster_media  # noqa: E402
import load  # noqa: E402

PROXY = harness.address("proxy")
WINDOW_S = 5.0


def log(message: str):
    print(f"  {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=0.05, help="fraction of the nation's district offices")
    p.add_argument("--curve-people", type=int, default=3000, help="arrivals replayed in each curve run")
    p.add_argument("--curve-seconds", type=float, default=40.0, help="the 30-minute curve compressed to this")
    p.add_argument("--kiosks", type=int, default=16,
                   help="concurrent kiosk connections (2 app hosts × 2 workers × a pool of 8 connections = 32)")
    p.add_argument("--burst", type=int, default=1000, help="check-ins of the app-kill burst")
    p.add_argument("--import-rows", type=int, default=20000, help="people in the import whose worker is killed")
    p.add_argument("--keep", action="store_true", help="leave the cluster up afterwards")
    p.add_argument("--media-only", action="store_true", help="only the media phase (bench/cluster_media.py)")
    p.add_argument("--media-kiosks", type=int, default=8, help="kiosk pages of the media phase")
    p.add_argument("--no-media", action="store_true", help="skip the media phase")
    return p.parse_args(argv)


def cpu_layout() -> dict:
    """taskset cores per host: each app host a core of its own; the rest share what is left."""
    n = os.cpu_count() or 1
    if n < 2:
        return {}
    rest = f"2-{n - 1}" if n > 3 else ("2" if n == 3 else f"0-{n - 1}")
    layout = {"app1": "0", "app2": "1"}
    layout.update({h: rest for h in harness.HOSTS if h not in layout})
    return layout


def curve_run(c, world: dict, people: list, args, tag: str) -> tuple[load.Outcome, float]:
    """Replay ``people`` at the curve's pace (compressed); each kiosk sends when its turn comes."""
    rng = random.Random(len(people))
    times = sorted(rng.betavariate(2.5, 2.0) * args.curve_seconds for _ in people)
    schedule = list(zip(times, people, strict=True))
    start = time.monotonic() + 0.5
    lock = threading.Lock()
    queue = list(reversed(schedule))
    results = []

    stop_at = start + args.curve_seconds * 1.5  # bounded in time: what the stack did not take is dropped

    def kiosk():
        while True:
            with lock:
                if not queue or time.monotonic() > stop_at:
                    return
                at, person = queue.pop()
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            results.append(load.send_checkins(PROXY, world, [person], threads=1, tag=tag, deadline_s=30))

    threads = [threading.Thread(target=kiosk, daemon=True) for _ in range(args.kiosks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merged = load.Outcome(started=start)
    for r in results:
        merged.acked.update(r.acked)
        merged.statuses.update(r.statuses)
        merged.unacked.extend(r.unacked)
        merged.ack_times.extend(r.ack_times)
    merged.ended = time.monotonic()
    return merged, peak_per_s(merged.ack_times)


def peak_per_s(ack_times: list[float]) -> float:
    """The busiest WINDOW_S seconds' acknowledgements per second."""
    times = sorted(ack_times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - WINDOW_S:
            j += 1
        best = max(best, i - j + 1)
    return round(best / WINDOW_S, 1)


def app_kill(c, world, people) -> load.Outcome:
    acked = [0]

    def on_ack(_cid):
        acked[0] += 1
        if acked[0] == len(people) // 4:
            threading.Thread(target=c.kill_host, args=("app1",), daemon=True).start()

    outcome = load.send_checkins(PROXY, world, people, threads=16, tag="kill-", on_ack=on_ack)
    c.start_host("app1")
    return outcome


def redis_restart(c, world, people) -> float | None:
    viewer = load.BoardViewer(PROXY, world)
    viewer.start()
    try:
        if viewer.wait_present(0, 60) is None:
            return None
        before = viewer.present
        c.stop_service("redis")  # check-ins during the outage: their live notices are lost
        load.send_checkins(PROXY, world, people, threads=1, tag="redis-", deadline_s=30)
        c.start_service("db", "redis")
        back = time.monotonic()
        shown = viewer.wait_present(before + len(people), 30)
        return None if shown is None else round(shown - back, 2)
    finally:
        viewer.stop()


def pg_restart(c, world, people) -> load.Outcome:
    box = {}
    sender = threading.Thread(target=lambda: box.update(o=load.send_checkins(
        PROXY, world, people, threads=8, tag="pg-", deadline_s=180, pace_s=0.02, retry_pause_s=0.5)))
    sender.start()
    time.sleep(2)
    c.restart("postgres", pause=3.0)
    sender.join()
    return box["o"]


def stored_count(c, client_ids) -> int:
    ids = list(client_ids)
    total = 0
    for i in range(0, len(ids), 2000):
        chunk = ",".join(f"'{x}'" for x in ids[i:i + 2000])
        total += int(c.psql(None, f"SELECT count(*) FROM attendance_checkin WHERE client_id IN ({chunk})"))
    return total


def _terminated(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # so the cluster is taken down (finally)


def main(argv=None) -> dict:
    signal.signal(signal.SIGTERM, _terminated)
    args = parse_args(argv)
    if args.media_only:
        return cluster_media.main(["--kiosks", str(args.media_kiosks), *(["--keep"] if args.keep else [])])
    reason = harness.available()
    if reason:
        raise SystemExit(reason)
    began = time.monotonic()
    load_start = os.getloadavg()
    cpus = cpu_layout()
    c = harness.Cluster(var=ROOT / "var" / "cluster-bench", cpus=cpus)
    try:
        c.up("none")
        log(f"cluster up in {time.monotonic() - began:.0f} s; cores per host: {cpus}")
        need = 2 * args.curve_people + args.burst + 400
        t0 = time.monotonic()
        world = json.loads(c.python_in("app1", ROOT / "deploy" / "cluster" / "world.py", "--scale",
                                       str(args.scale), "--people", str(need)))
        world_s = time.monotonic() - t0
        people = world["arrivals"]
        log(f"world: {world['people']:,} people, {len(world['operators'])} points, in {world_s:.0f} s")
        taken = iter(range(len(people)))

        def take(n):
            return [people[next(taken)] for _ in range(n)]

        outcomes = []
        two, per_s_2 = curve_run(c, world, take(args.curve_people), args, "curve2-")
        outcomes.append(two)
        log(f"curve, 2 app hosts: peak {per_s_2}/s, {len(two.acked)} acked, {dict(two.statuses)}")
        c.kill_host("app2")
        one, per_s_1 = curve_run(c, world, take(args.curve_people), args, "curve1-")
        outcomes.append(one)
        log(f"curve, 1 app host: peak {per_s_1}/s, {len(one.acked)} acked, {dict(one.statuses)}")
        c.start_host("app2")
        # The faults' bursts sized to what the stack takes here (~20 s of check-ins), within --burst.
        burst = max(100, min(args.burst, int(per_s_2 * 20)))
        kill = app_kill(c, world, take(burst))
        outcomes.append(kill)
        kill_stored = stored_count(c, kill.acked)
        log(f"app1 killed mid-burst: {len(kill.acked)} acked, {kill_stored} stored, {dict(kill.statuses)}")
        recovered = redis_restart(c, world, take(5))
        log(f"redis restarted: board current after {recovered} s")
        pg = pg_restart(c, world, take(max(50, min(390, int(per_s_2 * 10)))))
        outcomes.append(pg)
        pg_stored = stored_count(c, pg.acked)
        log(f"postgres restarted: {len(pg.acked)} acked, {pg_stored} stored, {dict(pg.statuses)}")
        task = imports.import_with_worker_killed(c, world, args.import_rows)
        log(f"task worker killed mid-import: {task}")
        acked = set().union(*(o.acked for o in outcomes))
        result = {
            "hosts": len(harness.HOSTS), "app_hosts": len(harness.APP_HOSTS),
            "asgi": f"uvicorn, {harness.ASGI_WORKERS} workers per app host",
            "people": world["people"], "points": len(world["operators"]), "scale": args.scale,
            "checkins_acked": len(acked), "checkins_stored": stored_count(c, acked),
            "curve_people": args.curve_people, "curve_seconds": args.curve_seconds, "checkin_kiosks": args.kiosks,
            "curve_acked_2_apps": len(two.acked), "curve_acked_1_app": len(one.acked), "app_kill_burst": burst,
            "app_kill_lost": len(kill.acked) - kill_stored, "app_kill_unacked": len(kill.unacked),
            "app_kill_failed_over": kill.failed_over,
            "task_kill_completed_once": bool(imports.completed_once(task)),
            "task_kill_job_attempts": task.get("job_attempts"), "task_kill_rows": args.import_rows,
            "redis_restart_recovered_s": recovered,
            "pg_restart_lost": len(pg.acked) - pg_stored,
            "pg_restart_statuses": {str(k): v for k, v in sorted(pg.statuses.items())},
            "checkins_per_s_1_app": per_s_1, "checkins_per_s_2_apps": per_s_2,
            "cores_per_app_host": 1 if cpus else os.cpu_count(), "cpus": cpus or "unpinned",
            "machine_cores": os.cpu_count(), "world_s": round(world_s, 1),
            "load_start": [round(x, 2) for x in load_start], "load_end": [round(x, 2) for x in os.getloadavg()],
        }
        if not args.no_media:
            log("media phase: agents, runtime and standby, kiosks, an edge host and the runtime killed")
            result.update(cluster_media.media_phase(c, world, args.media_kiosks))
        result["load_end"] = [round(x, 2) for x in os.getloadavg()]
        result["total_s"] = round(time.monotonic() - began, 1)
    finally:
        if not args.keep:
            c.down()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
