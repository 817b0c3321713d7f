"""Importing the official assignment list (danh sách phân công): which institution goes where.

The same flow as the organisation imports (``orgs.importing``):

1. :func:`start_import` keeps the upload as an :class:`AssignmentImport` and previews it, within the
   request for a small file and by a job (``points.import_preview``) otherwise (:func:`preview_import`):
   every row is read, matched (institution by code, point by number or name) and checked with the
   same rules as assignment by hand (``assignment.check_changes``); every problem keeps its row and column.
   Nothing is written but the batch's summary.
2. :func:`confirm_import` applies a batch once (a big one by a job, ``points.import_apply``);
   :func:`apply_import` plans the same rows again inside one transaction, refuses if anything
   differs from the preview, then writes all rows or none (``assignment.apply_changes``).

Institutions missing from the file keep their point. The columns are Vietnamese whatever the
interface language (officials exchange these sheets); the official list exported by
``diemcau.reports.official_list.official_list_workbook`` is itself a valid assignment list.
"""

import hashlib
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core import audit, staging, tasks
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.excel import (
    Column,
    Sheet,
    build_workbook,
    check_upload,
    read_table,
    reads_inline,
    too_large,
    uncompressed_size,
)
from diemcau.core.vntext import fold
from diemcau.events.models import Session
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import SYSTEM, require_scope

from . import access, assignment, planning
from .models import Assignment, AssignmentImport, BridgePoint

COLUMNS = [
    Column("institution_code", "Mã đơn vị", ("ma dv", "ma truong", "ma co so", "institution code", "unit code",
                                             "code"), required=True),
    Column("institution_name", "Đơn vị được phân công", ("ten don vi", "ten truong", "don vi", "truong",
                                                         "assigned institution", "institution")),
    Column("point", "Điểm cầu", ("ten diem cau", "diem cau duoc phan cong", "bridge point", "point")),
    Column("point_id", "Mã điểm cầu", ("so diem cau", "point number", "point id")),
    Column("session", "Phiên", ("phien hop", "buoi", "session")),
]
CREATE, MOVE, UNCHANGED = "create", "move", "unchanged"
MAX_STORED_PROBLEMS = 2000
SAMPLE_ROWS = 30
# Progress messages of a job (lazy: translated when reported, not once per row).
_CHECKING = gettext_lazy("Checking rows…")
_COMPARING = gettext_lazy("Comparing with the database…")
_WRITING = gettext_lazy("Writing…")


@dataclass
class ImportPlan:
    """Every row checked and classed; nothing written."""

    sheet: Sheet
    changes: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    skipped_other_session: int = 0

    def column_text(self, key: str) -> str:
        label = next((c.label for c in COLUMNS if c.key == key), key)
        letter = self.sheet.column_letters.get(key)
        return f"{letter} ({label})" if letter else label

    def add_problem(self, row: int | None, key: str, problem: str, code: str):
        column = self.column_text(key) if key else ""
        if row and column:
            message = _("Row %(row)d, column %(col)s: %(problem)s") % {"row": row, "col": column, "problem": problem}
        elif row:
            message = _("Row %(row)d: %(problem)s") % {"row": row, "problem": problem}
        else:
            message = str(problem)
        self.problems.append({"row": row, "column": column, "problem": str(problem), "message": message,
                              "code": code})

    @property
    def fingerprint(self) -> str:
        data = json.dumps(sorted((c.institution.pk, c.point.pk) for c in self.changes))
        return hashlib.sha256(data.encode()).hexdigest()

    def counts(self) -> dict:
        counts = {CREATE: 0, MOVE: 0, UNCHANGED: 0}
        for action in self.actions:
            counts[action] += 1
        return counts

    def summary(self, session: Session, unit: Unit) -> dict:
        samples = []
        for c, action in zip(self.changes, self.actions, strict=True):
            if action != UNCHANGED and len(samples) < SAMPLE_ROWS:
                samples.append({"row": c.row, "code": c.institution.code, "name": c.institution.name,
                                "point": c.point.name, "action": action})
        named = {c.institution.pk for c in self.changes}
        left = planning.planning_institutions(session, unit).exclude(pk__in=named)
        self.problems.sort(key=lambda p: p["row"] or 0)
        return {"rows": len(self.sheet.rows), "header_row": self.sheet.header_row, "counts": self.counts(),
                "samples": samples, "problems": self.problems[:MAX_STORED_PROBLEMS],
                "problems_total": len(self.problems), "other_session": self.skipped_other_session,
                "not_in_file": left.count(),
                "not_in_file_unassigned": left.exclude(point_assignments__session=session).count()}


