"""Imports of units and people from Excel/CSV: upload, preview, confirm, apply.

The flow, for the next developer:

1. :func:`start_import` keeps the upload as an :class:`~diemcau.orgs.models.ImportBatch` (its size
   is checked before a byte is read) and previews it: inline for small files, as a job otherwise.
2. :func:`preview_batch` reads the table (``core.excel.read_table``) and plans it with
   :func:`~diemcau.orgs.import_plan.plan_units` / :func:`~diemcau.orgs.import_plan.plan_people`
   (``import_plan.py``). Only the batch's summary is written.
3. :func:`confirm_batch` applies a batch once however often it is confirmed; :func:`apply_plan`
   plans the same rows again inside one transaction, refuses if anything differs from the preview,
   then writes with bulk statements and one audit entry per created or changed row.

Imports never delete: units and people missing from the file are left as they are. The columns
and the values a sheet may use are in ``columns.py``; exports (``exports.py``) write exactly what
imports read, so export → import changes nothing.
"""

import hashlib
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core import audit, staging, tasks
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.excel import (
    SYNC_READ_BYTES,
    Sheet,
    check_upload,
    read_table,
    reads_inline,
    uncompressed_size,
)
from diemcau.core.excel import too_large as excel_too_large
from diemcau.core.models import AuditEntry
from diemcau.orgs.scoping import SYSTEM

from . import services
from .columns import COLUMNS, PERSON_AUDIT_FIELDS, UNIT_AUDIT_FIELDS
from .import_plan import (
    ACTIONS,
    CREATE,
    MAX_STORED_PROBLEMS,
    UPDATE,
    ImportPlan,
    RowOp,
    actor_scope,
    chunks,
    plan_people,
    plan_units,
)
from .models import PATH_STEP, ImportBatch, Person, Unit, path_segment

# Files up to this size, that unpack to no more than settings.IMPORT_SYNC_UNCOMPRESSED_BYTES, are
# previewed within the request; larger ones by a background job (core.excel.reads_inline).
SYNC_PREVIEW_BYTES = SYNC_READ_BYTES
# Plans up to this many rows are applied within the request; larger ones by a background job.
SYNC_APPLY_ROWS = 3000


_WRITING = gettext_lazy("Writing…")


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


def _save_updated(model, updated: list, now) -> None:
    """Write the changed fields of planned updates (with their search key and time), in batches."""
    if updated:
        for op in updated:
            op.obj.refresh_search_key()
            op.obj.updated_at = now
        fields = [*sorted({f for op in updated for f in op.changed}), "name_search", "updated_at"]
        model.objects.bulk_update([op.obj for op in updated], fields, batch_size=500)


def _write_units(user, plan: ImportPlan, progress):
    now = timezone.now()
    ops = plan.ops
    total = len(ops)
    updated = [op for op in ops if op.action == UPDATE and op.changed]
    _save_updated(Unit, updated, now)
    if progress:
        progress(len(updated), total, _WRITING, force=True)

    # Place new and moved units level by level, so every parent has its final path first.
    ids = dict(plan.known_ids)
    placed = [op for op in ops if op.action == CREATE or op.move]
    for rank in sorted({op.rank for op in placed}):
        _place_level([op for op in placed if op.rank == rank], ids)
        if progress:
            progress(len(updated) + sum(1 for op in placed if op.rank <= rank), total, _WRITING, force=True)
    if any(op.move for op in placed):
        # A move rewrote the paths below it; the audit entries name each unit's final place.
        current = {}
        for chunk in chunks([op.obj.pk for op in ops]):
            current.update(Unit.objects.filter(pk__in=chunk).values_list("pk", "path"))
        for op in ops:
            op.obj.path = current[op.obj.pk]

    AuditEntry.objects.bulk_create(_unit_audit_entries(user, ops), batch_size=1000)


def _place_level(level: list[RowOp], ids: dict[str, int]):
    """Create and move the units of one rank; ``ids`` learns the new units' ids."""
    parents = {}
    for chunk in chunks(sorted({ids[op.parent_code] for op in level if op.parent_code})):
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
        for chunk in chunks(pks):
            Unit.objects.filter(pk__in=chunk).update(
                path=Concat(Value(parent_path, output_field=CharField()), _padded_id()),
                depth=parent_depth + 1,
            )
    for op in level:
        if op.move:
            unit = Unit.objects.get(pk=op.obj.pk)
            services.move_subtree(unit, Unit.objects.get(pk=ids[op.parent_code]))
            op.obj.parent_id, op.obj.path, op.obj.depth = unit.parent_id, unit.path, unit.depth


