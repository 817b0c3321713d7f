"""The progress of an import batch that a background job checks or applies, as every import shows it.

An import (``orgs`` units and people, ``points`` assignment lists) keeps its file as a batch; a big
one is read by a job. While the batch is busy its page includes ``core/_import_progress.html``,
which polls the batch's status URL; that URL answers with :func:`status_response`.
"""

from django.http import HttpResponse
from django.shortcuts import redirect, render


def status_response(request, batch, *, busy: bool, status_url: str, page_url: str, done_url: str):
    """The progress fragment while ``busy``; once the job has ended, send the browser to ``done_url``."""
    if busy:
        return render(request, "core/_import_progress.html", {
            "batch": batch, "job": batch.job, "status_url": status_url, "page_url": page_url})
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = done_url
        return response
    return redirect(done_url)
