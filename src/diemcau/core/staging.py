"""The confirm-then-apply steps every staged import shares (:class:`~diemcau.core.models.StagedImport`).

An import (``orgs`` units and people, ``points`` assignment lists) keeps its upload as a batch and
previews it; confirming applies it once, in the request or by a background job for a big file, and a
refusal while applying is recorded on the batch. What is imported and how is each import's own.
"""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import tasks
from .errors import DomainError
from .models import StagedImport

Status = StagedImport.Status

def _not_ready(batch) -> DomainError:
    return DomainError(_("This file cannot be imported: %(status)s.")
                       % {"status": batch.get_status_display()}, "not_ready")


def confirm(model: type[StagedImport], user, batch, *, inline: Callable[[StagedImport], bool], job_kind: str,
            apply: Callable[[int], StagedImport]) -> StagedImport:
    """Apply a previewed batch once (its owner checked by the caller); confirming it again changes nothing.

    ``inline(batch)`` says whether the request may apply it; else a ``job_kind`` job applies it and
    the batch says "applying" until it is done.
    """
    with transaction.atomic():
        locked = model.objects.select_for_update().defer("content").get(pk=batch.pk)
        if locked.status in (Status.APPLYING, Status.APPLIED):
            return locked
        if locked.status != Status.READY:
            raise _not_ready(locked)
        if not inline(locked):
            job = tasks.enqueue(job_kind, owner=user, batch_id=locked.pk, language=translation.get_language())
            locked.status, locked.job = Status.APPLYING, job
            locked.save(update_fields=["status", "job"])
            return locked
    return apply(batch.pk)


def apply(model: type[StagedImport], batch_id: int, work: Callable[[StagedImport], dict],
          recorded: Callable[[StagedImport], None], *, related: tuple[str, ...] = ("owner",),
          max_problems: int) -> StagedImport:
    """Apply a confirmed batch all or nothing; a refusal is recorded on the batch and raised.

    ``work(batch)`` writes the import and returns the batch's result; ``recorded(batch)`` writes the
    audit entry once the batch says "applied"; a refused batch keeps its first ``max_problems``
    problems. Safe to run again (a job delivered twice): a batch
    already applied is returned as it is.
    """
    try:
        with transaction.atomic():
            batch = model.objects.select_for_update().select_related(*related).get(pk=batch_id)
            if batch.status == Status.APPLIED:
                return batch
            if batch.status not in (Status.READY, Status.APPLYING):
                raise _not_ready(batch)
            result = work(batch)
            batch.status, batch.applied_at, batch.result = Status.APPLIED, timezone.now(), result
            batch.save(update_fields=["status", "applied_at", "result"])
            recorded(batch)
        return batch
    except DomainError as exc:
        # The transaction rolled back, so nothing was written; record why on the batch.
        model.objects.filter(pk=batch_id, status__in=[Status.READY, Status.APPLYING]).update(
            status=Status.FAILED,
            result={"error": exc.message, "code": exc.code, "problems": exc.details[:max_problems]})
        raise
