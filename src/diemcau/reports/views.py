"""The official documents' pages: each document as a page to print, a PDF (``…/pdf/``) and an .xlsx.

Thin: the domain apps compute the figures (scoped to the user), the modules here write them as a
document; a conference, session or unit outside the user's scope is a 404.
"""

import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from diemcau.core.errors import ScopeError
from diemcau.core.excel import xlsx_response
from diemcau.events.access import visible_conferences
from diemcau.events.models import Conference, Session
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import scope_for
from diemcau.voice import stored as voice_stored

from . import attendance, official_list, policy_summary
from .document import DEFAULT_PLACE, OfficialDocument, parse_day
from .pdf import pdf_response, render_pdf


def _conference(request, cid) -> Conference:
    return get_object_or_404(visible_conferences(request.user), pk=cid)


def _session(request, sid) -> Session:
    session = get_object_or_404(Session.objects.select_related("conference__host_unit"), pk=sid)
    _conference(request, session.conference_id)
    return session


def _place_day(request, place: str, day: datetime.date) -> tuple[str, datetime.date]:
    """The place and date the user typed on the page (?place=, ?date=), else the document's own."""
    typed = request.GET.get("place", "").strip()[:100]
    return typed or place or DEFAULT_PLACE, parse_day(request.GET.get("date", "")) or day


def _document(request, doc: OfficialDocument, template: str, context: dict, *, fmt: str, xlsx, pdf_url: str,
              xlsx_url: str, keep: dict, trail=()):
    """Answer with the page to print, the PDF, or the .xlsx (``xlsx`` builds it) of one document."""
    context = {**context, "doc": doc}
    if fmt == "pdf":
        return pdf_response(render_pdf(template, context), f"{doc.filename}.pdf")
    if fmt == "xlsx":
        return xlsx_response(xlsx(), f"{doc.filename}.xlsx")
    query = urlencode({**keep, "place": doc.place, "date": doc.day.strftime("%d/%m/%Y")})
    return render(request, "reports/page.html", {
        **context, "document_template": template, "page_title": f"{doc.kind.capitalize()} {doc.title.lower()}",
        "pdf_url": f"{pdf_url}?{query}", "xlsx_url": f"{xlsx_url}{'&' if '?' in xlsx_url else '?'}{query}",
        "keep": list(keep.items()), "trail": trail})


# --- the attendance report ---------------------------------------------------------------------
def _attendance(request, sid, uid, fmt):
    session = _session(request, sid)
    unit = get_object_or_404(scope_for(request.user).units(), pk=uid)
    typed_day = parse_day(request.GET.get("date", ""))
    doc, r = attendance.attendance_report(session, unit, place=request.GET.get("place", "").strip()[:100],
                                          day=typed_day)
    return _document(
        request, doc, attendance.TEMPLATE, {"r": r, "session": session, "conference": session.conference},
        fmt=fmt, xlsx=lambda: attendance.attendance_workbook(doc, r),
        pdf_url=reverse("reports:attendance-report-pdf", args=[sid, uid]),
        xlsx_url=reverse("reports:attendance-report-xlsx", args=[sid, uid]), keep={},
        trail=[(reverse("events:session", args=[sid]), session.title),
               (reverse("attendance:board", args=[sid, uid]), unit.name)])


@login_required
def attendance_report(request, sid, uid):
    """A unit's attendance report in the administrative style, to print and sign."""
    return _attendance(request, sid, uid, "page")


@login_required
def attendance_report_pdf(request, sid, uid):
    return _attendance(request, sid, uid, "pdf")


@login_required
def attendance_report_xlsx(request, sid, uid):
    return _attendance(request, sid, uid, "xlsx")


# --- the official list of bridge points -------------------------------------------------------
def _official_list(request, cid, fmt):
    conf = _conference(request, cid)
    scope = scope_for(request.user)
    unit = None
    raw = request.GET.get("unit", "")
    if raw.isdigit():
        unit = get_object_or_404(scope.units("read"), pk=int(raw))
    elif not scope.reads_everything:
        unit = scope.roots("read").order_by("depth").first()
    # Lists go out before the day; once the day has passed, the conference's date is the one to print.
    place, day = _place_day(request, conf.place, min(timezone.localdate(), conf.date))
    doc, blocks = official_list.official_list(request.user, conf, unit, place, day)
    page = reverse("reports:official-list", args=[cid])
    return _document(
        request, doc, official_list.TEMPLATE, {"blocks": blocks, "conference": conf, "unit": unit},
        fmt=fmt, xlsx=lambda: official_list.official_list_workbook(request.user, conf, unit, place, day),
        pdf_url=reverse("reports:official-list-pdf", args=[cid]), xlsx_url=f"{page}?format=xlsx",
        keep={"unit": unit.pk} if unit else {}, trail=[(reverse("events:conference", args=[cid]), conf.title)])


@login_required
def official_list_page(request, cid):
    """The list of points with their institutions, contacts and seat use: a page to print, or ?format=xlsx."""
    return _official_list(request, cid, "xlsx" if request.GET.get("format") == "xlsx" else "page")


@login_required
def official_list_pdf(request, cid):
    return _official_list(request, cid, "pdf")


# --- the summary for policy -------------------------------------------------------------------
def _summary(request, cid, fmt):
    conference = get_object_or_404(Conference, pk=cid)
    raw = request.GET.get("unit", "")
    unit = get_object_or_404(Unit, pk=int(raw)) if raw.isdigit() else None
    try:
        # The stored summary (recomputed in the background as items and votes arrive), as on its page.
        snapshot = voice_stored.summary_for(request.user, conference, unit)
    except ScopeError:
        raise Http404 from None  # as if the conference did not exist
    if snapshot.data is None:
        return render(request, "reports/summary_pending.html",
                      {"conference": conference, "unit": snapshot.unit, "snapshot": snapshot}, status=202)
    s = voice_stored.page_data(snapshot)
    unit = s["unit"]
    place, day = _place_day(request, conference.place, s["generated_at"].date())
    doc = policy_summary.summary_document(s, unit, place, day)
    page = reverse("reports:summary-print", args=[cid])
    run = s["groups"]
    after = policy_summary.after_the_day(conference, unit)
    return _document(
        request, doc, policy_summary.TEMPLATE,
        {"s": s, "conference": conference, "unit": unit, "groups": policy_summary.group_rows(s),
         "result": run.result if run and run.result else None, "after": after},
        fmt=fmt, xlsx=lambda: policy_summary.summary_workbook(
            doc, s, after, site=request.build_absolute_uri("/").rstrip("/")),
        pdf_url=reverse("reports:summary-pdf", args=[cid]), xlsx_url=f"{page}?format=xlsx",
        keep={"unit": unit.pk}, trail=[(f"{reverse('voice:summary', args=[cid])}?unit={unit.pk}",
                                        conference.title)])


@login_required
def summary_page(request, cid):
    """The summary for policy as a document to print, or ?format=xlsx."""
    return _summary(request, cid, "xlsx" if request.GET.get("format") == "xlsx" else "page")


@login_required
def summary_pdf(request, cid):
    return _summary(request, cid, "pdf")
