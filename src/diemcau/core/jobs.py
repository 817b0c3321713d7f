"""Background jobs with progress: imports, generation, planning, analysis, reports.

A job is a row (:class:`~diemcau.core.models.Job`) and a handler registered by kind. Where it runs
depends on ``settings.JOBS_BACKEND``: "thread" (the embedded default: a thread of the server),
"redis" (a queue read by ``manage.py run_jobs``) or "eager" (inline, for tests). Pages poll the
row to draw a progress bar.

A run holds a lease on its row: it is claimed by one atomic UPDATE (so two workers never run the
same job), and a heartbeat thread renews the lease while the handler works. A worker that dies
(SIGKILL, power cut) stops renewing; when a worker starts, and every ``JOBS_REAP_SECONDS`` after,
jobs whose lease expired are re-queued (kinds registered ``retryable``, up to
``JOBS_MAX_ATTEMPTS`` runs) or failed with a message that asks the user to run them again, which
the job's owner can do from the job page (:func:`retry`).
"""

import datetime
import logging
import os
import socket
import threading
import time
import traceback

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import audit
from .acting import system_scope
from .broadcast import publish_on_commit
from .errors import DomainError
from .models import Job

log = logging.getLogger("diemcau.jobs")
HANDLERS = {}
RETRYABLE = set()  # kinds that may run again after a killed run: they apply nothing half-way
REDIS_QUEUE = "diemcau:jobs"


def handler(kind: str, *, retryable: bool = False):
    """Register ``func(job, progress)`` as the handler of jobs of ``kind``.

    ``retryable``: a run cut off by a dead worker is simply run again. Declare it only for a
    handler that writes all or nothing (one transaction) and that a second run cannot apply twice.
    """

    def register(func):
        HANDLERS[kind] = func
        if retryable:
            RETRYABLE.add(kind)
        else:
            RETRYABLE.discard(kind)
        return func

    return register


def import_crash_message() -> str:
    """What an import's page says when the job reading or applying its file crashed."""
    return _("The server could not process this file; nothing was imported. Please tell the support team.")


def import_handlers(prefix: str, model, preview, apply, result):
    """Register ``<prefix>.import_preview`` and ``<prefix>.import_apply`` for an import batch model.

    ``preview(batch_id, progress)`` and ``apply(batch_id, progress)`` do the work and return the
    batch; ``result(batch)`` is what the job records. Both kinds are safe to run again: a preview
    writes only on a pending batch; applying is one transaction that a killed run rolls back, and a
    batch already applied is not applied twice. A crash is written on the batch, so its page does
    not wait for a job that is gone.
    """
    def run(job, progress, work, waiting_status, failed_status, field):
        batch_id = job.params["batch_id"]
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            try:
                return work(batch_id, progress=progress)
            except Exception as exc:
                # Applying records its own refusals on the batch; anything else is written there here.
                if not (work is apply and isinstance(exc, DomainError)):
                    model.objects.filter(pk=batch_id, status=waiting_status).update(
                        status=failed_status, **{field: {"error": import_crash_message(), "code": "internal_error"}})
                raise

    @handler(f"{prefix}.import_preview", retryable=True)
    def import_preview(job, progress):
        batch = run(job, progress, preview, model.Status.PENDING, model.Status.INVALID, "summary")
        return {"batch": batch.pk, "status": batch.status}

    @handler(f"{prefix}.import_apply", retryable=True)
    def import_apply(job, progress):
        batch = run(job, progress, apply, model.Status.APPLYING, model.Status.FAILED, "result")
        return {"batch": batch.pk, **result(batch)}

    return import_preview, import_apply


def worker_name() -> str:
    """``host:pid`` of this process, recorded on the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _lease_end(now):
    return now + datetime.timedelta(seconds=settings.JOBS_LEASE_SECONDS)


def job_group(job_id: int) -> str:
    """The channel-layer group of a job's progress page (``core.consumers.JobProgressConsumer``)."""
    return f"jobs.{job_id}"


def publish_changed(job_id: int) -> None:
    """Tell the job's progress page, once the row's change is committed, to show it again."""
    publish_on_commit(job_group(job_id), {"type": "job.changed"})


class Progress:
    """Reports progress to the job row, at most a few times a second; each report renews the lease."""

    def __init__(self, job: Job, lease=None):
        self.job = job
        self.lease = lease
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
        if self.lease is not None:
            self.lease.report(fields)
        else:
            Job.objects.filter(pk=self.job.pk).update(**fields)
            publish_changed(self.job.pk)


