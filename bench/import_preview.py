"""Benchmark of an import's preview: 50,000 people checked against the database, nothing written.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/import_preview.py [--people N]

On a fresh SQLite database (a temporary file) with 100 institutions, in the same run:
1. reading the CSV alone (``importing.read_sheet``), the baseline every preview pays;
2. the preview of a file that creates everyone, the old path (``bench/import_preview_before.py``:
   model instances per row, every stored person fetched with its unit) then the product's
   (``import_plan.plan_people``: values, not instances), each checked to give the same fingerprint;
3. the same two on the same file once it is applied (everyone unchanged: the codes are found);
4. the same with lower-case codes (every code matched by its other spelling, each noted).

Each preview is timed on the clock and in CPU seconds (on a shared machine CPU compares better).
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
    from import_preview_before import plan_people_before

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

        def timed(fn, name):
            started, started_cpu = time.perf_counter(), time.process_time()
            value = fn()
            cpu[name] = round(time.process_time() - started_cpu, 2)
            return value, round(time.perf_counter() - started, 2)

        def both(data, name):
            """The old path then the product's on one file; both must plan the same."""
            sheet = importing.read_sheet(ImportBatch.Kind.PEOPLE, data, "people.csv")
            old, old_s = timed(lambda: plan_people_before(SYSTEM, sheet), f"{name}_before")
            sheet = importing.read_sheet(ImportBatch.Kind.PEOPLE, data, "people.csv")
            new, new_s = timed(lambda: import_plan.plan_people(SYSTEM, sheet), name)
            assert old.fingerprint == new.fingerprint and old.counts == new.counts, (old.counts, new.counts)
            return new, old_s, new_s

        data = csv()
        _sheet, read_s = timed(lambda: importing.read_sheet(ImportBatch.Kind.PEOPLE, data, "people.csv"), "read")
        plan, create_before_s, create_s = both(data, "create")
        with transaction.atomic():
            importing.apply_plan(SYSTEM, plan)
        plan, unchanged_before_s, unchanged_s = both(data, "unchanged")
        assert plan.counts["unchanged"] == args.people, plan.counts
        plan, lower_before_s, lower_s = both(csv(lower=True), "lower")
        assert plan.counts["unchanged"] == args.people and len(plan.notes) == args.people, plan.counts
    figures = {"people": args.people, "read_csv_s": read_s,
               "preview_create_before_s": create_before_s, "preview_create_s": create_s,
               "preview_unchanged_before_s": unchanged_before_s, "preview_unchanged_s": unchanged_s,
               "preview_lowercase_codes_before_s": lower_before_s, "preview_lowercase_codes_s": lower_s,
               **{f"{k}_cpu_s": v for k, v in cpu.items()},
               "speedup_unchanged_cpu": round(cpu["unchanged_before"] / max(cpu["unchanged"], 0.01), 2),
               "speedup_create_cpu": round(cpu["create_before"] / max(cpu["create"], 0.01), 2),
               "slowest_preview_with_read_s": round(read_s + max(create_s, unchanged_s, lower_s), 2)}
    print(f"read the CSV (baseline): {read_s} s ({cpu['read']} s of CPU)")
    for name, label, before, after in (("create", "everyone new", create_before_s, create_s),
                                       ("unchanged", "everyone unchanged", unchanged_before_s, unchanged_s),
                                       ("lower", "codes in lower case", lower_before_s, lower_s)):
        print(f"preview, {label}: before {before} s ({cpu[name + '_before']} s of CPU), "
              f"now {after} s ({cpu[name]} s of CPU)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
