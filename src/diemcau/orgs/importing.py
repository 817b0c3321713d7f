"""Imports of units and people from Excel/CSV, and the layout their exports share.

The flow, for the next developer:

1. :func:`start_import` keeps the upload as an :class:`~diemcau.orgs.models.ImportBatch` (its size
   is checked before a byte is read) and previews it: inline for small files, as a job otherwise.
2. :func:`preview_batch` reads the table (``core.excel.read_table``) and plans it with
   :func:`plan_units` / :func:`plan_people`: every row is checked with the services' rules
   (``services.check_unit`` / ``check_person``), every problem is kept with its row and column, and
   every row is classed as create, update or unchanged. Only the batch's summary is written.
3. :func:`confirm_batch` applies a batch once however often it is confirmed; :func:`apply_plan`
   plans the same rows again inside one transaction, refuses if anything differs from the preview,
   then writes with bulk statements and one audit entry per created or changed row.

Imports never delete: units and people missing from the file are left as they are. A file's
columns and values are Vietnamese whatever the interface language, since officials exchange these
sheets; exports write exactly what imports read, so export → import changes nothing.
"""

import copy
import decimal
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core import audit, jobs
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.excel import (
    SYNC_READ_BYTES,
    Column,
    Sheet,
    build_workbook,
    check_upload,
    read_table,
    reads_inline,
    uncompressed_size,
)
from diemcau.core.models import AuditEntry
from diemcau.core.vntext import fold
from diemcau.orgs.scoping import SYSTEM, scope_for

from . import services
from .models import PATH_STEP, EducationLevel, ImportBatch, Person, Unit, path_segment

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
ACTIONS = (CREATE, UPDATE, UNCHANGED)
# Files up to this size, that unpack to no more than settings.IMPORT_SYNC_UNCOMPRESSED_BYTES, are
# previewed within the request; larger ones by a background job (core.excel.reads_inline).
SYNC_PREVIEW_BYTES = SYNC_READ_BYTES
# Plans up to this many rows are applied within the request; larger ones by a background job.
SYNC_APPLY_ROWS = 3000
MAX_STORED_PROBLEMS = 5000
SAMPLE_ROWS = 20
# Codes per IN (...) query: far below SQLite's limit on bound variables.
_CHUNK = 2000
# Progress messages (lazy: translated only when progress is reported, not once per row).
_CHECKING = gettext_lazy("Checking rows…")
_COMPARING = gettext_lazy("Comparing with the database…")
_WRITING = gettext_lazy("Writing…")

# --- the columns ------------------------------------------------------------------------------
UNIT_COLUMNS = [
    Column("code", "Mã đơn vị", ("ma dv", "ma", "ma so", "code", "unit code"), required=True),
    Column("name", "Tên đơn vị", ("ten dv", "ten", "ten truong", "name", "unit name"), required=True),
    Column("kind", "Loại đơn vị", ("loai", "loai hinh", "loai dv", "kind"), required=True),
    Column("parent_code", "Mã đơn vị cấp trên", ("ma cap tren", "ma don vi cha", "ma dv cap tren",
                                                  "ma don vi quan ly", "parent code", "parent")),
    Column("short_name", "Tên viết tắt", ("viet tat", "ten tat", "short name")),
    Column("levels", "Cấp học", ("cap", "bac hoc", "levels", "levels of education")),
    Column("commune", "Xã/phường", ("xa phuong", "xa, phuong", "xa/phuong/thi tran", "xa", "phuong",
                                    "commune")),
    Column("address", "Địa chỉ", ("dia chi truong", "address")),
    Column("latitude", "Vĩ độ", ("lat", "latitude")),
    Column("longitude", "Kinh độ", ("lng", "lon", "long", "longitude")),
    Column("managers_count", "Số CBQL", ("cbql", "so can bo quan ly", "can bo quan ly", "managers")),
    Column("teachers_count", "Số giáo viên", ("so gv", "giao vien", "gv", "teachers")),
    Column("staff_count", "Số nhân viên", ("so nv", "nhan vien", "nv", "staff")),
]
PEOPLE_COLUMNS = [
    Column("code", "Mã cá nhân", ("ma cb", "ma can bo", "ma nhan su", "ma dinh danh", "ma", "personal code",
                                  "code"), required=True),
    Column("full_name", "Họ và tên", ("ho ten", "ho va ten", "ten", "full name", "name"), required=True),
    Column("unit_code", "Mã đơn vị", ("ma dv", "ma truong", "unit code", "unit"), required=True),
    Column("category", "Nhóm", ("phan loai", "doi tuong", "nhom doi tuong", "category"), required=True),
    Column("position", "Chức vụ", ("chuc danh", "position")),
    Column("phone", "Điện thoại", ("so dien thoai", "sdt", "dt", "dien thoai di dong", "phone")),
    Column("email", "Email", ("e-mail", "thu dien tu", "dia chi email")),
]
COLUMNS = {ImportBatch.Kind.UNITS: UNIT_COLUMNS, ImportBatch.Kind.PEOPLE: PEOPLE_COLUMNS}

