"""Jobs whose worker is killed mid-run do not stay "running" forever.

A real ``manage.py run_jobs`` runs in a child process on the test database and takes a job that
blocks (``tests/core/blocking_jobs.py``); the test SIGKILLs it mid-run and starts a new worker with a
2-second lease. Within the lease (plus the reaper's period) the job is re-queued (a retryable kind)
or failed with a clear message (any other kind), and its owner can retry it from the job page.
Runs on PostgreSQL and on a file SQLite database (``DIEMCAU_SQLITE_TEST=/tmp/x.sqlite3``).
"""

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone

from diemcau.core import jobs
from diemcau.core.models import AuditEntry, Job
from tests.core import blocking_jobs  # noqa: F401 (registers test.block here too)
from tests.servers import child_env, redis_server

ROOT = Path(__file__).resolve().parents[2]
LEASE = 2
LAUNCH = ("import django; django.setup(); import tests.core.blocking_jobs; "
          "from django.core.management import call_command; call_command('run_jobs')")
CRASHED = "Tiến trình xử lý bị dừng đột ngột; hãy chạy lại."


@pytest.fixture
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture
def workers(redis_url, settings, tmp_path):
    """Start ``run_jobs`` children on the test database; every one is stopped afterwards."""
    env = child_env(PYTHONPATH=f"{ROOT / 'src'}:{ROOT}", DIEMCAU_JOBS="redis", REDIS_URL=redis_url,
                      DIEMCAU_JOB_LEASE_SECONDS=str(LEASE), DIEMCAU_JOB_HEARTBEAT_SECONDS="0.5",
                      DIEMCAU_JOB_REAP_SECONDS="0.5")
    settings.JOBS_BACKEND, settings.REDIS_URL = "redis", redis_url
    procs = []

    def start(wait_ready=False):
        path = tmp_path / f"worker-{len(procs)}.log"
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH], cwd=ROOT, env=env, stdout=open(path, "wb"),
                                stderr=subprocess.STDOUT)
        procs.append(proc)
        deadline = time.monotonic() + 120
        while wait_ready and b"waiting for jobs" not in path.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, path.read_text()
            time.sleep(0.05)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_for(job, test, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if test(job):
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"{what}: job is {job.status!r} ({job.message!r}) after {seconds} s")


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_is_killed_fails_clearly_and_its_owner_can_retry_it(
        workers, tmp_path, django_user_model, client):
    owner = django_user_model.objects.create_user("owner")
    stranger = django_user_model.objects.create_user("stranger")
    gate = tmp_path / "gate"
    first = workers()
    job = jobs.enqueue("test.block", owner=owner, gate=str(gate))
    _wait_for(job, lambda j: j.status == Job.Status.RUNNING and j.progress == 1, 120, "the worker never took the job")

    os.kill(first.pid, signal.SIGKILL)  # mid-run: the handler is waiting at the gate
    first.wait(10)
    killed = time.monotonic()
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING  # the dead run still looks alive ...
    workers(wait_ready=True)
    ready = time.monotonic()
    failed = _wait_for(job, lambda j: j.status == Job.Status.FAILED, LEASE + 15,
                       "the killed run was never noticed")
    # ... until its lease runs out: the new worker notices within the lease (plus its reaping period).
    assert failed - max(ready, killed + LEASE) < 5, (killed, ready, failed)
    assert job.message == CRASHED and job.result["code"] == "worker_lost" and job.attempts == 1

    gate.touch()
    client.force_login(stranger)
    assert client.post(f"/jobs/{job.pk}/retry/").status_code in (403, 404)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    client.force_login(owner)
    assert client.post(f"/jobs/{job.pk}/retry/", HTTP_HX_REQUEST="true").status_code == 200
    _wait_for(job, lambda j: j.status == Job.Status.DONE, 60, "the retried job never finished")
    assert job.result == {"through": True} and job.params["gate"] == str(gate)


