"""Benchmark: the national morning of check-ins, through the real server stack, on SQLite and PostgreSQL.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/checkin.py [--quick | --scale 0.1]
(``make bench-checkin``). For each database (``--db both``, the default: SQLite, then PostgreSQL
when one is reachable at DATABASE_URL or ``--pg-url``) a child process:

1. migrates a fresh database and loads the national world from seed 2023 (the code of
   ``manage.py load_demo --size national``: 1.6 million people, ~43,000 institutions);
2. adds what the national load does not make, with plain bulk rows: one conference and its
   morning session, ~10,000 bridge points (the institutions under each office cut into groups of
   neighbours by tree path, one hall per group at its first school), every institution assigned
   to its group's point, one point-operator account per point, signed in (a database session
   per operator, so every kiosk sends its own cookie);
3. **compares the ASGI servers** (``--compare daphne,uvicorn,granian``): for each in turn, ``--workers``
   processes of it (one port each), a warm-up, then single check-ins for ``--compare-seconds``; the
   servers take turns ``--rounds`` times so a change in the machine's load falls on all of them. Keys
   ``checkins_per_s_<server>``, ``p99_ms_<server>``, ``server_cpu_ms_per_checkin_<server>`` (CPU of
   the server processes and their children, per check-in);
4. starts the server stack for the phases below as child processes on 127.0.0.1: ``--workers``
   processes of ``--server`` (default uvicorn with uvloop and httptools; one port each; the load
   generator spreads its connections over them as a proxy in front would);
5. runs the load generator (``bench/httpload.py``, asyncio over raw keep-alive HTTP/1.1, in its
   own process) in turns: the **ceiling** (``GET /healthz``, the bare endpoint of the same stack:
   middleware and one ``SELECT 1``), then **single check-ins** (``POST /api/attendance/checkins/``
   as the operator of each person's point), then **batches** (``POST .../checkins/batch/``, an
   offline kiosk syncing its queue). People arrive in the order of a 30-minute arrival curve,
   replayed as fast as the server takes them (each connection sends its next request when the
   previous reply is in), each phase bounded by ``--seconds``;
6. then the **board** phase: single check-ins again while this process polls the board's
   roll-up, ``attendance.rollup.rollup(session, ministry)``, every 0.5 s: a check-in's **board
   lag** is the time from its acknowledgement to the end of the first poll that began after it
   (a poll begun after the ack surely sees the committed row). The websocket board is not in
   this branch; this is the query it would run, on the same machine, so it gets its own phase
   rather than sharing the cores with the throughput phases;
7. samples the resident memory of the server workers (sum, max over the run) and their CPU;
8. on PostgreSQL, the **database limit** (``db_limit_per_s``): the check-in's own write statement
   straight through psycopg, one transaction each, over as many connections as the single phase,
   and the CPU of the database backends during the single check-ins (``db_cpu_ms_per_checkin``).
   Derived: ``ceiling_ratio`` = single check-ins/s ÷ the bare endpoint's req/s, ``db_ratio`` =
   single check-ins/s ÷ ``db_limit_per_s``, ``nation_cores`` = ⌈peak × (server CPU + database CPU
   per check-in) ÷ 1000⌉ for the national peak of the arrival curve (1,440/s at full scale).
   ``queries_per_checkin`` counts a check-in through the API (session and user included, and the
   transaction's BEGIN and COMMIT; ``…_statements`` without those two), ``queries_per_checkin_service``
   the check-in service alone.

9. on PostgreSQL, the board and the votes in the same run, by their own benchmarks (:func:`companions`):
   ``board_lag_p99_s`` and ``board_viewers`` from bench/boards.py (the ministry's websocket board with
   1,000 viewers while kiosks send batches as fast as they go), ``votes_per_s`` and ``votes_p99_ms`` from
   bench/votes.py. The roll-up polled in step 6 is ``board_poll_lag_p99_s``.

The last line of stdout is one JSON object: PostgreSQL's figures at the top level (SQLite's when
PostgreSQL is not run) and SQLite's nested under ``sqlite``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from diemcau.core.acting import system_scope

ROOT = Path(__file__).resolve().parent.parent
BENCH_TITLE = "Hội nghị toàn quốc (benchmark check-in)"
POINTS_NATIONAL = 10_000
NATION_PEOPLE = 1_593_305  # the national world of seed 2023: its arrival curve peaks at 1,440/s
POLL_EVERY = 0.5
ARRIVAL_WINDOW_S = 30 * 60
DEFAULT_PG = "postgres://diemcau:diemcau@127.0.0.1:5432/diemcau"


# The ASGI servers compared: each serves diemcau.asgi:application on one port, one process (and, for
# granian, its worker child); the same number of them for each server.
SERVERS = {
    "daphne": lambda port: [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port),
                            "diemcau.asgi:application"],
    "uvicorn": lambda port: [sys.executable, "-m", "uvicorn", "diemcau.asgi:application", "--host", "127.0.0.1",
                             "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--ws", "websockets",
                             "--lifespan", "off", "--no-access-log", "--no-proxy-headers", "--log-level", "warning"],
    "granian": lambda port: [sys.executable, "-m", "granian", "--interface", "asginl", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1", "--loop", "uvloop", "--log-level", "warning",
                             "--no-access-log", "diemcau.asgi:application"],
}


# --- the orchestrator -------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default="both", choices=["both", "sqlite", "postgresql"])
    p.add_argument("--pg-url", default=os.environ.get("DATABASE_URL") or DEFAULT_PG,
                   help="the PostgreSQL server (the benchmark creates <name>_bench_checkin beside it)")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the nation's district offices")
    p.add_argument("--seed", type=int, default=2023)
    p.add_argument("--workers", type=int, default=3, help="server processes (one port each)")
    p.add_argument("--server", default="uvicorn", choices=sorted(SERVERS), help="the ASGI server of the main phases")
    p.add_argument("--compare", default="daphne,uvicorn,granian",
                   help="ASGI servers compared on single check-ins before the main phases ('' for none)")
    p.add_argument("--compare-seconds", type=float, default=20.0, help="length of each server's turn")
    p.add_argument("--rounds", type=int, default=2, help="turns of each server in the comparison")
    p.add_argument("--connections", type=int, default=12,
                   help="concurrent keep-alive connections of single check-ins (kiosks in flight)")
    p.add_argument("--batch-connections", type=int, default=6, help="concurrent connections sending batches")
    p.add_argument("--seconds", type=float, default=30.0, help="length of each measured phase")
    p.add_argument("--ceiling-seconds", type=float, default=15.0)
    p.add_argument("--board-seconds", type=float, default=20.0, help="length of the board phase")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds at the start of a phase not counted")
    p.add_argument("--batch", type=int, default=50, help="items per batch in the batch phase (0: no batches)")
    p.add_argument("--quick", action="store_true", help="scale 0.02, 8-second phases: for development")
    p.add_argument("--keep", action="store_true", help="keep the databases (for --reuse)")
    p.add_argument("--reuse", action="store_true", help="reuse a kept database of the same scale and seed")
    p.add_argument("--auth", default="device", choices=["device", "session"],
                   help="how the kiosks authenticate: a device token (Bearer) or a signed-in session + CSRF")
    p.add_argument("--profile", type=int, default=0,
                   help="also profile N single check-ins in-process (cProfile, CPU time, top functions to stderr)")
    p.add_argument("--profile-batch", type=int, default=0,
                   help="with --profile: batches of this size at one point instead of singles")
    p.add_argument("--profile-via", default="asgi", choices=["asgi", "client"],
                   help="with --profile: the device route in front of Django (as served) or Django's test client")
    p.add_argument("--profile-only", action="store_true",
                   help="with --profile: stop after the profile (no servers, no load); --reuse a kept world")
    p.add_argument("--board-viewers", default="1,1000",
                   help="bench/boards.py's turns (websocket viewers of the ministry's board while kiosks send "
                        "batches as fast as they go); '' for none")
    p.add_argument("--votes-people", type=int, default=20000, help="bench/votes.py's voters (0: no votes)")
    p.add_argument("--one", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.scale = min(args.scale, 0.02)
        args.seconds = min(args.seconds, 8.0)
        args.ceiling_seconds = min(args.ceiling_seconds, 5.0)
        args.board_seconds = min(args.board_seconds, 8.0)
        args.warmup = min(args.warmup, 1.0)
        args.compare_seconds = min(args.compare_seconds, 8.0)
        args.votes_people = min(args.votes_people, 5000)
    args.compare = [c for c in args.compare.split(",") if c]
    unknown = set(args.compare) - set(SERVERS)
    if unknown:
        p.error(f"unknown server(s) in --compare: {', '.join(sorted(unknown))}")
    return args


def log(message: str):
    print(f"  {message}", file=sys.stderr, flush=True)


def _pg_reachable(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception as exc:
        log(f"PostgreSQL not reachable at {urlsplit(url).hostname}: {exc.__class__.__name__}; skipped")
        return False


def orchestrate(args, argv) -> dict:
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in databases and not _pg_reachable(args.pg_url):
        databases.remove("postgresql")
    started = time.monotonic()
    results = {}
    for db in databases:
        log(f"== {db}")
        cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--one", db]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        last = ""
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if line.strip():
                last = line
        if proc.wait() != 0:
            raise SystemExit(f"the {db} run failed (exit {proc.returncode})")
        results[db] = json.loads(last)
    if not results:
        raise SystemExit("no database to run on")
    head = dict(results.get("postgresql") or results["sqlite"])
    if "postgresql" in results and "sqlite" in results:
        head["sqlite"] = results["sqlite"]
    if "postgresql" in results:
        head.update(companions(args))
    head["total_s"] = round(time.monotonic() - started, 1)
    return head


def _companion(name: str, argv: list[str], env: dict) -> dict:
    """Run ``bench/<name>.py`` in a process of its own; its last line of JSON (``{}`` when it failed)."""
    log(f"== {name}: {' '.join(argv)}")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), *argv], stdout=subprocess.PIPE,
                          text=True, env=env, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        log(f"   {name} failed (exit {proc.returncode})")
        return {}
    return json.loads(lines[-1])


def companions(args) -> dict:
    """The issue's board and vote figures, measured in this run by their own benchmarks on PostgreSQL.

    ``board_lag_p99_s`` / ``board_viewers``: bench/boards.py, the ministry's websocket board with the last
    of ``--board-viewers`` viewers open while kiosks send batches of ``--batch`` through the check-in
    service as fast as two threads go (the highest rate this machine sustains beside the board); the
    figure the check-in phases measured by polling the roll-up is ``board_poll_lag_p99_s``.
    ``votes_per_s`` / ``votes_p99_ms``: bench/votes.py, upvotes through the HTTP path, with its own single
    check-ins as the baseline (``votes_ratio``).
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), DATABASE_URL=args.pg_url)
    out: dict = {}
    seconds = str(args.seconds if not args.quick else 8.0)
    if args.board_viewers:
        b = _companion("boards", ["--pg-url", args.pg_url, "--viewers", args.board_viewers, "--batch",
                                  str(args.batch or 50), "--seconds", seconds], env)
        if b:
            out.update({k: b.get(k) for k in (
                "board_viewers", "board_lag_p99_s", "board_lag_p50_s", "board_lag_baseline_p99_s",
                "board_lag_baseline_viewers", "board_unseen", "board_checkins_per_s", "board_delta_bytes",
                "board_snapshot_bytes", "board_server_cpu_s", "board_server_errors")})
            out["board_compute_lag_p99_s"] = b["board_turns"][-1]["compute_lag_p99_s"]
            out["board_delivery_lag_p99_s"] = b["board_turns"][-1]["delivery_lag_p99_s"]
            out["board_lag_method"] = ("bench/boards.py: commit → the first websocket message to each viewer whose "
                                       "present figure counts the check-in; kiosks' batches as fast as they go")
    if args.votes_people:
        v = _companion("votes", ["--people", str(args.votes_people), "--seconds", seconds, "--rounds", "1"], env)
        if v:
            out.update({"votes_per_s": v.get("votes_per_s"), "votes_p99_ms": v.get("votes_p99_ms"),
                        "votes_ratio": v.get("votes_ratio"), "votes_baseline_checkins_per_s": v.get("checkins_per_s"),
                        "server_cpu_ms_per_vote": v.get("server_cpu_ms_per_vote"),
                        "votes_counters_match": v.get("counters_match")})
    return out


