"""Background work of the documents module: sending convocations (the e-mails carry its documents)."""

from django.utils.translation import gettext as _

from diemcau.convocations.sending import JOB_KIND
from diemcau.core import tasks

from .convocation_mail import send_dispatches


class SendFailed(RuntimeError):
    """Some e-mails of the run failed (recorded on their rows); the task queue runs the job again."""


@tasks.handler(JOB_KIND, retryable=True)
def send_convocation(job, progress):
    """Send a convocation's queued e-mails; a run again sends only what is not sent yet."""
    result = send_dispatches(job.params["dispatches"], job.params.get("base_url", ""), progress)
    if result["failed"]:
        raise SendFailed(_("%(failed)d of %(total)d e-mails could not be sent; they will be sent again.")
                         % {"failed": result["failed"], "total": result["failed"] + result["sent"]})
    return result
