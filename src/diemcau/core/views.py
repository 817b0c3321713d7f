"""Pages of the shared machinery: a background job's progress and retry (the health check: core/health.py)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import tasks
from .errors import DomainError
from .models import Job


@login_required
def job_status(request, pk):
    """A job's progress bar (htmx polls this fragment until the job ends)."""
    job = get_object_or_404(Job, pk=pk)
    if job.owner_id != request.user.pk:
        raise PermissionDenied
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"status": job.status, "progress": job.progress, "total": job.total,
                             "percent": job.percent, "message": job.message, "result": job.result})
    done_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(done_url, allowed_hosts={request.get_host()}):
        done_url = ""
    response = render(request, "core/_job.html", {"job": job, "job_done_url": done_url})
    if job.status == Job.Status.DONE and done_url and request.headers.get("HX-Request"):
        response["HX-Redirect"] = done_url  # htmx follows it: the finished job shows its result
    return response


@login_required
@require_POST
def job_retry(request, pk):
    """Run a failed job again (its owner only); answers with the job's progress fragment."""
    get_object_or_404(Job, pk=pk)
    try:
        tasks.retry(request.user, pk)
    except DomainError as exc:
        if exc.code == "not_job_owner":
            raise PermissionDenied from None
        return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
    done_url = request.GET.get("next", "")
    if not request.headers.get("HX-Request") and url_has_allowed_host_and_scheme(
            done_url, allowed_hosts={request.get_host()}):
        return redirect(done_url)  # a plain form (e.g. the import's progress) goes back to its page
    return job_status(request, pk)


