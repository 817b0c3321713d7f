"""Pages that bring lists into the tree and take them out: import with preview, Excel exports.

Thin: :mod:`diemcau.orgs.importing` (and ``exports``) decides; these pages read the request and show the result.
"""

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from diemcau.core import import_progress
from diemcau.core.errors import DomainError
from diemcau.core.excel import megabytes, xlsx_response
from diemcau.orgs.scoping import scope_for

from . import columns, exports, importing, services
from .models import ImportBatch, Unit

# Room in a request for the form's other fields and the multipart framing around the file.
FORM_OVERHEAD = 64 * 1024


def _visible_unit(request, pk) -> Unit:
    """The unit ``pk`` if the user may see it; 404 otherwise (no hint that it exists)."""
    return get_object_or_404(scope_for(request.user).units(), pk=pk)


def _own_batch(request, pk) -> ImportBatch:
    return get_object_or_404(ImportBatch.objects.defer("content"), pk=pk, owner=request.user)


# --- import -----------------------------------------------------------------------------------
@csrf_exempt  # checked in _receive_upload, after the size limits, so tripping them gets a clear page
@login_required
def import_start(request):
    """Choose units or people and upload a file; the expected columns and templates are shown."""
    kinds = importing.import_kinds(request.user)
    if not kinds:
        raise PermissionDenied
    if request.method == "POST":
        refusal = _upload_refusal(request)
        if refusal:
            return _start_page(request, kinds, error=refusal, status=413)
        return _receive_upload(request, kinds)
    return _start_page(request, kinds)


def _upload_refusal(request) -> str | None:
    """Why an upload is refused before its content is read, if it is."""
    limit = settings.IMPORT_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + FORM_OVERHEAD:
        return importing.too_large(declared, limit).message
    try:
        upload = request.FILES.get("file")
    except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):
        # Django's own limits on a request; the page says what ours is.
        return importing.too_large(max(declared, limit + 1), limit).message
    except (MultiPartParserError, UnreadablePostError):
        return _("The upload could not be read. Please try again.")
    if upload is not None and upload.size > limit:
        return importing.too_large(upload.size, limit).message
    return None


@csrf_protect
def _receive_upload(request, kinds):
    kind = request.POST.get("kind", "")
    upload = request.FILES.get("file")
    if upload is None:
        return _start_page(request, kinds, error=_("Choose a file to upload."), status=400, kind=kind)
    try:
        batch = importing.start_import(request.user, kind, upload)
    except DomainError as exc:
        return _start_page(request, kinds, error=exc.message, status=400, kind=kind)
    return redirect("orgs:import-batch", batch.pk)


def _start_page(request, kinds, *, error=None, status=200, kind=None):
    specs = [{
        "kind": k,
        "title": ImportBatch.Kind(k).label,
        "columns": [{"label": c.label, "required": c.required, "help": columns.COLUMN_HELP.get(c.key, "")}
                    for c in columns.COLUMNS[k]],
    } for k in kinds]
    recent = ImportBatch.objects.filter(owner=request.user).defer("content")[:10]
    unit_id = request.GET.get("unit", "")
    return render(request, "orgs/import_start.html", {
        "specs": specs, "kinds": kinds, "kind": kind or request.GET.get("kind") or kinds[0],
        "error": error, "recent": recent, "limit_text": megabytes(settings.IMPORT_MAX_BYTES),
        "unit_id": unit_id if unit_id.isdigit() else "",
    }, status=status)


@require_GET
@login_required
def import_template(request, kind):
    """An empty sheet with the headers and one example row."""
    if kind not in importing.import_kinds(request.user):
        raise Http404
    name = "mau-nhap-don-vi.xlsx" if kind == ImportBatch.Kind.UNITS else "mau-nhap-nhan-su.xlsx"
    return xlsx_response(exports.template_workbook(request.user, kind), name)


@login_required
def import_batch(request, pk):
    """The preview: what importing the file would create, change and leave, and its problems."""
    batch = _own_batch(request, pk)
    if batch.status == ImportBatch.Status.APPLIED:
        return redirect("orgs:import-result", batch.pk)
    summary = batch.summary or {}
    problems = summary.get("problems") or batch.result.get("problems") or []
    return render(request, "orgs/import_preview.html", {
        "batch": batch,
        "summary": summary,
        "counts": summary.get("counts") or {},
        "samples": summary.get("samples") or {},
        "problems": problems[:200],
        "problems_total": max(summary.get("problems_total") or 0, len(problems)),
        "job": batch.job,
        "can_confirm": batch.status == ImportBatch.Status.READY,
        "nothing_to_do": not (summary.get("counts") or {}).get("create")
        and not (summary.get("counts") or {}).get("update"),
    })


@login_required
def import_status(request, pk):
    """The progress of a batch's job (an htmx fragment); once it ends, the browser goes on."""
    batch = _own_batch(request, pk)
    page = reverse("orgs:import-batch", args=[batch.pk])
    done = reverse("orgs:import-result", args=[batch.pk]) if batch.status == ImportBatch.Status.APPLIED else page
    return import_progress.status_response(request, batch, busy=batch.is_busy, page_url=page, done_url=done,
                                           status_url=reverse("orgs:import-status", args=[batch.pk]))


@require_POST
@login_required
def import_confirm(request, pk):
    """Apply the previewed file; confirming twice applies it once."""
    batch = _own_batch(request, pk)
    return import_progress.confirm_response(
        request, importing.confirm_batch, batch, page_url=reverse("orgs:import-batch", args=[batch.pk]),
        applied=lambda batch: redirect("orgs:import-result", batch.pk))


@require_POST
@login_required
def import_recheck(request, pk):
    """Check the same file again against the data as it is now."""
    batch = importing.recheck_batch(request.user, _own_batch(request, pk))
    return redirect("orgs:import-batch", batch.pk)


@login_required
def import_result(request, pk):
    batch = _own_batch(request, pk)
    if batch.status != ImportBatch.Status.APPLIED:
        return redirect("orgs:import-batch", batch.pk)
    return render(request, "orgs/import_result.html", {
        "batch": batch, "counts": batch.result.get("counts") or {}, "summary": batch.summary or {},
    })


@require_GET
@login_required
def import_problems(request, pk):
    """Every problem of a batch, by row and column, as a spreadsheet to work through."""
    batch = _own_batch(request, pk)
    return xlsx_response(exports.problems_workbook(batch), "loi-nhap-du-lieu.xlsx")


# --- export -----------------------------------------------------------------------------------
@require_GET
@login_required
def unit_export(request, pk):
    """The subtree's units, in the import's columns: export, edit, import back."""
    unit = _visible_unit(request, pk)
    try:
        content = exports.export_units(request.user, unit)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("orgs:unit", unit.pk)
    return xlsx_response(content, f"don-vi-{_file_part(unit.code)}.xlsx")


@require_GET
@login_required
def people_export(request, pk):
    """The people list as filtered on screen (``q``, ``category``), in the import's columns.

    For those who may see the people's contacts only (organisers, the head of the institution).
    """
    unit = _visible_unit(request, pk)
    if not services.can_see_contacts(request.user, unit):
        raise PermissionDenied
    q = request.GET.get("q", "")[:100]
    category = request.GET.get("category", "")
    try:
        content = exports.export_people(request.user, unit, q, category)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("orgs:people", unit.pk)
    return xlsx_response(content, f"nhan-su-{_file_part(unit.code)}.xlsx")


def _file_part(code: str) -> str:
    """A unit code made safe for a download's file name (codes may hold quotes or slashes)."""
    return re.sub(r"[^\w.-]", "_", code)