def read_sheet(data: bytes, filename: str) -> Sheet:
    sheet = read_table(data, filename, COLUMNS, max_bytes=settings.IMPORT_MAX_BYTES)
    if "point" not in sheet.columns and "point_id" not in sheet.columns:
        raise DomainError(_("The file needs a column “Điểm cầu” (the point's name) or “Mã điểm cầu” (its "
                            "number)."), "missing_columns")
    if not sheet.rows:
        raise DomainError(_("There are no rows under the header (row %(row)d).") % {"row": sheet.header_row},
                          "no_rows")
    return sheet


def plan_import(user, session: Session, unit: Unit, sheet: Sheet, progress=None) -> ImportPlan:
    """Match and check every row of an assignment list for ``session`` within ``unit``'s subtree.

    ``progress(done, total, message)``, when given (a job's), hears of each row.
    """
    plan = ImportPlan(sheet)
    codes = {v["institution_code"].strip() for _row, v in sheet.rows if v.get("institution_code")}
    units = {u.code: u for u in Unit.objects.filter(code__in=codes)}
    points = list(access.points_in_scope(user, session.conference, mode="write"))
    by_id = {p.pk: p for p in points}
    by_name = {}
    for p in points:
        for key in {fold(p.name), fold(f"{p.hall.unit.name} · {p.hall.name}")}:
            by_name.setdefault(key, []).append(p)
    session_key = fold(session.title)
    total = len(sheet.rows)
    for done, (row, values) in enumerate(sheet.rows):
        if progress:
            progress(done, total, _CHECKING)
        code = values.get("institution_code", "").strip()
        point_text = values.get("point", "").strip()
        point_id = values.get("point_id", "").strip()
        if not code:
            if values.get("institution_name", "").strip():
                plan.add_problem(row, "institution_code", _("The institution's code is missing."), "required")
            continue  # a point listed without institutions (as in the official list)
        if values.get("session", "").strip() and fold(values["session"]) != session_key:
            plan.skipped_other_session += 1
            continue
        inst = units.get(code)
        if inst is None:
            plan.add_problem(row, "institution_code", _("No institution has the code %(code)s.") % {"code": code},
                             "unknown_institution")
            continue
        if not inst.is_within(unit):
            plan.add_problem(row, "institution_code", _("%(inst)s is not under %(unit)s.")
                             % {"inst": inst.name, "unit": unit.name}, "out_of_scope")
            continue
        key = "point_id" if point_id else "point"
        point = _match_point(plan, row, point_id, point_text, by_id, by_name)
        if point is not None:
            plan.changes.append(assignment.Change(inst, point, row=row, column=plan.column_text(key)))
    if progress:
        progress(total, total, _COMPARING, force=True)
    for p in assignment.check_changes(user, session, plan.changes):
        plan.add_problem(p.row, "", p.message, p.code)
        plan.problems[-1]["column"] = p.column
        if p.row and p.column:
            plan.problems[-1]["message"] = _("Row %(row)d, column %(col)s: %(problem)s") % {
                "row": p.row, "col": p.column, "problem": p.message}
    current = dict(Assignment.objects.filter(session=session, institution__in=[c.institution for c in plan.changes])
                   .values_list("institution", "point"))
    for c in plan.changes:
        now = current.get(c.institution.pk)
        plan.actions.append(CREATE if now is None else UNCHANGED if now == c.point.pk else MOVE)
    return plan


def _match_point(plan: ImportPlan, row: int, point_id: str, point_text: str, by_id: dict, by_name: dict):
    """The point a row names by number (column “Mã điểm cầu”) or by name, or None after recording why not."""
    key = "point_id" if point_id else "point"
    if point_id:
        point = by_id.get(int(point_id)) if point_id.isdigit() else None
        if point is None:
            plan.add_problem(row, key, _("No bridge point of yours has the number %(n)s.") % {"n": point_id},
                             "unknown_point")
        return point
    if not point_text:
        plan.add_problem(row, "point", _("The bridge point is missing."), "required")
        return None
    found = by_name.get(fold(point_text), [])
    if len(found) > 1:
        plan.add_problem(row, key, _("Several points are named “%(name)s”; use the column “Mã điểm cầu”.")
                         % {"name": point_text}, "ambiguous_point")
        return None
    if not found:
        plan.add_problem(row, key, _("No bridge point of yours is named “%(name)s”.") % {"name": point_text},
                         "unknown_point")
        return None
    return found[0]