COLUMN_HELP = {
    "code": gettext_lazy("Unique code. Leading zeros are kept."),
    "name": gettext_lazy("Full name of the unit."),
    "kind": gettext_lazy("Bộ, Sở Giáo dục và Đào tạo, Phòng Giáo dục và Đào tạo, Cơ sở giáo dục, "
                         "or any other kind in your own words."),
    "parent_code": gettext_lazy("Code of the unit directly above. Empty keeps an existing unit where it "
                                "is; only national organisers create top-level units."),
    "levels": gettext_lazy("Levels of education separated by , or ; (Mầm non; Tiểu học; THCS; THPT; "
                           "GDTX...)."),
    "latitude": gettext_lazy("Decimal degrees, e.g. 21.0285."),
    "longitude": gettext_lazy("Decimal degrees, e.g. 105.8542."),
    "managers_count": gettext_lazy("Whole number."),
    "teachers_count": gettext_lazy("Whole number."),
    "staff_count": gettext_lazy("Whole number."),
    "full_name": gettext_lazy("Full name of the person."),
    "unit_code": gettext_lazy("Code of the unit the person belongs to, inside your part of the tree."),
    "category": gettext_lazy("Ban giám hiệu, Giáo viên or Nhân viên."),
    "phone": gettext_lazy("A 9-digit number that lost its leading 0 in Excel gets it back."),
}

# --- the words a sheet uses --------------------------------------------------------------------
KIND_WORDS = {
    Unit.Kind.MINISTRY: "Bộ",
    Unit.Kind.DEPARTMENT: "Sở Giáo dục và Đào tạo",
    Unit.Kind.DISTRICT_OFFICE: "Phòng Giáo dục và Đào tạo",
    Unit.Kind.INSTITUTION: "Cơ sở giáo dục",
    Unit.Kind.OTHER: "Đơn vị khác",
}
KIND_ALIASES = {  # folded
    Unit.Kind.MINISTRY: ("bo", "bo giao duc va dao tao", "bo gd&dt", "bo gddt", "bo gd-dt"),
    Unit.Kind.DEPARTMENT: ("so", "so giao duc va dao tao", "so gd&dt", "so gddt", "so gd-dt", "so gd"),
    Unit.Kind.DISTRICT_OFFICE: ("phong", "phong giao duc va dao tao", "phong gd&dt", "phong gddt",
                                "phong gd-dt", "phong gd"),
    Unit.Kind.INSTITUTION: ("co so giao duc", "csgd", "truong", "truong hoc", "co so"),
    Unit.Kind.OTHER: ("khac", "don vi khac"),
}
LEVEL_WORDS = {
    EducationLevel.PRESCHOOL: "Mầm non",
    EducationLevel.PRIMARY: "Tiểu học",
    EducationLevel.LOWER_SECONDARY: "Trung học cơ sở",
    EducationLevel.UPPER_SECONDARY: "Trung học phổ thông",
    EducationLevel.CONTINUING: "Giáo dục thường xuyên",
    EducationLevel.SPECIALISED: "Trường chuyên biệt",
    EducationLevel.UNIVERSITY: "Đại học",
    EducationLevel.TEACHER_COLLEGE: "Cao đẳng sư phạm",
}
CATEGORY_WORDS = {
    Person.Category.MANAGEMENT: "Ban giám hiệu",
    Person.Category.TEACHER: "Giáo viên",
    Person.Category.STAFF: "Nhân viên",
}
CATEGORY_ALIASES = {  # folded
    Person.Category.MANAGEMENT: ("bgh", "cbql", "can bo quan ly", "quan ly", "ql", "lanh dao",
                                 "management board"),
    Person.Category.TEACHER: ("gv", "giao vien", "nha giao"),
    Person.Category.STAFF: ("nv", "nhan vien", "cnv", "cong nhan vien"),
}

# Model field -> the column it comes from.
UNIT_FIELD_COLUMNS = {
    "code": "code", "name": "name", "kind": "kind", "kind_label": "kind", "short_name": "short_name",
    "levels": "levels", "commune": "commune", "address": "address", "latitude": "latitude",
    "longitude": "longitude", "managers_count": "managers_count", "teachers_count": "teachers_count",
    "staff_count": "staff_count",
}
PERSON_FIELD_COLUMNS = {
    "code": "code", "full_name": "full_name", "unit_id": "unit_code", "category": "category",
    "position": "position", "phone": "phone", "email": "email",
}
# What the audit log records of each (services.py's lists, plus the place in the tree).
UNIT_AUDIT_FIELDS = [*services.UNIT_FIELDS, "parent"]
PERSON_AUDIT_FIELDS = [*services.PERSON_FIELDS, "unit"]
_COUNT_COLUMNS = ("managers_count", "teachers_count", "staff_count")
_TEXT_COLUMNS = ("name", "short_name", "commune", "address")


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
        }

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
        return {"row": op.row, "code": op.code, "name": name, "changes": changes}


def _text(value) -> str:
    return "" if value is None else str(value)


# --- reading values ---------------------------------------------------------------------------
_GROUPED = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+")
_WHOLE_FLOAT = re.compile(r"(\d+)[.,]0+")
_LIST_SEPARATORS = re.compile(r"[;,\n]")


@lru_cache(maxsize=8)
def _kind_words(language: str) -> dict[str, set[str]]:
    """Folded words meaning each kind: key, Vietnamese word, aliases, English and current labels."""
    words = {}
    for kind in Unit.Kind:
        with translation.override("en"):
            english = fold(str(kind.label))
        with translation.override(language):
            current = fold(str(kind.label))
        words[kind.value] = {kind.value, fold(KIND_WORDS[kind]), english, current, *KIND_ALIASES[kind]}
    return words


def parse_kind(text: str, existing: Unit | None = None) -> tuple[str, str]:
    """The kind and kind label that ``text`` means: a known kind, or "other" with the text as label."""
    folded = fold(text)
    if existing is not None and existing.kind_label and fold(existing.kind_label) == folded:
        # An export writes a unit's own label; reading it back must not turn it into "other".
        return existing.kind, existing.kind_label
    for kind, words in _kind_words(translation.get_language() or settings.LANGUAGE_CODE).items():
        if folded in words:
            return kind, ""
    return Unit.Kind.OTHER, text


