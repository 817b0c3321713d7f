"""Benchmark of the bridge-point planner: heuristic against the exact solver, and the national run.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/planner.py [--quick]
Instances come from a seed: district-like (schools around communes in a ~30 km area, delegations of
15–120 people, halls among the bigger schools with 150–600 seats) and national (~700 districts,
~43,000 institutions, ~10,000 points). The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

from diemcau.core.acting import system_scope
from diemcau.points.planner import plan, plan_many
from diemcau.points.planner_exact import plan_exact
from diemcau.points.planner_model import Hall, Institution, PlanInfeasible, PlanProblem

KM_PER_DEG_LAT = 111.2
# National districts are small and planned by the hundred: a fifth of the district search budget
# (docs/planner.md measures what that costs in quality).
NATIONAL_EFFORT = 0.2


def district(
    seed: int,
    n: int = 150,
    m: int = 40,
    k: int = 14,
    communes: int = 30,
    span_km: float = 30.0,
    name: str = "D",
) -> PlanProblem:
    """A district: ``n`` schools around ``communes`` commune centres, ``m`` candidate halls, open ``k``."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = 10.5 + rng.uniform(0, 11.5), 104.5 + rng.uniform(0, 4.0)
    km_lon = KM_PER_DEG_LAT * np.cos(np.radians(lat0))
    centres = rng.uniform(-span_km / 2, span_km / 2, size=(communes, 2))
    # Communes differ in size: a town centre has many schools, a mountain commune two or three.
    weights = rng.gamma(2.0, 1.0, communes)
    home = rng.choice(communes, size=n, p=weights / weights.sum())
    xy = centres[home] + rng.normal(0, 1.5, size=(n, 2))
    sizes = np.clip(np.rint(rng.lognormal(3.5, 0.45, n)), 15, 120).astype(int)
    # Halls are the bigger schools' halls (plus whatever the district office rents).
    p = sizes.astype(float) ** 2
    hall_at = rng.choice(n, size=m, replace=False, p=p / p.sum())
    caps = (np.rint(rng.uniform(150, 600, m) / 10) * 10).astype(int)
    need = sizes.sum()
    # Keep every instance feasible with some slack: the largest K halls hold ≥ 108% of the people.
    while np.sort(caps)[::-1][:k].sum() < 1.08 * need:
        caps = np.minimum(600, caps + 20)
    lat = lat0 + xy[:, 1] / KM_PER_DEG_LAT
    lon = lon0 + xy[:, 0] / km_lon
    insts = [
        Institution(f"{name}-T{i:03d}", float(lat[i]), float(lon[i]), int(sizes[i]), name) for i in range(n)
    ]
    halls = [
        Hall(f"{name}-H{j:02d}", float(lat[i]), float(lon[i]), int(caps[j]), None, name)
        for j, i in enumerate(hall_at)
    ]
    return PlanProblem(halls, insts, k=k)


