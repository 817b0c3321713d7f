"""The plan of an import: every row checked and classed as create, update or unchanged.

Every row is checked with the services' rules (``services.check_unit`` / ``check_person``) and the
user's write scope; every problem is kept with its row and column. Nothing is written here:
:func:`~diemcau.orgs.importing.apply_plan` writes a plan.
"""

import copy
import hashlib
import json
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.core.excel import Column, Sheet
from diemcau.orgs.scoping import SYSTEM, scope_for

from . import services
from .columns import (
    COLUMNS,
    COUNT_COLUMNS,
    PEOPLE_COLUMNS,
    PERSON_FIELD_COLUMNS,
    UNIT_AUDIT_FIELDS,
    UNIT_COLUMNS,
    UNIT_FIELD_COLUMNS,
    is_blank_keep,
    is_clear,
    parse_category,
    parse_count,
    parse_decimal,
    parse_kind,
    parse_levels,
    person_cells,
    restore_phone,
    unit_cells,
)
from .import_codes import CodeMatches, match_codes
from .models import ImportBatch, Person, Unit

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
ACTIONS = (CREATE, UPDATE, UNCHANGED)


MAX_STORED_PROBLEMS = 5000
SAMPLE_ROWS = 20
# Codes per IN (...) query: far below SQLite's limit on bound variables.
_CHUNK = 2000
# Progress messages (lazy: translated only when progress is reported, not once per row).
_CHECKING = gettext_lazy("Checking rows…")
_COMPARING = gettext_lazy("Comparing with the database…")


# --- the plan ---------------------------------------------------------------------------------
@dataclass
class RowOp:
    """What importing one row does: create, update or leave unchanged one unit or person."""

    row: int
    code: str
    action: str
    obj: object  # the unit or person as it will be written (unsaved for a create)
    old: object = None  # the record as it is now
    before: dict | None = None  # audit snapshot of ``old``
    changed: list[str] = field(default_factory=list)  # model fields the row changes
    parent_code: str = ""  # units: the parent after the import
    move: bool = False  # units: an existing unit goes under another parent
    rank: int = 0  # units: created/moved units above this one, so parents are placed first

    def signature(self) -> list:
        if self.action == CREATE:
            fields = list(UNIT_FIELD_COLUMNS if isinstance(self.obj, Unit) else PERSON_FIELD_COLUMNS)
            return [self.action, self.code, self.parent_code, [str(getattr(self.obj, f)) for f in fields]]
        return [self.action, self.code, self.parent_code if self.move else "",
                [(f, str(getattr(self.old, f)), str(getattr(self.obj, f))) for f in self.changed]]