def parse_levels(text: str) -> int:
    """The levels of education named in ``text``, separated by commas or semicolons."""
    mask, unknown = 0, []
    for word in _LIST_SEPARATORS.split(text or ""):
        word = word.strip(" .")
        if not word:
            continue
        bit = EducationLevel.parse_one(word)
        if bit is None:
            unknown.append(word)
        else:
            mask |= bit
    if unknown:
        raise DomainError(_("Unknown level of education: %(words)s.") % {"words": ", ".join(unknown)},
                          "bad_level")
    return mask


def parse_count(text: str) -> int:
    """A whole number of zero or more, as officials type it ("30", "1.250", "30.0"); empty is 0."""
    t = (text or "").replace("\u00a0", " ").strip()
    if not t:
        return 0
    if t.isdigit():
        return int(t)
    if _GROUPED.fullmatch(t):  # Vietnamese thousands: 1.250 is one thousand two hundred and fifty
        return int(re.sub(r"\D", "", t))
    m = _WHOLE_FLOAT.fullmatch(t)
    if m:
        return int(m.group(1))
    raise DomainError(_("“%(value)s” is not a whole number of zero or more.") % {"value": t}, "bad_number")


def parse_decimal(text: str) -> decimal.Decimal | None:
    """A coordinate in decimal degrees ("21.0285" or "21,0285"); empty is None."""
    t = (text or "").replace(" ", "").replace("\u00a0", "")
    if not t:
        return None
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    try:
        value = decimal.Decimal(t)
    except decimal.InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise DomainError(_("“%(value)s” is not a number.") % {"value": text}, "bad_number")
    return value.quantize(decimal.Decimal("0.000001"), rounding=decimal.ROUND_HALF_UP)


@lru_cache(maxsize=8)
def _category_words(language: str) -> dict[str, set[str]]:
    words = {}
    for category in Person.Category:
        with translation.override("en"):
            english = fold(str(category.label))
        with translation.override(language):
            current = fold(str(category.label))
        words[category.value] = {category.value, fold(CATEGORY_WORDS[category]), english, current,
                                 *CATEGORY_ALIASES[category]}
    return words


def parse_category(text: str) -> str:
    """The group (Ban giám hiệu, Giáo viên, Nhân viên) that ``text`` means, aliases included."""
    folded = fold(text)
    for category, words in _category_words(translation.get_language() or settings.LANGUAGE_CODE).items():
        if folded in words:
            return category
    raise DomainError(
        _("Unknown group “%(value)s”: write Ban giám hiệu, Giáo viên or Nhân viên.") % {"value": text},
        "bad_category",
    )


def restore_phone(text: str) -> str:
    """Give back the leading 0 that Excel drops when a phone number is stored as a number."""
    t = (text or "").strip()
    if len(t) == 9 and t.isdigit() and t[0] != "0":
        return "0" + t
    return t


# --- writing values: the cells of an export, in the columns' order ----------------------------
def unit_cells(unit: Unit, parent_code: str) -> dict:
    """The values of one unit as the import's columns expect them."""
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind_label or KIND_WORDS.get(unit.kind, unit.kind),
        "parent_code": parent_code or "",
        "short_name": unit.short_name,
        "levels": ", ".join(w for bit, w in LEVEL_WORDS.items() if unit.levels & bit),
        "commune": unit.commune,
        "address": unit.address,
        "latitude": unit.latitude,
        "longitude": unit.longitude,
        "managers_count": unit.managers_count,
        "teachers_count": unit.teachers_count,
        "staff_count": unit.staff_count,
    }


def person_cells(person: Person, unit_code: str) -> dict:
    return {
        "code": person.code,
        "full_name": person.full_name,
        "unit_code": unit_code,
        "category": CATEGORY_WORDS.get(person.category, person.category),
        "position": person.position,
        "phone": person.phone,
        "email": person.email,
    }


def headers(kind: str) -> list[str]:
    """The header row of a sheet of ``kind``: the labels, required ones marked with *."""
    return [c.label + ("*" if c.required else "") for c in COLUMNS[kind]]


# --- planning ---------------------------------------------------------------------------------
def _scope(user):
    """The user's scope, or None for the system actor (commands run by support staff)."""
    return None if user is SYSTEM else scope_for(user)


def _covers(scope, path: str, mode: str) -> bool:
    return scope is None or scope.covers(path, mode)


def _chunks(items: list, size: int = _CHUNK):
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


def _row_code(plan: ImportPlan, row_no: int, raw: dict, label: str, first_row: dict[str, int]) -> str | None:
    """The row's code, or None after recording why it is unusable (invalid, or already in the file)."""
    try:
        code = services.clean_code(raw.get("code"), label)
    except DomainError as exc:
        plan.add_problem(row_no, "code", exc.message, exc.code)
        return None
    if code in first_row:
        plan.add_problem(row_no, "code", _("The code %(code)s already appears in row %(first)d.")
                         % {"code": code, "first": first_row[code]}, "duplicate_in_file")
        return None
    first_row[code] = row_no
    return code


