"""Background jobs with progress on Celery: imports, generation, planning, analysis, reports.

A job is a row (:class:`~diemcau.core.models.Job`) and a handler registered by kind in an app's
``tasks.py``. :func:`enqueue` creates the row and, once the surrounding transaction commits, sends one
Celery task (:func:`run_job`, the job's id) to the broker; any worker runs any registered handler.
Tests run jobs inline (``CELERY_TASK_ALWAYS_EAGER``) or on a real worker (``tests/conftest.py``).

What a worker that dies cannot break:

- The message is acknowledged late, after the run, and given back to the queue if the worker's
  process is lost (``task_acks_late``, ``task_reject_on_worker_lost``; one message at a time per
  process). The message of a worker killed outright (SIGKILL, power cut) is delivered again after
  the broker's visibility timeout (``CELERY_VISIBILITY_TIMEOUT``).
- The row is claimed by one atomic update that counts the attempt, so a message delivered twice
  runs the job once: a finished job is a no-op, a job whose run is alive (its lease renewed by a
  heartbeat) is left to it. A run whose lease expired was cut off: a ``retryable`` kind runs again
  (up to ``TASKS_MAX_ATTEMPTS`` runs), any other fails with a message that asks its owner to run it
  again (:func:`retry`); each decision is an audit entry.
- Transient errors (the database or the broker unreachable) are retried with exponential back-off.
- A periodic task (:func:`recover_jobs`, Celery beat) sends again what a lost message would leave
  behind: a cut-off run nobody took up, a job still queued long after it was sent.
"""

import datetime
import logging
import os
import socket
import threading
import time
import traceback

import redis.exceptions
from celery import shared_task
from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError

from . import audit
from .acting import system_scope
from .broadcast import publish_on_commit
from .errors import DomainError
from .models import Job

log = logging.getLogger("diemcau.tasks")
HANDLERS = {}
RETRYABLE = set()  # kinds that may run again after a cut-off run: they apply nothing half-way
# Errors that pass: the database or the broker was unreachable for a moment.
TRANSIENT = (OperationalError, InterfaceError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
             BrokerError)


def handler(kind: str, *, retryable: bool = False):
    """Register ``func(job, progress)`` as the handler of jobs of ``kind``.

    ``retryable``: a run cut off by a dead worker, or by a transient error, is simply run again.
    Declare it only for a handler that writes all or nothing (one transaction) and that a second
    run cannot apply twice.
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
    not wait for a job that is gone; a transient error is not a crash (the run is tried again).
    """
    def run(job, progress, work, waiting_status, failed_status, field):
        batch_id = job.params["batch_id"]
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            try:
                return work(batch_id, progress=progress)
            except TRANSIENT:
                raise
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
    return now + datetime.timedelta(seconds=settings.TASKS_LEASE_SECONDS)


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
                self._wake.wait(settings.TASKS_HEARTBEAT_SECONDS)
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


# --- sending ------------------------------------------------------------------------------------

def enqueue(kind: str, owner=None, countdown: float = 0, **params) -> Job:
    """Create a job and send it to a worker once the surrounding transaction commits.

    A rolled-back transaction sends nothing (and leaves no row). ``countdown``: seconds before a
    worker may start it (a debounced recomputation; ignored when jobs run inline).
    """
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job.objects.create(kind=kind, owner=owner if getattr(owner, "pk", None) else None, params=params)
    if countdown:
        _dispatch_on_commit(job.pk, countdown)
    else:
        _dispatch_on_commit(job.pk)
    return job


def _dispatch_on_commit(job_id: int, countdown: float = 0):
    # robust: a broker that is down fails the send, not the committed request; the job stays
    # queued and recover_jobs sends it again.
    transaction.on_commit(lambda: _send(job_id, countdown) if countdown else _send(job_id), robust=True)


def _send(job_id: int, countdown: float = 0):
    run_job.apply_async((job_id,), countdown=countdown or None)


# --- running ------------------------------------------------------------------------------------

def _language(job: Job) -> str:
    return job.params.get("language") or settings.LANGUAGE_CODE


def _cut_off(job: Job, now) -> bool:
    """Decide about a run whose lease expired (in the caller's transaction): True if it runs again.

    A retryable kind with runs left runs again; any other job fails with a message that asks its
    owner to run it again. Each decision is an audit entry.
    """
    again = job.kind in RETRYABLE and job.attempts < settings.TASKS_MAX_ATTEMPTS
    with translation.override(_language(job)):
        if again:
            message = _("The run was cut off; it has been queued again (attempt %(n)d of %(max)d).") % {
                "n": job.attempts + 1, "max": settings.TASKS_MAX_ATTEMPTS}
            Job.objects.filter(pk=job.pk).update(message=message[:300])
        else:
            message = _("The processing stopped unexpectedly; please run it again.")
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.FAILED, message=message[:300], finished_at=now, lease_until=None,
                result={"code": "worker_lost", "worker": job.worker, "attempts": job.attempts})
            publish_changed(job.pk)
    audit.record(None, "job.requeued" if again else "job.lost", job,
                 after={"kind": job.kind, "worker": job.worker, "attempts": job.attempts})
    log.warning("job %s (%s) lost its worker %s after %d run(s): %s", job.pk, job.kind, job.worker,
                job.attempts, "runs again" if again else "failed")
    return again


def _lease_expired(job: Job, now) -> bool:
    return job.status == Job.Status.RUNNING and (job.lease_until is None or job.lease_until < now)