@dataclass
class ImportPlan:
    """Every row of a sheet checked and classed; nothing written. Apply it with :func:`apply_plan`."""

    kind: str
    sheet: Sheet | None
    ops: list[RowOp] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    fingerprint: str = ""
    # Units: code -> id of every existing unit the plan refers to.
    known_ids: dict[str, int] = field(default_factory=dict)
    # What the preview should say though nothing is wrong: codes matched across case or lost zeros.
    notes: list[dict] = field(default_factory=list)

    @property
    def columns(self) -> list[Column]:
        return COLUMNS[self.kind]

    @property
    def counts(self) -> dict:
        counts = dict.fromkeys(ACTIONS, 0)
        for op in self.ops:
            counts[op.action] += 1
        return counts

    def column_text(self, key: str | None) -> str:
        """"C (Tên đơn vị)": the column's letter in the file, when it has one, and its label."""
        if not key:
            return ""
        label = next((c.label for c in self.columns if c.key == key), key)
        letter = self.sheet.column_letters.get(key) if self.sheet else None
        return f"{letter} ({label})" if letter else label

    def add_problem(self, row: int, key: str | None, problem: str, code: str):
        column = self.column_text(key)
        if column:
            message = _("Row %(row)d, column %(col)s: %(problem)s") % {"row": row, "col": column,
                                                                       "problem": problem}
        else:
            message = _("Row %(row)d: %(problem)s") % {"row": row, "problem": problem}
        self.problems.append({"row": row, "column": column, "problem": str(problem), "message": message,
                              "code": code})

    def seal(self):
        """Sort the problems by row and compute the digest that applying must match."""
        self.problems.sort(key=lambda p: p["row"])
        data = json.dumps([op.signature() for op in self.ops], ensure_ascii=False, default=str)
        self.fingerprint = hashlib.sha256(data.encode()).hexdigest()
        return self

    def summary(self) -> dict:
        """A JSON-safe account of the plan for the preview page: counts, first rows, problems."""
        samples = {a: [] for a in ACTIONS}
        for op in self.ops:
            if len(samples[op.action]) < SAMPLE_ROWS:
                samples[op.action].append(self._describe(op))
        columns = [{"key": c.key, "label": c.label, "letter": self.sheet.column_letters[c.key]}
                   for c in self.columns if c.key in self.sheet.columns]
        return {
            "kind": self.kind,
            "rows": len(self.sheet.rows),
            "header_row": self.sheet.header_row,
            "columns": columns,
            "counts": self.counts,
            "samples": samples,
            "problems": self.problems[:MAX_STORED_PROBLEMS],
            "problems_total": len(self.problems),
            "notes": self.notes[:MAX_STORED_PROBLEMS],
            "notes_total": len(self.notes),
        }

    def add_notes(self, matches: CodeMatches, rows_of: dict[str, int], key: str):
        """One note per code matched otherwise than exactly (its first row in the file)."""
        for code, text in matches.notes.items():
            row = rows_of.get(code, 0)
            self.notes.append({"row": row, "column": self.column_text(key), "message": text})

    def _describe(self, op: RowOp) -> dict:
        unit_like = isinstance(op.obj, Unit)
        name = op.obj.name if unit_like else op.obj.full_name
        changes = []
        if op.action == UPDATE:
            if unit_like:
                keys = {UNIT_FIELD_COLUMNS[f] for f in op.changed} | ({"parent_code"} if op.move else set())
                old = unit_cells(op.old, op.old.parent_code or "")
                new = unit_cells(op.obj, op.parent_code)
            else:
                keys = {PERSON_FIELD_COLUMNS[f] for f in op.changed}
                old = person_cells(op.old, op.old.unit.code)
                new = person_cells(op.obj, op.obj.unit.code)
            changes = [{"column": c.label, "old": _text(old[c.key]), "new": _text(new[c.key])}
                       for c in self.columns if c.key in keys]
        cells = (unit_cells(op.obj, op.parent_code) if unit_like
                 else person_cells(op.obj, op.obj.unit.code if op.obj.unit_id else ""))
        shown = [c.key for c in self.columns if c.key in self.sheet.columns and c.key not in ("code",)]
        return {"row": op.row, "code": op.code, "name": name, "changes": changes,
                "cells": [_text(cells.get(k)) for k in shown]}


def _text(value) -> str:
    return "" if value is None else str(value)


# --- planning ---------------------------------------------------------------------------------
def actor_scope(user):
    """The user's scope, or None for the system actor (commands run by support staff)."""
    return None if user is SYSTEM else scope_for(user)


def _covers(scope, path: str, mode: str) -> bool:
    return scope is None or scope.covers(path, mode)