def plan_units(user, sheet: Sheet, *, lock: bool = False, progress=None) -> ImportPlan:
    """Check every row of a sheet of units and decide what importing it would do; writes nothing.

    ``lock`` takes row locks on the units concerned (used when applying, inside the transaction).
    """
    scope = _scope(user)
    plan = ImportPlan(ImportBatch.Kind.UNITS, sheet)
    label = {c.key: c.label for c in UNIT_COLUMNS}
    present = set(sheet.columns)
    value_keys = [c.key for c in UNIT_COLUMNS if c.key in present and c.key not in ("code", "parent_code", "kind")]
    total = len(sheet.rows)
    rows: dict[str, _UnitRow] = {}
    first_row: dict[str, int] = {}

    # 1. Each row on its own: codes, typed values, duplicates within the file.
    for n, (row_no, raw) in enumerate(sheet.rows, start=1):
        _tick(progress, n, total * 2, _CHECKING)
        code = _row_code(plan, row_no, raw, label["code"], first_row)
        if code is None:
            continue
        r = _UnitRow(row_no, code, {}, None, "")
        for key in value_keys:
            try:
                r.values.update(_unit_value(key, raw.get(key, "")))
            except DomainError as exc:
                plan.add_problem(row_no, key, exc.message, exc.code)
                r.bad = True
        try:
            r.kind_text = services.clean_text(raw.get("kind"), label["kind"], required=True, max_length=100)
        except DomainError as exc:
            plan.add_problem(row_no, "kind", exc.message, exc.code)
            r.bad = True
        if raw.get("parent_code"):
            try:
                r.parent_code = services.clean_code(raw["parent_code"], label["parent_code"])
            except DomainError as exc:
                plan.add_problem(row_no, "parent_code", exc.message, exc.code)
                r.bad = True
        rows[code] = r

    # 2. The units the file names, as they are now (locked when applying).
    existing = _existing_units({*rows, *(r.parent_code for r in rows.values() if r.parent_code)}, lock)
    plan.known_ids = {code: u.pk for code, u in existing.items()}
    writes_everything = scope is None or scope.writes_everything

    # 3. Each row against the database and the user's scope.
    for n, r in enumerate(rows.values(), start=1):
        _tick(progress, total + n, total * 2, _COMPARING)
        old = existing.get(r.code)
        if old is not None and not _covers(scope, old.path, "write"):
            plan.add_problem(r.row, "code", _("The code %(code)s is already used by a unit outside your "
                                              "part of the tree.") % {"code": r.code}, "duplicate_code")
            r.bad = True
            continue
        unit = copy.copy(old) if old is not None else Unit(code=r.code)
        for name, value in r.values.items():
            setattr(unit, name, value)
        if r.kind_text is not None:
            unit.kind, unit.kind_label = parse_kind(r.kind_text, old)
        elif old is None:
            unit.kind = Unit.Kind.OTHER  # its problem is already reported; don't report it twice
        for fname, exc in services.check_unit(unit, check_duplicate=False):
            plan.add_problem(r.row, UNIT_FIELD_COLUMNS.get(fname), exc.message, exc.code)
            r.bad = True

        # Where the unit will sit: the parent the file names, or (empty) where it already is.
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
        elif old is None and not r.parent_code and not writes_everything:
            plan.add_problem(r.row, "parent_code", _("Write the code of the unit directly above: only "
                                                     "national organisers create top-level units."),
                             "parent_required")
            r.bad = True
        if r.bad:
            continue

        changed = [] if old is None else [f for f in UNIT_FIELD_COLUMNS if getattr(unit, f) != getattr(old, f)]
        move = old is not None and moving
        action = CREATE if old is None else (UPDATE if changed or move else UNCHANGED)
        r.op = RowOp(r.row, r.code, action, unit, old=old, changed=changed, parent_code=r.parent_code,
                     move=move, before=audit.snapshot(old, UNIT_AUDIT_FIELDS) if old else None)

    _check_tree(plan, rows, existing)
    plan.ops = [r.op for r in sorted(rows.values(), key=lambda r: r.row) if r.op is not None]
    return plan.seal()


def _unit_value(key: str, text: str) -> dict:
    if key == "levels":
        return {"levels": parse_levels(text)}
    if key in ("latitude", "longitude"):
        return {key: parse_decimal(text)}
    if key in _COUNT_COLUMNS:
        return {key: parse_count(text)}
    return {key: text}  # text fields: services.check_unit cleans and checks them


def _existing_units(codes: set[str], lock: bool) -> dict[str, Unit]:
    qs = Unit.objects.annotate(parent_code=F("parent__code"))
    if lock:
        qs = qs.select_for_update(of=("self",))
    found = {}
    for chunk in _chunks(sorted(codes)):
        for unit in qs.filter(code__in=chunk):
            found[unit.code] = unit
    return found


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
            chain = []
            for i, c in enumerate(loop):
                chain.append(c)
                following = loop[(i + 1) % len(loop)]
                if rows[c].parent_code != following:
                    chain += [rows[c].parent_code, "…"]
            chain.append(loop[0])
            for c in loop:
                plan.add_problem(rows[c].row, "parent_code",
                                 _("This parent would make a loop in the tree: %(chain)s.")
                                 % {"chain": " → ".join(chain)}, "cycle")
                rank[c] = 0
            stack = stack[: stack.index(code)]
        above = code
        for c in reversed(stack):
            rank[c] = 0 if above is None else rank[above] + (1 if placed(above) else 0)
            above = c
    for code, r in rows.items():
        if r.op is not None:
            r.op.rank = rank[code]


@dataclass
class _PersonRow:
    row: int
    code: str
    values: dict
    unit_code: str
    bad: bool = False