def national(seed: int, districts: int = 700) -> list[PlanProblem]:
    """The national scenario: one planning request per district office."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(40, 84, districts)
    problems = []
    for d in range(districts):
        n = int(sizes[d])
        k = max(3, round(n / 4.3))
        problems.append(
            district(
                int(rng.integers(2**31)),
                n=n,
                m=min(n, 2 * k),
                k=k,
                communes=max(6, n // 5),
                span_km=25.0,
                name=f"Q{d:03d}",
            )
        )
    return problems


def baseline(problem: PlanProblem) -> int:
    """What an organiser does by hand: open the K largest halls, then seat schools as the heuristic does."""
    order = sorted(problem.halls, key=lambda h: -h.capacity)[: problem.k]
    fixed = PlanProblem(problem.halls, problem.institutions, fixed=[h.id for h in order])
    return plan(fixed).cost_pm


def peak_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest child, in MiB."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 districts, 10 s exact limit, 140 national districts"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exact-limit", type=float, default=None, help="seconds per exact solve")
    parser.add_argument("--backend", default="highs", choices=["highs", "cpsat"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    n_district = 3 if args.quick else 5
    limit = args.exact_limit or (10.0 if args.quick else 40.0)
    n_national = 140 if args.quick else 700

    print(
        f"District instances: 150 institutions, 40 candidate halls, K=14; exact = {args.backend}, "
        f"limit {limit:g} s, {args.workers} workers"
    )
    header = (
        f"{'seed':>6} {'people':>7} {'baseline':>12} {'heuristic':>12} {'h s':>6} {'h cpu':>6} {'exact':>12} "
        f"{'bound':>12} {'x s':>6} {'status':>8} {'gap%':>6} {'vs bound%':>9} {'vs base%':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for i in range(n_district):
        seed = args.seed * 1000 + i
        problem = district(seed)
        t, cpu = time.perf_counter(), time.process_time()
        h = plan(problem, seed=0)
        h_s, h_cpu = time.perf_counter() - t, time.process_time() - cpu
        base = baseline(problem)
        t = time.perf_counter()
        # The exact solver starts from the heuristic's plan: its job is to improve it or prove it.
        x = plan_exact(problem, time_limit=limit, backend=args.backend, workers=args.workers, hint=h)
        x_s = time.perf_counter() - t
        gap = 100.0 * (h.cost_pm - x.cost_pm) / x.cost_pm
        vs_bound = 100.0 * (h.cost_pm - x.lower_bound_pm) / x.lower_bound_pm
        rows.append(
            {"seed": seed, "gap": gap, "vs_bound": vs_bound, "h_s": h_s, "h_cpu": h_cpu, "x_s": x_s,
             "optimal": x.optimal}
        )
        people = sum(s.size for s in problem.institutions)
        print(
            f"{seed:>6} {people:>7} {base / 1000:>12,.0f} {h.cost:>12,.0f} {h_s:>6.2f} {h_cpu:>6.2f} {x.cost:>12,.0f} "
            f"{x.lower_bound_pm / 1000:>12,.0f} {x_s:>6.1f} {'optimal' if x.optimal else 'limit':>8} "
            f"{gap:>6.2f} {vs_bound:>9.2f} {100.0 * (base - h.cost_pm) / base:>8.1f}",
            flush=True,
        )
    print(
        "costs in person-km; gap% = heuristic vs exact plan; vs bound% = heuristic vs proven lower bound;"
        " vs base% = saving against opening the K largest halls"
    )

    problems = national(args.seed, n_national)
    n_inst = sum(len(p.institutions) for p in problems)
    n_points = sum(p.k for p in problems)
    t = time.perf_counter()
    results = plan_many(problems, workers=args.workers, seed=0, effort=NATIONAL_EFFORT)
    national_s = time.perf_counter() - t
    failed = [r for r in results if isinstance(r, PlanInfeasible)]
    total = sum(r.cost for r in results if not isinstance(r, PlanInfeasible))
    print(
        f"\nNational: {len(problems)} districts, {n_inst:,} institutions, {n_points:,} points, "
        f"{args.workers} worker processes: {national_s:.1f} s, {len(failed)} infeasible, "
        f"total {total:,.0f} person-km"
    )
    # Quality at national settings: a sample of districts against the exact solver.
    sample = problems[:: max(1, len(problems) // (3 if args.quick else 6))]
    sample_gaps = []
    for p in sample:
        h = plan(p, seed=0, effort=NATIONAL_EFFORT)
        x = plan_exact(p, time_limit=20, backend=args.backend, workers=args.workers, hint=h)
        sample_gaps.append(100.0 * (h.cost_pm - x.cost_pm) / x.cost_pm)
    print(f"National sample ({len(sample)} districts, heuristic at effort {NATIONAL_EFFORT} vs exact): "
          f"gap% {', '.join(f'{g:.2f}' for g in sample_gaps)}")
    me, kids = peak_mib()
    figures = {
        "district_gap_pct": round(max(r["gap"] for r in rows), 3),
        "district_gap_pct_mean": round(sum(r["gap"] for r in rows) / len(rows), 3),
        "district_gap_vs_bound_pct": round(max(r["vs_bound"] for r in rows), 3),
        "district_gap_kind": "max over instances, heuristic vs exact plan",
        "district_s": round(max(r["h_s"] for r in rows), 3),
        "district_s_mean": round(sum(r["h_s"] for r in rows) / len(rows), 3),
        "district_cpu_s": round(max(r["h_cpu"] for r in rows), 3),
        "exact_s": round(max(r["x_s"] for r in rows), 2),
        "exact_optimal": sum(r["optimal"] for r in rows),
        "district_instances": len(rows),
        "national_s": round(national_s, 2),
        "national_institutions": n_inst,
        "national_points": n_points,
        "national_districts": len(problems),
        "national_effort": NATIONAL_EFFORT,
        "national_sample_gap_pct": round(max(sample_gaps), 3),
        "national_sample_size": len(sample),
        "peak_mib": round(me + kids, 1),
        "peak_self_mib": round(me, 1),
        "peak_child_mib": round(kids, 1),
        "quick": args.quick,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    # Benchmarks drive the services as support staff would: as the system (the scope guard, docs/ARCHITECTURE.md).
    with system_scope("benchmark: planner instances from the database"):
        sys.exit(main())
