"""Background jobs, run inline (``CELERY_TASK_ALWAYS_EAGER``): sending on commit, progress, failures,
the claim that runs a job once, cut-off runs, retries, and the websocket that only the owner may open.

The same machinery on a real Celery worker, killed mid-run: ``test_task_worker.py``.
"""

import datetime
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from diemcau.core import tasks
from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry, Job
from tests.core import task_kinds  # noqa: F401 (registers test.block)


@tasks.handler("test.count")
def _count(job, progress):
    n = job.params["n"]
    for i in range(n):
        progress(i + 1, n, "counting")
    return {"counted": n}


@tasks.handler("test.slow")
def _slow(job, progress):
    for i in range(3):
        progress(i + 1, 3, "counting slowly", force=True)
        time.sleep(0.4)  # the page reads the row after each report: let it see each one
    return {"counted": 3}


def _run_in_a_thread(job_id):
    from django.db import connections

    try:
        tasks.run(job_id)
    finally:
        connections.close_all()  # this thread's, so the test database can be dropped


@tasks.handler("test.refuse")
def _refuse(job, progress):
    raise DomainError("Không được", "refused", details=[{"row": 2}])


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_job_runs_after_commit_and_records_its_result(django_user_model):
    user = django_user_model.objects.create_user("u")
    with transaction.atomic():
        job = tasks.enqueue("test.count", owner=user, n=5)
        assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED  # not before the commit
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result == {"counted": 5} and job.percent == 100
    assert job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_request_sends_nothing(django_user_model, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks, "_send", sent.append)
    user = django_user_model.objects.create_user("u")
    with pytest.raises(RuntimeError), transaction.atomic():
        tasks.enqueue("test.count", owner=user, n=1)
        raise RuntimeError("the request failed")
    assert sent == [] and not Job.objects.exists()
    job = tasks.enqueue("test.count", owner=user, n=1)
    assert sent == [job.pk]


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_domain_errors_become_readable_failures(django_user_model):
    user = django_user_model.objects.create_user("u")
    job = tasks.enqueue("test.refuse", owner=user)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.message == "Không được" and job.result["code"] == "refused"


@pytest.mark.smoke
def test_job_status_only_for_its_owner(client, django_user_model):
    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    job = Job.objects.create(kind="test.count", owner=owner, total=10, progress=5, status="running")
    client.force_login(other)
    assert client.get(f"/jobs/{job.pk}/").status_code == 403
    client.force_login(owner)
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'aria-valuenow="50"' in html


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_job_websocket_refuses_strangers_and_streams_to_the_owner(django_user_model):
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter

    from diemcau.routing import websocket_urlpatterns

    owner = await sync_to_async(django_user_model.objects.create_user)("owner")
    stranger = await sync_to_async(django_user_model.objects.create_user)("stranger")
    job = await sync_to_async(Job.objects.create)(kind="test.count", owner=owner, status="done", total=3,
                                                   progress=3)
    app = URLRouter(websocket_urlpatterns)

    comm = WebsocketCommunicator(app, f"/ws/jobs/{job.pk}/")
    comm.scope["user"] = stranger
    connected, code = await comm.connect()
    assert not connected and code == 4403

    comm = WebsocketCommunicator(app, f"/ws/jobs/{job.pk}/")
    comm.scope["user"] = owner
    connected, _ = await comm.connect()
    assert connected
    message = await comm.receive_json_from(timeout=5)
    assert message["status"] == "done" and message["percent"] == 100
    await comm.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_job_progress_is_pushed_as_the_runner_commits_it(django_user_model, settings):
    """No polling: the page's fragment is pushed at the claim, at each progress report and at the end."""
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter

    from diemcau.routing import websocket_urlpatterns

    owner = await sync_to_async(django_user_model.objects.create_user)("owner")
    job = await sync_to_async(Job.objects.create)(kind="test.slow", owner=owner)
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/?htmx=1&next=/done/")
    comm.scope["user"] = owner
    assert (await comm.connect())[0]
    first = (await comm.receive_output(timeout=5))["text"]
    assert f'id="job-{job.pk}"' in first and 'data-status="queued"' in first and "hx-trigger" not in first
    await sync_to_async(_run_in_a_thread, thread_sensitive=False)(job.pk)  # a worker of its own, as in production
    pushed = []
    while True:
        message = await comm.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            break
        pushed.append(message["text"])
    running = [html for html in pushed if 'data-status="running"' in html]
    assert len(running) >= 3 and "(2/3)" in "".join(running)  # the claim and each report
    done = pushed[-1]
    assert 'data-status="done"' in done and 'aria-valuenow="100"' in done
    # The finished job's page moves on to its result through the job-status view (an HX-Redirect).
    assert f'hx-get="/jobs/{job.pk}/?next=/done/" hx-trigger="load"' in done