def plan_people(user, sheet: Sheet, *, lock: bool = False, progress=None) -> ImportPlan:
    """Check every row of a sheet of people and decide what importing it would do; writes nothing."""
    scope = _scope(user)
    plan = ImportPlan(ImportBatch.Kind.PEOPLE, sheet)
    label = {c.key: c.label for c in PEOPLE_COLUMNS}
    present = set(sheet.columns)
    total = len(sheet.rows)
    rows: list[_PersonRow] = []
    first_row: dict[str, int] = {}

    for n, (row_no, raw) in enumerate(sheet.rows, start=1):
        _tick(progress, n, total * 2, _CHECKING)
        code = _row_code(plan, row_no, raw, label["code"], first_row)
        if code is None:
            continue
        r = _PersonRow(row_no, code, {}, "")
        try:
            r.unit_code = services.clean_code(raw.get("unit_code"), label["unit_code"])
        except DomainError as exc:
            plan.add_problem(row_no, "unit_code", exc.message, exc.code)
            r.bad = True
        try:
            category = services.clean_text(raw.get("category"), label["category"], required=True)
            r.values["category"] = parse_category(category)
        except DomainError as exc:
            plan.add_problem(row_no, "category", exc.message, exc.code)
            r.bad = True
        for key in present & {"full_name", "position", "email"}:
            r.values[key] = raw.get(key, "")
        if "phone" in present:
            r.values["phone"] = restore_phone(raw.get("phone", ""))
        rows.append(r)

    people = {}
    qs = Person.objects.select_related("unit")
    if lock:
        qs = qs.select_for_update(of=("self",))
    for chunk in _chunks(sorted(first_row)):
        people.update({p.code: p for p in qs.filter(code__in=chunk)})
    units = {}
    for chunk in _chunks(sorted({r.unit_code for r in rows if r.unit_code})):
        units.update({u.code: u for u in Unit.objects.filter(code__in=chunk)})

    for n, r in enumerate(rows, start=1):
        _tick(progress, total + n, total * 2, _COMPARING)
        old = people.get(r.code)
        if old is not None and not _covers(scope, old.unit.path, "people"):
            plan.add_problem(r.row, "code", _("The personal code %(code)s is already used by a person "
                                              "outside your part of the tree.") % {"code": r.code},
                             "duplicate_code")
            continue
        unit = units.get(r.unit_code)
        if r.unit_code and (unit is None or not _covers(scope, unit.path, "people")):
            plan.add_problem(r.row, "unit_code", _("There is no unit with the code %(code)s in your part of "
                                                   "the tree.") % {"code": r.unit_code}, "unknown_unit")
            r.bad = True
        person = copy.copy(old) if old is not None else Person(code=r.code)
        for name, value in r.values.items():
            setattr(person, name, value)
        if "category" not in r.values and old is None:
            person.category = Person.Category.STAFF  # its problem is already reported; don't report it twice
        if unit is not None:
            person.unit = unit
        for fname, exc in services.check_person(person, check_duplicate=False):
            plan.add_problem(r.row, PERSON_FIELD_COLUMNS.get(fname), exc.message, exc.code)
            r.bad = True
        if r.bad:
            continue
        if old is None:
            plan.ops.append(RowOp(r.row, r.code, CREATE, person))
            continue
        changed = [f for f in PERSON_FIELD_COLUMNS if getattr(person, f) != getattr(old, f)]
        plan.ops.append(RowOp(r.row, r.code, UPDATE if changed else UNCHANGED, person, old=old,
                              changed=changed, before=audit.snapshot(old, PERSON_AUDIT_FIELDS)))
    return plan.seal()


# --- applying ---------------------------------------------------------------------------------
def apply_plan(user, plan: ImportPlan, *, progress=None) -> dict:
    """Write a plan in one transaction, after planning its rows again; return the counts.

    Writes nothing and raises :class:`DomainError` when the rows now have problems or would do
    anything other than what ``plan`` (the preview) said: a stale plan is refused, never half-applied.
    """
    if plan.problems:
        raise DomainError(_("The file has problems; nothing was imported."), "invalid", plan.problems)
    planner, writer = ((plan_units, _write_units) if plan.kind == ImportBatch.Kind.UNITS
                       else (plan_people, _write_people))
    with transaction.atomic():
        fresh = planner(user, plan.sheet, lock=True)
        if fresh.problems:
            raise DomainError(_("The file has problems; nothing was imported."), "invalid",
                              fresh.problems[:MAX_STORED_PROBLEMS])
        if fresh.fingerprint != plan.fingerprint:
            raise DomainError(_("The data changed after the preview, so nothing was imported. Check the "
                                "file again and confirm the new preview."), "stale")
        writer(user, fresh, progress)
    return fresh.counts