class _Lease:
    """Keeps a claimed run's lease alive from a thread of its own while the handler works."""

    def __init__(self, job: Job, worker: str):
        self.job_id, self.worker, self.attempt = job.pk, worker, job.attempts
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-{job.pk}-lease", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2)

    def renew(self, **fields) -> bool:
        now = timezone.now()
        renewed = bool(Job.objects.filter(pk=self.job_id, worker=self.worker, attempts=self.attempt,
                                          status=Job.Status.RUNNING)
                       .update(heartbeat_at=now, lease_until=_lease_end(now), **fields))
        if renewed and fields:
            publish_changed(self.job_id)
        return renewed

    def report(self, fields: dict):
        if not connection.in_atomic_block:
            self.renew(**fields)
            return
        # Inside the handler's transaction a write to the job row would stay invisible until the
        # commit (and would lock the row against the heartbeat): the heartbeat's own connection
        # writes it instead, so the bar moves while a long import is still one transaction.
        with self._lock:
            self._pending.update(fields)
        self._wake.set()

    def _beat(self):
        try:
            while not self._stop.is_set():
                self._wake.wait(settings.JOBS_HEARTBEAT_SECONDS)
                self._wake.clear()
                if self._stop.is_set():
                    return
                with self._lock:
                    fields, self._pending = self._pending, {}
                try:
                    self.renew(**fields)
                except DatabaseError as exc:  # e.g. SQLite busy while the handler's transaction writes
                    log.warning("job %s: lease not renewed: %s", self.job_id, exc)
        finally:
            connections.close_all()  # this thread's connections only


def enqueue(kind: str, owner=None, **params) -> Job:
    """Create a job and start it once the surrounding transaction commits."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job.objects.create(kind=kind, owner=owner if getattr(owner, "pk", None) else None, params=params)
    _dispatch_on_commit(job.pk)
    return job


def _dispatch_on_commit(job_id: int):
    backend = settings.JOBS_BACKEND
    if backend == "eager":
        transaction.on_commit(lambda: run(job_id))
    elif backend == "redis":
        transaction.on_commit(lambda: _redis().lpush(REDIS_QUEUE, job_id))
    else:
        transaction.on_commit(lambda: _start_thread(job_id))


def _start_thread(job_id: int):
    threading.Thread(target=_run_in_thread, args=(job_id,), daemon=True).start()


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def _run_in_thread(job_id: int):
    close_old_connections()
    try:
        run(job_id)
    finally:
        close_old_connections()


def claim(job_id: int, worker: str) -> Job | None:
    """Take a queued job for ``worker`` (one atomic UPDATE: of two workers, one wins); None if taken."""
    now = timezone.now()
    taken = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, worker=worker, attempts=F("attempts") + 1, heartbeat_at=now,
        lease_until=_lease_end(now))
    if taken:
        publish_changed(job_id)
    return Job.objects.get(pk=job_id) if taken else None


def claim_next(worker: str) -> Job | None:
    """Take the oldest queued job of a kind this process can run, if any."""
    with transaction.atomic():
        qs = Job.objects.filter(status=Job.Status.QUEUED, kind__in=list(HANDLERS)).order_by("created_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)  # workers polling together skip each other's row
        job_id = qs.values_list("pk", flat=True).first()
        return claim(job_id, worker) if job_id else None


def run(job_id: int):
    """Run one job to its end, recording success or a readable failure."""
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.QUEUED or job.kind not in HANDLERS:
        return job  # finished, held by another worker (a job delivered twice runs once), or not ours
    worker = worker_name()
    claimed = claim(job_id, worker)
    if claimed is None:
        job.refresh_from_db()
        return job
    return _execute(claimed, worker)


def _execute(job: Job, worker: str) -> Job:
    lease = _Lease(job, worker) if settings.JOBS_BACKEND != "eager" else None
    if lease:
        lease.start()
    progress = Progress(job, lease)
    try:
        # The handler checks its owner's scope itself (services take the owner as actor).
        with system_scope(f"job {job.kind}"):
            result = HANDLERS[job.kind](job, progress)
    except DomainError as exc:
        outcome = (Job.Status.FAILED, exc.message, {"code": exc.code, "details": exc.details})
    except Exception as exc:
        log.error("job %s failed: %s", job.pk, traceback.format_exc())
        outcome = (Job.Status.FAILED, f"{type(exc).__name__}: {exc}", {"code": "internal_error"})
    else:
        outcome = (Job.Status.DONE, "", result)
    finally:
        if lease:
            lease.stop()
    _finish(job, worker, *outcome)
    job.refresh_from_db()
    return job


def _finish(job, worker, status, message, result):
    # Only the run that holds the claim records its end (a reaper may have re-queued or failed it
    # meanwhile; the run's own outcome is the truth, and a re-queued job is then not run again).
    Job.objects.filter(pk=job.pk, worker=worker, attempts=job.attempts).exclude(status=Job.Status.DONE).update(
        status=status, message=str(message)[:300], result=result, finished_at=timezone.now(), lease_until=None,
        **({"progress": F("total")} if status == Job.Status.DONE else {}),
    )
    publish_changed(job.pk)


def reap_expired() -> list[int]:
    """Re-queue or fail the running jobs whose lease expired; return the ids re-queued.

    A retryable kind with runs left goes back to the queue; any other job fails with a message
    that asks its owner to run it again. Each decision is an audit entry.
    """
    now = timezone.now()
    expired = Q(status=Job.Status.RUNNING) & (Q(lease_until__lt=now) | Q(lease_until__isnull=True))
    requeued = []
    for job in Job.objects.filter(expired).order_by("id"):
        again = job.kind in RETRYABLE and job.attempts < settings.JOBS_MAX_ATTEMPTS
        with transaction.atomic(), translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            same_run = Job.objects.filter(expired, pk=job.pk, attempts=job.attempts)  # not renewed meanwhile
            if again:
                message = _("The run was cut off; it has been queued again (attempt %(n)d of %(max)d).") % {
                    "n": job.attempts + 1, "max": settings.JOBS_MAX_ATTEMPTS}
                changed = same_run.update(status=Job.Status.QUEUED, message=message[:300], lease_until=None)
            else:
                message = _("The processing stopped unexpectedly; please run it again.")
                changed = same_run.update(
                    status=Job.Status.FAILED, message=message[:300], finished_at=now, lease_until=None,
                    result={"code": "worker_lost", "worker": job.worker, "attempts": job.attempts})
            if not changed:
                continue
            audit.record(None, "job.requeued" if again else "job.lost", job,
                         after={"kind": job.kind, "worker": job.worker, "attempts": job.attempts})
        log.warning("job %s (%s) lost its worker %s after %d run(s): %s", job.pk, job.kind, job.worker,
                    job.attempts, "re-queued" if again else "failed")
        if again:
            requeued.append(job.pk)
    return requeued


def retry(user, job_id: int) -> Job:
    """Queue a failed job again with the same parameters: for its owner, after a crash or lost worker."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if user is None or job.owner_id != getattr(user, "pk", None):
            raise DomainError(_("Only the person who started this job can run it again."), "not_job_owner")
        if not job.can_retry or job.kind not in HANDLERS:
            raise DomainError(_("Only a job that was cut off or crashed can be run again."), "not_retryable")
        before = {"status": job.status, "message": job.message, "attempts": job.attempts}
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.QUEUED, message="", result=None, progress=0, finished_at=None, attempts=0,
            worker="", heartbeat_at=None, lease_until=None)
        audit.record(user, "job.retried", job, before=before, after={"status": Job.Status.QUEUED})
        publish_changed(job.pk)
        _dispatch_on_commit(job.pk)
    job.refresh_from_db()
    return job


