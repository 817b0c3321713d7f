"""Background jobs of the organisation tree: previewing and applying large imports."""

from django.conf import settings
from django.utils import translation

from diemcau.core import jobs
from diemcau.core.errors import DomainError

from . import importing
from .models import ImportBatch


# Both are safe to run again: a preview writes only on a pending batch; applying is one transaction
# that a killed run rolls back, and a batch already applied is not applied twice (apply_batch).
@jobs.handler("orgs.import_preview", retryable=True)
def import_preview(job, progress):
    """Read and plan an uploaded file too large to check within a request."""
    batch_id = job.params["batch_id"]
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        try:
            batch = importing.preview_batch(batch_id, progress=progress)
        except Exception:
            # Don't leave the batch waiting for a job that crashed.
            ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PENDING).update(
                status=ImportBatch.Status.INVALID,
                summary={"error": jobs.import_crash_message(), "code": "internal_error"})
            raise
    return {"batch": batch.pk, "status": batch.status}


@jobs.handler("orgs.import_apply", retryable=True)
def import_apply(job, progress):
    """Apply a confirmed batch too large to write within a request."""
    batch_id = job.params["batch_id"]
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        try:
            batch = importing.apply_batch(batch_id, progress=progress)
        except DomainError:
            raise  # apply_batch has recorded the refusal on the batch
        except Exception:
            # The transaction rolled back: nothing was written. Say so rather than wait forever.
            ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.APPLYING).update(
                status=ImportBatch.Status.FAILED,
                result={"error": jobs.import_crash_message(), "code": "internal_error"})
            raise
    return {"batch": batch.pk, "counts": batch.result.get("counts")}
