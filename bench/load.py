"""Benchmark: generate and load the national scenario into a fresh database, then time subtree queries.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/load.py [--scale 0.1]
The database is a fresh SQLite file in a temporary folder, or, when DATABASE_URL is set, a fresh
PostgreSQL database ``<name>_bench_load`` created beside the one named there and dropped at the end.
The baseline, measured in the same run on the same data and taking turns with the subtree queries,
is a plain indexed lookup: one unit's id by its code. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

from diemcau.core.acting import system_scope

RUNS = 200


def _fresh_postgres(url: str) -> tuple[str, str]:
    """Create an empty database next to the one in ``url``; return its URL and name."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'diemcau'}_bench_load"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def _drop_postgres(url: str, name: str):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]


def _timings(queries: dict, runs: int, warmup: int = 5) -> dict[str, tuple[float, float]]:
    """p50 and p99 in milliseconds of each query, the queries taking turns run by run.

    Taking turns means a burst of load from elsewhere on the machine lands on all of them alike,
    so the baseline stays comparable.
    """
    samples = {name: [] for name in queries}
    for i in range(warmup + runs):
        for name, fn in queries.items():
            started = time.perf_counter_ns()
            fn()
            if i >= warmup:
                samples[name].append((time.perf_counter_ns() - started) / 1e6)
    return {name: _percentiles(s) for name, s in samples.items()}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the district offices (0.1 = quick)")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--runs", type=int, default=RUNS, help="timed runs of each query")
    parser.add_argument("--method", default="auto", choices=["auto", "rows", "copy", "orm"],
                        help="how rows are written (auto: COPY on PostgreSQL, executemany on SQLite; "
                             "orm: bulk_create, for comparison)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (path printed)")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="diemcau-bench-load-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "diemcau.settings"
    os.environ["DIEMCAU_VAR"] = tmp
    os.environ.pop("DIEMCAU_SQLITE", None)
    # Nine demo accounts are created at the end of the load; PBKDF2 would add seconds of hashing
    # that have nothing to do with loading.
    os.environ["DIEMCAU_FAST_HASHER"] = "1"
    base_url = os.environ.get("DATABASE_URL", "")
    pg_name = ""
    if base_url:
        os.environ["DATABASE_URL"], pg_name = _fresh_postgres(base_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from diemcau.demo import org_tree
    from diemcau.demo import orgs as demo
    from diemcau.orgs import services
    from diemcau.orgs.models import Person, Unit

    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrate_s = time.perf_counter() - started
        database = f"{connection.vendor} {'.'.join(map(str, connection.Database.sqlite_version_info))}" \
            if connection.vendor == "sqlite" else f"postgresql {connection.pg_version // 10000}"

        def progress(message):
            print(f"  {message}", file=sys.stderr, flush=True)

        report = demo.load(args.seed, "national", scale=args.scale, write_method=args.method,
                           progress=progress)
        units, people = report.units_total, report.people_total
        assert Unit.objects.count() == units and Person.objects.count() == people

        ministry = Unit.objects.get(code="BGDDT")
        district = Unit.objects.get(code=org_tree.BA_VI_CODE)
        n_ministry = services.subtree(ministry).count()
        n_district = services.subtree(district).count()
        codes = list(Unit.objects.values_list("code", flat=True))
        rng = random.Random(args.seed)
        sample = iter(rng.choice(codes) for _ in range(args.runs * 10))

        def ids(unit):
            return lambda: list(services.subtree(unit).values_list("id", flat=True))

        timed = _timings({
            # What scoping runs on every organiser page: the unit ids of a subtree (one index range).
            "sub_min": ids(ministry),
            "sub_dis": ids(district),
            # People counted in a subtree: the join behind every roll-up.
            "ppl_dis": lambda: services.people_in(district).count(),
            # The baseline: the id of one unit by its code (a unique index), through the same ORM path.
            "row": lambda: list(Unit.objects.filter(code=next(sample)).values_list("id", flat=True)),
        }, args.runs)
        sub_min, sub_dis, ppl_dis, row = timed["sub_min"], timed["sub_dis"], timed["ppl_dis"], timed["row"]
        # Counting 1.6 million people takes most of a second: a few runs are enough.
        ppl_min = _timings({"ppl_min": lambda: services.people_in(ministry).count()},
                           max(5, args.runs // 20), warmup=1)["ppl_min"]
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        connections.close_all()
        if pg_name and not args.keep:
            _drop_postgres(base_url, pg_name)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    figures = {
        "database": database,
        "scale": args.scale,
        "seed": args.seed,
        "write_method": report.write_method,
        "units": units,
        "people": people,
        "units_by_kind": dict(report.units),
        "load_s": round(report.seconds, 1),
        "migrate_s": round(migrate_s, 1),
        "units_s": round(report.units_seconds, 2),
        "people_s": round(report.people_seconds, 2),
        "units_per_s": round(units / report.units_seconds),
        "people_per_s": round(people / report.people_seconds),
        "commit_s": round(report.commit_seconds, 1),
        "peak_mib": round(peak_mib),
        "subtree_query": "unit ids of the subtree",
        "subtree_ministry_units": n_ministry,
        "subtree_district_units": n_district,
        "subtree_ministry_p50_ms": round(sub_min[0], 3),
        "subtree_ministry_p99_ms": round(sub_min[1], 3),
        "subtree_district_p50_ms": round(sub_dis[0], 3),
        "subtree_district_p99_ms": round(sub_dis[1], 3),
        # The headline is the district: the size of subtree most scoped pages ask for.
        "subtree_p99_ms": round(sub_dis[1], 3),
        "people_count_district_p50_ms": round(ppl_dis[0], 3),
        "people_count_district_p99_ms": round(ppl_dis[1], 3),
        "people_count_ministry_p50_ms": round(ppl_min[0], 1),
        "row_lookup_p50_ms": round(row[0], 3),
        "row_lookup_p99_ms": round(row[1], 3),
        "runs": args.runs,
    }
    if args.keep:
        figures["kept"] = os.environ["DATABASE_URL"] if pg_name else tmp
    return figures


def _table(f: dict) -> str:
    rows = [
        ("database", f["database"]),
        ("scale, seed", f"{f['scale']}, {f['seed']}"),
        ("units (ministry, departments, offices, institutions)",
         f"{f['units']:,} ({', '.join(f'{v:,} {k}' for k, v in sorted(f['units_by_kind'].items()))})"),
        ("people", f"{f['people']:,}"),
        ("load, total (migrate apart)", f"{f['load_s']} s"),
        ("units: generate + insert", f"{f['units_s']} s  →  {f['units_per_s']:,} units/s"),
        (f"people: generate + insert ({f['write_method']})", f"{f['people_s']} s  →  {f['people_per_s']:,} people/s"),
        ("commit (deferred foreign-key checks)", f"{f['commit_s']} s"),
        ("peak memory (ru_maxrss)", f"{f['peak_mib']} MiB"),
        (f"subtree unit ids, ministry ({f['subtree_ministry_units']:,} units)",
         f"p50 {f['subtree_ministry_p50_ms']} ms  p99 {f['subtree_ministry_p99_ms']} ms"),
        (f"subtree unit ids, district ({f['subtree_district_units']:,} units)",
         f"p50 {f['subtree_district_p50_ms']} ms  p99 {f['subtree_district_p99_ms']} ms"),
        ("people count, district subtree",
         f"p50 {f['people_count_district_p50_ms']} ms  p99 {f['people_count_district_p99_ms']} ms"),
        ("people count, ministry subtree", f"p50 {f['people_count_ministry_p50_ms']} ms"),
        ("baseline: one unit's id by code", f"p50 {f['row_lookup_p50_ms']} ms  p99 {f['row_lookup_p99_ms']} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


if __name__ == "__main__":
    # Benchmarks drive the services as support staff would: as the system (the scope guard, docs/ARCHITECTURE.md).
    with system_scope("benchmark: loading the national scenario"):
        result = main()
        print(_table(result))
        print(json.dumps(result, ensure_ascii=False))