def _unit_audit_entries(user, ops: list[RowOp]) -> list[AuditEntry]:
    """One audit entry per created, changed or moved unit, naming its final place."""
    entries = []
    for op in ops:
        if op.action == CREATE:
            entries.append(audit.build(user, "unit.created", **_audit_target(op.obj, op.obj.path),
                                       after=audit.snapshot(op.obj, UNIT_AUDIT_FIELDS)))
        elif op.action == UPDATE:
            before, after = audit.changed(op.before, audit.snapshot(op.obj, UNIT_AUDIT_FIELDS))
            entries.append(audit.build(user, "unit.updated" if op.changed else "unit.moved",
                                       **_audit_target(op.obj, op.obj.path), before=before, after=after))
    return entries


def _padded_id():
    """The id as a path segment (models.path_segment), in SQL."""
    return LPad(Cast("id", output_field=CharField()), PATH_STEP, Value("0"))


def _write_people(user, plan: ImportPlan, progress):
    now = timezone.now()
    new = [_new_person(op) for op in plan.ops if op.action == CREATE]
    for person in new:
        person.refresh_search_key()
    Person.objects.bulk_create(new, batch_size=1000)
    updated = _stored_people([op for op in plan.ops if op.action == UPDATE])
    _save_updated(Person, updated, now)
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


def _new_person(op: RowOp) -> Person:
    """The model instance of a planned create (the plan holds values: ``import_plan.PersonValues``)."""
    values = op.obj
    op.obj = Person(code=values.code, full_name=values.full_name, category=values.category,
                    position=values.position, phone=values.phone, email=values.email, unit=values.unit)
    return op.obj


def _stored_people(updates: list[RowOp]) -> list[RowOp]:
    """Planned updates with the stored people as model instances (locked by the plan) and the row's values set."""
    stored = {}
    for chunk in chunks([op.old.pk for op in updates]):
        stored.update(Person.objects.select_related("unit").in_bulk(chunk))
    for op in updates:
        person = stored[op.old.pk]
        op.before = audit.snapshot(person, PERSON_AUDIT_FIELDS)
        values = op.obj
        for name in op.changed:
            if name == "unit_id":
                person.unit = values.unit
            else:
                setattr(person, name, getattr(values, name))
        op.obj = person
    return updates


def _audit_target(obj, unit_path: str) -> dict:
    return {"object_type": obj._meta.label_lower, "object_id": str(obj.pk), "object_repr": str(obj)[:300],
            "unit_path": unit_path}


# --- batches: upload, preview, confirm ------------------------------------------------------------
def import_kinds(user) -> list[str]:
    """What the user may import: units where they change the tree, people where they change people."""
    scope = actor_scope(user)
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
    return excel_too_large(size, settings.IMPORT_MAX_BYTES if limit is None else limit)


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
        job = tasks.enqueue("orgs.import_preview", owner=user, batch_id=batch.pk,
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
    return staging.confirm(
        ImportBatch, user, batch, job_kind="orgs.import_apply", apply=apply_batch,
        inline=lambda locked: locked.summary.get("rows", 0) <= SYNC_APPLY_ROWS and reads_inline(
            locked.size, locked.summary.get("unpacked", 0), SYNC_PREVIEW_BYTES))


def apply_batch(batch_id: int, progress=None) -> ImportBatch:
    """Apply a batch all or nothing; a refusal is recorded on the batch and raised."""

    def work(batch):
        sheet = read_sheet(batch.kind, bytes(batch.content), batch.filename)
        # The preview's promise: apply_plan plans again and must arrive at the same digest.
        promised = ImportPlan(batch.kind, sheet, fingerprint=batch.fingerprint)
        return {"counts": apply_plan(batch.owner, promised, progress=progress)}

    def recorded(batch):
        scope = actor_scope(batch.owner)
        audit.record(batch.owner, "import.applied", batch,
                     unit_path=(scope.write_paths or scope.people_write_paths or [""])[0] if scope else "",
                     after={"kind": batch.kind, "filename": batch.filename, "sha256": batch.sha256,
                            **batch.result["counts"]})

    return staging.apply(ImportBatch, batch_id, work, recorded, max_problems=MAX_STORED_PROBLEMS)


def _require_owner(user, batch: ImportBatch):
    if user is not SYSTEM and batch.owner_id != getattr(user, "pk", None):
        raise ScopeError()