def work_forever(poll_seconds: float = 2.0):  # pragma: no cover - run by tests/core/test_job_leases.py in a child
    """The loop of ``manage.py run_jobs``: reap dead runs, then run queued jobs one at a time.

    Jobs are taken from the database, so a job re-queued by the reaper (or whose Redis message was
    lost with a killed worker) runs too; Redis only wakes the loop when a job is enqueued.
    """
    worker = worker_name()
    conn = _redis() if settings.REDIS_URL else None
    wait = max(0.1, min(poll_seconds, settings.JOBS_REAP_SECONDS))
    last_reap = None
    while True:
        close_old_connections()
        if last_reap is None or time.monotonic() - last_reap >= settings.JOBS_REAP_SECONDS:
            reap_expired()
            last_reap = time.monotonic()
        job = claim_next(worker)
        if job is not None:
            _execute(job, worker)
        elif conn is not None:
            conn.brpop(REDIS_QUEUE, timeout=wait)
        else:
            time.sleep(wait)


_embedded_started = threading.Lock()


def start_embedded_worker():
    """In a server process of the "thread" backend: reap dead runs at start-up and periodically.

    Jobs re-queued by the reaper (and queued jobs left behind by a server that was killed before
    their thread started) run in threads of this process.
    """
    if settings.JOBS_BACKEND != "thread" or not _embedded_started.acquire(blocking=False):
        return
    threading.Thread(target=_embedded_loop, name="jobs-reaper", daemon=True).start()


def _embedded_loop():  # pragma: no cover - runs for the life of the server process
    while True:
        close_old_connections()
        try:
            reap_expired()
            stale = timezone.now() - datetime.timedelta(seconds=settings.JOBS_REAP_SECONDS)
            for job_id in Job.objects.filter(status=Job.Status.QUEUED, kind__in=list(HANDLERS),
                                             created_at__lt=stale).values_list("pk", flat=True)[:20]:
                _start_thread(job_id)
        except DatabaseError as exc:  # e.g. not migrated yet; try again next period
            log.warning("jobs reaper: %s", exc)
        time.sleep(settings.JOBS_REAP_SECONDS)