def _write_units(user, plan: ImportPlan, progress):
    now = timezone.now()
    ops = plan.ops
    total = len(ops)
    updated = [op for op in ops if op.action == UPDATE and op.changed]
    if updated:
        for op in updated:
            op.obj.refresh_search_key()
            op.obj.updated_at = now
        fields = [*sorted({f for op in updated for f in op.changed}), "name_search", "updated_at"]
        Unit.objects.bulk_update([op.obj for op in updated], fields, batch_size=500)
    if progress:
        progress(len(updated), total, _WRITING, force=True)

    # Place new and moved units level by level, so every parent has its final path first.
    ids = dict(plan.known_ids)
    placed = [op for op in ops if op.action == CREATE or op.move]
    for rank in sorted({op.rank for op in placed}):
        level = [op for op in placed if op.rank == rank]
        parents = {}
        for chunk in _chunks(sorted({ids[op.parent_code] for op in level if op.parent_code})):
            parents.update({pk: (path, depth) for pk, path, depth
                            in Unit.objects.filter(pk__in=chunk).values_list("pk", "path", "depth")})
        new = [op.obj for op in level if op.action == CREATE]
        for op in level:
            if op.action == CREATE:
                op.obj.parent_id = ids[op.parent_code] if op.parent_code else None
                op.obj.path = "~" + op.obj.code  # unique until the id is known; the path is the id chain
                op.obj.refresh_search_key()
        Unit.objects.bulk_create(new, batch_size=1000)
        siblings = defaultdict(list)
        for unit in new:
            parent_path, parent_depth = parents.get(unit.parent_id, ("", -1))
            unit.path = parent_path + path_segment(unit.pk)
            unit.depth = parent_depth + 1
            ids[unit.code] = unit.pk
            siblings[unit.parent_id].append(unit.pk)
        # One UPDATE per parent computes the paths in SQL: path = parent's path + the padded id.
        for parent_id, pks in siblings.items():
            parent_path, parent_depth = parents.get(parent_id, ("", -1))
            for chunk in _chunks(pks):
                Unit.objects.filter(pk__in=chunk).update(
                    path=Concat(Value(parent_path, output_field=CharField()), _padded_id()),
                    depth=parent_depth + 1,
                )
        for op in level:
            if op.move:
                unit = Unit.objects.get(pk=op.obj.pk)
                services.move_subtree(unit, Unit.objects.get(pk=ids[op.parent_code]))
                op.obj.parent_id, op.obj.path, op.obj.depth = unit.parent_id, unit.path, unit.depth
        if progress:
            progress(len(updated) + sum(1 for op in placed if op.rank <= rank), total, _WRITING, force=True)
    if any(op.move for op in placed):
        # A move rewrote the paths below it; the audit entries name each unit's final place.
        current = {}
        for chunk in _chunks([op.obj.pk for op in ops]):
            current.update(Unit.objects.filter(pk__in=chunk).values_list("pk", "path"))
        for op in ops:
            op.obj.path = current[op.obj.pk]

    entries = []
    for op in ops:
        if op.action == CREATE:
            entries.append(audit.build(user, "unit.created", **_audit_target(op.obj, op.obj.path),
                                       after=audit.snapshot(op.obj, UNIT_AUDIT_FIELDS)))
        elif op.action == UPDATE:
            before, after = audit.changed(op.before, audit.snapshot(op.obj, UNIT_AUDIT_FIELDS))
            entries.append(audit.build(user, "unit.updated" if op.changed else "unit.moved",
                                       **_audit_target(op.obj, op.obj.path), before=before, after=after))
    AuditEntry.objects.bulk_create(entries, batch_size=1000)


def _padded_id():
    """The id as a path segment (models.path_segment), in SQL."""
    return LPad(Cast("id", output_field=CharField()), PATH_STEP, Value("0"))


def _write_people(user, plan: ImportPlan, progress):
    now = timezone.now()
    new = [op.obj for op in plan.ops if op.action == CREATE]
    for person in new:
        person.refresh_search_key()
    Person.objects.bulk_create(new, batch_size=1000)
    updated = [op for op in plan.ops if op.action == UPDATE]
    if updated:
        for op in updated:
            op.obj.refresh_search_key()
            op.obj.updated_at = now
        fields = [*sorted({f for op in updated for f in op.changed}), "name_search", "updated_at"]
        Person.objects.bulk_update([op.obj for op in updated], fields, batch_size=500)
    if progress:
        progress(len(plan.ops), len(plan.ops), _WRITING, force=True)
    entries = []
    for op in plan.ops:
        if op.action == CREATE:
            entries.append(audit.build(user, "person.created", **_audit_target(op.obj, op.obj.unit.path),
                                       after=audit.snapshot(op.obj, PERSON_AUDIT_FIELDS)))
        elif op.action == UPDATE:
            before, after = audit.changed(op.before, audit.snapshot(op.obj, PERSON_AUDIT_FIELDS))
            entries.append(audit.build(user, "person.updated", **_audit_target(op.obj, op.obj.unit.path),
                                       before=before, after=after))
    AuditEntry.objects.bulk_create(entries, batch_size=1000)


def _audit_target(obj, unit_path: str) -> dict:
    return {"object_type": obj._meta.label_lower, "object_id": str(obj.pk), "object_repr": str(obj)[:300],
            "unit_path": unit_path}


# --- batches: upload, preview, confirm ------------------------------------------------------------
def import_kinds(user) -> list[str]:
    """What the user may import: units where they change the tree, people where they change people."""
    scope = _scope(user)
    if scope is None:
        return list(ImportBatch.Kind.values)
    kinds = []
    if scope.write_paths:
        kinds.append(ImportBatch.Kind.UNITS)
    if scope.people_write_paths:
        kinds.append(ImportBatch.Kind.PEOPLE)
    return kinds


def too_large(size: int, limit: int | None = None) -> DomainError:
    """The error for an upload over the limit (the same words as ``core.excel.read_table``)."""
    limit = settings.IMPORT_MAX_BYTES if limit is None else limit
    return DomainError(_("The file is %(size).1f MB; the limit is %(limit).1f MB.")
                       % {"size": size / 1e6, "limit": limit / 1e6}, "too_large")


def read_sheet(kind: str, data: bytes, filename: str) -> Sheet:
    """Read an upload with the columns of ``kind``; a missing column is a problem of the header row."""
    try:
        sheet = read_table(data, filename, COLUMNS[kind], max_bytes=settings.IMPORT_MAX_BYTES)
    except DomainError as exc:
        if exc.code == "missing_columns":
            exc.details = [
                {"row": d["row"], "column": d["message"], "problem": _("This required column is missing."),
                 "code": "missing_column",
                 "message": _("Row %(row)d: the required column “%(col)s” is missing.")
                 % {"row": d["row"], "col": d["message"]}}
                for d in exc.details
            ]
        raise
    if not sheet.rows:
        raise DomainError(_("There are no rows under the header (row %(row)d).") % {"row": sheet.header_row},
                          "no_rows")
    return sheet