@pytest.mark.django_db(transaction=True)
def test_a_retryable_job_whose_worker_is_killed_runs_again_by_itself(workers, tmp_path, django_user_model):
    owner = django_user_model.objects.create_user("owner")
    gate = tmp_path / "gate"
    first = workers()
    job = jobs.enqueue("test.block_again", owner=owner, gate=str(gate))
    _wait_for(job, lambda j: j.status == Job.Status.RUNNING and j.progress == 1, 120, "the worker never took the job")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    gate.touch()
    workers()
    _wait_for(job, lambda j: j.status == Job.Status.DONE, 120, "the cut-off job did not run again")
    assert job.attempts == 2 and job.result == {"through": True}
    assert AuditEntry.objects.filter(action="job.requeued", object_id=str(job.pk)).count() == 1


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_a_confirmed_import_cut_off_mid_run_is_applied_exactly_once(tree, organiser_bavi, monkeypatch, settings):
    from diemcau.orgs import importing
    from diemcau.orgs.models import ImportBatch, Unit
    from tests.orgs.sheets import UNIT_HEAD, csv, unit_row, upload

    data = csv([UNIT_HEAD, unit_row("TH_KILLED", "Trường Bị Ngắt")])
    batch = importing.start_import(organiser_bavi, ImportBatch.Kind.UNITS, upload(data))
    monkeypatch.setattr(importing, "SYNC_APPLY_ROWS", 0)  # confirming hands the apply to a job
    monkeypatch.setattr(jobs, "_dispatch_on_commit", lambda job_id: None)  # ... that a worker takes and dies with
    batch = importing.confirm_batch(organiser_bavi, batch)
    assert batch.status == ImportBatch.Status.APPLYING
    assert jobs.claim(batch.job_id, "dead-host:4242") is not None
    Job.objects.filter(pk=batch.job_id).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    assert not Unit.objects.filter(code="TH_KILLED").exists()  # the killed run's transaction applied nothing

    assert jobs.reap_expired() == [batch.job_id]  # orgs.import_apply is retryable: queued again
    job = jobs.run(batch.job_id)
    assert job.status == Job.Status.DONE and job.attempts == 2
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and batch.result["counts"]["create"] == 1
    # Delivered again, retried, or confirmed again: nothing is applied twice.
    assert jobs.run(batch.job_id).status == Job.Status.DONE
    assert importing.apply_batch(batch.pk).status == ImportBatch.Status.APPLIED
    assert Unit.objects.filter(code="TH_KILLED").count() == 1
    assert AuditEntry.objects.filter(action="import.applied", object_id=str(batch.pk)).count() == 1


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_only_a_cut_off_or_crashed_job_of_ones_own_can_be_retried(client, django_user_model):
    owner = django_user_model.objects.create_user("owner")
    stranger = django_user_model.objects.create_user("stranger")
    refused = Job.objects.create(kind="test.block", owner=owner, status="failed", message="Không được",
                                 result={"code": "refused"})
    lost = Job.objects.create(kind="test.block", owner=owner, status="failed", message="x",
                              result={"code": "worker_lost"}, params={"gate": "/nonexistent"})
    client.force_login(stranger)
    assert client.post(f"/jobs/{lost.pk}/retry/").status_code == 403
    assert "Chạy lại" not in client.get(f"/jobs/{lost.pk}/").content.decode("utf-8", "replace")
    client.force_login(owner)
    assert client.get(f"/jobs/{refused.pk}/").status_code == 200
    assert "Chạy lại" not in client.get(f"/jobs/{refused.pk}/").content.decode()
    assert "Chạy lại" in client.get(f"/jobs/{lost.pk}/").content.decode()
    assert client.post(f"/jobs/{refused.pk}/retry/").status_code == 409
    assert client.get(f"/jobs/{lost.pk}/retry/").status_code == 405
    refused.refresh_from_db()
    lost.refresh_from_db()
    assert refused.status == lost.status == Job.Status.FAILED
    assert AuditEntry.objects.filter(action="job.retried").count() == 0
