"""The summary for policy and the opinion groups as stored results, recomputed in the background.

Pages read what is stored (:func:`summary_for`) and show its age; they never compute it. Every
change to an item or a vote passes through :func:`changed` (from :func:`.notices.opinion_notice`):
the first change of a conference in each window of ``VOICE_REFRESH_SECONDS`` queues one
:data:`REFRESH_JOB` (a :mod:`diemcau.core.tasks` job) to start at the end of the window, so a
conference is recomputed at most once per window however fast items and votes arrive, and a change
made while a recomputation runs is picked up by the next one. The window is kept in the cache
(``cache.add`` is atomic): no database write on the hot path of a vote.

What is recomputed: the summary of every subtree someone has looked at (one :class:`StoredSummary`
per conference and unit, created on the first visit), and that subtree's opinion groups (an
:class:`OpinionGroupsRun` made by the system; older automatic runs are removed); and, once a
moderator has looked, the conference's likely duplicates (:class:`StoredDuplicates`: clusters over
the whole conference, which each moderator's page cuts to their scope). Their moderation pages
are told when new clusters are stored (a notice on the conference's opinions group).
"""

import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from diemcau.core import hub, tasks
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError
from diemcau.events import access as event_access
from diemcau.orgs.scoping import SYSTEM

from . import analysis, similar, summary
from .models import OpinionGroupsRun, StoredDuplicates, StoredSummary
from .notices import opinions_group

REFRESH_JOB = "voice.refresh_results"
# Keys of the summary that are objects of the page, not figures: filled in when it is read.
_CONTEXT_KEYS = ("conference", "unit", "groups", "generated_at")


def refresh_seconds() -> float:
    return float(settings.VOICE_REFRESH_SECONDS)


def _window_key(conference_id: int) -> str:
    return f"voice.refresh.{conference_id}"


def changed(conference_id: int) -> bool:
    """An item or a vote of the conference changed: queue its recomputation unless one is queued.

    Returns True when this call queued it (the first change of the window).
    """
    window = refresh_seconds()
    if not cache.add(_window_key(conference_id), 1, timeout=max(1, int(window))):
        return False
    if not (StoredSummary.objects.filter(conference_id=conference_id).exists()
            or StoredDuplicates.objects.filter(conference_id=conference_id).exists()):
        return True  # nobody has looked at a summary or the duplicates yet: the first visit asks
    _queue(conference_id, countdown=window)
    return True


def _queue(conference_id: int, countdown: float = 0) -> None:
    if not countdown:
        # A first look, computed now: a change after it must open a window of its own (the window
        # open now was opened by a change made before anything was stored, and queued nothing).
        cache.delete(_window_key(conference_id))
    with transaction.atomic():
        job = tasks.enqueue(REFRESH_JOB, countdown=countdown, conference=conference_id)
        now = timezone.now()
        StoredSummary.objects.filter(conference_id=conference_id).update(requested_at=now, job=job)
        StoredDuplicates.objects.filter(conference_id=conference_id).update(requested_at=now, job=job)


def summary_for(user, conference, unit=None) -> StoredSummary:
    """The stored summary of the user's subtree (or ``unit`` in it); the first visit queues it."""
    event_access.require_sees(user, conference)
    unit = analysis.analysis_unit(user, unit)
    stored, created = StoredSummary.objects.get_or_create(conference=conference, unit=unit)
    if created or (stored.data is None and not stored.refreshing):
        _queue(conference.pk)
        stored.refresh_from_db()
    return stored


def duplicates_for(conference) -> StoredDuplicates:
    """The conference's stored likely duplicates (read by the moderation page); the first look queues them."""
    record, created = StoredDuplicates.objects.get_or_create(conference=conference)
    if created or (record.computed_at is None and not record.refreshing):
        _queue(conference.pk)
        record.refresh_from_db()
    return record


def page_data(stored: StoredSummary) -> dict:
    """The stored figures in the shape the page's template reads (``summary.policy_summary``'s)."""
    data = dict(stored.data or {})
    if data.get("busiest_day"):
        data["busiest_day"] = datetime.date.fromisoformat(data["busiest_day"])
    data.update(conference=stored.conference, unit=stored.unit,
                generated_at=timezone.localtime(stored.computed_at) if stored.computed_at else None)
    data["groups"] = OpinionGroupsRun.objects.filter(conference=stored.conference, unit=stored.unit,
                                                     status=OpinionGroupsRun.Status.DONE).first()
    return data


def recompute(conference_id: int, progress=None) -> dict:
    """Recompute and store the summary and the opinion groups of every subtree looked at, and the
    conference's likely duplicates once a moderator has looked."""
    rows = list(StoredSummary.objects.filter(conference_id=conference_id).select_related("conference", "unit"))
    done = 0
    for n, stored in enumerate(rows):
        if progress:
            progress(n, len(rows), "Đang tổng hợp ý kiến")
        started = timezone.now()
        figures = summary.policy_summary(SYSTEM, stored.conference, stored.unit)
        data = {k: v for k, v in figures.items() if k not in _CONTEXT_KEYS}
        if data.get("busiest_day"):
            data["busiest_day"] = data["busiest_day"].isoformat()
        StoredSummary.objects.filter(pk=stored.pk).update(data=data, computed_at=started)
        _recompute_groups(stored)
        done += 1
    clustered = _recompute_duplicates(conference_id)
    return {"conference": conference_id, "summaries": done, "duplicates": clustered}


def _recompute_duplicates(conference_id: int) -> int | None:
    """Cluster the conference's items and store the result; the number of items clustered over."""
    record = StoredDuplicates.objects.filter(conference_id=conference_id).select_related("conference").first()
    if record is None:
        return None
    started = timezone.now()
    found = similar.conference_clusters(record.conference)
    with transaction.atomic():
        StoredDuplicates.objects.filter(pk=record.pk).update(
            clusters=found.clusters, opposed=[list(p) for p in found.opposed], items=found.items,
            computed_at=started)
        # Moderation pages re-render with the new suggestions (not an item's change: no new window).
        publish_on_commit(*hub.notice(opinions_group(conference_id), action="duplicates"))
    return found.items


def _recompute_groups(stored: StoredSummary) -> None:
    """The subtree's opinion groups, by the system; too few votes leaves the last result as it is."""
    run = OpinionGroupsRun.objects.create(conference=stored.conference, unit=stored.unit)
    try:
        analysis.compute_groups(run)
    except DomainError:
        run.delete()
        return
    OpinionGroupsRun.objects.filter(conference=stored.conference, unit=stored.unit, requested_by=None,
                                    job=None).exclude(pk=run.pk).delete()


@tasks.handler(REFRESH_JOB, retryable=True)
def refresh_job(job, progress):
    return recompute(job.params["conference"], progress)