def chunks(items: list, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _tick(progress, done: int, total: int, message):
    if progress is not None and (done % 500 == 0 or done == total):
        progress(done, total, message)


@dataclass
class _UnitRow:
    row: int
    code: str
    values: dict
    kind_text: str | None
    parent_code: str
    bad: bool = False
    op: RowOp | None = None
    # Required cells left blank: a problem only when the row creates (an existing record keeps its value).
    missing: dict = field(default_factory=dict)


def _report_missing(plan: ImportPlan, r) -> None:
    for key, exc in r.missing.items():
        plan.add_problem(r.row, key, exc.message, exc.code)
        r.bad = True


def _row_code(plan: ImportPlan, row_no: int, raw: dict, label: str, first_row: dict[str, int]) -> str | None:
    """The row's code, or None after recording why it is unusable (invalid, or already in the file)."""
    try:
        code = services.clean_code(raw.get("code"), label)
    except DomainError as exc:
        plan.add_problem(row_no, "code", exc.message, exc.code)
        return None
    key = code.upper()  # dup-0001 and DUP-0001 are one code
    if key in first_row:
        plan.add_problem(row_no, "code", _("The code %(code)s already appears in row %(first)d.")
                         % {"code": code, "first": first_row[key]}, "duplicate_in_file")
        return None
    first_row[key] = row_no
    return code


def plan_units(user, sheet: Sheet, *, lock: bool = False, progress=None) -> ImportPlan:
    """Check every row of a sheet of units and decide what importing it would do; writes nothing.

    ``lock`` takes row locks on the units concerned (used when applying, inside the transaction).
    """
    scope = actor_scope(user)
    plan = ImportPlan(ImportBatch.Kind.UNITS, sheet)
    label = {c.key: c.label for c in UNIT_COLUMNS}
    present = set(sheet.columns)
    value_keys = [c.key for c in UNIT_COLUMNS if c.key in present and c.key not in ("code", "parent_code", "kind")]
    total = len(sheet.rows)
    rows: dict[str, _UnitRow] = {}
    first_row: dict[str, int] = {}

    # 1. Each row on its own: codes, typed values, duplicates within the file.
    for n, (row_no, raw) in enumerate(sheet.rows, start=1):
        _tick(progress, n, total, _CHECKING)
        code = _row_code(plan, row_no, raw, label["code"], first_row)
        if code is not None:
            rows[code] = _read_unit_row(plan, row_no, code, raw, label, value_keys)

    # 2. The units the file names, as they are now (locked when applying), whatever the case of
    # their codes or the zeros Excel dropped; the file's codes take the stored spelling.
    matches = _existing_units({*rows, *(r.parent_code for r in rows.values() if r.parent_code)}, lock)
    plan.add_notes(matches, {code: r.row for code, r in rows.items()}, "code")
    rows = _canonical_rows(rows, matches)
    existing = {u.code: u for u in matches.objects.values()}
    plan.known_ids = {code: u.pk for code, u in existing.items()}

    # 3. Each row against the database and the user's scope.
    for n, r in enumerate(rows.values(), start=1):
        _tick(progress, n, total, _COMPARING)
        _compare_unit_row(plan, r, rows, existing, scope)

    _check_tree(plan, rows, existing)
    plan.ops = [r.op for r in sorted(rows.values(), key=lambda r: r.row) if r.op is not None]
    return plan.seal()



def _read_unit_row(plan: ImportPlan, row_no: int, code: str, raw: dict, label: dict, value_keys: list[str]) -> _UnitRow:
    """A row of units on its own: typed values, kind and parent code, each problem recorded."""
    r = _UnitRow(row_no, code, {}, None, "")
    for key in value_keys:
        text = raw.get(key, "")
        if is_blank_keep(text):  # a blank cell keeps what is recorded; "[xoá]" clears it
            continue
        try:
            r.values.update(_unit_value(key, "" if is_clear(text) else text))
        except DomainError as exc:
            plan.add_problem(row_no, key, exc.message, exc.code)
            r.bad = True
    try:
        r.kind_text = services.clean_text(raw.get("kind"), label["kind"], required=True, max_length=100)
    except DomainError as exc:
        if is_blank_keep(raw.get("kind")):
            r.missing["kind"] = exc  # a problem only for a unit that does not exist yet
        else:
            plan.add_problem(row_no, "kind", exc.message, exc.code)
            r.bad = True
    if raw.get("parent_code"):
        try:
            r.parent_code = services.clean_code(raw["parent_code"], label["parent_code"])
        except DomainError as exc:
            plan.add_problem(row_no, "parent_code", exc.message, exc.code)
            r.bad = True
    return r


def _compare_unit_row(plan: ImportPlan, r: _UnitRow, rows: dict[str, _UnitRow], existing: dict[str, Unit], scope):
    """A row of units against the database and the user's scope: its operation, or its problems."""
    old = existing.get(r.code)
    if old is not None and not _covers(scope, old.path, "write"):
        plan.add_problem(r.row, "code", _("The code %(code)s is already used by a unit outside your "
                                          "part of the tree.") % {"code": r.code}, "duplicate_code")
        r.bad = True
        return
    unit = copy.copy(old) if old is not None else Unit(code=r.code)
    for name, value in r.values.items():
        setattr(unit, name, value)
    if r.kind_text is not None:
        unit.kind, unit.kind_label = parse_kind(r.kind_text, old)
    elif old is None:
        unit.kind = Unit.Kind.OTHER  # its problem is reported once, here or when the row was read
        _report_missing(plan, r)
    for fname, exc in services.check_unit(unit, check_duplicate=False):
        plan.add_problem(r.row, UNIT_FIELD_COLUMNS.get(fname), exc.message, exc.code)
        r.bad = True
    moving = _check_placement(plan, r, old, rows, existing, scope)
    if r.bad:
        return
    changed = [] if old is None else [f for f in UNIT_FIELD_COLUMNS if getattr(unit, f) != getattr(old, f)]
    move = old is not None and moving
    action = CREATE if old is None else (UPDATE if changed or move else UNCHANGED)
    r.op = RowOp(r.row, r.code, action, unit, old=old, changed=changed, parent_code=r.parent_code,
                 move=move, before=audit.snapshot(old, UNIT_AUDIT_FIELDS) if old else None)


def _check_placement(plan: ImportPlan, r: _UnitRow, old: Unit | None, rows: dict[str, _UnitRow],
                     existing: dict[str, Unit], scope) -> bool:
    """Where the unit will sit: the parent the file names, or (empty) where it already is.

    Returns whether the unit is placed anew (created or moved); records a parent the user may not use.
    """
    moving = old is None or bool(r.parent_code and r.parent_code != old.parent_code)
    if old is not None and not r.parent_code:
        r.parent_code = old.parent_code or ""
    if moving and r.parent_code and r.parent_code not in rows:
        parent = existing.get(r.parent_code)
        if parent is None or not _covers(scope, parent.path, "write"):
            plan.add_problem(r.row, "parent_code", _("There is no unit with the code %(code)s in your "
                                                     "part of the tree or in this file.")
                             % {"code": r.parent_code}, "unknown_parent")
            r.bad = True
    elif old is None and not r.parent_code and not (scope is None or scope.writes_everything):
        plan.add_problem(r.row, "parent_code", _("Write the code of the unit directly above: only "
                                                 "national organisers create top-level units."),
                         "parent_required")
        r.bad = True
    return moving


def _unit_value(key: str, text: str) -> dict:
    if key == "levels":
        return {"levels": parse_levels(text)}
    if key in ("latitude", "longitude"):
        return {key: parse_decimal(text)}
    if key in COUNT_COLUMNS:
        return {key: parse_count(text)}
    return {key: text}  # text fields: services.check_unit cleans and checks them


def _existing_units(codes: set[str], lock: bool) -> CodeMatches:
    qs = Unit.objects.annotate(parent_code=F("parent__code"))
    if lock:
        qs = qs.select_for_update(of=("self",))
    return match_codes(qs, codes)


def _spelling(matches: CodeMatches, first: dict[str, str], code: str) -> str:
    """A code as the import will use it: the stored spelling, else its first spelling in the file."""
    if not code:
        return code
    if matches.get(code) is not None:
        return matches.canonical(code)
    return first.setdefault(code.upper(), code)


def _canonical_rows(rows: dict[str, "_UnitRow"], matches: CodeMatches) -> dict[str, "_UnitRow"]:
    first: dict[str, str] = {}
    out = {}
    for code, r in rows.items():
        r.code = _spelling(matches, first, code)
        out[r.code] = r
    for r in out.values():
        r.parent_code = _spelling(matches, first, r.parent_code)
    return out


def _check_tree(plan: ImportPlan, rows: dict[str, "_UnitRow"], existing: dict[str, Unit]):
    """Find loops in the tree the import would make, and rank the units it places, parents first.

    A unit's next unit up among the file's is found through the file's parent codes, or through
    the path of a unit the file leaves in place. Walking those links from every row, with memory,
    finds each loop once, including an existing unit put under its own descendant.
    """
    by_id = {existing[c].pk: c for c in rows if c in existing}

    def up(code: str) -> str | None:
        parent = rows[code].parent_code
        if not parent:
            return None
        if parent in rows:
            return parent
        unit = existing.get(parent)
        if unit is None:
            return None
        for ancestor_id in reversed(unit.ancestor_ids()):
            if ancestor_id in by_id:
                return by_id[ancestor_id]
        return None

    def placed(code: str) -> bool:
        op = rows[code].op
        return op is not None and (op.action == CREATE or op.move)

    rank: dict[str, int] = {}
    on_path = object()
    for start in rows:
        stack, code = [], start
        while code is not None and code not in rank:
            rank[code] = on_path
            stack.append(code)
            code = up(code)
        if code is not None and rank[code] is on_path:
            loop = stack[stack.index(code):]
            _report_loop(plan, rows, loop)
            rank.update(dict.fromkeys(loop, 0))
            stack = stack[: stack.index(code)]
        above = code
        for c in reversed(stack):
            rank[c] = 0 if above is None else rank[above] + (1 if placed(above) else 0)
            above = c
    for code, r in rows.items():
        if r.op is not None:
            r.op.rank = rank[code]


def _report_loop(plan: ImportPlan, rows: dict[str, "_UnitRow"], loop: list[str]):
    """Record the loop on each of its rows, written as the chain of parent codes that makes it."""
    chain = []
    for i, c in enumerate(loop):
        chain.append(c)
        following = loop[(i + 1) % len(loop)]
        if rows[c].parent_code != following:
            chain += [rows[c].parent_code, "…"]
    chain.append(loop[0])
    for c in loop:
        plan.add_problem(rows[c].row, "parent_code", _("This parent would make a loop in the tree: %(chain)s.")
                         % {"chain": " → ".join(chain)}, "cycle")


@dataclass
class _PersonRow:
    row: int
    code: str
    values: dict
    unit_code: str
    bad: bool = False
    missing: dict = field(default_factory=dict)


class PersonValues(SimpleNamespace):
    """A person's values as the preview reads and compares them: a stored row, or what a row makes of it.

    Cheaper than a model instance (a 50,000-people preview builds one per row); the services' checks
    and ``columns.person_cells`` read it like a :class:`Person`, and ``importing.apply_plan`` turns the
    created and changed ones into model instances when it writes.
    """


# What the preview needs of a stored person: its values, not a model instance with its unit.
STORED_PERSON = ("pk", "code", "full_name", "category", "position", "phone", "email", "unit_id")
_NEW_PERSON = {"pk": None, "full_name": "", "category": "", "position": "", "phone": "", "email": "",
               "unit_id": None, "unit": None}


def plan_people(user, sheet: Sheet, *, lock: bool = False, progress=None) -> ImportPlan:
    """Check every row of a sheet of people and decide what importing it would do; writes nothing.

    Stored people are read as values (one query per 2,000 codes, no model instances); a row that
    changes nothing is not checked again (its values were checked when stored).
    """
    scope = actor_scope(user)
    plan = ImportPlan(ImportBatch.Kind.PEOPLE, sheet)
    label = {c.key: c.label for c in PEOPLE_COLUMNS}
    present = set(sheet.columns)
    total = len(sheet.rows)
    rows: list[_PersonRow] = []
    first_row: dict[str, int] = {}
    cleaned: dict = {}  # (column, cell) -> its cleaned value or the error: a file names few units and groups

    for n, (row_no, raw) in enumerate(sheet.rows, start=1):
        _tick(progress, n, total, _CHECKING)
        code = _row_code(plan, row_no, raw, label["code"], first_row)
        if code is not None:
            rows.append(_read_person_row(plan, row_no, code, raw, label, present, cleaned))

    qs = Person.objects.values_list(*STORED_PERSON, named=True)
    if lock:
        qs = qs.select_for_update(of=("self",))
    # Codes as the file writes them, matched whatever their case or the zeros Excel dropped.
    people = match_codes(qs, {r.code for r in rows})
    units = match_codes(Unit.objects.all(), {r.unit_code for r in rows if r.unit_code})
    plan.add_notes(people, {r.code: r.row for r in rows}, "code")
    plan.add_notes(units, {r.unit_code: r.row for r in reversed(rows)}, "unit_code")
    units_by_id = _units_by_id(units, {p.unit_id for p in people.objects.values()})

    for n, r in enumerate(rows, start=1):
        _tick(progress, n, total, _COMPARING)
        r.code = people.canonical(r.code)
        stored = people.get_stored(r.code)
        old = None if stored is None else PersonValues(**stored._asdict(), unit=units_by_id[stored.unit_id])
        op = _compare_person_row(plan, r, old, units.get(r.unit_code), scope)
        if op is not None:
            plan.ops.append(op)
    return plan.seal()


def _units_by_id(units: CodeMatches, ids: set[int]) -> dict[int, Unit]:
    """The file's units and the units of the stored people it names, by id."""
    by_id = {u.pk: u for u in units.objects.values()}
    for chunk in chunks(sorted(ids - by_id.keys())):
        by_id.update({u.pk: u for u in Unit.objects.filter(pk__in=chunk)})
    return by_id


def _cleaned_cell(cleaned: dict, key: str, text, clean):
    """``clean(text)``, remembered per column and cell (a refusal too: it is raised again)."""
    memo = (key, text)
    if memo not in cleaned:
        try:
            cleaned[memo] = clean(text)
        except DomainError as exc:
            cleaned[memo] = exc
    value = cleaned[memo]
    if isinstance(value, DomainError):
        raise value
    return value


def _read_person_row(plan: ImportPlan, row_no: int, code: str, raw: dict, label: dict, present: set,
                     cleaned: dict) -> _PersonRow:
    """A row of people on its own: unit code, category and the text fields, each problem recorded."""
    r = _PersonRow(row_no, code, {}, "")
    try:
        r.unit_code = _cleaned_cell(cleaned, "unit_code", raw.get("unit_code"),
                                    lambda t: services.clean_code(t, label["unit_code"]))
    except DomainError as exc:
        _blank_or_problem(plan, r, "unit_code", raw, exc)
    try:
        r.values["category"] = _cleaned_cell(
            cleaned, "category", raw.get("category"),
            lambda t: parse_category(services.clean_text(t, label["category"], required=True)))
    except DomainError as exc:
        _blank_or_problem(plan, r, "category", raw, exc)
    # A blank cell keeps what is recorded; "[xoá]" clears it (docs/ARCHITECTURE.md, "Imports").
    for key in present & {"full_name", "position", "email", "phone"}:
        text = raw.get(key, "")
        if is_blank_keep(text):
            continue
        text = "" if is_clear(text) else text
        r.values[key] = restore_phone(text) if key == "phone" else text
    return r


def _blank_or_problem(plan: ImportPlan, r, key: str, raw: dict, exc: DomainError) -> None:
    """A required cell refused: left blank, a problem only if the row creates; else a problem now."""
    if is_blank_keep(raw.get(key)):
        r.missing[key] = exc
    else:
        plan.add_problem(r.row, key, exc.message, exc.code)
        r.bad = True


def _fields_to_check(person: PersonValues, old: PersonValues | None) -> list[str]:
    """The text fields the services must check: a stored person's changed values (the others were
    checked when stored); a new person's name and filled-in values (its code was checked as read)."""
    if old is None:
        return [f for f, _c, options in services.PERSON_TEXT
                if f != "code" and (options.get("required") or getattr(person, f))]
    return [f for f, _c, _o in services.PERSON_TEXT if getattr(person, f) != getattr(old, f)]


def _compare_person_row(plan: ImportPlan, r: _PersonRow, old: PersonValues | None, unit: Unit | None,
                        scope) -> RowOp | None:
    """A row of people against the database and the user's scope: its operation, or None after its problems."""
    if old is not None and not _covers(scope, old.unit.path, "people"):
        plan.add_problem(r.row, "code", _("The personal code %(code)s is already used by a person "
                                          "outside your part of the tree.") % {"code": r.code},
                         "duplicate_code")
        return None
    if r.unit_code and (unit is None or not _covers(scope, unit.path, "people")):
        plan.add_problem(r.row, "unit_code", _("There is no unit with the code %(code)s in your part of "
                                               "the tree.") % {"code": r.unit_code}, "unknown_unit")
        r.bad = True
    if old is None:
        _report_missing(plan, r)
    person = PersonValues(**(vars(old) if old is not None else {**_NEW_PERSON, "code": r.code}))
    for name, value in r.values.items():
        setattr(person, name, value)
    if "category" not in r.values and old is None:
        person.category = Person.Category.STAFF  # its problem is already reported; don't report it twice
    if unit is not None:
        person.unit, person.unit_id = unit, unit.pk
    fields = _fields_to_check(person, old)
    if fields or person.category != getattr(old, "category", None):
        for fname, exc in services.check_person(person, check_duplicate=False, fields=fields):
            plan.add_problem(r.row, PERSON_FIELD_COLUMNS.get(fname), exc.message, exc.code)
            r.bad = True
    if r.bad:
        return None
    if old is None:
        return RowOp(r.row, r.code, CREATE, person)
    changed = [f for f in PERSON_FIELD_COLUMNS if getattr(person, f) != getattr(old, f)]
    return RowOp(r.row, r.code, UPDATE if changed else UNCHANGED, person, old=old, changed=changed)