def claim(job_id: int, worker: str) -> Job | None:
    """Take a job for ``worker``; None if there is nothing to run.

    One locked read and one update that counts the attempt: of two deliveries, one wins. A queued
    job is taken; a running one whose lease expired is taken if :func:`_cut_off` lets it run again;
    a finished job, or one whose run is alive, is left as it is.
    """
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.kind not in HANDLERS:
            return None
        if _lease_expired(job, now):
            if not _cut_off(job, now):
                return None
        elif job.status != Job.Status.QUEUED:
            return None
        Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, worker=worker, attempts=F("attempts") + 1,
                                             heartbeat_at=now, lease_until=_lease_end(now))
        publish_changed(job_id)
    return Job.objects.get(pk=job_id)


def run(job_id: int) -> Job | None:
    """Run one job to its end, recording success or a readable failure; a no-op if it is not ours to run."""
    claimed = claim(job_id, worker_name())
    if claimed is None:
        return Job.objects.filter(pk=job_id).first()
    return _execute(claimed, claimed.worker)


def _execute(job: Job, worker: str) -> Job:
    lease = None if settings.CELERY_TASK_ALWAYS_EAGER else _Lease(job, worker)
    if lease:
        lease.start()
    progress = Progress(job, lease)
    try:
        # The handler checks its owner's scope itself (services take the owner as actor).
        with system_scope(f"job {job.kind}"):
            result = HANDLERS[job.kind](job, progress)
    except TRANSIENT as exc:
        if lease:
            lease.stop()
        _transient(job, worker, exc)
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


def _transient(job: Job, worker: str, exc: Exception):
    """A retryable run met a passing error: give the job back (if the database lets us) and raise for a retry.

    Any other kind fails readably instead: its handler may have applied part of its work.
    """
    if job.kind not in RETRYABLE:
        log.error("job %s failed on a transient error: %s", job.pk, traceback.format_exc())
        _finish(job, worker, Job.Status.FAILED, f"{type(exc).__name__}: {exc}", {"code": "internal_error"})
        raise _Finished from exc
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        close_old_connections()
    try:
        Job.objects.filter(pk=job.pk, worker=worker, attempts=job.attempts, status=Job.Status.RUNNING).update(
            status=Job.Status.QUEUED, worker="", lease_until=None)
        publish_changed(job.pk)
    except DatabaseError:
        pass  # the database is still away: the lease expires, and the retry finds a cut-off run
    raise exc


class _Finished(Exception):
    """The run ended (recorded on the row); nothing for Celery to retry."""


def _finish(job, worker, status, message, result):
    # Only the run that holds the claim records its end (a cut-off run that comes back to life
    # after another took the job over records nothing).
    Job.objects.filter(pk=job.pk, worker=worker, attempts=job.attempts).exclude(status=Job.Status.DONE).update(
        status=status, message=str(message)[:300], result=result, finished_at=timezone.now(), lease_until=None,
        **({"progress": F("total")} if status == Job.Status.DONE else {}),
    )
    publish_changed(job.pk)


@shared_task(name="diemcau.run_job", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             autoretry_for=TRANSIENT, retry_backoff=True, retry_backoff_max=60, retry_jitter=True, max_retries=8)
def run_job(self, job_id: int):
    """The one Celery task: run the registered handler of job ``job_id`` (idempotent, see the module).

    A message for a job whose run is alive elsewhere (delivered again while it runs, e.g. after a
    pool process died) comes back when that run's lease ends, to take over if the run died with it.
    """
    inline = settings.CELERY_TASK_ALWAYS_EAGER  # in the sender's process: its connections are its own
    if not inline:
        close_old_connections()  # a connection the database dropped meanwhile is replaced, not used
    try:
        job = run(job_id)
    except _Finished:
        return
    finally:
        if not inline:
            close_old_connections()
    wait = _lease_left(job)
    if wait is not None and not inline:
        raise self.retry(countdown=wait, max_retries=self.request.retries + 1)


def _lease_left(job: Job | None) -> float | None:
    """Seconds until the lease of a run held by another worker ends (plus one), or None."""
    if job is None or job.status != Job.Status.RUNNING or job.lease_until is None:
        return None
    return max(0.0, (job.lease_until - timezone.now()).total_seconds()) + 1


# --- recovery -----------------------------------------------------------------------------------

def recover_stranded() -> list[int]:
    """Send again the jobs a lost message would strand; return their ids.

    A running job whose lease expired is decided by :func:`_cut_off` (run again: queued and sent;
    else failed). A job queued longer than the broker's visibility timeout is sent again (at most
    once per timeout): its message may have gone with a broker that lost its data. A message
    delivered twice runs the job once (:func:`claim`).
    """
    now = timezone.now()
    grace = datetime.timedelta(seconds=settings.CELERY_VISIBILITY_TIMEOUT)
    stranded = (Q(status=Job.Status.RUNNING) & (Q(lease_until__lt=now) | Q(lease_until__isnull=True))) | (
        Q(status=Job.Status.QUEUED, created_at__lt=now - grace)
        & (Q(lease_until__isnull=True) | Q(lease_until__lt=now)))
    sent = []
    for job_id in Job.objects.filter(stranded, kind__in=list(HANDLERS)).order_by("id").values_list("pk", flat=True):
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(stranded, pk=job_id).first()
            if job is None or (_lease_expired(job, now) and not _cut_off(job, now)):
                continue
            # Queued again; lease_until of a queued job is when it may be sent once more.
            Job.objects.filter(pk=job_id).update(status=Job.Status.QUEUED, worker="", lease_until=now + grace)
            publish_changed(job_id)
            _dispatch_on_commit(job_id)
        sent.append(job_id)
    return sent


@shared_task(name="diemcau.recover_jobs", ignore_result=True)
def recover_jobs():
    """Periodic (beat, every ``TASKS_RECOVER_SECONDS``): :func:`recover_stranded`."""
    with system_scope("tasks: recovering stranded jobs"):
        return recover_stranded()


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