def start_import(user, kind: str, upload) -> ImportBatch:
    """Keep an uploaded file (``name``, ``size``, ``chunks()``) as a batch and preview it.

    The size is checked before the file is read; small files are previewed at once, larger ones
    by a background job.
    """
    if kind not in ImportBatch.Kind.values:
        raise DomainError(_("Choose what the file contains: units or people."), "bad_kind")
    if kind not in import_kinds(user):
        raise ScopeError()
    limit = settings.IMPORT_MAX_BYTES
    if upload.size > limit:
        raise too_large(upload.size, limit)
    data = b"".join(upload.chunks())
    if len(data) > limit:  # the declared size can lie
        raise too_large(len(data), limit)
    if not data:
        raise DomainError(_("The file is empty."), "empty_file")
    # A workbook that would unpack to too much, or declares a huge sheet, is refused before it is kept;
    # a damaged one is kept and previewed as invalid, like any other unusable file.
    unpacked = check_upload(data, upload.name or "")
    batch = ImportBatch.objects.create(
        owner=user, kind=kind, filename=(upload.name or "")[-255:], size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), content=data,
    )
    _preview_now_or_later(batch, user, unpacked)
    batch.refresh_from_db()
    return batch


def recheck_batch(user, batch: ImportBatch) -> ImportBatch:
    """Preview a batch again, e.g. after the data changed under a previewed file."""
    _require_owner(user, batch)
    updated = ImportBatch.objects.filter(
        pk=batch.pk, status__in=[ImportBatch.Status.READY, ImportBatch.Status.INVALID, ImportBatch.Status.FAILED],
    ).update(status=ImportBatch.Status.PENDING, result={})
    if updated:
        _preview_now_or_later(batch, user)
    batch.refresh_from_db()
    return batch


def _preview_now_or_later(batch: ImportBatch, user, unpacked: int | None = None):
    if unpacked is None:
        unpacked = uncompressed_size(bytes(batch.content), batch.filename)
    if reads_inline(batch.size, unpacked, SYNC_PREVIEW_BYTES):
        preview_batch(batch.pk)
        return
    with transaction.atomic():
        job = jobs.enqueue("orgs.import_preview", owner=user, batch_id=batch.pk,
                           language=translation.get_language())
        ImportBatch.objects.filter(pk=batch.pk).update(job=job)


def preview_batch(batch_id: int, progress=None) -> ImportBatch:
    """Read and plan a batch and record what importing it would do; writes nothing else."""
    batch = ImportBatch.objects.select_related("owner").get(pk=batch_id)
    fingerprint = ""
    try:
        sheet = read_sheet(batch.kind, bytes(batch.content), batch.filename)
        planner = plan_units if batch.kind == ImportBatch.Kind.UNITS else plan_people
        plan = planner(batch.owner, sheet, progress=progress)
    except DomainError as exc:
        summary = {"kind": batch.kind, "error": exc.message, "code": exc.code, "counts": dict.fromkeys(ACTIONS, 0),
                   "problems": exc.details[:MAX_STORED_PROBLEMS], "problems_total": len(exc.details)}
        status = ImportBatch.Status.INVALID
    else:
        summary = plan.summary()
        summary["unpacked"] = uncompressed_size(bytes(batch.content), batch.filename)
        status = ImportBatch.Status.INVALID if plan.problems else ImportBatch.Status.READY
        fingerprint = plan.fingerprint
    ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PENDING).update(
        status=status, summary=summary, fingerprint=fingerprint)
    batch.refresh_from_db()
    return batch


def confirm_batch(user, batch: ImportBatch) -> ImportBatch:
    """Apply a previewed batch once: confirming it again (double click, retry) changes nothing."""
    _require_owner(user, batch)
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().defer("content").get(pk=batch.pk)
        if locked.status in (ImportBatch.Status.APPLYING, ImportBatch.Status.APPLIED):
            return locked
        if locked.status != ImportBatch.Status.READY:
            raise DomainError(_("This file cannot be imported: %(status)s.")
                              % {"status": locked.get_status_display()}, "not_ready")
        if locked.summary.get("rows", 0) > SYNC_APPLY_ROWS or not reads_inline(
                locked.size, locked.summary.get("unpacked", 0), SYNC_PREVIEW_BYTES):
            job = jobs.enqueue("orgs.import_apply", owner=user, batch_id=locked.pk,
                               language=translation.get_language())
            locked.status, locked.job = ImportBatch.Status.APPLYING, job
            locked.save(update_fields=["status", "job"])
            return locked
    return apply_batch(batch.pk)


def apply_batch(batch_id: int, progress=None) -> ImportBatch:
    """Apply a batch all or nothing; a refusal is recorded on the batch and raised."""
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().select_related("owner").get(pk=batch_id)
            if batch.status == ImportBatch.Status.APPLIED:
                return batch
            if batch.status not in (ImportBatch.Status.READY, ImportBatch.Status.APPLYING):
                raise DomainError(_("This file cannot be imported: %(status)s.")
                                  % {"status": batch.get_status_display()}, "not_ready")
            sheet = read_sheet(batch.kind, bytes(batch.content), batch.filename)
            # The preview's promise: apply_plan plans again and must arrive at the same digest.
            promised = ImportPlan(batch.kind, sheet, fingerprint=batch.fingerprint)
            counts = apply_plan(batch.owner, promised, progress=progress)
            batch.status, batch.applied_at = ImportBatch.Status.APPLIED, timezone.now()
            batch.result = {"counts": counts}
            batch.save(update_fields=["status", "applied_at", "result"])
            scope = _scope(batch.owner)
            audit.record(batch.owner, "import.applied", batch,
                         unit_path=(scope.write_paths or scope.people_write_paths or [""])[0] if scope else "",
                         after={"kind": batch.kind, "filename": batch.filename, "sha256": batch.sha256, **counts})
        return batch
    except DomainError as exc:
        # The transaction rolled back, so nothing was written; record why on the batch.
        ImportBatch.objects.filter(
            pk=batch_id, status__in=[ImportBatch.Status.READY, ImportBatch.Status.APPLYING],
        ).update(status=ImportBatch.Status.FAILED,
                 result={"error": exc.message, "code": exc.code, "problems": exc.details[:MAX_STORED_PROBLEMS]})
        raise


