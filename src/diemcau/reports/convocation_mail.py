"""A convocation's e-mail to one recipient: the letter, its PDF and .docx, and the calendar invitation.

The text is Vietnamese whatever the sender's interface; the confirmation link ("Đã nhận") carries the
recipient's signed token (``convocations.confirming``). Sending goes through Django's e-mail
(SMTP configured from the environment: ``EMAIL_HOST`` …, see settings).
"""

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import translation

from diemcau.convocations import confirming, sending
from diemcau.convocations.models import Dispatch

from .convocation import TEMPLATE, calendar, convocation_context
from .convocation_docx import DOCX_MIME, convocation_docx
from .pdf import PDF_MIME, render_pdf

ICS_MIME = "text/calendar"


def confirm_url(base_url: str, recipient) -> str:
    path = reverse("reports:convocation-confirm", args=[confirming.token_for(recipient)])
    return base_url.rstrip("/") + path


def _letter(context: dict, reminder: bool) -> tuple[str, str]:
    c, doc = context["convocation"], context["doc"]
    number = f"{c.number or '…'}/{c.symbol}"
    subject = (f"Nhắc xác nhận giấy mời số {number}" if reminder else f"Giấy mời số {number}") + \
        f": {c.conference.title}"
    lines = [f"Kính gửi: {context['unit'].name},", ""]
    if reminder:
        lines.append(f"{c.issuer.name} chưa nhận được xác nhận của đơn vị đối với Giấy mời số {number} "
                     f"ngày {doc.day:%d/%m/%Y}.")
    lines += [f"{c.issuer.name} trân trọng gửi Giấy mời số {number} tham dự {c.conference.title}:"]
    lines += [f"- {s['title']}: từ {s['start']} đến {s['end']} ngày {s['day']}" for s in context["sessions"]]
    lines += ["", "Giấy mời (PDF và Word) cùng lịch họp (.ics) được gửi kèm thư này.",
              "Đề nghị đơn vị bấm vào đường liên kết sau để xác nhận đã nhận giấy mời:",
              context["confirm_url"], "", "Trân trọng.", c.issuer.name]
    return subject, "\n".join(lines)


def message(dispatch: Dispatch, base_url: str, connection=None) -> EmailMessage:
    """The e-mail of one dispatch, with its three attachments."""
    recipient = dispatch.recipient
    convocation = recipient.convocation
    context = convocation_context(convocation, recipient, confirm_url(base_url, recipient))
    with translation.override("vi"):
        subject, body = _letter(context, dispatch.kind == Dispatch.Kind.REMINDER)
        pdf = render_pdf(TEMPLATE, context)
    name = context["doc"].filename
    mail = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL,
                        [a.strip() for a in recipient.email.split(",") if a.strip()], connection=connection)
    mail.attach(f"{name}.pdf", pdf, PDF_MIME)
    mail.attach(f"{name}.docx", convocation_docx(context), DOCX_MIME)
    mail.attach("lich-hop.ics", calendar(convocation, recipient.unit.name), ICS_MIME)
    return mail


def send_dispatches(dispatch_ids, base_url: str, progress=None) -> dict:
    """Send each row still to send; record every attempt. Returns the counts."""
    rows = sending.to_send(dispatch_ids)
    sent = failed = 0
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:  # the server cannot be reached: every row fails, no document is written for nothing
        for dispatch in rows:
            sending.record_attempt(dispatch, f"{type(exc).__name__}: {exc}")
        return {"sent": 0, "failed": len(rows)}
    try:
        for n, dispatch in enumerate(rows, 1):
            try:
                message(dispatch, base_url, connection).send()
            except Exception as exc:  # an SMTP or network failure: recorded on the row, retried later
                sending.record_attempt(dispatch, f"{type(exc).__name__}: {exc}")
                failed += 1
            else:
                sending.record_attempt(dispatch)
                sent += 1
            if progress:
                progress(n, len(rows))
    finally:
        connection.close()
    return {"sent": sent, "failed": failed}
