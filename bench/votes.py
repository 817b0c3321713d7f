"""Benchmark: votes during the live Q&A through the product's HTTP path, against single check-ins in the same run.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/votes.py [--people N] [--seconds S]
(``make bench-votes``). On PostgreSQL when DATABASE_URL is set (a fresh database ``<name>_bench_votes``
beside it, dropped afterwards), else on a temporary SQLite file:

1. migrates and builds a national-shaped tree (``bench/polls.py``'s: the ministry, 63 departments, an
   office and three schools under each, ``--people`` teachers with accounts), then ``bench/checkin.py``'s
   conference, morning session, one bridge point per office with its schools assigned and a signed-in
   operator each; every teacher gets a signed-in session too (rows written as a sign-in would);
2. ``--items`` questions sent up to the ministry (so every teacher sees them) and an open poll;
3. starts ``--workers`` processes of ``--server`` (bench/checkin.py's servers, one port each) and runs the
   load generator (``bench/httpload.py``) in turns, ``--rounds`` times each so a change in the machine's
   load falls on all of them: the **baseline**, single check-ins (``POST /api/attendance/checkins/`` as
   each person's point operator: bench-checkin's single check-in rate); **votes**
   (``POST /api/voice/opinions/<id>/vote/`` ``{"kind": "upvote"}`` as each teacher, every (teacher, item)
   pair once); **poll votes** (``POST /live/polls/<id>/vote/`` as the phone's panel sends it, htmx);
   A private redis-server is REDIS_URL for the run (``--no-redis``: none), as in production: sessions are
   read from it (``cached_db``) and the channel layer publishes through it;
4. resends a sample of the votes (no-ops), then checks that each item's counter equals its vote rows
   and the poll's counters add up to its answers.

Figures: ``votes_per_s``, ``votes_p99_ms``, ``poll_votes_per_s``, ``poll_votes_p99_ms``, ``checkins_per_s``
(the baseline), ``votes_ratio`` (= votes_per_s ÷ checkins_per_s; the target is ≥ 1), server CPU per
request of each, ``queries_per_vote`` (through Django's test client, session and user included). The
last line of stdout is one JSON object; :func:`run` returns it for bench/checkin.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checkin as checkin_bench
import polls as polls_bench

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "0b6f3c1e-5d2a-4f6b-8f0e-7a1c2b3d4e5f"


def log(message: str):
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--people", type=int, default=20000, help="teachers with accounts (voters)")
    p.add_argument("--items", type=int, default=20, help="questions open for votes")
    p.add_argument("--workers", type=int, default=3, help="server processes (one port each)")
    p.add_argument("--server", default="uvicorn", choices=sorted(checkin_bench.SERVERS))
    p.add_argument("--connections", type=int, default=12, help="concurrent keep-alive connections")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each measured turn")
    p.add_argument("--rounds", type=int, default=2, help="turns of each phase")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds at the start of a turn not counted")
    p.add_argument("--no-redis", dest="redis", action="store_false",
                   help="no private Redis: sessions in the database, channels in memory (the embedded default)")
    return p.parse_args(argv)


# --- the database and the world ---------------------------------------------------------------
def _database(database_url: str) -> tuple[str, str]:
    """A fresh database for the run: (kind, PostgreSQL name to drop afterwards or "")."""
    if not database_url:
        folder = tempfile.mkdtemp(prefix="diemcau-bench-votes-")
        os.environ["DIEMCAU_SQLITE"] = os.path.join(folder, "bench.sqlite3")
        os.environ.pop("DATABASE_URL", None)
        return "sqlite", ""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/") + "_bench_votes"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    return "postgresql", name


def _drop(database_url: str, name: str):
    import psycopg

    parts = urlsplit(database_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def private_redis(wanted: bool):
    """A private redis-server on a free loopback port, as production's REDIS_URL (sessions, channels)."""
    if not wanted:
        yield ""
        return
    port = checkin_bench._free_port()
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def sign_in(user_ids: list[int]) -> list[str]:
    """A signed-in session per account, written as a sign-in would (no password form): the cookies."""
    import datetime

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.cached_db import SessionStore as CachedStore
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session as DbSession
    from django.core.cache import caches
    from django.db import connection, transaction
    from django.utils import timezone

    from diemcau.demo import org_writer

    User = get_user_model()
    store, expire = SessionStore(), timezone.now() + datetime.timedelta(days=1)
    passwords = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "password"))
    cookies, rows = [], []
    for user_id in user_ids:
        key = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(32))
        data = store.encode({"_auth_user_id": str(user_id),
                             "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                             "_auth_user_hash": User(pk=user_id, password=passwords[user_id]).get_session_auth_hash()})
        rows.append((key, data, expire))
        cookies.append(key)
    with transaction.atomic():
        org_writer.RowInserter(DbSession, ("session_key", "session_data", "expire_date"), timezone.now(),
                               copy=connection.vendor == "postgresql").insert(rows)
    if settings.SESSION_ENGINE.endswith("cached_db"):
        # A sign-in saves a cached_db session in the cache too: the teacher's first vote reads it there.
        cached = CachedStore()
        caches[settings.SESSION_CACHE_ALIAS].set_many(
            {cached.cache_key_prefix + key: store.decode(data) for key, data, _e in rows}, timeout=86400)
    return cookies


def build(args) -> dict:
    """The tree, the check-in conference, signed-in operators and teachers, items and a poll."""
    from django.core.management import call_command

    from diemcau.core.acting import system_scope
    from diemcau.live import polls
    from diemcau.orgs import admin_data
    from diemcau.orgs.models import Person, Unit
    from diemcau.orgs.scoping import SYSTEM
    from diemcau.points.models import Assignment
    from diemcau.voice.models import Opinion

    call_command("migrate", verbosity=0)
    with system_scope("bench: the votes' world"):
        _unused, pairs = polls_bench.build_world(args.people)
        Unit.objects.filter(code="BGD").update(code=admin_data.MINISTRY_CODE)
        conference = checkin_bench.make_points(63 / checkin_bench.POINTS_NATIONAL)  # one point per office
        session = conference.sessions.get()
        operators = checkin_bench.sign_in_operators(conference)
        voters = pairs[:]
        random.Random(2023).shuffle(voters)
        voter_cookies = sign_in([u for u, _p in voters])
        ministry = Unit.objects.get(code=admin_data.MINISTRY_CODE)
        authors = Person.objects.select_related("unit").order_by("pk")[:args.items]
        items = [Opinion.objects.create(conference=conference, kind=Opinion.Kind.QUESTION,
                                        text=f"Câu hỏi gửi Bộ trưởng số {n + 1}", author=a, author_unit=a.unit,
                                        at_unit=ministry, status=Opinion.Status.APPROVED).pk
                 for n, a in enumerate(authors)]
        poll = polls.ask(SYSTEM, conference, "Thầy cô đã nhận đủ sách giáo khoa chưa?",
                         choices=["Đủ", "Thiếu một phần", "Chưa nhận"])
        point_of = dict(Assignment.objects.filter(session=session).values_list("institution_id", "point_id"))
        arrivals = [(pk, point_of[unit]) for pk, unit in Person.objects.values_list("pk", "unit_id")
                    if unit in point_of]
        random.Random(2024).shuffle(arrivals)
    return {"session_id": session.pk, "operators": operators, "voters": voters, "voter_cookies": voter_cookies,
            "items": items, "poll_id": poll.pk, "arrivals": arrivals, "conference_id": conference.pk}


def queries_per_vote(world: dict) -> float:
    """Queries of one vote through the API, as a signed-in teacher's request makes them (session, user)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=False)
    user_id = world["voters"][-1][0]
    client.force_login(get_user_model().objects.get(pk=user_id))
    counts = []
    for item in world["items"][-3:]:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(f"/api/voice/opinions/{item}/vote/", {"kind": "upvote"},
                                   content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        counts.append(len(captured))
    return statistics.mean(counts)


# --- the load ---------------------------------------------------------------------------------
class Plans:
    """What each turn sends: check-ins, votes, poll answers, each person or pair used once."""

    def __init__(self, world: dict, csrf: str):
        self.world, self.csrf = world, csrf
        self.cookie_of_point = {o["point_id"]: i for i, o in enumerate(world["operators"])}
        voters, items = len(world["voters"]), world["items"]
        self.vote_pairs = ((v, items[(v + r) % len(items)]) for r in range(len(items)) for v in range(voters))
        self.arrivals = iter(world["arrivals"])
        self.poll_voters = iter(range(voters))

    def checkins(self, n: int) -> dict:
        requests = [[self.cookie_of_point[pt], [[pk, pt]]] for pk, pt in _take(self.arrivals, n)]
        return {"kind": "single", "csrf": self.csrf, "cookies": [o["cookie"] for o in self.world["operators"]],
                "session_id": self.world["session_id"], "namespace": NAMESPACE,
                "path": "/api/attendance/checkins/", "requests": requests}

    def votes(self, n: int) -> dict:
        body = json.dumps({"kind": "upvote"})
        requests = [[f"/api/voice/opinions/{item}/vote/", "application/json", body, v]
                    for v, item in _take(self.vote_pairs, n)]
        return {"kind": "raw", "csrf": self.csrf, "cookies": self.world["voter_cookies"], "requests": requests}

    def poll_votes(self, n: int) -> dict:
        path = f"/live/polls/{self.world['poll_id']}/vote/"
        requests = [[path, "application/x-www-form-urlencoded", f"choice={v % 3}&client_id={uuid.uuid4()}", v]
                    for v in _take(self.poll_voters, n)]
        return {"kind": "raw", "csrf": self.csrf, "cookies": self.world["voter_cookies"], "requests": requests,
                "headers": "HX-Request: true\r\n"}


def _take(iterator, n: int) -> list:
    return [x for _i, x in zip(range(n), iterator, strict=False)]


def _turn(args, ports: list[int], pids: list[int], plan: dict) -> dict:
    """One measured turn: the plan through the load generator, with the servers' CPU per request."""
    def cpu():
        return sum(checkin_bench._cpu_s(p) for pid in pids for p in checkin_bench._tree(pid))

    before = cpu()
    result, _polls = checkin_bench.run_load({**plan, "ports": ports, "connections": args.connections,
                                             "seconds": args.seconds})
    figures = checkin_bench.summarise(result, args.seconds, args.warmup)
    figures["cpu_ms"] = 1000 * (cpu() - before) / max(1, figures["requests"])
    return figures


def drive(args, world: dict) -> dict:
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    plans = Plans(world, csrf)
    warm = 100 * args.workers
    # More than a turn can take on this machine, but never more than the turn's share of the people.
    cap = min(int(args.seconds * 3000), (len(world["voters"]) - warm) // args.rounds)
    workers: list = []
    runs: dict[str, list[dict]] = {"checkins": [], "votes": [], "poll_votes": []}
    try:
        ports = checkin_bench.start_workers(args.workers, workers, args.server)
        pids = [w.pid for w in workers]
        for plan in (plans.checkins(warm), plans.votes(warm), plans.poll_votes(warm)):
            checkin_bench.run_load({**plan, "ports": ports, "connections": args.connections, "seconds": 5})
        for turn in range(args.rounds):
            for name, make in (("checkins", plans.checkins), ("votes", plans.votes),
                               ("poll_votes", plans.poll_votes)):
                figures = _turn(args, ports, pids, make(cap))
                runs[name].append(figures)
                log(f"  {name} (turn {turn + 1}): {figures['per_s']:,.0f}/s, p50 {figures['p50_ms']} ms, "
                    f"p99 {figures['p99_ms']} ms, server CPU {figures['cpu_ms']:.1f} ms each, "
                    f"errors {figures['errors']} {figures['error_samples'][:1]}")
        # Votes sent again (a phone's retry): 200, and nothing counted twice.
        again = plans.votes(0)
        again["requests"] = [[f"/api/voice/opinions/{item}/vote/", "application/json", '{"kind": "upvote"}', v]
                             for v, item in zip(range(200), world["items"] * 10, strict=False)]
        checkin_bench.run_load({**again, "ports": ports, "connections": args.connections, "seconds": 10})
    finally:
        checkin_bench.stop_workers(workers)
    out = {}
    for name, turns in runs.items():
        out[name] = {key: round(statistics.mean(t[key] for t in turns), 2)
                     for key in ("per_s", "p50_ms", "p99_ms", "cpu_ms")}
        out[name]["errors"] = sum(sum(t["errors"].values()) for t in turns)
    return out


def check_counters(world: dict) -> dict:
    """Each item's counter against its vote rows; the poll's counters against its answers."""
    from django.db.models import Count, Sum

    from diemcau.core.acting import system_scope
    from diemcau.live.models import PollCount, PollVote
    from diemcau.voice.models import Opinion, Vote

    with system_scope("bench: checks"):
        rows = dict(Vote.objects.filter(opinion_id__in=world["items"]).values_list("opinion_id")
                    .annotate(n=Count("pk")).values_list("opinion_id", "n"))
        counters = dict(Opinion.objects.filter(pk__in=world["items"]).values_list("pk", "upvotes"))
        answers = PollVote.objects.filter(poll_id=world["poll_id"]).count()
        counted = PollCount.objects.filter(poll_id=world["poll_id"]).aggregate(n=Sum("votes"))["n"] or 0
    return {"votes_stored": sum(rows.values()), "votes_counted": sum(counters.values()),
            "poll_votes_stored": answers, "poll_votes_counted": counted,
            "counters_match": all(counters[i] == rows.get(i, 0) for i in counters) and answers == counted}


def run(database_url: str | None = None, **options) -> dict:
    """Run the benchmark; ``options`` as the command line's (people, items, workers, server, seconds, ...)."""
    args = parse_args([])
    for key, value in options.items():
        setattr(args, key, value)
    database_url = os.environ.get("DATABASE_URL", "") if database_url is None else database_url
    tmp = Path(tempfile.mkdtemp(prefix="diemcau-bench-votes-var-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "diemcau.settings", "DIEMCAU_VAR": str(tmp),
                       "DIEMCAU_FAST_HASHER": "1", "DIEMCAU_LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # shared with the workers
    kind, pg_name = _database(database_url)
    load_start = open("/proc/loadavg").read().split()[0]
    with private_redis(args.redis) as redis_url:
        if redis_url:
            os.environ["REDIS_URL"] = redis_url  # the workers' sessions (cached_db) and channel layer
        return _run(args, database_url, kind, pg_name, tmp, load_start)


def _run(args, database_url, kind, pg_name, tmp, load_start) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    try:
        t0 = time.monotonic()
        world = build(args)
        log(f"{kind}: world ready in {time.monotonic() - t0:.0f} s: {len(world['voters']):,} teachers signed in, "
            f"{len(world['operators'])} points, {len(world['items'])} questions, a poll")
        queries = queries_per_vote(world)
        connections.close_all()
        phases = drive(args, world)
        checks = check_counters(world)
        connections.close_all()
    finally:
        if pg_name:
            _drop(database_url, pg_name)
        shutil.rmtree(tmp, ignore_errors=True)
    checkins, votes, poll_votes = phases["checkins"], phases["votes"], phases["poll_votes"]
    return {
        "votes_per_s": votes["per_s"], "votes_p99_ms": votes["p99_ms"], "votes_p50_ms": votes["p50_ms"],
        "poll_votes_per_s": poll_votes["per_s"], "poll_votes_p99_ms": poll_votes["p99_ms"],
        "checkins_per_s": checkins["per_s"], "checkins_p99_ms": checkins["p99_ms"],
        "votes_ratio": round(votes["per_s"] / max(checkins["per_s"], 1e-9), 2),
        "poll_votes_ratio": round(poll_votes["per_s"] / max(checkins["per_s"], 1e-9), 2),
        "server_cpu_ms_per_vote": votes["cpu_ms"], "server_cpu_ms_per_poll_vote": poll_votes["cpu_ms"],
        "server_cpu_ms_per_checkin": checkins["cpu_ms"], "queries_per_vote": queries,
        "errors": {"checkins": checkins["errors"], "votes": votes["errors"], "poll_votes": poll_votes["errors"]},
        **checks, "people": args.people, "items": args.items, "workers": args.workers, "server": args.server,
        "connections": args.connections, "seconds": args.seconds, "rounds": args.rounds, "database": kind,
        "session_engine": settings.SESSION_ENGINE.rsplit(".", 1)[-1], "redis": bool(args.redis),
        "load_start": load_start, "load_end": open("/proc/loadavg").read().split()[0],
    }


def main():
    args = parse_args()
    figures = run(**{k: v for k, v in vars(args).items()})
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
