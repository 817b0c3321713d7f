"""Background jobs of the points module: running the planner; previewing and applying big assignment lists."""

from diemcau.core import tasks

from . import importing
from .models import AssignmentImport, Proposal


@tasks.handler("points.plan")
def plan_proposal(job, progress):
    """Compute the proposal named in the job; a failure is recorded on the proposal as well."""
    from .planning import run_proposal

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


import_preview, import_apply = tasks.import_handlers(
    "points", AssignmentImport, importing.preview_import, importing.apply_import,
    result=lambda batch: {"result": batch.result})
