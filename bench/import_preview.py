"""Benchmark of an import's preview: 50,000 people checked against the database, nothing written.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/import_preview.py [--people N]

On a fresh SQLite database (a temporary file) with 100 institutions, in the same run:
1. reading the CSV alone (``importing.read_sheet``), the baseline every preview pays;
2. the preview of a file that creates everyone (``import_plan.plan_people``);
3. the preview of the same file once it is applied (everyone unchanged: the codes are found),
   first as before (every stored person's every field checked again: ``check_person`` without
   ``fields``), then as now (only the values a row changes are checked);
4. the same with lower-case codes (every code matched by its other spelling, each noted).

The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=50_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="diemcau-bench-import-")
    os.environ["DIEMCAU_SQLITE"] = os.path.join(folder, "bench.sqlite3")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diemcau.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from diemcau.core.acting import system_scope
    from diemcau.orgs import import_plan, importing, services
    from diemcau.orgs.columns import PEOPLE_COLUMNS
    from diemcau.orgs.models import ImportBatch, Unit
    from diemcau.orgs.scoping import SYSTEM

    call_command("migrate", verbosity=0)
    with system_scope("benchmark: the import preview"):
        root = services.create_unit(SYSTEM, parent=None, kind=Unit.Kind.DISTRICT_OFFICE, code="PGD_BAVI",
                                    name="Phòng GD&ĐT huyện Ba Vì")
        for i in range(100):
            services.create_unit(SYSTEM, parent=root, kind=Unit.Kind.INSTITUTION, code=f"{1271000 + i:08d}",
                                 name=f"Trường Tiểu học số {i}")
        header = [c.label for c in PEOPLE_COLUMNS]

        def csv(lower=False):
            lines = [",".join(header)]
            for i in range(args.people):
                code = f"GV-{i:06d}"
                lines.append(",".join([code.lower() if lower else code, f"Nguyễn Văn An {i}",
                                       f"{1271000 + i % 100:08d}", "Giáo viên", "", "", ""]))
            return ("\n".join(lines) + "\n").encode()

        cpu = {}

        def timed(fn, name=None):
            started, started_cpu = time.perf_counter(), time.process_time()
            value = fn()
            if name:  # CPU seconds too: on a shared machine they compare better than the clock
                cpu[name] = round(time.process_time() - started_cpu, 2)
            return value, round(time.perf_counter() - started, 2)

        data = csv()
        sheet, read_s = timed(lambda: importing.read_sheet(ImportBatch.Kind.PEOPLE, data, "people.csv"))
        plan, create_s = timed(lambda: import_plan.plan_people(SYSTEM, sheet))
        with transaction.atomic():
            importing.apply_plan(SYSTEM, plan)
        again = importing.read_sheet(ImportBatch.Kind.PEOPLE, data, "people.csv")
        plan, recheck_s = timed(lambda: _rechecking_everything(lambda: import_plan.plan_people(SYSTEM, again),
                                                               services), "before")
        assert plan.counts["unchanged"] == args.people, plan.counts
        again = importing.read_sheet(ImportBatch.Kind.PEOPLE, data, "people.csv")
        plan, unchanged_s = timed(lambda: import_plan.plan_people(SYSTEM, again), "after")
        assert plan.counts["unchanged"] == args.people, plan.counts
        lower = importing.read_sheet(ImportBatch.Kind.PEOPLE, csv(lower=True), "people.csv")
        plan, lower_s = timed(lambda: import_plan.plan_people(SYSTEM, lower))
        assert plan.counts["unchanged"] == args.people and len(plan.notes) == args.people, plan.counts
    figures = {"people": args.people, "read_csv_s": read_s, "preview_create_s": create_s,
               "preview_unchanged_before_s": recheck_s, "preview_unchanged_s": unchanged_s,
               "preview_unchanged_before_cpu_s": cpu["before"], "preview_unchanged_cpu_s": cpu["after"],
               "preview_lowercase_codes_s": lower_s}
    print(f"read the CSV (baseline): {read_s} s")
    print(f"everyone unchanged, every stored field checked again (before): {recheck_s} s "
          f"({cpu['before']} s of CPU); only changed values checked (now): {unchanged_s} s ({cpu['after']} s of CPU)")
    print(f"preview, everyone new: {create_s} s; everyone unchanged: {unchanged_s} s; "
          f"codes in lower case: {lower_s} s")
    print(json.dumps(figures))


def _rechecking_everything(run, services):
    """``run()`` with ``check_person`` checking every field of every row, as the preview did before."""
    original = services.check_person

    def check_all(person, *, check_duplicate=True, fields=None):
        return original(person, check_duplicate=check_duplicate)

    services.check_person = check_all
    try:
        return run()
    finally:
        services.check_person = original


if __name__ == "__main__":
    main()
