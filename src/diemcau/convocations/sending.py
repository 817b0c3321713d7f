"""Every e-mail of a convocation, recorded: queueing sends and reminders, and each attempt's outcome.

Queueing writes one :class:`Dispatch` row per recipient (pending, or "no address" when the unit has
no contact to write to) and one background job ``convocations.send`` with their ids. The job (its
handler is ``reports.tasks``: it writes the documents it attaches) sends each row that is not sent
yet and records the attempt here: status, attempts, last error. A run that leaves failures raises,
so the task queue runs it again; its owner can also send the failed ones again from the page.
``base_url`` is the site's address as the organiser reached it: the confirmation links start with it.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, tasks
from diemcau.core.errors import DomainError

from .access import require_issue
from .models import Convocation, Dispatch, Recipient

JOB_KIND = "convocations.send"
D = Dispatch.Status


def _queue(actor, convocation: Convocation, recipients, kind: str, base_url: str, enqueue: bool = True) -> list[int]:
    rows = [Dispatch(recipient=r, kind=kind, status=D.PENDING if r.email else D.NO_ADDRESS) for r in recipients]
    Dispatch.objects.bulk_create(rows)
    ids = [d.pk for d in rows if d.status == D.PENDING]
    if ids and enqueue:
        tasks.enqueue(JOB_KIND, owner=actor, convocation=convocation.pk, dispatches=ids, base_url=base_url)
    audit.record(actor, f"convocation.{kind}_queued", convocation, unit_path=convocation.issuer.path,
                 after={"queued": len(ids), "no_address": len(rows) - len(ids)})
    return ids


@transaction.atomic
def send(actor, convocation: Convocation, base_url: str, *, enqueue: bool = True) -> list[int]:
    """Queue the convocation's e-mail to every recipient it has not been sent to yet.

    ``enqueue=False`` only records the rows: the caller sends them itself (the demo loader does, in
    its own process, so that nothing is left to a worker).
    """
    require_issue(actor, convocation.conference, convocation.issuer)
    recipients = list(convocation.recipients.exclude(dispatches__kind=Dispatch.Kind.CONVOCATION)
                      .select_related("unit"))
    if not recipients:
        raise DomainError(_("The convocation has already been sent to every recipient."), "already_sent")
    return _queue(actor, convocation, recipients, Dispatch.Kind.CONVOCATION, base_url, enqueue)


@transaction.atomic
def remind(actor, convocation: Convocation, base_url: str) -> list[int]:
    """Queue a reminder to every recipient that has not confirmed yet."""
    require_issue(actor, convocation.conference, convocation.issuer)
    recipients = list(convocation.recipients.filter(confirmation__isnull=True).select_related("unit"))
    if not recipients:
        raise DomainError(_("Every recipient has confirmed; nobody to remind."), "all_confirmed")
    return _queue(actor, convocation, recipients, Dispatch.Kind.REMINDER, base_url)


@transaction.atomic
def resend_failed(actor, convocation: Convocation, base_url: str) -> list[int]:
    """Queue the failed e-mails of a convocation again (same rows: their attempts keep counting)."""
    require_issue(actor, convocation.conference, convocation.issuer)
    ids = list(Dispatch.objects.filter(recipient__convocation=convocation, status=D.FAILED)
               .values_list("pk", flat=True))
    if not ids:
        raise DomainError(_("No e-mail of this convocation has failed."), "nothing_failed")
    tasks.enqueue(JOB_KIND, owner=actor, convocation=convocation.pk, dispatches=ids, base_url=base_url)
    audit.record(actor, "convocation.resend_queued", convocation, unit_path=convocation.issuer.path,
                 after={"queued": len(ids)})
    return ids


def to_send(dispatch_ids) -> list[Dispatch]:
    """The rows of a job that still need sending (a run again skips what an earlier run sent)."""
    return list(Dispatch.objects.filter(pk__in=dispatch_ids, status__in=[D.PENDING, D.FAILED])
                .select_related("recipient__unit", "recipient__convocation").order_by("pk"))


def record_attempt(dispatch: Dispatch, error: str = "") -> None:
    """Record one attempt to send ``dispatch``: sent, or failed with its error."""
    fields = {"attempts": F("attempts") + 1, "updated_at": timezone.now()}
    if error:
        fields.update(status=D.FAILED, last_error=error[:500])
    else:
        fields.update(status=D.SENT, last_error="", sent_at=timezone.now())
    Dispatch.objects.filter(pk=dispatch.pk).update(**fields)


def dispatch_table(convocation: Convocation) -> list[dict]:
    """Each recipient with its latest e-mail of each kind and its confirmation: the sending page's rows."""
    rows = []
    recipients = (Recipient.objects.filter(convocation=convocation).select_related("unit", "confirmation")
                  .prefetch_related("dispatches").order_by("unit__path"))
    for r in recipients:
        latest = {}
        for d in r.dispatches.all():
            latest[d.kind] = d
        confirmation = getattr(r, "confirmation", None)
        rows.append({"recipient": r, "convocation": latest.get(Dispatch.Kind.CONVOCATION),
                     "reminder": latest.get(Dispatch.Kind.REMINDER), "confirmation": confirmation})
    return rows
