"""Benchmark: live poll votes per second through the product's own vote path, against a bare insert.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/polls.py [--people N] [--threads T] [--seconds S]
(``make bench-polls``). On PostgreSQL when DATABASE_URL is set (a fresh database ``<name>_bench_polls``
beside it), else on a temporary SQLite file:

1. migrates, and builds a national-shaped tree: the ministry, 63 departments, a district office and
   three schools (primary, lower secondary, upper secondary) under each, ``--people`` teachers with
   accounts spread over the schools;
2. the **baseline**: ``--threads`` threads, each appending a ``PollVote`` row in its own transaction
   (no checks, no counters): what the database gives for one small insert per vote;
3. the **product**: the same threads calling ``live.polls.vote(user, poll, choice, client_id)`` as each
   teacher (their scope active, as a request would have it): client-id idempotence, the person, the
   conference's scope, one vote per person, the counter row of (option, province, levels) kept in the
   same transaction, the hub's dirty notice on commit;
4. checks that the counters add up to the votes, and that resending a sample of client ids adds none.

The national rate: a poll to every participant (1.6 million people) answered by 60% within two
minutes, arrivals shaped like the check-in morning's Beta(2.5, 2) curve (peak = 1.73 × the mean);
and a poll to the points (10,000 kiosks) answered within one minute. The last line of stdout is one
JSON object with ``poll_votes_per_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from math import gamma
from urllib.parse import urlsplit, urlunsplit

PEOPLE = 1_600_000
POINTS = 10_000
PEAK = (1.5 / 2.5) ** 1.5 * (1 / 2.5) ** 1.0 * gamma(4.5) / (gamma(2.5) * gamma(2.0))  # Beta(2.5, 2) at its mode


def national_rates() -> dict:
    return {"national_people_peak_per_s": round(PEOPLE * 0.6 * PEAK / 120),
            "national_points_peak_per_s": round(POINTS * PEAK / 60)}


def _database(args) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        folder = tempfile.mkdtemp(prefix="diemcau-bench-polls-")
        os.environ["DIEMCAU_SQLITE"] = os.path.join(folder, "bench.sqlite3")
        return "sqlite"
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_bench_polls"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    return "postgresql"


def build_world(people: int):
    """The tree, the teachers with accounts, a conference; returns (conference, [user ids], [person ids])."""
    import datetime

    from django.contrib.auth import get_user_model

    from diemcau.events.models import Conference
    from diemcau.orgs import services
    from diemcau.orgs.models import EducationLevel, Person, Unit
    from diemcau.orgs.scoping import SYSTEM

    ministry = services.create_unit(SYSTEM, parent=None, kind=Unit.Kind.MINISTRY, name="Bộ GD&ĐT", code="BGD")
    schools = []
    levels = [EducationLevel.PRIMARY, EducationLevel.LOWER_SECONDARY, EducationLevel.UPPER_SECONDARY]
    for d in range(63):
        dept = services.create_unit(SYSTEM, parent=ministry, kind=Unit.Kind.DEPARTMENT, name=f"Sở {d:02d}",
                                    code=f"SO{d:02d}")
        office = services.create_unit(SYSTEM, parent=dept, kind=Unit.Kind.DISTRICT_OFFICE, name=f"Phòng {d:02d}",
                                      code=f"PGD{d:02d}")
        for i, level in enumerate(levels):
            schools.append(services.create_unit(SYSTEM, parent=office, kind=Unit.Kind.INSTITUTION,
                                                name=f"Trường {d:02d}-{i}", code=f"T{d:02d}{i}", levels=level))
    User = get_user_model()
    User.objects.bulk_create([User(username=f"gv{n:07d}", password="!") for n in range(people)], batch_size=5000)
    users = dict(User.objects.filter(username__startswith="gv").values_list("username", "pk"))
    Person.objects.bulk_create([
        Person(unit=schools[n % len(schools)], code=f"P{n:07d}", full_name=f"Giáo viên {n}",
               name_search=f"giao vien {n}", category=Person.Category.TEACHER, user_id=users[f"gv{n:07d}"])
        for n in range(people)], batch_size=5000)
    conference = Conference.objects.create(title="Hội nghị toàn quốc", date=datetime.date.today(), host_unit=ministry)
    pairs = list(Person.objects.order_by("pk").values_list("user_id", "pk"))
    return conference, pairs


def run_threads(threads: int, seconds: float, work) -> tuple[int, float, list[float]]:
    """Run ``work(thread_no, i)`` in a loop on each thread for ``seconds``; returns (done, elapsed, latencies)."""
    from django.db import connections

    stop = time.monotonic() + seconds
    counts, latencies, errors = [0] * threads, [], []

    def loop(t):
        i = 0
        try:
            while time.monotonic() < stop:
                began = time.perf_counter()
                if not work(t, i):
                    break
                latencies.append(time.perf_counter() - began)
                counts[t] += 1
                i += 1
        except Exception as exc:  # a failed vote ends the benchmark with its message
            errors.append(repr(exc))
        finally:
            connections.close_all()

    started = time.monotonic()
    pool = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if errors:
        raise SystemExit(f"errors: {errors[:3]}")
    return sum(counts), time.monotonic() - started, latencies


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1) if values else 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    database = _database(args)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diemcau.settings")
    # Each thread holds a pooled connection for its whole phase, and the main thread one more.
    os.environ["DIEMCAU_DB_POOL"] = str(args.threads + 2)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from diemcau.core.acting import system_scope
    from diemcau.live import polls
    from diemcau.live.models import PollCount, PollVote
    from diemcau.orgs.scoping import SYSTEM, acting_as

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    t0 = time.monotonic()
    call_command("migrate", verbosity=0)
    with system_scope("bench: the polls' world"):
        conference, pairs = build_world(args.people)
        baseline_poll = polls.ask(SYSTEM, conference, "Câu hỏi đối chứng", choices=["A", "B", "C"])
        poll = polls.ask(SYSTEM, conference, "Thầy cô đã nhận đủ sách giáo khoa chưa?",
                         choices=["Đủ", "Thiếu một phần", "Chưa nhận"])
    log(f"world: {args.people:,} teachers with accounts in {time.monotonic() - t0:.0f} s ({database})")
    random.Random(2023).shuffle(pairs)
    per_thread = [pairs[t::args.threads] for t in range(args.threads)]
    User = get_user_model()

    def bare_insert(t, i):
        mine = per_thread[t]
        if i >= len(mine):
            return False
        with system_scope("bench: baseline"), transaction.atomic():
            PollVote.objects.create(poll=baseline_poll, person_id=mine[i][1], choice=i % 3, client_id=uuid.uuid4(),
                                    area_id=0, levels=0)
        return True

    sent: list[tuple] = []

    def product_vote(t, i):
        mine = per_thread[t]
        if i >= len(mine):
            return False
        user = User(pk=mine[i][0], is_active=True)
        client_id = uuid.uuid4()
        with acting_as(user):
            polls.vote(user, poll, i % 3, client_id)
        if i % 50 == 0:
            sent.append((user, client_id))
        return True

    base_n, base_s, base_lat = run_threads(args.threads, args.seconds, bare_insert)
    log(f"baseline (bare insert): {base_n / base_s:,.0f} votes/s, p50 {pct(base_lat, .5)} ms")
    vote_n, vote_s, vote_lat = run_threads(args.threads, args.seconds, product_vote)
    log(f"product (polls.vote): {vote_n / vote_s:,.0f} votes/s, p50 {pct(vote_lat, .5)} ms")
    with system_scope("bench: checks"):
        for user, client_id in sent[:200]:
            with acting_as(user):
                assert not polls.vote(user, poll, 0, client_id)[1]
        votes = PollVote.objects.filter(poll=poll).count()
        counted = sum(PollCount.objects.filter(poll=poll).values_list("votes", flat=True))
        counters = PollCount.objects.filter(poll=poll).count()
    assert votes == counted == vote_n, (votes, counted, vote_n)
    rates = national_rates()
    figures = {
        "poll_votes_per_s": round(vote_n / vote_s, 1), "p50_ms": pct(vote_lat, .5), "p99_ms": pct(vote_lat, .99),
        "baseline_inserts_per_s": round(base_n / base_s, 1), "baseline_p50_ms": pct(base_lat, .5),
        "ratio_to_baseline": round((vote_n / vote_s) / max(base_n / base_s, 1e-9), 2),
        "votes": vote_n, "counter_rows": counters, "counters_match_votes": votes == counted,
        **rates, "threads": args.threads, "people": args.people, "database": database,
        "loadavg": open("/proc/loadavg").read().split()[0],
    }
    log(f"national peak: {rates['national_people_peak_per_s']:,} votes/s (people), "
        f"{rates['national_points_peak_per_s']:,} votes/s (points)")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
