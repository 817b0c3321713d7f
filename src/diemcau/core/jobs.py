"""Background jobs with progress: imports, generation, planning, analysis, reports.

A job is a row (:class:`~diemcau.core.models.Job`) and a handler registered by kind. Where it runs
depends on ``settings.JOBS_BACKEND``: "thread" (the embedded default: a thread of the server),
"redis" (a queue read by ``manage.py run_jobs``) or "eager" (inline, for tests). Pages poll the
row to draw a progress bar.
"""

import logging
import threading
import time
import traceback

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from .errors import DomainError
from .models import Job

log = logging.getLogger("diemcau.jobs")
HANDLERS = {}
REDIS_QUEUE = "diemcau:jobs"


def handler(kind: str):
    """Register ``func(job, progress)`` as the handler of jobs of ``kind``."""

    def register(func):
        HANDLERS[kind] = func
        return func

    return register


class Progress:
    """Reports progress to the job row, at most a few times a second."""

    def __init__(self, job: Job):
        self.job = job
        self._last = 0.0

    def __call__(self, done: int, total: int | None = None, message: str | None = None, force=False):
        now = time.monotonic()
        if not force and now - self._last < 0.3:
            return
        self._last = now
        fields = {"progress": done}
        if total is not None:
            fields["total"] = total
        if message is not None:
            fields["message"] = str(message)[:300]
        Job.objects.filter(pk=self.job.pk).update(**fields)


def enqueue(kind: str, owner=None, **params) -> Job:
    """Create a job and start it once the surrounding transaction commits."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job.objects.create(kind=kind, owner=owner if getattr(owner, "pk", None) else None, params=params)
    backend = settings.JOBS_BACKEND
    if backend == "eager":
        transaction.on_commit(lambda: run(job.pk))
    elif backend == "redis":
        transaction.on_commit(lambda: _redis().lpush(REDIS_QUEUE, job.pk))
    else:
        transaction.on_commit(lambda: threading.Thread(target=_run_in_thread, args=(job.pk,), daemon=True).start())
    return job


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def _run_in_thread(job_id: int):
    close_old_connections()
    try:
        run(job_id)
    finally:
        close_old_connections()


def run(job_id: int):
    """Run one job to its end, recording success or a readable failure."""
    job = Job.objects.get(pk=job_id)
    if job.finished:
        return job  # a job delivered twice runs once
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    progress = Progress(job)
    try:
        result = HANDLERS[job.kind](job, progress)
    except DomainError as exc:
        _finish(job, Job.Status.FAILED, exc.message, {"code": exc.code, "details": exc.details})
    except Exception as exc:
        log.error("job %s failed: %s", job.pk, traceback.format_exc())
        _finish(job, Job.Status.FAILED, f"{type(exc).__name__}: {exc}", {"code": "internal_error"})
    else:
        _finish(job, Job.Status.DONE, "", result)
    job.refresh_from_db()
    return job


def _finish(job, status, message, result):
    Job.objects.filter(pk=job.pk).update(
        status=status, message=str(message)[:300], result=result, finished_at=timezone.now(),
        **({"progress": F("total")} if status == Job.Status.DONE else {}),
    )


def work_forever(poll_seconds: int = 5):  # pragma: no cover - exercised by deployments
    """The loop of ``manage.py run_jobs``: take job ids from Redis and run them."""
    conn = _redis()
    while True:
        item = conn.brpop(REDIS_QUEUE, timeout=poll_seconds)
        if item is None:
            continue
        close_old_connections()
        run(int(item[1]))
