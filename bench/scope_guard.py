"""Benchmark of the scope guard: what the scoped managers' check costs, against the plain manager.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/scope_guard.py [--rows N] [--loops N]

On a fresh SQLite database (a temporary file) with N units under one parent, in the same run:
1. the guard's check alone (one context-variable read), in nanoseconds;
2. a one-row query by primary key and a subtree count, through the guarded default manager
   (``Unit.objects``) and through the plain base manager (``Unit._base_manager``), the baseline;
   both inside ``system_scope``. The difference is the guard's cost per query.

The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import timeit


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--loops", type=int, default=3000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="diemcau-bench-scope-")
    os.environ["DIEMCAU_SQLITE"] = os.path.join(folder, "bench.sqlite3")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diemcau.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from diemcau.core.acting import require_active, system_scope
    from diemcau.orgs.models import Unit, path_upper_bound

    call_command("migrate", verbosity=0)
    with system_scope("benchmark: building the tree"):
        from diemcau.orgs import services
        from diemcau.orgs.scoping import SYSTEM

        root = services.create_unit(SYSTEM, parent=None, kind=Unit.Kind.DISTRICT_OFFICE, code="ROOT",
                                    name="Phòng GD&ĐT")
        for i in range(args.rows):
            services.create_unit(SYSTEM, parent=root, kind=Unit.Kind.INSTITUTION, code=f"T{i:05d}", name=f"Trường {i}")
        pk = Unit._base_manager.filter(parent=root).values_list("pk", flat=True).last()
        low, high = root.path, path_upper_bound(root.path)

        def one(manager):
            return lambda: manager.filter(pk=pk).first()

        def subtree(manager):
            return lambda: manager.filter(path__gte=low, path__lt=high).count()

        figures = {"rows": args.rows, "loops": args.loops}
        figures["guard_check_ns"] = round(timeit.timeit(lambda: require_active("orgs.Unit"), number=200_000)
                                          / 200_000 * 1e9, 1)
        for name, make in (("by_pk", one), ("subtree_count", subtree)):
            timings = {"guarded": float("inf"), "plain": float("inf")}
            for _ in range(7):  # interleaved, best of each: the machine's load drifts between runs
                for label, manager in (("guarded", Unit.objects), ("plain", Unit._base_manager)):
                    took = timeit.timeit(make(manager), number=args.loops) / args.loops * 1e6
                    timings[label] = min(timings[label], took)
            figures[f"{name}_guarded_us"] = round(timings["guarded"], 2)
            figures[f"{name}_plain_us"] = round(timings["plain"], 2)
            figures[f"{name}_overhead_pct"] = round((timings["guarded"] / timings["plain"] - 1) * 100, 2)
    print(f"scope guard: check {figures['guard_check_ns']} ns; by pk {figures['by_pk_guarded_us']} µs guarded vs "
          f"{figures['by_pk_plain_us']} µs plain", file=sys.stderr)
    figures["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