# --- a message delivered twice, a run cut off, a lost message -----------------------------------

CRASHED = "Tiến trình xử lý bị dừng đột ngột; hãy chạy lại."


def _cut_off(job_id, worker="dead-host:4242"):
    """A worker took the job and died: its lease has run out."""
    assert tasks.claim(job_id, worker) is not None
    Job.objects.filter(pk=job_id).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_a_confirmed_import_cut_off_mid_run_is_applied_exactly_once(tree, organiser_bavi, monkeypatch):
    from diemcau.orgs import importing
    from diemcau.orgs.models import ImportBatch, Unit
    from tests.orgs.sheets import UNIT_HEAD, csv, unit_row, upload

    data = csv([UNIT_HEAD, unit_row("TH_KILLED", "Trường Bị Ngắt")])
    batch = importing.start_import(organiser_bavi, ImportBatch.Kind.UNITS, upload(data))
    monkeypatch.setattr(importing, "SYNC_APPLY_ROWS", 0)  # confirming hands the apply to a job
    monkeypatch.setattr(tasks, "_dispatch_on_commit", lambda job_id: None)  # ... that a worker takes and dies with
    batch = importing.confirm_batch(organiser_bavi, batch)
    assert batch.status == ImportBatch.Status.APPLYING
    _cut_off(batch.job_id)
    assert not Unit.objects.filter(code="TH_KILLED").exists()  # the killed run's transaction applied nothing

    job = tasks.run(batch.job_id)  # the message, delivered again after the visibility timeout
    assert job.status == Job.Status.DONE and job.attempts == 2
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and batch.result["counts"]["create"] == 1
    # Delivered again, retried, or confirmed again: nothing is applied twice.
    assert tasks.run(batch.job_id).attempts == 2
    assert importing.apply_batch(batch.pk).status == ImportBatch.Status.APPLIED
    assert Unit.objects.filter(code="TH_KILLED").count() == 1
    assert AuditEntry.objects.filter(action="import.applied", object_id=str(batch.pk)).count() == 1
    assert AuditEntry.objects.filter(action="job.requeued", object_id=str(job.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_live_run_is_left_alone_and_a_cut_off_one_of_a_plain_kind_fails_clearly(django_user_model, client,
                                                                                  monkeypatch, tmp_path, settings):
    owner = django_user_model.objects.create_user("owner")
    gate = tmp_path / "gate"
    gate.touch()
    monkeypatch.setattr(tasks, "_dispatch_on_commit", lambda job_id: None)
    job = tasks.enqueue("test.block", owner=owner, gate=str(gate))
    assert tasks.claim(job.pk, "busy-host:1") is not None
    assert tasks.claim(job.pk, "other-host:2") is None  # its run is alive: a second delivery waits
    assert 1 < tasks._lease_left(Job.objects.get(pk=job.pk)) <= settings.TASKS_LEASE_SECONDS + 1
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    job = tasks.run(job.pk)  # test.block is not retryable: it may have applied part of its work
    assert job.status == Job.Status.FAILED and job.message == CRASHED
    assert job.result["code"] == "worker_lost" and job.attempts == 1
    assert AuditEntry.objects.filter(action="job.lost", object_id=str(job.pk)).count() == 1

    monkeypatch.undo()
    client.force_login(owner)
    assert client.post(f"/jobs/{job.pk}/retry/", HTTP_HX_REQUEST="true").status_code == 200
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result == {"through": True} and job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_recovery_sends_again_what_a_lost_message_strands(django_user_model, monkeypatch, settings):
    owner = django_user_model.objects.create_user("owner")
    sent = []
    monkeypatch.setattr(tasks, "_send", sent.append)
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.CELERY_VISIBILITY_TIMEOUT + 5)
    fresh = tasks.enqueue("test.block", owner=owner, gate="/nonexistent")
    lost_message = tasks.enqueue("test.block", owner=owner, gate="/nonexistent")
    Job.objects.filter(pk=lost_message.pk).update(created_at=long_ago)
    cut_off = tasks.enqueue("test.block_again", owner=owner, gate="/nonexistent")
    _cut_off(cut_off.pk)
    sent.clear()

    assert tasks.recover_jobs() == [lost_message.pk, cut_off.pk] == sent
    assert Job.objects.get(pk=cut_off.pk).status == Job.Status.QUEUED
    assert Job.objects.get(pk=fresh.pk).status == Job.Status.QUEUED
    assert tasks.recover_stranded() == []  # sent once per visibility timeout, not at every period
    assert AuditEntry.objects.filter(action="job.requeued", object_id=str(cut_off.pk)).count() == 1


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