def _require_owner(user, batch: ImportBatch):
    if user is not SYSTEM and batch.owner_id != getattr(user, "pk", None):
        raise ScopeError()


# --- exports and templates --------------------------------------------------------------------
EXPORT_MAX_ROWS = 100_000


def _heading(unit: Unit | None, title: str) -> list[str]:
    """The administrative heading: the unit, the title, the date (dd/mm/yyyy)."""
    lines = [unit.name.upper()] if unit is not None else []
    lines += [title, _("Date: %(date)s") % {"date": timezone.localdate().strftime("%d/%m/%Y")}]
    return lines


def _widths(kind: str) -> list[int]:
    return [max(12, min(40, len(c.label) + 6)) if c.key not in ("name", "full_name", "address") else 40
            for c in COLUMNS[kind]]


def export_units(user, unit: Unit) -> bytes:
    """The units of ``unit``'s subtree that the user may see, in the import's column layout."""
    qs = scope_for(user).filter(services.subtree(unit)).annotate(parent_code=F("parent__code")).order_by("path")
    if qs.count() > EXPORT_MAX_ROWS:
        raise DomainError(_("The list has more than %(n)d rows: export a smaller part of the tree.")
                          % {"n": EXPORT_MAX_ROWS}, "too_many_rows")
    keys = [c.key for c in UNIT_COLUMNS]
    rows = ([cells[k] for k in keys] for cells in (unit_cells(u, u.parent_code) for u in qs.iterator(2000)))
    return build_workbook(_("Units"), headers(ImportBatch.Kind.UNITS), rows,
                          heading=_heading(unit, _("LIST OF UNITS")), widths=_widths(ImportBatch.Kind.UNITS))


def export_people(user, unit: Unit, q: str = "", category: str = "") -> bytes:
    """The people of ``unit``'s subtree matching the list's filters, in the import's column layout.

    Only those who may see the people's contacts there export the list (organisers of the subtree,
    the head of the institution); each export is written to the audit log with its row count.
    """
    if not services.can_see_contacts(user, unit):
        raise ScopeError(_("Only the organisers of this unit and the head of the institution may export "
                           "its list of people."), "export_not_allowed")
    qs = services.search_people(user, q, within=unit).select_related("unit")
    if category in Person.Category.values:
        qs = qs.filter(category=category)
    qs = qs.order_by("unit__path", "category", "full_name")
    total = qs.count()
    if total > EXPORT_MAX_ROWS:
        raise DomainError(_("The list has more than %(n)d rows: export a smaller part of the tree.")
                          % {"n": EXPORT_MAX_ROWS}, "too_many_rows")
    keys = [c.key for c in PEOPLE_COLUMNS]
    rows = ([cells[k] for k in keys] for cells in (person_cells(p, p.unit.code) for p in qs.iterator(2000)))
    content = build_workbook(_("People"), headers(ImportBatch.Kind.PEOPLE), rows,
                             heading=_heading(unit, _("LIST OF MANAGERS, TEACHERS AND STAFF")),
                             widths=_widths(ImportBatch.Kind.PEOPLE))
    filters = {k: v for k, v in (("q", q), ("category", category)) if v}
    services.record_personal_export(user, "orgs.people", unit, rows=total, filters=filters, contacts=True)
    return content


def template_workbook(user, kind: str) -> bytes:
    """An empty sheet of ``kind`` to fill in: the headers and one example row."""
    scope = _scope(user)
    root = scope.roots("write" if kind == ImportBatch.Kind.UNITS else "people").order_by("depth").first() \
        if scope is not None else None
    above = root.code if root is not None else "PGD_BAVI"
    if kind == ImportBatch.Kind.UNITS:
        example = Unit(code="TH_VIDU_01", name="Trường Tiểu học Ví Dụ", kind=Unit.Kind.INSTITUTION,
                       short_name="TH Ví Dụ", levels=EducationLevel.PRIMARY, commune="Xã Tây Đằng",
                       address="Thôn 1, xã Tây Đằng", latitude=decimal.Decimal("21.200000"),
                       longitude=decimal.Decimal("105.420000"), managers_count=3, teachers_count=30,
                       staff_count=5)
        cells = unit_cells(example, above)
        title = _("LIST OF UNITS")
    else:
        example = Person(code="GV0001", full_name="Nguyễn Thị Hoa", category=Person.Category.TEACHER,
                         position="Giáo viên chủ nhiệm", phone="0912345678", email="hoa.nt@example.edu.vn")
        cells = person_cells(example, above)
        title = _("LIST OF MANAGERS, TEACHERS AND STAFF")
    heading = [title, _("Columns marked * are required. The row under the header is an example: replace "
                        "it with your data or delete it.")]
    return build_workbook(title, headers(kind), [[cells[c.key] for c in COLUMNS[kind]]], heading=heading,
                          widths=_widths(kind))


def problems_workbook(batch: ImportBatch) -> bytes:
    """The problems a batch's preview (or its refused application) found, by row and column."""
    problems = batch.summary.get("problems") or batch.result.get("problems") or []
    rows = ([p.get("row"), p.get("column", ""), p.get("problem") or p.get("message", "")] for p in problems)
    return build_workbook(_("Problems"), [_("Row"), _("Column"), _("Problem")], rows,
                          heading=[batch.filename], widths=[8, 30, 90])
