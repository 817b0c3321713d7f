"""Convocations' pages: issue, read (page, PDF, .docx, .ics), send, remind, forward, confirm, roll-up.

Thin: the rules are ``convocations``' (access, issuing, sending, confirming); the documents are
this app's. A convocation the user does not see is a 404. The confirmation link needs no account:
its signed token is the credential, so it activates the system scope for what it reads and writes.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.convocations import access, confirming, issuing, sending
from diemcau.convocations.models import Confirmation, Convocation, Recipient
from diemcau.core.acting import system_scope
from diemcau.core.errors import DomainError
from diemcau.core.forms import attempt, submit
from diemcau.events.shortcuts import visible_conference
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import scope_for

from . import convocation as document
from .convocation_docx import DOCX_MIME, convocation_docx
from .convocation_mail import ICS_MIME
from .forms import ConvocationForm
from .pdf import pdf_response, render_pdf


def _convocation(request, pk) -> Convocation:
    convocation = get_object_or_404(Convocation.objects.select_related("conference", "issuer"), pk=pk)
    if not access.visible_convocations(request.user, convocation.conference).filter(pk=pk).exists():
        raise Http404
    return convocation


def _recipient(request, convocation: Convocation) -> Recipient | None:
    """``?to=<recipient>``: the version addressed to one unit the user sees (or the issuer's version)."""
    raw = request.GET.get("to", "")
    if not raw.isdigit():
        return None
    recipient = get_object_or_404(convocation.recipients.select_related("unit"), pk=int(raw))
    if not (scope_for(request.user).can_see(recipient.unit) or scope_for(request.user).can_see(convocation.issuer)):
        raise Http404
    return recipient


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


def _own_units(request, conference) -> list[Unit]:
    """The units the user may issue for: the tops of their write scope, not institutions."""
    return [u for u in scope_for(request.user).roots("write").exclude(kind=Unit.Kind.INSTITUTION)
            .order_by("depth", "name")[:20] if access.can_issue(request.user, conference, u)]


@login_required
def conference_convocations(request, cid):
    """A conference's convocations as the user sees them: issued here, received, and the roll-up."""
    conference = visible_conference(request, cid)
    convocations = list(access.visible_convocations(request.user, conference))
    units = _own_units(request, conference)
    issued = {c.issuer_id for c in convocations}
    own = scope_for(request.user).roots("write").values("pk")  # the user's own units, not their subtrees
    received = [r for r in Recipient.objects.filter(convocation__in=convocations, unit__in=own)
                .select_related("unit", "convocation__issuer", "confirmation").order_by("unit__path")
                if access.can_confirm(request.user, r)]
    unit = units[0] if units else (received[0].unit if received else None)
    raw = request.GET.get("unit", "")
    if raw.isdigit():
        unit = get_object_or_404(scope_for(request.user).units("read"), pk=int(raw))
    return render(request, "reports/convocations.html", {
        "conference": conference, "convocations": convocations, "received": received,
        "can_issue": [u for u in units if u.pk not in issued], "issued_units": issued,
        "form": ConvocationForm(initial={"issued_on": min(timezone.localdate(), conference.date),
                                         "place": conference.place}),
        "rollup": confirming.rollup(request.user, conference, unit) if unit else None,
    })


@login_required
@require_POST
def convocation_issue(request, cid):
    conference = visible_conference(request, cid)
    unit = get_object_or_404(scope_for(request.user).units("write"), pk=request.POST.get("unit") or 0)
    form = ConvocationForm(request.POST)
    saved = submit(request, form, lambda d: issuing.issue(request.user, conference, unit, **d),
                   _("The convocation has been issued."))
    if saved is None:
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return redirect("reports:convocations", cid)
    return redirect("reports:convocation", saved.pk)


@login_required
@require_POST
def convocation_forward(request, rid):
    recipient = get_object_or_404(Recipient.objects.select_related("unit", "convocation__conference"), pk=rid)
    _convocation(request, recipient.convocation_id)
    form = ConvocationForm(request.POST)
    saved = submit(request, form, lambda d: issuing.forward(request.user, recipient, **d),
                   _("The convocation has been forwarded to your units."))
    if saved is None:
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return redirect("reports:convocations", recipient.convocation.conference_id)
    return redirect("reports:convocation", saved.pk)


@login_required
def convocation_page(request, pk):
    """One convocation: the document, its e-mails (status, attempts, last error), buttons, the roll-up."""
    convocation = _convocation(request, pk)
    recipient = _recipient(request, convocation)
    can_manage = access.can_issue(request.user, convocation.conference, convocation.issuer)
    context = document.convocation_context(convocation, recipient)
    query = f"?to={recipient.pk}" if recipient else ""
    rows = sending.dispatch_table(convocation) if can_manage else []
    return render(request, "reports/convocation_page.html", {
        **context, "document_template": document.TEMPLATE, "can_manage": can_manage, "rows": rows,
        "failed": sum(1 for r in rows for d in (r["convocation"], r["reminder"]) if d and d.status == "failed"),
        "waiting": sum(1 for r in rows if not r["confirmation"]),
        "pdf_url": reverse("reports:convocation-pdf", args=[pk]) + query,
        "docx_url": reverse("reports:convocation-docx", args=[pk]) + query,
        "ics_url": reverse("reports:convocation-ics", args=[pk]),
        "rollup": confirming.rollup(request.user, convocation.conference, convocation.issuer) if can_manage else None,
        "page_title": f"Giấy mời {convocation.number_line}",
    })


@login_required
def convocation_pdf(request, pk):
    convocation = _convocation(request, pk)
    context = document.convocation_context(convocation, _recipient(request, convocation))
    return pdf_response(render_pdf(document.TEMPLATE, context), f"{context['doc'].filename}.pdf")


@login_required
def convocation_docx_file(request, pk):
    convocation = _convocation(request, pk)
    context = document.convocation_context(convocation, _recipient(request, convocation))
    response = HttpResponse(convocation_docx(context), content_type=DOCX_MIME)
    response["Content-Disposition"] = f'attachment; filename="{context["doc"].filename}.docx"'
    return response


@login_required
def convocation_ics(request, pk):
    convocation = _convocation(request, pk)
    response = HttpResponse(document.calendar(convocation), content_type=ICS_MIME)
    response["Content-Disposition"] = 'attachment; filename="lich-hop.ics"'
    return response


def _action(request, pk, action, success):
    convocation = _convocation(request, pk)
    attempt(request, lambda: action(request.user, convocation, _base_url(request)), success)
    return redirect("reports:convocation", pk)


@login_required
@require_POST
def convocation_send(request, pk):
    return _action(request, pk, sending.send, _("The e-mails are being sent."))


@login_required
@require_POST
def convocation_remind(request, pk):
    return _action(request, pk, sending.remind, _("Reminders are being sent to the units that have not confirmed."))


@login_required
@require_POST
def convocation_resend(request, pk):
    return _action(request, pk, sending.resend_failed, _("The failed e-mails are being sent again."))


@login_required
@require_POST
def recipient_confirm(request, rid):
    """"Đã nhận" on the signed-in page, for a unit the user may act for."""
    recipient = get_object_or_404(Recipient.objects.select_related("unit", "convocation"), pk=rid)
    _convocation(request, recipient.convocation_id)
    if not access.can_confirm(request.user, recipient):
        raise PermissionDenied
    attempt(request, lambda: confirming.confirm(request.user, recipient, via=Confirmation.Via.PAGE),
            _("Receipt confirmed."))
    return redirect("reports:convocations", recipient.convocation.conference_id)


def confirm_link(request, token):
    """The e-mailed link: shows the convocation and a "Đã nhận" button (a POST, so mail scanners that
    open links confirm nothing); no account needed."""
    with system_scope("convocation confirmation link"):
        try:
            recipient = confirming.recipient_for_token(token)
        except DomainError as exc:
            return render(request, "reports/convocation_confirm.html", {"error": exc.message}, status=404)
        confirmation, new = None, False
        if request.method == "POST":
            confirmation, new = confirming.confirm(request.user, recipient, via=Confirmation.Via.LINK)
        else:
            confirmation = Confirmation.objects.filter(recipient=recipient).first()
        return render(request, "reports/convocation_confirm.html", {
            "recipient": recipient, "convocation": recipient.convocation,
            "conference": recipient.convocation.conference, "confirmation": confirmation, "new": new,
            "sessions": document._sessions(recipient.convocation)})
