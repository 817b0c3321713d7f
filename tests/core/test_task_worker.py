"""Background jobs on a real Celery worker (``celery_worker``: a private redis-server on a unix socket
and ``celery -A diemcau worker`` processes on the test database), killed the way machines die.

The worker has a 2-second lease and a 5-second visibility timeout (``tests/servers.py``), so what
takes a minute or five in production takes seconds here.
"""

import os
import signal
import time

import pytest
import redis
from django.db import connection

from diemcau.core import tasks
from diemcau.core.models import AuditEntry, Job
from tests.core import task_kinds  # noqa: F401 (the kinds the worker runs)


def _wait_for(job, test, seconds, what, workers=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if test(job):
            return
        time.sleep(0.05)
    logs = "\n".join(workers.log(p)[-3000:] for p in workers.procs) if workers else ""
    raise AssertionError(f"{what}: job is {job.status!r} ({job.message!r}) after {seconds} s\n{logs}")


def _queue_empty(workers):
    client = redis.Redis(unix_socket_path=workers.broker_url.removeprefix("redis+socket://"))
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


@pytest.mark.django_db(transaction=True)
def test_transient_errors_are_retried_with_growing_pauses(celery_worker, django_user_model, tmp_path):
    owner = django_user_model.objects.create_user("owner")
    runs = tmp_path / "runs"
    job = tasks.enqueue("test.flaky", owner=owner, runs=str(runs), failures=2)
    _wait_for(job, lambda j: j.finished, 60, "the flaky job never ended", celery_worker)
    assert job.status == Job.Status.DONE and job.result == {"runs": 3}
    times = [float(t) for t in runs.read_text().split()]
    assert len(times) == 3 and times[0] < times[1] < times[2]  # two retries, each after a back-off


@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_an_import_whose_worker_is_killed_mid_run_completes_exactly_once(celery_worker, tree, organiser_bavi,
                                                                          monkeypatch):
    from diemcau.orgs import importing
    from diemcau.orgs.models import ImportBatch, Unit
    from tests.orgs.sheets import UNIT_HEAD, csv, unit_row, upload

    n = 2000
    rows = [unit_row(f"TH_K{i:05d}", f"Trường Tiểu học số {i}") for i in range(n)]
    batch = importing.start_import(organiser_bavi, ImportBatch.Kind.UNITS, upload(csv([UNIT_HEAD, *rows])))
    if batch.job is not None:  # a big file: the worker previews it
        _wait_for(batch.job, lambda j: j.finished, 60, "the worker never previewed the file", celery_worker)
        batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY
    monkeypatch.setattr(importing, "SYNC_APPLY_ROWS", 0)  # confirming hands the apply to a job
    gates = celery_worker.gates
    first = celery_worker.running
    with monkeypatch.context() as m:  # hold the run inside its transaction, rows written, not committed
        m.setattr(tasks, "_dispatch_on_commit", lambda job_id: (gates / f"{job_id}.hold").touch()
                  or tasks.transaction.on_commit(lambda: tasks._send(job_id)))
        batch = importing.confirm_batch(organiser_bavi, batch)
    job = batch.job
    held = gates / f"{job.pk}.held"
    deadline = time.monotonic() + 120
    while not held.exists():
        assert time.monotonic() < deadline, celery_worker.log(first)
        time.sleep(0.05)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.attempts == 1
    if connection.vendor == "postgresql":  # SQLite has one writer: the bar moves when the import commits
        assert job.progress == n

    celery_worker.kill(first)  # SIGKILL, main process and pool: a machine lost mid-run
    assert not Unit.objects.filter(code__startswith="TH_K").exists()  # its transaction is gone
    (gates / f"{job.pk}.gate").touch()
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING  # the dead run still looks alive ...
    second = celery_worker.start()
    # ... until the broker gives its message again (visibility timeout) and the lease has run out.
    _wait_for(job, lambda j: j.attempts == 2, 60, "the cut-off run was never taken up", celery_worker)
    _wait_for(job, lambda j: j.finished, 60, "the second run never ended", celery_worker)
    assert job.status == Job.Status.DONE and job.progress == job.total == n
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and batch.result["counts"]["create"] == n
    assert Unit.objects.filter(code__startswith="TH_K").count() == n
    assert AuditEntry.objects.filter(action="import.applied", object_id=str(batch.pk)).count() == 1
    assert AuditEntry.objects.filter(action="job.requeued", object_id=str(job.pk)).count() == 1

    tasks._send(job.pk)  # the message once more (a duplicate delivery): a no-op
    deadline = time.monotonic() + 30
    while not _queue_empty(celery_worker):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.attempts == 2
    assert Unit.objects.filter(code__startswith="TH_K").count() == n
    assert second.poll() is None


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_a_lost_pool_process_gives_the_message_back_and_its_job_fails_clearly(celery_worker, django_user_model,
                                                                              client, tmp_path):
    owner = django_user_model.objects.create_user("owner")
    gate = tmp_path / "gate"
    worker = celery_worker.running
    job = tasks.enqueue("test.block", owner=owner, gate=str(gate))
    _wait_for(job, lambda j: j.status == Job.Status.RUNNING and j.progress == 1, 60, "never taken", celery_worker)
    for pid in celery_worker.pool_processes(worker):
        os.kill(pid, signal.SIGKILL)  # the pool process dies; the worker lives and gets the message back
    # test.block is not retryable: once its lease has run out, the job fails with a clear message.
    _wait_for(job, lambda j: j.status == Job.Status.FAILED, 30, "the lost run was never noticed", celery_worker)
    assert job.message == "Tiến trình xử lý bị dừng đột ngột; hãy chạy lại." and job.result["code"] == "worker_lost"
    assert "WorkerLostError" in celery_worker.log(worker)

    gate.touch()
    client.force_login(owner)
    assert client.post(f"/jobs/{job.pk}/retry/", HTTP_HX_REQUEST="true").status_code == 200
    _wait_for(job, lambda j: j.status == Job.Status.DONE, 30, "the retried job never finished", celery_worker)
    assert job.result == {"through": True} and worker.poll() is None