def start_import(user, session: Session, unit: Unit, upload) -> AssignmentImport:
    """Keep an uploaded assignment list and preview it (the size is checked before reading).

    Small files are previewed at once; larger ones by a background job (``core.excel.reads_inline``).
    """
    require_scope(user, unit, "write")
    limit = settings.IMPORT_MAX_BYTES
    if upload.size > limit:
        raise too_large(upload.size, limit)
    data = b"".join(upload.chunks())
    if not data:
        raise DomainError(_("The file is empty."), "empty_file")
    # A workbook that would unpack to too much, or declares a huge sheet, is refused before it is kept.
    unpacked = check_upload(data, upload.name or "")
    batch = AssignmentImport.objects.create(
        session=session, unit=unit, owner=user, filename=(upload.name or "")[-255:], size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), content=data, status=AssignmentImport.Status.PENDING)
    if reads_inline(batch.size, unpacked):
        return preview_import(batch.pk)
    with transaction.atomic():
        job = tasks.enqueue("points.import_preview", owner=user, batch_id=batch.pk,
                           language=translation.get_language())
        AssignmentImport.objects.filter(pk=batch.pk).update(job=job)
    batch.refresh_from_db()
    return batch


def preview_import(batch_id: int, progress=None) -> AssignmentImport:
    """Read and check a kept file; record what importing it would do. Writes only a pending batch."""
    batch = AssignmentImport.objects.select_related("owner", "session", "unit").get(pk=batch_id)
    fingerprint = ""
    try:
        sheet = read_sheet(bytes(batch.content), batch.filename)
        plan = plan_import(batch.owner, batch.session, batch.unit, sheet, progress=progress)
    except DomainError as exc:
        summary = {"error": exc.message, "code": exc.code, "problems": exc.details[:MAX_STORED_PROBLEMS],
                   "problems_total": len(exc.details), "counts": {CREATE: 0, MOVE: 0, UNCHANGED: 0}}
        status = AssignmentImport.Status.INVALID
    else:
        summary = plan.summary(batch.session, batch.unit)
        summary["unpacked"] = uncompressed_size(bytes(batch.content), batch.filename)
        fingerprint = plan.fingerprint
        status = AssignmentImport.Status.INVALID if plan.problems else AssignmentImport.Status.READY
    AssignmentImport.objects.filter(pk=batch_id, status=AssignmentImport.Status.PENDING).update(
        summary=summary, fingerprint=fingerprint, status=status)
    batch.refresh_from_db()
    return batch


def confirm_import(user, batch: AssignmentImport) -> AssignmentImport:
    """Apply a previewed list all-or-nothing, once; confirming it again changes nothing.

    A big list is applied by a background job; the batch says "applying" until it is done.
    """
    if user is not SYSTEM and batch.owner_id != getattr(user, "pk", None):
        raise ScopeError()
    return staging.confirm(
        AssignmentImport, user, batch, job_kind="points.import_apply", apply=apply_import,
        inline=lambda locked: reads_inline(locked.size, locked.summary.get("unpacked", 0)))


def apply_import(batch_id: int, progress=None) -> AssignmentImport:
    """Apply a confirmed list all or nothing, as its owner; a refusal is recorded on the batch and raised.

    Safe to run again (a job delivered twice): a batch already applied is returned as it is.
    """

    def work(batch):
        user = batch.owner  # only the owner confirms (confirm_import)
        sheet = read_sheet(bytes(batch.content), batch.filename)
        plan = plan_import(user, batch.session, batch.unit, sheet, progress=progress)
        if plan.problems or plan.fingerprint != batch.fingerprint:
            raise DomainError(_("The data changed since the preview; check the file again."), "stale_preview",
                              details=plan.problems[:MAX_STORED_PROBLEMS])
        if progress:
            progress(len(sheet.rows), len(sheet.rows), _WRITING, force=True)
        outcome = assignment.apply_changes(user, batch.session, plan.changes, method=Assignment.Method.IMPORT,
                                           action="assignment.imported")
        return {"created": outcome.created, "moved": outcome.moved, "unchanged": outcome.unchanged}

    def recorded(batch):
        audit.record(batch.owner, "import.assignments", batch, unit_path=batch.unit.path,
                     after={"filename": batch.filename, "sha256": batch.sha256, **batch.result})

    return staging.apply(AssignmentImport, batch_id, work, recorded, related=("owner", "session", "unit"),
                         max_problems=MAX_STORED_PROBLEMS)


