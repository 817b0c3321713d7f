"""The people preview as it was before the lean path (frozen for ``bench/import_preview.py``'s baseline).

A copy of ``import_plan.plan_people`` and its row comparison as of 07/12/2026: every stored person
fetched as a model instance with its unit (``select_related``), every row compared on copies of model
instances, every code and category cleaned again on every row. The benchmark runs it and the product's
path on the same file in the same run, and checks that both plans have the same fingerprint. (The
problem messages are shortened: the benchmark's files have none.)
"""

from __future__ import annotations

import copy

from diemcau.core import audit
from diemcau.orgs import import_plan as ip
from diemcau.orgs import services
from diemcau.orgs.columns import PEOPLE_COLUMNS, PERSON_AUDIT_FIELDS, PERSON_FIELD_COLUMNS
from diemcau.orgs.import_codes import match_codes
from diemcau.orgs.models import ImportBatch, Person, Unit


def plan_people_before(user, sheet, *, lock=False, progress=None):
    scope = ip.actor_scope(user)
    plan = ip.ImportPlan(ImportBatch.Kind.PEOPLE, sheet)
    label = {c.key: c.label for c in PEOPLE_COLUMNS}
    present = set(sheet.columns)
    total = len(sheet.rows)
    rows = []
    first_row: dict[str, int] = {}
    for n, (row_no, raw) in enumerate(sheet.rows, start=1):
        ip._tick(progress, n, total, ip._CHECKING)
        code = ip._row_code(plan, row_no, raw, label["code"], first_row)
        if code is not None:
            rows.append(_read_row(plan, row_no, code, raw, label, present))
    qs = Person.objects.select_related("unit")
    if lock:
        qs = qs.select_for_update(of=("self",))
    people = match_codes(qs, {r.code for r in rows})
    units = match_codes(Unit.objects.all(), {r.unit_code for r in rows if r.unit_code})
    plan.add_notes(people, {r.code: r.row for r in rows}, "code")
    plan.add_notes(units, {r.unit_code: r.row for r in reversed(rows)}, "unit_code")
    for n, r in enumerate(rows, start=1):
        ip._tick(progress, n, total, ip._COMPARING)
        r.code = people.canonical(r.code)
        op = _compare_row(plan, r, people.get_stored(r.code), units.get(r.unit_code), scope)
        if op is not None:
            plan.ops.append(op)
    return plan.seal()


def _read_row(plan, row_no, code, raw, label, present):
    r = ip._PersonRow(row_no, code, {}, "")
    try:
        r.unit_code = services.clean_code(raw.get("unit_code"), label["unit_code"])
    except ip.DomainError as exc:
        ip._blank_or_problem(plan, r, "unit_code", raw, exc)
    try:
        category = services.clean_text(raw.get("category"), label["category"], required=True)
        r.values["category"] = ip.parse_category(category)
    except ip.DomainError as exc:
        ip._blank_or_problem(plan, r, "category", raw, exc)
    for key in present & {"full_name", "position", "email", "phone"}:
        text = raw.get(key, "")
        if ip.is_blank_keep(text):
            continue
        text = "" if ip.is_clear(text) else text
        r.values[key] = ip.restore_phone(text) if key == "phone" else text
    return r


def _compare_row(plan, r, old, unit, scope):
    if old is not None and not ip._covers(scope, old.unit.path, "people"):
        plan.add_problem(r.row, "code", "duplicate", "duplicate_code")
        return None
    if r.unit_code and (unit is None or not ip._covers(scope, unit.path, "people")):
        plan.add_problem(r.row, "unit_code", "unknown", "unknown_unit")
        r.bad = True
    if old is None:
        ip._report_missing(plan, r)
    person = copy.copy(old) if old is not None else Person(code=r.code)
    for name, value in r.values.items():
        setattr(person, name, value)
    if "category" not in r.values and old is None:
        person.category = Person.Category.STAFF
    if unit is not None:
        person.unit = unit
    fields = None if old is None else [f for f, _c, _o in services.PERSON_TEXT
                                       if getattr(person, f) != getattr(old, f)]
    for fname, exc in services.check_person(person, check_duplicate=False, fields=fields):
        plan.add_problem(r.row, PERSON_FIELD_COLUMNS.get(fname), exc.message, exc.code)
        r.bad = True
    if r.bad:
        return None
    if old is None:
        return ip.RowOp(r.row, r.code, ip.CREATE, person)
    changed = [f for f in PERSON_FIELD_COLUMNS if getattr(person, f) != getattr(old, f)]
    return ip.RowOp(r.row, r.code, ip.UPDATE if changed else ip.UNCHANGED, person, old=old,
                    changed=changed, before=audit.snapshot(old, PERSON_AUDIT_FIELDS))