# --- one database -----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_database(base_url: str, reuse: bool) -> tuple[str, str, bool]:
    """The benchmark's own database beside the one in ``base_url``: URL, name, whether it existed."""
    import psycopg

    parts = urlsplit(base_url)
    name = f"{parts.path.lstrip('/') or 'diemcau'}_bench_checkin"
    with psycopg.connect(base_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and not reuse:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name, exists


def _drop_pg(base_url: str, name: str):
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (granian's workers are children of the process started)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (0 when it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class MemorySampler(threading.Thread):
    """The sum of the server workers' resident memory, sampled every 0.2 s; keeps the maximum."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids, self.peak_kib, self.stop = pids, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(p) for pid in self.pids for p in _tree(pid)))
            self.stop.wait(0.2)


def run_one(args) -> dict:
    db = args.one
    keep_dir = ROOT / "var" / "bench-checkin"
    tmp = Path(tempfile.mkdtemp(prefix="diemcau-bench-checkin-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "diemcau.settings"
    os.environ["DIEMCAU_VAR"] = str(tmp)
    os.environ["DIEMCAU_FAST_HASHER"] = "1"  # the nine demo accounts; kiosks never hash a password
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # shared with the workers
    os.environ["DIEMCAU_LOG_LEVEL"] = "WARNING"
    pg_name, reused = "", False
    if db == "postgresql":
        os.environ["DATABASE_URL"], pg_name, reused = _pg_database(args.pg_url, args.reuse)
        os.environ.pop("DIEMCAU_SQLITE", None)
    else:
        os.environ.pop("DATABASE_URL", None)
        if args.keep or args.reuse:
            keep_dir.mkdir(parents=True, exist_ok=True)
            path = keep_dir / f"checkin-{args.seed}-{args.scale}.sqlite3"
            if path.exists() and not args.reuse:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            reused = path.exists()
        else:
            path = tmp / "checkin.sqlite3"
        os.environ["DIEMCAU_SQLITE"] = str(path)

    import django

    django.setup()
    from django.db import connection, connections

    workers: list[subprocess.Popen] = []
    try:
        t0 = time.monotonic()
        world = prepare_world(args, reused)
        setup_s = time.monotonic() - t0
        database = (f"sqlite {'.'.join(map(str, connection.Database.sqlite_version_info))} (WAL)"
                    if connection.vendor == "sqlite" else f"postgresql {connection.pg_version // 10000}")
        log(f"{database}: world ready in {setup_s:.0f} s: {world['people']:,} people, "
            f"{world['institutions']:,} institutions, {world['points']:,} points")
        queries = count_queries(world)
        if args.profile:
            profiled = profile_checkins(world, args.profile, args.profile_batch, args.profile_via)
            if args.profile_only:
                return {"queries": queries, **profiled}
        connections.close_all()
        figures = drive(args, world, workers)
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(10)
            except subprocess.TimeoutExpired:
                w.kill()
        connections.close_all()
        kept_logs = ROOT / "var" / "bench-checkin"
        kept_logs.mkdir(parents=True, exist_ok=True)
        for log_file in tmp.glob("server-*.log"):  # the workers' errors, if any, outlive the run
            shutil.copy(log_file, kept_logs / f"{db}-{log_file.name}")
        if pg_name and not args.keep:
            _drop_pg(args.pg_url, pg_name)
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "database": database, "scale": args.scale, "seed": args.seed,
        "people": world["people"], "institutions": world["institutions"], "points": world["points"],
        "operators": world["points"], "setup_s": round(setup_s, 1), "reused_database": reused,
        "queries_per_checkin": queries["http"], "queries_per_checkin_statements": queries["http_statements"],
        "queries_per_checkin_session": queries["session"],
        "queries_per_checkin_service": queries["service"],
        "queries_per_checkin_service_statements": queries["service_statements"], **figures,
    }


# --- the world: points, assignments, operators ------------------------------------------------
def prepare_world(args, reused: bool) -> dict:
    from django.core.management import call_command

    from diemcau.demo import orgs as demo
    from diemcau.orgs import admin_data
    from diemcau.orgs.models import Person, Unit

    call_command("migrate", verbosity=0)
    if reused and demo.loaded():
        drop_points()
        log("reusing the kept national world; the benchmark's points, operators and check-ins made afresh")
    else:
        started = time.monotonic()
        report = demo.load(args.seed, "national", scale=args.scale, progress=lambda m: None)
        log(f"national world loaded in {time.monotonic() - started:.0f} s "
            f"({report.people_total:,} people, {report.units_total:,} units)")
    started = time.monotonic()
    conference = make_points(args.scale)
    session = conference.sessions.get()
    log(f"points, assignments, expected counts and operators written in {time.monotonic() - started:.1f} s")
    ministry = Unit.objects.get(code=admin_data.MINISTRY_CODE)
    operators = sign_in_operators(conference)
    people_total = Person.objects.count()
    return {"session_id": session.pk, "ministry_id": ministry.pk, "operators": operators,
            "people": people_total, "points": len(operators),
            "institutions": session.assignments.count(), "seed": args.seed}


def drop_points():
    """Delete what :func:`make_points` made (and the check-ins), with plain SQL in foreign-key order."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session as DbSession
    from django.db import connection, transaction

    from diemcau.attendance.models import AttendanceCount, CheckIn
    from diemcau.core.models import AuditEntry
    from diemcau.events.models import Conference
    from diemcau.orgs.models import RoleAssignment
    from diemcau.points.models import Assignment, BridgePoint, DeviceToken, Hall

    q = connection.ops.quote_name
    conference_ids = list(Conference.objects.filter(title=BENCH_TITLE).values_list("pk", flat=True))
    if not conference_ids:
        return
    ids = ", ".join(map(str, conference_ids))
    points = f"SELECT id FROM {q(BridgePoint._meta.db_table)} WHERE conference_id IN ({ids})"
    kiosks = f"SELECT id FROM {q(get_user_model()._meta.db_table)} WHERE username LIKE 'kiosk%%'"
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (
            f"DELETE FROM {q(CheckIn._meta.db_table)}",
            f"DELETE FROM {q(AttendanceCount._meta.db_table)}",
            f"DELETE FROM {q(DbSession._meta.db_table)}",
            f"DELETE FROM {q(Assignment._meta.db_table)} WHERE point_id IN ({points})",
            f"DELETE FROM {q(BridgePoint.sessions.through._meta.db_table)} WHERE bridgepoint_id IN ({points})",
            f"DELETE FROM {q(DeviceToken._meta.db_table)} WHERE point_id IN ({points})",
            f"DELETE FROM {q(RoleAssignment._meta.db_table)} WHERE user_id IN ({kiosks})",
            # The sign-ins of the query count and the profile (force_login) are audited.
            f"DELETE FROM {q(AuditEntry._meta.db_table)} WHERE actor_id IN ({kiosks})",
            f"DELETE FROM {q(get_user_model()._meta.db_table)} WHERE id IN ({kiosks})",
            f"CREATE TEMP TABLE bench_halls AS SELECT hall_id FROM {q(BridgePoint._meta.db_table)} "
            f"WHERE conference_id IN ({ids})",
            f"DELETE FROM {q(BridgePoint._meta.db_table)} WHERE conference_id IN ({ids})",
            f"DELETE FROM {q(Hall._meta.db_table)} WHERE id IN (SELECT hall_id FROM bench_halls)",
            "DROP TABLE bench_halls",
        ):
            cursor.execute(sql)
        # What else hangs on the conference (the voice topics seeded when it was made, its sessions,
        # anything another part adds): the ORM's cascade, now that the heavy rows are gone.
        Conference.objects.filter(pk__in=conference_ids).delete()


def make_points(scale: float):
    """One conference, its morning session, ~10,000 points with halls, assignments and operators."""
    import datetime

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from diemcau.demo import org_writer
    from diemcau.events.models import Conference, Session
    from diemcau.orgs import admin_data
    from diemcau.orgs.models import EducationLevel, Role, RoleAssignment, Unit
    from diemcau.points.models import Assignment, BridgePoint, Hall

    inserter = org_writer.RowInserter  # the national loader's plain-row writer (COPY / executemany)
    copy = connection.vendor == "postgresql"
    now = timezone.now()
    User = get_user_model()
    with transaction.atomic():
        ministry = Unit.objects.get(code=admin_data.MINISTRY_CODE)
        conference = Conference.objects.create(title=BENCH_TITLE, date=timezone.localdate(), host_unit=ministry,
                                               place="Hà Nội")
        all_levels = sum(bit for bit, _key, _label in EducationLevel.CHOICES)
        session = Session.objects.create(conference=conference, title="Phiên toàn thể buổi sáng",
                                         starts_at=now + datetime.timedelta(minutes=30),
                                         ends_at=now + datetime.timedelta(hours=4), audience_levels=all_levels)
        rows = list(Unit.objects.filter(kind=Unit.Kind.INSTITUTION).order_by("path").values_list(
            "pk", "parent_id", "managers_count", "teachers_count", "staff_count"))
        groups: dict[int, list[tuple]] = {}
        for row in rows:
            groups.setdefault(row[1], []).append(row)
        # Points per office in proportion to its institutions (largest remainders, at least one),
        # so the nation has POINTS_NATIONAL × scale of them.
        target = max(len(groups), round(POINTS_NATIONAL * scale))
        share = {g: len(m) * target / len(rows) for g, m in groups.items()}
        k = {g: max(1, int(v)) for g, v in share.items()}
        for g in sorted(share, key=lambda g: share[g] - int(share[g]), reverse=True)[:max(0, target - sum(k.values()))]:
            k[g] = min(len(groups[g]), k[g] + 1)
        chunks = []  # neighbours in the tree (same office), cut into points of ~4 institutions
        for g, members in groups.items():
            n, parts = len(members), min(k[g], len(members))
            cuts = [round(j * n / parts) for j in range(parts + 1)]
            chunks.extend(members[cuts[j]:cuts[j + 1]] for j in range(parts))
        seats = {r[0]: r[2] + r[3] + r[4] for r in rows}
        inserter(Hall, ("unit_id", "name", "capacity"), now, copy=copy).insert(
            (c[0][0], "Hội trường điểm cầu", sum(seats[r[0]] for r in c) + 20) for c in chunks)
        hall_of = dict(Hall.objects.values_list("unit_id", "pk"))
        inserter(BridgePoint, ("conference_id", "hall_id", "name", "readiness"), now, copy=copy).insert(
            (conference.pk, hall_of[c[0][0]], f"Điểm cầu {n + 1:05d}", BridgePoint.Readiness.LIVE)
            for n, c in enumerate(chunks))
        point_of_hall = dict(BridgePoint.objects.filter(conference=conference).values_list("hall_id", "pk"))
        points = [point_of_hall[hall_of[c[0][0]]] for c in chunks]
        inserter(BridgePoint.sessions.through, ("bridgepoint_id", "session_id"), now, copy=copy).insert(
            (p, session.pk) for p in points)
        inserter(Assignment, ("session_id", "institution_id", "point_id", "seats", "method"), now, copy=copy).insert(
            (session.pk, r[0], p, seats[r[0]], Assignment.Method.PLANNER)
            for c, p in zip(chunks, points, strict=True) for r in c)
        # Operators sign in with a session made here; "!" is an unusable password (no login form).
        inserter(User, ("username", "password", "is_active"), now, copy=copy).insert(
            (f"kiosk{p}", "!", True) for p in points)
        user_of = dict(User.objects.filter(username__startswith="kiosk").values_list("username", "pk"))
        inserter(RoleAssignment, ("user_id", "role", "unit_id", "point_id"), now, copy=copy).insert(
            (user_of[f"kiosk{p}"], Role.POINT_OPERATOR, c[0][0], p) for c, p in zip(chunks, points, strict=True))
    if copy:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    # The assignments were written as plain rows, past the service: their expected counts as the
    # repair command writes them (what assigning through the service keeps up to date).
    from diemcau.attendance import counts

    counts.repair([session.pk])
    return conference


def sign_in_operators(conference) -> list[dict]:
    """A fresh signed-in database session per point operator: [{point_id, user_id, cookie}]."""
    import datetime

    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session as DbSession
    from django.db import connection, transaction
    from django.utils import timezone

    from diemcau.demo import org_writer
    from diemcau.orgs.models import Role, RoleAssignment
    from diemcau.points import devices
    from diemcau.points.models import DeviceToken

    User = get_user_model()
    rows = list(RoleAssignment.objects.filter(role=Role.POINT_OPERATOR, point_id__in=conference.points.values("pk"))
                .values_list("point_id", "user_id", "user__password"))
    store = SessionStore()
    expire = timezone.now() + datetime.timedelta(days=1)
    operators, sessions, tokens = [], [], []
    for point_id, user_id, password in rows:
        user = User(pk=user_id, password=password)
        key = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(32))
        data = store.encode({"_auth_user_id": str(user_id),
                             "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                             "_auth_user_hash": user.get_session_auth_hash()})
        sessions.append((key, data, expire))
        # The kiosk's device token, as points.devices.issue makes one (hashed; the secret kept here only).
        secret = devices.SCHEME + secrets.token_urlsafe(32)
        tokens.append((point_id, f"Kiosk {point_id}", devices._hash(secret), secret[4:12], user_id, expire))
        operators.append({"point_id": point_id, "user_id": user_id, "cookie": key, "token": secret})
    with transaction.atomic():
        DbSession.objects.all().delete()
        DeviceToken.objects.filter(point_id__in=[r[0] for r in rows]).delete()
        org_writer.RowInserter(DbSession, ("session_key", "session_data", "expire_date"), timezone.now(),
                               copy=connection.vendor == "postgresql").insert(sessions)
        org_writer.RowInserter(DeviceToken, ("point_id", "name", "token_hash", "prefix", "issued_by_id", "expires_at"),
                               timezone.now(), copy=connection.vendor == "postgresql").insert(tokens)
    return operators


def arrivals(world: dict, n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` people of assigned institutions, in the order they arrive: [(person_id, point_id)].

    Arrival times follow a 30-minute curve (Beta(2.5, 2): people trickle in, most come in the
    ten minutes before the start, a few late); the benchmark replays that order compressed.
    """
    from django.db.models import Max, Min

    from diemcau.orgs.models import Person
    from diemcau.points.models import Assignment

    point_of = dict(Assignment.objects.filter(session_id=world["session_id"]).values_list("institution_id",
                                                                                         "point_id"))
    bounds = Person.objects.aggregate(lo=Min("id"), hi=Max("id"))
    rng = random.Random(seed)
    span = range(bounds["lo"], bounds["hi"] + 1)
    ids = rng.sample(span, min(len(span), int(n * 1.2) + 100))
    chosen: list[tuple[int, int]] = []
    for i in range(0, len(ids), 5000):
        for pk, unit_id in Person.objects.filter(pk__in=ids[i:i + 5000], is_active=True).values_list("pk", "unit_id"):
            if unit_id in point_of:
                chosen.append((pk, point_of[unit_id]))
    chosen = chosen[:n]
    at = {pk: rng.betavariate(2.5, 2.0) * ARRIVAL_WINDOW_S for pk, _ in chosen}
    chosen.sort(key=lambda item: at[item[0]])
    return chosen


def curve_peak_per_s(people: int) -> float:
    """The national arrival rate at the curve's peak: people × max density / window."""
    a, b = 2.5, 2.0
    mode = (a - 1) / (a + b - 2)
    from math import gamma

    density = mode ** (a - 1) * (1 - mode) ** (b - 1) * gamma(a + b) / (gamma(a) * gamma(b))
    return people * density / ARRIVAL_WINDOW_S


# --- queries and profile ----------------------------------------------------------------------
def _client_for(world: dict, point_id: int):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    operator = next(o for o in world["operators"] if o["point_id"] == point_id)
    client.force_login(get_user_model().objects.get(pk=operator["user_id"]))
    return client


def count_queries(world: dict) -> dict:
    """Queries per single check-in: through the API with the kiosk's device token (``http``: the token's
    look-up included) and with a signed-in session (``session``: the session and user look-ups), and of
    the service alone (what the check-in itself costs); medians over ~13 people of each."""
    import uuid

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from diemcau.attendance import checkin
    from diemcau.orgs.scoping import acting_as

    people = arrivals(world, 40, seed=world["seed"] + 1)
    counts = {"http": [], "http_statements": [], "session": [], "service": [], "service_statements": []}
    token_of = {o["point_id"]: o["token"] for o in world["operators"]}

    def statements(ctx) -> int:  # without the transaction's BEGIN and COMMIT
        return sum(1 for q in ctx.captured_queries if q["sql"] not in ("BEGIN", "COMMIT"))

    clients = {}
    for n, (person_id, point_id) in enumerate(people):
        body = {"client_id": str(uuid.uuid4()), "session_id": world["session_id"], "point_id": point_id,
                "person_id": person_id, "method": "roll_call"}
        if n % 3 == 0:
            with CaptureQueriesContext(connection) as ctx:
                r = Client(HTTP_HOST="127.0.0.1").post("/api/attendance/checkins/", body,
                                                       content_type="application/json",
                                                       HTTP_AUTHORIZATION=f"Bearer {token_of[point_id]}")
            assert r.status_code == 200, r.content
            counts["http"].append(len(ctx.captured_queries))
            counts["http_statements"].append(statements(ctx))
            continue
        if n % 3 == 1:
            client = clients.get(point_id) or clients.setdefault(point_id, _client_for(world, point_id))
            with CaptureQueriesContext(connection) as ctx:
                r = client.post("/api/attendance/checkins/", body, content_type="application/json")
            assert r.status_code == 200, r.content
            counts["session"].append(len(ctx.captured_queries))
            continue
        operator = next(o for o in world["operators"] if o["point_id"] == point_id)
        user = get_user_model().objects.get(pk=operator["user_id"])
        item = checkin.CheckInItem(client_id=body["client_id"], session_id=body["session_id"], point_id=point_id,
                                   person_id=person_id)
        with acting_as(user), CaptureQueriesContext(connection) as ctx:
            checkin.check_in_one(user, item)
        counts["service"].append(len(ctx.captured_queries))
        counts["service_statements"].append(statements(ctx))
    return {k: statistics.median(v) for k, v in counts.items()}


def _in_process_route():
    """The device route as ``diemcau.asgi`` serves it (``attendance.device_http`` in front of Django),
    called in this process: ``(path, body, token) -> (status, body)``. Django's request signals keep
    this process's connection (as the test client does), so the database backend measured stays one."""
    import asyncio

    from asgiref.sync import async_to_sync
    from django.core import signals
    from django.core.handlers.asgi import ASGIHandler
    from django.db import close_old_connections

    from diemcau.attendance.device_http import device_checkins
    from diemcau.core.bodylimit import limit_asgi_bodies

    app = limit_asgi_bodies(device_checkins(ASGIHandler(), own_thread=False))
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    def call(path: str, body: bytes, token: str):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode()),
                             (b"authorization", f"Bearer {token}".encode())],
                 "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
        messages, sent = [{"type": "http.request", "body": body, "more_body": False}], []

        async def receive():
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()

        async def send(message):
            sent.append(message)

        async_to_sync(app)(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    return call


def profile_checkins(world: dict, n: int, batch: int = 0, via: str = "asgi") -> dict:
    """cProfile (CPU time) of ``n`` check-ins through the API in this process, as the kiosks send them
    (their device tokens), singles or, with ``batch``, batches of that size at one point: through the
    device route as ``diemcau.asgi`` serves it (``via="asgi"``, no server and no socket: the route and
    what it calls), or Django's test client (``"client"``: the whole middleware stack, session 8's way).
    Top functions to stderr; returns the CPU ms per check-in, with and without the
    profiler (its own cost inflates Python-heavy parts)."""
    import cProfile
    import io
    import pstats
    import uuid

    from django.test import Client

    token_of = {o["point_id"]: o["token"] for o in world["operators"]}
    people = arrivals(world, n + 20, seed=world["seed"] + 2 + batch)
    size = batch or 1
    chunks = [people[i:i + 1] for i in range(len(people))]
    if batch:  # kiosks' queues: each batch the people of one point, in arrival order
        by_point: dict[int, list] = {}
        for pk, pt in arrivals(world, world["people"], seed=world["seed"] + 3):
            by_point.setdefault(pt, []).append((pk, pt))
        chunks = [q[i:i + batch] for q in by_point.values() for i in range(0, len(q) - batch + 1, batch)]
    client = Client(HTTP_HOST="127.0.0.1")
    route = _in_process_route() if via == "asgi" else None

    def send(chunk):
        bodies = [{"client_id": str(uuid.uuid4()), "session_id": world["session_id"], "point_id": pt,
                   "person_id": pk, "method": "roll_call"} for pk, pt in chunk]
        path, data = (("/api/attendance/checkins/batch/", {"items": bodies}) if batch
                      else ("/api/attendance/checkins/", bodies[0]))
        if route is not None:
            status, content = route(path, json.dumps(data).encode(), token_of[chunk[0][1]])
            assert status == 200, content
            return
        r = client.post(path, data, content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {token_of[chunk[0][1]]}")
        assert r.status_code == 200, r.content

    for chunk in chunks[:2]:  # warm: the first request imports and plans
        send(chunk)
    measured = chunks[2:2 + max(1, n // size) * (2 if not batch else 1)]
    half = len(measured) // 2
    plain, profiled = measured[:half], measured[half:]
    from django.db import connection

    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    started, db_started = time.process_time(), _cpu_s(backend) if backend else 0.0
    for chunk in plain:
        send(chunk)
    plain_items = max(1, sum(len(c) for c in plain))
    plain_ms = 1000 * (time.process_time() - started) / plain_items
    db_ms = 1000 * (_cpu_s(backend) - db_started) / plain_items if backend else None
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for chunk in profiled:
        send(chunk)
    profiler.disable()
    items = max(1, sum(len(c) for c in profiled))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    print(f"profiled: {items} check-ins ({f'batches of {batch}' if batch else 'singles'}), "
          f"{1000 * stats.total_tt / items:.2f} ms CPU each under the profiler, {plain_ms:.2f} ms without; "
          f"the database's backend {db_ms if db_ms is None else round(db_ms, 2)} ms each",
          file=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue(), file=sys.stderr)
    return {"profile_items": items, "profile_cpu_ms": round(1000 * stats.total_tt / items, 2),
            "plain_cpu_ms": round(plain_ms, 2), "plain_db_cpu_ms": db_ms if db_ms is None else round(db_ms, 2)}


# --- the run: servers, load, board ------------------------------------------------------------
def start_workers(n: int, workers: list, server: str = "daphne") -> list[int]:
    """``n`` processes of ``server`` on ports of their own, ready (``/healthz`` answers); returns the ports."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    ports = [_free_port() for _ in range(n)]
    logs = Path(os.environ["DIEMCAU_VAR"])
    for port in ports:
        out = open(logs / f"server-{server}-{port}.log", "wb")
        workers.append(subprocess.Popen(SERVERS[server](port), env=env, stdout=out, stderr=subprocess.STDOUT,
                                        cwd=ROOT))
    deadline = time.monotonic() + 300  # a loaded machine imports Django slowly
    for port, proc in zip(ports, workers, strict=True):
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (logs / f"server-{server}-{port}.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{server} on port {port} did not start:\n{tail}") from None
                time.sleep(0.5)
    return ports


def run_load(plan: dict, poll_board=None) -> tuple[dict, list]:
    """Run the load generator on ``plan``; meanwhile poll the board if asked. Returns result, polls."""
    tmp = Path(os.environ["DIEMCAU_VAR"])
    plan_path, result_path = tmp / "plan.json", tmp / "result.json"
    plan_path.write_text(json.dumps(plan))
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "httpload.py"), str(plan_path),
                             str(result_path)])
    polls = []
    while proc.poll() is None:
        if poll_board is None:
            time.sleep(0.1)
            continue
        began = time.monotonic()
        present = poll_board()
        polls.append((began, time.monotonic(), present))
        time.sleep(max(0.0, began + POLL_EVERY - time.monotonic()))
    if proc.returncode != 0:
        raise RuntimeError("the load generator failed")
    result = json.loads(result_path.read_text())
    return result, polls


def summarise(result: dict, seconds: float, warmup: float) -> dict:
    """Throughput (items/s) over the phase after its warm-up, latency per request, errors."""
    start = result["started"] + warmup
    end = min(result["ended"], result["started"] + seconds)
    ok = [(a, lat, n) for a, lat, n, s in zip(result["acks"], result["latencies"], result["counts"],
                                            result["statuses"], strict=True) if s == 200]
    window = [(a, lat, n) for a, lat, n in ok if start <= a <= end]
    lat_ms = [lat * 1000 for _a, lat, _n in window]
    return {"per_s": round(sum(n for *_x, n in window) / max(1e-9, end - start), 1),
            "requests_per_s": round(len(window) / max(1e-9, end - start), 1),
            "p50_ms": round(_percentile(lat_ms, 0.5), 2), "p99_ms": round(_percentile(lat_ms, 0.99), 2),
            "acked": sum(n for *_x, n in ok), "requests": len(result["acks"]),
            "errors": result["errors"], "error_samples": result["error_samples"],
            "loadgen_cpu_s": round(result["cpu_s"], 1), "loadgen_peak_mib": round(result["peak_mib"])}


def board_lag(result: dict, polls: list) -> list[float]:
    """Per acknowledged check-in: seconds from its ack to the end of the first poll begun after it."""
    lags = []
    j = 0
    pairs = sorted((a, n) for a, n, s in zip(result["acks"], result["counts"], result["statuses"], strict=True)
                   if s == 200)
    for ack, n in pairs:
        while j < len(polls) and polls[j][0] < ack:
            j += 1
        if j == len(polls):
            break
        lags.extend([polls[j][1] - ack] * n)
    return lags


def base_plan(world: dict, csrf: str, cookies: list, auth: str = "session") -> dict:
    """What every phase's load plan shares: the operators' cookies (or device tokens), the session, the paths."""
    return {"csrf": csrf, "cookies": cookies, "bearer": auth == "device", "session_id": world["session_id"],
            "namespace": "6f1c3b1e-8d6a-4a59-9a55-0b5c0d1ce001",
            "path": "/api/attendance/checkins/", "path_batch": "/api/attendance/checkins/batch/"}


def stop_workers(workers: list):
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(15)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()
    workers.clear()


def compare_servers(args, plan: dict, singles, cap: int) -> dict:
    """Single check-ins through each ASGI server in turn (``--rounds`` turns each); figures per server."""
    runs: dict[str, list[dict]] = {name: [] for name in args.compare}
    for turn in range(args.rounds):
        for name in args.compare:
            workers: list = []
            try:
                ports = start_workers(args.workers, workers, name)
                pids = [w.pid for w in workers]
                run_load({**plan, "ports": ports, "connections": args.connections, "kind": "single",
                          "requests": singles(200 * args.workers), "seconds": 10})
                cpu0 = sum(_cpu_s(p) for pid in pids for p in _tree(pid))
                result, _ = run_load({**plan, "ports": ports, "connections": args.connections, "kind": "single",
                                      "requests": singles(cap), "seconds": args.compare_seconds})
                cpu1 = sum(_cpu_s(p) for pid in pids for p in _tree(pid))
                bare, _ = run_load({**plan, "ports": ports, "connections": args.connections, "kind": "ceiling",
                                    "path": "/healthz", "count": int(args.compare_seconds * 20000),
                                    "seconds": args.compare_seconds})
                cpu2 = sum(_cpu_s(p) for pid in pids for p in _tree(pid))
            finally:
                stop_workers(workers)
            single = summarise(result, args.compare_seconds, args.warmup)
            single["cpu_ms"] = 1000 * (cpu1 - cpu0) / max(1, single["acked"])
            ceiling = summarise(bare, args.compare_seconds, args.warmup)
            single["ceiling_per_s"] = ceiling["per_s"]
            single["ceiling_cpu_ms"] = 1000 * (cpu2 - cpu1) / max(1, ceiling["requests"])
            runs[name].append(single)
            log(f"  {name} (turn {turn + 1}): {single['per_s']:,.0f} check-ins/s, p50 {single['p50_ms']} ms, "
                f"p99 {single['p99_ms']} ms, server CPU {single['cpu_ms']:.1f} ms each, errors {single['errors']}; "
                f"bare endpoint {ceiling['per_s']:,.0f} req/s ({single['ceiling_cpu_ms']:.1f} ms CPU each)")
    figures = {"compared_servers": args.compare, "compare_rounds": args.rounds,
               "compare_seconds": args.compare_seconds}
    for name, turns in runs.items():
        figures.update({
            f"checkins_per_s_{name}": round(statistics.mean(t["per_s"] for t in turns), 1),
            f"p50_ms_{name}": round(statistics.mean(t["p50_ms"] for t in turns), 1),
            f"p99_ms_{name}": round(statistics.mean(t["p99_ms"] for t in turns), 1),
            f"server_cpu_ms_per_checkin_{name}": round(statistics.mean(t["cpu_ms"] for t in turns), 2),
            f"ceiling_per_s_{name}": round(statistics.mean(t["ceiling_per_s"] for t in turns), 1),
            f"ceiling_cpu_ms_{name}": round(statistics.mean(t["ceiling_cpu_ms"] for t in turns), 2),
            f"ceiling_ratio_{name}": round(statistics.mean(t["per_s"] for t in turns)
                                           / max(1e-9, statistics.mean(t["ceiling_per_s"] for t in turns)), 3),
            f"errors_{name}": {k: sum(t["errors"].get(k, 0) for t in turns) for t in turns for k in t["errors"]},
        })
    return figures


# --- the database's own limit, and its CPU per check-in ---------------------------------------
# The check-in's write statement as the product runs it on PostgreSQL (attendance/checkin_sql.py): one
# row with its flags completed from the table, ON CONFLICT DO NOTHING RETURNING, the running count raised.
DB_LIMIT_SQL = """
WITH v (session_id, point_id, person_id, institution_id, category, client_id) AS (
    VALUES (%s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::varchar, %s::uuid)),
f AS (SELECT v.*,
        NOT EXISTS (SELECT 1 FROM attendance_checkin e WHERE e.session_id = v.session_id
                    AND e.person_id = v.person_id) AS counted,
        EXISTS (SELECT 1 FROM attendance_checkin e WHERE e.session_id = v.session_id
                AND e.person_id = v.person_id AND e.point_id = v.point_id) AS dup,
        EXISTS (SELECT 1 FROM attendance_checkin e WHERE e.session_id = v.session_id
                AND e.person_id = v.person_id AND e.point_id <> v.point_id) AS other
      FROM v),
ins AS (INSERT INTO attendance_checkin (session_id, point_id, person_id, institution_id, method, category, count,
            device, scanned_at, received_at, client_id, duplicate_person, other_point, scan_time_clamped)
        SELECT session_id, point_id, person_id, institution_id, 'roll_call', category, 1, 'db-limit', now(), now(),
               client_id, dup, other, false FROM f
        ON CONFLICT (session_id, client_id) DO NOTHING RETURNING session_id, client_id),
c AS (INSERT INTO attendance_attendancecount (session_id, unit_id, category, people, heads)
      SELECT f.session_id, f.institution_id, f.category, 1, 0 FROM f JOIN ins USING (session_id, client_id)
      WHERE f.counted
      ON CONFLICT (session_id, unit_id, category) DO UPDATE SET people = attendance_attendancecount.people + 1)
SELECT 1 FROM ins"""


def db_limit(world: dict, people: list[tuple[int, int]], connections: int, seconds: float, warmup: float) -> dict:
    """The check-in's write statement straight through psycopg, ``connections`` threads, one transaction each.

    What the database itself sustains on this machine (same tables, indexes and server): the ceiling
    the HTTP path is measured against (``db_ratio``). PostgreSQL only.
    """
    import uuid

    import psycopg

    from diemcau.orgs.models import Person

    meta = {}
    for i in range(0, len(people), 5000):
        meta.update({pk: (unit, cat) for pk, unit, cat in Person.objects.filter(
            pk__in=[p for p, _ in people[i:i + 5000]]).values_list("pk", "unit_id", "category")})
    rows = [(world["session_id"], pt, pk, *meta[pk], uuid.uuid4()) for pk, pt in people if pk in meta]
    url = os.environ["DATABASE_URL"]
    done: list[float] = []
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + seconds

    def work(share):
        with psycopg.connect(url, autocommit=True) as conn:
            for row in share:
                if time.monotonic() > stop_at:
                    return
                conn.execute(DB_LIMIT_SQL, row)
                with lock:
                    done.append(time.monotonic())

    threads = [threading.Thread(target=work, args=(rows[k::connections],)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    window = [t for t in done if started + warmup <= t <= stop_at]
    end = min(stop_at, max(done, default=stop_at))  # a small world may run out of people before the end
    return {"per_s": round(len(window) / max(1e-9, end - started - warmup), 1), "written": len(done),
            "ran_dry": len(done) == len(rows)}


def db_backend_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to this database (the workers' pooled connections)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return {pid: _cpu_s(pid) for (pid,) in cursor.fetchall()}


def db_cpu_since(before: dict[int, float]) -> float:
    after = db_backend_cpu()
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def nation_cores(peak_per_s: float, server_cpu_ms: float, db_cpu_ms: float | None) -> dict:
    """Cores for the national peak from the CPU measured per check-in.

    app = peak × server CPU per check-in; database = peak × database CPU per check-in (its backends'
    CPU during the single check-ins ÷ check-ins); ``nation_cores`` = ⌈app + database⌉, at 100 % use.
    """
    import math

    app = peak_per_s * server_cpu_ms / 1000
    db = peak_per_s * (db_cpu_ms or 0) / 1000
    return {"nation_app_cores": round(app, 1), "nation_db_cores": round(db, 1) if db_cpu_ms is not None else None,
            "nation_cores": math.ceil(app + db),
            "nation_cores_formula": "ceil(peak × (server_cpu_ms_per_checkin + db_cpu_ms_per_checkin) / 1000)"}


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor


def drive(args, world: dict, workers: list) -> dict:
    from django.db import connections

    from diemcau.attendance import rollup
    from diemcau.events.models import Session
    from diemcau.orgs.models import Unit

    session = Session.objects.get(pk=world["session_id"])
    ministry = Unit.objects.get(pk=world["ministry_id"])
    # Enough people for each phase never to run dry on this machine (each phase is bounded by time).
    single_cap, batch_cap = int(args.seconds * 3000), int(args.seconds * 8000) if args.batch else 0
    board_cap = int(args.board_seconds * 3000)
    compare_cap = int(args.compare_seconds * 3000) if args.compare else 0
    turns = len(args.compare) * args.rounds
    limit_cap = int(args.ceiling_seconds * 8000)
    people_needed = (single_cap + batch_cap + board_cap + limit_cap + turns * compare_cap
                     + 200 * args.workers * (1 + turns))
    queue = arrivals(world, min(world["people"], people_needed), args.seed)
    log(f"{len(queue):,} arrivals drawn from the 30-minute curve")
    if len(queue) < people_needed:  # a small world: share its people between the phases
        warm = 200 * args.workers * (1 + turns)
        spare = len(queue) - warm
        single_cap, batch_cap, board_cap, limit_cap, compare_cap = (
            int(spare * c / (people_needed - warm))
            for c in (single_cap, batch_cap, board_cap, limit_cap, turns * compare_cap))
        compare_cap //= max(1, turns)
    cursor = 0
    cookie_index = {o["point_id"]: i for i, o in enumerate(world["operators"])}
    # The kiosks' credentials: their device tokens (--auth device, the default), or signed-in sessions.
    cookies = [o["token"] if args.auth == "device" else o["cookie"] for o in world["operators"]]
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    connections.close_all()

    def take(n: int) -> list[tuple[int, int]]:
        nonlocal cursor
        taken = queue[cursor:cursor + n]
        cursor += len(taken)
        return taken

    def singles(n: int) -> list:
        return [[cookie_index[pt], [[pk, pt]]] for pk, pt in take(n)]

    def batches(n_items: int, size: int) -> list:
        """Items grouped per point as its kiosk's offline queue fills, in arrival order."""
        pending: dict[int, list] = {}
        out = []
        for pk, pt in take(n_items):
            pending.setdefault(pt, []).append([pk, pt])
            if len(pending[pt]) == size:
                out.append([cookie_index[pt], pending.pop(pt)])
        out.extend([cookie_index[pt], items] for pt, items in pending.items())
        return out

    figures = {"auth": args.auth}
    if args.compare:
        figures.update(compare_servers(args, base_plan(world, csrf, cookies, args.auth), singles, compare_cap))
    ports = start_workers(args.workers, workers, args.server)
    pids = [w.pid for w in workers]
    sampler = MemorySampler(pids)
    sampler.start()
    base = {**base_plan(world, csrf, cookies, args.auth), "ports": ports, "connections": args.connections}

    def board() -> int:
        return rollup.rollup(session, ministry)["present"]

    def cpu_now() -> tuple[float]:
        return (sum(_cpu_s(p) for pid in pids for p in _tree(pid)),)

    figures.update({"server": f"{args.workers} × {' '.join(SERVERS[args.server](0)[3:])}, one port each",
                    "workers": args.workers, "connections": args.connections, "seconds": args.seconds,
                    "load_start": os.getloadavg()[0]})
    # Warm-up: every worker imports, plans its first queries and opens its connection.
    run_load({**base, "kind": "single", "requests": singles(200 * args.workers), "seconds": 10})
    run_load({**base, "kind": "ceiling", "path": "/healthz", "count": 500, "seconds": 5})

    log(f"ceiling: GET /healthz for {args.ceiling_seconds:.0f} s")
    cpu0 = cpu_now()
    result, _ = run_load({**base, "kind": "ceiling", "path": "/healthz", "count": int(args.ceiling_seconds * 20000),
                          "seconds": args.ceiling_seconds})
    cpu1 = cpu_now()
    ceiling = summarise(result, args.ceiling_seconds, args.warmup)
    figures.update({"ceiling_per_s": ceiling["per_s"], "ceiling_p50_ms": ceiling["p50_ms"],
                    "ceiling_p99_ms": ceiling["p99_ms"], "ceiling_errors": ceiling["errors"],
                    "ceiling_server_cpu_ms": round(1000 * (cpu1[0] - cpu0[0]) / max(1, ceiling["requests"]), 2)})
    log(f"  {ceiling['per_s']:,.0f} req/s, p50 {ceiling['p50_ms']} ms, p99 {ceiling['p99_ms']} ms")

    if connection_vendor() == "postgresql":
        log(f"database limit: the write statement through psycopg, {args.connections} connections, "
            f"{args.ceiling_seconds:.0f} s")
        limit = db_limit(world, take(limit_cap), args.connections, args.ceiling_seconds,
                         args.warmup)
        figures.update({"db_limit_per_s": limit["per_s"], "db_limit_ran_dry": limit["ran_dry"]})
        log(f"  {limit['per_s']:,.0f} check-ins/s ({limit['written']:,} written)")

    log(f"single check-ins for {args.seconds:.0f} s")
    cpu0, db0 = cpu_now(), db_backend_cpu()
    result, _ = run_load({**base, "kind": "single", "requests": singles(single_cap), "seconds": args.seconds})
    cpu1, db_cpu = cpu_now(), db_cpu_since(db0)
    single = summarise(result, args.seconds, args.warmup)
    n_done = max(1, single["acked"])
    figures["db_cpu_ms_per_checkin"] = round(1000 * db_cpu / n_done, 2) if db0 else None
    figures.update({
        "checkins_per_s": single["per_s"], "p50_ms": single["p50_ms"], "p99_ms": single["p99_ms"],
        "checkins_acked": single["acked"], "checkin_errors": single["errors"],
        "checkin_error_samples": single["error_samples"],
        "server_cpu_ms_per_checkin": round(1000 * (cpu1[0] - cpu0[0]) / n_done, 2),
        # What one core would sustain if the workers had it to themselves (CPU time, not wall).
        "checkins_per_server_core_s": round(n_done / max(1e-9, cpu1[0] - cpu0[0]), 1),
        "loadgen_cpu_s": single["loadgen_cpu_s"], "loadgen_peak_mib": single["loadgen_peak_mib"],
    })
    log(f"  {single['per_s']:,.0f} check-ins/s, p50 {single['p50_ms']} ms, p99 {single['p99_ms']} ms, "
        f"server CPU {figures['server_cpu_ms_per_checkin']} ms each, errors {single['errors']} "
        f"{single['error_samples'][:1]}")
    figures["ceiling_ratio"] = round(single["per_s"] / max(1e-9, figures["ceiling_per_s"]), 3)
    if figures.get("db_limit_per_s"):
        figures["db_ratio"] = round(single["per_s"] / figures["db_limit_per_s"], 3)
    figures.update(nation_cores(curve_peak_per_s(NATION_PEOPLE),
                                figures["server_cpu_ms_per_checkin"], figures["db_cpu_ms_per_checkin"]))
    log(f"  ceiling_ratio {figures['ceiling_ratio']}, db_ratio {figures.get('db_ratio')}, database CPU "
        f"{figures['db_cpu_ms_per_checkin']} ms each; nation_cores {figures['nation_cores']} "
        f"(app {figures['nation_app_cores']}, database {figures['nation_db_cores']})")

    if args.batch:
        log(f"batches of {args.batch} for {args.seconds:.0f} s")
        cpu0, db0 = cpu_now(), db_backend_cpu()
        result, _ = run_load({**base, "kind": "batch", "requests": batches(batch_cap, args.batch),
                              "connections": args.batch_connections, "seconds": args.seconds})
        cpu1, batch_db_cpu = cpu_now(), db_cpu_since(db0)
        batch = summarise(result, args.seconds, args.warmup)
        server_ms = 1000 * (cpu1[0] - cpu0[0]) / max(1, batch["acked"])
        db_ms = 1000 * batch_db_cpu / max(1, batch["acked"]) if db0 else None
        # What the machine's cores would take if the workers and the database had them to themselves.
        figures["batch_db_cpu_ms_per_checkin"] = round(db_ms, 3) if db_ms is not None else None
        figures["batch_checkins_per_s_cpu_bound"] = round((os.cpu_count() or 1) * 1000 / (server_ms + (db_ms or 0)))
        figures.update({
            "batch_size": args.batch, "batch_connections": args.batch_connections,
            "batch_checkins_per_s": batch["per_s"], "batch_acked": batch["acked"],
            "batch_requests_per_s": batch["requests_per_s"],
            "batch_p50_ms": batch["p50_ms"], "batch_p99_ms": batch["p99_ms"], "batch_errors": batch["errors"],
            "batch_error_samples": batch["error_samples"],
            "batch_server_cpu_ms_per_checkin": round(1000 * (cpu1[0] - cpu0[0]) / max(1, batch["acked"]), 2),
        })
        log(f"  {batch['per_s']:,.0f} check-ins/s in batches, request p50 {batch['p50_ms']} ms, "
            f"p99 {batch['p99_ms']} ms, errors {batch['errors']} {batch['error_samples'][:1]}")

    # The board: single check-ins again while this process polls the ministry's roll-up, as the
    # organiser's board would recompute it. Apart from the phases above, whose throughput it
    # would otherwise share a core with.
    acked_before = board()
    log(f"board: single check-ins for {args.board_seconds:.0f} s, rollup(session, ministry) every {POLL_EVERY} s")
    result, polls = run_load({**base, "kind": "single", "requests": singles(board_cap),
                              "seconds": args.board_seconds}, board)
    with_board = summarise(result, args.board_seconds, args.warmup)
    lags = board_lag(result, polls)
    lost = acked_before + with_board["acked"] - board()
    poll_ms = [1000 * (end - began) for began, end, _ in polls]
    figures.update({
        "board_poll_lag_p50_s": round(_percentile(lags, 0.5), 3),
        "board_poll_lag_p99_s": round(_percentile(lags, 0.99), 3),
        "board_poll_lag_method": "ack → end of the first rollup(session, ministry) poll begun after it; polled every "
                            f"{POLL_EVERY} s; the websocket board recomputes the same roll-up once per tick",
        "board_query_p50_ms": round(_percentile(poll_ms, 0.5), 1),
        "board_query_p99_ms": round(_percentile(poll_ms, 0.99), 1), "board_polls": len(polls),
        "board_missing_after": lost,
        "board_phase_checkins_per_s": with_board["per_s"], "board_phase_p99_ms": with_board["p99_ms"],
    })
    log(f"  lag p50 {figures['board_poll_lag_p50_s']} s, p99 {figures['board_poll_lag_p99_s']} s; rollup p50 "
        f"{figures['board_query_p50_ms']} ms; {with_board['per_s']:,.0f} check-ins/s meanwhile; "
        f"missing from the board afterwards: {lost}")
    sampler.stop.set()
    sampler.join()
    figures.update({
        "peak_mib": round(sampler.peak_kib / 1024),
        "bench_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_end": os.getloadavg()[0],
        "national_peak_arrivals_per_s": round(curve_peak_per_s(world["people"] / max(args.scale, 1e-9))),
    })
    return figures


def main():
    argv = sys.argv[1:]
    args = parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args), ensure_ascii=False))
        return
    print(json.dumps(orchestrate(args, argv), ensure_ascii=False))


if __name__ == "__main__":
    # Benchmarks drive the services as support staff would: as the system (the scope guard, docs/ARCHITECTURE.md).
    with system_scope("benchmark: loading the scenario and reading its figures"):
        main()
