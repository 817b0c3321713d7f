"""Background jobs of the points module: running the planner; previewing and applying big assignment lists."""

from django.conf import settings
from django.utils import translation

from diemcau.core import jobs
from diemcau.core.errors import DomainError

from . import importing
from .models import AssignmentImport, Proposal


@jobs.handler("points.plan")
def plan_proposal(job, progress):
    """Compute the proposal named in the job; a failure is recorded on the proposal as well."""
    from .services import run_proposal

    proposal = Proposal.objects.select_related("session__conference", "unit", "created_by").get(
        pk=job.params["proposal"])
    try:
        return run_proposal(proposal, progress)
    except Exception as exc:
        if not Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.FAILED).exists():
            Proposal.objects.filter(pk=proposal.pk).update(
                status=Proposal.Status.FAILED, error_code="internal_error",
                error_message=f"{type(exc).__name__}: {exc}"[:2000])
        raise


# Both are safe to run again: a preview writes only on a pending batch; applying is one transaction
# that a killed run rolls back, and a batch already applied is not applied twice (apply_import).
@jobs.handler("points.import_preview", retryable=True)
def import_preview(job, progress):
    """Read and check an assignment list too large to check within a request."""
    batch_id = job.params["batch_id"]
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        try:
            batch = importing.preview_import(batch_id, progress=progress)
        except Exception:
            # Don't leave the batch waiting for a job that crashed.
            AssignmentImport.objects.filter(pk=batch_id, status=AssignmentImport.Status.PENDING).update(
                status=AssignmentImport.Status.INVALID,
                summary={"error": jobs.import_crash_message(), "code": "internal_error"})
            raise
    return {"batch": batch.pk, "status": batch.status}


@jobs.handler("points.import_apply", retryable=True)
def import_apply(job, progress):
    """Apply a confirmed assignment list too large to write within a request."""
    batch_id = job.params["batch_id"]
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        try:
            batch = importing.apply_import(batch_id, progress=progress)
        except DomainError:
            raise  # apply_import has recorded the refusal on the batch
        except Exception:
            # The transaction rolled back: nothing was written. Say so rather than wait forever.
            AssignmentImport.objects.filter(pk=batch_id, status=AssignmentImport.Status.APPLYING).update(
                status=AssignmentImport.Status.FAILED,
                result={"error": jobs.import_crash_message(), "code": "internal_error"})
            raise
    return {"batch": batch.pk, "result": batch.result}