def template_workbook(user, session: Session, unit: Unit) -> bytes:
    """A list to fill in: every invited institution of ``unit`` with its current point, if any."""
    current = {a.institution_id: a.point for a in Assignment.objects.filter(session=session).select_related("point")}
    rows = []
    for u in planning.planning_institutions(session, unit):
        p = current.get(u.pk)
        rows.append([u.code, u.name, p.name if p else "", p.pk if p else "", session.title])
    points = access.points_in_scope(user, session.conference, mode="write").filter(sessions=session)
    heading = [unit.name.upper(), _("ASSIGNMENT LIST") + " – " + session.title,
               _("Points you can use: %(points)s") % {"points": "; ".join(f"{p.pk} = {p.name}" for p in points)}]
    return build_workbook(_("Assignments"), [c.label for c in COLUMNS], rows, heading=heading,
                          widths=[18, 42, 40, 14, 20])


def point_choices(user, session: Session) -> list[BridgePoint]:
    return list(access.points_in_scope(user, session.conference, mode="write").filter(sessions=session))


# --- road distances ---------------------------------------------------------------------------
DISTANCE_COLUMNS = [
    Column("institution_code", "Mã đơn vị", ("ma dv", "ma truong", "institution code", "code"), required=True),
    Column("hall", "Số hội trường", ("hoi truong", "ma hoi truong", "hall", "hall number"), required=True),
    Column("km", "Khoảng cách (km)", ("khoang cach", "km", "so km", "distance", "distance (km)"), required=True),
]


def import_road_distances(user, unit: Unit, data: bytes, filename: str) -> int:
    """Read a road-distance table (institution code, hall number, km) and store it, all or nothing."""
    from decimal import Decimal, InvalidOperation

    sheet = read_table(data, filename, DISTANCE_COLUMNS, max_bytes=settings.IMPORT_MAX_BYTES)
    halls = {h.pk: h for h in access.halls_in_scope(user, within=unit, mode="write")}
    codes = {v["institution_code"].strip() for _r, v in sheet.rows}
    units = {u.code: u for u in Unit.objects.filter(code__in=codes) if u.is_within(unit)}
    rows, problems = [], []

    def problem(row, key, text, code):
        col = next(c for c in DISTANCE_COLUMNS if c.key == key)
        problems.append({"row": row, "column": col.label, "code": code, "problem": str(text),
                         "message": _("Row %(row)d, column %(col)s: %(problem)s")
                         % {"row": row, "col": f"{sheet.column_letters.get(key, '')} ({col.label})", "problem": text}})

    for row, v in sheet.rows:
        inst = units.get(v["institution_code"].strip())
        hall_text = v["hall"].strip().lstrip("#")
        hall = halls.get(int(hall_text)) if hall_text.isdigit() else None
        try:
            km = Decimal(v["km"].replace(",", "."))
        except InvalidOperation:
            km = None
        if inst is None:
            problem(row, "institution_code", _("No institution under %(unit)s has this code.") % {"unit": unit.name},
                    "unknown_institution")
        if hall is None:
            problem(row, "hall", _("No hall of yours has this number."), "unknown_hall")
        if km is None or km < 0 or km > 5000:
            problem(row, "km", _("The distance must be a number of km between 0 and 5000."), "bad_number")
        if not problems:
            rows.append((hall, inst, km.quantize(Decimal("0.01"))))
    if problems:
        raise DomainError(_("%(n)d problems; nothing was imported. First: %(first)s")
                          % {"n": len(problems), "first": problems[0]["message"]}, problems[0]["code"],
                          details=problems[:MAX_STORED_PROBLEMS])
    return planning.save_road_distances(user, unit, rows)
