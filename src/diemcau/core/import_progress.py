"""The progress of an import batch that a background job checks or applies, as every import shows it.

An import (``orgs`` units and people, ``points`` assignment lists) keeps its file as a batch; a big
one is read by a job. While the batch is busy its page includes ``core/_import_progress.html``,
which polls the batch's status URL; that URL answers with :func:`status_response`. Confirming
answers with :func:`confirm_response`.
"""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from .errors import DomainError
from .models import StagedImport


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


def confirm_response(request, confirm: Callable, batch: StagedImport, *, page_url: str,
                     applied: Callable[[StagedImport], HttpResponse]) -> HttpResponse:
    """Confirm a previewed batch with ``confirm(user, batch)`` and answer as every import does.

    A refusal is flashed and the preview (``page_url``) shown again; a batch that a job applies shows
    its preview with the job's progress; a batch applied in the request answers ``applied(batch)``.
    """
    try:
        batch = confirm(request.user, batch)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(page_url)
    if batch.status != StagedImport.Status.APPLIED:  # a big file: a job applies it
        return redirect(page_url)
    return applied(batch)
